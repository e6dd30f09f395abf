import { toHex } from '../core/bytes.js';
import { type Tx, verifyTxSignature } from '../core/tx.js';

/**
 * Transactions whose signature this node has already checked (at mempool admission or in an
 * earlier proposal), by tx hash, so a block full of gossiped transactions is not verified twice.
 * Bounded; when full the oldest half goes (Sets iterate in insertion order).
 */
export const SIG_CACHE_ENTRIES_MAX = 500_000;

export class SigCache {
  private readonly verified = new Set<string>();

  constructor(private readonly entriesMax = SIG_CACHE_ENTRIES_MAX) {}

  add(hashHex: string): void {
    if (this.verified.size >= this.entriesMax) {
      let drop = this.verified.size >> 1;
      for (const h of this.verified) {
        if (drop-- <= 0) break;
        this.verified.delete(h);
      }
    }
    this.verified.add(hashHex);
  }

  has(hashHex: string): boolean {
    return this.verified.has(hashHex);
  }

  /** Verifies through the cache: a hit costs nothing, a miss is checked and remembered if valid. */
  check(tx: Tx, hash: Uint8Array): boolean {
    const key = toHex(hash);
    if (this.verified.has(key)) return true;
    if (!verifyTxSignature(tx)) return false;
    this.add(key);
    return true;
  }
}
