import type { ClassicLevel } from 'classic-level';
import { StorageError } from '../core/errors.js';

/** What this file uses of classic-level's chained batch: its native methods, under abstract-level. */
interface ClassicChainedBatch {
  _put(key: Buffer, value: Buffer): void;
  _del(key: Buffer): void;
  _write(options: { sync: boolean }): Promise<void>;
  _clear(): void;
}

/** Size of the first scratch buffer; it grows to the largest key plus value seen. */
const SCRATCH_BYTES = 64 * 1024;

/**
 * One native LevelDB WriteBatch that every commit fills and writes, then clears.
 *
 * Each put or delete goes straight into the native batch, which copies the bytes at once, so the
 * commit can hand it views of one scratch buffer and its keys and values die young, instead of
 * ~35k operation objects and buffers per block living until an array batch is submitted (and being
 * promoted to the old generation on the way). Clearing keeps the native buffer's capacity, so a
 * block's megabytes are not allocated afresh each time either.
 *
 * It drives classic-level's chained batch through its native methods (`_put`, `_del`, `_write`,
 * `_clear`): keys and values are already encoded and prefixed, so abstract-level's per-operation
 * checks and encodings are skipped, and its `write()`, which would close the batch, is never used.
 * classic-level is pinned in package.json; the constructor checks the methods are there.
 */
export class NativeBatch {
  readonly #batch: ClassicChainedBatch;
  #scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);

  constructor(db: ClassicLevel<Buffer, Buffer>) {
    const batch = db.batch() as unknown as Partial<ClassicChainedBatch>;
    for (const m of ['_put', '_del', '_write', '_clear'] as const) {
      if (typeof batch[m] !== 'function') {
        throw new StorageError(
          'STATE_BACKEND_UNSUPPORTED',
          `this classic-level's chained batch has no ${m}(); install the version package.json pins`,
        );
      }
    }
    this.#batch = batch as ClassicChainedBatch;
  }

  /** A buffer of at least `bytes` bytes to build the next key and value in (valid until the next call). */
  scratch(bytes: number): Buffer {
    if (this.#scratch.length < bytes) {
      this.#scratch = Buffer.allocUnsafeSlow(Math.max(bytes, this.#scratch.length * 2));
    }
    return this.#scratch;
  }

  put(key: Buffer, value: Buffer): void {
    this.#batch._put(key, value);
  }

  del(key: Buffer): void {
    this.#batch._del(key);
  }

  /** Writes everything added since the last write or clear, atomically, then clears. */
  async write(sync: boolean): Promise<void> {
    try {
      await this.#batch._write({ sync });
    } finally {
      this.#batch._clear();
    }
  }

  /** Drops everything added since the last write (a commit that failed before writing). */
  clear(): void {
    this.#batch._clear();
  }
}
