import { assert } from '../core/errors.js';
import type { Score } from '../core/tx.js';
import {
  bigFloorDivClamped,
  clampAbs,
  divFp,
  dotExact,
  FP_ONE,
  floorDiv,
  mulByQ30,
  mulFp,
  softmaxFp,
  softmaxWide,
  WIDE_PROB_BITS,
} from './fixedPoint.js';
import { limitScores } from './scores.js';
import { type Example, featuresOf, type LrModel, logitsOf, type TrainingTrace } from './training.js';

/**
 * Influence of each training example on one prediction of a chain-trained logistic regression
 * (Koh & Liang, "Understanding Black-box Predictions via Influence Functions", ICML 2017).
 * Consensus-critical: Q16 fixed point (fixedPoint.ts), exact BigInt dot products, fixed
 * iteration count, fixed summation order; no float values, no clock, no randomness.
 *
 * With θ the trained weights, L_i the cross-entropy of example i, L_test the cross-entropy of the
 * predicted label ŷ of the receipt's input, and H = (1/n) Σ_i ∇²L_i + λI the Hessian of the
 * training objective, Koh & Liang's I_up,loss(z_i) = −∇L_testᵀ H⁻¹ ∇L_i. We pay helpfulness, its
 * negation, which is the first-order estimate of how much the test loss would rise if example i
 * were left out (LOO): n · (L_test(θ₋ᵢ) − L_test(θ)) ≈ ∇L_testᵀ H⁻¹ ∇L_i. Positive = helpful.
 *
 *     score_i = ⌊2^16 · sᵀ ∇L_i⌋ (summed in Q16), where s = H⁻¹ ∇L_test
 *
 * s is computed once per prediction by Jacobi-preconditioned conjugate gradient with a fixed
 * number of iterations (`cgIters`), not by inverting H: H v is applied exactly from its structure,
 * ∇²L_i = (diag(p_i) − p_i p_iᵀ) ⊗ x_i x_iᵀ, so each product costs O(Σ_i |x_i| · K). This is the
 * exact influence up to CG convergence (no DataInf-style Hessian approximation is needed at these
 * sizes). Only positive scores are paid (limitScores).
 */

/**
 * Saturation bounds. For sane specs nothing comes near them (|s| ≲ |∇L_test| / λ); they exist so
 * that every operation stays inside the exact ranges of fixedPoint.ts for ANY spec, and a hostile
 * spec yields a deterministic (saturated) result instead of an assertion.
 */
export const INFLUENCE_VEC_ABS_MAX = 2 ** 31; // Q16 vector entries: |x| ≤ 32768
const SUM_ABS_MAX = 2 ** 36; // feature sums before a product with a probability
const STEP_ABS_MAX = 2 ** 36; // CG α and β (Q16)

export interface InfluenceOptions {
  /** λ of the training objective (Q16). */
  l2: number;
  cgIters: number;
}

/**
 * Per-example probabilities under the model, Q16, row-major [example][label]. They depend on the
 * model only, so callers answering many predictions compute them once and pass them in.
 */
export function exampleProbabilities(model: LrModel, examples: readonly Example[]): Int32Array {
  const K = model.labels.length;
  const D = model.features + 1;
  const P = new Int32Array(examples.length * K);
  const z: number[] = new Array(K).fill(0);
  const p = new Int32Array(K);
  for (let i = 0; i < examples.length; i++) {
    logitsOf(model.weights, D, K, examples[i].feats, z);
    softmaxQ16(model, z, p);
    P.set(p, i * K);
  }
  return P;
}

/**
 * Q16 probabilities of a model's logits: the Q16 softmax for logreg@1 (its round-1 meaning), the
 * wide softmax floored to Q16 for logreg@2 (Q24 logits). `skip`: leave that label out (logreg@2).
 */
function softmaxQ16(model: LrModel, z: readonly number[], out: Int32Array, skip = -1): void {
  if (model.trainer === 'logreg@1') {
    softmaxFp(z, out);
    return;
  }
  const wide = new Float64Array(z.length);
  softmaxWide(z, wide, skip);
  for (let c = 0; c < z.length; c++) out[c] = Math.floor(wide[c] / 2 ** (WIDE_PROB_BITS - 16));
}

