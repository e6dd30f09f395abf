import type { ConsensusMessage } from '../consensus/validation.js';
import { toHex } from '../core/bytes.js';

/**
 * Messages of the next height are buffered by the consensus core (`FUTURE_INPUTS_MAX` in all)
 * until it gets there; one byzantine validator could fill that buffer with votes for many rounds
 * and push out everyone else's (issue 18, hole 5). This gate, in front of the core, admits at most
 * `FUTURE_INPUTS_PER_VALIDATOR_MAX` distinct next-height messages per validator; a repeat of one
 * already admitted passes (re-gossip; the core drops it as redundant). Messages of the core's own
 * height are not its business.
 */

/** Distinct next-height consensus messages admitted per validator. */
export const FUTURE_INPUTS_PER_VALIDATOR_MAX = 8;

export class FutureGate {
  private height = 0;
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly perValidator = FUTURE_INPUTS_PER_VALIDATOR_MAX) {}

  /** True when `m` may go to a core at `coreHeight`. */
  admit(m: ConsensusMessage, coreHeight: number): boolean {
    if (m.type === 'evidence') return true;
    const h = m.type === 'proposal' ? m.proposal.height : m.vote.height;
    if (h !== coreHeight + 1) return true;
    if (this.height !== h) {
      this.height = h;
      this.seen.clear();
    }
    const who = toHex(m.type === 'proposal' ? m.proposal.proposer : m.vote.validator);
    const what =
      m.type === 'proposal'
        ? `p:${m.proposal.round}:${toHex(m.proposal.blockHash)}`
        : `v:${m.vote.kind}:${m.vote.round}:${m.vote.blockHash === null ? '' : toHex(m.vote.blockHash)}`;
    let mine = this.seen.get(who);
    if (mine === undefined) {
      mine = new Set();
      this.seen.set(who, mine);
    }
    if (mine.has(what)) return true;
    if (mine.size >= this.perValidator) return false;
    mine.add(what);
    return true;
  }
}
