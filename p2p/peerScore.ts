/**
 * Misbehaviour points per peer, charged by the application for things gossipsub's own scoring
 * cannot see (a block nobody proposed, a sync answer that does not prove what the peer's status
 * claimed, a request that timed out). Points decay linearly at `PENALTY_DECAY_PER_SEC`, so an
 * honest peer that is occasionally unlucky (a lost proposal, a slow answer) never accumulates; a
 * peer that reaches `PENALTY_POINTS_MAX` is banned for `PEER_BAN_MS` (the host refuses its
 * connections both ways, like the block list). The clock is injected so tests are exact; p2p is an
 * I/O edge, so the real clock is fine here (nothing here feeds consensus).
 */

/** Points at which a peer is banned. */
export const PENALTY_POINTS_MAX = 100;
/** Points forgiven per second. */
export const PENALTY_DECAY_PER_SEC = 1;
/** How long a banned peer stays cut off. */
export const PEER_BAN_MS = 10 * 60_000;
/** Peers tracked at most; the least recently charged is forgotten first. */
export const PEERS_SCORED_MAX = 4096;

export class PeerScores {
  private readonly points = new Map<string, { points: number; atMs: number }>();
  private readonly bans = new Map<string, number>();

  constructor(
    private readonly nowMs: () => number = () => Date.now(),
    private readonly peersMax = PEERS_SCORED_MAX,
  ) {}

  /** Charges `points` to `peer`; true when this charge got it banned. */
  charge(peer: string, points: number): boolean {
    if (this.isBanned(peer)) return false;
    const now = this.nowMs();
    const prev = this.points.get(peer);
    let p = points;
    if (prev !== undefined) {
      p += Math.max(0, prev.points - ((now - prev.atMs) * PENALTY_DECAY_PER_SEC) / 1000);
      this.points.delete(peer); // re-inserted last: the map's order is recency
    } else if (this.points.size >= this.peersMax) {
      const oldest = this.points.keys().next().value;
      if (oldest !== undefined) this.points.delete(oldest);
    }
    if (p >= PENALTY_POINTS_MAX) {
      if (this.bans.size >= this.peersMax) {
        const oldest = this.bans.keys().next().value;
        if (oldest !== undefined) this.bans.delete(oldest);
      }
      this.bans.set(peer, now + PEER_BAN_MS);
      return true;
    }
    this.points.set(peer, { points: p, atMs: now });
    return false;
  }

  /** Current points of `peer` (after decay). */
  score(peer: string): number {
    const e = this.points.get(peer);
    if (e === undefined) return 0;
    return Math.max(0, e.points - ((this.nowMs() - e.atMs) * PENALTY_DECAY_PER_SEC) / 1000);
  }

  isBanned(peer: string): boolean {
    const until = this.bans.get(peer);
    if (until === undefined) return false;
    if (until > this.nowMs()) return true;
    this.bans.delete(peer);
    return false;
  }

  banned(): string[] {
    return [...this.bans.keys()].filter((p) => this.isBanned(p)).sort();
  }
}
