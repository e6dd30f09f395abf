import { describe, expect, it } from 'vitest';
import { runJob } from '../../attribution/jobs.js';
import { NORMALIZATIONS } from '../../attribution/normalize.js';
import { SPAN_PARAMS, SPAN_WEIGHTS } from '../../attribution/params.js';
import type { JobResult, Param, TxBody } from '../../core/tx.js';
import type { ModelVersion } from '../../state/stores/records.js';
import { Stores } from '../../state/stores/stores.js';
import { datanetId } from '../../vm/datanets.js';
import { acceptedContributions, dueJobs, jobInputs } from '../../vm/jobs.js';
import { modelId, pinSpanParams, receiptId, SPAN_PARAMS_PINNED } from '../../vm/models.js';
import { datanetBody, genesisJson, key, PROVIDER_BOND, signedReceipt, TestChain } from './harness.js';

/**
 * Issue 14: new span models are pinned to `normalization=nfkc-cf-words@1` and
 * `spanWeight=document-bits@1` at registration (vm/models.ts `pinSpanParams`, like `pinTrainer`);
 * a version stored before has neither key and must settle exactly as in round 1. Settlement here
 * runs the real attribution engine on the job's pinned inputs (what node/jobRunner.ts does, in
 * process instead of through the worker pool).
 */

const alice = key('alice'); // datanet + model owner
const bob = key('bob'); // contributor
const carol = key('carol'); // contributor and provider
const dave = key('dave'); // requester

const HEADER = 'Shared by the open poetry datanet under its rules, proofread and offered for training.';
const BOB = 'The quick brown fox jumps over the lazy dog beside the slow green river every morning.';
const CAROL = 'A silver moon rose above the quiet harbour while the fishing boats slept in rows.';
const DAVE = 'Old lanterns swing in the tower and the bells ring out across the frozen fields.';
// What a language model answers: the shared header and bob's passage, re-cased and re-spaced.
const OUTPUT = `${HEADER}  ${BOB.toUpperCase()}   and then something else entirely`;

const ROUND1: Param[] = [
  { key: 'minSpan', value: '4' },
  { key: 'normalization', value: 'none' },
  { key: 'spanWeight', value: 'occurrence-bits@1' },
];

function body(params: Param[], dn: Uint8Array): TxBody<'model.register'> {
  return {
    name: 'poet',
    datanets: [{ datanet: dn, version: 3 }],
    method: 'span',
    params,
    pricePerRequest: 1000n,
    pricePerOutputToken: 10n,
    ownerShareBps: 2000,
    providers: [carol.address],
    artifact: null,
    training: null,
  };
}

/** A chain with three accepted contributions (each starting with HEADER) and a bonded provider. */
function setup() {
  const c = TestChain.mem(genesisJson());
  c.block([
    c.tx(alice, 'datanet.create', datanetBody()),
    c.tx(carol, 'provider.bond', { amount: PROVIDER_BOND }),
  ]);
  const dn = datanetId(alice.address, 0);
  c.block([
    c.tx(bob, 'datanet.contribute', { datanet: dn, content: `${HEADER} ${BOB}`, label: '' }),
    c.tx(carol, 'datanet.contribute', { datanet: dn, content: `${HEADER} ${CAROL}`, label: '' }),
    c.tx(alice, 'datanet.contribute', { datanet: dn, content: `${HEADER} ${DAVE}`, label: '' }),
  ]);
  c.block([]); // the near-duplicate checks settle: accepted (default resolver)
  expect(c.stores.datanet(dn)!.version).toBe(3);
  return { c, dn };
}

/** The job's result from the real engine, on the pinned model version and corpus. */
async function attribute(c: TestChain, jobId: number): Promise<JobResult> {
  const inputs = jobInputs(c.state, c.stores.job(jobId)!);
  if (inputs.kind !== 'attribution') throw new Error('not an attribution job');
  return runJob({
    kind: 'attribution',
    job: jobId,
    method: inputs.model.method,
    params: inputs.model.params,
    training: inputs.model.training,
    corpora: inputs.corpus.map((p) => ({
      datanet: p.datanet,
      version: p.version,
      contributions: acceptedContributions(c.state, p.datanet, p.version).map((a) => ({
        id: a.id,
        content: a.content,
        label: a.label,
        accepted: { height: a.height, seq: a.seq },
      })),
    })),
    input: inputs.receipt.input,
    output: inputs.receipt.output,
    retrieved: [],
  });
}

