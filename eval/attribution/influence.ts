import type { Doc } from '../../attribution/corpusIndex.js';
import { exampleProbabilities, influenceRaw, sgdInfluenceRaw } from '../../attribution/influence.js';
import { INFLUENCE_PARAMS, type InfluenceMethod, parseTraining } from '../../attribution/params.js';
import { DEFAULT_TOKENIZER, loadTokenizer } from '../../attribution/tokenizer.js';
import {
  examplesOf,
  featuresOf,
  type LrModel,
  labelSet,
  logitsOf,
  predict,
  trainLr,
  trainLr2,
} from '../../attribution/training.js';
import type { Param } from '../../core/tx.js';
import { fixture, idOf, PROSE_FILES, passages, rng, shuffle } from './texts.js';

/**
 * Influence faithfulness (issue 14, part 1), with the project's own trainer and nothing else:
 *
 * - accuracy: held-out accuracy of the trained classifier;
 * - spearman: for each of T held-out test inputs, the Spearman correlation between the influence
 *   scores of the model's prediction and the ACTUAL change of that prediction's loss when the
 *   example is removed and the model is retrained with `trainLr` (same spec, same seed): over the
 *   top `top` examples by |influence| and `rand` random others; the median over the test inputs;
 * - mislabels: 5 % of the training labels are replaced by another label at random; for every
 *   correctly classified test input of class c and every planted mislabel whose true label is c,
 *   the share of (test, mislabel) pairs whose influence is negative (the mislabel hurts).
 *
 * Datasets (deterministic, from test/fixtures): `books` — passages of six novels labeled by book
 * (prose); `plays` — speeches of four Shakespeare speakers (drama, not in the default run: speaker
 * identification from one speech is hard, accuracy ≈ 0.65); `sqlite` — passages of SQLite's documentation labeled by part (C API reference, SQL
 * language, design notes): technical text with heavy natural repetition (templated API pages).
 * Floats are fine here (the loss of the LOO comparison); the scores themselves are the chain's.
 */

export interface Dataset {
  name: string;
  train: Doc[];
  test: Doc[];
}

function log(msg: string): void {
  process.stderr.write(`[attribution eval: influence] ${msg}\n`);
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

/** Speeches of four speakers, in file order; every 5th held out. */
export async function playsDataset(max: number): Promise<Dataset> {
  const tok = await loadTokenizer(DEFAULT_TOKENIZER);
  const speakers = ['GLOUCESTER', 'MENENIUS', 'ROMEO', 'JULIET'];
  const docs: Doc[] = [];
  for (const b of fixture('tinyshakespeare.txt').split('\n\n')) {
    const lines = b.trim().split('\n');
    if (lines.length < 2 || !lines[0].endsWith(':')) continue;
    const who = lines[0].slice(0, -1);
    const text = lines.slice(1).join('\n');
    if (!speakers.includes(who) || words(text) < 12) continue;
    docs.push({ id: idOf(`plays/${docs.length}`), label: who, tokens: tok.encode(text) });
  }
  return split('plays', docs, max);
}

/** Passages (≥ 40 words) of six novels, labeled by book. */
export async function booksDataset(max: number): Promise<Dataset> {
  const tok = await loadTokenizer(DEFAULT_TOKENIZER);
  const docs: Doc[] = [];
  for (const f of PROSE_FILES.filter((f) => f.startsWith('gutenberg'))) {
    for (const p of passages([f], 40)) {
      docs.push({
        id: idOf(`books/${p.tag}`),
        label: f.slice('gutenberg-'.length, -'.txt'.length),
        tokens: tok.encode(p.text),
      });
    }
  }
  return split('books', docs, max);
}

/** SQLite documentation passages (≥ 30 words of consecutive paragraphs of one part). */
export async function sqliteDataset(max: number): Promise<Dataset> {
  const tok = await loadTokenizer(DEFAULT_TOKENIZER);
  const lines = fixture('sqlite-docs.txt').split('\n');
  const lastApi = lines.lastIndexOf('SQLite C Interface');
  const design = lines.indexOf('Datatypes In SQLite');
  const partOf = (i: number) => (i <= lastApi + 12 ? 'c-api' : i < design ? 'sql' : 'design');
  const docs: Doc[] = [];
  let cur: string[] = [];
  let curPart = '';
  const flush = () => {
    const text = cur.join('\n\n');
    if (words(text) >= 30)
      docs.push({ id: idOf(`sqlite/${docs.length}`), label: curPart, tokens: tok.encode(text) });
    cur = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t.length === 0) continue;
    const part = partOf(i);
    if (part !== curPart) {
      flush();
      curPart = part;
    }
    cur.push(t);
    if (words(cur.join(' ')) >= 40) flush();
  }
  flush();
  return split('sqlite', docs, max);
}