/**
 * out = (H + λI) v, Q16, exact floors in a fixed order. Vectors are feature-major
 * (index f·K + c) so one example touches one cache line per feature; every sum is of exact
 * integers, so the layout does not change any value.
 */
function hessianTimes(
  layout: FlatFeatures,
  P: Int32Array,
  K: number,
  l2: number,
  v: Float64Array,
  out: Float64Array,
  acc: Float64Array,
): void {
  acc.fill(0);
  const u = new Float64Array(K);
  const w = new Float64Array(K);
  const { at, starts } = layout;
  const n = starts.length - 1;
  for (let i = 0; i < n; i++) {
    const from = starts[i];
    const to = starts[i + 1];
    const base = i * K;
    u.fill(0);
    for (let j = from; j < to; j++) {
      const a = at[j];
      for (let c = 0; c < K; c++) u[c] += v[a + c];
    }
    let pu = 0;
    for (let c = 0; c < K; c++) {
      u[c] = clampAbs(u[c], SUM_ABS_MAX);
      pu += mulFp(P[base + c], u[c]);
    }
    pu = clampAbs(pu, SUM_ABS_MAX);
    let any = false;
    for (let c = 0; c < K; c++) {
      w[c] = mulFp(P[base + c], clampAbs(u[c] - pu, SUM_ABS_MAX));
      if (w[c] !== 0) any = true;
    }
    if (!any) continue;
    for (let j = from; j < to; j++) {
      const a = at[j];
      for (let c = 0; c < K; c++) acc[a + c] += w[c];
    }
  }
  for (let j = 0; j < out.length; j++) {
    out[j] = clampAbs(floorDiv(acc[j], n) + mulFp(l2, v[j]), INFLUENCE_VEC_ABS_MAX);
  }
}

/** All examples' features in one array, as vector offsets f·K (locality for the CG loops). */
interface FlatFeatures {
  at: Int32Array;
  starts: Int32Array;
}

function flatten(examples: readonly Example[], K: number): FlatFeatures {
  const starts = new Int32Array(examples.length + 1);
  for (let i = 0; i < examples.length; i++) starts[i + 1] = starts[i] + examples[i].feats.length;
  const at = new Int32Array(starts[examples.length]);
  for (let i = 0; i < examples.length; i++) {
    const f = examples[i].feats;
    for (let j = 0; j < f.length; j++) at[starts[i] + j] = f[j] * K;
  }
  return { at, starts };
}

/**
 * Influence scores of every training example (one per contribution) for the model's prediction
 * on `inputTokens`. Returns the predicted label index too, so callers check receipts with it.
 */
export function influenceScores(
  model: LrModel,
  examples: readonly Example[],
  inputTokens: Int32Array,
  opts: InfluenceOptions,
  probabilities: Int32Array = exampleProbabilities(model, examples),
): { label: number; scores: Score[] } {
  const { label, raw } = influenceRaw(model, examples, inputTokens, opts, probabilities);
  return { label, scores: limitScores(examples.map((ex, i) => ({ contribution: ex.id, score: raw[i] }))) };
}

