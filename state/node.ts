import { crc32 } from 'node:zlib';
import { sha256 } from './digest.js';
import { HASH_BYTES, INTERNAL_HEADER_BYTES, INTERNAL_TAG, LEAF_TAG, popcount16 } from './hashSpec.js';

/**
 * Tree nodes in memory and on disk, and the keys they are stored under.
 *
 * A node is stored under (version, path): the version that wrote it and its nibble path from the
 * root. A node never changes once written, so older roots stay readable until pruning removes
 * nodes no retained version reaches. A parent points at a child by (child version, child hash);
 * the child's path is the parent's path plus the nibble.
 */

/** Child version placeholder while a version is being built (its number is known only at commit). */
export const PENDING_VERSION = -1;
/** Versions are stored as 48-bit big-endian integers: 2^48 blocks is plenty. */
export const VERSION_MAX = 2 ** 48 - 1;
const VERSION_BYTES = 6;
// 0x03, not 0x01: format 2 added the leaf key hashes (a format-1 node fails to decode, loudly).
const DISK_INTERNAL = 0x03;
const CRC_BYTES = 4;
const DISK_LEAF = 0x02;

/**
 * An internal node in memory. The latest tree keeps ~0.36 of these per key linked in memory, so
 * each is kept small: one buffer holds the hash preimage (header ‖ present children's hashes), then
 * the node's hash, then its leaf children's key hashes; `hash` and `hashes` are views made on
 * demand rather than two more objects per node for the garbage collector to trace.
 */
export class InternalNode {
  /** Bit i set = child i present. */
  readonly bitmap: number;
  /** Bit i set = child i is a leaf (otherwise an internal node). */
  readonly leafMask: number;
  /**
   * The hash preimage: header, then the hashes of the present children only, packed in nibble
   * order (child i is at slot `slotOf(bitmap, i)`): most nodes below the top levels have two or
   * three children, and packing keeps the in-memory tree small.
   */
  readonly pre: Buffer;
  /** Version that wrote each present child, same packing (PENDING_VERSION while being built). */
  readonly versions: number[];
  /**
   * Decoded internal children of the latest tree, same packing, filled as they are loaded: the
   * latest tree stays in memory as linked objects, so walking it costs no key building, no map
   * lookup and no disk read, and replaced nodes are simply dropped with the old root.
   */
  readonly children: (InternalNode | undefined)[];

  constructor(
    bitmap: number,
    leafMask: number,
    pre: Buffer,
    versions: number[],
    children: (InternalNode | undefined)[],
  ) {
    this.bitmap = bitmap;
    this.leafMask = leafMask;
    this.pre = pre;
    this.versions = versions;
    this.children = children;
  }

  get kind(): 'internal' {
    return 'internal';
  }

  /** The present children's hashes, packed (a view). */
  get hashes(): Uint8Array {
    const pre = this.pre;
    return new Uint8Array(
      pre.buffer,
      pre.byteOffset + INTERNAL_HEADER_BYTES,
      pre.length - INTERNAL_HEADER_BYTES,
    );
  }

  /** Hash of the child in packed slot `j` (a view). */
  childHash(j: number): Uint8Array {
    return new Uint8Array(
      this.pre.buffer,
      this.pre.byteOffset + INTERNAL_HEADER_BYTES + j * HASH_BYTES,
      HASH_BYTES,
    );
  }

  /** The node's hash (a view). */
  get hash(): Uint8Array {
    return hashAfter(this.pre);
  }
}

export interface LeafNode {
  readonly kind: 'leaf';
  readonly keyHash: Uint8Array;
  readonly value: Uint8Array;
  readonly valueHash: Uint8Array;
  readonly hash: Uint8Array;
}

export type TreeNode = InternalNode | LeafNode;

/** A pointer to a node: what a parent slot or a version's root record holds. */
export interface NodeRef {
  readonly version: number;
  readonly hash: Uint8Array;
  readonly leaf: boolean;
}

export function makeLeaf(keyHash: Uint8Array, value: Uint8Array, valueHash = sha256(value)): LeafNode {
  // Same bytes as hashSpec's leafHash, hashed from a reused buffer: no allocation per leaf.
  leafPre.set(keyHash, 1);
  leafPre.set(valueHash, 1 + HASH_BYTES);
  return { kind: 'leaf', keyHash, value, valueHash, hash: sha256(leafPre) };
}

const leafPre = Buffer.alloc(1 + 2 * HASH_BYTES);
leafPre[0] = LEAF_TAG;

