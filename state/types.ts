/**
 * The contract between `state/` and its users (`vm/`, `node/`, `rpc/` through node).
 *
 * Reads are synchronous (classic-level's `getSync` on a flat latest-value table, plus the block's
 * write overlay), so the vm executes a whole block without awaiting: simpler, deterministic, fast.
 * Only `commit` touches the disk asynchronously, in one atomic LevelDB batch.
 *
 * Keys are namespaced raw byte strings chosen by the typed stores (`state/stores/`); the tree
 * itself is keyed by sha256(raw key). Values are canonical encodings (core/codec).
 */
export interface StateReader {
  /** Latest value of `key` as seen by this overlay (its own writes first), or undefined. */
  get(key: Uint8Array): Uint8Array | undefined;
}

export interface StateWriter extends StateReader {
  set(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
}