/** Signed Q16 influence of every example (same order as `examples`), before keeping positives. */
export function influenceRaw(
  model: LrModel,
  examples: readonly Example[],
  inputTokens: Int32Array,
  opts: InfluenceOptions,
  probabilities: Int32Array = exampleProbabilities(model, examples),
): { label: number; raw: number[] } {
  const K = model.labels.length;
  const D = model.features + 1;
  const dim = K * D;
  assert(examples.length > 0, 'influence: examples');
  const testFeats = featuresOf(inputTokens, model.features, model.ngram);
  const z: number[] = new Array(K).fill(0);
  logitsOf(model.weights, D, K, testFeats, z);
  let label = 0;
  for (let c = 1; c < K; c++) if (z[c] > z[label]) label = c;
  const pt = new Int32Array(K);
  // logreg@1: g = ∇L_test = (p − e_ŷ) ⊗ x_test (round 1). logreg@2: the direction of the test
  // margin m = LSE_{c≠ŷ} z_c − z_ŷ, i.e. q = softmax over the other labels (∇L_test = (1 − p_ŷ)∇m:
  // the same ranking, and it never saturates).
  softmaxQ16(model, z, pt, model.trainer === 'logreg@1' ? -1 : label);

  const g = new Float64Array(dim);
  for (let c = 0; c < K; c++) {
    const gc = pt[c] - (c === label ? FP_ONE : 0);
    for (let j = 0; j < testFeats.length; j++) g[testFeats[j] * K + c] = gc;
  }

  const P = probabilities;
  const s = conjugateGradient(examples, P, K, D, opts, g);

  // score_i = Σ_c (p_ic − y_ic) · Σ_{j ∈ x_i} s[j, c], Q16.
  const raw: number[] = [];
  const sx = new Float64Array(K);
  for (let i = 0; i < examples.length; i++) {
    const ex = examples[i];
    sx.fill(0);
    for (let j = 0; j < ex.feats.length; j++) {
      const at = ex.feats[j] * K;
      for (let c = 0; c < K; c++) sx[c] += s[at + c];
    }
    let score = 0;
    for (let c = 0; c < K; c++) {
      score += mulFp(P[i * K + c] - (c === ex.label ? FP_ONE : 0), clampAbs(sx[c], SUM_ABS_MAX));
    }
    raw.push(score);
  }
  return { label, raw };
}

/**
 * diag(H + λI), Q16, feature-major: (1/n) Σ_{i: f ∈ x_i} p_ic (1 − p_ic) + λ. The Jacobi
 * preconditioner: hashed n-gram features range from the always-on bias to singletons, so H is
 * badly scaled and plain CG needs many more iterations for the same accuracy.
 */
function hessianDiagonal(
  examples: readonly Example[],
  P: Int32Array,
  K: number,
  dim: number,
  l2: number,
): Float64Array {
  const acc = new Float64Array(dim);
  const h = new Float64Array(K);
  for (let i = 0; i < examples.length; i++) {
    const feats = examples[i].feats;
    for (let c = 0; c < K; c++) {
      const p = P[i * K + c];
      h[c] = mulFp(p, FP_ONE - p);
    }
    for (let j = 0; j < feats.length; j++) {
      const at = feats[j] * K;
      for (let c = 0; c < K; c++) acc[at + c] += h[c];
    }
  }
  const n = examples.length;
  for (let j = 0; j < dim; j++) acc[j] = floorDiv(acc[j], n) + l2;
  return acc;
}

/**
 * Solves (H + λI) s = g by `cgIters` steps of Jacobi-preconditioned conjugate gradient from
 * s = 0, Q16, every product floored, every scalar an exact BigInt ratio.
 */
export function conjugateGradient(
  examples: readonly Example[],
  P: Int32Array,
  K: number,
  D: number,
  opts: InfluenceOptions,
  g: Float64Array,
): Float64Array {
  const dim = K * D;
  const layout = flatten(examples, K);
  const diag = hessianDiagonal(examples, P, K, dim, opts.l2);
  const precondition = (r: Float64Array, z: Float64Array) => {
    for (let j = 0; j < dim; j++)
      z[j] = r[j] === 0 ? 0 : clampAbs(divFp(r[j], diag[j]), INFLUENCE_VEC_ABS_MAX);
  };
  const s = new Float64Array(dim);
  const r = Float64Array.from(g);
  const z = new Float64Array(dim);
  precondition(r, z);
  const p = Float64Array.from(z);
  const Ap = new Float64Array(dim);
  const acc = new Float64Array(dim);
  let rz = dotExact(r, z, dim);
  const SCALE = BigInt(FP_ONE);
  for (let it = 0; it < opts.cgIters && rz > 0n; it++) {
    hessianTimes(layout, P, K, opts.l2, p, Ap, acc);
    const pAp = dotExact(p, Ap, dim);
    if (pAp <= 0n) break;
    const alpha = bigFloorDivClamped(rz * SCALE, pAp, STEP_ABS_MAX); // Q16
    for (let j = 0; j < dim; j++) {
      if (p[j] !== 0) s[j] = clampAbs(s[j] + mulFp(alpha, p[j]), INFLUENCE_VEC_ABS_MAX);
      if (Ap[j] !== 0) r[j] = clampAbs(r[j] - mulFp(alpha, Ap[j]), INFLUENCE_VEC_ABS_MAX);
    }
    precondition(r, z);
    const rzNew = dotExact(r, z, dim);
    if (rzNew <= 0n) break;
    const beta = bigFloorDivClamped(rzNew * SCALE, rz, STEP_ABS_MAX); // Q16
    for (let j = 0; j < dim; j++) {
      p[j] = clampAbs(z[j] + (p[j] === 0 ? 0 : mulFp(beta, p[j])), INFLUENCE_VEC_ABS_MAX);
    }
    rz = rzNew;
  }
  return s;
}

