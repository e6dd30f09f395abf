import { bytesEqual, toHex } from '../core/bytes.js';
import { CorpusView, compareAccepted } from './corpusIndex.js';
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
  /** Work done (fuzzy check): for the bounded-work tests and the bench; never part of a result. */
  work?: DuplicateWork;
}

export interface DuplicateWork {
  /** Occurrences listed from the suffix array while finding candidates. */
  occurrences: number;
  candidates: number;
  /** Anchors chained over all candidates. */
  anchors: number;
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
  const cover = new Map<
    string,
    { id: Uint8Array; height: number; seq: number; covered: number; end: number }
  >();
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
      if (!c) cover.set(key, (c = { id: o.id, height: o.height, seq: o.seq, covered: 0, end: 0 }));
      // Spans arrive in increasing start order: add the part past this contribution's last end.
      const from = Math.max(i, c.end);
      if (end > from) c.covered += end - from;
      if (end > c.end) c.end = end;
    }
  }
  return bestOf([...cover.values()], m);
}

/** The candidate covering most (ties to the earlier accepted, then the smaller id). */
function bestOf(
  found: readonly { id: Uint8Array; height: number; seq: number; covered: number }[],
  m: number,
): DuplicateFinding {
  let best: (typeof found)[number] | null = null;
  for (const c of found) {
    if (c.covered <= 0) continue;
    if (
      best === null ||
      c.covered > best.covered ||
      (c.covered === best.covered && compareAccepted(c, best) < 0)
    )
      best = c;
  }
  if (best === null) return { original: null, coveredBps: 0 };
  return { original: best.id, coveredBps: floorDiv(best.covered * 10_000, m) };
}

// ---- the fuzzy check over normalised words ------------------------------------------------------

/** Shingles more frequent than this in the corpus are not used to find candidate originals. */
export const DUP_SEED_COUNT_MAX = 1000;
/** Occurrences listed in all while finding candidates (rarest shingles first). */
export const DUP_OCCURRENCES_MAX = 200_000;
/** Candidate originals aligned in full with the new contribution. */
export const DUP_CANDIDATES_MAX = 8;
/** Anchors taken per word of the new contribution in one candidate (repetitive candidates). */
export const DUP_ANCHORS_PER_WORD_MAX = 8;

export interface FuzzyOptions {
  /** Anchor length in words. */
  shingle: number;
  /** Longest run of differing words bridged between two anchors of one alignment. */
  gapMax: number;
}

/**
 * Near-duplicate check over normalised words (normalize.ts), tolerant of scattered edits
 * (replaced, inserted or deleted words), reordered sentences, and — through the normalisation —
 * case, spacing and punctuation. Consensus-critical: integers, total orders, bounded work.
 *
 * 1. Candidates. Each position i of the new text X has a shingle X[i, i+s) (s = `shingle` words);
 *    its corpus count comes from the suffix array. The shingles are taken rarest first (ties by
 *    position), skipping those seen more than DUP_SEED_COUNT_MAX times, until DUP_OCCURRENCES_MAX
 *    occurrences have been listed; each accepted contribution gets one vote per position whose
 *    shingle it contains. The DUP_CANDIDATES_MAX with most votes (ties to the earlier accepted)
 *    are candidates. Rarest-first keeps a copy of a repetitive text findable by its few rare
 *    shingles, and bounds the work whatever the corpus.
 * 2. Alignment (a coverage measure in the spirit of Broder's containment, "On the resemblance and
 *    containment of documents", 1997, computed on an alignment instead of a sketch so that one
 *    changed word in k costs one word, not k shingles). For a candidate Y, the anchors are the
 *    pairs (i, j) with X[i, i+s) = Y[j, j+s); an anchor's diagonal is j − i. Anchors chain when
 *    their diagonals differ by at most 1 (a word inserted or deleted) and at most `gapMax` words
 *    of X separate them; a chain covers its anchors and the gaps between them (the changed
 *    words); a chain may also continue on another diagonal (a reordered sentence) across at most
 *    2s words. Coverage = words of X covered, over |X|. A repetitive candidate can match a shingle
 *    at many places: per position at most DUP_ANCHORS_PER_WORD_MAX anchors are taken, those
 *    continuing the diagonals alive within the last `gapMax + s` words first.
 * 3. The candidate with the largest coverage (ties to the earlier accepted, then the smaller id)
 *    is `original`; `coveredBps` = ⌊10000 · covered / |X|⌋. Texts shorter than s words have no
 *    shingle and are only checked for exact duplicates (by content hash, in the vm).
 *
 * Work: O(|X| · (s · log N · segments)) for the counts, ≤ DUP_OCCURRENCES_MAX occurrences, and per
 * candidate O(|Y| + |X| · DUP_ANCHORS_PER_WORD_MAX · (s + gapMax)).
 */
