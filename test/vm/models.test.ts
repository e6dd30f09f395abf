import { describe, expect, it } from 'vitest';
import { sha256 } from '../../core/hash.js';
import type { JobResult, TxBody } from '../../core/tx.js';
import { TREASURY_ADDRESS, VALIDATORS_POOL_ADDRESS } from '../../vm/context.js';
import { contributionId, datanetId } from '../../vm/datanets.js';
import { BlockError } from '../../vm/errors.js';
import { jobInputs } from '../../vm/jobs.js';
import { modelId, receiptId, TRAINER_PINNED } from '../../vm/models.js';
import { CHAIN_ID, codeOf, datanetBody, genesisJson, key, type Resolver, TestChain } from './harness.js';

const alice = key('alice'); // datanet + model owner
const bob = key('bob'); // contributor
const carol = key('carol'); // contributor and provider
const dave = key('dave'); // requester
const enc = new TextEncoder();

const dnBody = datanetBody();

function modelBody(
  datanet: Uint8Array,
  version: number,
  over: Partial<TxBody<'model.register'>> = {},
): TxBody<'model.register'> {
  return {
    name: 'poet',
    datanets: [{ datanet, version }],
    method: 'span',
    params: [
      { key: 'minSpan', value: '4' },
      { key: 'tokenizer', value: 'cl100k_base@js-tiktoken-1.0.21' },
    ],
    pricePerRequest: 1000n,
    pricePerOutputToken: 10n,
    ownerShareBps: 2000,
    providers: [carol.address],
    artifact: { baseModel: 'llama-3-8b', adapterHash: sha256(enc.encode('adapter')) },
    training: null,
    ...over,
  };
}

function setup() {
  const c = TestChain.mem(genesisJson());
  c.block([c.tx(alice, 'datanet.create', dnBody)]);
  const dn = datanetId(alice.address, 0);
  c.block([
    c.tx(bob, 'datanet.contribute', { datanet: dn, content: 'to be or not to be', label: '' }),
    c.tx(carol, 'datanet.contribute', { datanet: dn, content: 'all the world is a stage', label: '' }),
  ]);
  const r = c.block([c.tx(alice, 'model.register', modelBody(dn, 2))]);
  expect(r.txResults.map((x) => x.code)).toEqual(['ok', 'ok']);
  const model = modelId(alice.address, 1);
  const cBob = contributionId(dn, sha256(enc.encode('to be or not to be')));
  const cCarol = contributionId(dn, sha256(enc.encode('all the world is a stage')));
  return { c, dn, model, cBob, cCarol };
}

function rbody(
  c: TestChain,
  model: Uint8Array,
  nonce: number,
  over: Partial<TxBody<'inference.receipt'>> = {},
  maxFee = 5000n,
): TxBody<'inference.receipt'> {
  return {
    request: c.request(dave, model, 1, maxFee, nonce),
    input: '',
    output: 'to be or not to be, the world is a stage',
    retrieved: [],
    inputTokens: 5,
    outputTokens: 20,
    ...over,
  };
}

function receipt(
  c: TestChain,
  model: Uint8Array,
  nonce: number,
  over: Partial<TxBody<'inference.receipt'>> = {},
  maxFee = 5000n,
) {
  return c.tx(carol, 'inference.receipt', rbody(c, model, nonce, over, maxFee));
}

const result = (job: number, over: Partial<JobResult> = {}): JobResult => ({
  job,
  ok: true,
  error: '',
  scores: [],
  evidence: [],
  tokens: 50,
  weightsHash: null,
  duplicateOf: null,
  ...over,
});

