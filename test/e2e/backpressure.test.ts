import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, to0x } from '../../core/bytes.js';
import { generateKeyPair } from '../../core/keys.js';
import { LocalNetwork } from '../../devnet/network.js';
import { type BuiltTx, buildTx, RPC_BUSY, RpcCallError } from '../../rpc/client.js';

/**
 * Backpressure, played as a flooding client against a real node process: offered far more than it
 * commits, the node refuses with BUSY (−32006) and a retry hint instead of queueing; a refused
 * transaction is not half-admitted (not held, not committed, its nonce still free for the retry);
 * everything accepted commits; and a sender with nothing pending still gets in while the flooders
 * are refused. Without the admission check (node/admission.ts) the node accepts the whole flood
 * into its 50,000-transaction mempool and the first assertion fails.
 */

let net: LocalNetwork;
const SENDERS = 24;
const PER_SENDER = 150;

beforeAll(async () => {
  const accounts: Record<string, string> = { newcomer: '1000' };
  for (let i = 0; i < SENDERS; i++) accounts[`flood${i}`] = '1000';
  net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 400,
    chainId: 'busy',
    accounts,
    nodeConfig: {
      mempool: { admissionWaitMs: 300, admissionBacklogMin: 100 },
      log: { level: 'warn' },
    },
  });
  net.start([0]);
  await net.waitForHeight(2, [0], 120_000);
}, 180_000);

afterAll(async () => {
  await net?.close();
}, 60_000);

function transfers(name: string, from: number, count: number): BuiltTx[] {
  const a = net.layout.accounts[name];
  const key = { secretKey: fromHex(a.secretKey, 32), publicKey: fromHex(a.publicKey, 32) };
  const to = generateKeyPair().publicKey.slice(0, 20);
  return Array.from({ length: count }, (_, i) =>
    buildTx('transfer', { to, amount: 1n }, key, { chainId: net.chainId, nonce: from + i, gasLimit: 50_000 }),
  );
}

describe('backpressure under a flood of RPC transactions', () => {
  it('refuses with BUSY and a hint, half-admits nothing, and commits everything it accepted', async () => {
    const c = net.clients[0];
    const lanes = Array.from({ length: SENDERS }, (_, i) => transfers(`flood${i}`, 0, PER_SENDER));
    const accepted: BuiltTx[] = [];
    const refused: { tx: BuiltTx; retryAfterMs: number }[] = [];
    // Every sender submits its nonces in order, all senders at once: a flood far above capacity.
    await Promise.all(
      lanes.map(async (lane) => {
        for (const tx of lane) {
          try {
            await c.sendRaw(tx.hex);
            accepted.push(tx);
          } catch (e) {
            expect(e).toBeInstanceOf(RpcCallError);
            const err = e as RpcCallError;
            expect(err.rpcCode).toBe(RPC_BUSY);
            const data = err.data as { code: string; retryAfterMs: number };
            expect(data.code).toBe('BUSY');
            expect(data.retryAfterMs).toBeGreaterThan(0);
            refused.push({ tx, retryAfterMs: data.retryAfterMs });
            // The sender's later nonces would only queue behind the gap: stop this lane.
            return;
          }
        }
      }),
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThanOrEqual(100);

    // A sender with nothing pending still gets in while the flooders are refused.
    const [fresh] = transfers('newcomer', 0, 1);
    await c.sendRaw(fresh.hex);
    accepted.push(fresh);

    // Not half-admitted: a refused transaction is unknown to the node.
    for (const r of refused.slice(0, 5)) {
      await expect(c.transaction(to0x(r.tx.hash))).rejects.toMatchObject({ rpcCode: -32001 });
    }
    // Everything accepted commits.
    for (const t of accepted) await c.waitForInclusion(to0x(t.hash), 120_000, 100);

    // The nonce of a refused transaction is still free: the same bytes are admitted on retry
    // (sendRawRetrying backs off on BUSY by the node's hint) and commit.
    const retry = refused[0].tx;
    await c.sendRawRetrying(retry.hex, 'sync', { deadlineMs: 60_000 });
    await c.waitForInclusion(to0x(retry.hash), 60_000, 100);
    const metrics = await (await fetch(net.layout.nodes[0].metricsUrl)).text();
    expect(metrics).toMatch(/ol_txs_refused_busy_total [1-9]/);
  }, 240_000);
});