/** Slot of child `i` in the packed arrays of a node with `bitmap`. */
export function slotOf(bitmap: number, i: number): number {
  return popcount16(bitmap & ((1 << i) - 1));
}

/**
 * A buffer for a new internal node with `children` present children, `leaves` of them leaves. The
 * node's memory is preimage (header ‖ children's hashes) ‖ hash ‖ key hashes of the leaf children
 * (in nibble order); the returned buffer is the preimage. Write the children's hashes at
 * `INTERNAL_HEADER_BYTES + slot * HASH_BYTES` and the leaves' key hashes with `setLeafKey`, then
 * pass it to `makeInternal`. Knowing a leaf child's key hash lets an update of that key replace the
 * leaf without reading it from disk (treeUpdate.ts).
 *
 * Each node gets its own allocation, never a slice of Node's shared 8 KiB buffer pool: a pool slab
 * stays alive while any slice of it does, so long-lived nodes cut from it would pin the megabytes
 * of short-lived buffers (keys, batch entries) allocated around them in every block.
 */
export function internalBuffer(children: number, leaves: number): Buffer {
  const pre = INTERNAL_HEADER_BYTES + children * HASH_BYTES;
  return Buffer.allocUnsafeSlow(pre + HASH_BYTES + leaves * HASH_BYTES).subarray(0, pre);
}

/** The node's hash, right after the preimage `pre` (a view). */
function hashAfter(pre: Buffer): Uint8Array {
  return new Uint8Array(pre.buffer, pre.byteOffset + pre.length, HASH_BYTES);
}

/** Key hashes of `count` leaf children from the `rank`-th, after the hash (a view). */
function leafKeys(pre: Buffer, rank: number, count: number): Uint8Array {
  return new Uint8Array(
    pre.buffer,
    pre.byteOffset + pre.length + HASH_BYTES * (1 + rank),
    count * HASH_BYTES,
  );
}

/** Writes the key hash of the `rank`-th leaf child (counting leaves only, in nibble order). */
export function setLeafKey(pre: Buffer, rank: number, keyHash: Uint8Array): void {
  leafKeys(pre, rank, 1).set(keyHash);
}

/** Key hash of leaf child `i` of `node` (which must be a leaf child): a view, not a copy. */
export function leafKeyOf(node: InternalNode, i: number): Uint8Array {
  return leafKeys(node.pre, popcount16(node.leafMask & ((1 << i) - 1)), 1);
}

/** Finishes an internal node built in `pre` (see `internalBuffer`) and hashes it in place. */
export function makeInternal(
  bitmap: number,
  leafMask: number,
  pre: Buffer,
  versions: number[],
  children: (InternalNode | undefined)[] = new Array(versions.length),
): InternalNode {
  pre[0] = INTERNAL_TAG;
  pre[1] = bitmap >> 8;
  pre[2] = bitmap & 0xff;
  pre[3] = leafMask >> 8;
  pre[4] = leafMask & 0xff;
  hashAfter(pre).set(sha256(pre));
  return new InternalNode(bitmap, leafMask, pre, versions, children);
}

export function childRef(node: InternalNode, i: number): NodeRef | null {
  if (((node.bitmap >> i) & 1) === 0) return null;
  const j = slotOf(node.bitmap, i);
  return {
    version: node.versions[j],
    hash: node.childHash(j),
    leaf: ((node.leafMask >> i) & 1) === 1,
  };
}

/**
 * Disk key of a node: version (u48 BE) ‖ depth (u8) ‖ the first `depth` nibbles of `pathSource`
 * packed two per byte (a trailing half byte zeroed). Version first, so one commit's nodes sit
 * together and pruning a version touches one key range.
 */
export function nodeKey(version: number, pathSource: Uint8Array, depth: number): Buffer {
  return prefixedNodeKey(EMPTY_PREFIX, version, pathSource, depth);
}

/** `prefix ‖ nodeKey(...)` in one allocation (the commit's LevelDB keys carry the sublevel prefix). */
export function prefixedNodeKey(
  prefix: Buffer,
  version: number,
  pathSource: Uint8Array,
  depth: number,
): Buffer {
  const pathBytes = (depth + 1) >> 1;
  const at = prefix.length;
  const key = Buffer.allocUnsafe(at + VERSION_BYTES + 1 + pathBytes);
  prefix.copy(key, 0);
  key.writeUIntBE(version, at, VERSION_BYTES);
  key[at + VERSION_BYTES] = depth;
  for (let i = 0; i < pathBytes; i++) key[at + VERSION_BYTES + 1 + i] = pathSource[i];
  if (depth & 1) key[at + VERSION_BYTES + pathBytes] &= 0xf0;
  return key;
}

