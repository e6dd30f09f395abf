import { compareBytes, toHex } from '../core/bytes.js';
import { assert } from '../core/errors.js';
import { type EvidenceSpan, RESULT_EVIDENCE_MAX, type Score } from '../core/tx.js';
import { CorpusView, compareAccepted } from './corpusIndex.js';
import { bitLength, floorDiv } from './fixedPoint.js';
import type { SpanWeight } from './params.js';
import { limitScores } from './scores.js';
import { loadIndexTokenizer } from './tokenizer.js';

/**
 * Span attribution for generative models, in the family of infini-gram (Liu et al., "Infini-gram:
 * Scaling Unbounded n-gram Language Models to a Trillion Tokens", 2024) and OLMoTrace (Liu et al.,
 * "OLMoTrace: Tracing Language Model Outputs Back to Trillions of Training Tokens", 2025): find
 * the maximal spans of the output that occur verbatim in the corpus and credit their sources.
 * Consensus-critical: integer arithmetic only, total orders everywhere, no clock, no randomness.
 *
 * For each output position i, L_i = the longest prefix of output[i..] found in the corpus (suffix
 * array search, merged over segments). The span [i, i+L_i) is kept when it is maximal (no earlier
 * span reaches as far: i + L_i > max_{j<i}(j + L_j)), L_i ≥ minSpan, and its corpus count
 * c ≤ spanCountMax.
 *
 * Span weight (integers; longer and rarer weighs more):
 *
 *     w = L · bitLength(⌊N / c⌋)          N = corpus tokens, c = occurrences of the span
 *
 * bitLength(x) = ⌊log2 x⌋ + 1 is an integer stand-in for the span's self-information
 * log2(N / c) + 1 (the "span unigram probability" idea of OLMoTrace, without floats): a span seen
 * once in 10M tokens weighs 24 per token, one seen in every other 1,000 tokens ≈ 10 per token.
 * That is `spanWeight = occurrence-bits@1` (absent: the round-1 meaning). It leaves boilerplate
 * heavy: a header that every one of D contributions carries occurs once per ~N/D tokens, so it
 * still weighs log2(N/D) + 1 bits per token (≈ 8 for 150-token passages) and takes a share of
 * every answer that reproduces it from the planted sources.
 *
 * `spanWeight = document-bits@1` weighs each token of the span by how rare the span is *around
 * that token*, relative to the number of contributions D — an inverse document frequency
 * (Sparck Jones 1972) in integers:
 *
 *     w = Σ_k bitLength(⌊D / min(D, max(f_k, b_k))⌋)    k = 0 … L−1
 *
 * f_k = occurrences of the span's prefix ending at token k, b_k = of its suffix starting at k. A
 * token whose own side of the span is as common as text every contribution carries (f_k or
 * b_k ≥ D) weighs 1 bit; a token inside a unique passage log2(D) + 1. Taking the more common
 * side makes it symmetric: a maximal span "boilerplate header + one word" (the header followed by
 * the first word of a few passages) is common on the header's side for every header token and on
 * the word's side for the word, so it weighs ~1 bit per token instead of being priced as a rare
 * 29-token passage; the same holds for a footer preceded by a word. It cannot be farmed: weight
 * comes only from text few others have, and repeating a phrase (inside one contribution or
 * across many) only raises its counts. Occurrences, not distinct contributions, are counted (one
 * SA interval each), so a repetitive contribution weighs its own refrains lower, as in round 1.
 *
 * Sharing ("first source wins"): the distinct contributions containing the span are ordered by
 * acceptance — (height, seq) from the chain, then id; corpora given without acceptance order by id
 * alone, as in round 1 — and the first `shareTopK` (all when 0) each receive
 * ⌊w · SPAN_SCORE_UNIT / m⌋ (m = number of sharers). A later copy of a passage can therefore never
 * push its original out of the top k, however its id sorts: ids are content hashes, which a
 * copier can grind. SPAN_SCORE_UNIT = 720720 = lcm(1..16), so splits among up to 16 sharers are
 * exact. Evidence: per kept span and sharer (in id order), the output token range and the first
 * offset of the span in that contribution. When the score list is cut at RESULT_SCORES_MAX, equal
 * scores also go to the earlier accepted.
 *
 * Symbols: the tokenizer's ids, or with `normalization` set the normalised word ids of
 * normalize.ts (then lengths, offsets and evidence ranges count words; see README.md).
 */

