import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import { type Contribution, loadRegistered } from '../attribution/corpusCache.js';
import { CorpusView, type Doc, Segment } from '../attribution/corpusIndex.js';
import { exampleProbabilities, influenceScores, sgdInfluenceScores } from '../attribution/influence.js';
import type { AttributionJobSpec, DuplicateJobSpec } from '../attribution/jobs.js';
import { wordIds } from '../attribution/normalize.js';
import { parseParams, parseTraining, SPAN_PARAMS } from '../attribution/params.js';
import { JobPool } from '../attribution/pool.js';
import { spanAttribution } from '../attribution/span.js';
import { compactAlphabet, kasaiLcp, saisInPlace } from '../attribution/suffixArray.js';
import { DEFAULT_TOKENIZER, loadTokenizer, type Tokenizer } from '../attribution/tokenizer.js';
import { examplesOf, labelSet, trainLr, trainLr2 } from '../attribution/training.js';
import { sha256 } from '../core/hash.js';
import { percentile, round } from './_measure.js';

/**
 * `npm run bench -- attribution [--quick] [--sa-only] [--influence-only]`: suffix-array build rate and size, span attribution
 * latency against 1M- and 10M-token corpora (in process and through a worker), LR training and
 * influence time, the tokenizer (our fast path next to js-tiktoken on the same text), the
 * normalised-words index, cold corpus builds end to end, near-duplicate checks per second, and
 * libdivsufsort's build rate next to our SA-IS on the same bytes when it is installed
 * (`apt-get install libdivsufsort-dev`; skipped cleanly otherwise).
 *
 * Data: the public-domain texts in test/fixtures, split into paragraphs; the 10M-token corpus
 * recombines those paragraphs in seeded random orders (so every span occurs several times, as in
 * a real datanet with overlapping sources), grouped into contributions of ~4 KB.
 */

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures');
const FILES = [
  'tinyshakespeare.txt',
  'gutenberg-pg1342.txt',
  'gutenberg-pg2641.txt',
  'gutenberg-pg2701.txt',
  'gutenberg-pg37106.txt',
  'gutenberg-pg64317.txt',
  'gutenberg-pg84.txt',
];