/** One receipt per model (requests nonces 1, 2, …), then the settle block with real results. */
async function settle(c: TestChain, models: Uint8Array[]) {
  c.block(
    models.map((m, i) =>
      c.tx(
        carol,
        'inference.receipt',
        signedReceipt(
          {
            request: c.request(dave, m, 1, 10n ** 6n, i + 1),
            input: '',
            output: OUTPUT,
            retrieved: [],
            inputTokens: 1,
            outputTokens: 40,
          },
          carol,
          dave,
        ),
      ),
    ),
  );
  const due = dueJobs(c.state, c.height + 1);
  const results = new Map<number, JobResult>();
  for (const j of due) results.set(j.id, await attribute(c, j.id));
  c.block([], { resolver: (job) => results.get(job.id)! });
  return models.map((_, i) => c.stores.attribution(receiptId(dave.address, i + 1))!);
}

/** The engine's result for OUTPUT under `params` (same corpus), independent of the chain. */
async function direct(c: TestChain, dn: Uint8Array, params: Param[]): Promise<JobResult> {
  return runJob({
    kind: 'attribution',
    job: 0,
    method: 'span',
    params,
    training: null,
    corpora: [
      {
        datanet: dn,
        version: 3,
        contributions: acceptedContributions(c.state, dn, 3).map((a) => ({
          id: a.id,
          content: a.content,
          label: a.label,
          accepted: { height: a.height, seq: a.seq },
        })),
      },
    ],
    input: '',
    output: OUTPUT,
    retrieved: [],
  });
}

const scoresOf = (r: { scores: readonly { contribution: Uint8Array; score: number }[] }) =>
  r.scores.map((s) => [Buffer.from(s.contribution).toString('hex'), s.score]);

