import { bytesEqual, toHex } from '../core/bytes.js';
import { StorageError } from '../core/errors.js';
import {
  decodeInternal,
  decodeLeaf,
  type InternalNode,
  type LeafNode,
  type NodeRef,
  nodeKey,
} from './node.js';

/** The synchronous read side of the node table (classic-level's `getSync`). */
export interface NodeTable {
  getSync(key: Buffer): Buffer | undefined;
}

/**
 * Upper levels of the tree are read by every update and every proof, so internal nodes at depth
 * ≤ this are kept decoded in memory. At 1M keys that is about 70k nodes (~60 MB); deeper nodes are
 * mostly single leaves, read once per update.
 */
export const NODE_CACHE_DEPTH_MAX = 4;
/**
 * Bound on cached nodes. Stale nodes are evicted on commit; this only bites when historical reads
 * pull old nodes in, and then the cache is simply emptied (it refills from the hot path).
 */
export const NODE_CACHE_ENTRIES_MAX = 400_000;

/**
 * Loads nodes by (version, path) and checks each against the hash its parent (or the version's
 * root record) holds for it. A node that is missing, malformed or hashes differently is a
 * `StorageError`: the tree never returns a value it cannot vouch for.
 */
export class NodeStore {
  readonly #table: NodeTable;
  readonly #cache = new Map<string, InternalNode>();

  constructor(table: NodeTable) {
    this.#table = table;
  }

  loadInternal(ref: NodeRef, pathSource: Uint8Array, depth: number): InternalNode {
    const key = nodeKey(ref.version, pathSource, depth);
    const cacheKey = depth <= NODE_CACHE_DEPTH_MAX ? key.toString('latin1') : undefined;
    if (cacheKey !== undefined) {
      const hit = this.#cache.get(cacheKey);
      if (hit !== undefined) return hit;
    }
    const node = decodeInternal(this.#read(key, ref.version, depth));
    this.#check(node, ref, key, depth);
    if (cacheKey !== undefined) this.#remember(cacheKey, node as InternalNode);
    return node as InternalNode;
  }

  loadLeaf(ref: NodeRef, pathSource: Uint8Array, depth: number): LeafNode {
    const key = nodeKey(ref.version, pathSource, depth);
    const node = decodeLeaf(this.#read(key, ref.version, depth));
    this.#check(node, ref, key, depth);
    return node as LeafNode;
  }

  /** After a commit: new upper nodes become hot, replaced ones go (they stay readable on disk). */
  afterCommit(
    fresh: readonly { key: Buffer; depth: number; node: InternalNode }[],
    stale: readonly Buffer[],
  ) {
    for (const k of stale) this.#cache.delete(k.toString('latin1'));
    for (const f of fresh) {
      if (f.depth <= NODE_CACHE_DEPTH_MAX) this.#remember(f.key.toString('latin1'), f.node);
    }
  }

  /** Forget everything (used when nodes are deleted by pruning or in tests that corrupt the disk). */
  clear(): void {
    this.#cache.clear();
  }

  get cachedNodes(): number {
    return this.#cache.size;
  }

  #remember(cacheKey: string, node: InternalNode): void {
    if (this.#cache.size >= NODE_CACHE_ENTRIES_MAX) this.#cache.clear();
    this.#cache.set(cacheKey, node);
  }

  #read(key: Buffer, version: number, depth: number): Buffer {
    const bytes = this.#table.getSync(key);
    if (bytes === undefined) {
      throw new StorageError(
        'STATE_NODE_MISSING',
        `state tree node missing at version ${version}, path ${pathHex(key, depth)}: the database is incomplete or was pruned under a reader`,
        { version, path: pathHex(key, depth) },
      );
    }
    return bytes;
  }

  #check(node: InternalNode | LeafNode | undefined, ref: NodeRef, key: Buffer, depth: number): void {
    if (node === undefined || !bytesEqual(node.hash, ref.hash)) {
      throw new StorageError(
        'STATE_NODE_CORRUPT',
        `state tree node at version ${ref.version}, path ${pathHex(key, depth)} fails its hash check: the database is corrupt; restore it from a snapshot or resync`,
        { version: ref.version, path: pathHex(key, depth), expectedHash: toHex(ref.hash) },
      );
    }
  }
}

function pathHex(key: Buffer, depth: number): string {
  return toHex(key.subarray(7)).slice(0, depth) || '(root)';
}