export function fuzzyDuplicate(
  corpus: CorpusView,
  words: Int32Array,
  selfId: Uint8Array,
  opts: FuzzyOptions,
): DuplicateFinding {
  const m = words.length;
  const s = opts.shingle;
  if (m < s) return { original: null, coveredBps: 0, work: { occurrences: 0, candidates: 0, anchors: 0 } };
  const q = CorpusView.queryOf(words);
  const positions = m - s + 1;
  const counts = new Int32Array(positions);
  const order: number[] = [];
  for (let i = 0; i < positions; i++) {
    const c = corpus.count(q, i, s);
    counts[i] = c;
    if (c > 0 && c <= DUP_SEED_COUNT_MAX) order.push(i);
  }
  order.sort((a, b) => counts[a] - counts[b] || a - b);
  const votes = new Map<string, { id: Uint8Array; height: number; seq: number; votes: number }>();
  let budget = DUP_OCCURRENCES_MAX;
  for (const i of order) {
    if (counts[i] > budget) break;
    budget -= counts[i];
    let last: Uint8Array | null = null;
    for (const o of corpus.occurrences(q, i, s)) {
      if (last !== null && bytesEqual(last, o.id)) continue; // occurrences are sorted by id
      last = o.id;
      if (bytesEqual(o.id, selfId)) continue;
      const key = toHex(o.id);
      const v = votes.get(key);
      if (v) v.votes++;
      else votes.set(key, { id: o.id, height: o.height, seq: o.seq, votes: 1 });
    }
  }
  const candidates = [...votes.values()]
    .sort((a, b) => b.votes - a.votes || compareAccepted(a, b))
    .slice(0, DUP_CANDIDATES_MAX);
  const work: DuplicateWork = {
    occurrences: DUP_OCCURRENCES_MAX - budget,
    candidates: candidates.length,
    anchors: 0,
  };
  const found = candidates.map((c) => {
    const doc = corpus.document(c.id);
    const a = doc === undefined ? { covered: 0, anchors: 0 } : alignedCoverage(words, doc.tokens, opts);
    work.anchors += a.anchors;
    return { ...c, covered: a.covered };
  });
  return { ...bestOf(found, m), work };
}

function shingleKey(a: Int32Array, at: number, s: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s; k++) h = Math.imul(h ^ a[at + k], 0x01000193);
  return h;
}

function sameShingle(x: Int32Array, i: number, y: Int32Array, j: number, s: number): boolean {
  for (let k = 0; k < s; k++) if (x[i + k] !== y[j + k]) return false;
  return true;
}

/** First index in the ascending list with value ≥ v. */
function lowerBound(list: readonly number[], v: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Words of X covered by chained anchors against Y (step 2 of fuzzyDuplicate). */
export function alignedCoverage(
  x: Int32Array,
  y: Int32Array,
  opts: FuzzyOptions,
): { covered: number; anchors: number } {
  const s = opts.shingle;
  const gap = opts.gapMax;
  const m = x.length;
  if (m < s || y.length < s) return { covered: 0, anchors: 0 };
  let anchors = 0;
  const index = new Map<number, number[]>();
  for (let j = 0; j + s <= y.length; j++) {
    const k = shingleKey(y, j, s);
    const list = index.get(k);
    if (list) list.push(j);
    else index.set(k, [j]);
  }
  const covered = new Uint8Array(m);
  const lastEnd = new Map<number, number>(); // diagonal → end (in X) of its latest anchor
  let lastEndAny = -1; // … of the latest anchor on any diagonal
  let active: { d: number; end: number }[] = []; // diagonals with an anchor ending ≥ i − gap
  const picks: number[] = [];
  for (let i = 0; i + s <= m; i++) {
    const list = index.get(shingleKey(x, i, s));
    if (list === undefined) continue;
    picks.length = 0;
    const take = (j: number) => {
      if (picks.length < DUP_ANCHORS_PER_WORD_MAX && !picks.includes(j) && sameShingle(x, i, y, j, s))
        picks.push(j);
    };
    active = active.filter((a) => a.end >= i - gap);
    for (const a of active) {
      for (let dd = -1; dd <= 1; dd++) {
        const j = i + a.d + dd;
        const at = lowerBound(list, j);
        if (at < list.length && list[at] === j) take(j);
      }
    }
    for (let k = 0; k < list.length && picks.length < DUP_ANCHORS_PER_WORD_MAX; k++) take(list[k]);
    anchors += picks.length;
    for (const j of picks) {
      const d = j - i;
      let from = -1;
      for (let dd = -1; dd <= 1; dd++) {
        const e = lastEnd.get(d + dd);
        if (e !== undefined && i - e <= gap && e > from) from = e;
      }
      // A jump to another diagonal (a reordered sentence) bridges at most 2s words.
      if (from < 0 && lastEndAny >= 0 && i - lastEndAny <= 2 * s) from = lastEndAny;
      const start = from >= 0 && from < i ? from : i;
      for (let k = start; k < i + s; k++) covered[k] = 1;
      lastEnd.set(d, i + s);
      if (i + s > lastEndAny) lastEndAny = i + s;
      const a = active.find((x) => x.d === d);
      if (a) a.end = i + s;
      else active.push({ d, end: i + s });
    }
  }
  let c = 0;
  for (let k = 0; k < m; k++) c += covered[k];
  return { covered: c, anchors };
}