describe('models', () => {
  it('model.register stores version 1, active; model.update adds version 2', () => {
    const { c, dn, model } = setup();
    expect(c.stores.model(model)).toMatchObject({ latestVersion: 1 });
    expect(c.stores.modelVersion(model, 1)).toMatchObject({
      status: 'active',
      ownerShareBps: 2000,
      method: 'span',
    });
    const { name: _n, ...fields } = modelBody(dn, 1, { pricePerRequest: 7n });
    const r = c.block([c.tx(alice, 'model.update', { model, ...fields })]);
    expect(codeOf(r)).toBe('ok');
    expect(c.stores.modelVersion(model, 2)).toMatchObject({ status: 'active', pricePerRequest: 7n });
    expect(c.stores.model(model)!.latestVersion).toBe(2);
    const codes = c
      .block([
        c.tx(alice, 'model.update', { ...fields, model: sha256(new Uint8Array([9])) }),
        c.tx(bob, 'model.update', { ...fields, model }),
      ])
      .txResults.map((x) => x.code);
    expect(codes).toEqual(['MODEL_NOT_FOUND', 'NOT_MODEL_OWNER']);
  });

  it('model.register errors', () => {
    const { c, dn } = setup();
    const other = sha256(new Uint8Array([1]));
    const training = [{ key: 'epochs', value: '5' }];
    const bodies: [string, TxBody<'model.register'>][] = [
      ['NO_DATANETS', modelBody(dn, 1, { datanets: [] })],
      ['BAD_PINNED_DATANET', modelBody(dn, 3)],
      ['BAD_PINNED_DATANET', modelBody(dn, 1, { datanets: [{ datanet: other, version: 0 }] })],
      [
        'BAD_PINNED_DATANET',
        modelBody(dn, 1, {
          datanets: [
            { datanet: dn, version: 1 },
            { datanet: dn, version: 1 },
          ],
        }),
      ],
      [
        'BAD_PARAMS',
        modelBody(dn, 1, {
          params: [
            { key: 'b', value: '' },
            { key: 'a', value: '' },
          ],
        }),
      ],
      ['BAD_TRAINING', modelBody(dn, 1, { method: 'influence' })],
      ['BAD_TRAINING', modelBody(dn, 1, { training })],
      ['BAD_TRAINING', modelBody(dn, 1, { method: 'influence', training })],
      ['NO_PROVIDERS', modelBody(dn, 1, { providers: [] })],
      ['BAD_PROVIDERS', modelBody(dn, 1, { providers: [carol.address, carol.address] })],
      ['OWNER_SHARE_TOO_HIGH', modelBody(dn, 1, { ownerShareBps: 3001 })],
    ];
    const r = c.block(bodies.map(([, b]) => c.tx(alice, 'model.register', b)));
    expect(r.txResults.map((x) => x.code)).toEqual(bodies.map(([code]) => code));
  });

  it('a training spec creates a training job; the settle activates the version or marks it failed', () => {
    const { c, dn } = setup();
    const spec = { method: 'influence' as const, artifact: null, training: [{ key: 'epochs', value: '5' }] };
    const r = c.block([
      c.tx(alice, 'model.register', modelBody(dn, 2, spec)),
      c.tx(alice, 'model.register', modelBody(dn, 2, spec)),
    ]);
    expect(r.jobsCreated.map((j) => j.kind)).toEqual(['training', 'training']);
    const [m1, m2] = [modelId(alice.address, 2), modelId(alice.address, 3)];
    expect(c.stores.modelVersion(m1, 1)!.status).toBe('training');
    const inputs = jobInputs(c.state, c.stores.job(r.jobsCreated[0].id)!);
    expect(inputs).toMatchObject({ kind: 'training', corpus: [{ datanet: dn, version: 2 }] });
    const weights = sha256(enc.encode('w'));
    const resolver: Resolver = (job) =>
      job.id === r.jobsCreated[0].id
        ? result(job.id, { tokens: 0, weightsHash: weights })
        : result(job.id, { ok: false, error: 'TOO_MUCH_WORK', tokens: 0 });
    c.block([], { resolver });
    expect(c.stores.modelVersion(m1, 1)).toMatchObject({ status: 'active', weightsHash: weights });
    expect(c.stores.modelVersion(m2, 1)!.status).toBe('failed');
  });

  it('a training spec is pinned to the current trainer at registration; a named trainer is kept', () => {
    const { c, dn } = setup();
    const body = (training: { key: string; value: string }[]) =>
      modelBody(dn, 2, { method: 'influence', artifact: null, training });
    c.block([
      c.tx(alice, 'model.register', body([{ key: 'epochs', value: '5' }])),
      c.tx(alice, 'model.register', body([{ key: 'trainer', value: 'logreg@1' }])),
      c.tx(alice, 'model.register', body([])),
    ]);
    const [a, b, d] = [2, 3, 4].map((n) => c.stores.modelVersion(modelId(alice.address, n), 1)!.training);
    expect(a).toEqual([
      { key: 'epochs', value: '5' },
      { key: 'trainer', value: TRAINER_PINNED },
    ]);
    expect(b).toEqual([{ key: 'trainer', value: 'logreg@1' }]);
    expect(d).toEqual([{ key: 'trainer', value: TRAINER_PINNED }]);
  });

  it('a successful training result without weights invalidates the block', () => {
    const { c, dn } = setup();
    c.block([
      c.tx(alice, 'model.register', modelBody(dn, 2, { method: 'influence', artifact: null, training: [] })),
    ]);
    expect(() => c.block([], { resolver: (job) => result(job.id, { tokens: 0 }) })).toThrow(BlockError);
  });
});

