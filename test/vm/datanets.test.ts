import { describe, expect, it } from 'vitest';
import { sha256 } from '../../core/hash.js';
import type { TxBody } from '../../core/tx.js';
import { contributionId, datanetId } from '../../vm/datanets.js';
import { BlockError } from '../../vm/errors.js';
import { acceptedContributions, dueJobs, jobInputs } from '../../vm/jobs.js';
import { codeOf, genesisJson, key, OPEN, type Resolver, TestChain } from './harness.js';

const alice = key('alice'); // datanet owner
const bob = key('bob'); // contributor
const carol = key('carol'); // curator
const dave = key('dave');

const dn = (over: Partial<TxBody<'datanet.create'>> = {}): TxBody<'datanet.create'> => ({
  name: 'poems',
  description: 'public-domain poems',
  license: 'CC0-1.0',
  tags: ['poetry'],
  curation: 'open',
  curators: [],
  bond: 10n * OPEN,
  rejectForfeitBps: 5000,
  contributionBytesMax: 0,
  labels: [],
  ...over,
});

const enc = new TextEncoder();
const cid = (datanet: Uint8Array, text: string) => contributionId(datanet, sha256(enc.encode(text)));

function setup(over: Partial<TxBody<'datanet.create'>> = {}) {
  const c = TestChain.mem(genesisJson());
  const r = c.block([c.tx(alice, 'datanet.create', dn(over))]);
  expect(codeOf(r)).toBe('ok');
  return { c, id: datanetId(alice.address, 0) };
}