/** A class-balanced sample of at most `max` documents (seeded), 4/5 train and 1/5 test. */
function split(name: string, docs: Doc[], max: number): Dataset {
  const byLabel = new Map<string, Doc[]>();
  for (const d of docs) byLabel.set(d.label, [...(byLabel.get(d.label) ?? []), d]);
  const per = Math.floor(max / byLabel.size);
  const r = rng(14);
  const train: Doc[] = [];
  const test: Doc[] = [];
  for (const l of [...byLabel.keys()].sort()) {
    const list = shuffle(byLabel.get(l)!, r).slice(0, per);
    for (let i = 0; i < list.length; i++) (i % 5 === 4 ? test : train).push(list[i]);
  }
  return { name, train, test };
}

// ---- measurement --------------------------------------------------------------------------------

function ranks(a: readonly number[]): number[] {
  const idx = a.map((_, i) => i).sort((x, y) => a[x] - a[y]);
  const r = new Array<number>(a.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && a[idx[j + 1]] === a[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

export function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((x, y) => x + y, 0) / n;
  const mb = rb.reduce((x, y) => x + y, 0) / n;
  let s = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    s += (ra[i] - ma) * (rb[i] - mb);
    sa += (ra[i] - ma) ** 2;
    sb += (rb[i] - mb) ** 2;
  }
  return sa === 0 || sb === 0 ? 0 : s / Math.sqrt(sa * sb);
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Cross-entropy (nats) of `label` for a test input under a trained model (float, eval only). */
function lossOf(model: LrModel, feats: Int32Array, label: number): number {
  const K = model.labels.length;
  const z: number[] = new Array(K).fill(0);
  logitsOf(model.weights, model.features + 1, K, feats, z);
  const scale = model.trainer === 'logreg@1' ? 2 ** 16 : 2 ** 24;
  const m = Math.max(...z);
  let s = 0;
  for (const v of z) s += Math.exp((v - m) / scale);
  return Math.log(s) - (z[label] - m) / scale;
}

type Trained = ReturnType<typeof train>;

function train(docs: readonly Doc[], spec: Param[]) {
  const tp = parseTraining(spec);
  const labels = labelSet(docs);
  const examples = examplesOf(docs, labels, tp);
  if (tp.trainer === 'logreg@2') {
    const { model, trace } = trainLr2(examples, labels, tp);
    return { tp, labels, examples, model, trace };
  }
  return { tp, labels, examples, model: trainLr(examples, labels, tp), trace: null };
}

function scoresOf(t: Trained, method: InfluenceMethod, tokens: Int32Array, P?: Int32Array) {
  if (method === 'sgd-influence@1') return sgdInfluenceRaw(t.model, t.examples, t.trace!, tokens);
  return influenceRaw(
    t.model,
    t.examples,
    tokens,
    { l2: t.tp.l2, cgIters: INFLUENCE_PARAMS.cgIters.default },
    P,
  );
}

function accuracy(t: Trained, test: readonly Doc[]): number {
  let right = 0;
  for (const d of test) if (t.labels[predict(t.model, d.tokens).label] === d.label) right++;
  return right / test.length;
}

export interface InfluenceFigures {
  examples: number;
  labels: number;
  accuracy: number;
  nonZeroScoreShare: number;
  spearmanMedian: number;
  spearmanMin: number;
  testInputs: number;
  looRetrains: number;
  mislabelNegativeShare: number;
  mislabelPairs: number;
}

/** The figures for one dataset, spec and method. */
export function measureInfluence(
  ds: Dataset,
  spec: Param[],
  method: InfluenceMethod,
  opts: { tests: number; top: number; rand: number; mislabels?: boolean },
): InfluenceFigures {
  const base = train(ds.train, spec);
  const P = method === 'exact-cg@1' ? exampleProbabilities(base.model, base.examples) : undefined;
  const acc = accuracy(base, ds.test);
  const r = rng(1401);
  const tests = shuffle(ds.test, r).slice(0, opts.tests);
  const n = base.examples.length;
  // Influence of every example on each test prediction.
  const per = tests.map((d) => {
    const { label, raw } = scoresOf(base, method, d.tokens, P);
    const feats = featuresOf(d.tokens, base.model.features, base.model.ngram);
    const order = raw.map((_, i) => i).sort((a, b) => Math.abs(raw[b]) - Math.abs(raw[a]) || a - b);
    const top = order.slice(0, opts.top);
    const rest = shuffle(order.slice(opts.top), r).slice(0, opts.rand);
    return { label, raw, feats, chosen: [...top, ...rest] };
  });
  let nonZero = 0;
  for (const p of per) for (const x of p.raw) if (x !== 0) nonZero++;
  // Leave-one-out retraining with the project's trainer, once per example needed by any test.
  const needed = [...new Set(per.flatMap((p) => p.chosen))].sort((a, b) => a - b);
  const baseLoss = per.map((p) => lossOf(base.model, p.feats, p.label));
  const delta = new Map<number, number[]>();
  for (const i of needed) {
    const docsLoo = ds.train.filter((d) => d.id !== base.examples[i].id);
    const loo = train(docsLoo, spec);
    // Label sets are equal (every label has many examples); feature hashing is the same.
    delta.set(
      i,
      per.map((p, k) => lossOf(loo.model, p.feats, p.label) - baseLoss[k]),
    );
  }
  const rhos = per.map((p, k) =>
    spearman(
      p.chosen.map((i) => p.raw[i]),
      p.chosen.map((i) => delta.get(i)![k]),
    ),
  );
  let mislabelNegativeShare = Number.NaN;
  let pairs = 0;
  if (opts.mislabels !== false) {
    ({ share: mislabelNegativeShare, pairs } = mislabelFigure(ds, spec, method, opts.tests * 2));
  }
  return {
    examples: n,
    labels: base.labels.length,
    accuracy: round3(acc),
    nonZeroScoreShare: round3(nonZero / (n * per.length)),
    spearmanMedian: round3(median(rhos)),
    spearmanMin: round3(Math.min(...rhos)),
    testInputs: per.length,
    looRetrains: needed.length,
    mislabelNegativeShare: round3(mislabelNegativeShare),
    mislabelPairs: pairs,
  };
}

/** Plants 5 % mislabels; share of (correct test of class c, mislabel of true class c) pairs < 0. */
export function mislabelFigure(ds: Dataset, spec: Param[], method: InfluenceMethod, testsMax: number) {
  const r = rng(1402);
  const labels = labelSet(ds.train);
  const flipped = new Map<string, string>(); // id hex → true label
  const noisy = ds.train.map((d) => {
    if (r() >= 0.05) return d;
    const others = labels.filter((l) => l !== d.label);
    const wrong = others[Math.floor(r() * others.length)];
    flipped.set(Buffer.from(d.id).toString('hex'), d.label);
    return { ...d, label: wrong };
  });
  const t = train(noisy, spec);
  const P = method === 'exact-cg@1' ? exampleProbabilities(t.model, t.examples) : undefined;
  const trueOf = t.examples.map((ex) => flipped.get(Buffer.from(ex.id).toString('hex')) ?? null);
  let pairs = 0;
  let negative = 0;
  let used = 0;
  for (const d of shuffle(ds.test, r)) {
    if (used >= testsMax) break;
    const { label, raw } = scoresOf(t, method, d.tokens, P);
    if (t.labels[label] !== d.label) continue; // correctly classified only
    used++;
    for (let i = 0; i < raw.length; i++) {
      if (trueOf[i] !== d.label) continue;
      pairs++;
      if (raw[i] < 0) negative++;
    }
  }
  return { share: pairs === 0 ? Number.NaN : negative / pairs, pairs };
}

/** The default spec of the current trainer: nothing but the trainer named. */
export const CURRENT_DEFAULT_SPEC: Param[] = [{ key: 'trainer', value: 'logreg@2' }];

export async function evalInfluence(opts: { quick?: boolean }): Promise<Record<string, unknown>> {
  const quick = opts.quick === true;
  const size = quick ? 300 : 800;
  const shape = quick ? { tests: 6, top: 20, rand: 20 } : { tests: 20, top: 50, rand: 50 };
  const datasets = [await booksDataset(size), await sqliteDataset(size)];
  const out: Record<string, unknown> = {
    method:
      'LOO = retrain with trainLr (same spec) without the example; loss = cross-entropy of the prediction',
    shape,
  };
  for (const ds of datasets) {
    log(`${ds.name}: ${ds.train.length} train, ${ds.test.length} test`);
    const figures: Record<string, unknown> = {};
    figures.defaultSpec = measureInfluence(ds, CURRENT_DEFAULT_SPEC, 'sgd-influence@1', shape);
    log(`${ds.name} defaultSpec ${JSON.stringify(figures.defaultSpec)}`);
    // The round-1 meaning (no trainer named): what models registered before round 2 get.
    figures.round1Defaults = measureInfluence(ds, [], 'exact-cg@1', { ...shape, mislabels: false });
    log(`${ds.name} round1Defaults ${JSON.stringify(figures.round1Defaults)}`);
    if (!quick) {
      figures.exactCgAtDefaultSpec = measureInfluence(ds, CURRENT_DEFAULT_SPEC, 'exact-cg@1', shape);
      log(`${ds.name} exactCg ${JSON.stringify(figures.exactCgAtDefaultSpec)}`);
    }
    out[ds.name] = figures;
  }
  return out;
}
