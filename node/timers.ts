/**
 * The node's timers: periodic jobs (sync poll, re-gossip, metrics) and one-shot delays (consensus
 * timeouts, the pause between blocks, commit retries, slow-precommit fault). All are kept in one
 * set so that stopping the node clears every one of them.
 */
export class Timers {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Runs `fn` every `ms` until `clear`. */
  every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    this.timers.add(t);
  }

  /** Runs `fn` once after `ms`, unless `clear` comes first. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Cancels every pending timer (node stop). */
  clear(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
