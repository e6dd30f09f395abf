import '../core/nativeCrypto.js';
import { OlError } from '../core/errors.js';
import type { JobResult } from '../core/tx.js';
import { type CorpusRef, type InlineCorpus, registerCorpus } from './corpusCache.js';
import { type JobSpec, runJob } from './jobs.js';
import type { IndexName } from './tokenizer.js';

/**
 * The piscina worker: runs jobs and corpus registrations off the main thread. Loaded as
 * TypeScript through tsx in development and tests, or as dist/attribution/worker.js when built
 * (pool.ts picks). Stateless except for its per-thread caches (tokenizer, segments, models),
 * which never change results.
 */

export type WorkerTask =
  | { op: 'run'; spec: JobSpec; cacheDir: string | null }
  | { op: 'register'; corpus: InlineCorpus; tokenizer: IndexName; cacheDir: string };

/** Typed errors cross the thread boundary as data (structured clone drops their class and code). */
export type WorkerReply = { value: JobResult | CorpusRef } | { error: { code: string; message: string } };

export default async function handle(task: WorkerTask): Promise<WorkerReply> {
  try {
    if (task.op === 'run') return { value: await runJob(task.spec, { cacheDir: task.cacheDir }) };
    return { value: await registerCorpus(task.cacheDir, task.tokenizer, task.corpus) };
  } catch (e) {
    if (e instanceof OlError) return { error: { code: e.code, message: e.message } };
    throw e;
  }
}

/** Test hook: ends this worker thread abruptly, as a crash would. */
export function crashForTest(): never {
  process.exit(70);
}