const EMPTY_PREFIX = Buffer.alloc(0);

export function versionBytes(version: number): Buffer {
  const b = Buffer.allocUnsafe(VERSION_BYTES);
  b.writeUIntBE(version, 0, VERSION_BYTES);
  return b;
}

export function readVersion(bytes: Uint8Array, offset: number): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUIntBE(offset, VERSION_BYTES);
}

/**
 * Internal: 0x03 ‖ bitmap u16 ‖ leafMask u16 ‖ per present child: version u48 ‖ hash ‖ per leaf
 * child: its key hash ‖ crc32. The node hash covers the bitmaps and child hashes but not the child
 * versions (they must not affect the root, which depends on the key–value set alone) nor the leaf
 * key hashes (a leaf's hash covers its own key hash), so the CRC is what catches a damaged version
 * or key hash on read, before an update copies it into the next version.
 */
export function encodeInternal(node: InternalNode): Buffer {
  const n = popcount16(node.bitmap);
  const leaves = popcount16(node.leafMask);
  const out = Buffer.allocUnsafe(5 + n * (VERSION_BYTES + HASH_BYTES) + leaves * HASH_BYTES + CRC_BYTES);
  out[0] = DISK_INTERNAL;
  out.writeUInt16BE(node.bitmap, 1);
  out.writeUInt16BE(node.leafMask, 3);
  let off = 5;
  for (let j = 0; j < n; j++) {
    out.writeUIntBE(node.versions[j], off, VERSION_BYTES);
    out.set(node.childHash(j), off + VERSION_BYTES);
    off += VERSION_BYTES + HASH_BYTES;
  }
  out.set(leafKeys(node.pre, 0, leaves), off);
  off += leaves * HASH_BYTES;
  out.writeUInt32BE(crc32(out.subarray(0, off)), off);
  return out;
}

/** Leaf: 0x02 ‖ keyHash ‖ value. The value lives in the leaf, so a read at an old version is one walk. */
export function encodeLeaf(leaf: LeafNode): Buffer {
  const out = Buffer.allocUnsafe(1 + HASH_BYTES + leaf.value.length);
  out[0] = DISK_LEAF;
  out.set(leaf.keyHash, 1);
  out.set(leaf.value, 1 + HASH_BYTES);
  return out;
}

/** Decodes disk bytes; returns undefined when they do not have the expected shape. */
export function decodeInternal(bytes: Buffer): InternalNode | undefined {
  if (bytes.length < 5 || bytes[0] !== DISK_INTERNAL) return undefined;
  const bitmap = bytes.readUInt16BE(1);
  const leafMask = bytes.readUInt16BE(3);
  const n = popcount16(bitmap);
  const leaves = popcount16(leafMask);
  const keysAt = 5 + n * (VERSION_BYTES + HASH_BYTES);
  const crcAt = keysAt + leaves * HASH_BYTES;
  if ((leafMask & ~bitmap) !== 0 || n < 1 || bytes.length !== crcAt + CRC_BYTES) return undefined;
  if (crc32(bytes.subarray(0, crcAt)) !== bytes.readUInt32BE(crcAt)) return undefined;
  const pre = internalBuffer(n, leaves);
  const versions = new Array<number>(n);
  let off = 5;
  for (let j = 0; j < n; j++) {
    versions[j] = bytes.readUIntBE(off, VERSION_BYTES);
    pre.set(
      bytes.subarray(off + VERSION_BYTES, off + VERSION_BYTES + HASH_BYTES),
      INTERNAL_HEADER_BYTES + j * HASH_BYTES,
    );
    off += VERSION_BYTES + HASH_BYTES;
  }
  leafKeys(pre, 0, leaves).set(bytes.subarray(keysAt, crcAt));
  return makeInternal(bitmap, leafMask, pre, versions);
}

export function decodeLeaf(bytes: Buffer): LeafNode | undefined {
  if (bytes.length < 1 + HASH_BYTES || bytes[0] !== DISK_LEAF) return undefined;
  // Views, not copies: `bytes` is a fresh buffer from LevelDB that nothing else holds.
  // Plain Uint8Array views (callers get Uint8Array, not Buffer, whose slice() would alias).
  const at = bytes.byteOffset;
  return makeLeaf(
    new Uint8Array(bytes.buffer, at + 1, HASH_BYTES),
    new Uint8Array(bytes.buffer, at + 1 + HASH_BYTES, bytes.length - 1 - HASH_BYTES),
  );
}
