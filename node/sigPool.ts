import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { SignatureCheck } from '../consensus/commit.js';
import { verifySignature } from '../core/keys.js';
import type { SigBatch } from './sigWorker.js';

/**
 * Signature checks for many transactions at once (a proposal full of transactions this node has
 * not seen by gossip, or blocks during sync) are split across worker threads; small batches stay
 * on the main thread, where a worker round trip would cost more than it saves.
 */

/** Below this many signatures a batch is verified inline. */
export const SIG_BATCH_MIN = 64;
/** Signatures per task sent to one worker. */
export const SIG_CHUNK = 256;

export class SigPool {
  private readonly piscina: Piscina;

  constructor(readonly threads: number) {
    const ts = fileURLToPath(new URL('./sigWorker.ts', import.meta.url));
    const js = fileURLToPath(new URL('./sigWorker.js', import.meta.url));
    const filename = import.meta.url.endsWith('.ts') || !existsSync(js) ? ts : js;
    this.piscina = new Piscina({
      filename,
      execArgv: filename.endsWith('.ts') ? ['--import', 'tsx'] : [],
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 30_000,
    });
  }

  /** Verdicts in order; fewer than `inlineBelow` checks are verified here, on the calling thread. */
  async verifyMany(items: readonly SignatureCheck[], inlineBelow = SIG_BATCH_MIN): Promise<boolean[]> {
    if (items.length < inlineBelow)
      return items.map((i) => verifySignature(i.publicKey, i.message, i.signature));
    const chunks: Promise<boolean[]>[] = [];
    for (let start = 0; start < items.length; start += SIG_CHUNK) {
      const part = items.slice(start, start + SIG_CHUNK);
      const batch: SigBatch = {
        publicKeys: part.map((i) => i.publicKey),
        messages: part.map((i) => i.message),
        signatures: part.map((i) => i.signature),
      };
      chunks.push(this.piscina.run(batch) as Promise<boolean[]>);
    }
    return (await Promise.all(chunks)).flat();
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
