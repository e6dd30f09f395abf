import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsonSchemaMeta from '@json-schema-tools/meta-schema';
import metaSchema from '@open-rpc/meta-schema';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseOpen } from '../../core/amount.js';
import { fromHex, to0x } from '../../core/bytes.js';
import { receiptDelivery, signAck, signReceiptBody } from '../../core/delivery.js';
import { spanModelBody } from '../../devnet/demo.js';
import { LocalNetwork } from '../../devnet/network.js';
import {
  buildRequest,
  buildTx,
  OpenLedgerSubscriber,
  type Wallet,
  type WebSocketFactory,
} from '../../rpc/client.js';
import { verifyProof } from '../../state/proof.js';
import { KEYS } from '../../state/stores/keys.js';

/**
 * Every `ol_` method against a real node process (one validator on 127.0.0.1), over HTTP and
 * WebSocket: request/response for each method in the live OpenRPC document (the last test fails
 * if one has none), bad input of every kind, limits, subscriptions, state proofs verified with the
 * client's verifier, both submission modes, rejected transactions and the attribution dry run.
 */

const CORPUS = readFileSync(join(__dirname, '..', 'fixtures', 'tinyshakespeare.txt'), 'utf8');
/** JSON from the server; the assertions check its shape. */
// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC results are checked by the assertions
type Json = any;

const LIMITS = { bodyBytesMax: 65_536, batchMax: 20, subscriptionsMax: 4, wsMessagesPerSec: 50 };

let net: LocalNetwork;
let url: string;
let wsUrl: string;
let documentMethods: { name: string; result: { schema: object } }[] = [];
const resultValidators = new Map<string, ValidateFunction>();
/** Methods that returned a result (not an error) in some test of this file. */
const tested = new Set<string>();

// Objects created once, in beforeAll, for the read methods to find.
const ids = {
  datanet: '',
  contributions: {} as Record<string, string>,
  model: '',
  receipt: '',
  receiptJob: 0,
  proposal: 0,
  transfer: { hash: '', height: 0 },
};

interface RpcReply {
  status: number;
  body: Json;
}

async function post(body: string | object, headers: Record<string, string> = {}): Promise<RpcReply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

let nextId = 1;
/** One call; records the method as tested when it returns a result that matches its schema. */
async function call(method: string, params: unknown[] | Record<string, unknown> = []): Promise<Json> {
  const r = await post({ jsonrpc: '2.0', id: nextId++, method, params });
  expect(r.status).toBe(200);
  if (r.body.error) return { error: r.body.error };
  checkResult(method, r.body.result);
  return r.body.result;
}

function checkResult(method: string, result: unknown): void {
  const validate = resultValidators.get(method);
  if (validate) {
    const ok = validate(result);
    expect(validate.errors ?? [], `${method} result against its OpenRPC schema`).toEqual([]);
    expect(ok).toBe(true);
  }
  tested.add(method);
}

async function callError(method: string, params: unknown[] | Record<string, unknown> = []): Promise<Json> {
  const r = await post({ jsonrpc: '2.0', id: nextId++, method, params });
  expect(r.body.error, `${method} should fail`).toBeDefined();
  return r.body.error;
}

function eventAttr(tx: Json, type: string, attr: string): Json {
  const e = tx.events.find((x: Json) => x.type === type);
  expect(e, `event ${type}`).toBeDefined();
  return e.attrs[attr];
}

async function committed(w: Wallet, type: Json, body: Json): Promise<Json> {
  const r = await w.send(type, body, { mode: 'commit', timeoutMs: 30_000 });
  expect(r.result.code, `${type}: ${r.result.message}`).toBe('ok');
  return r;
}

