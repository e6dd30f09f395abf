import { bytesEqual, toHex } from '../core/bytes.js';
import { StorageError } from '../core/errors.js';
import {
  decodeInternal,
  decodeLeaf,
  type InternalNode,
  type LeafNode,
  type NodeRef,
  nodeKey,
  slotOf,
} from './node.js';

/** The synchronous read side of the node table (classic-level's `getSync`). */
export interface NodeTable {
  getSync(key: Buffer): Buffer | undefined;
}

/**
 * Loads nodes by (version, path) and checks each against the hash its parent (or the version's
 * root record) holds for it. A node that is missing, malformed or hashes differently is a
 * `StorageError`: the tree never returns a value it cannot vouch for.
 */
export class NodeStore {
  readonly #table: NodeTable;
  /** The latest version's root node; its descendants hang off it as they are loaded. */
  #root: { version: number; node: InternalNode } | undefined;

  constructor(table: NodeTable) {
    this.#table = table;
  }

  /**
   * Loads the internal node `ref` points at: the child at `nibble` of `parent`, or a root when
   * `parent` is null. Nodes of the latest tree (`hot`) stay linked to their parent, so the latest
   * tree is read from disk once; nodes of older versions are read each time. In memory, the latest
   * tree costs ~300 bytes per internal node (~360k nodes, ~110 MB, at 1M keys).
   */
  loadInternal(
    ref: NodeRef,
    pathSource: Uint8Array,
    depth: number,
    hot: boolean,
    parent: InternalNode | null,
    nibble: number,
  ): InternalNode {
    const slot = parent === null ? -1 : slotOf(parent.bitmap, nibble);
    if (parent !== null) {
      const linked = parent.children?.[slot];
      if (linked !== undefined) return linked;
    } else if (
      this.#root !== undefined &&
      this.#root.version === ref.version &&
      bytesEqual(this.#root.node.hash, ref.hash)
    ) {
      return this.#root.node;
    }
    const key = nodeKey(ref.version, pathSource, depth);
    const node = decodeInternal(this.#read(key, ref.version, depth));
    this.#check(node, ref, key, depth);
    if (hot) {
      if (parent !== null && parent.children !== null) parent.children[slot] = node;
      else this.#root = { version: ref.version, node: node as InternalNode };
    }
    return node as InternalNode;
  }

  /** After a commit: the new root (with whatever it links) replaces the old tree in memory. */
  setRoot(ref: NodeRef | null, node: InternalNode | undefined): void {
    this.#root = ref !== null && node !== undefined ? { version: ref.version, node } : undefined;
  }

  /**
   * Loads the leaf `ref` points at. `keyHash`, when given, is the key hash its parent records for
   * it; a leaf whose own key hash differs means the parent's record is damaged.
   */
  loadLeaf(ref: NodeRef, pathSource: Uint8Array, depth: number, keyHash?: Uint8Array): LeafNode {
    const key = nodeKey(ref.version, pathSource, depth);
    const node = decodeLeaf(this.#read(key, ref.version, depth));
    this.#check(node, ref, key, depth);
    if (keyHash !== undefined && !bytesEqual((node as LeafNode).keyHash, keyHash)) {
      throw new StorageError(
        'STATE_NODE_CORRUPT',
        `state tree node at version ${ref.version}, path ${pathHex(key, depth)} records a leaf key hash its leaf does not have: the database is corrupt; restore it from a snapshot or resync`,
        { version: ref.version, path: pathHex(key, depth) },
      );
    }
    return node as LeafNode;
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
