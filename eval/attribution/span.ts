import type { Contribution, InlineCorpus } from '../../attribution/corpusCache.js';
import { runJob } from '../../attribution/jobs.js';
import { toHex } from '../../core/bytes.js';
import type { Param } from '../../core/tx.js';
import { pinSpanParams } from '../../vm/models.js';
import { contributionsOf, idOf, passages, rng, shuffle } from './texts.js';

/** The span params the chain pins on a new registration that names none (vm/models.ts). */
export const NEW_MODEL_PARAMS: Param[] = pinSpanParams('span', []);

/**
 * Span attribution against planted ground truth. A corpus of N contributions (passages of four
 * books and the plays); outputs made of text from three other books (not in the corpus) with one
 * window of a "main" contribution and a shorter one of a "second" planted in them. Figures: the
 * share of all score that goes to the planted sources, how often the main source ranks first,
 * and — on outputs that copy nothing (the other books only) — how often anyone is credited at all.
 * With boilerplate: every contribution starts with the same header, and so does every output (a
 * model reproduces what all its sources share). `default` = the params the chain pins on a new
 * span model (vm/models.ts pinSpanParams: normalised words, document-bits@1); `round1` = no params
 * (raw tokens, occurrence-bits@1: models registered before the pinning); *RecasedOutput = the
 * output lower-cased and re-spaced.
 */

export const CORPUS_BOOKS = [
  'tinyshakespeare.txt',
  'gutenberg-pg1342.txt',
  'gutenberg-pg37106.txt',
  'gutenberg-pg2641.txt',
];
export const OTHER_BOOKS = ['gutenberg-pg2701.txt', 'gutenberg-pg84.txt', 'gutenberg-pg64317.txt'];

export const HEADER =
  'Contributed to the open literature datanet. This passage is in the public domain; ' +
  'it was proofread twice and is offered for training and attribution under the datanet rules.';

/** A window of about `words` words of `text`, starting at a random word. */
export function windowWords(text: string, words: number, r: () => number): string {
  const w = text.split(/\s+/).filter(Boolean);
  const start = Math.floor(r() * Math.max(1, w.length - words));
  return w.slice(start, start + words).join(' ');
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

interface Case {
  output: string;
  main: Uint8Array | null;
  second: Uint8Array | null;
}

async function measure(corpus: InlineCorpus, cases: readonly Case[], params: Param[]) {
  let planted = 0;
  let total = 0;
  let top1 = 0;
  let planted1 = 0;
  let credited = 0;
  let nothing = 0;
  for (const c of cases) {
    const r = await runJob({
      kind: 'attribution',
      job: 1,
      method: 'span',
      params,
      training: null,
      corpora: [corpus],
      input: '',
      output: c.output,
      retrieved: [],
    });
    if (!r.ok) throw new Error(`span job failed: ${r.error}`);
    const sum = r.scores.reduce((a, s) => a + s.score, 0);
    if (c.main === null) {
      nothing++;
      if (sum > 0) credited++;
      continue;
    }
    planted1++;
    const by = new Map(r.scores.map((s) => [toHex(s.contribution), s.score]));
    planted += (by.get(toHex(c.main)) ?? 0) + (c.second ? (by.get(toHex(c.second)) ?? 0) : 0);
    total += sum;
    const best = [...r.scores].sort((a, b) => b.score - a.score)[0];
    if (best && toHex(best.contribution) === toHex(c.main)) top1++;
  }
  return {
    plantedShare: total > 0 ? round3(planted / total) : 0,
    top1: round3(top1 / planted1),
    falseAttributionRate: round3(credited / nothing),
  };
}

export async function evalSpan(opts: { quick?: boolean }): Promise<Record<string, unknown>> {
  const pool = shuffle(passages(CORPUS_BOOKS, 120), rng(31));
  const others = OTHER_BOOKS.map((f) =>
    passages([f], 120)
      .map((p) => p.text)
      .join('\n\n'),
  ).join('\n\n');
  const sizes = [200, 2000];
  const outputs = opts.quick ? 40 : 120;
  const out: Record<string, unknown> = {
    defaultParams: Object.fromEntries(NEW_MODEL_PARAMS.map((p) => [p.key, p.value])),
    outputs: { planted: outputs, copyingNothing: outputs },
    plantedWindows:
      'main ≈ 60 words, second ≈ 25 words, in ≈ 120 words of text from books outside the corpus',
  };
  for (const n of sizes) {
    const base = pool.slice(0, n);
    for (const boilerplate of [false, true]) {
      const contributions: Contribution[] = contributionsOf(
        boilerplate ? base.map((p) => ({ ...p, text: `${HEADER}\n\n${p.text}` })) : base,
      );
      const corpus: InlineCorpus = {
        datanet: idOf(`eval/span/${n}/${boilerplate}`),
        version: n,
        contributions,
      };
      const r = rng(1000 + n + (boilerplate ? 1 : 0));
      const cases: Case[] = [];
      for (let k = 0; k < outputs; k++) {
        const main = contributions[Math.floor(r() * n)];
        let second = contributions[Math.floor(r() * n)];
        if (second === main) second = contributions[(contributions.indexOf(main) + 1) % n];
        const body = [
          windowWords(others, 40, r),
          windowWords(main.content.slice(boilerplate ? HEADER.length : 0), 60, r),
          windowWords(others, 40, r),
          windowWords(second.content.slice(boilerplate ? HEADER.length : 0), 25, r),
          windowWords(others, 40, r),
        ].join(' ');
        cases.push({ output: boilerplate ? `${HEADER} ${body}` : body, main: main.id, second: second.id });
      }
      for (let k = 0; k < outputs; k++) {
        // Copies nothing (not even the shared header): any credit here is a false attribution.
        cases.push({ output: windowWords(others, 200, r), main: null, second: null });
      }
      const recast = cases.map((c) => ({ ...c, output: c.output.toLowerCase().replace(/ /g, '  ') }));
      const key = `n${n}${boilerplate ? 'WithBoilerplate' : ''}`;
      const words: Param = { key: 'normalization', value: 'nfkc-cf-words@1' };
      const byDocs: Param = { key: 'spanWeight', value: 'document-bits@1' };
      out[key] = {
        // What a span model registered now gets (vm/models.ts pins these when absent).
        default: await measure(corpus, cases, NEW_MODEL_PARAMS),
        defaultRecasedOutput: await measure(corpus, recast, NEW_MODEL_PARAMS),
        // Comparison rows. round1 = no params: what every model registered before the pinning
        // keeps (raw tokens, occurrence-bits@1).
        round1: await measure(corpus, cases, []),
        round1RecasedOutput: await measure(corpus, recast, []),
        wordsOccurrenceBits: await measure(corpus, cases, [words]),
        wordsOccurrenceBitsRecasedOutput: await measure(corpus, recast, [words]),
        tokensDocumentBits: await measure(corpus, cases, [byDocs]),
      };
    }
  }
  out.note =
    'default = the parameters vm/models.ts pins on a new span model (normalization nfkc-cf-words@1, spanWeight document-bits@1); round1 = no params (raw tokens, occurrence-bits@1), what models registered before keep; with boilerplate, planted outputs copy the shared header too: its credit is spread over every sharer (or dropped above spanCountMax = 1000 sharers), and under occurrence-bits@1 it still weighs ~log2(tokens per contribution) bits per token, under document-bits@1 1 bit per token; falseAttributionRate = share of outputs copying nothing (text of other books) that still credit someone';
  return out;
}
