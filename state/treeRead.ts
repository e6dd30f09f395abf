import { bytesEqual } from '../core/bytes.js';
import { nibbleAt, RADIX } from './hashSpec.js';
import { childRef, type InternalNode, type LeafNode, type NodeRef } from './node.js';
import type { NodeStore } from './nodeStore.js';
import { encodeProof, type ProofLevel, type ProofTerminal } from './proof.js';

/**
 * Walks from a version's root towards `keyHash`. Each node is checked against its parent's hash as
 * it is loaded, so what comes back is vouched for by the root. Used for reads at any retained
 * version and for proofs (which record the walk).
 */
export function findLeaf(
  store: NodeStore,
  root: NodeRef | null,
  keyHash: Uint8Array,
  hot: boolean,
): LeafNode | undefined {
  let ref = root;
  let depth = 0;
  let parent: InternalNode | null = null;
  while (ref !== null) {
    if (ref.leaf) {
      const leaf = store.loadLeaf(ref, keyHash, depth);
      return bytesEqual(leaf.keyHash, keyHash) ? leaf : undefined;
    }
    const node: InternalNode = store.loadInternal(
      ref,
      keyHash,
      depth,
      hot,
      parent,
      depth === 0 ? 0 : nibbleAt(keyHash, depth - 1),
    );
    ref = childRef(node, nibbleAt(keyHash, depth));
    parent = node;
    depth++;
  }
  return undefined;
}

export interface ProofResult {
  /** The key's value at that version, or undefined if absent. */
  readonly value: Uint8Array | undefined;
  /** Canonical proof bytes (see proof.ts) for `verifyProof`. */
  readonly proof: Uint8Array;
}

/** `hot`: `root` is the latest root, so nodes read on the way may be cached. */
export function proveKey(
  store: NodeStore,
  root: NodeRef | null,
  keyHash: Uint8Array,
  hot: boolean,
): ProofResult {
  const levels: ProofLevel[] = [];
  let ref = root;
  let depth = 0;
  let terminal: ProofTerminal = { kind: 'empty' };
  let parent: InternalNode | null = null;
  let value: Uint8Array | undefined;
  while (ref !== null) {
    if (ref.leaf) {
      const leaf = store.loadLeaf(ref, keyHash, depth);
      if (bytesEqual(leaf.keyHash, keyHash)) {
        terminal = { kind: 'leaf' };
        value = leaf.value;
      } else {
        terminal = { kind: 'otherLeaf', keyHash: leaf.keyHash, valueHash: leaf.valueHash };
      }
      break;
    }
    const node: InternalNode = store.loadInternal(
      ref,
      keyHash,
      depth,
      hot,
      parent,
      depth === 0 ? 0 : nibbleAt(keyHash, depth - 1),
    );
    const n = nibbleAt(keyHash, depth);
    const siblings: Uint8Array[] = [];
    let j = 0;
    for (let i = 0; i < RADIX; i++) {
      if (((node.bitmap >> i) & 1) === 0) continue;
      if (i !== n) siblings.push(node.childHash(j));
      j++;
    }
    levels.push({ bitmap: node.bitmap, leafMask: node.leafMask, siblings });
    ref = childRef(node, n);
    parent = node;
    depth++;
  }
  return { value, proof: encodeProof({ levels, terminal }) };
}
