import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CorpusInput,
  type CorpusRef,
  clearMemoryCache,
  type InlineCorpus,
} from '../../attribution/corpusCache.js';
import { type JobSpec, runJob } from '../../attribution/jobs.js';
import { JobPool, type PoolError } from '../../attribution/pool.js';
import { DEFAULT_TOKENIZER } from '../../attribution/tokenizer.js';
import { toHex } from '../../core/bytes.js';
import { encode } from '../../core/codec.js';
import { sha256 } from '../../core/hash.js';
import { type JobResult, jobResultSchema } from '../../core/tx.js';
import { rng } from './_fixtures.js';
import {
  type CorpusName,
  jobMix,
  PLAYS,
  PLAYS_ACCEPTED,
  playsAcceptedContributions,
  playsContributions,
  SPEECHES,
  speechContributions,
  WORDS,
} from './_jobs.js';

/**
 * Same bytes whatever the worker count, the cache state, the index segmentation or the order jobs
 * run in (DESIGN §4), and pinned by golden hashes: a change to any of these results is a
 * consensus change and must be deliberate (update GOLDEN and say why in the commit).
 */

const GOLDEN: Record<number, string> = {
  1: 'f0f4de2aa93c301cc6732e90de46f7e71b624aaa51c14b3d8791d4417ff70f41',
  2: '96ad6d56162ad035a106802dba7430bfefdf81079690454242607c836a00f649',
  3: 'b7a26a4bc0c7eaae7e4ab459ec894f5ab7d34fd03b92d4030fd98c879e828e5f',
  4: 'a969bded57be9afea3805bb5293e91f0b8f544a868d6b909ffe694429d5cd7c1',
  5: '214c0efad806ebdfbd8d230cac3b0b6f40f367b1a99cef40e9cc2f727cd6a639',
  6: 'f7dc5abd1522989621c87932513a32a18feeec33fd488b0b6d7970e0259b22a0',
  7: '781565f4e56bbe1822bd6d498155148c4b80376df6888bf592aeedfafb50a3e0',
  8: 'c45a9760f2db1dbc41e1fdab0850f3754ed74c22f47c1c817e896e9b4175e6dd',
  // Round 2 (new parameters; jobs 1–8 keep their round-1 hashes: old params, old meaning).
  9: '3ea88fc90c672292a465fb93c56961d6e9c4db1a5a6ebce70f2c0dadd53464ea',
  10: '8185db969f4b5762767044c21fc054bbce0b07605f6ceefa3cd7df507bdb0570',
  11: 'ffd4e38b2ec6fcf3cf3040486aa3aaa12b41161523890e57816db29470610f66',
  12: '23b15afce91bf124d58f7a5c5439d4a50e4a8f0497a164e5438e8c85f44f4748',
  // Issue 14 (trainer logreg@2, sgd-influence@1; jobs 1–12 unchanged).
  13: '2ef300a16b3288c730fe33eb955cf3c2dd914638a9ec7a32e5970cbb134216ca',
  14: 'a8b515cbd37a58e76e8e9a1a9de34da01ddc61e58fe8fdf89e43ef32fa4b7447',
  // Issue 14 part 3 (spanWeight=document-bits@1; jobs 1–14 unchanged).
  15: '654888cbf9d82ceda59b0dfbb1fb9cae679bd74e2b5c8abc1915153cd9f018a8',
  16: 'd303c35b188405d9dc41f43b55e926fbd162ca140c3724b41f31aef62b7e122b',
};

const hashOf = (r: JobResult) => toHex(sha256(encode(jobResultSchema, r)));

const plays: InlineCorpus = { datanet: PLAYS, version: 2, contributions: playsContributions() };
const speechesCorpus: InlineCorpus = { datanet: SPEECHES, version: 1, contributions: speechContributions() };
const playsAccepted: InlineCorpus = {
  datanet: PLAYS_ACCEPTED,
  version: 3,
  contributions: playsAcceptedContributions(),
};
const INLINE: Record<CorpusName, InlineCorpus> = { plays, speeches: speechesCorpus, playsAccepted };
const inline = (n: CorpusName): CorpusInput => INLINE[n];

