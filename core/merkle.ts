import { sha256Parts } from './hash.js';

/**
 * Binary Merkle root over a list of leaves, RFC 6962 style: leaves hashed with a 0x00 prefix and
 * inner nodes with 0x01, so a leaf can never pose as an inner node. The split is at the largest
 * power of two below n. The empty list hashes to sha256 of nothing.
 */
const LEAF = new Uint8Array([0]);
const INNER = new Uint8Array([1]);

export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256Parts([]);
  return subtree(leaves, 0, leaves.length);
}

function subtree(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 1) return sha256Parts([LEAF, leaves[start]]);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha256Parts([INNER, subtree(leaves, start, start + k), subtree(leaves, start + k, end)]);
}
