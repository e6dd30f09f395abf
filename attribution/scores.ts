import { compareBytes } from '../core/bytes.js';
import { RESULT_SCORES_MAX, type Score } from '../core/tx.js';

/**
 * The canonical form of a score list, shared by every method: only positive scores, at most
 * RESULT_SCORES_MAX of them (the highest, ties to the smaller contribution id), sorted by
 * contribution id. Consensus-critical: total orders only.
 */
export function limitScores<S extends Score>(
  scores: readonly S[],
  /** Breaks ties among equal scores cut at the limit (span: the earlier accepted first). */
  tieBreak: (a: S, b: S) => number = (a, b) => compareBytes(a.contribution, b.contribution),
): Score[] {
  let kept = scores.filter((s) => s.score > 0);
  if (kept.length > RESULT_SCORES_MAX) {
    kept = [...kept].sort((a, b) => b.score - a.score || tieBreak(a, b)).slice(0, RESULT_SCORES_MAX);
  }
  return kept
    .map((s) => ({ contribution: s.contribution, score: s.score }))
    .sort((a, b) => compareBytes(a.contribution, b.contribution));
}
