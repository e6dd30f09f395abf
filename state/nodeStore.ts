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
 * Internal nodes of the latest tree are kept decoded in memory: every update and proof walks
 * them, and at 1M keys there are ~340k of them (~70k full ones in the top five levels, the rest
 * with two or three children), about 100 MB packed. Leaves are not cached: each update reads only
 * the leaf it replaces. Past this bound new nodes are simply not cached (stale ones leave on
 * every commit, so the cache tracks the latest tree); reads of old versions never add to it.
 */
export const NODE_CACHE_ENTRIES_MAX = 600_000;

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

  /** `hot`: the node belongs to the latest tree (an update or a latest read), so cache it. */
  loadInternal(ref: NodeRef, pathSource: Uint8Array, depth: number, hot = true): InternalNode {
    const key = nodeKey(ref.version, pathSource, depth);
    const cacheKey = key.toString('latin1');
    const hit = this.#cache.get(cacheKey);
    if (hit !== undefined) return hit;
    const node = decodeInternal(this.#read(key, ref.version, depth));
    this.#check(node, ref, key, depth);
    if (hot) this.#remember(cacheKey, node as InternalNode);
    return node as InternalNode;
  }

  loadLeaf(ref: NodeRef, pathSource: Uint8Array, depth: number): LeafNode {
    const key = nodeKey(ref.version, pathSource, depth);
    const node = decodeLeaf(this.#read(key, ref.version, depth));
    this.#check(node, ref, key, depth);
    return node as LeafNode;
  }

  /** After a commit: the new version's internal nodes become hot, replaced ones go (still on disk). */
  afterCommit(fresh: readonly { key: Buffer; node: InternalNode }[], stale: readonly Buffer[]): void {
    for (const k of stale) this.#cache.delete(k.toString('latin1'));
    for (const f of fresh) this.#remember(f.key.toString('latin1'), f.node);
  }

  get cachedNodes(): number {
    return this.#cache.size;
  }

  #remember(cacheKey: string, node: InternalNode): void {
    if (this.#cache.size < NODE_CACHE_ENTRIES_MAX) this.#cache.set(cacheKey, node);
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
