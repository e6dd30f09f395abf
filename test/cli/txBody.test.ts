import { describe, expect, it } from 'vitest';
import { parseOpen } from '../../core/amount.js';
import { fromHex, to0x } from '../../core/bytes.js';
import { encodeDelivery } from '../../core/delivery.js';
import { generateKeyPair } from '../../core/keys.js';
import { decodeTx, encodeInferenceRequest, TX_TYPES } from '../../core/tx.js';
import { CLI_TX_TYPES, txBody } from '../../node/txCli.js';
import { buildRequest, buildTx } from '../../rpc/client.js';

/**
 * `openledger tx TYPE` builds a valid body for every user transaction type from its flags (the
 * network test sends some of them; this checks all, without a node): each body signs, encodes and
 * decodes back unchanged. A new transaction type without a CLI row fails here.
 */

const A = `0x${'11'.repeat(20)}`;
const B = `0x${'22'.repeat(20)}`;
const ID = `0x${'33'.repeat(32)}`;
const key = generateKeyPair();
const request = to0x(
  encodeInferenceRequest(
    buildRequest(key, {
      chainId: 'c',
      model: new Uint8Array(32).fill(3),
      modelVersion: 1,
      prompt: 'p',
      maxFee: 5n,
      nonce: 1,
      expiryHeight: 100,
    }),
  ),
);

const SAMPLES: Record<(typeof CLI_TX_TYPES)[number], Record<string, string>> = {
  transfer: { to: A, amount: '2.5' },
  'validator.create': { 'consensus-key': ID, 'self-stake': '1000', moniker: 'v', 'commission-bps': '700' },
  'stake.delegate': { validator: A, amount: '1' },
  'stake.undelegate': { validator: A, amount: '0.5' },
  'stake.withdrawRewards': { validator: A },
  'validator.unjail': {},
  'datanet.create': {
    name: 'd',
    description: 'x',
    tags: 'a,b',
    curation: 'curators',
    curators: `${A},${B}`,
    bond: '1',
    labels: 'pos,neg',
  },
  'datanet.contribute': { datanet: ID, content: 'hello', label: 'pos' },
  'datanet.review': { contribution: ID, reject: 'true', reason: 'spam' },
  'model.register': {
    name: 'm',
    datanets: `${ID}@2`,
    method: 'span',
    params: 'tokenizer=t,minSpan=6',
    'price-per-request': '0.01',
    providers: A,
    'base-model': 'base',
  },
  'model.update': { model: ID, datanets: `${ID}@3`, method: 'influence', training: 'epochs=2,features=64' },
  'inference.receipt': {
    request,
    output: 'out',
    retrieved: `${ID}:10`,
    'input-tokens': '3',
    'output-tokens': '7',
  },
  'gov.propose': { title: 't', changes: 'minGasPrice=2', deposit: '10' },
  'gov.vote': { proposal: '4', option: 'no' },
  'provider.bond': { amount: '10' },
  'provider.unbond': { amount: '2.5' },
  'inference.challenge': {
    receipt: ID,
    delivery: to0x(encodeDelivery({ requestHash: fromHex(ID), outputHash: fromHex(ID), outputTokens: 3 })),
    signature: `0x${'ab'.repeat(64)}`,
  },
};

describe('openledger tx bodies', () => {
  it('covers every user transaction type', () => {
    expect([...CLI_TX_TYPES].sort()).toEqual(TX_TYPES.filter((t) => t !== 'attribution.settle').sort());
  });

  for (const type of CLI_TX_TYPES) {
    it(`${type}: flags → body → signed tx → decodes unchanged`, () => {
      const body = txBody(type, { ...SAMPLES[type] });
      const built = buildTx(type, body as never, key, { chainId: 'c', nonce: 0 });
      expect(decodeTx(built.bytes)).toEqual(built.tx);
    });
  }

  it('fields come out as the flags say', () => {
    expect(txBody('transfer', { to: A, amount: '2.5' })).toMatchObject({ amount: parseOpen('2.5') });
    const m = txBody('model.register', SAMPLES['model.register']) as { params: { key: string }[] };
    expect(m.params.map((p) => p.key)).toEqual(['minSpan', 'tokenizer']); // sorted, as the vm requires
    expect(txBody('datanet.review', { contribution: ID, accept: 'true' })).toMatchObject({ accept: true });
  });

  it('refuses unknown, missing and malformed flags with a typed error naming the flag', () => {
    expect(() => txBody('transfer', { to: A, amount: '1', colour: 'red' })).toThrow(/--colour/);
    expect(() => txBody('transfer', { to: A })).toThrow(/--amount/);
    expect(() => txBody('transfer', { to: '0x12', amount: '1' })).toThrow(/--to/);
    expect(() => txBody('transfer', { to: A, amount: '-1' })).toThrow(/--amount/);
    expect(() => txBody('datanet.review', { contribution: ID })).toThrow(/--accept or --reject/);
    expect(() => txBody('model.register', { name: 'm', datanets: ID, method: 'span' })).toThrow(/ID@VERSION/);
    expect(() => txBody('gov.vote', { proposal: '1', option: 'maybe' })).toThrow(/yes, no, abstain/);
    expect(() => txBody('inference.receipt', { request: '0x00', output: 'x' })).toThrow(/--request/);
    expect(() => txBody('attribution.settle', {})).toThrow(/unknown transaction type/);
  });
});
