import type { BatchOperation, ClassicLevel } from 'classic-level';
import { toHex } from '../core/bytes.js';
import { StorageError, ValidationError } from '../core/errors.js';
import { sha256 } from './digest.js';
import { EMPTY_ROOT } from './hashSpec.js';
import type { NodeRef } from './node.js';
import { makeLeaf } from './node.js';
import type { NodeStore } from './nodeStore.js';
import { planUpdate, type TreeWrite, type UpdatePlan } from './treeUpdate.js';
import type { StateOverlay } from './types.js';

/** Longest raw state key; typed stores use short namespaced keys, so this only stops misuse. */
export const STATE_KEY_BYTES_MAX = 1024;
/** Largest state value: well above a 64 KiB contribution with its metadata. */
export const STATE_VALUE_BYTES_MAX = 4 * 1024 * 1024;
/** Distinct keys one overlay may write: bounds its memory (a block writes far fewer). */
export const OVERLAY_WRITES_MAX = 2_000_000;

/** The node's LevelDB: binary keys and values at the root; sublevels pick their own encodings. */
export type StateLevel = ClassicLevel<Buffer, Buffer>;
/**
 * A raw LevelDB operation the node adds to a state commit (block, indexes), usually with
 * `sublevel: stateDb.sublevel('blocks')`. It lands in the same atomic batch as the state.
 */
export type ExtraOp = BatchOperation<StateLevel, Buffer | Uint8Array | string, Buffer | Uint8Array | string>;

/** A committed write as the overlay hands it over: the raw key with its tree write. */
export interface OverlayWrite extends TreeWrite {
  readonly key: Uint8Array;
}

/**
 * What an overlay needs from the database it was opened on; `StateDb` implements it. An interface
 * here, so overlay.ts does not import stateDb.ts (which imports this file): no import cycle.
 */
export interface OverlayBase {
  get(key: Uint8Array): Uint8Array | undefined;
  readonly committing: boolean;
  readonly nodeStore: NodeStore;
  readonly latestRootRef: NodeRef | null;
  readonly latestVersion: number | undefined;
  commitPlan(
    version: number,
    plan: UpdatePlan,
    writes: readonly OverlayWrite[],
    extraOps: readonly ExtraOp[],
  ): Promise<Uint8Array>;
}

/**
 * One block's writes over the latest committed version. Reads see the overlay's own writes first,
 * then the latest-value table. Keys and values are copied on write, so callers may reuse buffers.
 *
 * `root()` plans the tree update in memory (nothing is written) and keeps the plan, so a proposer
 * that asks for the root and then commits hashes the tree once. An overlay is usable until it is
 * committed or discarded, or until another overlay commits over the same base (then it is stale
 * and every call throws STATE_OVERLAY_STALE).
 */
export class Overlay implements StateOverlay {
  readonly #state: OverlayBase;
  readonly #baseVersion: number | undefined;
  readonly #writes = new Map<string, OverlayWrite>();
  #plan: UpdatePlan | undefined;
  #closed: 'committed' | 'discarded' | undefined;

  /** @internal Use `StateDb.overlay()`. */
  constructor(state: OverlayBase, baseVersion: number | undefined) {
    this.#state = state;
    this.#baseVersion = baseVersion;
  }

  /** The committed version this overlay builds on (undefined for an empty database). */
  get baseVersion(): number | undefined {
    return this.#baseVersion;
  }

  /** Number of distinct keys written (set or deleted). */
  get size(): number {
    return this.#writes.size;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#checkLive();
    const w = this.#writes.get(mapKey(key));
    // A copy: the pending value is already hashed, so a caller mutating it must not change it.
    if (w !== undefined) return w.leaf === null ? undefined : copy(w.leaf.value);
    return this.#state.get(key);
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.#checkLive();
    checkKey(key);
    if (value.length > STATE_VALUE_BYTES_MAX) {
      throw new ValidationError(
        'STATE_VALUE_TOO_LARGE',
        `state value of ${value.length} bytes for key 0x${toHex(key)} exceeds ${STATE_VALUE_BYTES_MAX}`,
      );
    }
    // Buffer copies (one object each, from the pool); what leaves the overlay is a plain copy.
    const k = Buffer.from(key);
    const keyHash = sha256(k);
    this.#put(k, { key: k, keyHash, leaf: makeLeaf(keyHash, Buffer.from(value)) });
  }

