import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorpusView, type Doc, Segment } from '../../attribution/corpusIndex.js';
import {
  compactAlphabet,
  kasaiLcp,
  lcpOf,
  saisInPlace,
  suffixArrayOf,
} from '../../attribution/suffixArray.js';
import { loadTokenizer } from '../../attribution/tokenizer.js';
import { compareBytes } from '../../core/bytes.js';
import { fixtureText, idOf, rng } from './_fixtures.js';
import { saisInPlace as saisRound1 } from './_saisRound1.js';

function naiveSuffixArray(s: readonly number[]): number[] {
  const idx = s.map((_, i) => i);
  idx.sort((a, b) => {
    for (let k = 0; ; k++) {
      if (a + k >= s.length) return b + k >= s.length ? 0 : -1;
      if (b + k >= s.length) return 1;
      if (s[a + k] !== s[b + k]) return s[a + k] - s[b + k];
    }
  });
  return idx;
}

function naiveLcp(s: readonly number[], a: number, b: number): number {
  let h = 0;
  while (a + h < s.length && b + h < s.length && s[a + h] === s[b + h]) h++;
  return h;
}

// Tiny alphabets and long runs are where SA-IS implementations break (many equal LMS substrings,
// deep recursion on the reduced string).
const sequences = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 200 }),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 200 }),
  fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 120 }),
  fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 30 }),
    )
    .map(([unit, times]) => Array.from({ length: unit.length * times }, (_, i) => unit[i % unit.length])),
);

