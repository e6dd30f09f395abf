/**
 * The hash rules of the state tree, shared by the node (tree.ts) and the browser-safe proof
 * verifier (proof.ts). No node: imports here: the hash function is injected, so the node passes
 * node:crypto's sha256 and a client passes @noble/hashes.
 *
 * Consensus-critical: every validator must derive the same root from the same key–value set.
 *
 * - keyHash = H(raw key): the 256-bit path of the key, read as 64 nibbles, high nibble first.
 * - leaf = H(0x00 ‖ keyHash ‖ H(value)).
 * - internal = H(0x01 ‖ bitmap ‖ leafMask ‖ hashes of present children in nibble order), where
 *   bitmap (u16 BE) has bit i set when child i is present and leafMask (u16 BE) when child i is a
 *   leaf. The distinct first byte keeps a leaf from posing as an internal node and back; hashing
 *   the leaf mask too means every byte of a stored node but its child versions is covered, so a
 *   damaged mask is caught on read instead of being copied into the next version.
 * - the empty tree = 32 zero bytes (no preimage is known, so it cannot pose as a node).
 */

/** A hash function over one byte string, returning 32 bytes. */
export type HashFn = (data: Uint8Array) => Uint8Array;

export const HASH_BYTES = 32;
/** Children per internal node: one per nibble (Jellyfish style, see state/README.md). */
export const RADIX = 16;
/** A 32-byte key hash has 64 nibbles, so no path is deeper than this. */
export const DEPTH_MAX = 64;
export const LEAF_TAG = 0x00;
export const INTERNAL_TAG = 0x01;
export const EMPTY_ROOT: Uint8Array = new Uint8Array(HASH_BYTES);

/** The nibble of `keyHash` at `depth` (0 = high nibble of byte 0). */
export function nibbleAt(keyHash: Uint8Array, depth: number): number {
  const b = keyHash[depth >> 1];
  return (depth & 1) === 0 ? b >> 4 : b & 0x0f;
}

export function leafHash(hash: HashFn, keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  const pre = new Uint8Array(1 + 2 * HASH_BYTES);
  pre[0] = LEAF_TAG;
  pre.set(keyHash, 1);
  pre.set(valueHash, 1 + HASH_BYTES);
  return hash(pre);
}

/** Bytes before the children in an internal node's preimage: tag, bitmap, leaf mask. */
export const INTERNAL_HEADER_BYTES = 5;

/** `children` are the present children's hashes in nibble order; their count must match `bitmap`. */
export function internalHash(
  hash: HashFn,
  bitmap: number,
  leafMask: number,
  children: readonly Uint8Array[],
): Uint8Array {
  const pre = new Uint8Array(INTERNAL_HEADER_BYTES + children.length * HASH_BYTES);
  pre[0] = INTERNAL_TAG;
  pre[1] = bitmap >> 8;
  pre[2] = bitmap & 0xff;
  pre[3] = leafMask >> 8;
  pre[4] = leafMask & 0xff;
  for (let i = 0; i < children.length; i++) pre.set(children[i], INTERNAL_HEADER_BYTES + i * HASH_BYTES);
  return hash(pre);
}

export function popcount16(bitmap: number): number {
  let n = 0;
  for (let b = bitmap; b !== 0; b &= b - 1) n++;
  return n;
}