export const SPAN_SCORE_UNIT = 720_720;
/** Largest output accepted for attribution, in tokens (receipts over it fail before any search). */
export const JOB_OUTPUT_TOKENS_MAX = 4096;

export interface SpanOptions {
  minSpan: number;
  shareTopK: number;
  spanCountMax: number;
  /** Absent = `occurrence-bits@1` (round 1). */
  spanWeight?: SpanWeight;
}

export interface SpanFound {
  start: number;
  len: number;
  count: number;
}

/** The kept maximal spans of `output` (raw token ids), in output order. */
export function maximalSpans(corpus: CorpusView, q: Int32Array, opts: SpanOptions): SpanFound[] {
  const spans: SpanFound[] = [];
  const m = q.length;
  let reach = 0;
  for (let i = 0; i < m; i++) {
    // A span starting at i cannot be maximal unless it reaches past `reach`; skip the search
    // when even the whole remaining output would not.
    if (m <= reach) break;
    const { len, count } = corpus.longestMatch(q, i, m);
    const end = i + len;
    if (end > reach) {
      if (len >= opts.minSpan && count <= opts.spanCountMax) spans.push({ start: i, len, count });
      reach = end;
    }
  }
  return spans;
}

/**
 * `document-bits@1` counts at most this many tokens in from each end of a span (work bound: a
 * 4,096-token span of one repeated token would otherwise need ~8M symbol comparisons per side).
 * Past it, the count at the edge stands in for the prefix (suffix) counts — an upper bound, so
 * the weight can only come out lower than uncapped, never higher. Natural spans reach their own
 * count within a few tokens of each end; only a common run longer than this at a span's end
 * (a > 256-token header followed, in the same span, by its passage) is underweighted.
 */
export const SPAN_EDGE_TOKENS_MAX = 256;

/**
 * `document-bits@1` weight of a kept span S = q[start, start+len) (see the module comment):
 * Σ_k bitLength(⌊D / min(D, max(f_k, b_k))⌋), f_k = occurrences of S[0..k], b_k = of S[k..len).
 * f is non-increasing and b non-decreasing in k, both ≥ the span's own count, so each side stops
 * counting once it reaches that count, or after SPAN_EDGE_TOKENS_MAX tokens (below).
 */
function documentBits(corpus: CorpusView, q: Int32Array, s: SpanFound, D: number): number {
  const { start, len, count } = s;
  const f = new Array<number>(len).fill(count);
  const b = new Array<number>(len).fill(count);
  const edge = Math.min(len, SPAN_EDGE_TOKENS_MAX);
  for (let k = 0; k < edge; k++) {
    const c = corpus.count(q, start, k + 1);
    if (c <= count) break;
    f[k] = c;
    // Past the edge, the count at the edge stands in (an upper bound: f only falls).
    if (k === edge - 1) f.fill(c, edge);
  }
  for (let k = len - 1; k >= len - edge; k--) {
    const c = corpus.count(q, start + k, len - k);
    if (c <= count) break;
    b[k] = c;
    if (k === len - edge) b.fill(c, 0, len - edge);
  }
  let w = 0;
  for (let k = 0; k < len; k++) w += bitLength(floorDiv(D, Math.min(D, Math.max(f[k], b[k]))));
  return w;
}