function log(msg: string): void {
  process.stderr.write(`[attribution bench] ${msg}\n`);
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** CPU time (user + system, all threads of this process) since `start`, in ms. */
function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

interface Para {
  text: string;
  tokens: Int32Array;
}

/** Contributions of ~`chars` characters, from paragraphs in a seeded order, until `tokensWanted`. */
function recombine(paras: readonly Para[], tokensWanted: number, seed: number, chars = 4000) {
  const r = rng(seed);
  const contributions: Contribution[] = [];
  const docs: Doc[] = [];
  let tokens = 0;
  let round = 0;
  while (tokens < tokensWanted) {
    const order = paras.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let text: string[] = [];
    let toks: Int32Array[] = [];
    let size = 0;
    for (const i of order) {
      text.push(paras[i].text);
      toks.push(paras[i].tokens);
      size += paras[i].text.length;
      if (size >= chars) {
        const id = sha256(Buffer.from(`bench/${round}/${contributions.length}`));
        const content = text.join('\n\n');
        const joined = new Int32Array(toks.reduce((a, t) => a + t.length, 0));
        let o = 0;
        for (const t of toks) {
          joined.set(t, o);
          o += t.length;
        }
        contributions.push({ id, content, label: '' });
        docs.push({ id, label: '', tokens: joined });
        tokens += joined.length;
        text = [];
        toks = [];
        size = 0;
        if (tokens >= tokensWanted) break;
      }
    }
    round++;
  }
  return { contributions, docs, tokens };
}

/** A ~256-token output: half copied from one contribution, half from another, words rejoined. */
function outputOf(
  tok: Tokenizer,
  contributions: readonly Contribution[],
  r: () => number,
  target = 256,
): string {
  const pick = () => contributions[Math.floor(r() * contributions.length)].content.split(/\s+/);
  const a = pick();
  const b = pick();
  const ai = Math.floor(r() * Math.max(1, a.length - 200));
  const bi = Math.floor(r() * Math.max(1, b.length - 200));
  const words = [...a.slice(ai, ai + 100), 'and', 'yet', ...b.slice(bi, bi + 100)];
  let text = words.join(' ');
  while (tok.encode(text).length > target) text = text.slice(0, text.lastIndexOf(' '));
  return text;
}

function divsufsortRate(bytes: Uint8Array): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'ol-dss-'));
  try {
    const src = join(dir, 'h.c');
    writeFileSync(
      src,
      `#include <divsufsort.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char** argv) {
  FILE* f = fopen(argv[1], "rb"); fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  sauchar_t* t = malloc(n); if (fread(t, 1, n, f) != (size_t)n) return 2; fclose(f);
  saidx_t* sa = malloc(sizeof(saidx_t) * n);
  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a); clock_t c0 = clock();
  if (divsufsort(t, sa, n) != 0) return 3;
  clock_t c1 = clock(); clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%ld %.6f %.6f\\n", n, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, (double)(c1 - c0) / CLOCKS_PER_SEC);
  return 0;
}
`,
    );
    const bin = join(dir, 'h');
    try {
      execFileSync('cc', ['-O2', src, '-o', bin, '-ldivsufsort'], { stdio: 'pipe' });
    } catch {
      return {
        available: false,
        reason: 'cc or libdivsufsort-dev missing (apt-get install libdivsufsort-dev)',
      };
    }
    const input = join(dir, 'in.bin');
    writeFileSync(input, bytes);
    const [n, sec, cpu] = execFileSync(bin, [input]).toString().trim().split(' ').map(Number);
    return {
      available: true,
      inputBytes: n,
      seconds: round(sec, 3),
      bytesPerSec: Math.round(n / sec),
      cpuSeconds: round(cpu, 3),
      bytesPerCpuSec: Math.round(n / cpu),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function attributionBench(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const saOnly = args.includes('--sa-only');
  const loadBefore = loadavg().map((x) => round(x, 2));
  const BIG = quick ? 2_000_000 : 10_000_000;
  const tok = await loadTokenizer(DEFAULT_TOKENIZER);
  if (args.includes('--influence-only')) {
    return {
      quick,
      influenceOnly: true,
      loadAverage: { before: loadBefore, after: loadavg().map((x) => round(x, 2)) },
      ...(await trainingBench(tok, quick)),
    };
  }

  // ---- data --------------------------------------------------------------------------------
  let t = process.hrtime.bigint();
  const paras: Para[] = [];
  let rawBytes = 0;
  for (const f of FILES) {
    const text = readFileSync(join(FIXTURES, f), 'utf8');
    rawBytes += Buffer.byteLength(text);
    for (const p of text.split(/\n\s*\n/))
      if (p.trim().length > 0) paras.push({ text: p, tokens: tok.encode(p) });
  }
  const baseTokens = paras.reduce((a, p) => a + p.tokens.length, 0);
  const tokenizeMs = ms(t);
  log(`tokenized ${rawBytes} bytes → ${baseTokens} tokens in ${Math.round(tokenizeMs)} ms`);
  // Tokenizer: our fast path next to js-tiktoken itself, on the same fresh text (no cache hits
  // from above: o200k is loaded here for the first time), and the normaliser.
  const sample = paras
    .slice(0, 4000)
    .map((x) => x.text)
    .join('\n\n');
  const o200k = await loadTokenizer('o200k_base@js-tiktoken-1.0.21');
  const reference = new Tiktoken((await import('js-tiktoken/ranks/o200k_base')).default);
  t = process.hrtime.bigint();
  const fastTokens = o200k.encode(sample).length;
  const fastMs = ms(t);
  t = process.hrtime.bigint();
  const refTokens = reference.encode(sample, [], []).length;
  const refMs = ms(t);
  t = process.hrtime.bigint();
  let wordCount = 0;
  for (const f of FILES) wordCount += wordIds(readFileSync(join(FIXTURES, f), 'utf8')).length;
  const wordsMs = ms(t);
  const tokenizer = {
    sampleChars: sample.length,
    o200kColdCache: {
      oursTokensPerSec: Math.round(fastTokens / (fastMs / 1000)),
      jsTiktokenTokensPerSec: Math.round(refTokens / (refMs / 1000)),
      speedup: round(refMs / fastMs, 2),
      sameTokens: fastTokens === refTokens,
    },
    cl100kAllFixturesTokensPerSec: Math.round(baseTokens / (tokenizeMs / 1000)),
    normalisedWordsPerSec: Math.round(wordCount / (wordsMs / 1000)),
  };
  log(`tokenizer ${JSON.stringify(tokenizer)}`);
  const small = recombine(paras, 1_000_000, 1);
  const big = recombine(paras, BIG, 2);
  log(`corpora: ${small.tokens} and ${big.tokens} tokens (${big.contributions.length} contributions)`);

  // ---- suffix array build --------------------------------------------------------------------
  Segment.build(big.docs.slice(0, 50), tok.vocabSize); // warm-up (JIT)
  let n = 1;
  for (const d of big.docs) n += d.tokens.length + 1;
  const T = new Int32Array(n);
  let p = 0;
  for (const d of big.docs) {
    for (let i = 0; i < d.tokens.length; i++) T[p++] = d.tokens[i] + 2;
    T[p++] = 1;
  }
  T[p] = 0;
  const SA = new Int32Array(n);
  // Best of three (the machine may be shared; the median is reported too).
  const saRuns: number[] = [];
  const saCpuRuns: number[] = [];
  for (let run = 0; run < 3; run++) {
    const c0 = process.cpuUsage();
    t = process.hrtime.bigint();
    // As Segment.build does: the alphabet narrowed to the tokens used, then SA-IS (both timed).
    const compact = compactAlphabet(T, n, tok.vocabSize + 2);
    saisInPlace(compact.text, SA, n, compact.alphabetSize);
    saRuns.push(ms(t));
    saCpuRuns.push(cpuMs(c0));
  }
  const saMs = Math.min(...saRuns);
  t = process.hrtime.bigint();
  const lcp = kasaiLcp(T, SA, n);
  const lcpMs = ms(t);
  const indexBytes = T.byteLength + SA.byteLength + lcp.byteLength + 4 * (big.docs.length + 1);
  log(`SA-IS ${n} tokens in ${Math.round(saMs)} ms, LCP in ${Math.round(lcpMs)} ms`);
  const suffixArray = {
    tokens: n,
    saisMs: Math.round(saMs),
    saisMedianMs: Math.round(percentile(saRuns, 50)),
    saisTokensPerSec: Math.round(n / (saMs / 1000)),
    saisTokensPerCpuSec: Math.round(n / (Math.min(...saCpuRuns) / 1000)),
    lcpMs: Math.round(lcpMs),
    saPlusLcpTokensPerSec: Math.round(n / ((saMs + lcpMs) / 1000)),
    indexBytesPerToken: round(indexBytes / n, 3),
    targets: { tokensPerSec: 2_000_000, bytesPerTokenMax: 12 },
  };
  const bigText = Buffer.from(big.contributions.map((c) => c.content).join('\u0001'), 'utf8');
  const libdivsufsort = () => {
    const dss = divsufsortRate(bigText);
    // Our SA-IS on exactly the same bytes, right after (same machine state), best of two.
    const bn = bigText.length + 1;
    const BT = new Int32Array(bn);
    for (let i = 0; i < bigText.length; i++) BT[i] = bigText[i] + 1;
    BT[bn - 1] = 0;
    const BSA = new Int32Array(bn);
    const runs: number[] = [];
    const cpuRuns: number[] = [];
    for (let run = 0; run < 2; run++) {
      const c0 = process.cpuUsage();
      const s0 = process.hrtime.bigint();
      // The same path as for tokens: compactAlphabet (bytes stay bytes: a Uint8Array text, as
      // libdivsufsort's), then SA-IS; both timed.
      const compact = compactAlphabet(BT, bn, 257);
      saisInPlace(compact.text, BSA, bn, compact.alphabetSize);
      runs.push(ms(s0));
      cpuRuns.push(cpuMs(c0));
    }
    const oursBytesPerCpuSec = Math.round(bigText.length / (Math.min(...cpuRuns) / 1000));
    const oursBytesPerSec = Math.round(bigText.length / (Math.min(...runs) / 1000));
    return {
      ...dss,
      ours: {
        inputBytes: bigText.length,
        saisOnBytesSeconds: round(Math.min(...runs) / 1000, 3),
        saisOnBytesPerSec: oursBytesPerSec,
        ratioToLibdivsufsort:
          dss.available === true ? round(oursBytesPerSec / (dss.bytesPerSec as number), 3) : null,
        // The same ratio on CPU time (this process's and the C program's), which a busy shared
        // machine distorts less than wall time.
        saisOnBytesCpuSeconds: round(Math.min(...cpuRuns) / 1000, 3),
        ratioToLibdivsufsortCpu:
          dss.available === true ? round(oursBytesPerCpuSec / (dss.bytesPerCpuSec as number), 3) : null,
        onTokens: {
          tokens: n,
          bytesEquivalent: bigText.length,
          saisBytesEquivalentPerSec: Math.round(bigText.length / (saMs / 1000)),
        },
        goalRatio: 0.5,
      },
    };
  };
  if (saOnly) {
    return {
      quick,
      saOnly,
      loadAverage: { before: loadBefore, after: loadavg().map((x) => round(x, 2)) },
      tokenizer: tok.name,
      suffixArray,
      libdivsufsort: libdivsufsort(),
    };
  }
  const bigView = new CorpusView([
    new Segment(
      big.docs.map((d) => d.id),
      big.docs.map(() => ''),
      docStartsOf(big.docs),
      T,
      SA,
      lcp,
    ),
  ]);
  const smallView = new CorpusView([Segment.build(small.docs, tok.vocabSize)]);

  // ---- span attribution in process ---------------------------------------------------------
  const spanOpts = parseParams([], SPAN_PARAMS, 'span');
  const r = rng(5);
  const outputs = Array.from({ length: quick ? 20 : 60 }, () => outputOf(tok, big.contributions, r));
  const inProcess = (view: CorpusView, opts = spanOpts) => {
    const samples: number[] = [];
    let spans = 0;
    for (const o of outputs) {
      const s = process.hrtime.bigint();
      const res = spanAttribution(view, tok.encode(o), opts);
      samples.push(ms(s));
      spans += res.evidence.length;
    }
    return {
      p50Ms: round(percentile(samples, 50)),
      p99Ms: round(percentile(samples, 99)),
      evidencePerOutput: round(spans / outputs.length, 1),
    };
  };
  inProcess(smallView); // warm-up
  const span1M = inProcess(smallView);
  const span10M = inProcess(bigView);
  // spanWeight=document-bits@1: a few extra count queries per span (its common ends).
  const span10MDocumentBits = inProcess(bigView, { ...spanOpts, spanWeight: 'document-bits@1' });
  log(`span in process: 1M ${JSON.stringify(span1M)}, big ${JSON.stringify(span10M)}`);

  // ---- span attribution through a worker ---------------------------------------------------
  const cacheDir = mkdtempSync(join(tmpdir(), 'ol-attr-bench-'));
  const pool = new JobPool({ cacheDir, threads: 1 });
  let worker: Record<string, unknown>;
  let duplicates: Record<string, unknown> = {};
  let coldBuild: Record<string, unknown> = {};
  try {
    // Start the worker first (thread, module loading, tokenizer tables: once per worker, not per
    // corpus), so the cold build below measures indexing with a cold cache only.
    const t0 = process.hrtime.bigint();
    await pool.registerCorpus(
      {
        datanet: sha256(Buffer.from('bench/warm')),
        version: 1,
        contributions: big.contributions.slice(0, 1),
      },
      DEFAULT_TOKENIZER,
    );
    const workerStartMs = ms(t0);
    const registerCpu0 = process.cpuUsage(); // the worker's work (the main thread only waits)
    t = process.hrtime.bigint();
    const ref = await pool.registerCorpus(
      { datanet: sha256(Buffer.from('bench')), version: 1, contributions: big.contributions },
      DEFAULT_TOKENIZER,
    );
    const registerMs = ms(t);
    const registerCpuMs = cpuMs(registerCpu0);
    log(
      `registered the big corpus in a worker in ${Math.round(registerMs)} ms (tokenize + SA + LCP + write)`,
    );
    const job = (output: string, i: number): AttributionJobSpec => ({
      kind: 'attribution',
      job: i,
      method: 'span',
      params: [],
      training: null,
      corpora: [ref],
      input: '',
      output,
      retrieved: [],
    });
    t = process.hrtime.bigint();
    await pool.run(job(outputs[0], 0)); // first job maps the cached segments into the worker
    const firstJobMs = ms(t);
    const samples: number[] = [];
    for (let i = 0; i < outputs.length; i++) {
      const s = process.hrtime.bigint();
      await pool.run(job(outputs[i], i));
      samples.push(ms(s));
    }
    const segs = loadRegistered(cacheDir, ref);
    // The normalised-words index of the same corpus, cold, and near-duplicate checks against it.
    const wordsCpu0 = process.cpuUsage();
    t = process.hrtime.bigint();
    const words = await pool.registerCorpus(
      { datanet: sha256(Buffer.from('bench')), version: 1, contributions: big.contributions },
      'nfkc-cf-words@1',
    );
    const wordsRegisterMs = ms(t);
    const wordsRegisterCpuMs = cpuMs(wordsCpu0);
    const wordsTokens = loadRegistered(cacheDir, words).reduce((a, x) => a + x.tokenCount, 0);
    const dupR = rng(9);
    const dupJob = (i: number): DuplicateJobSpec => {
      const src = big.contributions[Math.floor(dupR() * big.contributions.length)].content;
      // Half edited copies (upper-cased, one word in 5 replaced), half unseen text.
      const w = src.split(' ');
      const content =
        i % 2 === 0
          ? w.map((x, k) => (k % 5 === 2 ? 'zebra' : x.toUpperCase())).join(' ')
          : outputOf(tok, big.contributions, dupR, 900).split(' ').reverse().join(' ');
      return {
        kind: 'duplicate',
        job: i,
        params: [],
        corpora: [words],
        contribution: { id: sha256(Buffer.from(`dup/${i}`)), content, label: '' },
      };
    };
    await pool.run(dupJob(0));
    const dupSamples: number[] = [];
    let flagged = 0;
    const DUPS = quick ? 20 : 60;
    for (let i = 1; i <= DUPS; i++) {
      const s0 = process.hrtime.bigint();
      const r = await pool.run(dupJob(i));
      dupSamples.push(ms(s0));
      if (!r.ok && r.error === 'NEAR_DUPLICATE') flagged++;
    }
    duplicates = {
      corpusWords: wordsTokens,
      checks: DUPS,
      flagged,
      p50Ms: round(percentile(dupSamples, 50)),
      p99Ms: round(percentile(dupSamples, 99)),
      checksPerSec: round(1000 / (dupSamples.reduce((a, x) => a + x, 0) / DUPS), 1),
    };
    coldBuild = {
      tokens: {
        tokens: big.tokens,
        ms: Math.round(registerMs),
        tokensPerSec: Math.round(big.tokens / (registerMs / 1000)),
        processCpuMs: Math.round(registerCpuMs),
        tokensPerCpuSec: Math.round(big.tokens / (registerCpuMs / 1000)),
        goalTokensPerSec: 1_000_000,
        workerStartMs: Math.round(workerStartMs),
      },
      normalisedWords: {
        words: wordsTokens,
        ms: Math.round(wordsRegisterMs),
        wordsPerSec: Math.round(wordsTokens / (wordsRegisterMs / 1000)),
        wordsPerCpuSec: Math.round(wordsTokens / (wordsRegisterCpuMs / 1000)),
      },
      note: 'registerCorpus in one started worker thread, cold cache: tokenize/normalise + SA-IS + LCP + write; *PerCpuSec = on the process CPU time (the main thread only waits), which a busy shared machine distorts less than wall time',
    };
    worker = {
      corpusTokens: big.tokens,
      registerMs: Math.round(registerMs),
      firstJobMs: Math.round(firstJobMs),
      p50Ms: round(percentile(samples, 50)),
      p99Ms: round(percentile(samples, 99)),
      segments: segs.length,
    };
  } finally {
    await pool.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
  log(`span through a worker: ${JSON.stringify(worker)}`);

  const { training, influence } = await trainingBench(tok, quick);

  return {
    quick,
    loadAverage: { before: loadBefore, after: loadavg().map((x) => round(x, 2)) },
    tokenizer: tok.name,
    data: {
      files: FILES.length,
      rawBytes,
      baseTokens,
      tokenizeTokensPerSec: Math.round(baseTokens / (tokenizeMs / 1000)),
    },
    suffixArray,
    spanInProcess: {
      corpus1M: { tokens: small.tokens, ...span1M },
      corpusBig: { tokens: big.tokens, ...span10M },
      corpusBigDocumentBits: { tokens: big.tokens, ...span10MDocumentBits },
      outputTokens: 256,
    },
    spanInWorker: { ...worker, targetP50Ms: 20 },
    coldBuild,
    duplicates,
    tokenizerSpeed: tokenizer,
    training,
    influence,
    libdivsufsort: libdivsufsort(),
  };
}

/**
 * Training and influence on 5,000 labeled speeches (4 classes): the round-1 defaults (logreg@1,
 * exact-cg@1 — "today") and the current defaults (logreg@2, sgd-influence@1) in the same run, and
 * their ratio (issue 14: within 2× of today).
 */
async function trainingBench(tok: Awaited<ReturnType<typeof loadTokenizer>>, quick: boolean) {
  const shakespeare = readFileSync(join(FIXTURES, 'tinyshakespeare.txt'), 'utf8');
  const speechDocs: Doc[] = [];
  for (const b of shakespeare.split('\n\n')) {
    const lines = b.trim().split('\n');
    if (lines.length < 2 || !lines[0].endsWith(':')) continue;
    const c = lines[0].charCodeAt(0);
    const label = c < 71 ? 'A-F' : c < 77 ? 'G-L' : c < 83 ? 'M-R' : 'S-Z'; // speaker initial: 4 classes
    speechDocs.push({
      id: sha256(Buffer.from(`speech/${speechDocs.length}`)),
      label,
      tokens: tok.encode(lines.slice(1).join('\n')),
    });
    if (speechDocs.length === 5000) break;
  }
  const labels = labelSet(speechDocs);
  const probes = speechDocs.slice(0, quick ? 5 : 20);
  const run = (spec: { key: string; value: string }[]) => {
    const tp = parseTraining(spec);
    let t = process.hrtime.bigint();
    const examples = examplesOf(speechDocs, labels, tp);
    const featurizeMs = ms(t);
    t = process.hrtime.bigint();
    const trained = tp.trainer === 'logreg@2' ? trainLr2(examples, labels, tp) : null;
    const model = trained ? trained.model : trainLr(examples, labels, tp);
    const trainMs = ms(t);
    const avgFeatures = examples.reduce((a, e) => a + e.feats.length, 0) / examples.length;
    log(
      `${tp.trainer}: trained ${examples.length} examples × ${tp.features} features × ${tp.epochs} epochs, ${labels.length} labels, in ${Math.round(trainMs)} ms`,
    );
    t = process.hrtime.bigint();
    const probabilities = trained ? null : exampleProbabilities(model, examples); // once per model
    const probabilitiesMs = ms(t);
    const one = (tokens: Int32Array) =>
      trained
        ? sgdInfluenceScores(model, examples, trained.trace, tokens)
        : influenceScores(model, examples, tokens, { l2: tp.l2, cgIters: 16 }, probabilities!);
    one(probes[0].tokens); // warm-up
    const inf: number[] = [];
    for (const d of probes) {
      const s = process.hrtime.bigint();
      one(d.tokens);
      inf.push(ms(s));
    }
    return {
      training: {
        trainer: tp.trainer,
        examples: examples.length,
        features: tp.features,
        ngram: tp.ngram,
        epochs: tp.epochs,
        labels: labels.length,
        avgActiveFeatures: round(avgFeatures, 1),
        featurizeMs: Math.round(featurizeMs),
        trainMs: Math.round(trainMs),
      },
      influence: {
        method: trained ? 'sgd-influence@1' : 'exact-cg@1',
        examples: examples.length,
        perModelProbabilitiesMs: Math.round(probabilitiesMs),
        p50Ms: round(percentile(inf, 50)),
        p99Ms: round(percentile(inf, 99)),
      },
    };
  };
  const today = run([]); // round-1 defaults
  const current = run([{ key: 'trainer', value: 'logreg@2' }]);
  return {
    training: {
      round1Defaults: today.training,
      currentDefaults: current.training,
      ratioTrainMs: round(current.training.trainMs / Math.max(1, today.training.trainMs), 2),
      goalRatioMax: 2,
      targetMs: 2000,
    },
    influence: {
      round1Defaults: today.influence,
      currentDefaults: current.influence,
      ratioP50: round(current.influence.p50Ms / Math.max(0.001, today.influence.p50Ms), 2),
      goalRatioMax: 2,
      targetMs: 200,
    },
  };
}

function docStartsOf(docs: readonly Doc[]): Int32Array {
  const starts = new Int32Array(docs.length + 1);
  let p = 0;
  for (let d = 0; d < docs.length; d++) {
    starts[d] = p;
    p += docs[d].tokens.length + 1;
  }
  starts[docs.length] = p;
  return starts;
}
