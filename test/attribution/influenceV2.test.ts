import { describe, expect, it } from 'vitest';
import { influenceRaw, sgdInfluenceRaw } from '../../attribution/influence.js';
import { runJob } from '../../attribution/jobs.js';
import { INFLUENCE_PARAMS, parseTraining, TRAINING_DEFAULTS_V2 } from '../../attribution/params.js';
import { DEFAULT_TOKENIZER, loadTokenizer } from '../../attribution/tokenizer.js';
import {
  checkTrainingWork,
  examplesOf,
  featuresOf,
  labelSet,
  logitsOf,
  predict,
  TRAINER_CURRENT,
  TRAINING_TRACE_VALUES_MAX,
  trainLr,
  trainLr2,
} from '../../attribution/training.js';
import { toHex } from '../../core/bytes.js';
import { sha256 } from '../../core/hash.js';
import type { Param } from '../../core/tx.js';
import { spearman } from '../../eval/attribution/influence.js';
import { TRAINER_PINNED } from '../../vm/models.js';
import { speeches } from './_fixtures.js';

/*
 * Trainer logreg@2 and sgd-influence@1 (issue 14 part 1). The figures (accuracy, Spearman on
 * two datasets, mislabels) are `npm run eval -- attribution`; here only correctness properties:
 * old specs keep their bits, the new default gives non-zero influence that is the first-order
 * leave-one-out effect of the project's own trainer, and bad specs fail before heavy work.
 */

const Q24 = 2 ** 24;

function loss(model: ReturnType<typeof trainLr>, feats: Int32Array, label: number): number {
  const K = model.labels.length;
  const z: number[] = new Array(K).fill(0);
  logitsOf(model.weights, model.features + 1, K, feats, z);
  const m = Math.max(...z);
  let s = 0;
  for (const v of z) s += Math.exp((v - m) / Q24);
  return Math.log(s) - (z[label] - m) / Q24;
}

