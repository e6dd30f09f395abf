import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type InlineCorpus, resolveCorpora } from '../../attribution/corpusCache.js';
import { CorpusView, type Doc, Segment } from '../../attribution/corpusIndex.js';
import { type AttributionJobSpec, runJob } from '../../attribution/jobs.js';
import { SPAN_PARAMS } from '../../attribution/params.js';
import {
  SPAN_EDGE_TOKENS_MAX,
  spanAttribution,
  verifySpanEvidence,
  verifySpanEvidenceText,
} from '../../attribution/span.js';
import { DEFAULT_TOKENIZER, loadTokenizer, type Tokenizer } from '../../attribution/tokenizer.js';
import { toHex } from '../../core/bytes.js';
import type { JobResult } from '../../core/tx.js';
import { fixtureText, idOf, rng, shakespeareContributions } from './_fixtures.js';

const WORDS = 'nfkc-cf-words@1';
const opts = {
  minSpan: SPAN_PARAMS.minSpan.default,
  shareTopK: 0,
  spanCountMax: SPAN_PARAMS.spanCountMax.default,
};

/** A window of `chars` characters of `text`, starting and ending at word boundaries. */
function windowOf(text: string, chars: number, r: () => number): string {
  const start0 = Math.floor(r() * Math.max(1, text.length - chars));
  const start = text.indexOf(' ', start0) + 1;
  const end = text.lastIndexOf(' ', start + chars);
  return text.slice(start, end > start ? end : start + chars);
}

describe('span attribution: planted-source ground truth on tinyshakespeare', () => {
  const contributions = shakespeareContributions(2000);
  const unrelated = fixtureText('gutenberg-pg84.txt').slice(5000, 300_000); // Frankenstein: not in the corpus
  let corpus: CorpusView;
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(DEFAULT_TOKENIZER);
    corpus = await resolveCorpora(null, DEFAULT_TOKENIZER, [
      { datanet: idOf('plays'), version: 1, contributions },
    ]);
  });

  it('gives ≥ 90% of the score to the true sources and ranks the main source first in ≥ 95% of cases', () => {
    const r = rng(42);
    const CASES = 60;
    let trueScore = 0;
    let totalScore = 0;
    let mainFirst = 0;
    for (let c = 0; c < CASES; c++) {
      const main = contributions[Math.floor(r() * contributions.length)];
      let second = contributions[Math.floor(r() * contributions.length)];
      if (second === main) second = contributions[(contributions.indexOf(main) + 1) % contributions.length];
      const parts = [
        windowOf(unrelated, 200, r),
        windowOf(main.content, 400, r),
        windowOf(unrelated, 150, r),
        windowOf(second.content, 150, r),
        windowOf(unrelated, 200, r),
      ];
      const output = parts.join(' ');
      const tokens = tok.encode(output);
      const { scores, evidence } = spanAttribution(corpus, tokens, opts);
      const byId = new Map(scores.map((s) => [toHex(s.contribution), s.score]));
      const sum = scores.reduce((a, s) => a + s.score, 0);
      const truth = (byId.get(toHex(main.id)) ?? 0) + (byId.get(toHex(second.id)) ?? 0);
      trueScore += truth;
      totalScore += sum;
      const top = [...scores].sort((a, b) => b.score - a.score)[0];
      if (top && toHex(top.contribution) === toHex(main.id)) mainFirst++;
      // Evidence is checkable without the index.
      const docs = new Map(contributions.map((x) => [toHex(x.id), x]));
      const check = verifySpanEvidence(
        tokens,
        evidence,
        (id) => {
          const d = docs.get(toHex(id));
          return d ? tok.encode(d.content) : undefined;
        },
        opts.minSpan,
      );
      expect(check).toEqual({ ok: true });
    }
    expect(trueScore / totalScore).toBeGreaterThanOrEqual(0.9);
    expect(mainFirst / CASES).toBeGreaterThanOrEqual(0.95);
  });

  it('finds nothing in unrelated text and credits shared spans to every holder', async () => {
    const none = spanAttribution(corpus, tok.encode(windowOf(unrelated, 600, rng(3))), opts);
    expect(none.scores.length).toBeLessThanOrEqual(1); // a stray common phrase at most
    const line = 'Then let the heavens witness how I loved this gentle creature more than any other';
    const shared = await resolveCorpora(null, DEFAULT_TOKENIZER, [
      {
        datanet: idOf('shared'),
        version: 1,
        contributions: [
          { id: idOf('s1'), content: `prefix one. ${line}. suffix`, label: '' },
          { id: idOf('s2'), content: `another start: ${line}!`, label: '' },
          { id: idOf('s3'), content: 'nothing to see here at all', label: '' },
        ],
      },
    ]);
    const res = spanAttribution(shared, tok.encode(line), opts);
    expect(res.scores.map((s) => toHex(s.contribution)).sort()).toEqual(
      [toHex(idOf('s1')), toHex(idOf('s2'))].sort(),
    );
    expect(res.scores[0].score).toBe(res.scores[1].score);
    const firstOnly = spanAttribution(shared, tok.encode(line), { ...opts, shareTopK: 1 });
    expect(firstOnly.scores).toHaveLength(1);
  });

  it('rejects tampered evidence', () => {
    const main = contributions[10];
    const output = `${windowOf(main.content, 500, rng(5))} and then something else entirely`;
    const tokens = tok.encode(output);
    const { evidence } = spanAttribution(corpus, tokens, opts);
    expect(evidence.length).toBeGreaterThan(0);
    const docs = new Map(contributions.map((x) => [toHex(x.id), tok.encode(x.content)]));
    const lookup = (id: Uint8Array) => docs.get(toHex(id));
    expect(verifySpanEvidence(tokens, evidence, lookup, opts.minSpan)).toEqual({ ok: true });
    const other = contributions[11].id;
    const tampers = [
      (e: (typeof evidence)[0]) => ({ ...e, offset: e.offset + 1 }),
      (e: (typeof evidence)[0]) => ({ ...e, outputStart: e.outputStart + 1 }),
      (e: (typeof evidence)[0]) => ({ ...e, outputEnd: e.outputEnd + 1 }),
      (e: (typeof evidence)[0]) => ({ ...e, outputEnd: e.outputStart + opts.minSpan - 1 }),
      (e: (typeof evidence)[0]) => ({ ...e, contribution: other }),
      (e: (typeof evidence)[0]) => ({ ...e, contribution: idOf('not a contribution') }),
      (e: (typeof evidence)[0]) => ({ ...e, offset: 10_000_000 }),
    ];
    for (let k = 0; k < evidence.length; k++) {
      for (const t of tampers) {
        const bad = evidence.map((e, i) => (i === k ? t(e) : e));
        expect(verifySpanEvidence(tokens, bad, lookup, opts.minSpan).ok).toBe(false);
      }
    }
    // A tampered output (one token changed inside a span) is caught too.
    const flipped = Int32Array.from(tokens);
    flipped[evidence[0].outputStart + 2] ^= 1;
    expect(verifySpanEvidence(flipped, evidence, lookup, opts.minSpan).ok).toBe(false);
    if (evidence.length > 1) {
      expect(verifySpanEvidence(tokens, [...evidence].reverse(), lookup, opts.minSpan).ok).toBe(false);
    }
  });
});