beforeAll(async () => {
  net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 200,
    chainId: 'rpc-test',
    accounts: {
      owner: '1000',
      alice: '1000',
      bob: '1000',
      provider: '1000',
      requester: '1000',
      voter: '1000',
      spare: '1000',
    },
    nodeConfig: { rpc: LIMITS, attribution: { workers: 1 } },
  });
  url = net.layout.nodes[0].rpcUrl;
  wsUrl = `${url.replace('http', 'ws')}ws`;
  net.start();
  await net.waitForHeight(2, [0], 120_000);

  const discovered = await net.clients[0].discover();
  documentMethods = discovered.methods;
  const ajv = new Ajv({ strict: false, validateFormats: false });
  for (const m of documentMethods) resultValidators.set(m.name, ajv.compile(m.result.schema));

  // A transfer, a datanet with two accepted contributions, a span model, a settled receipt, and a
  // governance proposal with a vote.
  const faucet = net.wallet('faucet');
  const t = await faucet.send(
    'transfer',
    { to: fromHex(net.layout.accounts.bob.address), amount: parseOpen('1') },
    { mode: 'commit' },
  );
  ids.transfer = { hash: t.tx.hash, height: t.height };

  const owner = net.wallet('owner');
  const created = await committed(owner, 'datanet.create', {
    name: 'plays',
    description: 'shakespeare',
    license: 'public-domain',
    tags: ['drama'],
    curation: 'open',
    curators: [],
    bond: parseOpen('1'),
    rejectForfeitBps: 5000,
    contributionBytesMax: 65536,
    labels: [],
  });
  ids.datanet = eventAttr(created, 'datanet.created', 'datanet');
  const texts = { alice: CORPUS.slice(0, 2500), bob: CORPUS.slice(2500, 5000) };
  for (const [who, content] of Object.entries(texts)) {
    const r = await committed(net.wallet(who), 'datanet.contribute', {
      datanet: fromHex(ids.datanet),
      content,
      label: '',
    });
    ids.contributions[who] = eventAttr(r, 'contribution.submitted', 'contribution');
  }
  for (const id of Object.values(ids.contributions)) {
    await net.waitFor(
      'contribution accepted',
      async () => (await net.clients[0].contribution(id)).status === 'accepted',
    );
  }
  const version = (await net.clients[0].datanet(ids.datanet)).version as number;
  const provider = net.layout.accounts.provider;
  const registered = await committed(
    owner,
    'model.register',
    spanModelBody('bard', fromHex(ids.datanet), version, fromHex(provider.address)),
  );
  ids.model = eventAttr(registered, 'model.registered', 'model');

  const requester = net.layout.accounts.requester;
  const height = (await net.clients[0].status()).height as number;
  const request = buildRequest(
    { secretKey: fromHex(requester.secretKey, 32), publicKey: fromHex(requester.publicKey, 32) },
    {
      chainId: net.chainId,
      model: fromHex(ids.model),
      modelVersion: 1,
      prompt: 'speak',
      maxFee: parseOpen('5'),
      nonce: 1,
      expiryHeight: height + 1000,
    },
  );
  // The provider bonds and signs its delivery; the requester's ack makes it settle at once.
  await committed(net.wallet('provider'), 'provider.bond', { amount: parseOpen('10') });
  const unsigned = {
    request,
    input: '',
    output: `${texts.alice.slice(100, 600)} and then cheese`,
    retrieved: [],
    inputTokens: 1,
    outputTokens: 120,
  };
  const receipt = await committed(
    net.wallet('provider'),
    'inference.receipt',
    signReceiptBody(
      unsigned,
      fromHex(provider.secretKey, 32),
      signAck(receiptDelivery(unsigned), fromHex(requester.secretKey, 32)),
    ),
  );
  ids.receipt = eventAttr(receipt, 'inference.receipt', 'receipt');
  ids.receiptJob = eventAttr(receipt, 'inference.receipt', 'job');

  const voter = net.wallet('voter');
  await committed(voter, 'stake.delegate', {
    validator: fromHex(net.layout.nodes[0].address),
    amount: parseOpen('100'),
  });
  const proposed = await committed(voter, 'gov.propose', {
    title: 'longer votes',
    description: 'more time to vote',
    changes: [{ key: 'govVotingBlocks', value: '200' }],
    deposit: parseOpen('10'),
  });
  ids.proposal = eventAttr(proposed, 'gov.proposed', 'proposal');
  await committed(voter, 'gov.vote', { proposal: ids.proposal, option: 'yes' });
  await net.waitFor(
    'receipt settled',
    async () => (await net.clients[0].receipt(ids.receipt)).status === 'settled',
  );
}, 180_000);

afterAll(async () => {
  await net?.close();
}, 60_000);

