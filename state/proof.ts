import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  DEPTH_MAX,
  EMPTY_ROOT,
  HASH_BYTES,
  type HashFn,
  INTERNAL_HEADER_BYTES,
  INTERNAL_TAG,
  leafHash,
  nibbleAt,
  popcount16,
  RADIX,
} from './hashSpec.js';

/**
 * State proofs: encoding and a verifier that is a pure function over bytes, with no node: or
 * LevelDB imports, so a wallet or light client runs the same code (with @noble/hashes) as the node.
 *
 * A proof is the path from the root towards sha256(key):
 *
 *   byte 0       PROOF_FORMAT (1)
 *   byte 1       terminal: 0 = empty slot (exclusion), 1 = the key's own leaf (inclusion),
 *                2 = another key's leaf in the key's slot (exclusion)
 *   byte 2       depth d: the number of internal nodes on the path (0..64)
 *   d levels     top down: the node's child bitmap and leaf mask (u16 BE each), then the hashes of
 *                its present children other than the path child, in nibble order (with an empty
 *                terminal, the last level's bitmap lacks the path nibble and lists all its children)
 *   [64 bytes]   terminal 2 only: the other leaf's keyHash and valueHash
 *
 * The length must match exactly, so each proof has one encoding. The verifier recomputes the root
 * from the bottom up; the hash binds every bitmap and sibling, so a flipped byte anywhere fails.
 */

export const PROOF_FORMAT = 1;
/** Deepest possible proof: 64 levels of 15 siblings plus a leaf. */
export const PROOF_BYTES_MAX = 3 + DEPTH_MAX * (4 + (RADIX - 1) * HASH_BYTES) + 2 * HASH_BYTES;

export type ProofTerminal =
  | { readonly kind: 'empty' }
  | { readonly kind: 'leaf' }
  | { readonly kind: 'otherLeaf'; readonly keyHash: Uint8Array; readonly valueHash: Uint8Array };

export interface ProofLevel {
  readonly bitmap: number;
  readonly leafMask: number;
  /** Present children other than the path child, in nibble order. */
  readonly siblings: readonly Uint8Array[];
}

export interface DecodedProof {
  readonly levels: readonly ProofLevel[];
  readonly terminal: ProofTerminal;
}

const TERMINAL_CODE = { empty: 0, leaf: 1, otherLeaf: 2 } as const;

export function encodeProof(proof: DecodedProof): Uint8Array {
  let size = 3;
  for (const l of proof.levels) size += 4 + l.siblings.length * HASH_BYTES;
  if (proof.terminal.kind === 'otherLeaf') size += 2 * HASH_BYTES;
  const out = new Uint8Array(size);
  out[0] = PROOF_FORMAT;
  out[1] = TERMINAL_CODE[proof.terminal.kind];
  out[2] = proof.levels.length;
  let off = 3;
  for (const l of proof.levels) {
    out[off] = l.bitmap >> 8;
    out[off + 1] = l.bitmap & 0xff;
    out[off + 2] = l.leafMask >> 8;
    out[off + 3] = l.leafMask & 0xff;
    off += 4;
    for (const s of l.siblings) {
      out.set(s, off);
      off += HASH_BYTES;
    }
  }
  if (proof.terminal.kind === 'otherLeaf') {
    out.set(proof.terminal.keyHash, off);
    out.set(proof.terminal.valueHash, off + HASH_BYTES);
  }
  return out;
}

/**
 * True iff `proof` shows that, in the state whose root is `root`, `key` holds exactly `value`
 * (inclusion) or, with `value` undefined, holds nothing (exclusion). Malformed input is simply
 * false: this runs on bytes from the network. `hash` defaults to @noble/hashes' sha256; the node
 * may pass node:crypto's for speed. `hash` must not keep its input: the verifier passes views of
 * one scratch buffer, which it overwrites level by level.
 *
 * One pass checks the structure top down and records where each level starts (the key decides
 * which child of each level is on the path, hence how many siblings each level carries); a second
 * pass hashes bottom up. Each level's preimage is copied straight from the proof bytes (its header,
 * the siblings before the path child, the child just computed, the siblings after), so verifying
 * allocates no per-sibling objects.
 */
