import { compareBytes } from '../core/bytes.js';
import { encodeWire } from '../core/codec.js';
import { assert } from '../core/errors.js';
import { sha256 } from '../core/hash.js';
import type { Doc } from './corpusIndex.js';
import { AttributionError } from './errors.js';
import {
  FP_ONE,
  floorDiv,
  mulByQ30,
  mulFp,
  powOneMinusFp,
  powOneMinusQ30,
  softmaxFp,
  softmaxWide,
  WIDE_PROB_BITS,
} from './fixedPoint.js';

/**
 * Deterministic training of small classifiers: multinomial logistic regression over hashed token
 * n-gram features, in Q16 fixed point (fixedPoint.ts). Consensus-critical: every validator must
 * derive the same weights and weights hash, so there is no float, the example order is a pure
 * function of (seed, epoch, contribution id), and the step count is fixed.
 *
 * Features of a text: for n = 1..ngram, each token n-gram hashed (FNV-1a over 32-bit words,
 * `Math.imul`) into `features` buckets; binary (present or not); plus one always-on bias feature
 * (index `features`). Labels: the distinct labels of the training set, sorted by UTF-8 bytes.
 *
 * Objective: (1/n) Σ_i CE(softmax(W x_i), y_i) + (λ/2)‖W‖². SGD: epoch e visits the examples
 * in the order of sha256("ol/lr-order/1" ‖ seed ‖ e ‖ id), with step η_e = ⌊η₀ / (e+1)⌋; each
 * step subtracts η_e·(p_k − y_k) from the weights of the example's features. The L2 part is
 * applied once per epoch, as the compounded factor (1 − η_e λ)^n that per-step decay would give.
 * Weights are clamped to ±WEIGHT_ABS_MAX (never reached in practice; it keeps Int32 encoding).
 */

export const WEIGHT_ABS_MAX = 2 ** 30;
/** Work limits checked before training (DESIGN §4: jobs bounded by hard limits). */
export const TRAINING_EXAMPLES_MAX = 50_000;
export const TRAINING_STEPS_MAX = 1_000_000; // examples × epochs
export const TRAINING_PARAMETERS_MAX = 1 << 20; // labels × (features + 1)
export const TRAINING_TOKENS_MAX = 10_000_000;
export const LABELS_MIN = 2;

/**
 * Trainer versions (the training spec's `trainer`; a model pins it, absent = `logreg@1`):
 * - `logreg@1` (round 1): Q16 weights and the Q16 softmax, which saturates to exactly 0/1.
 * - `logreg@2`: Q24 weights, the wide softmax (Q48 probabilities, fixedPoint.ts), the gradient
 *   of the true label = −Σ of the others (it sums to zero exactly), L2 factor in Q30, and the
 *   per-step probabilities recorded (`TrainingTrace`) for `sgd-influence@1`.
 * Old names keep their meaning forever: a model registered under `logreg@1` trains bit-identically.
 */
export const TRAINERS = ['logreg@1', 'logreg@2'] as const;
export type TrainerName = (typeof TRAINERS)[number];
/** What `trainer` means when a spec does not name one (every model registered before round 2). */
export const TRAINER_ABSENT: TrainerName = 'logreg@1';
/** What new registrations pin (vm/models.ts inserts it when a training spec names no trainer). */
export const TRAINER_CURRENT: TrainerName = 'logreg@2';
/** Largest training trace of logreg@2 (steps × labels recorded probabilities: 8 bytes each). */
export const TRAINING_TRACE_VALUES_MAX = 1 << 22;

export interface TrainingOptions {
  trainer: TrainerName;
  features: number;
  ngram: number;
  epochs: number;
  lr: number; // Q16
  l2: number; // Q16
  seed: string;
}

export interface Example {
  id: Uint8Array;
  label: number;
  /** Sorted distinct feature indices, the bias last. */
  feats: Int32Array;
}

