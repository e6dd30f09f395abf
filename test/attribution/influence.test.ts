import { describe, expect, it } from 'vitest';
import { influenceRaw } from '../../attribution/influence.js';
import { INFLUENCE_PARAMS, parseParams, TRAINING_PARAMS } from '../../attribution/params.js';
import { DEFAULT_TOKENIZER, loadTokenizer } from '../../attribution/tokenizer.js';
import {
  type Example,
  examplesOf,
  featuresOf,
  labelSet,
  predict,
  trainLr,
} from '../../attribution/training.js';
import { toHex } from '../../core/bytes.js';
import { spearman } from '../../eval/attribution/influence.js';
import { speeches } from './_fixtures.js';

/*
 * Influence vs actual leave-one-out retraining. The reference (floats are fine in a test) retrains
 * the same regularised objective to convergence by Newton's method, once per left-out example,
 * and measures the change of the test loss. The chain's fixed-point influence must rank the
 * examples the same way (Spearman ≥ 0.9).
 */

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Minimises (1/n) Σ CE + (λ/2)‖W‖² by Newton's method (dense Cholesky), from W0. */
function newton(
  exs: readonly Example[],
  K: number,
  D: number,
  lambda: number,
  W0: Float64Array,
): Float64Array {
  const dim = K * D;
  const W = Float64Array.from(W0);
  const n = exs.length;
  for (let it = 0; it < 12; it++) {
    const g = new Float64Array(dim);
    const H = new Float64Array(dim * dim);
    for (const e of exs) {
      const z: number[] = [];
      for (let c = 0; c < K; c++) {
        let s = 0;
        for (const f of e.feats) s += W[c * D + f];
        z.push(s);
      }
      const p = softmax(z);
      for (let c = 0; c < K; c++) {
        const gc = p[c] - (c === e.label ? 1 : 0);
        for (const f of e.feats) g[c * D + f] += gc / n;
        for (let c2 = 0; c2 < K; c2++) {
          const h = ((c === c2 ? p[c] : 0) - p[c] * p[c2]) / n;
          if (h === 0) continue;
          for (const f of e.feats) for (const f2 of e.feats) H[(c * D + f) * dim + c2 * D + f2] += h;
        }
      }
    }
    for (let i = 0; i < dim; i++) {
      g[i] += lambda * W[i];
      H[i * dim + i] += lambda;
    }
    const L = new Float64Array(dim * dim);
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j <= i; j++) {
        let s = H[i * dim + j];
        for (let k = 0; k < j; k++) s -= L[i * dim + k] * L[j * dim + k];
        L[i * dim + j] = i === j ? Math.sqrt(s) : s / L[j * dim + j];
      }
    }
    const y = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      let s = g[i];
      for (let k = 0; k < i; k++) s -= L[i * dim + k] * y[k];
      y[i] = s / L[i * dim + i];
    }
    let step = 0;
    const d = new Float64Array(dim);
    for (let i = dim - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < dim; k++) s -= L[k * dim + i] * d[k];
      d[i] = s / L[i * dim + i];
    }
    for (let i = 0; i < dim; i++) {
      W[i] -= d[i];
      step += d[i] * d[i];
    }
    if (step < 1e-26) break;
  }
  return W;
}

describe('influence (fixed point) vs leave-one-out retraining', () => {
  it('ranks training examples like actual LOO retraining (Spearman ≥ 0.9)', async () => {
    const tok = await loadTokenizer(DEFAULT_TOKENIZER);
    const train = speeches(['ROMEO', 'MENENIUS'], 60);
    const tests = speeches(['ROMEO', 'MENENIUS'], 2, 70);
    const tp = parseParams(
      [
        { key: 'epochs', value: '60' },
        { key: 'features', value: '64' },
        { key: 'l2', value: '0.05' },
        { key: 'ngram', value: '1' },
      ],
      TRAINING_PARAMS,
      'training',
    );
    const docs = train.map((c) => ({ id: c.id, label: c.label, tokens: tok.encode(c.content) }));
    const labels = labelSet(docs);
    const examples = examplesOf(docs, labels, tp);
    const model = trainLr(examples, labels, tp);
    const K = labels.length;
    const D = tp.features + 1;
    const lambda = tp.l2 / 65536;
    const wStar = newton(
      examples,
      K,
      D,
      lambda,
      Float64Array.from(model.weights, (v) => v / 65536),
    );
    for (const t of tests) {
      const tokens = tok.encode(t.content);
      const { label, raw } = influenceRaw(model, examples, tokens, {
        l2: tp.l2,
        cgIters: INFLUENCE_PARAMS.cgIters.default,
      });
      const tf = featuresOf(tokens, tp.features, tp.ngram);
      const testLoss = (W: Float64Array) => {
        const z: number[] = [];
        for (let c = 0; c < K; c++) {
          let s = 0;
          for (const f of tf) s += W[c * D + f];
          z.push(s);
        }
        return -Math.log(softmax(z)[label]);
      };
      const base = testLoss(wStar);
      const loo = examples.map(
        (_, i) =>
          testLoss(
            newton(
              examples.filter((_, j) => j !== i),
              K,
              D,
              lambda,
              wStar,
            ),
          ) - base,
      );
      const rho = spearman(raw, loo);
      expect(rho, `test speech ${toHex(t.id).slice(0, 8)}`).toBeGreaterThanOrEqual(0.9);
      // Helpful examples (positive score) are the ones whose removal raises the test loss.
      const top = raw.indexOf(Math.max(...raw));
      expect(loo[top]).toBeGreaterThan(0);
    }
  });

  it('training is deterministic and inference is a pure function of the weights', async () => {
    const tok = await loadTokenizer(DEFAULT_TOKENIZER);
    const train = speeches(['ROMEO', 'JULIET', 'MENENIUS'], 40);
    const docs = train.map((c) => ({ id: c.id, label: c.label, tokens: tok.encode(c.content) }));
    const tp = parseParams([], TRAINING_PARAMS, 'training');
    const labels = labelSet(docs);
    const a = trainLr(examplesOf(docs, labels, tp), labels, tp);
    const b = trainLr(examplesOf([...docs].reverse(), labels, tp), labels, tp);
    expect(toHex(a.weightsHash)).toBe(toHex(b.weightsHash));
    expect(labels).toEqual(['JULIET', 'MENENIUS', 'ROMEO']);
    // The trained model fits its training data better than chance.
    let right = 0;
    for (const d of docs) if (labels[predict(a, d.tokens).label] === d.label) right++;
    expect(right / docs.length).toBeGreaterThan(0.6);
    const seeded = parseParams([{ key: 'seed', value: 'x' }], TRAINING_PARAMS, 'training');
    expect(toHex(trainLr(examplesOf(docs, labels, seeded), labels, seeded).weightsHash)).not.toBe(
      toHex(a.weightsHash),
    );
  });
});
