import { compareBytes } from '../core/bytes.js';
import { assert } from '../core/errors.js';
import {
  compactAlphabet,
  DENSE_ALPHABET_MAX,
  denseRanks,
  kasaiLcp,
  LCP_STORED_MAX,
  saisInPlace,
} from './suffixArray.js';

/**
 * The suffix-array index over a corpus of contributions (DESIGN §6), as a list of segments. A
 * segment indexes a set of documents concatenated as `tok+2 … 1 tok+2 … 1 0`: token ids are
 * shifted by 2, 1 separates documents and 0 is the unique final sentinel, so no match ever
 * crosses a document boundary (query tokens are ≥ 2).
 *
 * Segments exist so a datanet's index can grow as contributions are accepted without rebuilding
 * everything (see corpusCache.ts). Every query is defined over the union of documents and merged
 * across segments (max of match lengths, sum of counts, occurrences sorted by
 * (contribution id, offset)), so answers never depend on how documents are split into segments.
 *
 * Memory per token: text 4 B + suffix array 4 B + LCP 2 B (clamped, see LCP_STORED_MAX) = 10 B.
 */

export interface Doc {
  id: Uint8Array;
  label: string;
  tokens: Int32Array;
  /** When the contribution was accepted (absent for corpora handed over without it). */
  accepted?: Acceptance;
}

/**
 * When a contribution was accepted: the block height, then its 1-based position in its datanet's
 * accepted list (vm/jobs.ts `seq`, which is acceptance order). "First source wins": wherever
 * credit is limited to some sharers or a tie is broken, earlier acceptance comes first — never the
 * contribution id, which is a hash of the content that anyone can grind.
 */
export interface Acceptance {
  height: number;
  seq: number;
}

/** Sorts after every accepted contribution (corpora without acceptance data order by id only). */
const NOT_ACCEPTED = Number.MAX_SAFE_INTEGER;

/** Total order "accepted earlier first": (height, seq, id). */
export function compareAccepted(
  a: { height: number; seq: number; id: Uint8Array },
  b: { height: number; seq: number; id: Uint8Array },
): number {
  return a.height - b.height || a.seq - b.seq || compareBytes(a.id, b.id);
}

export class Segment {
  /** Documents in index order (any order; queries sort occurrences themselves). */
  readonly ids: Uint8Array[];
  readonly labels: string[];
  /** docStarts[d] = first position of document d in `text`; docStarts[D] = position of the sentinel. */
  readonly docStarts: Int32Array;
  readonly text: Int32Array;
  readonly sa: Int32Array;
  readonly lcp: Uint16Array;
  /** Acceptance of each document (NOT_ACCEPTED when unknown). */
  readonly acceptedHeights: Float64Array;
  readonly acceptedSeqs: Float64Array;

  constructor(
    ids: Uint8Array[],
    labels: string[],
    docStarts: Int32Array,
    text: Int32Array,
    sa: Int32Array,
    lcp: Uint16Array,
    accepted: readonly (Acceptance | undefined)[] = [],
  ) {
    assert(ids.length === labels.length && docStarts.length === ids.length + 1, 'segment: doc tables');
    assert(sa.length === text.length && lcp.length === text.length, 'segment: array sizes');
    this.ids = ids;
    this.labels = labels;
    this.docStarts = docStarts;
    this.text = text;
    this.sa = sa;
    this.lcp = lcp;
    this.acceptedHeights = new Float64Array(ids.length).fill(NOT_ACCEPTED);
    this.acceptedSeqs = new Float64Array(ids.length).fill(NOT_ACCEPTED);
    accepted.forEach((a, d) => {
      if (a === undefined) return;
      this.acceptedHeights[d] = a.height;
      this.acceptedSeqs[d] = a.seq;
    });
  }

  /** Acceptance of document d, or undefined when unknown. */
  acceptedOf(d: number): Acceptance | undefined {
    const height = this.acceptedHeights[d];
    return height === NOT_ACCEPTED ? undefined : { height, seq: this.acceptedSeqs[d] };
  }

  /**
   * Builds a segment from tokenized documents. Symbols must be in [0, vocabSize); alphabets too
   * large for the suffix sort's buckets (hashed word ids) are renamed densely first, which keeps
   * their order, so the index answers exactly as if built on the symbols themselves.
   */
  static build(docs: readonly Doc[], vocabSize: number): Segment {
    let n = 1;
    for (const d of docs) n += d.tokens.length + 1;
    const text = new Int32Array(n);
    const docStarts = new Int32Array(docs.length + 1);
    let p = 0;
    for (let d = 0; d < docs.length; d++) {
      docStarts[d] = p;
      const toks = docs[d].tokens;
      for (let i = 0; i < toks.length; i++) {
        const v = toks[i];
        assert(v >= 0 && v < vocabSize, 'segment: token out of vocabulary');
        text[p++] = v + 2;
      }
      text[p++] = 1;
    }
    docStarts[docs.length] = p;
    text[p] = 0;
    const sa = new Int32Array(n);
    if (vocabSize + 2 <= DENSE_ALPHABET_MAX) {
      const compact = compactAlphabet(text, n, vocabSize + 2);
      saisInPlace(compact.text, sa, n, compact.alphabetSize);
    } else {
      const { ranks, alphabetSize } = denseRanks(text, n);
      const compact = compactAlphabet(ranks, n, alphabetSize);
      saisInPlace(compact.text, sa, n, compact.alphabetSize);
    }
    const lcp = kasaiLcp(text, sa, n);
    return new Segment(
      docs.map((d) => d.id),
      docs.map((d) => d.label),
      docStarts,
      text,
      sa,
      lcp,
      docs.map((d) => d.accepted),
    );
  }

