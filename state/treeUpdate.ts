import { bytesEqual } from '../core/bytes.js';
import { assert } from '../core/errors.js';
import { DEPTH_MAX, HASH_BYTES, nibbleAt, RADIX } from './hashSpec.js';
import { KeyListWriter } from './layout.js';
import {
  childHashEquals,
  childRef,
  copyChild,
  type InternalNode,
  internalBuffer,
  type LeafNode,
  leafKeyEquals,
  leafKeyOf,
  makeInternal,
  type NodeRef,
  PENDING_VERSION,
  sameContent,
  setChild,
  setLeafKey,
  slotOf,
  type TreeNode,
} from './node.js';
import type { NodeStore } from './nodeStore.js';

/**
 * Applies a batch of writes to the tree in one top-down pass and returns what would change,
 * without writing anything: the new root, the nodes to write and the nodes made stale.
 *
 * Consensus-critical: the resulting root depends only on the final key–value set, never on the
 * order or batching of writes. That holds because the shape is canonical (Jellyfish rules): a
 * subtree holding one leaf is that leaf, placed as high as it can go; a subtree holding two or more
 * is an internal node at its path. Deletes collapse a lone leaf upwards; inserts split it downwards.
 *
 * Only subtrees that receive writes are visited, so unchanged subtrees are never re-hashed; a
 * rewrite that changes nothing (same value, same place) keeps the old node and writes nothing.
 */

/** One key's write: `leaf` is the new leaf for a set, null for a delete. */
export interface TreeWrite {
  readonly keyHash: Uint8Array;
  readonly leaf: LeafNode | null;
}

export interface NewNode {
  readonly pathSource: Uint8Array;
  readonly depth: number;
  readonly node: TreeNode;
}

export interface UpdatePlan {
  /** New root; its version (and child versions inside new nodes) may be PENDING_VERSION. */
  readonly root: NodeRef | null;
  /** The new root node when it is internal, linked to the rest of the new tree in memory. */
  readonly rootNode: InternalNode | undefined;
  readonly newNodes: readonly NewNode[];
  /** Disk keys of nodes the new version no longer reaches (stale since this version). */
  readonly stale: KeyListWriter;
}

interface LeafResult {
  readonly t: 'leaf';
  readonly leaf: LeafNode;
  /** Where this key's leaf sits in the base tree, if it does. */
  readonly old: { readonly version: number; readonly depth: number } | null;
  /** The leaf's content equals the old one's, so it can stay if it does not move. */
  readonly unchanged: boolean;
}

/** A placed internal subtree. */
interface RefResult {
  readonly t: 'ref';
  readonly ref: NodeRef;
  readonly node: InternalNode;
}

/** An untouched child: copied from the old node's slot as is. */
interface KeptResult {
  readonly t: 'kept';
}
const KEPT: KeptResult = { t: 'kept' };
const ROOT_PATH = new Uint8Array(HASH_BYTES);

type Result = LeafResult | RefResult | KeptResult | null;

