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

/**
 * A block's write overlay on top of a committed version. The proposer needs the state root for its
 * header before anything is written, so `root()` hashes the tree with the overlay applied, in
 * memory. Several overlays may exist at once over one base (a proposal per round); the node commits
 * one of them and discards the rest.
 */
export interface StateOverlay extends StateWriter {
  /** The root the tree would have with this overlay's writes applied. Writes nothing. */
  root(): Uint8Array;
}
