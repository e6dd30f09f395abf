import { addressOf } from '../core/address.js';
import { toHex } from '../core/bytes.js';
import { decodeWire, encodeWire } from '../core/codec.js';
import { verifySignature } from '../core/keys.js';
import { decodeTx, TX_BYTES_MAX, type Tx, txHash, txSender, txSigningBytes } from '../core/tx.js';
import type { Verdict } from '../p2p/host.js';
import type { StateDb } from '../state/stateDb.js';
import { checkTx } from '../vm/execute.js';
import type { AdmissionControl } from './admission.js';
import type { Chain } from './chain.js';
import { NodeError } from './errors.js';
import { type Mempool, MempoolError } from './mempool.js';
import type { NodeMetrics } from './metrics.js';
import type { SigCache } from './sigCache.js';
import type { SigPool } from './sigPool.js';

/**
 * Transactions coming in: admission (strict decode, chain, backpressure, signature, vm rules,
 * mempool rules) for RPC submissions and gossip alike, the `tx` topic handler, and the batches in
 * which locally submitted transactions go out on gossip.
 */

/** Transactions per gossip batch, bytes per batch, and how long a batch waits to fill. */
export const TX_BATCH_MAX = 512;
export const TX_BATCH_BYTES_MAX = 1024 * 1024;
export const TX_BATCH_DELAY_MS = 20;
/**
 * A gossiped batch with at least this many signatures to check has them checked in the signature
 * worker threads, not on the event loop (meanwhile the loop answers RPC — BUSY refusals included —
 * and consensus). Smaller batches are checked inline, at once: the pool starts its threads on
 * demand and lets idle ones go, and a cold start (seconds under tsx on a loaded machine) would
 * hold every later batch back, since batches are admitted in arrival order.
 */
export const GOSSIP_SIG_WORKER_MIN = 64;

export interface TxIntakeDeps {
  readonly chainId: string;
  readonly mempool: Mempool;
  readonly admission: AdmissionControl;
  readonly sigs: SigCache;
  readonly sigPool: Pick<SigPool, 'verifyMany'>;
  readonly state: StateDb;
  readonly chain: Pick<Chain, 'nonceView' | 'tip'>;
  readonly metrics: Pick<NodeMetrics, 'txsRefusedBusy' | 'mempoolTxs' | 'mempoolBytes' | 'gossipRejected'>;
  /** Gossips a batch on the `tx` topic. */
  publish(batch: Uint8Array): void;
}

export class TxIntake {
  private txOutbox: Uint8Array[] = [];
  private txOutboxBytes = 0;
  private txFlushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Gossiped batches are admitted in arrival order (their signature checks may finish out of order). */
  private gossipOrder: Promise<unknown> = Promise.resolve();
  /** Gossiped batches still waiting for their checks or their turn. */
  private gossipPending = 0;

  constructor(private readonly deps: TxIntakeDeps) {}

  /**
   * Admission: decode strictly, check chain, signature (cached) and mempool rules. Returns the tx
   * hash, or throws a typed error (CodecError, MempoolError, NodeError) saying why.
   */
  admit(
    bytes: Uint8Array,
    hash: Uint8Array = txHash(bytes),
    local = false,
    decoded?: Tx,
  ): { hash: Uint8Array; outcome: string } {
    const { chainId, mempool, admission, sigs, state, chain, metrics } = this.deps;
    const tx = decoded ?? decodeTx(bytes, TX_BYTES_MAX);
    if (tx.chainId !== chainId) throw new NodeError('WRONG_CHAIN', `transaction is for chain ${tx.chainId}`);
    // Backpressure before any costly check, so a refusal is cheap; a tx already held is not new.
    if (local && !mempool.has(toHex(hash))) {
      try {
        admission.check(mempool.size, Date.now(), mempool.pendingOf(toHex(txSender(tx))));
      } catch (e) {
        metrics.txsRefusedBusy.inc();
        throw e;
      }
    }
    if (tx.type === 'attribution.settle')
      throw new NodeError('SYSTEM_TX', 'attribution.settle is built by proposers only');
    if (!sigs.check(tx, hash)) throw new NodeError('BAD_SIGNATURE', 'transaction signature does not verify');
    // The vm's own admission rules (fee affordable, gas price, limits) for the sender's next tx.
    // Later nonces pass on the mempool's rules alone: if the vm refuses one when its turn comes,
    // it fails admission in the block (charged nothing, changes nothing) and the re-check drops it.
    const view = chain.nonceView();
    if (tx.nonce === view.nextNonce(toHex(addressOf(tx.sender)))) {
      const problem = checkTx(state, { tx, bytes, hash });
      if (problem !== null) throw new NodeError(problem.code, problem.message);
    }
    const outcome = mempool.add(tx, bytes, hash, view, chain.tip.height);
    metrics.mempoolTxs.set(mempool.size);
    metrics.mempoolBytes.set(mempool.bytes);
    return { hash, outcome };
  }

  /** Admits and gossips a transaction submitted locally (RPC). */
  submit(bytes: Uint8Array): Uint8Array {
    const { hash } = this.admit(bytes, txHash(bytes), true);
    this.txOutbox.push(bytes);
    this.txOutboxBytes += bytes.length;
    if (this.txOutbox.length >= TX_BATCH_MAX || this.txOutboxBytes >= TX_BATCH_BYTES_MAX) this.flush();
    else if (this.txFlushTimer === undefined) {
      this.txFlushTimer = setTimeout(() => this.flush(), TX_BATCH_DELAY_MS);
    }
    return hash;
  }