  get docCount(): number {
    return this.ids.length;
  }

  /** Number of indexed tokens (documents only, without separators). */
  get tokenCount(): number {
    return this.text.length - 1 - this.ids.length;
  }

  /** Tokens of document d (a view, unshifted copy). */
  docTokens(d: number): Int32Array {
    const start = this.docStarts[d];
    const end = this.docStarts[d + 1] - 1;
    const out = new Int32Array(end - start);
    for (let i = start; i < end; i++) out[i - start] = this.text[i] - 2;
    return out;
  }

  /** Index of the document holding text position `pos` (binary search). */
  docAt(pos: number): number {
    let lo = 0;
    let hi = this.ids.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.docStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Common prefix length of the suffix at `pos` and q[from, to), knowing the first `k` agree. */
  private matchLen(pos: number, q: Int32Array, from: number, to: number, k = 0): number {
    const text = this.text;
    while (from + k < to && text[pos + k] === q[from + k]) k++;
    return k;
  }

  /**
   * Longest prefix of q[from, to) (shifted tokens) occurring in this segment: its length and the
   * suffix-array interval [lo, hi) of its occurrences. The insertion point of the query among the
   * sorted suffixes has the longest match at one of its two neighbours. The binary search keeps
   * the common prefix with both ends of the range (Manber & Myers 1993), so comparisons resume
   * where they can: O(L + log N) symbol comparisons instead of O(L · log N).
   */
  longestMatch(q: Int32Array, from: number, to: number): { len: number; lo: number; hi: number } {
    const { sa, text } = this;
    const n = sa.length;
    // First rank whose suffix is ≥ the query (lexicographically).
    let lo = 0;
    let hi = n;
    let lcpLo = 0; // common prefix of the query with the suffix ranked lo − 1 (0 if none)
    let lcpHi = 0; // … with the suffix ranked hi (0 if none)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const pos = sa[mid];
      const k = this.matchLen(pos, q, from, to, Math.min(lcpLo, lcpHi));
      // Query exhausted → suffix ≥ query. Else compare the first differing symbols.
      if (from + k === to || text[pos + k] > q[from + k]) {
        hi = mid;
        lcpHi = k;
      } else {
        lo = mid + 1;
        lcpLo = k;
      }
    }
    const left = lo > 0 ? lcpLo : 0;
    const right = lo < n ? lcpHi : 0;
    const len = Math.max(left, right);
    if (len === 0) return { len: 0, lo: 0, hi: 0 };
    const at = left > right ? lo - 1 : lo;
    const [a, b] = this.interval(at, len, q, from);
    return { len, lo: a, hi: b };
  }

  /**
   * The SA interval of suffixes sharing the first `len` symbols with the suffix ranked `at`. Walks
   * the LCP array for a few steps (the common case: rare long spans), else binary searches.
   */
  private interval(at: number, len: number, q: Int32Array, from: number): [number, number] {
    const { lcp } = this;
    const n = lcp.length;
    // Stored LCPs saturate at LCP_STORED_MAX: longer spans need the exact search.
    if (len >= LCP_STORED_MAX) return [this.bound(q, from, len, true), this.bound(q, from, len, false)];
    const SCAN_MAX = 32;
    let a = at;
    let steps = 0;
    while (a > 0 && lcp[a] >= len && steps < SCAN_MAX) {
      a--;
      steps++;
    }
    if (a > 0 && lcp[a] >= len) a = this.bound(q, from, len, true);
    let b = at + 1;
    steps = 0;
    while (b < n && lcp[b] >= len && steps < SCAN_MAX) {
      b++;
      steps++;
    }
    if (b < n && lcp[b] >= len) b = this.bound(q, from, len, false);
    return [a, b];
  }

