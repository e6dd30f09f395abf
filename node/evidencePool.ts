import { type Evidence, evidenceHeight, evidenceOffender, evidenceSignatures } from '../core/block.js';
import { toHex } from '../core/bytes.js';

/**
 * Checked double-sign evidence waiting to go into a block this node proposes. Bounded and indexed
 * (issue 18, hole 5: the pool was an unbounded array scanned on every add, and a validator about
 * to be slashed could flood valid evidence against itself, each piece forwarded network-wide):
 *
 * - one piece per offender: the vm tombstones a validator on its first committed evidence, so a
 *   second piece against it can never slash anything; a duplicate or a second piece is not kept
 *   and `add` returns false, so gossip does not forward it — unless it is of a later offence
 *   height, which replaces the held piece (an old piece must not shield a new offence);
 * - at most `EVIDENCE_POOL_MAX` pieces; past it the oldest arrival is forgotten;
 * - pieces at or below `minHeight` (older than the vm accepts) are pruned after each commit.
 */

/** Evidence pieces kept at most (one per offender, so far above any validator set). */
export const EVIDENCE_POOL_MAX = 1_024;

export function evidenceKey(e: Evidence): string {
  const [a, b] = evidenceSignatures(e);
  return `${toHex(a)}:${toHex(b)}`;
}

export class EvidencePool {
  /** Offender address (hex) → its evidence; insertion order is arrival order. */
  private readonly byOffender = new Map<string, { key: string; evidence: Evidence }>();

  constructor(private readonly max = EVIDENCE_POOL_MAX) {}

  get size(): number {
    return this.byOffender.size;
  }

  /**
   * Keeps `e` if it is the first piece against its validator, or of a later offence height than
   * the piece held (which it replaces); true when kept (worth forwarding). The later piece stays
   * includable longest: otherwise an offender could seed every pool with a valid piece from a
   * height too old for any block (the builder's evidenceMaxAge can be below the heights kept
   * here) and go unpunished for what it signs now.
   */
  add(e: Evidence): boolean {
    const who = toHex(evidenceOffender(e));
    const held = this.byOffender.get(who);
    if (held !== undefined) {
      if (evidenceHeight(e) <= evidenceHeight(held.evidence)) return false;
      this.byOffender.delete(who); // re-inserted below as the newest arrival
    }
    if (this.byOffender.size >= this.max) {
      const oldest = this.byOffender.keys().next().value;
      if (oldest !== undefined) this.byOffender.delete(oldest);
    }
    this.byOffender.set(who, { key: evidenceKey(e), evidence: e });
    return true;
  }

  /** Every piece, in arrival order. */
  list(): Evidence[] {
    return [...this.byOffender.values()].map((x) => x.evidence);
  }

  /** After a commit: drops the pieces the block included and those at or below `minHeight`. */
  prune(included: readonly Evidence[], minHeight: number): void {
    const done = new Set(included.map(evidenceKey));
    for (const [who, x] of this.byOffender) {
      if (done.has(x.key) || evidenceHeight(x.evidence) <= minHeight) this.byOffender.delete(who);
    }
  }
}
