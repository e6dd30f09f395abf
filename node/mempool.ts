import { toHex } from '../core/bytes.js';
import { OlError } from '../core/errors.js';
import { type Tx, txSender } from '../core/tx.js';

/**
 * The mempool: per-sender nonce lanes, priority by gas price, replace-by-fee with a minimum bump,
 * caps on bytes, count and per-sender entries, expiry by height, and a re-check after every commit.
 * A seen-cache of recent hashes makes gossip loops die quickly.
 *
 * Selection for a block walks the lanes like Ethereum's price-and-nonce heap: the head (lowest
 * executable nonce) of every lane competes on gas price; taking a head exposes that lane's next
 * nonce. Ties break by arrival order, so selection is a total order.
 */

export class MempoolError extends OlError {}

export interface MempoolLimits {
  txsMax: number;
  bytesMax: number;
  perSenderMax: number;
  /** A replacement must pay at least this many percent more gas price than the tx it replaces. */
  replaceBumpPct: number;
  /** Entries older than this many blocks are dropped at the next re-check. */
  expiryBlocks: number;
  /** How far ahead of the account nonce a sender may queue. */
  nonceGapMax: number;
  seenCacheMax: number;
}

export const DEFAULT_MEMPOOL_LIMITS: MempoolLimits = {
  txsMax: 50_000,
  bytesMax: 64 * 1024 * 1024,
  perSenderMax: 256,
  replaceBumpPct: 10,
  expiryBlocks: 600,
  nonceGapMax: 256,
  seenCacheMax: 200_000,
};

export interface MempoolEntry {
  tx: Tx;
  bytes: Uint8Array;
  hash: Uint8Array;
  hashHex: string;
  sender: string;
  addedHeight: number;
  seq: number;
}

/** What the mempool needs to know of the chain: each sender's next expected nonce. */
export interface NonceView {
  nextNonce(senderHex: string): number;
}

export type AddOutcome = 'added' | 'replaced';

export class Mempool {
  private readonly lanes = new Map<string, Map<number, MempoolEntry>>();
  private readonly byHash = new Map<string, MempoolEntry>();
  private readonly seen = new Set<string>();
  private totalBytes = 0;
  private seq = 0;

  constructor(readonly limits: MempoolLimits = DEFAULT_MEMPOOL_LIMITS) {}

