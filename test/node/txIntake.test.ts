import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWire } from '../../core/codec.js';
import { generateKeyPair } from '../../core/keys.js';
import { AdmissionControl } from '../../node/admission.js';
import { Mempool } from '../../node/mempool.js';
import { NodeMetrics } from '../../node/metrics.js';
import { SigCache } from '../../node/sigCache.js';
import { SigPool } from '../../node/sigPool.js';
import { GOSSIP_SIG_WORKER_MIN, TxIntake } from '../../node/txIntake.js';
import { buildTx } from '../../rpc/client.js';
import { CHAIN_ID, genesisJson, type Key, key, TestChain } from '../vm/harness.js';

/**
 * Gossiped transaction batches (node/txIntake.ts): signatures are checked before anything of the
 * batch is admitted, in the worker threads from GOSSIP_SIG_WORKER_MIN, so the event loop stays free
 * for RPC and consensus; a badly signed transaction rejects the whole batch and admits none of it;
 * and gossip never opens a nonce gap, so one peer relaying never-executable transactions of
 * unfunded keys cannot fill the mempool and get everyone else refused. State: a real genesis on
 * LevelDB (funded accounts alice, bob, carol, dave at nonce 0).
 */
const CHAIN = CHAIN_ID;
let chain: TestChain;
const pool = new SigPool(2);

beforeAll(async () => {
  chain = await TestChain.onDisk(genesisJson());
});

afterAll(async () => {
  await pool.close();
  await chain?.close();
});

function intake() {
  const mempool = new Mempool();
  const sigs = new SigCache();
  const published: Uint8Array[] = [];
  const txs = new TxIntake({
    chainId: CHAIN,
    mempool,
    admission: new AdmissionControl(),
    sigs,
    sigPool: pool,
    state: chain.db!,
    // At genesis every account's next nonce is 0.
    chain: { nonceView: () => ({ nextNonce: () => 0 }), tip: { height: 0 } } as never,
    metrics: new NodeMetrics(),
    publish: (b) => published.push(b),
  });
  return { txs, mempool, sigs };
}

/** `n` transfers of `from` (a funded genesis account by default) with nonces `first`.. */
function transfers(
  n: number,
  o: { chainId?: string; from?: Key | ReturnType<typeof generateKeyPair>; first?: number } = {},
) {
  const from = o.from ?? key('alice');
  const to = generateKeyPair().publicKey.slice(0, 20);
  return Array.from({ length: n }, (_, i) =>
    buildTx('transfer', { to, amount: 1n }, from, {
      chainId: o.chainId ?? CHAIN,
      nonce: (o.first ?? 0) + i,
      gasLimit: 50_000,
    }),
  );
}

describe('gossiped transaction batches', () => {
  for (const n of [GOSSIP_SIG_WORKER_MIN - 1, GOSSIP_SIG_WORKER_MIN, 100]) {
    it(`admits a good batch of ${n} and marks every signature verified`, async () => {
      const { txs, mempool, sigs } = intake();
      const batch = transfers(n);
      expect(await txs.onGossip(encodeWire(batch.map((t) => t.bytes)))).toBe('accept');
      expect(mempool.size).toBe(n);
      expect(batch.every((t) => sigs.has(Buffer.from(t.hash).toString('hex')))).toBe(true);
      // The same batch again: all seen, nothing to do.
      expect(await txs.onGossip(encodeWire(batch.map((t) => t.bytes)))).toBe('ignore');
    });

    it(`rejects a batch of ${n} holding one badly signed tx and admits none of it`, async () => {
      const { txs, mempool } = intake();
      const bytes = transfers(n).map((t) => new Uint8Array(t.bytes));
      bytes[n - 1][bytes[n - 1].length - 3] ^= 1; // inside the signature (the last field)
      expect(await txs.onGossip(encodeWire(bytes))).toBe('reject');
      expect(mempool.size).toBe(0);
    });
  }

  it('rejects a batch with a transaction for another chain, before checking signatures', async () => {
    const { txs, mempool } = intake();
    const batch = [...transfers(3), ...transfers(1, { chainId: 'other-chain', from: key('bob') })];
    expect(await txs.onGossip(encodeWire(batch.map((t) => t.bytes)))).toBe('reject');
    expect(mempool.size).toBe(0);
  });

  it('a peer relaying gapped transactions of unfunded keys cannot fill the mempool and starve local senders', async () => {
    const { txs, mempool } = intake();
    // 20 fresh keys, nonces 1..100 each: valid signatures, never executable (nonce 0 never comes,
    // and the keys could not pay it anyway). Before the gap rule all 2,000 were admitted and the
    // node then refused every local sender with BUSY (2,000 waiting ≫ 2 s at the 200/s floor).
    for (let k = 0; k < 20; k++) {
      const junk = transfers(100, { from: generateKeyPair(), first: 1 });
      expect(await txs.onGossip(encodeWire(junk.map((t) => t.bytes)))).toBe('ignore');
    }
    expect(mempool.size).toBe(0);
    const [mine] = transfers(1, { from: key('carol') });
    expect(() => txs.submit(mine.bytes)).not.toThrow();
    expect(mempool.size).toBe(1);
  });

  it('consecutive nonces split over two batches are admitted whichever check finishes first', async () => {
    const { txs, mempool } = intake();
    const lane = transfers(GOSSIP_SIG_WORKER_MIN + 3, { from: key('dave') });
    // The first batch goes to the workers, the second (small) is checked inline and would finish
    // first: admission still follows arrival order, so nonce 1.. is not taken for a gap.
    const first = txs.onGossip(encodeWire(lane.slice(0, GOSSIP_SIG_WORKER_MIN).map((t) => t.bytes)));
    const second = txs.onGossip(encodeWire(lane.slice(GOSSIP_SIG_WORKER_MIN).map((t) => t.bytes)));
    expect(await Promise.all([first, second])).toEqual(['accept', 'accept']);
    expect(mempool.size).toBe(lane.length);
  });
});
