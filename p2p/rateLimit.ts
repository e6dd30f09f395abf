/**
 * Token bucket per peer: `ratePerSec` tokens refill continuously up to `burst`. The clock is
 * injected so tests are exact; p2p is an I/O edge, so the real clock is fine here.
 */
/** Peers whose buckets are tracked at most. */
export const RATE_LIMITED_PEERS_MAX = 4096;

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly nowMs: () => number = () => Date.now(),
    /** Peers tracked at most; past it the least recently seen is forgotten. */
    private readonly peersMax = RATE_LIMITED_PEERS_MAX,
  ) {}

  /** Takes `cost` tokens for `peer`; false when the peer is over its rate. */
  take(peer: string, cost = 1): boolean {
    const now = this.nowMs();
    let b = this.buckets.get(peer);
    if (b === undefined) {
      // Forget the least recently seen peer, never everyone at once (clearing every bucket let
      // 4,096 fresh peer ids reset the limits of all the others).
      if (this.buckets.size >= this.peersMax) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.burst, atMs: now };
    } else this.buckets.delete(peer); // re-inserted last: the map's order is recency
    this.buckets.set(peer, b);
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.atMs) * this.ratePerSec) / 1000);
    b.atMs = now;
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** Peers currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  forget(peer: string): void {
    this.buckets.delete(peer);
  }
}