  get size(): number {
    return this.byHash.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(hashHex: string): boolean {
    return this.byHash.has(hashHex);
  }

  /** Recently seen (admitted, rejected or committed): gossip of it again can be ignored. */
  seenRecently(hashHex: string): boolean {
    return this.seen.has(hashHex);
  }

  markSeen(hashHex: string): void {
    if (this.seen.size >= this.limits.seenCacheMax) {
      // Drop the oldest half: Sets iterate in insertion order.
      let drop = this.seen.size >> 1;
      for (const h of this.seen) {
        if (drop-- <= 0) break;
        this.seen.delete(h);
      }
    }
    this.seen.add(hashHex);
  }

  /** Whether the sender (hex address) has a transaction with this nonce pending. */
  hasNonce(senderHex: string, nonce: number): boolean {
    return this.lanes.get(senderHex)?.has(nonce) ?? false;
  }

  /** Pending transactions of one sender (hex public key). */
  pendingOf(senderHex: string): number {
    return this.lanes.get(senderHex)?.size ?? 0;
  }

  get(hashHex: string): MempoolEntry | undefined {
    return this.byHash.get(hashHex);
  }

  /**
   * Admits a decoded, signature-checked transaction. Throws `MempoolError` with a stable code:
   * ALREADY_KNOWN, NONCE_TOO_LOW, NONCE_TOO_HIGH, REPLACEMENT_UNDERPRICED, SENDER_FULL, POOL_FULL.
   */
  add(tx: Tx, bytes: Uint8Array, hash: Uint8Array, view: NonceView, height: number): AddOutcome {
    const hashHex = toHex(hash);
    this.markSeen(hashHex);
    if (this.byHash.has(hashHex))
      throw new MempoolError('ALREADY_KNOWN', 'transaction is already in the mempool');
    const sender = toHex(txSender(tx));
    const next = view.nextNonce(sender);
    if (tx.nonce < next) {
      throw new MempoolError('NONCE_TOO_LOW', `nonce ${tx.nonce} is below the account's next nonce ${next}`);
    }
    if (tx.nonce > next + this.limits.nonceGapMax) {
      throw new MempoolError(
        'NONCE_TOO_HIGH',
        `nonce ${tx.nonce} is more than ${this.limits.nonceGapMax} ahead of ${next}`,
      );
    }
    const lane = this.lanes.get(sender);
    const existing = lane?.get(tx.nonce);
    if (existing !== undefined) {
      const required =
        existing.tx.gasPrice + (existing.tx.gasPrice * BigInt(this.limits.replaceBumpPct)) / 100n;
      if (tx.gasPrice < required || tx.gasPrice === existing.tx.gasPrice) {
        throw new MempoolError(
          'REPLACEMENT_UNDERPRICED',
          `replacing nonce ${tx.nonce} needs a gas price of at least ${required} (+${this.limits.replaceBumpPct}%)`,
        );
      }
      this.remove(existing);
      this.insert({ tx, bytes, hash, hashHex, sender, addedHeight: height, seq: this.seq++ });
      return 'replaced';
    }
    if ((lane?.size ?? 0) >= this.limits.perSenderMax) {
      throw new MempoolError(
        'SENDER_FULL',
        `sender already has ${this.limits.perSenderMax} pending transactions`,
      );
    }
    if (this.byHash.size >= this.limits.txsMax || this.totalBytes + bytes.length > this.limits.bytesMax) {
      this.evictFor(tx, bytes.length);
    }
    this.insert({ tx, bytes, hash, hashHex, sender, addedHeight: height, seq: this.seq++ });
    return 'added';
  }

  /**
   * Executable transactions in block order, within the gas and byte budgets. Each lane starts at
   * the sender's next nonce and stops at its first gap.
   */
  select(
    view: NonceView,
    gasMax: number,
    bytesMax: number,
    countMax = Number.MAX_SAFE_INTEGER,
  ): MempoolEntry[] {
    const heads: MempoolEntry[] = [];
    const cursor = new Map<string, number>();
    for (const [sender, lane] of this.lanes) {
      const n = view.nextNonce(sender);
      const head = lane.get(n);
      if (head !== undefined) {
        heads.push(head);
        cursor.set(sender, n);
      }
    }
    const heap = new EntryHeap(heads);
    const out: MempoolEntry[] = [];
    let gas = 0;
    let size = 0;
    while (heap.size > 0 && out.length < countMax) {
      const e = heap.pop()!;
      if (gas + e.tx.gasLimit > gasMax || size + e.bytes.length > bytesMax) {
        // This lane cannot continue in this block without breaking nonce order; others may fit.
        continue;
      }
      out.push(e);
      gas += e.tx.gasLimit;
      size += e.bytes.length;
      const nextNonce = cursor.get(e.sender)! + 1;
      cursor.set(e.sender, nextNonce);
      const following = this.lanes.get(e.sender)?.get(nextNonce);
      if (following !== undefined) heap.push(following);
    }
    return out;
  }

  /** After a commit: drop included, stale-nonce and expired entries. Returns how many left. */
  recheck(view: NonceView, height: number): number {
    let dropped = 0;
    for (const [sender, lane] of [...this.lanes]) {
      const next = view.nextNonce(sender);
      for (const e of [...lane.values()]) {
        if (e.tx.nonce < next || height - e.addedHeight > this.limits.expiryBlocks) {
          this.remove(e);
          dropped++;
        }
      }
    }
    return dropped;
  }

  removeByHash(hashHex: string): void {
    const e = this.byHash.get(hashHex);
    if (e !== undefined) this.remove(e);
  }

  private insert(e: MempoolEntry): void {
    let lane = this.lanes.get(e.sender);
    if (lane === undefined) {
      lane = new Map();
      this.lanes.set(e.sender, lane);
    }
    lane.set(e.tx.nonce, e);
    this.byHash.set(e.hashHex, e);
    this.totalBytes += e.bytes.length;
  }

  private remove(e: MempoolEntry): void {
    const lane = this.lanes.get(e.sender);
    lane?.delete(e.tx.nonce);
    if (lane !== undefined && lane.size === 0) this.lanes.delete(e.sender);
    this.byHash.delete(e.hashHex);
    this.totalBytes -= e.bytes.length;
  }

  /**
   * Makes room for a newcomer by evicting the cheapest lane tails (the highest nonce of a lane, so
   * no lane gets a gap), but only those paying strictly less than the newcomer.
   */
  private evictFor(tx: Tx, size: number): void {
    const fits = () =>
      this.byHash.size < this.limits.txsMax && this.totalBytes + size <= this.limits.bytesMax;
    while (!fits()) {
      let victim: MempoolEntry | undefined;
      for (const lane of this.lanes.values()) {
        let tail: MempoolEntry | undefined;
        for (const e of lane.values()) if (tail === undefined || e.tx.nonce > tail.tx.nonce) tail = e;
        if (tail !== undefined && (victim === undefined || cheaper(tail, victim))) victim = tail;
      }
      if (victim === undefined || victim.tx.gasPrice >= tx.gasPrice) {
        throw new MempoolError(
          'POOL_FULL',
          'mempool is full and this transaction does not pay more than what is in it',
        );
      }
      this.remove(victim);
    }
  }
}

/** Lower gas price first; among equals the newer one (it would be selected last). */
function cheaper(a: MempoolEntry, b: MempoolEntry): boolean {
  if (a.tx.gasPrice !== b.tx.gasPrice) return a.tx.gasPrice < b.tx.gasPrice;
  return a.seq > b.seq;
}

/** Max-heap on (gas price desc, arrival asc). */
class EntryHeap {
  private readonly items: MempoolEntry[] = [];

  constructor(initial: MempoolEntry[]) {
    for (const e of initial) this.push(e);
  }

  get size(): number {
    return this.items.length;
  }

  push(e: MempoolEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): MempoolEntry | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: MempoolEntry, b: MempoolEntry): boolean {
  if (a.tx.gasPrice !== b.tx.gasPrice) return a.tx.gasPrice > b.tx.gasPrice;
  return a.seq < b.seq;
}