describe('trainer logreg@2 and sgd-influence@1', () => {
  it('a model under the round-1 defaults (no trainer named) keeps its exact weights and influence', async () => {
    const tok = await loadTokenizer(DEFAULT_TOKENIZER);
    const docs = speeches(['ROMEO', 'JULIET', 'MENENIUS'], 40).map((c) => ({
      id: c.id,
      label: c.label,
      tokens: tok.encode(c.content),
    }));
    const tp = parseTraining([]);
    expect(tp.trainer).toBe('logreg@1');
    expect([tp.features, tp.ngram, tp.epochs, tp.lr, tp.l2]).toEqual([4096, 2, 5, 32768, 66]);
    const labels = labelSet(docs);
    const ex = examplesOf(docs, labels, tp);
    const m = trainLr(ex, labels, tp);
    const t = speeches(['ROMEO'], 1, 60)[0];
    const { raw } = influenceRaw(m, ex, tok.encode(t.content), { l2: tp.l2, cgIters: 16 });
    // Computed with the tree before logreg@2 existed (commit 7f04369).
    expect(toHex(m.weightsHash)).toBe('bfd2c6f5183b5e9f1c6d9dd9eb924c8a9ae4b8c653668fc032be92d4be811c02');
    expect(toHex(sha256(Buffer.from(JSON.stringify(raw))))).toBe(
      '8a78fb7c5f1dd29ec820355dd924f301b21ad106c40613a6d6f097da991cf677',
    );
  });

  it('the vm pins the trainer the engine calls current; logreg@2 applies its own defaults', () => {
    expect(TRAINER_PINNED).toBe(TRAINER_CURRENT);
    const tp = parseTraining([{ key: 'trainer', value: 'logreg@2' }]);
    expect([tp.features, tp.ngram, tp.epochs, tp.lr, tp.l2]).toEqual(Object.values(TRAINING_DEFAULTS_V2));
    // A key the spec names wins over the trainer's default.
    expect(
      parseTraining([
        { key: 'epochs', value: '7' },
        { key: 'trainer', value: 'logreg@2' },
      ]).epochs,
    ).toBe(7);
  });

  it('at the default spec, confident predictions still get non-zero influence that ranks like leave-one-out retraining with trainLr', async () => {
    const tok = await loadTokenizer(DEFAULT_TOKENIZER);
    const enc = (cs: ReturnType<typeof speeches>) =>
      cs.map((c) => ({ id: c.id, label: c.label, tokens: tok.encode(c.content) }));
    const docs = enc(speeches(['ROMEO', 'MENENIUS', 'JULIET'], 40));
    const tests = enc(speeches(['ROMEO', 'MENENIUS', 'JULIET'], 1, 60));
    const tp = parseTraining([{ key: 'trainer', value: 'logreg@2' }]);
    const labels = labelSet(docs);
    const ex = examplesOf(docs, labels, tp);
    const { model, trace } = trainLr2(ex, labels, tp);
    // Deterministic: the same run from a shuffled corpus.
    expect(toHex(trainLr2(examplesOf([...docs].reverse(), labels, tp), labels, tp).model.weightsHash)).toBe(
      toHex(model.weightsHash),
    );
    for (const t of tests) {
      const { label, raw } = sgdInfluenceRaw(model, ex, trace, t.tokens);
      expect(label).toBe(predict(model, t.tokens).label);
      expect(raw.filter((x) => x !== 0).length).toBe(raw.length);
      const feats = featuresOf(t.tokens, tp.features, tp.ngram);
      const base = loss(model, feats, label);
      const order = raw.map((_, i) => i).sort((a, b) => Math.abs(raw[b]) - Math.abs(raw[a]) || a - b);
      const chosen = [...order.slice(0, 10), ...order.slice(10).filter((_, k) => k % 11 === 0)];
      const loo = chosen.map((i) => {
        const rest = docs.filter((d) => d.id !== ex[i].id);
        return loss(trainLr(examplesOf(rest, labels, tp), labels, tp), feats, label) - base;
      });
      const rho = spearman(
        chosen.map((i) => raw[i]),
        loo,
      );
      expect(rho, toHex(t.id).slice(0, 8)).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('logreg@2 at the round-1 learning rate and n-grams (logits ≈ ±15) still gives non-zero influence', async () => {
    const tok = await loadTokenizer(DEFAULT_TOKENIZER);
    const docs = speeches(['ROMEO', 'MENENIUS'], 60).map((c) => ({
      id: c.id,
      label: c.label,
      tokens: tok.encode(c.content),
    }));
    const t = speeches(['ROMEO'], 1, 70)[0];
    const labels = labelSet(docs);
    // logreg@2, even with the round-1 learning rate and n-grams: non-zero (sgd-influence and exact-cg).
    const tp2 = parseTraining([
      { key: 'lr', value: '0.5' },
      { key: 'ngram', value: '2' },
      { key: 'trainer', value: 'logreg@2' },
    ]);
    const ex2 = examplesOf(docs, labels, tp2);
    const { model, trace } = trainLr2(ex2, labels, tp2);
    expect(sgdInfluenceRaw(model, ex2, trace, docs[0].tokens).raw.some((x) => x !== 0)).toBe(true);
    expect(
      influenceRaw(model, ex2, tok.encode(t.content), {
        l2: tp2.l2,
        cgIters: INFLUENCE_PARAMS.cgIters.default,
      }).raw.some((x) => x !== 0),
    ).toBe(true);
  });

  it('unknown trainers and influence methods, mismatched method, over-limit traces: typed errors', async () => {
    const small = speeches(['ROMEO', 'MENENIUS'], 3);
    const job = (params: Param[], training: Param[]) =>
      runJob({
        kind: 'attribution',
        job: 1,
        method: 'influence',
        params,
        training,
        corpora: [{ datanet: new Uint8Array(32), version: 1, contributions: small }],
        input: 'hello',
        output: 'ROMEO',
        retrieved: [],
      });
    expect((await job([], [{ key: 'trainer', value: 'logreg@3' }])).error).toBe('TRAINER_UNKNOWN');
    expect((await job([{ key: 'influenceMethod', value: 'tracin' }], [])).error).toBe(
      'INFLUENCE_METHOD_UNKNOWN',
    );
    expect((await job([{ key: 'influenceMethod', value: 'sgd-influence@1' }], [])).error).toBe(
      'PARAM_INVALID',
    );
    // The trace limit: examples × epochs × labels ≤ TRAINING_TRACE_VALUES_MAX, checked before training.
    const opts = parseTraining([
      { key: 'epochs', value: '16' },
      { key: 'trainer', value: 'logreg@2' },
    ]);
    const docsOf = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: sha256(Buffer.from(`d${i}`)),
        label: `l${i % 8}`,
        tokens: new Int32Array([i]),
      }));
    const atLimit = TRAINING_TRACE_VALUES_MAX / (16 * 8);
    expect(checkTrainingWork(docsOf(atLimit), opts)).toHaveLength(8);
    expect(() => checkTrainingWork(docsOf(atLimit + 8), opts)).toThrow(/training trace/);
  });
});
