import type { CorpusRef } from '../attribution/corpusCache.js';
import type { JobSpec } from '../attribution/jobs.js';
import { DUPLICATE_PARAMS } from '../attribution/params.js';
import type { JobPool } from '../attribution/pool.js';
import { DEFAULT_TOKENIZER, type IndexName } from '../attribution/tokenizer.js';
import { toHex } from '../core/bytes.js';
import type { JobResult, Param } from '../core/tx.js';
import type { Job, ModelVersion } from '../state/stores/records.js';
import type { StateReader } from '../state/types.js';
import { acceptedContributions, jobInputs, type PinnedCorpus } from '../vm/jobs.js';

/**
 * Runs the deferred jobs (DESIGN §4) of each committed block in the attribution worker pool, off
 * the main thread, and keeps their results until the block that settles them. The proposer of
 * h+1 awaits `results(h+1)` to build its `attribution.settle`; every other validator awaits the
 * same to compare before prevoting. Results are pure functions of pinned inputs, so reading them
 * from the latest state is fine: accepted contributions and job records never change.
 */

/** Pool-level failures (a worker crash, a lost cache file) are retried this many times. */
export const JOB_ATTEMPTS_MAX = 3;
/** Results kept for heights this far behind the tip (a lagging proposal may still ask). */
export const RESULT_HEIGHTS_KEPT = 8;

export interface JobRunnerObserver {
  onJobDone?(kind: string, seconds: number): void;
  onQueue?(size: number): void;
}

function paramValue(params: readonly Param[] | null, key: string): string | undefined {
  return params?.find((p) => p.key === key)?.value;
}

/**
 * What a model version's corpora are indexed with: a span model's `normalization` when set, else
 * its tokenizer (an influence model's is a training param).
 */
function modelTokenizer(m: ModelVersion): string {
  const normalization = m.method === 'span' ? paramValue(m.params, 'normalization') : undefined;
  if (normalization !== undefined && normalization !== 'none') return normalization;
  return paramValue(m.method === 'influence' ? m.training : m.params, 'tokenizer') ?? DEFAULT_TOKENIZER;
}

/** The index near-duplicate checks run on (the check's default normalisation). */
const DUPLICATE_INDEX: IndexName = DUPLICATE_PARAMS.dupNormalization.default;

export class JobRunner {
  private readonly byHeight = new Map<number, Promise<JobResult[]>>();
  private readonly corpora = new Map<string, Promise<CorpusRef>>();
  private running = 0;

  constructor(
    private readonly pool: JobPool,
    private readonly state: StateReader,
    private readonly observer: JobRunnerObserver = {},
  ) {}

  /** Starts the jobs due at `height` (created by block height − 1). Idempotent. */
  start(height: number, jobs: readonly Job[]): Promise<JobResult[]> {
    let p = this.byHeight.get(height);
    if (p === undefined) {
      p = Promise.all(jobs.map((j) => this.runOne(j)));
      // Keep the rejection observable by the awaiting caller, but never unhandled.
      p.catch(() => {});
      this.byHeight.set(height, p);
      for (const h of this.byHeight.keys()) if (h < height - RESULT_HEIGHTS_KEPT) this.byHeight.delete(h);
    }
    return p;
  }

  /** Results for the jobs due at `height`, in job-id order; starts them if needed. */
  results(height: number, jobs: readonly Job[]): Promise<JobResult[]> {
    return this.start(height, jobs);
  }

  get queued(): number {
    return this.running;
  }

  private async runOne(job: Job): Promise<JobResult> {
    this.running++;
    this.observer.onQueue?.(this.running);
    const started = process.hrtime.bigint();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const spec = await this.spec(job);
          return await this.pool.run(spec);
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === 'CORPUS_NOT_CACHED') this.corpora.clear();
          if (attempt >= JOB_ATTEMPTS_MAX || (code !== 'CORPUS_NOT_CACHED' && code !== 'WORKER_CRASHED'))
            throw e;
        }
      }
    } finally {
      this.running--;
      this.observer.onQueue?.(this.running);
      this.observer.onJobDone?.(job.kind, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  private corpus(pinned: PinnedCorpus, tokenizer: string): Promise<CorpusRef> {
    const key = `${toHex(pinned.datanet)}:${pinned.version}:${tokenizer}`;
    let ref = this.corpora.get(key);
    if (ref === undefined) {
      // With their acceptance order: shared credit and ties go to the earlier accepted.
      const contributions = acceptedContributions(this.state, pinned.datanet, pinned.version).map((c) => ({
        id: c.id,
        content: c.content,
        label: c.label,
        accepted: { height: c.height, seq: c.seq },
      }));
      ref = this.pool.registerCorpus(
        { datanet: pinned.datanet, version: pinned.version, contributions },
        tokenizer as Parameters<JobPool['registerCorpus']>[1],
      );
      ref.catch(() => this.corpora.delete(key));
      this.corpora.set(key, ref);
    }
    return ref;
  }

  /**
   * Indexes a datanet version as soon as it exists (a contribution was accepted), so the first job
   * that pins it does not pay for tokenizing and indexing while a proposal waits.
   */
  warm(pinned: PinnedCorpus, tokenizer?: string): void {
    // Without a tokenizer: the default one and the near-duplicate index (the next contribution's check).
    for (const t of tokenizer === undefined ? [DEFAULT_TOKENIZER, DUPLICATE_INDEX] : [tokenizer])
      this.corpus(pinned, t).catch(() => {});
  }

  /**
   * A dry run of attribution for `output` against a model version's pinned data (ol_attribute):
   * the same code path as a receipt's job, through the same workers and corpus cache.
   */
  async dryRun(m: ModelVersion, input: string, output: string): Promise<JobResult> {
    const tokenizer = modelTokenizer(m);
    return this.pool.run({
      kind: 'attribution',
      job: 0,
      method: m.method,
      params: m.params,
      training: m.training,
      corpora: await Promise.all(m.datanets.map((c) => this.corpus(c, tokenizer))),
      input,
      output,
      retrieved: [],
    });
  }

  private async spec(job: Job): Promise<JobSpec> {
    const inputs = jobInputs(this.state, job);
    switch (inputs.kind) {
      case 'attribution': {
        const m = inputs.model;
        const tokenizer = modelTokenizer(m);
        return {
          kind: 'attribution',
          job: job.id,
          method: m.method,
          params: m.params,
          training: m.training,
          corpora: await Promise.all(inputs.corpus.map((c) => this.corpus(c, tokenizer))),
          input: inputs.receipt.input,
          output: inputs.receipt.output,
          retrieved: inputs.receipt.retrieved,
        };
      }
      case 'training': {
        const training = inputs.model.training ?? [];
        const tokenizer = paramValue(training, 'tokenizer') ?? DEFAULT_TOKENIZER;
        return {
          kind: 'training',
          job: job.id,
          training,
          corpora: await Promise.all(inputs.corpus.map((c) => this.corpus(c, tokenizer))),
        };
      }
      case 'nearDuplicate': {
        const c = inputs.contribution;
        return {
          kind: 'duplicate',
          job: job.id,
          params: [{ key: 'dupThresholdBps', value: String(inputs.thresholdBps) }],
          corpora: [
            await this.corpus({ datanet: c.datanet, version: inputs.corpusVersion }, DUPLICATE_INDEX),
          ],
          contribution: { id: c.id, content: inputs.content, label: c.label },
        };
      }
    }
  }
}
