import { compareBytes, toHex } from '../core/bytes.js';
import { RETRIEVAL_WEIGHT_MAX, RETRIEVED_MAX, type Score } from '../core/tx.js';
import { AttributionError } from './errors.js';
import { floorDiv } from './fixedPoint.js';

/**
 * Retrieval attribution (RAG models, DESIGN §6): the receipt lists the retrieved contributions
 * with integer relevance weights. Consensus-critical, integers only. Each id must be an accepted
 * contribution of the model's pinned datanets; weights are capped at `retrievalCap` and
 * normalised to RETRIEVAL_SCORE_TOTAL exactly: floor shares, then the remainder one unit at a time
 * to the largest fractional parts, ties to the smaller contribution id. Zero weights earn nothing.
 */

export const RETRIEVAL_SCORE_TOTAL = 1_000_000;

export interface Retrieved {
  contribution: Uint8Array;
  weight: number;
}

/** Structural checks of the receipt's list (no corpus needed): sizes, ranges, no repeats. */
export function validateRetrieved(retrieved: readonly Retrieved[]): void {
  const bad = (msg: string, index: number): never => {
    throw new AttributionError('RETRIEVAL_MALFORMED', `retrieved[${index}]: ${msg}`, { index });
  };
  if (!Array.isArray(retrieved)) bad('expected a list', -1);
  if (retrieved.length > RETRIEVED_MAX) bad(`at most ${RETRIEVED_MAX} entries`, RETRIEVED_MAX);
  const seen = new Set<string>();
  retrieved.forEach((r, i) => {
    if (!(r?.contribution instanceof Uint8Array) || r.contribution.length !== 32)
      bad('contribution id must be 32 bytes', i);
    if (!Number.isSafeInteger(r.weight) || r.weight < 0 || r.weight > RETRIEVAL_WEIGHT_MAX) {
      bad(`weight must be an integer in 0..${RETRIEVAL_WEIGHT_MAX}`, i);
    }
    const k = toHex(r.contribution);
    if (seen.has(k)) bad('contribution listed twice', i);
    seen.add(k);
  });
}

export function retrievalAttribution(
  retrieved: readonly Retrieved[],
  isAccepted: (id: Uint8Array) => boolean,
  cap: number,
): Score[] {
  validateRetrieved(retrieved);
  retrieved.forEach((r, i) => {
    if (!isAccepted(r.contribution)) {
      throw new AttributionError(
        'RETRIEVAL_UNKNOWN',
        `retrieved[${i}] ${toHex(r.contribution)} is not an accepted contribution of the model's datanets`,
        { index: i },
      );
    }
  });
  const items = retrieved
    .map((r) => ({ contribution: r.contribution, weight: Math.min(r.weight, cap) }))
    .filter((r) => r.weight > 0);
  let total = 0;
  for (const r of items) total += r.weight;
  if (total === 0) return [];
  let handed = 0;
  const shares = items.map((r) => {
    const num = r.weight * RETRIEVAL_SCORE_TOTAL; // ≤ 2^36: exact
    const score = floorDiv(num, total);
    handed += score;
    return { contribution: r.contribution, score, rem: num - score * total };
  });
  const order = [...shares].sort((a, b) => b.rem - a.rem || compareBytes(a.contribution, b.contribution));
  for (let i = 0; handed < RETRIEVAL_SCORE_TOTAL; i++, handed++) order[i % order.length].score++;
  return shares
    .map(({ contribution, score }) => ({ contribution, score }))
    .sort((a, b) => compareBytes(a.contribution, b.contribution));
}
