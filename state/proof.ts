import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  DEPTH_MAX,
  EMPTY_ROOT,
  HASH_BYTES,
  type HashFn,
  internalHash,
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
 * Parses proof bytes against the key they claim to be about (the key decides which child of each
 * level is on the path, hence how many siblings each level carries). Undefined if malformed.
 */
export function decodeProof(bytes: Uint8Array, keyHash: Uint8Array): DecodedProof | undefined {
  if (bytes.length < 3 || bytes.length > PROOF_BYTES_MAX || bytes[0] !== PROOF_FORMAT) return undefined;
  const code = bytes[1];
  const depth = bytes[2];
  if (code > 2 || depth > DEPTH_MAX) return undefined;
  const levels: ProofLevel[] = [];
  let off = 3;
  for (let level = 0; level < depth; level++) {
    if (off + 4 > bytes.length) return undefined;
    const bitmap = (bytes[off] << 8) | bytes[off + 1];
    const leafMask = (bytes[off + 2] << 8) | bytes[off + 3];
    off += 4;
    const pathBit = 1 << nibbleAt(keyHash, level);
    const onPath = (bitmap & pathBit) !== 0;
    const isLast = level === depth - 1;
    // Every level but an empty terminal's last one contains the path child; the path child is a
    // leaf exactly at the last level of a proof that ends in a leaf.
    if ((leafMask & ~bitmap) !== 0) return undefined;
    if (isLast && code === 0 ? onPath : !onPath) return undefined;
    if (onPath && ((leafMask & pathBit) !== 0) !== (isLast && code !== 0)) return undefined;
    const count = popcount16(bitmap) - (onPath ? 1 : 0);
    if (bitmap === 0 || off + count * HASH_BYTES > bytes.length) return undefined;
    const siblings: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      siblings.push(bytes.subarray(off, off + HASH_BYTES));
      off += HASH_BYTES;
    }
    levels.push({ bitmap, leafMask, siblings });
  }
  let terminal: ProofTerminal;
  if (code === 2) {
    if (off + 2 * HASH_BYTES !== bytes.length) return undefined;
    terminal = {
      kind: 'otherLeaf',
      keyHash: bytes.subarray(off, off + HASH_BYTES),
      valueHash: bytes.subarray(off + HASH_BYTES, off + 2 * HASH_BYTES),
    };
  } else {
    if (off !== bytes.length) return undefined;
    terminal = code === 1 ? { kind: 'leaf' } : { kind: 'empty' };
  }
  return { levels, terminal };
}

/**
 * True iff `proof` shows that, in the state whose root is `root`, `key` holds exactly `value`
 * (inclusion) or, with `value` undefined, holds nothing (exclusion). Malformed input is simply
 * false: this runs on bytes from the network. `hash` defaults to @noble/hashes' sha256; the node
 * may pass node:crypto's for speed.
 */
export function verifyProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | undefined,
  proof: Uint8Array,
  hash: HashFn = nobleSha256,
): boolean {
  if (root.length !== HASH_BYTES) return false;
  const keyHash = hash(key);
  const decoded = decodeProof(proof, keyHash);
  if (decoded === undefined) return false;
  const { levels, terminal } = decoded;
  let current: Uint8Array | null;
  if (value !== undefined) {
    if (terminal.kind !== 'leaf') return false;
    current = leafHash(hash, keyHash, hash(value));
  } else if (terminal.kind === 'otherLeaf') {
    if (equal(terminal.keyHash, keyHash)) return false;
    // The other leaf must sit in this key's slot: same first `depth` nibbles.
    for (let i = 0; i < levels.length; i++) {
      if (nibbleAt(terminal.keyHash, i) !== nibbleAt(keyHash, i)) return false;
    }
    current = leafHash(hash, terminal.keyHash, terminal.valueHash);
  } else if (terminal.kind === 'empty') {
    current = null;
  } else {
    return false;
  }
  for (let level = levels.length - 1; level >= 0; level--) {
    const { bitmap, leafMask, siblings } = levels[level];
    const pathNibble = nibbleAt(keyHash, level);
    const children: Uint8Array[] = [];
    let s = 0;
    for (let i = 0; i < RADIX; i++) {
      if (((bitmap >> i) & 1) === 0) continue;
      if (i === pathNibble) {
        if (current === null) return false;
        children.push(current);
      } else {
        children.push(siblings[s++]);
      }
    }
    current = internalHash(hash, bitmap, leafMask, children);
  }
  return equal(current ?? EMPTY_ROOT, root);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
