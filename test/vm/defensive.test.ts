import { describe, expect, it } from 'vitest';
import { sha256 } from '../../core/hash.js';
import { Stores } from '../../state/stores/stores.js';
import { datanetId } from '../../vm/datanets.js';
import { BlockError } from '../../vm/errors.js';
import { executeBlock } from '../../vm/execute.js';
import { modelId } from '../../vm/models.js';
import { CHAIN_ID, codeOf, datanetBody, key, OPEN, signedReceipt, TestChain } from './harness.js';
import { MemState } from './memState.js';

/**
 * Codes that guard states normal operation does not reach (ids are derived from sender and
 * nonce, shares never fall below tokens); the tests plant such states directly.
 */
const alice = key('alice');
const val1 = key('val1');

describe('defensive error codes', () => {
  it('DATANET_EXISTS and MODEL_EXISTS when the derived id is taken', () => {
    const c = TestChain.mem();
    const s = new Stores(c.state);
    const dnId = datanetId(alice.address, 0);
    c.block([c.tx(alice, 'datanet.create', datanetBody({ name: 'x', license: '' }))]);
    s.setDatanet({ ...s.datanet(dnId)!, id: datanetId(alice.address, 1) });
    expect(codeOf(c.block([c.tx(alice, 'datanet.create', datanetBody({ name: 'y', license: '' }))]))).toBe(
      'DATANET_EXISTS',
    );
    s.setModel({
      id: modelId(alice.address, 2),
      owner: alice.address,
      name: 'm',
      latestVersion: 1,
      createdHeight: 0,
    });
    const r = c.block([
      c.tx(alice, 'model.register', {
        name: 'm',
        datanets: [{ datanet: dnId, version: 0 }],
        method: 'span',
        params: [],
        pricePerRequest: 0n,
        pricePerOutputToken: 0n,
        ownerShareBps: 0,
        providers: [alice.address],
        artifact: null,
        training: null,
      }),
    ]);
    expect(codeOf(r)).toBe('MODEL_EXISTS');
  });

  it('AMOUNT_TOO_SMALL when a delegation would buy no share', () => {
    const c = TestChain.mem();
    const s = new Stores(c.state);
    const v = s.validator(val1.address)!;
    s.setValidator({ ...v, tokens: v.tokens * 10n ** 6n });
    expect(codeOf(c.block([c.tx(alice, 'stake.delegate', { validator: val1.address, amount: 1n })]))).toBe(
      'AMOUNT_TOO_SMALL',
    );
    expect(OPEN).toBeGreaterThan(0n);
  });

  it('NOT_INITIALISED on an empty state; BAD_EVIDENCE names the block error', () => {
    const block = {
      chainId: CHAIN_ID,
      height: 1,
      timeMs: 1,
      proposer: alice.address,
      txs: [],
      lastCommitSigners: null,
      evidence: [],
    };
    expect(() => executeBlock(new MemState(), block)).toThrow(
      expect.objectContaining({ code: 'NOT_INITIALISED' }),
    );
    const c = TestChain.mem();
    c.block([]);
    c.block([]);
    const h = sha256(new Uint8Array([1]));
    try {
      c.block([], {
        evidence: [{ kind: 'duplicateVote', voteA: c.vote(val1, 1, h), voteB: c.vote(val1, 1, h) }],
      });
      throw new Error('expected a block error');
    } catch (e) {
      expect(e).toBeInstanceOf(BlockError);
      expect((e as BlockError).code).toBe('BAD_EVIDENCE');
    }
  });
});

describe('extreme values fail with codes, never with untyped errors', () => {
  it('amounts at 2^256 − 1 everywhere', () => {
    const MAX = (1n << 256n) - 1n;
    const c = TestChain.mem();
    const bob = key('bob');
    const dn = datanetId(alice.address, 0);
    c.block([
      c.tx(
        alice,
        'datanet.create',
        datanetBody({ name: 'x', license: '', bond: MAX, rejectForfeitBps: 10_000 }),
      ),
    ]);
    c.block([
      c.tx(alice, 'model.register', {
        name: 'm',
        datanets: [{ datanet: dn, version: 0 }],
        method: 'span',
        params: [],
        pricePerRequest: MAX,
        pricePerOutputToken: MAX,
        ownerShareBps: 0,
        providers: [bob.address],
        artifact: null,
        training: null,
      }),
      c.tx(bob, 'provider.bond', { amount: 10n * OPEN }),
    ]);
    const model = modelId(alice.address, 1);
    const r = c.block([
      c.tx(alice, 'transfer', { to: bob.address, amount: MAX }),
      c.tx(alice, 'stake.delegate', { validator: val1.address, amount: MAX }),
      c.tx(alice, 'validator.create', {
        consensusKey: key('val9').publicKey,
        commissionBps: 0,
        selfStake: MAX,
        moniker: '',
      }),
      c.tx(bob, 'datanet.contribute', { datanet: dn, content: 'x', label: '' }),
      c.tx(alice, 'gov.propose', {
        title: '',
        description: '',
        changes: [{ key: 'minGasPrice', value: '1' }],
        deposit: MAX,
      }),
      c.tx(
        bob,
        'inference.receipt',
        signedReceipt(
          {
            request: c.request(alice, model, 1, MAX, 1),
            input: '',
            output: 'y',
            retrieved: [],
            inputTokens: 1,
            outputTokens: 1,
          },
          bob,
          alice,
        ),
      ),
      c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { gasPrice: MAX }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual([
      'INSUFFICIENT_FUNDS',
      'INSUFFICIENT_FUNDS',
      'INSUFFICIENT_FUNDS',
      'INSUFFICIENT_FUNDS',
      'INSUFFICIENT_FUNDS',
      'FEE_ABOVE_MAX',
      'INSUFFICIENT_FEE_FUNDS',
    ]);
  });
});