describe('span attribution is a function of the document set only', () => {
  it('same scores and evidence whatever the segmentation and document order', () => {
    const word = fc.integer({ min: 0, max: 5 });
    fc.assert(
      fc.property(
        fc.array(fc.array(word, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        fc.array(word, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 8, maxLength: 8 }),
        (docTokens, out, cuts) => {
          const docs: Doc[] = docTokens.map((t, i) => ({
            id: idOf(`p${i}`),
            label: '',
            tokens: Int32Array.from(t),
          }));
          const whole = new CorpusView([Segment.build(docs, 6)]);
          // Reverse order, and split where `cuts` says.
          const rev = [...docs].reverse();
          const parts: Doc[][] = [];
          let cur: Doc[] = [];
          rev.forEach((d, i) => {
            cur.push(d);
            if (cuts[i] % 2 === 0) {
              parts.push(cur);
              cur = [];
            }
          });
          if (cur.length) parts.push(cur);
          const split = new CorpusView(parts.map((p) => Segment.build(p, 6)));
          const o = { minSpan: 2, shareTopK: cuts[0] % 3, spanCountMax: 1000 };
          const a = spanAttribution(whole, Int32Array.from(out), o);
          const b = spanAttribution(split, Int32Array.from(out), o);
          expect(b).toEqual(a);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('span attribution on normalised words (normalization = nfkc-cf-words@1)', () => {
  const contributions = shakespeareContributions(2000, 400_000);
  const corpus: InlineCorpus = { datanet: idOf('plays/words'), version: 1, contributions };
  const job = (output: string, normalization?: string): AttributionJobSpec => ({
    kind: 'attribution',
    job: 1,
    method: 'span',
    params: normalization ? [{ key: 'normalization', value: normalization }] : [],
    training: null,
    corpora: [corpus],
    input: '',
    output,
    retrieved: [],
  });
  const recast = {
    upper: (t: string) => t.toUpperCase(),
    lower: (t: string) => t.toLowerCase(),
    respaced: (t: string) => t.replace(/\s+/g, '  '),
    repunctuated: (t: string) => t.replace(/[,;:.!?']/g, ''),
  };

  it('an answer that reproduces a contribution re-cased or re-spaced is attributed as if verbatim', async () => {
    const r = rng(7);
    for (let c = 0; c < 6; c++) {
      const src = contributions[Math.floor(r() * contributions.length)];
      const verbatim = `In short: ${windowOf(src.content, 600, r)}`;
      const base = await runJob(job(verbatim, WORDS));
      expect(base.scores.length).toBeGreaterThan(0);
      for (const [name, f] of Object.entries(recast)) {
        const out = f(verbatim);
        const res = await runJob(job(out, WORDS));
        expect(res.scores, name).toEqual(base.scores);
        expect(res.evidence, name).toEqual(base.evidence);
        // On raw tokens (the round-1 meaning, still the default) the re-cased copy loses its credit.
        if (name === 'upper') {
          const raw = await runJob(job(out));
          const sum = (x: JobResult) => x.scores.reduce((a, s) => a + s.score, 0);
          expect(sum(raw)).toBeLessThan(sum(base) / 4);
        }
        // The evidence stays checkable without the index: word ids come from the texts alone.
        expect(await verifySpanEvidenceText(WORDS, out, res.evidence, contributions, 8)).toEqual({
          ok: true,
        });
      }
    }
  });

  it('gives 0 to outputs that copy nothing of ≥ minSpan words', async () => {
    const unrelated = fixtureText('gutenberg-pg84.txt').slice(20_000, 23_000);
    const res = await runJob(job(unrelated, WORDS));
    expect(res.ok).toBe(true);
    // Frankenstein shares only common phrases shorter than 8 words with the plays.
    expect(res.scores).toEqual([]);
    expect(res.evidence).toEqual([]);
  });

  it('tampered evidence fails the index-free check', async () => {
    const src = contributions[3];
    const out = src.content.slice(100, 700).toUpperCase();
    const res = await runJob(job(out, WORDS));
    expect(res.evidence.length).toBeGreaterThan(0);
    const moved = res.evidence.map((e, k) => (k === 0 ? { ...e, offset: e.offset + 1 } : e));
    expect((await verifySpanEvidenceText(WORDS, out, moved, contributions, 8)).ok).toBe(false);
    // Checked with the wrong symbols (tokens instead of words), the same evidence does not hold.
    expect((await verifySpanEvidenceText(DEFAULT_TOKENIZER, out, res.evidence, contributions, 8)).ok).toBe(
      false,
    );
  });
});

// Issue 14 part 3. The attack: every contribution carries the same header; an answer reproducing
// the header (models do) followed by a word that happens to start a few passages makes one
// maximal span "header + word", priced as a rare passage of the few contributions starting with
// that word — credit that belongs to the planted source. Under the round-1 weight
// (occurrence-bits@1) even the header alone weighs ~log2(tokens per contribution) bits per token.
describe('span weight document-bits@1: shared boilerplate weighs 1 bit per token', () => {
  const HEADER =
    'Contributed to the open datanet. This passage is in the public domain and offered under the datanet rules.';
  const plays = shakespeareContributions(300).map((c, i) => ({
    ...c,
    // A few passages start with "And" (so the output's "And" extends the header span).
    content: `${HEADER}\n${i % 50 === 0 ? 'And ' : ''}${c.content}`,
  }));
  const byDocs = { ...opts, spanWeight: 'document-bits@1' as const };
  let corpus: CorpusView;
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer(DEFAULT_TOKENIZER);
    corpus = await resolveCorpora(null, DEFAULT_TOKENIZER, [
      { datanet: idOf('boilerplate'), version: 1, contributions: plays },
    ]);
  });
  const plantedShare = (o: typeof opts & { spanWeight?: 'document-bits@1' | 'occurrence-bits@1' }) => {
    const main = plays[7];
    const body = main.content.slice(HEADER.length + 1);
    const output = `${HEADER}\nAnd so it begins. ${windowOf(body, 300, rng(9))} That is all.`;
    const { scores } = spanAttribution(corpus, tok.encode(output), o);
    const total = scores.reduce((a, s) => a + s.score, 0);
    return (scores.find((s) => toHex(s.contribution) === toHex(main.id))?.score ?? 0) / total;
  };

  it('the attack works under the round-1 weight, and document-bits@1 stops it', () => {
    const before = plantedShare(opts);
    const after = plantedShare(byDocs);
    expect(before).toBeLessThan(0.8); // "header + And" takes a large share
    expect(after).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(0.9);
  });

  it('text in every contribution weighs exactly 1 bit per token; a unique passage log2(D) + 1 inside', () => {
    const D = corpus.docCount; // 2,277 passages
    const q = tok.encode(HEADER);
    const all = { ...byDocs, spanCountMax: 100_000 };
    const header = spanAttribution(corpus, q, all);
    const total = header.scores.reduce((a, s) => a + s.score, 0);
    // One span (the header; its last "." tokenizes differently before "\n"), 1 bit per token,
    // split over all D sharers (floored).
    const len = header.evidence[0].outputEnd;
    expect(len).toBeGreaterThanOrEqual(q.length - 1);
    expect(header.scores).toHaveLength(D);
    expect(total).toBeLessThanOrEqual(len * 720_720);
    expect(total).toBeGreaterThan(len * 720_720 - D);
    // A passage of one contribution: its tokens weigh at most bitLength(D) = 12 bits (interior
    // ones exactly that, a few at each end less, where its prefix or suffix is common).
    const unique = tok.encode(windowOf(plays[3].content.slice(HEADER.length + 1), 100, rng(2)));
    const res = spanAttribution(corpus, unique, all);
    expect(res.scores).toHaveLength(1);
    const sum = res.scores[0].score / 720_720;
    const n = res.evidence[0].outputEnd - res.evidence[0].outputStart;
    expect(sum).toBeLessThanOrEqual(12 * n);
    expect(sum).toBeGreaterThan(12 * (n - 8));
  });

  it('repeating a phrase cannot raise its weight (a farmer gains nothing by repetition)', async () => {
    const phrase = windowOf(plays[5].content.slice(HEADER.length + 1), 200, rng(4));
    const extra = [1, 10].map((times) => ({
      id: idOf(`farmer-${times}`),
      content: Array.from({ length: times }, () => phrase).join('\n'),
      label: '',
    }));
    const weightWith = async (c: (typeof extra)[number]) => {
      const view = await resolveCorpora(null, DEFAULT_TOKENIZER, [
        { datanet: idOf(`farm-${c.content.length}`), version: 1, contributions: [...plays, c] },
      ]);
      const { scores } = spanAttribution(view, tok.encode(phrase), byDocs);
      return scores.find((s) => toHex(s.contribution) === toHex(c.id))?.score ?? 0;
    };
    const once = await weightWith(extra[0]);
    expect(once).toBeGreaterThan(0);
    expect(await weightWith(extra[1])).toBeLessThanOrEqual(once);
  });

  it('is versioned: absent spanWeight keeps the round-1 result; unknown names are typed errors', async () => {
    const job = (params: { key: string; value: string }[]): AttributionJobSpec => ({
      kind: 'attribution',
      job: 1,
      method: 'span',
      params,
      training: null,
      corpora: [{ datanet: idOf('bp'), version: 1, contributions: plays.slice(0, 40) }],
      input: '',
      output: `${HEADER} ${plays[3].content.slice(HEADER.length, HEADER.length + 300)}`,
      retrieved: [],
    });
    const absent = await runJob(job([]));
    expect(await runJob(job([{ key: 'spanWeight', value: 'occurrence-bits@1' }]))).toEqual(absent);
    expect(await runJob(job([{ key: 'spanWeight', value: 'document-bits@1' }]))).not.toEqual(absent);
    expect(await runJob(job([{ key: 'spanWeight', value: 'idf' }]))).toMatchObject({
      ok: false,
      error: 'PARAM_INVALID',
    });
  });
});

describe('span weight document-bits@1: the work bound SPAN_EDGE_TOKENS_MAX', () => {
  // D = 8 documents, each a common run of R tokens then 100 tokens of its own; the output is
  // document 0's first R + 100 tokens: one span, found only in document 0.
  const weightFor = (R: number) => {
    const docs: Doc[] = Array.from({ length: 8 }, (_, d) => ({
      id: idOf(`edge-${d}`),
      label: '',
      tokens: Int32Array.from({ length: R + 100 }, (_, i) => (i < R ? 10 + i : 1000 + 1000 * d + i)),
    }));
    const view = new CorpusView([Segment.build(docs, 20_000)]);
    const res = spanAttribution(view, docs[0].tokens, { ...opts, spanWeight: 'document-bits@1' });
    expect(res.scores).toHaveLength(1);
    expect(res.evidence).toHaveLength(1);
    return res.scores[0].score / 720_720;
  };

  it('counts up to the bound exactly; past it the edge count stands in (never a higher weight)', () => {
    const R = SPAN_EDGE_TOKENS_MAX - 1;
    // The common run weighs 1 bit per token, each own token bitLength(8) = 4 bits.
    expect(weightFor(R)).toBe(R + 4 * 100);
    // One token longer: the prefix count at the edge is still the common run's, so every token
    // is priced as common (lower, never higher, than uncapped).
    expect(weightFor(R + 1)).toBe(R + 1 + 100);
  });
});