  /** Node stop: the pending batch is not sent. */
  close(): void {
    this.closed = true;
    if (this.txFlushTimer !== undefined) clearTimeout(this.txFlushTimer);
  }

  /**
   * Transactions are gossiped in batches (a list of signed encodings): per-message gossip costs
   * (framing, encryption, ids, scoring) dominate for 200-byte transactions, so a few
   * milliseconds of batching buys most of the throughput.
   */
  private flush(): void {
    if (this.txFlushTimer !== undefined) clearTimeout(this.txFlushTimer);
    this.txFlushTimer = undefined;
    if (this.txOutbox.length === 0 || this.closed) return;
    const batch = this.txOutbox;
    this.txOutbox = [];
    this.txOutboxBytes = 0;
    this.deps.publish(encodeWire(batch));
  }

  /**
   * The `tx` topic: a batch is rejected whole if it is malformed or holds a badly signed tx. The
   * unseen transactions are decoded first and their signatures not in the cache checked together
   * (in the worker threads from `GOSSIP_SIG_WORKER_MIN`), then admitted; a bad one rejects the
   * batch before any of it is admitted. Gossip never opens a nonce gap: a tx ahead of its
   * sender's next nonce whose predecessor is not pending is ignored (not admitted, not forwarded).
   * Such txs cannot execute, never drain and cost their signer nothing, so a peer relaying them
   * for many unfunded keys would fill the mempool and make the node refuse everyone (BUSY).
   * Batches are admitted in arrival order, so an honest sender's consecutive nonces split over two
   * batches are not mistaken for a gap.
   */
  onGossip(data: Uint8Array): Verdict | Promise<Verdict> {
    const { chainId, mempool, metrics, sigs } = this.deps;
    let batch: Uint8Array[];
    try {
      const w = decodeWire(data, TX_BATCH_BYTES_MAX + 64 * 1024);
      if (
        !Array.isArray(w) ||
        w.length === 0 ||
        w.length > TX_BATCH_MAX ||
        !w.every((b) => b instanceof Uint8Array)
      ) {
        throw new Error('not a transaction batch');
      }
      batch = w as Uint8Array[];
    } catch {
      metrics.gossipRejected.inc({ topic: 'tx' });
      return 'reject';
    }
    const reject = (hashHex: string): Verdict => {
      // Malformed or badly signed: whoever relays it is at fault.
      metrics.gossipRejected.inc({ topic: 'tx' });
      mempool.markSeen(hashHex);
      return 'reject';
    };
    const fresh: { bytes: Uint8Array; hash: Uint8Array; hashHex: string; tx: Tx }[] = [];
    for (const raw of batch) {
      const bytes = new Uint8Array(raw);
      const hash = txHash(bytes);
      const hashHex = toHex(hash);
      if (mempool.seenRecently(hashHex) || mempool.has(hashHex)) continue;
      let tx: Tx;
      try {
        tx = decodeTx(bytes, TX_BYTES_MAX);
      } catch {
        return reject(hashHex);
      }
      if (tx.chainId !== chainId || tx.type === 'attribution.settle') return reject(hashHex);
      fresh.push({ bytes, hash, hashHex, tx });
    }
    const unchecked = fresh.filter((f) => !sigs.has(f.hashHex));
    const checks = unchecked.map(({ tx }) => ({
      publicKey: tx.sender,
      message: txSigningBytes(tx),
      signature: tx.signature,
    }));
    const admitChecked = (verdicts: readonly boolean[]): Verdict => {
      const bad = verdicts.indexOf(false);
      if (bad >= 0) return reject(unchecked[bad].hashHex);
      for (const f of unchecked) sigs.add(f.hashHex);
      if (this.closed) return 'ignore';
      const view = this.deps.chain.nonceView();
      let admitted = 0;
      for (const f of fresh) {
        const sender = toHex(txSender(f.tx));
        if (f.tx.nonce > view.nextNonce(sender) && !mempool.hasNonce(sender, f.tx.nonce - 1)) continue;
        try {
          this.admit(f.bytes, f.hash, false, f.tx);
          admitted++;
        } catch (e) {
          if (e instanceof MempoolError) continue;
          return reject(f.hashHex);
        }
      }
      return admitted > 0 ? 'accept' : 'ignore';
    };
    // Nothing ahead in the workers and few checks: all at once, on the spot.
    if (this.gossipPending === 0 && checks.length < GOSSIP_SIG_WORKER_MIN)
      return admitChecked(checks.map((c) => verifySignature(c.publicKey, c.message, c.signature)));
    // Checked now (in parallel with other batches' checks), admitted in arrival order.
    const checked = this.deps.sigPool.verifyMany(checks, GOSSIP_SIG_WORKER_MIN);
    const before = this.gossipOrder;
    this.gossipPending++;
    const run = (async (): Promise<Verdict> => {
      try {
        const verdicts = await checked;
        await before;
        return admitChecked(verdicts);
      } finally {
        this.gossipPending--;
      }
    })();
    this.gossipOrder = run.catch(() => {});
    return run;
  }
}