export interface LrModel {
  labels: string[];
  features: number;
  ngram: number;
  /** Q16 weights, row-major [label][feature], features + 1 columns (bias last). */
  weights: Int32Array;
  weightsHash: Uint8Array;
  /** The trainer that produced it (logit scale: Q16 for logreg@1, Q24 for logreg@2). */
  trainer: TrainerName;
}

/**
 * What logreg@2 records while training, for influence by replaying SGD backwards: the example
 * index (into the sorted examples) of every step, the Q48 probabilities that step computed
 * (row-major [step][label]), and per epoch the step size (Q16) and the L2 factor (Q30).
 */
export interface TrainingTrace {
  order: Int32Array;
  probs: Float64Array;
  eta: number[];
  shrink: number[];
}

/** Hashed binary n-gram features of a token sequence (sorted, distinct, bias last). */
export function featuresOf(tokens: Int32Array, features: number, ngram: number): Int32Array {
  const mask = features - 1;
  const set = new Set<number>();
  for (let n = 1; n <= ngram; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      let h = 0x811c9dc5 ^ n;
      h = Math.imul(h, 0x01000193);
      for (let k = 0; k < n; k++) {
        h ^= tokens[i + k];
        h = Math.imul(h, 0x01000193);
      }
      set.add((h >>> 0) & mask);
    }
  }
  const out = new Int32Array(set.size + 1);
  let j = 0;
  for (const f of set) out[j++] = f;
  out.subarray(0, set.size).sort();
  out[set.size] = features;
  return out;
}