/** `writes` must be sorted by keyHash with no duplicates. */
export function planUpdate(
  store: NodeStore,
  baseRoot: NodeRef | null,
  writes: readonly TreeWrite[],
): UpdatePlan {
  for (let i = 1; i < writes.length; i++) {
    assert(Buffer.compare(writes[i - 1].keyHash, writes[i].keyHash) < 0, 'tree writes sorted and unique');
  }
  const newNodes: NewNode[] = [];
  const stale = new KeyListWriter();
  if (writes.length === 0) {
    const rootNode =
      baseRoot === null || baseRoot.leaf
        ? undefined
        : store.loadInternal(baseRoot, ROOT_PATH, 0, true, null, 0);
    return { root: baseRoot, rootNode, newNodes, stale };
  }

  const markStale = (version: number, pathSource: Uint8Array, depth: number) => {
    stale.addNodeKey(version, pathSource, depth);
  };

  const placeLeaf = (r: LeafResult, depth: number): NodeRef => {
    if (r.old !== null && r.old.depth === depth && r.unchanged) {
      return { version: r.old.version, hash: r.leaf.hash, leaf: true };
    }
    newNodes.push({ pathSource: r.leaf.keyHash, depth, node: r.leaf });
    if (r.old !== null) markStale(r.old.version, r.leaf.keyHash, r.old.depth);
    return { version: PENDING_VERSION, hash: r.leaf.hash, leaf: true };
  };

  const materialize = (
    depth: number,
    pathSource: Uint8Array,
    slots: Result[],
    oldRef: NodeRef | null,
    oldNode: InternalNode | null,
  ): Result => {
    let count = 0;
    let leaves = 0;
    let last = -1;
    for (let n = 0; n < RADIX; n++) {
      const s = slots[n];
      if (s !== null) {
        count++;
        last = n;
        if (s.t === 'leaf' || (s.t === 'kept' && ((oldNode as InternalNode).leafMask >> n) & 1)) leaves++;
      }
    }
    if (count === 0) {
      if (oldRef !== null) markStale(oldRef.version, pathSource, depth);
      return null;
    }
    if (count === 1) {
      const only = slots[last] as LeafResult | RefResult | KeptResult;
      const onlyRef =
        only.t === 'kept' ? childRef(oldNode as InternalNode, last) : only.t === 'ref' ? only.ref : null;
      let lifted: LeafResult | null = null;
      if (only.t === 'leaf') lifted = only;
      else if (onlyRef?.leaf) {
        const path = withNibble(pathSource, depth, last);
        lifted = {
          t: 'leaf',
          leaf: store.loadLeaf(onlyRef, path, depth + 1, leafKeyOf(oldNode as InternalNode, last)),
          old: { version: onlyRef.version, depth: depth + 1 },
          unchanged: true,
        };
      }
      if (lifted !== null) {
        // A lone leaf moves up: this internal node disappears.
        if (oldRef !== null) markStale(oldRef.version, pathSource, depth);
        return lifted;
      }
    }
    const buf = internalBuffer(count, leaves);
    let children: (InternalNode | undefined)[] | null = null;
    let bitmap = 0;
    let leafMask = 0;
    let j = 0;
    let rank = 0;
    for (let n = 0; n < RADIX; n++) {
      const s = slots[n];
      if (s === null) continue;
      if (s.t === 'kept') {
        const old = oldNode as InternalNode;
        copyChild(buf, count, j, rank, old, n);
        if ((old.leafMask >> n) & 1) {
          leafMask |= 1 << n;
          rank++;
        } else {
          children ??= new Array(count);
          children[j] = (old.children as (InternalNode | undefined)[])[slotOf(old.bitmap, n)];
        }
      } else {
        const ref = s.t === 'leaf' ? placeLeaf(s, depth + 1) : s.ref;
        if (s.t === 'ref') {
          children ??= new Array(count);
          children[j] = s.node;
        } else {
          leafMask |= 1 << n;
          setLeafKey(buf, count, rank++, s.leaf.keyHash);
        }
        setChild(buf, count, j, ref.hash, ref.version);
      }
      bitmap |= 1 << n;
      j++;
    }
    const node = makeInternal(bitmap, leafMask, buf, children);
    if (oldNode !== null && oldRef !== null && sameContent(oldNode, node)) {
      return { t: 'ref', ref: oldRef, node: oldNode };
    }
    newNodes.push({ pathSource, depth, node });
    if (oldRef !== null) markStale(oldRef.version, pathSource, depth);
    return { t: 'ref', ref: { version: PENDING_VERSION, hash: node.hash, leaf: false }, node };
  };

  /** Builds a fresh subtree at `depth` from leaves (sorted by keyHash). */
  const build = (leaves: LeafResult[], depth: number): Result => {
    if (leaves.length === 0) return null;
    if (leaves.length === 1) return leaves[0];
    assert(depth < DEPTH_MAX, 'two distinct key hashes differ within 64 nibbles');
    const slots: Result[] = new Array(RADIX).fill(null);
    let a = 0;
    while (a < leaves.length) {
      const n = nibbleAt(leaves[a].leaf.keyHash, depth);
      let b = a + 1;
      while (b < leaves.length && nibbleAt(leaves[b].leaf.keyHash, depth) === n) b++;
      slots[n] = build(leaves.slice(a, b), depth + 1);
      a = b;
    }
    return materialize(depth, leaves[0].leaf.keyHash, slots, null, null);
  };

  /** Applies writes[lo..hi) to the subtree `ref`, which is child `nibble` of `parent` (or the root). */
  const update = (
    ref: NodeRef | null,
    depth: number,
    lo: number,
    hi: number,
    parent: InternalNode | null,
    nibble: number,
  ): Result => {
    const pathSource = writes[lo].keyHash;
    if (ref === null) {
      const leaves: LeafResult[] = [];
      for (let i = lo; i < hi; i++) {
        const leaf = writes[i].leaf;
        if (leaf !== null) leaves.push({ t: 'leaf', leaf, old: null, unchanged: false });
      }
      return build(leaves, depth);
    }
    if (ref.leaf) {
      // The parent holds the leaf's key hash, so an update or delete of that key replaces the leaf
      // without reading it. It is read only when it stays (split by an insert, or kept as is).
      // (A root that is a leaf has no parent: read it.)
      if (parent !== null && hi - lo === 1) {
        // The common case, a new value for the key already there, compared in place.
        const w = writes[lo];
        if (w.leaf !== null && leafKeyEquals(parent, nibble, w.keyHash)) {
          const unchanged = childHashEquals(parent, nibble, w.leaf.hash);
          return { t: 'leaf', leaf: w.leaf, old: { version: ref.version, depth }, unchanged };
        }
      }
      let existing = parent === null ? store.loadLeaf(ref, pathSource, depth) : undefined;
      const existingKey = existing?.keyHash ?? leafKeyOf(parent as InternalNode, nibble);
      const old = { version: ref.version, depth };
      const kept = (): LeafResult => {
        existing ??= store.loadLeaf(ref, existingKey, depth, existingKey);
        return { t: 'leaf', leaf: existing, old, unchanged: true };
      };
      const leaves: LeafResult[] = [];
      let placed = false;
      for (let i = lo; i < hi; i++) {
        const w = writes[i];
        const cmp = Buffer.compare(w.keyHash, existingKey);
        if (!placed && cmp > 0) {
          leaves.push(kept());
          placed = true;
        }
        if (cmp === 0) {
          placed = true;
          if (w.leaf === null) markStale(ref.version, existingKey, depth);
          else {
            // Same key hash, so equal leaf hashes mean equal value hashes.
            const unchanged = bytesEqual(w.leaf.hash, ref.hash);
            leaves.push({ t: 'leaf', leaf: w.leaf, old, unchanged });
          }
        } else if (w.leaf !== null) {
          leaves.push({ t: 'leaf', leaf: w.leaf, old: null, unchanged: false });
        }
      }
      if (!placed) leaves.push(kept());
      return build(leaves, depth);
    }
    const node = store.loadInternal(ref, pathSource, depth, true, parent, nibble);
    const slots: Result[] = new Array(RADIX).fill(null);
    let a = lo;
    for (let n = 0; n < RADIX; n++) {
      let b = a;
      while (b < hi && nibbleAt(writes[b].keyHash, depth) === n) b++;
      if (b > a) slots[n] = update(childRef(node, n), depth + 1, a, b, node, n);
      else if ((node.bitmap >> n) & 1) slots[n] = KEPT;
      a = b;
    }
    return materialize(depth, pathSource, slots, ref, node);
  };

  const result = update(baseRoot, 0, 0, writes.length, null, 0);
  let root: NodeRef | null;
  let rootNode: InternalNode | undefined;
  if (result === null) root = null;
  else if (result.t === 'leaf') root = placeLeaf(result, 0);
  else {
    assert(result.t === 'ref', 'update returns a placed subtree');
    root = result.ref;
    rootNode = result.node;
  }
  return { root, rootNode, newNodes, stale };
}

/** A path source equal to `source` in its first `depth` nibbles, with nibble `depth` set to `n`. */
function withNibble(source: Uint8Array, depth: number, n: number): Uint8Array {
  const out = new Uint8Array(HASH_BYTES);
  out.set(source.subarray(0, (depth + 2) >> 1));
  const i = depth >> 1;
  out[i] = (depth & 1) === 0 ? (n << 4) | (out[i] & 0x0f) : (out[i] & 0xf0) | n;
  return out;
}