/** Probabilities of one text under the model (Q16), for callers that show confidence. */
export function probabilitiesOf(model: LrModel, tokens: Int32Array): Int32Array {
  const K = model.labels.length;
  const z: number[] = new Array(K).fill(0);
  logitsOf(model.weights, model.features + 1, K, featuresOf(tokens, model.features, model.ngram), z);
  const p = new Int32Array(K);
  softmaxQ16(model, z, p);
  return p;
}

// ---- sgd-influence@1 ---------------------------------------------------------------------------

/** |u| bound of the backward replay (Q32 entries: real 8): keeps every feature sum below 2^53. */
export const SGD_INFLUENCE_U_ABS_MAX = 2 ** 35;
/** Scores of sgd-influence@1 are the margin change in Q32, saturated here. */
const SGD_SCORE_ABS_MAX = 2 ** 52;

/**
 * `sgd-influence@1`: the first-order change of the test margin when example i is left out of the
 * trainer's own SGD run (Hara, Nitanda & Maehara, "Data Cleansing for Models Trained with SGD",
 * NeurIPS 2019). Exact inverse-Hessian influence (Koh & Liang 2017) assumes the weights are the
 * optimum of the objective; a few epochs of SGD are not, and leave-one-out retraining with the
 * chain's trainer disagrees with it (README: Spearman figures). Here the run itself is
 * differentiated: with u_T = ∇m(θ_T) (m = LSE_{c≠ŷ} z_c − z_ŷ, the test loss up to the positive
 * factor 1 − p_ŷ), going backwards over the recorded steps t (example j, step η, probabilities p):
 *
 *     v = Σ_{f ∈ x_j} u[f, ·]                        (u_{t+1}ᵀ applied to one example's features)
 *     score_j += η · (p − y_j)ᵀ v                    (removing the step adds η ∇L_j(θ_t))
 *     u[f, c] −= η · p_c (v_c − pᵀv)   for f ∈ x_j   (u_t = (I − η ∇²L_j(θ_t)) u_{t+1})
 *
 * and u ← s_e·u at each epoch's L2 factor s_e. TracIn (Pruthi et al., NeurIPS 2020) is the same sum
 * with the Hessian factor dropped and u taken at checkpoints; DataInf (Kwon et al., ICLR 2024)
 * approximates an inverse Hessian we do not need. Cost: one backward pass = one training epoch ×
 * epochs, O(Σ|x_j| · K · epochs) per prediction. Positive = removing the example raises the test
 * loss (helpful). Integers only: u in Q32, p in Q48, η in Q16, per-step scalars exact BigInt
 * products, every product floored; the score is ⌊2^32 · Δm⌋ (a scale common to every example of
 * one prediction, so payouts, which are relative, do not depend on it).
 */