  /** First rank whose suffix's `len`-prefix is ≥ (lower) or > (upper) q[from, from+len). */
  private bound(q: Int32Array, from: number, len: number, lower: boolean): number {
    const { sa, text } = this;
    let lo = 0;
    let hi = sa.length;
    let lcpLo = 0;
    let lcpHi = 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const pos = sa[mid];
      const k = this.matchLen(pos, q, from, from + len, Math.min(lcpLo, lcpHi));
      let goLeft: boolean;
      if (k === len) goLeft = lower;
      else goLeft = text[pos + k] > q[from + k];
      if (goLeft) {
        hi = mid;
        lcpHi = k;
      } else {
        lo = mid + 1;
        lcpLo = k;
      }
    }
    return lo;
  }

  /** Number of occurrences of q[from, from+len) (len ≥ 1). */
  count(q: Int32Array, from: number, len: number): number {
    return this.bound(q, from, len, false) - this.bound(q, from, len, true);
  }
}

export interface Occurrence {
  id: Uint8Array;
  /** Token offset inside the contribution. */
  offset: number;
  /** The contribution's acceptance (height, seq); Number.MAX_SAFE_INTEGER when unknown. */
  height: number;
  seq: number;
}

/** A corpus = the union of its segments' documents; the view all attribution queries go through. */
export class CorpusView {
  readonly segments: readonly Segment[];
  readonly tokenCount: number;
  readonly docCount: number;

  constructor(segments: readonly Segment[]) {
    this.segments = segments;
    let t = 0;
    let d = 0;
    for (const s of segments) {
      t += s.tokenCount;
      d += s.docCount;
    }
    this.tokenCount = t;
    this.docCount = d;
  }

  /** Shifts raw token ids into the index alphabet (once per query). */
  static queryOf(tokens: Int32Array): Int32Array {
    const q = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) q[i] = tokens[i] + 2;
    return q;
  }

  /** Longest match length of q[from, to) anywhere in the corpus, and its total occurrence count. */
  longestMatch(q: Int32Array, from: number, to: number): { len: number; count: number } {
    let best = 0;
    const found: { seg: Segment; lo: number; hi: number; len: number }[] = [];
    for (const seg of this.segments) {
      const m = seg.longestMatch(q, from, to);
      if (m.len > 0) found.push({ seg, ...m });
      if (m.len > best) best = m.len;
    }
    let count = 0;
    for (const f of found) if (f.len === best) count += f.hi - f.lo;
    return { len: best, count };
  }

  /** Number of occurrences of q[from, from+len) in the corpus (len ≥ 1). */
  count(q: Int32Array, from: number, len: number): number {
    let c = 0;
    for (const seg of this.segments) c += seg.count(q, from, len);
    return c;
  }

  private byId: Map<string, { seg: Segment; d: number }> | null = null;

  /** The tokens and acceptance of one contribution, or undefined when it is not in the corpus. */
  document(id: Uint8Array): { tokens: Int32Array; height: number; seq: number } | undefined {
    if (this.byId === null) {
      this.byId = new Map();
      for (const seg of this.segments) {
        for (let d = 0; d < seg.docCount; d++) this.byId.set(hexOf(seg.ids[d]), { seg, d });
      }
    }
    const at = this.byId.get(hexOf(id));
    if (at === undefined) return undefined;
    return {
      tokens: at.seg.docTokens(at.d),
      height: at.seg.acceptedHeights[at.d],
      seq: at.seg.acceptedSeqs[at.d],
    };
  }

  /** All occurrences of q[from, from+len), sorted by (contribution id, offset). */
  occurrences(q: Int32Array, from: number, len: number): Occurrence[] {
    const out: Occurrence[] = [];
    for (const seg of this.segments) {
      const m = seg.longestMatch(q, from, from + len);
      if (m.len < len) continue;
      for (let r = m.lo; r < m.hi; r++) {
        const pos = seg.sa[r];
        const d = seg.docAt(pos);
        out.push({
          id: seg.ids[d],
          offset: pos - seg.docStarts[d],
          height: seg.acceptedHeights[d],
          seq: seg.acceptedSeqs[d],
        });
      }
    }
    out.sort(compareOccurrence);
    return out;
  }

  /** Every document (id, label, tokens), sorted by id: training reads its examples from here. */
  documents(): Doc[] {
    const docs: Doc[] = [];
    for (const seg of this.segments) {
      for (let d = 0; d < seg.docCount; d++)
        docs.push({
          id: seg.ids[d],
          label: seg.labels[d],
          tokens: seg.docTokens(d),
          accepted: seg.acceptedOf(d),
        });
    }
    docs.sort((a, b) => compareBytes(a.id, b.id));
    return docs;
  }

  /** True when some contribution id appears in two segments (corpora must be disjoint). */
  hasDuplicateIds(): boolean {
    const seen = new Set<string>();
    for (const seg of this.segments) {
      for (const id of seg.ids) {
        const k = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
        if (seen.has(k)) return true;
        seen.add(k);
      }
    }
    return false;
  }
}

function hexOf(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/** Total order on occurrences: contribution id bytes, then offset. */
export function compareOccurrence(a: Occurrence, b: Occurrence): number {
  return compareBytes(a.id, b.id) || a.offset - b.offset;
}