describe('chain reads', () => {
  it('ol_status', async () => {
    const s = await call('ol_status');
    expect(s.chainId).toBe('rpc-test');
    expect(s.height).toBeGreaterThanOrEqual(2);
    expect(s.latestHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(s.isValidator).toBe(true);
    expect(s.syncing).toBe(false);
    expect(typeof s.peers).toBe('number');
  });

  it('ol_getBlockByHeight and ol_getBlockByHash, with and without transactions', async () => {
    const h = ids.transfer.height;
    const short = await call('ol_getBlockByHeight', [h]);
    expect(short.header.height).toBe(h);
    expect(short.txs).toContain(ids.transfer.hash);
    const full = await call('ol_getBlockByHeight', { height: h, full: true });
    const tx = full.txs.find((x: Json) => x.hash === ids.transfer.hash);
    expect(tx.type).toBe('transfer');
    expect(tx.body.amount).toBe(parseOpen('1').toString());
    const byHash = await call('ol_getBlockByHash', [short.hash, true]);
    expect(byHash).toEqual(full);
    expect((await callError('ol_getBlockByHeight', [10_000_000])).code).toBe(-32001);
    expect((await callError('ol_getBlockByHash', [to0x(new Uint8Array(32))])).code).toBe(-32001);
  });

  it('ol_getTransaction: committed with result and events; unknown is not found', async () => {
    const t = await call('ol_getTransaction', [ids.transfer.hash]);
    expect(t.status).toBe('committed');
    expect(t.height).toBe(ids.transfer.height);
    expect(t.result.code).toBe('ok');
    expect(t.events.map((e: Json) => e.type)).toContain('transfer');
    expect((await callError('ol_getTransaction', [to0x(new Uint8Array(32).fill(7))])).code).toBe(-32001);
  });

  it('ol_getAccount: balance, nonce, stake and rewards', async () => {
    const voter = await call('ol_getAccount', [net.layout.accounts.voter.address]);
    expect(voter.address).toBe(net.layout.accounts.voter.address);
    expect(voter.nonce).toBe(3);
    expect(BigInt(voter.staked)).toBe(parseOpen('100'));
    expect(voter.delegations[0].validator).toBe(net.layout.nodes[0].address);
    expect(typeof voter.pendingRewards).toBe('string');
    // An address nobody has used is an empty account, not an error.
    const fresh = await call('ol_getAccount', { address: `0x${'12'.repeat(20)}` });
    expect(fresh).toMatchObject({ balance: '0', nonce: 0, staked: '0' });
  });

  it('ol_getValidators: next set by default, a given height, not found beyond', async () => {
    const next = await call('ol_getValidators');
    expect(next.validators).toHaveLength(1);
    expect(next.validators[0].address).toBe(net.layout.nodes[0].address);
    // The downtime window as of the tip (default genesis parameters) and each validator's misses
    // in it: a lone validator signs every commit.
    expect(next.downtime).toEqual({ window: 10_000, missedMax: 5_000 });
    expect(next.validators[0].missedBlocks).toBe(0);
    const at1 = await call('ol_getValidators', [1]);
    expect(at1.height).toBe(1);
    expect((await callError('ol_getValidators', [10_000_000])).code).toBe(-32001);
  });

  it('ol_getParams', async () => {
    const p = await call('ol_getParams');
    expect(p.minGasPrice).toBe('1');
    expect(p.govDepositMin).toBe(parseOpen('10').toString());
  });

  it('ol_getEvents: by type and address, range limit', async () => {
    const tip = (await net.clients[0].status()).height as number;
    const transfers = await call('ol_getEvents', {
      fromHeight: 1,
      toHeight: tip,
      type: 'transfer',
      address: net.layout.accounts.bob.address,
    });
    expect(transfers.length).toBeGreaterThanOrEqual(1);
    for (const e of transfers) {
      expect(e.type).toBe('transfer');
      expect(e.addresses).toContain(net.layout.accounts.bob.address);
    }
    expect((await callError('ol_getEvents', [1, 1001])).code).toBe(-32005);
    expect((await callError('ol_getEvents', [5, 4])).code).toBe(-32602);
  });
});

describe('state proofs', () => {
  it('a proof from ol_getStateProof verifies with the client verifier and fails after tampering', async () => {
    const address = fromHex(net.layout.accounts.voter.address);
    const key = KEYS.account(address);
    const p = await call('ol_getStateProof', [to0x(key)]);
    expect(p.value).not.toBeNull();
    const root = fromHex(p.root);
    const value = fromHex(p.value);
    const proof = fromHex(p.proof);
    // The header at that height commits to the same root (DESIGN §7: execution before voting).
    expect(p.header.stateRoot).toBe(p.root);
    expect(verifyProof(root, key, value, proof)).toBe(true);

    const flip = (b: Uint8Array, i: number) => {
      const c = Uint8Array.from(b);
      c[i] ^= 1;
      return c;
    };
    expect(verifyProof(root, key, flip(value, value.length - 1), proof)).toBe(false);
    expect(verifyProof(root, key, undefined, proof)).toBe(false);
    for (const i of [0, 1, 2, 3, Math.floor(proof.length / 2), proof.length - 1]) {
      expect(verifyProof(root, key, value, flip(proof, i)), `proof byte ${i}`).toBe(false);
    }
    expect(verifyProof(flip(root, 0), key, value, proof)).toBe(false);
    expect(verifyProof(root, KEYS.account(fromHex(net.layout.accounts.bob.address)), value, proof)).toBe(
      false,
    );
  });

  it('the client checks a proof itself (verifiedState)', async () => {
    const key = KEYS.account(fromHex(net.layout.accounts.voter.address));
    const r = await net.clients[0].verifiedState(key);
    expect(r.verified).toBe(true);
    expect(r.value).toBeDefined();
    const absent = await net.clients[0].verifiedState(KEYS.account(new Uint8Array(20).fill(9)), 1);
    expect(absent).toEqual({ value: undefined, height: 1, verified: true });
  });

  it('an absent key has an exclusion proof; an old height proves the old value', async () => {
    const key = KEYS.account(new Uint8Array(20).fill(0xee));
    const p = await call('ol_getStateProof', { key: to0x(key) });
    expect(p.value).toBeNull();
    expect(verifyProof(fromHex(p.root), key, undefined, fromHex(p.proof))).toBe(true);
    expect(verifyProof(fromHex(p.root), key, new Uint8Array([1]), fromHex(p.proof))).toBe(false);

    // Before the voter's first transaction its account held the genesis balance only.
    const voterKey = KEYS.account(fromHex(net.layout.accounts.voter.address));
    const old = await call('ol_getStateProof', [to0x(voterKey), 1]);
    const now = await call('ol_getStateProof', [to0x(voterKey)]);
    expect(old.height).toBe(1);
    expect(old.value).not.toBe(now.value);
    expect(verifyProof(fromHex(old.root), voterKey, fromHex(old.value), fromHex(old.proof))).toBe(true);
    expect(verifyProof(fromHex(now.root), voterKey, fromHex(old.value), fromHex(old.proof))).toBe(false);
    expect((await callError('ol_getStateProof', [to0x(voterKey), 10_000_000])).code).toBe(-32001);
  });
});

describe('transactions', { timeout: 120_000 }, () => {
  const transferTo = (to: string, nonce: number, o: { gasLimit?: number; chainId?: string } = {}) => {
    const a = net.layout.accounts.spare;
    return buildTx(
      'transfer',
      { to: fromHex(to), amount: 5n },
      { secretKey: fromHex(a.secretKey, 32), publicKey: fromHex(a.publicKey, 32) },
      { chainId: o.chainId ?? net.chainId, nonce, gasLimit: o.gasLimit },
    );
  };

  it('ol_simulateTransaction and ol_estimateGas dry-run without keeping anything', async () => {
    const spare = net.layout.accounts.spare.address;
    const before = await call('ol_getAccount', [spare]);
    const tx = transferTo(net.layout.accounts.bob.address, before.nonce);
    const sim = await call('ol_simulateTransaction', [tx.hex]);
    expect(sim.code).toBe('ok');
    expect(sim.gasUsed).toBeGreaterThan(0);
    expect(sim.events.map((e: Json) => e.type)).toEqual(expect.arrayContaining(['transfer', 'fee']));
    const gas = await call('ol_estimateGas', { tx: tx.hex });
    expect(gas).toEqual({ gasUsed: sim.gasUsed, code: 'ok' });
    expect(await call('ol_getAccount', [spare])).toEqual(before);
    // A body that would fail reports the vm's code.
    const broke = buildTx(
      'transfer',
      { to: fromHex(spare), amount: parseOpen('1000000') },
      {
        secretKey: fromHex(net.layout.accounts.spare.secretKey, 32),
        publicKey: fromHex(net.layout.accounts.spare.publicKey, 32),
      },
      { chainId: net.chainId, nonce: before.nonce },
    );
    expect((await call('ol_simulateTransaction', [broke.hex])).code).not.toBe('ok');
    expect((await callError('ol_simulateTransaction', ['0x00ff'])).code).toBe(-32602);
  });

  it('ol_sendTransaction in sync mode returns after admission, then the tx commits', async () => {
    const nonce = (await call('ol_getAccount', [net.layout.accounts.spare.address])).nonce;
    const tx = transferTo(net.layout.accounts.bob.address, nonce);
    const r = await call('ol_sendTransaction', [tx.hex, 'sync']);
    expect(r).toEqual({ hash: to0x(tx.hash), status: 'pending' });
    const included = await net.clients[0].waitForInclusion(r.hash, 30_000, 50);
    expect(included.result.code).toBe('ok');
  });

  it('ol_getTransaction: a tx waiting for an earlier nonce is pending, then both commit', async () => {
    const nonce = (await call('ol_getAccount', [net.layout.accounts.spare.address])).nonce;
    const bob = net.layout.accounts.bob.address;
    const later = transferTo(bob, nonce + 1);
    expect((await call('ol_sendTransaction', [later.hex])).status).toBe('pending');
    const pending = await call('ol_getTransaction', [to0x(later.hash)]);
    expect(pending).toMatchObject({ status: 'pending', tx: { hash: to0x(later.hash), nonce: nonce + 1 } });
    await call('ol_sendTransaction', [transferTo(bob, nonce).hex, 'commit']);
    expect((await net.clients[0].waitForInclusion(to0x(later.hash), 30_000, 50)).result.code).toBe('ok');
  });

  it('ol_sendTransaction in commit mode returns the committed transaction', async () => {
    const nonce = (await call('ol_getAccount', [net.layout.accounts.spare.address])).nonce;
    const tx = transferTo(net.layout.accounts.bob.address, nonce);
    const r = await call('ol_sendTransaction', { tx: tx.hex, mode: 'commit', timeoutMs: 30_000 });
    expect(r.status).toBe('committed');
    expect(r.tx.hash).toBe(to0x(tx.hash));
    expect(r.result.code).toBe('ok');
    expect(r.events.map((e: Json) => e.type)).toContain('transfer');
  });

  it('rejected transactions: TX_REJECTED with the mempool / vm / node code in data.code', async () => {
    const spare = net.layout.accounts.spare.address;
    const nonce = (await call('ol_getAccount', [spare])).nonce as number;
    const bob = net.layout.accounts.bob.address;
    const cases: [string, string][] = [
      [transferTo(bob, nonce - 1).hex, 'NONCE_TOO_LOW'],
      [transferTo(bob, nonce + 1000).hex, 'NONCE_TOO_HIGH'],
      [transferTo(bob, nonce, { gasLimit: 1 }).hex, 'GAS_LIMIT_TOO_LOW'],
      [transferTo(bob, nonce, { chainId: 'other-chain' }).hex, 'WRONG_CHAIN'],
    ];
    for (const [hex, code] of cases) {
      for (const mode of ['sync', 'commit']) {
        const e = await callError('ol_sendTransaction', [hex, mode]);
        expect(e.code, code).toBe(-32002);
        expect(e.data.code).toBe(code);
      }
    }
    // A forged signature.
    const good = transferTo(bob, nonce);
    const forged = Uint8Array.from(good.bytes);
    forged[forged.length - 1] ^= 1;
    const e = await callError('ol_sendTransaction', [to0x(forged)]);
    expect(e.code).toBe(-32002);
    expect(e.data.code).toBe('BAD_SIGNATURE');
    // Not a transaction at all.
    expect((await callError('ol_sendTransaction', ['0x0102'])).code).toBe(-32002);
  });
});

describe('datanets, models, attribution, governance', () => {
  it('ol_getDatanet and ol_listDatanets (filters, pagination)', async () => {
    const d = await call('ol_getDatanet', [ids.datanet]);
    expect(d.name).toBe('plays');
    expect(d.owner).toBe(net.layout.accounts.owner.address);
    expect(d.version).toBe(2);
    const byOwner = await call('ol_listDatanets', { owner: net.layout.accounts.owner.address });
    expect(byOwner.items.map((x: Json) => x.id)).toEqual([ids.datanet]);
    expect(byOwner.next).toBeNull();
    expect((await call('ol_listDatanets', { tag: 'drama' })).items).toHaveLength(1);
    expect((await call('ol_listDatanets', { tag: 'nope' })).items).toHaveLength(0);
    expect((await call('ol_listDatanets', { owner: net.layout.accounts.bob.address })).items).toEqual([]);
    expect((await callError('ol_getDatanet', [to0x(new Uint8Array(32))])).code).toBe(-32001);
  });

  it('ol_listContributions (by datanet, contributor, status; pages) and ol_getContribution', async () => {
    const all = await call('ol_listContributions', { datanet: ids.datanet });
    expect(all.items).toHaveLength(2);
    const page1 = await call('ol_listContributions', { datanet: ids.datanet, limit: 1 });
    expect(page1.items).toHaveLength(1);
    expect(page1.next).not.toBeNull();
    const page2 = await call('ol_listContributions', { datanet: ids.datanet, limit: 1, cursor: page1.next });
    expect(page2.items).toHaveLength(1);
    expect(page2.items[0].id).not.toBe(page1.items[0].id);
    const alice = await call('ol_listContributions', {
      contributor: net.layout.accounts.alice.address,
      status: 'accepted',
    });
    expect(alice.items.map((c: Json) => c.id)).toEqual([ids.contributions.alice]);
    expect((await call('ol_listContributions', { status: 'rejected' })).items).toEqual([]);

    const c = await call('ol_getContribution', [ids.contributions.bob]);
    expect(c.status).toBe('accepted');
    expect(c.content).toBeUndefined();
    const withContent = await call('ol_getContribution', [ids.contributions.bob, true]);
    expect(withContent.content).toBe(CORPUS.slice(2500, 5000));
  });

  it('ol_getModel, ol_listModels, ol_getModelVersion', async () => {
    const m = await call('ol_getModel', [ids.model]);
    expect(m.owner).toBe(net.layout.accounts.owner.address);
    expect(m.latest.method).toBe('span');
    const list = await call('ol_listModels', { owner: net.layout.accounts.owner.address, limit: 5 });
    expect(list.items.map((x: Json) => x.id)).toEqual([ids.model]);
    const v = await call('ol_getModelVersion', [ids.model, 1]);
    expect(v.version).toBe(1);
    expect(v.datanets[0].datanet).toBe(ids.datanet);
    expect((await callError('ol_getModelVersion', [ids.model, 9])).code).toBe(-32001);
  });

  it('ol_getReceipt, ol_getJob, ol_getAttribution, ol_getEarnings', async () => {
    const r = await call('ol_getReceipt', [ids.receipt]);
    expect(r.status).toBe('settled');
    expect(r.model).toBe(ids.model);
    const job = await call('ol_getJob', [ids.receiptJob]);
    expect(job.status).toBe('settled');
    const record = await call('ol_getAttribution', [ids.receipt]);
    const alice = net.layout.accounts.alice.address;
    const paid = record.payouts.find((p: Json) => p.address === alice);
    expect(BigInt(paid.amount)).toBeGreaterThan(0n);
    expect(record.payouts.reduce((s: bigint, p: Json) => s + BigInt(p.amount), 0n)).toBe(BigInt(record.fee));
    const earned = await call('ol_getEarnings', [alice]);
    expect(BigInt(earned.total)).toBe(BigInt(paid.amount));
    expect(earned.history[0]).toMatchObject({ receipt: ids.receipt, model: ids.model, role: 'contributor' });
    const none = await call('ol_getEarnings', { address: net.layout.accounts.spare.address, limit: 5 });
    expect(none.total).toBe('0');
    expect(none.history).toEqual([]);
    expect((await callError('ol_getJob', [1_000_000])).code).toBe(-32001);
    expect((await callError('ol_getAttribution', [to0x(new Uint8Array(32))])).code).toBe(-32001);
  });

  it('ol_getProvider: the bond and key of a provider; the receipt says it was acknowledged', async () => {
    const provider = net.layout.accounts.provider;
    const p = await call('ol_getProvider', [provider.address]);
    expect(p).toMatchObject({ address: provider.address, bond: parseOpen('10').toString(), frauds: 0 });
    expect(p.publicKey).toBe(to0x(fromHex(provider.publicKey, 32)));
    const r = await call('ol_getReceipt', [ids.receipt]);
    expect(r).toMatchObject({ acknowledged: true, releaseHeight: 0 });
    expect((await callError('ol_getProvider', [net.layout.accounts.spare.address])).code).toBe(-32001);
  });

  it('explorer queries: ol_listBlocks, ol_listReceipts, ol_listAddressEvents, ol_getEvidenceText', async () => {
    const tip = (await call('ol_status')).height;
    const blocks = await call('ol_listBlocks', [null, 3]);
    expect(blocks.items.map((b: Json) => b.height)).toEqual([0, 1, 2].map((i) => blocks.items[0].height - i));
    expect(blocks.items[0].height).toBeGreaterThanOrEqual(tip);
    const b = await call('ol_getBlockByHeight', [blocks.items[1].height]);
    expect(blocks.items[1]).toMatchObject({ hash: b.hash, proposer: b.header.proposer, txCount: b.txCount });
    expect(blocks.items[1].signers).toEqual(b.lastCommit.signatures.map((x: Json) => x.validator));
    const older = await call('ol_listBlocks', { cursor: blocks.next, limit: 2 });
    expect(older.items[0].height).toBe(blocks.items[2].height - 1);
    expect((await call('ol_listBlocks', ['1', 5])).next).toBeNull();
    expect((await callError('ol_listBlocks', ['-1'])).code).toBe(-32602);

    const all = await call('ol_listReceipts', []);
    expect(all.items.map((r: Json) => r.id)).toContain(ids.receipt);
    const mine = await call('ol_listReceipts', { model: ids.model });
    const r = mine.items.find((x: Json) => x.id === ids.receipt);
    const record = await call('ol_getAttribution', [ids.receipt]);
    expect(r).toMatchObject({
      model: ids.model,
      status: 'settled',
      fee: record.fee,
      settledHeight: record.height,
    });
    expect((await call('ol_listReceipts', { model: to0x(new Uint8Array(32)) })).items).toEqual([]);

    const alice = net.layout.accounts.alice.address;
    const ev = await call('ol_listAddressEvents', [alice, null, 100]);
    expect(ev.items.some((e: Json) => e.type === 'payout' && e.attrs.receipt === ids.receipt)).toBe(true);
    const sub = ev.items.find((e: Json) => e.type === 'contribution.submitted');
    expect((await call('ol_getTransaction', [sub.tx])).tx.sender).toBe(alice);
    // Attack: a cursor taken from a higher address's listing must not walk down into other
    // addresses' events (before the clamp it returned them as this address's).
    const [low, high] = [alice, net.layout.accounts.bob.address].sort();
    const highPage = await call('ol_listAddressEvents', [high, null, 1]);
    expect(highPage.next).not.toBeNull();
    const wrong = await call('ol_listAddressEvents', [low, highPage.next, 100]);
    expect(wrong.items.length).toBeGreaterThan(0);
    for (const e of wrong.items) expect(e.addresses).toContain(low);

    const text = await call('ol_getEvidenceText', [ids.receipt]);
    expect(text.spans.length).toBe(record.evidence.length);
    for (const s of text.spans) {
      expect(s.start).not.toBeNull();
      // The highlighted characters of the answer are the cited characters of the contribution.
      expect(text.output.slice(s.start, s.end)).toBe(s.contributionText);
    }
    expect((await callError('ol_getEvidenceText', [to0x(new Uint8Array(32))])).code).toBe(-32001);
  });

  it('ol_attribute: a dry run shows who would be paid for a text, with evidence', async () => {
    const text = `${CORPUS.slice(300, 700)} and nothing else`;
    const r = await call('ol_attribute', [ids.model, text]);
    expect(r.ok).toBe(true);
    expect(r.method).toBe('span');
    const top = r.scores.find((s: Json) => s.contribution === ids.contributions.alice);
    expect(top.contributor).toBe(net.layout.accounts.alice.address);
    expect(r.evidence.length).toBeGreaterThan(0);
    expect(r.evidence.every((e: Json) => e.contribution === ids.contributions.alice)).toBe(true);
    const unrelated = await call('ol_attribute', { model: ids.model, text: 'zq xv wk' });
    expect(unrelated.scores).toEqual([]);
    expect((await callError('ol_attribute', [to0x(new Uint8Array(32)), 'x'])).code).toBe(-32001);
    expect((await callError('ol_attribute', [ids.model, 'x'.repeat(16 * 1024 + 1)])).code).toBe(-32602);
    // Dry runs share the validators' worker pool: at most 2 at once (ATTRIBUTE_DRY_RUNS_MAX).
    const burst = await post(
      [1, 2, 3].map((id) => ({ jsonrpc: '2.0', id, method: 'ol_attribute', params: [ids.model, text] })),
    );
    expect(burst.body.filter((r: Json) => r.result?.ok === true)).toHaveLength(2);
    expect(burst.body.filter((r: Json) => r.error?.code === -32005)).toHaveLength(1);
  });

  it('ol_getProposal and ol_listProposals', async () => {
    const p = await call('ol_getProposal', [ids.proposal]);
    expect(p.title).toBe('longer votes');
    expect(p.status).toBe('voting');
    expect(p.voters).toBe(1);
    const list = await call('ol_listProposals', { limit: 10 });
    expect(list.items.map((x: Json) => x.id)).toEqual([ids.proposal]);
    expect(list.next).toBeNull();
    expect((await callError('ol_getProposal', [99])).code).toBe(-32001);
  });
});

describe('bad input against the real node', () => {
  const status = { jsonrpc: '2.0', id: 1, method: 'ol_status' };

  it('malformed JSON → −32700; wrong version / shape → −32600; unknown method → −32601', async () => {
    expect((await post('{"jsonrpc":"2.0","id":1,"method":')).body.error.code).toBe(-32700);
    expect((await post('')).body.error.code).toBe(-32700);
    for (const bad of [
      { ...status, jsonrpc: '1.0' },
      { id: 1, method: 'ol_status' },
      { ...status, method: 7 },
      { ...status, params: 'x' },
      { ...status, id: [1] },
      { ...status, extra: 1 },
    ]) {
      expect((await post(bad)).body.error.code, JSON.stringify(bad)).toBe(-32600);
    }
    const unknown = await post({ ...status, method: 'ol_nope' });
    expect(unknown.body).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32601, message: expect.any(String) },
    });
  });

  it('missing, extra and mistyped params → −32602', async () => {
    const addr = net.layout.accounts.bob.address;
    for (const [method, params] of [
      ['ol_getAccount', []],
      ['ol_getAccount', [addr, 1]],
      ['ol_getAccount', { address: addr, extra: 1 }],
      ['ol_getAccount', ['0x1234']],
      ['ol_getAccount', [5]],
      ['ol_getBlockByHeight', ['1']],
      ['ol_getBlockByHeight', [-1]],
      ['ol_getBlockByHeight', [1.5]],
      ['ol_getBlockByHash', ['0xabc']],
      ['ol_listDatanets', { limit: 101 }],
      ['ol_sendTransaction', ['0x00', 'eventually']],
      ['ol_getStateProof', ['nothex']],
    ] as const) {
      const e = await callError(method, params as unknown as unknown[]);
      expect(e.code, `${method} ${JSON.stringify(params)}`).toBe(-32602);
    }
  });

  it('oversize body → HTTP 413 / −32005, and the node keeps serving', async () => {
    const big = JSON.stringify({ ...status, params: ['x'.repeat(LIMITS.bodyBytesMax)] });
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe(-32005);
    expect((await post(status)).body.result.chainId).toBe('rpc-test');
  });

  it('empty batch → −32600; oversize batch → −32005; mixed batch answers only calls', async () => {
    expect((await post([])).body.error.code).toBe(-32600);
    expect((await post(Array(LIMITS.batchMax + 1).fill(status))).body.error.code).toBe(-32005);
    expect(await post(Array(LIMITS.batchMax).fill(status))).toMatchObject({ status: 200 });
    const bob = net.layout.accounts.bob.address;
    const mixed = await post([
      { jsonrpc: '2.0', id: 'a', method: 'ol_getAccount', params: [bob] },
      { jsonrpc: '2.0', method: 'ol_status' },
      { jsonrpc: '2.0', id: 2, method: 'ol_nope' },
      { jsonrpc: '2.0', id: 3, method: 'ol_getBlockByHeight', params: ['x'] },
      { jsonrpc: '2.0', method: 'ol_getAccount', params: ['bad'] },
      42,
      { jsonrpc: '2.0', id: null, method: 'ol_getParams' },
    ]);
    expect(mixed.status).toBe(200);
    expect(mixed.body).toHaveLength(5);
    expect(mixed.body[0]).toMatchObject({ id: 'a', result: { address: bob } });
    expect(mixed.body[1]).toMatchObject({ id: 2, error: { code: -32601 } });
    expect(mixed.body[2]).toMatchObject({ id: 3, error: { code: -32602 } });
    expect(mixed.body[3]).toMatchObject({ id: null, error: { code: -32600 } });
    expect(mixed.body[4]).toMatchObject({ id: null, result: { minGasPrice: '1' } });
    const onlyNotifications = await post([
      { jsonrpc: '2.0', method: 'ol_status' },
      { jsonrpc: '2.0', method: 'ol_getParams' },
    ]);
    expect(onlyNotifications.status).toBe(204);
    expect(onlyNotifications.body).toBeUndefined();
  });

  it('subscriptions are WebSocket-only; other paths and verbs are refused', async () => {
    const e = await callError('ol_subscribe', ['newHeads']);
    expect(e.code).toBe(-32601);
    expect(e.message).toMatch(/WebSocket/);
    expect((await fetch(url)).status).toBe(405);
    expect((await fetch(`${url}nope`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${url}health`)).status).toBe(200);
  });
});

describe('WebSocket subscriptions', { timeout: 120_000 }, () => {
  class Ws {
    readonly messages: Json[] = [];
    private waiters: (() => void)[] = [];
    private id = 1;
    constructor(readonly socket: WebSocket) {
      socket.on('message', (d) => {
        this.messages.push(JSON.parse(d.toString()));
        for (const w of this.waiters.splice(0)) w();
      });
    }
    static open(): Promise<Ws> {
      return new Promise((resolve, reject) => {
        const s = new WebSocket(wsUrl);
        s.once('open', () => resolve(new Ws(s)));
        s.once('error', reject);
      });
    }
    /** Resolves with the first message (already received or future) matching `pred`. */
    async next(pred: (m: Json) => boolean, what: string, timeoutMs = 30_000): Promise<Json> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = this.messages.find(pred);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          this.waiters.push(r);
          setTimeout(r, 250);
        });
      }
    }
    async call(method: string, params: unknown): Promise<Json> {
      const id = this.id++;
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      const reply = await this.next((m: Json) => m.id === id, `reply to ${method}`);
      if (reply.result !== undefined) checkResult(method, reply.result);
      return reply;
    }
    async subscribe(kind: string, filter?: object): Promise<string> {
      const r = await this.call('ol_subscribe', filter ? [kind, filter] : [kind]);
      expect(r.error).toBeUndefined();
      return r.result;
    }
    notifications(sub: string): Json[] {
      return this.messages
        .filter((m: Json) => m.method === 'ol_subscription' && m.params.subscription === sub)
        .map((m: Json) => m.params.result);
    }
    close(): void {
      this.socket.close();
    }
  }

  it('newHeads: consecutive heights with hashes', async () => {
    const ws = await Ws.open();
    const sub = await ws.subscribe('newHeads');
    expect(sub).toMatch(/^0x[0-9a-f]+$/);
    await ws.next(() => ws.notifications(sub).length >= 2, 'two heads');
    const [a, b] = ws.notifications(sub);
    expect(b.height).toBe(a.height + 1);
    expect(a.hash).toMatch(/^0x[0-9a-f]{64}$/);
    const un = await ws.call('ol_unsubscribe', [sub]);
    expect(un.result).toBe(true);
    expect((await ws.call('ol_unsubscribe', [sub])).result).toBe(false);
    ws.close();
  });

  it('events filtered by type and address; tx inclusion', async () => {
    const ws = await Ws.open();
    const bob = net.layout.accounts.bob.address;
    const alice = net.layout.accounts.alice.address;
    const toBob = await ws.subscribe('events', { type: 'transfer', address: bob });
    const anyFee = await ws.subscribe('events', { type: 'fee' });
    const faucet = net.wallet('faucet');
    const a = await faucet.build('transfer', { to: fromHex(alice), amount: 1n });
    const b = await faucet.build('transfer', { to: fromHex(bob), amount: 2n });
    const incl = await ws.subscribe('tx', { hash: to0x(b.hash) });
    await net.clients[0].sendRaw(a.hex);
    await net.clients[0].sendRaw(b.hex);
    const included = await ws.next(
      (m) => m.method === 'ol_subscription' && m.params.subscription === incl,
      'tx inclusion',
    );
    expect(included.params.result).toMatchObject({ hash: to0x(b.hash), code: 'ok' });
    await ws.next(() => ws.notifications(toBob).length >= 1, 'transfer to bob');
    const seen = ws.notifications(toBob);
    expect(seen.every((e: Json) => e.type === 'transfer' && e.addresses.includes(bob))).toBe(true);
    expect(seen.some((e: Json) => e.attrs.amount === '2')).toBe(true);
    expect(seen.some((e: Json) => e.attrs.to === alice)).toBe(false);
    await ws.next(() => ws.notifications(anyFee).length >= 2, 'two fee events');
    expect(ws.notifications(anyFee).every((e: Json) => e.type === 'fee')).toBe(true);
    // Bad filters are refused.
    expect((await ws.call('ol_subscribe', ['tx', {}])).error.code).toBe(-32602);
    expect((await ws.call('ol_subscribe', ['events', { hash: to0x(b.hash) }])).error.code).toBe(-32602);
    expect((await ws.call('ol_subscribe', ['blocks'])).error.code).toBe(-32602);
    ws.close();
  });

  it('job settlement: a contribution near-duplicate check settles and is pushed', async () => {
    const ws = await Ws.open();
    const tip = (await net.clients[0].status()).height as number;
    const created = await net.clients[0].events({ fromHeight: 1, toHeight: tip, type: 'job.created' });
    const nextJob = Math.max(...created.map((e: Json) => e.attrs.job as number)) + 1;
    const sub = await ws.subscribe('job', { job: nextJob });
    const r = await net
      .wallet('alice')
      .send(
        'datanet.contribute',
        { datanet: fromHex(ids.datanet), content: CORPUS.slice(9000, 9800), label: '' },
        { mode: 'sync' },
      );
    expect(r.status).toBe('pending');
    const settled = await ws.next(() => ws.notifications(sub).length >= 1, 'job settlement', 100_000);
    expect(settled).toBeDefined();
    expect(ws.notifications(sub)[0]).toMatchObject({ type: 'job.settled', attrs: { job: nextJob } });
    ws.close();
  });

  it('the client subscriber: newHeads, and a tx committed before the subscription', async () => {
    const sub = await OpenLedgerSubscriber.connect(url, WebSocket as unknown as WebSocketFactory);
    const heads: Json[] = [];
    const committedTx: Json[] = [];
    const headsId = await sub.subscribe('newHeads', undefined, (h) => heads.push(h));
    await sub.subscribe('tx', { hash: ids.transfer.hash }, (t) => committedTx.push(t));
    await net.waitFor(
      'a head and the old tx',
      async () => {
        return heads.length >= 1 && committedTx.length === 1;
      },
      10_000,
    );
    expect(committedTx[0]).toMatchObject({
      hash: ids.transfer.hash,
      height: ids.transfer.height,
      code: 'ok',
    });
    expect(await sub.unsubscribe(headsId)).toBe(true);
    await expect(sub.call('ol_subscribe', ['nope'])).rejects.toMatchObject({ rpcCode: -32602 });
    sub.close();
  });

  it('per-connection subscription limit; unsubscribing frees a slot', async () => {
    const ws = await Ws.open();
    const subs: string[] = [];
    for (let i = 0; i < LIMITS.subscriptionsMax; i++) subs.push(await ws.subscribe('newHeads'));
    const over = await ws.call('ol_subscribe', ['newHeads']);
    expect(over.error.code).toBe(-32005);
    expect((await ws.call('ol_unsubscribe', [subs[0]])).result).toBe(true);
    expect((await ws.call('ol_subscribe', ['newHeads'])).result).toMatch(/^0x/);
    // Another connection has its own budget.
    const other = await Ws.open();
    expect(await other.subscribe('newHeads')).toMatch(/^0x/);
    other.close();
    ws.close();
  });

  it('a flood is rate-limited, then the socket closed; the node keeps serving', async () => {
    const ws = await Ws.open();
    const closed = new Promise<number>((r) => ws.socket.once('close', (code) => r(code)));
    for (let i = 0; i < 20 * LIMITS.wsMessagesPerSec; i++) {
      if (ws.socket.readyState !== ws.socket.OPEN) break;
      ws.socket.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ol_status' }));
    }
    expect(await closed).toBe(1008);
    expect(ws.messages.some((m: Json) => m.error?.code === -32005)).toBe(true);
    expect((await post(status0())).body.result.chainId).toBe('rpc-test');
    const again = await Ws.open();
    expect((await again.call('ol_status', [])).result.chainId).toBe('rpc-test');
    again.close();
  });
});

const status0 = () => ({ jsonrpc: '2.0', id: 1, method: 'ol_status' });

describe('OpenRPC', () => {
  it('rpc.discover returns a document that validates against the OpenRPC meta-schema', async () => {
    const document = await call('rpc.discover');
    const ajv = new Ajv({ strict: false, validateFormats: false });
    const { $id: _id, ...jsonMeta } = jsonSchemaMeta as Record<string, unknown>;
    ajv.addSchema(jsonMeta, 'https://meta.json-schema.tools/');
    ajv.addSchema(jsonMeta, 'https://meta.json-schema.tools');
    const validate = ajv.compile(metaSchema as object);
    expect(validate(document)).toBe(true);
    expect(document.methods.length).toBeGreaterThan(25);
    // Result schemas are real: live answers were checked against them, and a wrong shape fails.
    expect(resultValidators.get('ol_getAccount')?.({ address: '0x12' })).toBe(false);
    expect(resultValidators.get('ol_getEarnings')?.({ total: 5 })).toBe(false);
  });

  // Keep last: every method the live document lists was exercised above with a successful call.
  it('every method in the OpenRPC document has a request/response test', () => {
    const names = documentMethods.map((m: Json) => m.name).sort();
    expect(names.length).toBeGreaterThan(0);
    const untested = names.filter((n) => !tested.has(n));
    expect(untested, 'methods without a request/response test').toEqual([]);
  });
});