export function sgdInfluenceRaw(
  model: LrModel,
  examples: readonly Example[],
  trace: TrainingTrace,
  inputTokens: Int32Array,
): { label: number; raw: number[] } {
  assert(model.trainer === 'logreg@2' && examples.length > 0, 'sgdInfluence: a logreg@2 model');
  const K = model.labels.length;
  const D = model.features + 1;
  const n = examples.length;
  const epochs = trace.eta.length;
  assert(trace.order.length === n * epochs && trace.probs.length === n * epochs * K, 'sgdInfluence: trace');
  const testFeats = featuresOf(inputTokens, model.features, model.ngram);
  const z: number[] = new Array(K).fill(0);
  logitsOf(model.weights, D, K, testFeats, z);
  let label = 0;
  for (let c = 1; c < K; c++) if (z[c] > z[label]) label = c;
  const q = new Float64Array(K);
  softmaxWide(z, q, label);
  const u = new Float64Array(K * D); // Q32, feature-major (f·K + c)
  for (const f of testFeats) {
    for (let c = 0; c < K; c++) u[f * K + c] = c === label ? -(2 ** 32) : Math.floor(q[c] / 65536);
  }
  const layout = flatten(examples, K);
  const { at, starts } = layout;
  const contrib: bigint[] = new Array(n).fill(0n);
  const v = new Float64Array(K);
  const vb: bigint[] = new Array(K).fill(0n);
  const pb: bigint[] = new Array(K).fill(0n);
  const SHIFT_P = BigInt(WIDE_PROB_BITS);
  const SHIFT_STEP = BigInt(WIDE_PROB_BITS + 16);
  for (let e = epochs - 1; e >= 0; e--) {
    const s = trace.shrink[e];
    for (let i = 0; i < u.length; i++) if (u[i] !== 0) u[i] = mulByQ30(u[i], s);
    const eta = BigInt(trace.eta[e]);
    for (let t = (e + 1) * n - 1; t >= e * n; t--) {
      const j = trace.order[t];
      const from = starts[j];
      const to = starts[j + 1];
      v.fill(0);
      for (let a = from; a < to; a++) {
        const o = at[a];
        for (let c = 0; c < K; c++) v[c] += u[o + c];
      }
      const y = examples[j].label;
      const base = t * K;
      let others = 0n;
      let pv = 0n;
      let gv = 0n;
      for (let c = 0; c < K; c++) {
        vb[c] = BigInt(v[c]);
        pb[c] = BigInt(trace.probs[base + c]);
        pv += pb[c] * vb[c];
        if (c !== y) {
          others += pb[c];
          gv += pb[c] * vb[c];
        }
      }
      gv -= others * vb[y];
      contrib[j] += eta * gv;
      const pvQ32 = pv >> SHIFT_P;
      let any = false;
      for (let c = 0; c < K; c++) {
        // Saturated like u itself, so that u − d stays an exact integer for hostile specs.
        const d = clampAbs(Number((eta * pb[c] * (vb[c] - pvQ32)) >> SHIFT_STEP), SGD_INFLUENCE_U_ABS_MAX);
        v[c] = d;
        if (d !== 0) any = true;
      }
      if (!any) continue;
      for (let a = from; a < to; a++) {
        const o = at[a];
        for (let c = 0; c < K; c++) {
          if (v[c] !== 0) u[o + c] = clampAbs(u[o + c] - v[c], SGD_INFLUENCE_U_ABS_MAX);
        }
      }
    }
  }
  // contrib is at scale 2^(16 + 48 + 32); the score at 2^32.
  const SHIFT_SCORE = BigInt(16 + WIDE_PROB_BITS);
  const raw = contrib.map((x) => bigFloorDivClamped(x, 1n << SHIFT_SCORE, SGD_SCORE_ABS_MAX));
  return { label, raw };
}

/** `sgdInfluenceRaw` in the canonical score form (positive only, limited, sorted by id). */
export function sgdInfluenceScores(
  model: LrModel,
  examples: readonly Example[],
  trace: TrainingTrace,
  inputTokens: Int32Array,
): { label: number; scores: Score[] } {
  const { label, raw } = sgdInfluenceRaw(model, examples, trace, inputTokens);
  return { label, scores: limitScores(examples.map((ex, i) => ({ contribution: ex.id, score: raw[i] }))) };
}