  delete(key: Uint8Array): void {
    this.#checkLive();
    checkKey(key);
    const k = Buffer.from(key);
    this.#put(k, { key: k, keyHash: sha256(k), leaf: null });
  }

  root(): Uint8Array {
    this.#checkLive();
    // A copy: the hash is the new root node's own, which the commit keeps in memory.
    return copy(this.#planned().root?.hash ?? EMPTY_ROOT);
  }

  /**
   * Writes this overlay as `version` (the next height: latest + 1, or any height for the first
   * commit) in one atomic batch with `extraOps`, and returns the new root.
   */
  async commit(version: number, extraOps: readonly ExtraOp[] = []): Promise<Uint8Array> {
    this.#checkLive();
    const plan = this.#planned();
    const writes = [...this.#writes.values()];
    this.#plan = undefined; // the commit fills in version numbers; a retry must plan afresh
    const root = await this.#state.commitPlan(version, plan, writes, extraOps);
    this.#closed = 'committed';
    this.#writes.clear();
    return root;
  }

  /** Drops the writes; the overlay cannot be used afterwards. */
  discard(): void {
    this.#closed = 'discarded';
    this.#writes.clear();
    this.#plan = undefined;
  }

  #put(k: Uint8Array, w: OverlayWrite): void {
    const mk = mapKey(k);
    if (!this.#writes.has(mk) && this.#writes.size >= OVERLAY_WRITES_MAX) {
      throw new ValidationError(
        'OVERLAY_TOO_LARGE',
        `an overlay may write at most ${OVERLAY_WRITES_MAX} keys`,
      );
    }
    this.#writes.set(mk, w);
    this.#plan = undefined;
  }

  #planned(): UpdatePlan {
    if (this.#plan === undefined) {
      const writes = [...this.#writes.values()].sort(byKeyHash);
      this.#plan = planUpdate(this.#state.nodeStore, this.#state.latestRootRef, writes);
    }
    return this.#plan;
  }

  #checkLive(): void {
    if (this.#closed !== undefined) {
      throw new StorageError('STATE_OVERLAY_CLOSED', `this overlay was already ${this.#closed}`);
    }
    if (this.#state.committing) {
      // The latest-value table may already hold the next version: reads here could mix versions.
      throw new StorageError(
        'STATE_COMMIT_BUSY',
        'a commit is in flight; await it, then start a new overlay',
      );
    }
    if (this.#state.latestVersion !== this.#baseVersion) {
      throw new StorageError(
        'STATE_OVERLAY_STALE',
        `overlay built on version ${this.#baseVersion} but version ${this.#state.latestVersion} is committed; start a new overlay`,
      );
    }
  }
}

/** Key-hash order: the first four bytes as a number decide almost every comparison without a native call. */
function byKeyHash(a: OverlayWrite, b: OverlayWrite): number {
  const x = a.keyHash;
  const y = b.keyHash;
  // `>>> 0`: unsigned, or a first byte ≥ 0x80 would make the number negative.
  const d =
    (((x[0] << 24) | (x[1] << 16) | (x[2] << 8) | x[3]) >>> 0) -
    (((y[0] << 24) | (y[1] << 16) | (y[2] << 8) | y[3]) >>> 0);
  return d !== 0 ? d : Buffer.compare(x, y);
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0 || key.length > STATE_KEY_BYTES_MAX) {
    throw new ValidationError(
      'STATE_KEY_BAD_LENGTH',
      `state keys are 1..${STATE_KEY_BYTES_MAX} bytes, got ${key.length}`,
    );
  }
}

/**
 * A plain Uint8Array copy. Not `slice()`: on a Buffer that returns a view of the same memory. Small
 * copies come from Node's buffer pool, so they cost no ArrayBuffer of their own (the garbage
 * collector sweeps those one by one); they live only until the commit.
 */
export function copy(bytes: Uint8Array): Uint8Array {
  const b = Buffer.from(bytes);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function mapKey(key: Uint8Array): string {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return b.toString('latin1');
}