describe('datanets', () => {
  it('datanet.create stores the datanet at version 0', () => {
    const { c, id } = setup();
    const d = c.stores.datanet(id)!;
    expect(d.owner).toEqual(alice.address);
    expect(d.version).toBe(0);
    expect(d.contributionBytesMax).toBe(64 * 1024);
  });

  it('datanet.create errors', () => {
    const c = TestChain.mem();
    const codes = c
      .block([
        c.tx(alice, 'datanet.create', dn({ curation: 'curators', curators: [] })),
        c.tx(alice, 'datanet.create', dn({ curation: 'open', curators: [carol.address] })),
        c.tx(alice, 'datanet.create', dn({ curation: 'curators', curators: [carol.address, carol.address] })),
        c.tx(alice, 'datanet.create', dn({ labels: ['a', 'a'] })),
        c.tx(alice, 'datanet.create', dn({ tags: ['x', 'x'] })),
      ])
      .txResults.map((x) => x.code);
    expect(codes).toEqual(['BAD_CURATORS', 'BAD_CURATORS', 'BAD_CURATORS', 'BAD_LABELS', 'BAD_TAGS']);
  });

  it('open curation: contribution escrows the bond, the near-duplicate job decides next block', () => {
    const { c, id } = setup();
    const b0 = c.balance(bob);
    const r = c.block([
      c.tx(bob, 'datanet.contribute', { datanet: id, content: 'Shall I compare thee', label: '' }),
    ]);
    expect(codeOf(r)).toBe('ok');
    expect(r.jobsCreated).toEqual([
      { id: 1, kind: 'nearDuplicate', subject: cid(id, 'Shall I compare thee') },
    ]);
    expect(c.stores.totals().escrow).toBe(10n * OPEN);
    const due = dueJobs(c.state, c.height + 1);
    expect(due.map((j) => j.id)).toEqual([1]);
    const inputs = jobInputs(c.state, due[0]);
    expect(inputs).toMatchObject({
      kind: 'nearDuplicate',
      content: 'Shall I compare thee',
      corpusVersion: 0,
      thresholdBps: 8000,
    });
    const r2 = c.block([]);
    expect(r2.txResults[0].type).toBe('attribution.settle');
    expect(r2.events.some((e) => e.type === 'contribution.accepted')).toBe(true);
    expect(c.stores.datanet(id)!.version).toBe(1);
    expect(c.balance(bob)).toBe(b0 - r.txResults[0].fee);
    expect(c.stores.totals().escrow).toBe(0n);
    const corpus = acceptedContributions(c.state, id, 1);
    expect(corpus.map((x) => x.content)).toEqual(['Shall I compare thee']);
    expect(corpus[0].contributor).toEqual(bob.address);
  });

  it('open curation: a near-duplicate is rejected and forfeits its bond share; a failed check refunds', () => {
    const { c, id } = setup();
    c.block([c.tx(bob, 'datanet.contribute', { datanet: id, content: 'original text here', label: '' })]);
    c.block([]);
    const orig = cid(id, 'original text here');
    const dupText = 'original text here!';
    const b0 = c.balance(dave);
    const r = c.block([
      c.tx(dave, 'datanet.contribute', { datanet: id, content: dupText, label: '' }),
      c.tx(dave, 'datanet.contribute', { datanet: id, content: 'something else', label: '' }),
    ]);
    const fees = r.txResults.reduce((a, x) => a + x.fee, 0n);
    const resolver: Resolver = (job) => ({
      job: job.id,
      ok: job.id === 2,
      error: job.id === 2 ? '' : 'TOKENIZER_FAILED',
      scores: [],
      evidence: [],
      tokens: job.id === 2 ? 9500 : 0,
      weightsHash: null,
      duplicateOf: job.id === 2 ? orig : null,
    });
    const t0 = c.stores.totals().treasury;
    const r2 = c.block([], { resolver });
    const rejected = r2.events.filter((e) => e.type === 'contribution.rejected');
    expect(rejected.map((e) => e.attrs.forfeited)).toEqual([5n * OPEN, 0n]);
    expect(c.stores.contribution(cid(id, dupText))!.note).toContain('near-duplicate of 0x');
    expect(c.stores.contribution(cid(id, 'something else'))!.note).toBe('check-failed: TOKENIZER_FAILED');
    expect(c.stores.totals().treasury - t0).toBe(5n * OPEN);
    expect(c.balance(dave)).toBe(b0 - fees - 5n * OPEN);
    expect(c.stores.datanet(id)!.version).toBe(1);
  });

  it('a contribution being checked cannot be reviewed yet', () => {
    const { c, id } = setup({ curation: 'owner' });
    const r = c.block([
      c.tx(bob, 'datanet.contribute', { datanet: id, content: 'one', label: '' }),
      c.tx(alice, 'datanet.review', { contribution: cid(id, 'one'), accept: true, reason: '' }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['ok', 'CONTRIBUTION_NOT_PENDING']);
    expect(c.stores.contribution(cid(id, 'one'))!.status).toBe('checking');
  });

  it('owner and curators curation: review after the check', () => {
    const { c, id } = setup({ curation: 'curators', curators: [carol.address] });
    c.block([
      c.tx(bob, 'datanet.contribute', { datanet: id, content: 'one', label: '' }),
      c.tx(bob, 'datanet.contribute', { datanet: id, content: 'two', label: '' }),
    ]);
    const early = c.tx(carol, 'datanet.review', { contribution: cid(id, 'one'), accept: true, reason: '' });
    // The settle (first) moves both to pending, so a review in the same block already applies.
    const r = c.block([early]);
    expect(r.events.filter((e) => e.type === 'contribution.pending')).toHaveLength(2);
    expect(codeOf(r)).toBe('ok');
    expect(c.stores.contribution(cid(id, 'one'))!.status).toBe('accepted');
    const b0 = c.balance(bob);
    const t0 = c.stores.totals().treasury;
    const codes = c
      .block([
        c.tx(dave, 'datanet.review', { contribution: cid(id, 'two'), accept: true, reason: '' }),
        c.tx(alice, 'datanet.review', { contribution: cid(id, 'two'), accept: false, reason: 'off-topic' }),
        c.tx(carol, 'datanet.review', { contribution: cid(id, 'one'), accept: false, reason: '' }),
        c.tx(carol, 'datanet.review', { contribution: cid(id, 'nope'), accept: false, reason: '' }),
      ])
      .txResults.map((x) => x.code);
    expect(codes).toEqual(['NOT_CURATOR', 'ok', 'CONTRIBUTION_NOT_PENDING', 'CONTRIBUTION_NOT_FOUND']);
    expect(c.stores.contribution(cid(id, 'two'))!.status).toBe('rejected');
    expect(c.balance(bob) - b0).toBe(5n * OPEN);
    expect(c.stores.totals().treasury - t0 >= 5n * OPEN).toBe(true);
  });

  it("the engine's NEAR_DUPLICATE failure rejects with forfeit (open) or flags (owner)", () => {
    const { c, id } = setup();
    c.block([c.tx(bob, 'datanet.contribute', { datanet: id, content: 'original', label: '' })]);
    c.block([]);
    const orig = cid(id, 'original');
    c.block([c.tx(dave, 'datanet.contribute', { datanet: id, content: 'original.', label: '' })]);
    const r = c.block([], {
      resolver: (job) => ({
        job: job.id,
        ok: false,
        error: 'NEAR_DUPLICATE',
        scores: [],
        evidence: [],
        tokens: 9100,
        weightsHash: null,
        duplicateOf: orig,
      }),
    });
    expect(r.events.find((e) => e.type === 'contribution.rejected')?.attrs.forfeited).toBe(5n * OPEN);
    expect(c.stores.contribution(cid(id, 'original.'))).toMatchObject({
      status: 'rejected',
      coveredBps: 9100,
      duplicateOf: orig,
    });
  });

  it('owner curation records a near-duplicate flag instead of deciding', () => {
    const { c, id } = setup({ curation: 'owner' });
    c.block([c.tx(bob, 'datanet.contribute', { datanet: id, content: 'first', label: '' })]);
    c.block([c.tx(alice, 'datanet.review', { contribution: cid(id, 'first'), accept: true, reason: '' })]);
    c.block([c.tx(dave, 'datanet.contribute', { datanet: id, content: 'first!', label: '' })]);
    const orig = cid(id, 'first');
    c.block([], {
      resolver: (job) => ({
        job: job.id,
        ok: true,
        error: '',
        scores: [],
        evidence: [],
        tokens: 9000,
        weightsHash: null,
        duplicateOf: orig,
      }),
    });
    const flagged = c.stores.contribution(cid(id, 'first!'))!;
    expect(flagged.status).toBe('pending');
    expect(flagged.duplicateOf).toEqual(orig);
    expect(flagged.coveredBps).toBe(9000);
    expect(
      codeOf(
        c.block([c.tx(bob, 'datanet.review', { contribution: cid(id, 'first!'), accept: true, reason: '' })]),
      ),
    ).toBe('NOT_CURATOR');
  });

  it('contribution errors', () => {
    const { c, id } = setup({ labels: ['neg', 'pos'], contributionBytesMax: 8 });
    c.block([c.tx(bob, 'datanet.contribute', { datanet: id, content: 'dup', label: 'pos' })]);
    const open = setup().id;
    const codes = c
      .block([
        c.tx(bob, 'datanet.contribute', { datanet: sha256(new Uint8Array([1])), content: 'x', label: '' }),
        c.tx(bob, 'datanet.contribute', { datanet: id, content: '', label: 'pos' }),
        c.tx(bob, 'datanet.contribute', { datanet: id, content: 'too long!', label: 'pos' }),
        c.tx(bob, 'datanet.contribute', { datanet: id, content: 'x', label: 'maybe' }),
        c.tx(bob, 'datanet.contribute', { datanet: id, content: 'x', label: '' }),
        c.tx(bob, 'datanet.contribute', { datanet: id, content: 'dup', label: 'neg' }),
        c.tx(
          key('poor'),
          'datanet.contribute',
          { datanet: id, content: 'y', label: 'neg' },
          { gasPrice: 0n },
        ),
      ])
      .txResults.slice(1)
      .map((x) => x.code);
    expect(codes.slice(0, 6)).toEqual([
      'DATANET_NOT_FOUND',
      'EMPTY_CONTRIBUTION',
      'CONTRIBUTION_TOO_LARGE',
      'BAD_LABEL',
      'BAD_LABEL',
      'DUPLICATE_CONTRIBUTION',
    ]);
    expect(open).toBeDefined();
    const review = c.block([
      c.tx(alice, 'datanet.review', { contribution: cid(id, 'dup'), accept: true, reason: '' }),
    ]);
    expect(codeOf(review)).toBe('OPEN_CURATION');
  });

  it('a block may create at most jobsPerBlockMax jobs', () => {
    const c = TestChain.mem({ ...genesisJson(), params: { jobsPerBlockMax: '2' } });
    c.block([c.tx(alice, 'datanet.create', dn())]);
    const id = datanetId(alice.address, 0);
    const r = c.block(
      ['a', 'b', 'c'].map((t) => c.tx(bob, 'datanet.contribute', { datanet: id, content: t, label: '' })),
    );
    expect(r.txResults.map((x) => x.code)).toEqual(['ok', 'ok', 'BLOCK_JOBS_FULL']);
  });

  it('settle rules: due jobs need the settle first, with exactly their results, from the proposer', () => {
    const { c, id } = setup();
    c.block([c.tx(bob, 'datanet.contribute', { datanet: id, content: 'abc', label: '' })]);
    const ok = {
      job: 1,
      ok: true,
      error: '',
      scores: [],
      evidence: [],
      tokens: 0,
      weightsHash: null,
      duplicateOf: null,
    };
    const proposer = c.validatorKeys[0];
    const attempt = (settle: ReturnType<TestChain['settleTx']>['tx'] | null, p = proposer) => {
      const copy = Object.assign(Object.create(Object.getPrototypeOf(c)), c, {
        state: (c.state as never as { clone(): never }).clone(),
      });
      try {
        copy.block([], { settle, proposer: p });
      } catch (e) {
        expect(e).toBeInstanceOf(BlockError);
        return (e as BlockError).code;
      }
      return 'ok';
    };
    expect(attempt(null)).toBe('MISSING_SETTLE');
    expect(attempt(c.settleTx(proposer, []).tx)).toBe('BAD_SETTLE');
    expect(attempt(c.settleTx(proposer, [ok, { ...ok, job: 2 }]).tx)).toBe('BAD_SETTLE');
    expect(attempt(c.settleTx(proposer, [{ ...ok, job: 2 }]).tx)).toBe('BAD_SETTLE');
    expect(attempt(c.settleTx(key('val1'), [ok]).tx)).toBe('BAD_SETTLE');
    expect(attempt(c.settleTx(proposer, [{ ...ok, weightsHash: new Uint8Array(32) }]).tx)).toBe(
      'BAD_JOB_RESULT',
    );
    expect(attempt(c.settleTx(proposer, [{ ...ok, tokens: 10_001, duplicateOf: null }]).tx)).toBe(
      'BAD_JOB_RESULT',
    );
    expect(attempt(c.settleTx(proposer, [{ ...ok, duplicateOf: new Uint8Array(32) }]).tx)).toBe(
      'BAD_JOB_RESULT',
    );
    expect(attempt(c.settleTx(proposer, [ok]).tx)).toBe('ok');
  });
});
