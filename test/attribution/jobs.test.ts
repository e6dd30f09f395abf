import { describe, expect, it } from 'vitest';
import type { CorpusRef, InlineCorpus } from '../../attribution/corpusCache.js';
import { type AttributionJobSpec, type JobSpec, predictLabel, runJob } from '../../attribution/jobs.js';
import { RETRIEVAL_SCORE_TOTAL } from '../../attribution/retrieval.js';
import { JOB_OUTPUT_TOKENS_MAX, verifySpanEvidenceText } from '../../attribution/span.js';
import {
  TRAINING_EXAMPLES_MAX,
  TRAINING_PARAMETERS_MAX,
  TRAINING_STEPS_MAX,
} from '../../attribution/training.js';
import { toHex } from '../../core/bytes.js';
import { StorageError } from '../../core/errors.js';
import {
  CONTRIBUTION_BYTES_MAX,
  INFERENCE_OUTPUT_BYTES_MAX,
  RETRIEVAL_WEIGHT_MAX,
  RETRIEVED_MAX,
} from '../../core/tx.js';
import { idOf } from './_fixtures.js';

const small: InlineCorpus = {
  datanet: idOf('datanet/small'),
  version: 1,
  contributions: [
    {
      id: idOf('c1'),
      content: 'To be, or not to be, that is the question: whether tis nobler in the mind to suffer',
      label: 'a',
    },
    {
      id: idOf('c2'),
      content: 'Now is the winter of our discontent made glorious summer by this sun of York',
      label: 'b',
    },
    {
      id: idOf('c3'),
      content: 'Friends, Romans, countrymen, lend me your ears; I come to bury Caesar, not to praise him',
      label: 'a',
    },
  ],
};
const empty: InlineCorpus = { datanet: idOf('datanet/empty'), version: 0, contributions: [] };
/** A ref that is in no cache: a job that touched the corpus would throw, so errors prove validation came first. */
const missing: CorpusRef = {
  datanet: idOf('datanet/huge'),
  version: 9,
  tokenizer: 'cl100k_base@js-tiktoken-1.0.21',
  digest: '00'.repeat(32),
};

function span(overrides: Partial<AttributionJobSpec>): AttributionJobSpec {
  return {
    kind: 'attribution',
    job: 1,
    method: 'span',
    params: [],
    training: null,
    corpora: [small],
    input: '',
    output: 'Now is the winter of our discontent made glorious summer by this sun',
    retrieved: [],
    ...overrides,
  };
}

async function errorOf(spec: JobSpec): Promise<string> {
  const r = await runJob(spec);
  expect(r.ok).toBe(false);
  expect(r.scores).toEqual([]);
  return r.error;
}