type Refs = Record<CorpusName, Partial<Record<string, CorpusRef>>>;
/** Registers every corpus under the default tokenizer and the normalised-words index. */
async function registerAll(pool: JobPool, override: Partial<Refs> = {}): Promise<Refs> {
  const refs = { plays: {}, speeches: {}, playsAccepted: {} } as Refs;
  for (const name of Object.keys(INLINE) as CorpusName[]) {
    for (const index of [DEFAULT_TOKENIZER, WORDS]) {
      refs[name][index] = override[name]?.[index] ?? (await pool.registerCorpus(INLINE[name], index));
    }
  }
  return refs;
}
const fromRefs =
  (refs: Refs) =>
  (n: CorpusName, index: string = DEFAULT_TOKENIZER) =>
    refs[n][index]!;

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const r = rng(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('determinism across workers, caches, segmentation and order', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'ol-attr-'));
    dirs.push(d);
    return d;
  };
  let reference: Map<number, string>;
  let jobsInline: JobSpec[];

  beforeAll(async () => {
    // The influence receipt must carry the model's own prediction: ask the engine once.
    const probe = jobMix(inline, 'JULIET').find((j) => j.job === 5)!;
    const first = await runJob(probe);
    const label = first.ok ? 'JULIET' : ['MENENIUS', 'ROMEO'].find((l) => l !== 'JULIET')!;
    jobsInline = jobMix(inline, label);
    reference = new Map();
    for (const j of jobsInline) reference.set(j.job, hashOf(await runJob(j)));
    expect((await runJob(jobsInline.find((j) => j.job === 5)!)).ok).toBe(true);
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('matches the golden result hashes', () => {
    expect(Object.fromEntries(reference)).toEqual(GOLDEN);
  });

  it('the round-2 jobs mean what they say', async () => {
    const byJob = new Map<number, JobResult>();
    for (const j of jobsInline) if (j.job >= 9) byJob.set(j.job, await runJob(j));
    const recast = byJob.get(9)!; // an upper-cased, re-spaced, re-punctuated copy
    expect(recast).toMatchObject({ ok: false, error: 'NEAR_DUPLICATE' });
    expect(recast.tokens).toBeGreaterThanOrEqual(9000);
    expect(byJob.get(10)!.scores.length).toBeGreaterThan(0); // a lower-cased quote still credits
    expect(byJob.get(11)!.scores.length).toBeGreaterThan(0);
    expect(byJob.get(12)).toMatchObject({ ok: false, error: 'NORMALIZATION_UNKNOWN' });
    // logreg@2: the influence job names the training job's weights and pays someone.
    expect(byJob.get(14)).toMatchObject({ ok: true, weightsHash: byJob.get(13)!.weightsHash });
    expect(byJob.get(14)!.scores.length).toBeGreaterThan(0);
    // document-bits@1 credits the same contributions as the round-1 weight on this output (the
    // evidence is the same spans; only the weights differ).
    const round1 = await runJob(jobsInline.find((j) => j.job === 1)!);
    expect(byJob.get(15)!.evidence).toEqual(round1.evidence);
    expect(byJob.get(15)!.scores.map((s) => toHex(s.contribution))).toEqual(
      round1.scores.map((s) => toHex(s.contribution)),
    );
    expect(byJob.get(16)!.scores.length).toBeGreaterThan(0);
  });

  it('1 worker + cold disk cache, 3 workers + incrementally built (segmented) cache in shuffled order, warm cache', async () => {
    // 1 worker, cold cache, corpora registered in one go.
    const dirA = tmp();
    const pool1 = new JobPool({ cacheDir: dirA, threads: 1 });
    try {
      const jobs = jobMix(fromRefs(await registerAll(pool1)), labelOf(jobsInline));
      for (const j of jobs) expect(hashOf(await pool1.run(j)), `job ${j.job}`).toBe(reference.get(j.job));
    } finally {
      await pool1.close();
    }

    // 3 workers, a fresh cache grown version by version (so the index has several segments),
    // jobs submitted concurrently in a shuffled order.
    const dirB = tmp();
    const pool3 = new JobPool({ cacheDir: dirB, threads: 3 });
    try {
      const all = plays.contributions;
      const grown: Record<string, CorpusRef> = {};
      const cut = [Math.floor(all.length / 3), Math.floor(all.length / 2), all.length - 5, all.length];
      for (const index of [DEFAULT_TOKENIZER, WORDS]) {
        for (let v = 0; v < cut.length; v++) {
          grown[index] = await pool3.registerCorpus(
            { datanet: PLAYS, version: v, contributions: all.slice(0, cut[v]) },
            index,
          );
        }
      }
      const refs = await registerAll(pool3, { plays: grown });
      const jobs = shuffled(jobMix(fromRefs(refs), labelOf(jobsInline)), 7);
      const results = await Promise.all(jobs.map((j) => pool3.run(j)));
      results.forEach((r, i) => {
        expect(hashOf(r), `job ${jobs[i].job}`).toBe(reference.get(jobs[i].job));
      });
    } finally {
      await pool3.close();
    }

    // Warm disk cache, fresh workers; and in-process from the warm cache after dropping memory.
    const warm = new JobPool({ cacheDir: dirA, threads: 2 });
    try {
      const jobs = shuffled(jobMix(fromRefs(await registerAll(warm)), labelOf(jobsInline)), 11);
      const results = await Promise.all(jobs.map((j) => warm.run(j)));
      results.forEach((r, i) => {
        expect(hashOf(r)).toBe(reference.get(jobs[i].job));
      });
    } finally {
      await warm.close();
    }
    clearMemoryCache();
    for (const j of jobsInline)
      expect(hashOf(await runJob(j, { cacheDir: dirA }))).toBe(reference.get(j.job));
  });

  it('a crashing worker is an error, not a hang; the pool keeps working; a full queue rejects', async () => {
    const pool = new JobPool({ cacheDir: tmp(), threads: 1, queueMax: 2 });
    try {
      await expect(pool.crashOneWorkerForTest()).rejects.toMatchObject({ code: 'WORKER_CRASHED' });
      const j = jobsInline.find((x) => x.job === 7)!;
      expect(hashOf(await pool.run(j))).toBe(reference.get(7));
      const burst = Array.from({ length: 6 }, () =>
        pool.run(j).then(
          () => 'ok',
          (e: PoolError) => e.code,
        ),
      );
      const outcomes = await Promise.all(burst);
      expect(outcomes).toContain('POOL_QUEUE_FULL');
      expect(outcomes).toContain('ok');
      // A ref whose files are gone is reported as a pool error with its code.
      const gone = {
        ...((await pool.registerCorpus(speechesCorpus, DEFAULT_TOKENIZER)) as CorpusRef),
        digest: 'ff'.repeat(32),
      };
      await expect(
        pool.run({ ...jobsInline.find((x) => x.job === 4)!, corpora: [gone] } as JobSpec),
      ).rejects.toMatchObject({
        code: 'CORPUS_NOT_CACHED',
      });
    } finally {
      await pool.close();
    }
  });
});

function labelOf(jobs: JobSpec[]): string {
  const j = jobs.find((x) => x.job === 5);
  return j && j.kind === 'attribution' ? j.output : '';
}