export function spanAttribution(
  corpus: CorpusView,
  outputTokens: Int32Array,
  opts: SpanOptions,
): { scores: Score[]; evidence: EvidenceSpan[] } {
  assert(outputTokens.length <= JOB_OUTPUT_TOKENS_MAX, 'span: output over the limit (validate first)');
  const q = CorpusView.queryOf(outputTokens);
  const spans = maximalSpans(corpus, q, opts);
  const N = corpus.tokenCount;
  const D = corpus.docCount;
  const byDocuments = opts.spanWeight === 'document-bits@1';
  const totals = new Map<string, { contribution: Uint8Array; score: number; height: number; seq: number }>();
  const evidence: EvidenceSpan[] = [];
  for (const s of spans) {
    const occ = corpus.occurrences(q, s.start, s.len);
    // Distinct contributions (occurrences come in (id, offset) order: keep each one's first offset).
    let sharers: { id: Uint8Array; offset: number; height: number; seq: number }[] = [];
    for (const o of occ) {
      const last = sharers[sharers.length - 1];
      if (last !== undefined && compareBytes(last.id, o.id) === 0) continue;
      sharers.push(o);
    }
    assert(sharers.length > 0, 'span: a found span has occurrences');
    const weight = byDocuments ? documentBits(corpus, q, s, D) : s.len * bitLength(floorDiv(N, s.count));
    if (opts.shareTopK > 0 && sharers.length > opts.shareTopK) {
      sharers = sharers
        .sort(compareAccepted)
        .slice(0, opts.shareTopK)
        .sort((a, b) => compareBytes(a.id, b.id));
    }
    const share = floorDiv(weight * SPAN_SCORE_UNIT, sharers.length);
    for (const sh of sharers) {
      const key = toHex(sh.id);
      const t = totals.get(key);
      if (t) t.score += share;
      else totals.set(key, { contribution: sh.id, score: share, height: sh.height, seq: sh.seq });
      if (evidence.length < RESULT_EVIDENCE_MAX) {
        evidence.push({
          outputStart: s.start,
          outputEnd: s.start + s.len,
          contribution: sh.id,
          offset: sh.offset,
        });
      }
    }
  }
  const scores = limitScores([...totals.values()], (a, b) =>
    compareAccepted({ ...a, id: a.contribution }, { ...b, id: b.contribution }),
  );
  for (const s of scores) assert(Number.isSafeInteger(s.score), 'span: scores stay safe integers');
  return { scores, evidence };
}

export type EvidenceCheck = { ok: true } | { ok: false; index: number; reason: string };

/**
 * Checks span evidence without any index: each span's output tokens must equal the
 * contribution's tokens at the stated offset, be at least `minSpan` long, lie inside both texts,
 * and the list must be in (outputStart, contribution, offset) order. `contributionTokens` returns
 * the tokenized contribution, or undefined when the id is not one of the model's contributions.
 */
export function verifySpanEvidence(
  outputTokens: Int32Array,
  evidence: readonly EvidenceSpan[],
  contributionTokens: (id: Uint8Array) => Int32Array | undefined,
  minSpan: number,
): EvidenceCheck {
  for (let k = 0; k < evidence.length; k++) {
    const e = evidence[k];
    const fail = (reason: string): EvidenceCheck => ({ ok: false, index: k, reason });
    if (k > 0) {
      const p = evidence[k - 1];
      const order =
        p.outputStart - e.outputStart || compareBytes(p.contribution, e.contribution) || p.offset - e.offset;
      if (order >= 0) return fail('evidence out of order or repeated');
    }
    const len = e.outputEnd - e.outputStart;
    if (!(e.outputStart >= 0 && len >= minSpan && e.outputEnd <= outputTokens.length)) {
      return fail('span outside the output or shorter than minSpan');
    }
    const doc = contributionTokens(e.contribution);
    if (doc === undefined) return fail('unknown contribution');
    if (!(e.offset >= 0 && e.offset + len <= doc.length)) return fail('offset outside the contribution');
    for (let i = 0; i < len; i++) {
      if (doc[e.offset + i] !== outputTokens[e.outputStart + i]) return fail('tokens differ');
    }
  }
  return { ok: true };
}

/**
 * `verifySpanEvidence` on texts: tokenizes the output and the cited contributions itself. `index`
 * is what the model's spans are matched on: its `normalization` when set (word ids, computed from
 * the texts alone with the shipped table), else its `tokenizer`.
 */
export async function verifySpanEvidenceText(
  index: string,
  output: string,
  evidence: readonly EvidenceSpan[],
  contributions: readonly { id: Uint8Array; content: string }[],
  minSpan: number,
): Promise<EvidenceCheck> {
  const tok = await loadIndexTokenizer(index);
  const byId = new Map(contributions.map((c) => [toHex(c.id), c.content]));
  const cache = new Map<string, Int32Array>();
  return verifySpanEvidence(
    tok.encode(output),
    evidence,
    (id) => {
      const k = toHex(id);
      const content = byId.get(k);
      if (content === undefined) return undefined;
      let t = cache.get(k);
      if (!t) cache.set(k, (t = tok.encode(content)));
      return t;
    },
    minSpan,
  );
}