describe('jobs: bad input becomes a typed failure before heavy work', () => {
  it('output over the token limit (just above) — and exactly at it is fine', async () => {
    const at = ' a'.repeat(JOB_OUTPUT_TOKENS_MAX);
    expect((await runJob(span({ output: at }))).tokens).toBe(JOB_OUTPUT_TOKENS_MAX);
    expect(await errorOf(span({ output: `${at} a`, corpora: [missing] }))).toBe('OUTPUT_TOO_LONG');
    expect(
      await errorOf(span({ output: 'x'.repeat(INFERENCE_OUTPUT_BYTES_MAX + 1), corpora: [missing] })),
    ).toBe('OUTPUT_TOO_LONG');
  });

  it('unknown tokenizer, unknown / unsorted / invalid params', async () => {
    const bad = async (params: { key: string; value: string }[]) =>
      errorOf(span({ params, corpora: [missing] }));
    expect(await bad([{ key: 'tokenizer', value: 'gpt2@js-tiktoken-1.0.21' }])).toBe('TOKENIZER_UNKNOWN');
    expect(await bad([{ key: 'tokenizer', value: 'cl100k_base@js-tiktoken-1.0.20' }])).toBe(
      'TOKENIZER_UNKNOWN',
    );
    expect(await bad([{ key: 'temperature', value: '1' }])).toBe('PARAM_UNKNOWN');
    expect(
      await bad([
        { key: 'tokenizer', value: 'cl100k_base@js-tiktoken-1.0.21' },
        { key: 'minSpan', value: '8' },
      ]),
    ).toBe('PARAMS_UNSORTED');
    expect(
      await bad([
        { key: 'minSpan', value: '8' },
        { key: 'minSpan', value: '9' },
      ]),
    ).toBe('PARAMS_UNSORTED');
    for (const v of ['1', '65', '08', '-3', '4.5', ''])
      expect(await bad([{ key: 'minSpan', value: v }])).toBe('PARAM_INVALID');
    expect((await runJob(span({ params: [{ key: 'minSpan', value: '64' }] }))).ok).toBe(true);
  });

  it('empty corpus, duplicate ids across pinned corpora, malformed contributions', async () => {
    expect(await errorOf(span({ corpora: [empty] }))).toBe('CORPUS_EMPTY');
    expect(await errorOf(span({ corpora: [] }))).toBe('CORPUS_EMPTY');
    expect(await errorOf(span({ corpora: [small, { ...small, version: 2 }] }))).toBe('CORPUS_DUPLICATE_ID');
    const twice = { ...small, contributions: [small.contributions[0], small.contributions[0]] };
    expect(await errorOf(span({ corpora: [twice] }))).toBe('CORPUS_MALFORMED');
    const shortId = { ...small, contributions: [{ id: new Uint8Array(31), content: 'x', label: '' }] };
    expect(await errorOf(span({ corpora: [shortId] }))).toBe('CORPUS_MALFORMED');
    const tooBig = {
      ...small,
      contributions: [{ id: idOf('big'), content: 'x'.repeat(CONTRIBUTION_BYTES_MAX + 1), label: '' }],
    };
    expect(await errorOf(span({ corpora: [tooBig] }))).toBe('CORPUS_MALFORMED');
    const atLimit = {
      ...small,
      contributions: [{ id: idOf('big'), content: 'x'.repeat(CONTRIBUTION_BYTES_MAX), label: '' }],
    };
    expect((await runJob(span({ corpora: [atLimit] }))).ok).toBe(true);
  });

  it('a corpus missing from the cache is a node problem: thrown, not settled', async () => {
    await expect(runJob(span({ corpora: [missing] }), { cacheDir: null })).rejects.toBeInstanceOf(
      StorageError,
    );
  });

  it('malformed retrieval lists', async () => {
    const ret = (
      retrieved: { contribution: Uint8Array; weight: number }[],
      corpora = [missing] as AttributionJobSpec['corpora'],
    ) => errorOf(span({ method: 'retrieval', retrieved, corpora }));
    const c1 = small.contributions[0].id;
    expect(await ret([{ contribution: c1, weight: RETRIEVAL_WEIGHT_MAX + 1 }])).toBe('RETRIEVAL_MALFORMED');
    expect(await ret([{ contribution: c1, weight: -1 }])).toBe('RETRIEVAL_MALFORMED');
    expect(await ret([{ contribution: c1, weight: 1.5 }])).toBe('RETRIEVAL_MALFORMED');
    expect(await ret([{ contribution: new Uint8Array(20), weight: 1 }])).toBe('RETRIEVAL_MALFORMED');
    expect(
      await ret([
        { contribution: c1, weight: 1 },
        { contribution: c1, weight: 2 },
      ]),
    ).toBe('RETRIEVAL_MALFORMED');
    const many = Array.from({ length: RETRIEVED_MAX + 1 }, (_, i) => ({
      contribution: idOf(`r${i}`),
      weight: 1,
    }));
    expect(await ret(many)).toBe('RETRIEVAL_MALFORMED');
    expect(await ret([{ contribution: idOf('not accepted'), weight: 1 }], [small])).toBe('RETRIEVAL_UNKNOWN');
  });

  it('retrieval: capped, normalised exactly, sorted by id', async () => {
    const [c1, c2, c3] = small.contributions.map((c) => c.id);
    const r = await runJob(
      span({
        method: 'retrieval',
        params: [{ key: 'retrievalCap', value: '100' }],
        retrieved: [
          { contribution: c1, weight: 1000 },
          { contribution: c2, weight: 50 },
          { contribution: c3, weight: 0 },
        ],
      }),
    );
    expect(r.ok).toBe(true);
    expect(r.scores.reduce((a, s) => a + s.score, 0)).toBe(RETRIEVAL_SCORE_TOTAL);
    const byId = new Map(r.scores.map((s) => [toHex(s.contribution), s.score]));
    expect(byId.get(toHex(c1))).toBe(666_667); // 100/150, remainder to the largest fraction
    expect(byId.get(toHex(c2))).toBe(333_333);
    expect(byId.has(toHex(c3))).toBe(false);
    const ids = r.scores.map((s) => toHex(s.contribution));
    expect(ids).toEqual([...ids].sort());
  });

  it('training specs over the work limits, too few labels, missing spec, output mismatch', async () => {
    const train = (
      training: { key: string; value: string }[],
      corpora: JobSpec['corpora'] = [small],
    ): JobSpec => ({
      kind: 'training',
      job: 4,
      training,
      corpora,
    });
    expect(await errorOf(train([{ key: 'epochs', value: '65' }]))).toBe('PARAM_INVALID');
    expect(await errorOf(train([{ key: 'features', value: '1000' }]))).toBe('PARAM_INVALID');
    expect(await errorOf(train([{ key: 'features', value: '131072' }]))).toBe('PARAM_INVALID');
    expect(await errorOf(train([{ key: 'lr', value: '-1' }]))).toBe('PARAM_INVALID');
    // examples × epochs just above TRAINING_STEPS_MAX (checked before tokenizing anything).
    const epochs = 64;
    const n = Math.floor(TRAINING_STEPS_MAX / epochs) + 1;
    const big: InlineCorpus = {
      datanet: idOf('big'),
      version: 1,
      contributions: Array.from({ length: n }, (_, i) => ({
        id: idOf(`e${i}`),
        content: 'x',
        label: i % 2 ? 'a' : 'b',
      })),
    };
    expect(await errorOf(train([{ key: 'epochs', value: String(epochs) }], [big]))).toBe(
      'TRAINING_OVER_LIMIT',
    );
    // examples just above TRAINING_EXAMPLES_MAX, even with one epoch.
    const many: InlineCorpus = {
      datanet: idOf('many'),
      version: 1,
      contributions: Array.from({ length: TRAINING_EXAMPLES_MAX + 1 }, (_, i) => ({
        id: idOf(`m${i}`),
        content: 'x',
        label: i % 2 ? 'a' : 'b',
      })),
    };
    expect(await errorOf(train([{ key: 'epochs', value: '1' }], [many]))).toBe('TRAINING_OVER_LIMIT');
    // labels × (features + 1) just above TRAINING_PARAMETERS_MAX.
    const labels = Math.floor(TRAINING_PARAMETERS_MAX / 65537) + 1;
    const wide: InlineCorpus = {
      datanet: idOf('wide'),
      version: 1,
      contributions: Array.from({ length: labels }, (_, i) => ({
        id: idOf(`w${i}`),
        content: `text ${i}`,
        label: `L${i}`,
      })),
    };
    expect(await errorOf(train([{ key: 'features', value: '65536' }], [wide]))).toBe('TRAINING_OVER_LIMIT');
    const oneLabel = { ...small, contributions: small.contributions.map((c) => ({ ...c, label: 'same' })) };
    expect(await errorOf(train([], [oneLabel]))).toBe('TRAINING_LABELS');
    expect(await errorOf(train([], [empty]))).toBe('CORPUS_EMPTY');
    const ok = await runJob(train([]));
    expect(ok.ok).toBe(true);
    expect(ok.weightsHash).toHaveLength(32);

    const influence = (output: string, training: AttributionJobSpec['training']) =>
      runJob(span({ method: 'influence', training, input: 'to be or not to be', output }));
    expect((await influence('a', null)).error).toBe('TRAINING_MISSING');
    const [ra, rb] = [await influence('a', []), await influence('b', [])];
    // Exactly one of the two labels is the model's prediction; the other receipt is rejected.
    expect([ra.ok, rb.ok].sort()).toEqual([false, true]);
    expect((ra.ok ? rb : ra).error).toBe('OUTPUT_MISMATCH');
    expect((ra.ok ? ra : rb).weightsHash).toEqual(ok.weightsHash);
  });

  it('near-duplicate: a copy is rejected naming the original; new text and empty datanets pass', async () => {
    const dup = (
      content: string,
      corpora: JobSpec['corpora'] = [small],
      params: { key: string; value: string }[] = [],
    ) =>
      runJob({
        kind: 'duplicate',
        job: 7,
        params,
        corpora,
        contribution: { id: idOf('new'), content, label: '' },
      });
    const copy = await dup(`${small.contributions[1].content}!`);
    expect(copy.ok).toBe(false);
    expect(copy.error).toBe('NEAR_DUPLICATE');
    expect(copy.duplicateOf).toEqual(small.contributions[1].id);
    expect(copy.tokens).toBeGreaterThanOrEqual(8000);
    const fresh = await dup('A ledger of stakes, votes and blocks, with nothing borrowed from the plays.');
    expect(fresh).toMatchObject({ ok: true, tokens: 0, duplicateOf: null });
    expect((await dup('anything', [empty])).ok).toBe(true);
    // Half copied: flagged (duplicateOf set) but accepted under the default 80% threshold…
    const half = await dup(
      `${small.contributions[2].content} and then many words of my own that nobody wrote before me today`,
    );
    expect(half.ok).toBe(true);
    expect(half.duplicateOf).toEqual(small.contributions[2].id);
    // …and rejected when the datanet's threshold is lower.
    const strict = await dup(
      half.ok
        ? `${small.contributions[2].content} and then many words of my own that nobody wrote before me today`
        : '',
      [small],
      [{ key: 'dupThresholdBps', value: String(half.tokens) }],
    );
    expect(strict.error).toBe('NEAR_DUPLICATE');
    // The contribution itself, if already in the corpus, is not its own original.
    const self = await runJob({
      kind: 'duplicate',
      job: 8,
      params: [],
      corpora: [small],
      contribution: small.contributions[0],
    });
    expect(self.ok).toBe(true);
  });

  it('predictLabel answers what the influence job accepts; span evidence verifies from texts', async () => {
    const { label, weightsHash } = await predictLabel([], [small], 'Friends, lend me your ears');
    const r = await runJob(
      span({ method: 'influence', training: [], input: 'Friends, lend me your ears', output: label }),
    );
    expect(r.ok).toBe(true);
    expect(r.weightsHash).toEqual(weightsHash);
    const s = await runJob(span({}));
    expect(s.evidence.length).toBeGreaterThan(0);
    const tokenizer = 'cl100k_base@js-tiktoken-1.0.21';
    const output = span({}).output;
    expect(await verifySpanEvidenceText(tokenizer, output, s.evidence, small.contributions, 8)).toEqual({
      ok: true,
    });
    const forged = s.evidence.map((e) => ({ ...e, contribution: small.contributions[0].id }));
    expect((await verifySpanEvidenceText(tokenizer, output, forged, small.contributions, 8)).ok).toBe(false);
  });

  it('hostile training specs saturate deterministically instead of crashing', async () => {
    const training = [
      { key: 'epochs', value: '64' },
      { key: 'features', value: '16' },
      { key: 'l2', value: '0.00002' },
      { key: 'lr', value: '8' },
    ];
    const input = small.contributions[0].content;
    const { label } = await predictLabel(training, [small], input);
    const job = span({
      method: 'influence',
      params: [{ key: 'cgIters', value: '64' }],
      training,
      input,
      output: label,
    });
    const a = await runJob(job);
    expect(a.ok).toBe(true);
    expect(await runJob(job)).toEqual(a);
    // The same hostile spec under logreg@2 (Q24 weights, wide softmax, sgd-influence@1; also exact-cg@1).
    const training2 = [...training, { key: 'trainer', value: 'logreg@2' }];
    const label2 = (await predictLabel(training2, [small], input)).label;
    for (const params of [[], [{ key: 'influenceMethod', value: 'exact-cg@1' }]]) {
      const job2 = span({ method: 'influence', params, training: training2, input, output: label2 });
      const b = await runJob(job2);
      expect(b.ok).toBe(true);
      expect(await runJob(job2)).toEqual(b);
    }
  });

  it('adversarial repetitive text stays cheap in span and duplicate jobs', async () => {
    const run: InlineCorpus = {
      datanet: idOf('spam'),
      version: 1,
      contributions: [{ id: idOf('spam1'), content: ' la'.repeat(20_000), label: '' }],
    };
    const dup = await runJob({
      kind: 'duplicate',
      job: 9,
      params: [],
      corpora: [run],
      contribution: { id: idOf('spam2'), content: ' la'.repeat(21_000), label: '' },
    });
    expect(dup.ok).toBe(true); // every window occurs thousands of times: too common to attribute
    const s = await runJob(span({ corpora: [run], output: ' la'.repeat(4000) }));
    expect(s.ok).toBe(true);
    expect(s.tokens).toBe(4000);
  });
});
