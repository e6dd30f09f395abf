import { bytesEqual, compareBytes } from '../core/bytes.js';
import { CorpusView } from './corpusIndex.js';
import { floorDiv } from './fixedPoint.js';

/**
 * Near-duplicate detection for a new contribution (DESIGN §3 `datanet.contribute`): attribution
 * must not be farmable by re-uploading someone else's data. Consensus-critical, integers only.
 *
 * The new text's maximal spans of at least `minSpan` tokens found in the accepted corpus (as in
 * span attribution) are credited to every accepted contribution containing them; each such
 * contribution's coverage is the number of new tokens inside the union of its spans. The
 * contribution with the largest coverage (ties to the smaller id) is the candidate original; the
 * covered share in basis points is ⌊10000 · covered / tokens⌋.
 */

/**
 * Matches are searched at most this many tokens ahead. Coverage is a union of spans, so capping
 * changes nothing for copies (a long copied region still yields overlapping capped spans that
 * cover it), but it bounds the work on adversarial repetitive text to O(tokens · cap).
 */
export const DUP_SEARCH_TOKENS_MAX = 1024;

export interface DuplicateOptions {
  minSpan: number;
  spanCountMax: number;
}

export interface DuplicateFinding {
  /** The accepted contribution covering the most, or null when nothing is covered. */
  original: Uint8Array | null;
  coveredBps: number;
}

export function nearDuplicate(
  corpus: CorpusView,
  tokens: Int32Array,
  selfId: Uint8Array,
  opts: DuplicateOptions,
): DuplicateFinding {
  const m = tokens.length;
  if (m === 0) return { original: null, coveredBps: 0 };
  const q = CorpusView.queryOf(tokens);
  const cover = new Map<string, { id: Uint8Array; covered: number; end: number }>();
  let reach = 0;
  for (let i = 0; i < m && reach < m; i++) {
    const { len, count } = corpus.longestMatch(q, i, Math.min(m, i + DUP_SEARCH_TOKENS_MAX));
    const end = i + len;
    if (end <= reach) continue;
    reach = end;
    if (len < opts.minSpan || count > opts.spanCountMax) continue;
    let lastId: Uint8Array | null = null;
    for (const o of corpus.occurrences(q, i, len)) {
      if (lastId !== null && bytesEqual(lastId, o.id)) continue;
      lastId = o.id;
      if (bytesEqual(o.id, selfId)) continue;
      const key = Buffer.from(o.id).toString('hex');
      let c = cover.get(key);
      if (!c) cover.set(key, (c = { id: o.id, covered: 0, end: 0 }));
      // Spans arrive in increasing start order: add the part past this contribution's last end.
      const from = Math.max(i, c.end);
      if (end > from) c.covered += end - from;
      if (end > c.end) c.end = end;
    }
  }
  let best: { id: Uint8Array; covered: number } | null = null;
  for (const c of cover.values()) {
    if (
      best === null ||
      c.covered > best.covered ||
      (c.covered === best.covered && compareBytes(c.id, best.id) < 0)
    ) {
      best = c;
    }
  }
  if (best === null) return { original: null, coveredBps: 0 };
  return { original: best.id, coveredBps: floorDiv(best.covered * 10_000, m) };
}
