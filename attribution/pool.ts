import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { OlError } from '../core/errors.js';
import type { JobResult } from '../core/tx.js';
import type { CorpusRef, InlineCorpus } from './corpusCache.js';
import type { JobSpec } from './jobs.js';
import type { IndexName } from './tokenizer.js';
import type { WorkerReply, WorkerTask } from './worker.js';

/**
 * The attribution worker pool (DESIGN §4): jobs run in piscina worker threads, never on the main
 * thread. `max(1, cores − 1)` workers by default (one core stays with consensus and networking),
 * a bounded queue (a full queue rejects at once with POOL_QUEUE_FULL instead of growing without
 * limit), and a worker that dies mid-job rejects that job with WORKER_CRASHED (piscina replaces
 * the thread) instead of leaving it pending.
 *
 * Corpora reach workers by reference: `registerCorpus` builds or extends the on-disk index once
 * per (datanet, version) inside a worker and returns a small `CorpusRef`; jobs carry refs, and
 * each worker maps the cached segments into memory on first use and keeps them (LRU). So a job
 * message is a few KB, never the corpus.
 *
 * Worker code: when this module runs as TypeScript (tests, `tsx`), workers load worker.ts with
 * `--import tsx`; when it runs compiled (dist/attribution/pool.js), workers load worker.js.
 */

export const POOL_QUEUE_MAX_DEFAULT = 1024;

export interface JobPoolOptions {
  /** Directory for the on-disk index cache (created if missing). */
  cacheDir: string;
  /** Worker threads; default max(1, cores − 1). */
  threads?: number;
  /** Tasks waiting for a worker before `run` rejects; default POOL_QUEUE_MAX_DEFAULT. */
  queueMax?: number;
}

/** A pool-level failure (not a job result): the caller may retry or re-register. */
export class PoolError extends OlError {}

export class JobPool {
  readonly threads: number;
  readonly cacheDir: string;
  private readonly piscina: Piscina;

  constructor(opts: JobPoolOptions) {
    this.threads = opts.threads ?? Math.max(1, availableParallelism() - 1);
    this.cacheDir = opts.cacheDir;
    const ts = fileURLToPath(new URL('./worker.ts', import.meta.url));
    const js = fileURLToPath(new URL('./worker.js', import.meta.url));
    const runningTs = import.meta.url.endsWith('.ts');
    const filename = runningTs || !existsSync(js) ? ts : js;
    this.piscina = new Piscina({
      filename,
      execArgv: filename.endsWith('.ts') ? ['--import', 'tsx'] : [],
      minThreads: this.threads,
      maxThreads: this.threads,
      maxQueue: opts.queueMax ?? POOL_QUEUE_MAX_DEFAULT,
      // Index segments are large; let each worker keep them without hitting the default limits.
      resourceLimits: { maxOldGenerationSizeMb: 4096 },
    });
  }

  /** Runs one job in a worker. Resolves with its result; rejects only for pool-level failures. */
  run(spec: JobSpec): Promise<JobResult> {
    return this.exec({ op: 'run', spec, cacheDir: this.cacheDir }) as Promise<JobResult>;
  }

  /** Builds or extends the cached index of one (datanet, version) in a worker; returns the handle. */
  registerCorpus(corpus: InlineCorpus, tokenizer: IndexName): Promise<CorpusRef> {
    return this.exec({ op: 'register', corpus, tokenizer, cacheDir: this.cacheDir }) as Promise<CorpusRef>;
  }

  /** Test hook: makes one worker exit mid-task. */
  crashOneWorkerForTest(): Promise<unknown> {
    return this.wrap(this.piscina.run({}, { name: 'crashForTest' }));
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.piscina.queueSize;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }

  private async exec(task: WorkerTask): Promise<unknown> {
    const reply = (await this.wrap(this.piscina.run(task))) as WorkerReply;
    if ('error' in reply) throw new PoolError(reply.error.code, reply.error.message);
    return reply.value;
  }

  private async wrap<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof OlError) throw e;
      if (/queue is at limit/i.test(msg)) {
        throw new PoolError('POOL_QUEUE_FULL', `attribution queue is full (${msg}); retry later`);
      }
      if (/worker exited|terminated/i.test(msg)) {
        throw new PoolError('WORKER_CRASHED', `an attribution worker died while running the task: ${msg}`);
      }
      throw e;
    }
  }
}