describe('inference receipts and attribution settlement', () => {
  it('escrows maxFee and creates the attribution job', () => {
    const { c, model } = setup();
    const d0 = c.balance(dave);
    const r = c.block([receipt(c, model, 1)]);
    expect(codeOf(r)).toBe('ok');
    expect(c.balance(dave)).toBe(d0 - 5000n);
    expect(c.stores.totals().escrow).toBe(5000n);
    const id = receiptId(dave.address, 1);
    expect(c.stores.receipt(id)).toMatchObject({ status: 'pending', escrow: 5000n, outputTokens: 20 });
    expect(r.jobsCreated).toEqual([{ id: 3, kind: 'attribution', subject: id }]);
    const inputs = jobInputs(c.state, c.stores.job(3)!);
    expect(inputs.kind).toBe('attribution');
    if (inputs.kind === 'attribution') {
      expect(inputs.model.method).toBe('span');
      expect(inputs.receipt.output).toContain('stage');
      expect(inputs.corpus).toEqual([
        { datanet: c.stores.modelVersion(model, 1)!.datanets[0].datanet, version: 2 },
      ]);
    }
  });

  it('receipt errors', () => {
    const { c, model, dn } = setup();
    c.block([receipt(c, model, 1)]);
    // Registered in the same block as the receipts below, so still training when they run.
    const register = c.tx(
      alice,
      'model.register',
      modelBody(dn, 2, { method: 'influence', artifact: null, training: [] }),
    );
    const training = modelId(alice.address, 2);
    const withRequest = (request: TxBody<'inference.receipt'>['request']) => ({
      ...rbody(c, model, 0),
      request,
    });
    const signed = c.request(dave, model, 1, 5000n, 2);
    const cases: [string, ReturnType<TestChain['tx']>][] = [
      [
        'REQUEST_WRONG_CHAIN',
        c.tx(
          carol,
          'inference.receipt',
          withRequest({ ...c.request(dave, model, 1, 5000n, 3), chainId: 'other' }),
        ),
      ],
      [
        'REQUEST_EXPIRED',
        c.tx(carol, 'inference.receipt', withRequest(c.request(dave, model, 1, 5000n, 4, c.height))),
      ],
      [
        'MODEL_NOT_FOUND',
        c.tx(
          carol,
          'inference.receipt',
          withRequest(c.request(dave, sha256(new Uint8Array(1)), 1, 5000n, 5)),
        ),
      ],
      [
        'MODEL_VERSION_NOT_ACTIVE',
        c.tx(carol, 'inference.receipt', withRequest(c.request(dave, model, 2, 5000n, 6))),
      ],
      [
        'MODEL_VERSION_NOT_ACTIVE',
        c.tx(carol, 'inference.receipt', withRequest(c.request(dave, training, 1, 5000n, 7))),
      ],
      ['PROVIDER_NOT_AUTHORIZED', c.tx(bob, 'inference.receipt', rbody(c, model, 8))],
      ['TOO_MANY_TOKENS', receipt(c, model, 9, { outputTokens: 5000 })],
      ['FEE_ABOVE_MAX', receipt(c, model, 10, { outputTokens: 401 })],
      ['REQUEST_NONCE_USED', receipt(c, model, 1)],
      ['BAD_REQUEST_SIGNATURE', c.tx(carol, 'inference.receipt', withRequest({ ...signed, maxFee: 5001n }))],
      ['REQUESTER_INSUFFICIENT_FUNDS', receipt(c, model, 11, {}, 10n ** 30n)],
    ];
    const r = c.block([register, ...cases.map((x) => x[1])]);
    expect(r.txResults.slice(2).map((x) => x.code)).toEqual(cases.map((x) => x[0]));
  });

  it('settle pays the exact split of DESIGN §5, refunds the excess escrow and stores the record', () => {
    const { c, model, cBob, cCarol } = setup();
    c.block([receipt(c, model, 1)]);
    const before = {
      alice: c.balance(alice),
      bob: c.balance(bob),
      carol: c.balance(carol),
      dave: c.balance(dave),
    };
    const t0 = c.stores.totals();
    const scores = [
      { contribution: cBob, score: 3 },
      { contribution: cCarol, score: 1 },
    ].sort((a, b) => Buffer.compare(a.contribution, b.contribution));
    const evidence = [{ outputStart: 0, outputEnd: 6, contribution: cBob, offset: 0 }];
    const r = c.block([], { resolver: (job) => result(job.id, { scores, evidence }) });
    // F = 1000 + 10 × 50 = 1500; weights over S = 4: treasury 500·4, validators 1000·4, owner 2000·4,
    // bob 6500·3 = 19500, carol 6500·1; bob 731.25 → 731, carol 243.75 → 243 + the remainder unit.
    const payouts = r.events
      .filter((e) => e.type === 'payout')
      .map((e) => [Buffer.from(e.attrs.to as Uint8Array).toString('hex'), e.attrs.amount]);
    const hex = (a: Uint8Array) => Buffer.from(a).toString('hex');
    expect(Object.fromEntries(payouts)).toEqual({
      [hex(TREASURY_ADDRESS)]: 75n,
      [hex(VALIDATORS_POOL_ADDRESS)]: 150n,
      [hex(alice.address)]: 300n,
      [hex(bob.address)]: 731n,
      [hex(carol.address)]: 244n,
    });
    expect(c.balance(alice) - before.alice).toBe(300n);
    expect(c.balance(bob) - before.bob).toBe(731n);
    expect(c.balance(carol) - before.carol).toBe(244n);
    expect(c.balance(dave) - before.dave).toBe(3500n);
    const t1 = c.stores.totals();
    expect(t1.escrow).toBe(t0.escrow - 5000n);
    expect(t1.treasury - t0.treasury).toBe(75n);
    const rec = c.stores.attribution(receiptId(dave.address, 1))!;
    expect(rec).toMatchObject({ ok: true, fee: 1500n, refund: 3500n, tokens: 50 });
    expect(rec.scores).toEqual(scores);
    expect(rec.evidence).toEqual(evidence);
    expect(rec.payouts.reduce((a, p) => a + p.amount, 0n)).toBe(1500n);
    expect(c.stores.receipt(receiptId(dave.address, 1))!.status).toBe('settled');
  });

  it('the fee is capped at maxFee; with no positive score the datanet owner gets the contributors share', () => {
    const { c, model, cBob } = setup();
    c.block([receipt(c, model, 1)]);
    const d0 = c.balance(dave);
    const a0 = c.balance(alice);
    const r = c.block([], {
      resolver: (job) => result(job.id, { tokens: 100_000, scores: [{ contribution: cBob, score: -5 }] }),
    });
    expect(c.balance(dave)).toBe(d0); // fee = maxFee: nothing back
    const rec = c.stores.attribution(receiptId(dave.address, 1))!;
    expect(rec.fee).toBe(5000n);
    // alice is both model owner (20%) and datanet owner (65%).
    expect(c.balance(alice) - a0).toBe(4250n);
    expect(
      r.events.find((e) => e.type === 'payout' && (e.attrs.to as Uint8Array)[0] === alice.address[0])?.attrs
        .role,
    ).toBe('owner');
  });

  it('an influence result may name the weights hash; a duplicateOf invalidates the block', () => {
    const { c, model } = setup();
    c.block([receipt(c, model, 1)]);
    const copy = Object.assign(Object.create(Object.getPrototypeOf(c)), c, {
      state: (c.state as never as { clone(): never }).clone(),
    });
    expect(() =>
      copy.block([], {
        resolver: (job: { id: number }) => result(job.id, { duplicateOf: new Uint8Array(32) }),
      }),
    ).toThrow(BlockError);
    c.block([], { resolver: (job) => result(job.id, { weightsHash: sha256(enc.encode('w')) }) });
    expect(c.stores.receipt(receiptId(dave.address, 1))!.status).toBe('settled');
  });

  it('a failed attribution refunds the requester in full', () => {
    const { c, model } = setup();
    c.block([receipt(c, model, 1)]);
    const d0 = c.balance(dave);
    c.block([], { resolver: (job) => result(job.id, { ok: false, error: 'OUTPUT_TOO_LONG' }) });
    expect(c.balance(dave)).toBe(d0 + 5000n);
    expect(c.stores.receipt(receiptId(dave.address, 1))!.status).toBe('refunded');
    expect(c.stores.attribution(receiptId(dave.address, 1))).toMatchObject({
      ok: false,
      error: 'OUTPUT_TOO_LONG',
      fee: 0n,
    });
  });

  it('scores outside the pinned corpus or out of order invalidate the block', () => {
    const { c, model, cBob, cCarol } = setup();
    c.block([receipt(c, model, 1)]);
    const sorted = [cBob, cCarol].sort(Buffer.compare);
    const attempt = (scores: { contribution: Uint8Array; score: number }[]) => {
      const copy = Object.assign(Object.create(Object.getPrototypeOf(c)), c, {
        state: (c.state as never as { clone(): never }).clone(),
      });
      try {
        copy.block([], { resolver: (job: { id: number }) => result(job.id, { scores }) });
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(BlockError);
        return (e as BlockError).code;
      }
    };
    expect(
      attempt([
        { contribution: sorted[1], score: 1 },
        { contribution: sorted[0], score: 1 },
      ]),
    ).toBe('BAD_JOB_RESULT');
    expect(
      attempt([
        { contribution: sorted[0], score: 1 },
        { contribution: sorted[0], score: 2 },
      ]),
    ).toBe('BAD_JOB_RESULT');
    expect(attempt([{ contribution: sha256(new Uint8Array([7])), score: 1 }])).toBe('BAD_JOB_RESULT');
    expect(attempt([{ contribution: sorted[0], score: 1 }])).toBe('ok');
    expect(CHAIN_ID).toBe('ol-test');
  });
});
