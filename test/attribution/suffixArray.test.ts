import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorpusView, type Doc, Segment } from '../../attribution/corpusIndex.js';
import { kasaiLcp, lcpOf, saisInPlace, suffixArrayOf } from '../../attribution/suffixArray.js';
import { compareBytes } from '../../core/bytes.js';
import { idOf, rng } from './_fixtures.js';

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