/** Sorted distinct labels (UTF-8 byte order). */
export function labelSet(docs: readonly { label: string }[]): string[] {
  const labels = [...new Set(docs.map((d) => d.label))];
  return labels.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Validates a training set against the work limits (cheap; before any heavy work). */
export function checkTrainingWork(docs: readonly Doc[], opts: TrainingOptions): string[] {
  if (docs.length === 0)
    throw new AttributionError('CORPUS_EMPTY', 'the training datanets have no accepted contributions');
  if (docs.length > TRAINING_EXAMPLES_MAX) {
    throw new AttributionError('TRAINING_OVER_LIMIT', `${docs.length} examples > ${TRAINING_EXAMPLES_MAX}`);
  }
  if (docs.length * opts.epochs > TRAINING_STEPS_MAX) {
    throw new AttributionError(
      'TRAINING_OVER_LIMIT',
      `examples × epochs = ${docs.length * opts.epochs} > ${TRAINING_STEPS_MAX}`,
    );
  }
  let tokens = 0;
  for (const d of docs) tokens += d.tokens.length;
  if (tokens > TRAINING_TOKENS_MAX) {
    throw new AttributionError('TRAINING_OVER_LIMIT', `${tokens} training tokens > ${TRAINING_TOKENS_MAX}`);
  }
  const labels = labelSet(docs);
  if (labels.length < LABELS_MIN) {
    throw new AttributionError(
      'TRAINING_LABELS',
      `a classifier needs at least ${LABELS_MIN} distinct labels, got ${labels.length}`,
    );
  }
  if (labels.length * (opts.features + 1) > TRAINING_PARAMETERS_MAX) {
    throw new AttributionError(
      'TRAINING_OVER_LIMIT',
      `labels × (features + 1) = ${labels.length * (opts.features + 1)} > ${TRAINING_PARAMETERS_MAX}`,
    );
  }
  if (opts.trainer === 'logreg@2' && docs.length * opts.epochs * labels.length > TRAINING_TRACE_VALUES_MAX) {
    throw new AttributionError(
      'TRAINING_OVER_LIMIT',
      `examples × epochs × labels = ${docs.length * opts.epochs * labels.length} > ${TRAINING_TRACE_VALUES_MAX} (the recorded training trace)`,
    );
  }
  return labels;
}

export function examplesOf(
  docs: readonly Doc[],
  labels: readonly string[],
  opts: TrainingOptions,
): Example[] {
  const index = new Map(labels.map((l, i) => [l, i]));
  return [...docs]
    .sort((a, b) => compareBytes(a.id, b.id))
    .map((d) => ({
      id: d.id,
      label: index.get(d.label)!,
      feats: featuresOf(d.tokens, opts.features, opts.ngram),
    }));
}

/** Q16 logits W·x for a feature list. */
export function logitsOf(
  weights: ArrayLike<number>,
  columns: number,
  k: number,
  feats: Int32Array,
  out: number[],
): void {
  for (let c = 0; c < k; c++) {
    const row = c * columns;
    let z = 0;
    for (let j = 0; j < feats.length; j++) z += weights[row + feats[j]];
    out[c] = z;
  }
}

/** The example visiting order of one epoch. */
export function epochOrder(examples: readonly Example[], seed: string, epoch: number): Example[] {
  const prefix = Buffer.concat([
    Buffer.from('ol/lr-order/1\0'),
    Buffer.from(seed),
    Buffer.from([0, epoch >>> 8, epoch & 255]),
  ]);
  const keyed = examples.map((ex) => ({ ex, key: sha256(Buffer.concat([prefix, ex.id])) }));
  keyed.sort((a, b) => compareBytes(a.key, b.key) || compareBytes(a.ex.id, b.ex.id));
  return keyed.map((k) => k.ex);
}

/** Trains; pure function of (examples, labels, options). */
export function trainLr(
  examples: readonly Example[],
  labels: readonly string[],
  opts: TrainingOptions,
): LrModel {
  return opts.trainer === 'logreg@2'
    ? trainLr2(examples, labels, opts).model
    : trainLr1(examples, labels, opts);
}

/** logreg@1, exactly as in round 1. */
function trainLr1(examples: readonly Example[], labels: readonly string[], opts: TrainingOptions): LrModel {
  const K = labels.length;
  const D = opts.features + 1;
  assert(K >= LABELS_MIN && examples.length > 0, 'trainLr: validated input');
  const W = new Float64Array(K * D); // exact integers (Q16)
  const z: number[] = new Array(K).fill(0);
  const p = new Int32Array(K);
  const n = examples.length;
  for (let e = 0; e < opts.epochs; e++) {
    const eta = floorDiv(opts.lr, e + 1);
    for (const ex of epochOrder(examples, opts.seed, e)) {
      const feats = ex.feats;
      logitsOf(W, D, K, feats, z);
      softmaxFp(z, p);
      for (let c = 0; c < K; c++) {
        const g = p[c] - (c === ex.label ? FP_ONE : 0);
        const step = mulFp(eta, g);
        if (step === 0) continue;
        const row = c * D;
        for (let j = 0; j < feats.length; j++) {
          const idx = row + feats[j];
          let w = W[idx] - step;
          if (w > WEIGHT_ABS_MAX) w = WEIGHT_ABS_MAX;
          else if (w < -WEIGHT_ABS_MAX) w = -WEIGHT_ABS_MAX;
          W[idx] = w;
        }
      }
    }
    const shrink = powOneMinusFp(Math.min(FP_ONE, mulFp(eta, opts.l2)), n);
    for (let i = 0; i < W.length; i++) if (W[i] !== 0) W[i] = mulFp(W[i], shrink);
  }
  const weights = Int32Array.from(W);
  return {
    labels: [...labels],
    features: opts.features,
    ngram: opts.ngram,
    weights,
    weightsHash: weightsHashOf(labels, opts, weights),
    trainer: 'logreg@1',
  };
}

/**
 * logreg@2: the same SGD as logreg@1 (order, step η₀/(e+1), L2 once per epoch as (1 − ηλ)^n) on
 * Q24 weights with the wide softmax, so that confident examples keep a small non-zero gradient,
 * and the trace the influence replays. Step of label c: ⌊η·g_c / 2^40⌋ (Q16 · Q48 → Q24).
 */
export function trainLr2(
  examples: readonly Example[],
  labels: readonly string[],
  opts: TrainingOptions,
): { model: LrModel; trace: TrainingTrace } {
  const K = labels.length;
  const D = opts.features + 1;
  assert(K >= LABELS_MIN && examples.length > 0, 'trainLr2: validated input');
  const n = examples.length;
  const W = new Float64Array(K * D); // exact integers (Q24)
  const z: number[] = new Array(K).fill(0);
  const p = new Float64Array(K);
  const step = new Float64Array(K);
  const index = new Map<Example, number>(examples.map((ex, i) => [ex, i]));
  const order = new Int32Array(n * opts.epochs);
  const probs = new Float64Array(n * opts.epochs * K);
  const eta: number[] = [];
  const shrink: number[] = [];
  const SHIFT = BigInt(WIDE_PROB_BITS + 16 - 24);
  let t = 0;
  for (let e = 0; e < opts.epochs; e++) {
    const etaE = floorDiv(opts.lr, e + 1);
    const etaBig = BigInt(etaE);
    eta.push(etaE);
    for (const ex of epochOrder(examples, opts.seed, e)) {
      const feats = ex.feats;
      logitsOf(W, D, K, feats, z);
      softmaxWide(z, p);
      order[t] = index.get(ex)!;
      probs.set(p, t * K);
      t++;
      let others = 0;
      for (let c = 0; c < K; c++) if (c !== ex.label) others += p[c];
      for (let c = 0; c < K; c++) {
        const g = c === ex.label ? -others : p[c]; // Q48; Σ_c g_c = 0 exactly
        step[c] = g === 0 ? 0 : Number((etaBig * BigInt(g)) >> SHIFT); // floor (BigInt >> floors)
      }
      for (let c = 0; c < K; c++) {
        const s = step[c];
        if (s === 0) continue;
        const row = c * D;
        for (let j = 0; j < feats.length; j++) {
          const idx = row + feats[j];
          let w = W[idx] - s;
          if (w > WEIGHT_ABS_MAX) w = WEIGHT_ABS_MAX;
          else if (w < -WEIGHT_ABS_MAX) w = -WEIGHT_ABS_MAX;
          W[idx] = w;
        }
      }
    }
    const f = powOneMinusQ30(Math.min(FP_ONE, mulFp(etaE, opts.l2)), n);
    shrink.push(f);
    for (let i = 0; i < W.length; i++) if (W[i] !== 0) W[i] = mulByQ30(W[i], f);
  }
  const weights = Int32Array.from(W);
  return {
    model: {
      labels: [...labels],
      features: opts.features,
      ngram: opts.ngram,
      weights,
      weightsHash: weightsHashOf(labels, opts, weights),
      trainer: 'logreg@2',
    },
    trace: { order, probs, eta, shrink },
  };
}

/** sha256 of the canonical encoding of the trained model (what `JobResult.weightsHash` carries). */
export function weightsHashOf(
  labels: readonly string[],
  opts: TrainingOptions,
  weights: Int32Array,
): Uint8Array {
  const bytes = new Uint8Array(weights.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < weights.length; i++) view.setInt32(i * 4, weights[i], true);
  if (opts.trainer === 'logreg@1') {
    return sha256(encodeWire(['ol/lr-weights/1', [...labels], opts.features, opts.ngram, bytes]));
  }
  return sha256(encodeWire(['ol/lr-weights/2', opts.trainer, [...labels], opts.features, opts.ngram, bytes]));
}

/** Deterministic inference: the label with the largest logit, ties to the smaller label index. */
export function predict(model: LrModel, tokens: Int32Array): { label: number; logits: number[] } {
  const K = model.labels.length;
  const z: number[] = new Array(K).fill(0);
  logitsOf(model.weights, model.features + 1, K, featuresOf(tokens, model.features, model.ngram), z);
  let best = 0;
  for (let c = 1; c < K; c++) if (z[c] > z[best]) best = c;
  return { label: best, logits: z };
}
