import { compareBytes } from '../core/bytes.js';
import { RESULT_SCORES_MAX, type Score } from '../core/tx.js';

/**
 * The canonical form of a score list, shared by every method: only positive scores, at most
 * RESULT_SCORES_MAX of them (the highest, ties to the smaller contribution id), sorted by
 * contribution id. Consensus-critical: total orders only.
 */
export function limitScores(scores: readonly Score[]): Score[] {
  let kept = scores.filter((s) => s.score > 0);
  if (kept.length > RESULT_SCORES_MAX) {
    kept = [...kept]
      .sort((a, b) => b.score - a.score || compareBytes(a.contribution, b.contribution))
      .slice(0, RESULT_SCORES_MAX);
  }
  return [...kept].sort((a, b) => compareBytes(a.contribution, b.contribution));
}
