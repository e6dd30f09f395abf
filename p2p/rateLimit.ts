/**
 * Token bucket per peer: `ratePerSec` tokens refill continuously up to `burst`. The clock is
 * injected so tests are exact; p2p is an I/O edge, so the real clock is fine here.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly nowMs: () => number = () => Date.now(),
    /** Forget idle peers beyond this many tracked entries. */
    private readonly peersMax = 4096,
  ) {}

  /** Takes `cost` tokens for `peer`; false when the peer is over its rate. */
  take(peer: string, cost = 1): boolean {
    const now = this.nowMs();
    let b = this.buckets.get(peer);
    if (b === undefined) {
      if (this.buckets.size >= this.peersMax) this.buckets.clear();
      b = { tokens: this.burst, atMs: now };
      this.buckets.set(peer, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.atMs) * this.ratePerSec) / 1000);
    b.atMs = now;
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  forget(peer: string): void {
    this.buckets.delete(peer);
  }
}