export function verifyProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | undefined,
  proof: Uint8Array,
  hash: HashFn = nobleSha256,
): boolean {
  if (root.length !== HASH_BYTES) return false;
  if (proof.length < 3 || proof.length > PROOF_BYTES_MAX || proof[0] !== PROOF_FORMAT) return false;
  const code = proof[1];
  const depth = proof[2];
  if (code > 2 || depth > DEPTH_MAX) return false;
  const keyHash = hash(key);
  const starts: number[] = new Array(depth);
  let off = 3;
  for (let level = 0; level < depth; level++) {
    if (off + 4 > proof.length) return false;
    const bitmap = (proof[off] << 8) | proof[off + 1];
    const leafMask = (proof[off + 2] << 8) | proof[off + 3];
    const pathBit = 1 << nibbleAt(keyHash, level);
    const onPath = (bitmap & pathBit) !== 0;
    const isLast = level === depth - 1;
    // Every level but an empty terminal's last one contains the path child; the path child is a
    // leaf exactly at the last level of a proof that ends in a leaf.
    if (bitmap === 0 || (leafMask & ~bitmap) !== 0) return false;
    if (isLast && code === 0 ? onPath : !onPath) return false;
    if (onPath && ((leafMask & pathBit) !== 0) !== (isLast && code !== 0)) return false;
    starts[level] = off;
    off += 4 + (popcount16(bitmap) - (onPath ? 1 : 0)) * HASH_BYTES;
    if (off > proof.length) return false;
  }
  let current: Uint8Array | null;
  if (code === 2) {
    // Another key's leaf sits in this key's slot: proves exclusion only.
    if (value !== undefined || off + 2 * HASH_BYTES !== proof.length) return false;
    const otherKey = proof.subarray(off, off + HASH_BYTES);
    if (equal(otherKey, keyHash)) return false;
    // The other leaf must share the path: the same first `depth` nibbles.
    for (let i = 0; i < depth; i++) if (nibbleAt(otherKey, i) !== nibbleAt(keyHash, i)) return false;
    current = leafHash(hash, otherKey, proof.subarray(off + HASH_BYTES, off + 2 * HASH_BYTES));
  } else {
    if (off !== proof.length || (code === 1) !== (value !== undefined)) return false;
    current = value === undefined ? null : leafHash(hash, keyHash, hash(value));
  }
  const pre = new Uint8Array(INTERNAL_HEADER_BYTES + RADIX * HASH_BYTES);
  pre[0] = INTERNAL_TAG;
  for (let level = depth - 1; level >= 0; level--) {
    const at = starts[level];
    const bitmap = (proof[at] << 8) | proof[at + 1];
    const pathNibble = nibbleAt(keyHash, level);
    const siblings = at + 4;
    pre.set(proof.subarray(at, siblings), 1);
    let size: number;
    if (((bitmap >> pathNibble) & 1) === 0) {
      // Exclusion by an empty slot (last level only: checked above): every child is a sibling.
      if (current !== null) return false;
      const count = popcount16(bitmap);
      pre.set(proof.subarray(siblings, siblings + count * HASH_BYTES), INTERNAL_HEADER_BYTES);
      size = INTERNAL_HEADER_BYTES + count * HASH_BYTES;
    } else {
      if (current === null) return false;
      const before = popcount16(bitmap & ((1 << pathNibble) - 1)) * HASH_BYTES;
      const after = (popcount16(bitmap) - 1) * HASH_BYTES - before;
      pre.set(proof.subarray(siblings, siblings + before), INTERNAL_HEADER_BYTES);
      pre.set(current, INTERNAL_HEADER_BYTES + before);
      pre.set(
        proof.subarray(siblings + before, siblings + before + after),
        INTERNAL_HEADER_BYTES + before + HASH_BYTES,
      );
      size = INTERNAL_HEADER_BYTES + before + HASH_BYTES + after;
    }
    current = hash(pre.subarray(0, size));
  }
  return equal(current ?? EMPTY_ROOT, root);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
