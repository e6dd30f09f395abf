import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { StateDb } from '../../state/stateDb.js';

/**
 * Gossiped transaction batches (node/txIntake.ts): signatures are checked before anything of the
 * batch is admitted, in the worker threads from GOSSIP_SIG_WORKER_MIN, so the event loop stays free
 * for RPC and consensus; a badly signed transaction rejects the whole batch and admits none of it.
 */
const CHAIN = 'intake-test';
let dir: string;
let state: StateDb;
const pool = new SigPool(2);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ol-intake-'));
  state = await StateDb.open(join(dir, 'db'));
});

afterAll(async () => {
  await pool.close();
  await state?.close();
  await rm(dir, { recursive: true, force: true });
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
    state,
    // Nonces from 1 up: later than the account's next (0), so only the mempool's rules apply.
    chain: { nonceView: () => ({ nextNonce: () => 0 }), tip: { height: 1 } } as never,
    metrics: new NodeMetrics(),
    publish: (b) => published.push(b),
  });
  return { txs, mempool, sigs };
}

function transfers(n: number, chainId = CHAIN) {
  const key = generateKeyPair();
  const to = generateKeyPair().publicKey.slice(0, 20);
  return Array.from({ length: n }, (_, i) =>
    buildTx('transfer', { to, amount: 1n }, key, { chainId, nonce: i + 1, gasLimit: 50_000 }),
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
    const batch = [...transfers(3), ...transfers(1, 'other-chain')];
    expect(await txs.onGossip(encodeWire(batch.map((t) => t.bytes)))).toBe('reject');
    expect(mempool.size).toBe(0);
  });
});