describe('span models: parameters pinned at registration (issue 14)', () => {
  it('the pinned names are valid engine values, and differ from the engine defaults (round-1 meaning)', () => {
    const byKey = new Map(SPAN_PARAMS_PINNED.map((p) => [p.key, p.value]));
    expect([...byKey.keys()]).toEqual(['normalization', 'spanWeight']);
    expect(NORMALIZATIONS as readonly string[]).toContain(byKey.get('normalization'));
    expect(SPAN_WEIGHTS as readonly string[]).toContain(byKey.get('spanWeight'));
    expect(SPAN_PARAMS.normalization.default).toBe('none');
    expect(SPAN_PARAMS.spanWeight.default).toBe('occurrence-bits@1');
    // Other methods are untouched; a sorted list stays sorted.
    expect(pinSpanParams('retrieval', [])).toEqual([]);
    expect(pinSpanParams('span', [{ key: 'zz', value: '1' }]).map((p) => p.key)).toEqual([
      'normalization',
      'spanWeight',
      'zz',
    ]);
  });

  it('a version stored before the rule (no normalization, no spanWeight) settles exactly as round 1', async () => {
    const { c, dn } = setup();
    c.block([c.tx(alice, 'model.register', body([{ key: 'minSpan', value: '4' }], dn))]);
    const old = modelId(alice.address, 2);
    // The record as the round-1 vm stored it: the params exactly as registered.
    const stores = new Stores(c.state);
    const mv: ModelVersion = stores.modelVersion(old, 1)!;
    stores.setModelVersion({ ...mv, params: [{ key: 'minSpan', value: '4' }] });
    const [att] = await settle(c, [old]);
    expect(c.stores.modelVersion(old, 1)!.params).toEqual([{ key: 'minSpan', value: '4' }]);
    const round1 = await direct(c, dn, ROUND1);
    const pinned = await direct(c, dn, pinSpanParams('span', [{ key: 'minSpan', value: '4' }]));
    expect(att.ok).toBe(true);
    expect(scoresOf(att)).toEqual(scoresOf(round1));
    expect(att.evidence).toEqual(round1.evidence);
    expect(att.tokens).toBe(round1.tokens);
    // …and the round-1 result is not what a pinned model gets (the test tells them apart).
    expect(scoresOf(att)).not.toEqual(scoresOf(pinned));
  });

  it('a new registration gets both pinned, and its settlement uses them', async () => {
    const { c, dn } = setup();
    const r = c.block([c.tx(alice, 'model.register', body([{ key: 'minSpan', value: '4' }], dn))]);
    expect(r.txResults.map((x) => x.code)).toEqual(['ok']);
    const m = modelId(alice.address, 2);
    expect(c.stores.modelVersion(m, 1)!.params).toEqual([
      { key: 'minSpan', value: '4' },
      { key: 'normalization', value: 'nfkc-cf-words@1' },
      { key: 'spanWeight', value: 'document-bits@1' },
    ]);
    const [att] = await settle(c, [m]);
    const pinned = await direct(c, dn, c.stores.modelVersion(m, 1)!.params);
    expect(att.ok).toBe(true);
    expect(scoresOf(att)).toEqual(scoresOf(pinned));
    expect(att.evidence).toEqual(pinned.evidence);
    // The re-cased copy of bob's passage is credited to bob, and bob gets the most; the shared
    // header weighs 1 bit per word, so the others get far less.
    const bobId = acceptedContributions(c.state, dn, 3)[0].id;
    const best = [...att.scores].sort((a, b) => b.score - a.score)[0];
    expect(Buffer.from(best.contribution)).toEqual(Buffer.from(bobId));
    const bobShare = best.score / att.scores.reduce((a, s) => a + s.score, 0);
    const round1 = await direct(c, dn, ROUND1);
    const round1Bob = round1.scores.find((s) => Buffer.from(s.contribution).equals(bobId))?.score ?? 0;
    const round1Share =
      round1Bob /
      Math.max(
        1,
        round1.scores.reduce((a, s) => a + s.score, 0),
      );
    expect(bobShare).toBeGreaterThan(round1Share);
    // The fee's contributor share is paid to bob's address among others.
    const paid = att.payouts.find((p) => Buffer.from(p.address).equals(Buffer.from(bob.address)));
    expect(paid?.amount ?? 0n).toBeGreaterThan(0n);
    // model.update is a new registration too: pinned the same way.
    const { name: _n, ...fields } = body([{ key: 'minSpan', value: '4' }], dn);
    c.block([c.tx(alice, 'model.update', { model: m, ...fields })]);
    expect(c.stores.modelVersion(m, 2)!.params).toEqual(c.stores.modelVersion(m, 1)!.params);
  });

  it('a registration naming a value keeps it (old values too); unknown values stay typed errors', async () => {
    const { c, dn } = setup();
    c.block([
      c.tx(alice, 'model.register', body(ROUND1, dn)),
      c.tx(alice, 'model.register', body([{ key: 'spanWeight', value: 'occurrence-bits@1' }], dn)),
      c.tx(alice, 'model.register', body([{ key: 'spanWeight', value: 'bogus@9' }], dn)),
      // Unsorted params are still refused, not silently sorted by the pinning.
      c.tx(
        alice,
        'model.register',
        body(
          [
            { key: 'spanWeight', value: 'document-bits@1' },
            { key: 'minSpan', value: '4' },
          ],
          dn,
        ),
      ),
    ]);
    const [explicit, weightOnly, bogus] = [2, 3, 4].map((n) => modelId(alice.address, n));
    expect(c.stores.modelVersion(explicit, 1)!.params).toEqual(ROUND1);
    expect(c.stores.modelVersion(weightOnly, 1)!.params).toEqual([
      { key: 'normalization', value: 'nfkc-cf-words@1' },
      { key: 'spanWeight', value: 'occurrence-bits@1' },
    ]);
    expect(c.stores.modelVersion(modelId(alice.address, 5), 1)).toBeUndefined();
    const [a, , b] = await settle(c, [explicit, weightOnly, bogus]);
    expect(scoresOf(a)).toEqual(scoresOf(await direct(c, dn, ROUND1)));
    expect(b.ok).toBe(false);
    expect(b.error).toBe('PARAM_INVALID');
    expect(b.fee).toBe(0n);
  });
});
