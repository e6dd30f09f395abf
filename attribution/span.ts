import { compareBytes, toHex } from '../core/bytes.js';
import { assert } from '../core/errors.js';
import { type EvidenceSpan, RESULT_EVIDENCE_MAX, type Score } from '../core/tx.js';
import { CorpusView, compareAccepted } from './corpusIndex.js';
import { bitLength, floorDiv } from './fixedPoint.js';
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

export function spanAttribution(
  corpus: CorpusView,
  outputTokens: Int32Array,
  opts: SpanOptions,
): { scores: Score[]; evidence: EvidenceSpan[] } {
  assert(outputTokens.length <= JOB_OUTPUT_TOKENS_MAX, 'span: output over the limit (validate first)');
  const q = CorpusView.queryOf(outputTokens);
  const spans = maximalSpans(corpus, q, opts);
  const N = corpus.tokenCount;
  const totals = new Map<string, { contribution: Uint8Array; score: number; height: number; seq: number }>();
  const evidence: EvidenceSpan[] = [];
  for (const s of spans) {
    const weight = s.len * bitLength(floorDiv(N, s.count));
    const occ = corpus.occurrences(q, s.start, s.len);
    // Distinct contributions (occurrences come in (id, offset) order: keep each one's first offset).
    let sharers: { id: Uint8Array; offset: number; height: number; seq: number }[] = [];
    for (const o of occ) {
      const last = sharers[sharers.length - 1];
      if (last !== undefined && compareBytes(last.id, o.id) === 0) continue;
      sharers.push(o);
    }
    assert(sharers.length > 0, 'span: a found span has occurrences');
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