describe('suffix array (SA-IS)', () => {
  it('equals a naive sort of the suffixes', () => {
    fc.assert(
      fc.property(sequences, (s) => {
        expect(Array.from(suffixArrayOf(s))).toEqual(naiveSuffixArray(s));
      }),
      { numRuns: 600 },
    );
  });

  it('LCP (Kasai) equals naive common prefixes', () => {
    fc.assert(
      fc.property(sequences, (s) => {
        const sa = suffixArrayOf(s);
        const lcp = lcpOf(s, sa);
        for (let r = 1; r < s.length; r++) expect(lcp[r]).toBe(naiveLcp(s, sa[r - 1], sa[r]));
        if (s.length > 0) expect(lcp[0]).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('handles edge cases: empty, one symbol, all equal, long runs', () => {
    expect(Array.from(suffixArrayOf([]))).toEqual([]);
    expect(Array.from(suffixArrayOf([7]))).toEqual([0]);
    const same = new Array(5000).fill(3);
    expect(Array.from(suffixArrayOf(same))).toEqual(same.map((_, i) => 4999 - i));
    const r = rng(1);
    const big = Array.from({ length: 20_000 }, () => Math.floor(r() * 3));
    expect(Array.from(suffixArrayOf(big))).toEqual(naiveSuffixArray(big));
  });

  // Golden: the optimised build (sign-bit passes, no type array, narrowed alphabets) gives exactly
  // the round-1 implementation's array on real text — bytes and tokens, with heavy repetition
  // (paragraphs recombined, as in the bench), whatever the width of the text array.
  it('equals the round-1 SA-IS on large real texts, bytes and tokens, any text width', async () => {
    const paras = fixtureText('tinyshakespeare.txt').split('\n\n');
    const r = rng(3);
    const parts: string[] = [];
    for (let k = 0; k < 3 * paras.length; k++) parts.push(paras[Math.floor(r() * paras.length)]);
    const text = parts.join('\u0001');
    const bytes = Buffer.from(text.slice(0, 600_000), 'utf8');
    const tok = await loadTokenizer('cl100k_base@js-tiktoken-1.0.21');
    const tokens = tok.encode(text.slice(0, 400_000));
    for (const [seq, K] of [
      [bytes, 256],
      [tokens, tok.vocabSize],
    ] as const) {
      const n = seq.length + 1;
      const T = new Int32Array(n);
      for (let i = 0; i < seq.length; i++) T[i] = seq[i] + 1;
      const want = new Int32Array(n);
      saisRound1(T, want, n, K + 1);
      const got = new Int32Array(n);
      saisInPlace(T, got, n, K + 1);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      const compact = compactAlphabet(T, n, K + 1);
      expect(compact.text.BYTES_PER_ELEMENT).toBe(K === 256 ? 1 : 2);
      got.fill(0);
      saisInPlace(compact.text, got, n, compact.alphabetSize);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    }
  });

  it('compactAlphabet keeps the order and picks the narrowest array', () => {
    const c = compactAlphabet(Int32Array.from([5, 900, 5, 70_000, 0]), 5, 70_001);
    expect(Array.from(c.text)).toEqual([1, 2, 1, 3, 0]);
    expect(c.alphabetSize).toBe(4);
    expect(c.text).toBeInstanceOf(Uint8Array);
    const wide = Int32Array.from({ length: 70_000 }, (_, i) => 69_999 - i);
    expect(compactAlphabet(wide, wide.length, 70_000).text).toBe(wide); // > 65,536 symbols: unchanged
    const mid = Int32Array.from({ length: 1000 }, (_, i) => 999 - i);
    expect(compactAlphabet(mid, 1000, 1000).text).toBeInstanceOf(Uint16Array);
  });

  it('rejects text without the sentinel', () => {
    expect(() => saisInPlace(Int32Array.from([2, 1]), new Int32Array(2), 2, 3)).toThrow(/sentinel/);
    expect(kasaiLcp(Int32Array.from([0]), Int32Array.from([0]), 1)).toEqual(Uint16Array.from([0]));
  });
});

describe('segments and corpus views', () => {
  const r = rng(7);
  const docs: Doc[] = Array.from({ length: 12 }, (_, d) => ({
    id: idOf(`doc${d}`),
    label: '',
    tokens: Int32Array.from({ length: 5 + Math.floor(r() * 80) }, () => Math.floor(r() * 4)),
  }));

  function naiveOccurrences(q: number[]): { id: Uint8Array; offset: number }[] {
    const out: { id: Uint8Array; offset: number }[] = [];
    for (const d of docs) {
      for (let o = 0; o + q.length <= d.tokens.length; o++) {
        if (q.every((v, k) => d.tokens[o + k] === v)) out.push({ id: d.id, offset: o });
      }
    }
    return out.sort((a, b) => compareBytes(a.id, b.id) || a.offset - b.offset);
  }

  function naiveLongest(q: number[], from: number): number {
    let best = 0;
    for (let len = 1; from + len <= q.length; len++) {
      if (naiveOccurrences(q.slice(from, from + len)).length > 0) best = len;
      else break;
    }
    return best;
  }

  const views = [
    new CorpusView([Segment.build(docs, 8)]),
    new CorpusView([Segment.build(docs.slice(0, 5), 8), Segment.build(docs.slice(5), 8)]),
    new CorpusView(docs.map((d) => Segment.build([d], 8))),
  ];

  it('longest match, count and occurrences agree with brute force, whatever the segmentation', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 30 }), (q) => {
        const query = CorpusView.queryOf(Int32Array.from(q));
        for (let from = 0; from < q.length; from += 3) {
          const len = naiveLongest(q, from);
          const occ = len > 0 ? naiveOccurrences(q.slice(from, from + len)) : [];
          for (const v of views) {
            const m = v.longestMatch(query, from, q.length);
            expect(m.len).toBe(len);
            expect(m.count).toBe(occ.length);
            if (len > 0)
              expect(v.occurrences(query, from, len).map(({ id, offset }) => ({ id, offset }))).toEqual(occ);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('never matches across document boundaries', () => {
    const a: Doc = { id: idOf('a'), label: '', tokens: Int32Array.from([1, 2, 3]) };
    const b: Doc = { id: idOf('b'), label: '', tokens: Int32Array.from([4, 5, 6]) };
    const v = new CorpusView([Segment.build([a, b], 8)]);
    expect(v.longestMatch(CorpusView.queryOf(Int32Array.from([2, 3, 4, 5])), 0, 4).len).toBe(2);
    expect(v.tokenCount).toBe(6);
    expect(v.documents().map((d) => Array.from(d.tokens))).toEqual(
      [a, b].sort((x, y) => compareBytes(x.id, y.id)).map((d) => Array.from(d.tokens)),
    );
  });

  it('counts spans longer than the stored (saturated) LCP exactly', () => {
    const r = rng(11);
    const long = Int32Array.from({ length: 70_000 }, () => Math.floor(r() * 50));
    const docs: Doc[] = [
      { id: idOf('long1'), label: '', tokens: long },
      { id: idOf('long2'), label: '', tokens: long.slice(0, 68_000) },
    ];
    const v = new CorpusView([Segment.build(docs, 50)]);
    const q = CorpusView.queryOf(long.slice(100, 66_100));
    expect(v.longestMatch(q, 0, q.length)).toEqual({ len: 66_000, count: 2 });
    expect(v.occurrences(q, 0, 66_000).map((o) => o.offset)).toEqual([100, 100]);
  });
});
