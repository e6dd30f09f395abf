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

/**
 * Child version placeholder while a version is being built (its number is known only at commit).
 * It is the largest u48, so no real version reaches it.
 */
export const PENDING_VERSION = 2 ** 48 - 1;
/** Versions are stored as 48-bit big-endian integers: 2^48 blocks is plenty. */
export const VERSION_MAX = PENDING_VERSION - 1;
const VERSION_BYTES = 6;
// 0x04: format 3 (one layout in memory and on disk). Format 2 used 0x03, format 1 0x01, so a node
// of another format fails to decode, loudly (the format is also checked at open).
const DISK_INTERNAL = 0x04;
const CRC_BYTES = 4;
const DISK_LEAF = 0x02;

/*
 * An internal node is one buffer, the same in memory and on disk (format 3), so a commit stores
 * the node's own bytes instead of encoding a second copy:
 *
 *   0         DISK_INTERNAL
 *   1..       the hash preimage (hashSpec): INTERNAL_TAG ‖ bitmap u16 ‖ leafMask u16 ‖ the present
 *             children's hashes, packed in nibble order (child i at slot `slotOf(bitmap, i)`)
 *   keysAt    the leaf children's key hashes, in nibble order
 *   versionsAt the present children's versions (u48 BE), packed like the hashes
 *   crcAt     crc32 of everything before it (u32 BE), written when the versions are final
 *   hashAt    the node's hash (memory only: on disk it is the parent's to vouch for)
 *
 * The node hash covers the bitmaps and child hashes but not the child versions (the root must
 * depend on the key–value set alone) nor the leaf key hashes (a leaf's hash covers its own key
 * hash), so the CRC is what catches a damaged version or key hash on read, before an update copies
 * it into the next version.
 */
const PRE_AT = 1;
const HASHES_AT = PRE_AT + INTERNAL_HEADER_BYTES;

function keysAt(children: number): number {
  return HASHES_AT + children * HASH_BYTES;
}

function versionsAt(children: number, leaves: number): number {
  return keysAt(children) + leaves * HASH_BYTES;
}

/** Where the CRC starts in a node's buffer (everything before it is stored and covered). */
function crcAt(buf: Buffer): number {
  return buf.length - HASH_BYTES - CRC_BYTES;
}

/** Where the version of packed slot `j` sits in a node's buffer with `children` present children. */
function versionAt(buf: Buffer, children: number, j: number): number {
  return crcAt(buf) - (children - j) * VERSION_BYTES;
}

/** Where the key hash of leaf child `i` of `node` sits in its buffer. */
function leafKeyAt(node: InternalNode, i: number): number {
  return keysAt(popcount16(node.bitmap)) + popcount16(node.leafMask & ((1 << i) - 1)) * HASH_BYTES;
}

/**
 * An internal node in memory. The latest tree keeps ~0.36 of these per key linked in memory, so
 * each is kept small: the object, its buffer, and a children array only when it has internal
 * children (most nodes at the bottom have leaves only); hashes and versions are read from the
 * buffer on demand rather than held as more objects for the garbage collector to trace.
 */
export class InternalNode {
  /** Bit i set = child i present. */
  readonly bitmap: number;
  /** Bit i set = child i is a leaf (otherwise an internal node). */
  readonly leafMask: number;
  /** The node's bytes (layout above). */
  readonly buf: Buffer;
  /**
   * Decoded internal children of the latest tree, packed by slot, filled as they are loaded: the
   * latest tree stays in memory as linked objects, so walking it costs no key building, no map
   * lookup and no disk read, and replaced nodes are simply dropped with the old root. Null when
   * every child is a leaf.
   */
  readonly children: (InternalNode | undefined)[] | null;

  constructor(bitmap: number, leafMask: number, buf: Buffer, children: (InternalNode | undefined)[] | null) {
    this.bitmap = bitmap;
    this.leafMask = leafMask;
    this.buf = buf;
    this.children = children;
  }

  get kind(): 'internal' {
    return 'internal';
  }

  /** Hash of the child in packed slot `j` (a view). */
  childHash(j: number): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + HASHES_AT + j * HASH_BYTES, HASH_BYTES);
  }

  /** Version that wrote the child in packed slot `j` (PENDING_VERSION while being built). */
  childVersion(j: number): number {
    return this.buf.readUIntBE(versionAt(this.buf, popcount16(this.bitmap), j), VERSION_BYTES);
  }

  /** The node's hash (a view). */
  get hash(): Uint8Array {
    const b = this.buf;
    return new Uint8Array(b.buffer, b.byteOffset + b.length - HASH_BYTES, HASH_BYTES);
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
 * A buffer for a new internal node with `children` present children, `leaves` of them leaves.
 * Write the children with `setChild` and the leaves' key hashes with `setLeafKey`, then pass it to
 * `makeInternal`. Knowing a leaf child's key hash lets an update of that key replace the leaf
 * without reading it from disk (treeUpdate.ts).
 *
 * Each node gets its own allocation, never a slice of Node's shared 8 KiB buffer pool: a pool slab
 * stays alive while any slice of it does, so long-lived nodes cut from it would pin the megabytes
 * of short-lived buffers (keys, batch entries) allocated around them in every block.
 */
export function internalBuffer(children: number, leaves: number): Buffer {
  return Buffer.allocUnsafeSlow(
    versionsAt(children, leaves) + children * VERSION_BYTES + CRC_BYTES + HASH_BYTES,
  );
}

/** Writes the child in packed slot `j` of a node being built with `children` present children. */
export function setChild(buf: Buffer, children: number, j: number, hash: Uint8Array, version: number): void {
  buf.set(hash, HASHES_AT + j * HASH_BYTES);
  buf.writeUIntBE(version, versionAt(buf, children, j), VERSION_BYTES);
}

/**
 * Copies child `i` of `old` (hash, version, and key hash if it is a leaf) into packed slot `j` of a
 * node being built with `children` present children; `rank` is its rank among the new node's leaf
 * children. Byte to byte: the bottom nodes keep most of their children, so views would be ~10
 * short-lived objects per rewritten node.
 */
export function copyChild(
  buf: Buffer,
  children: number,
  j: number,
  rank: number,
  old: InternalNode,
  i: number,
): void {
  const ob = old.buf;
  const oj = slotOf(old.bitmap, i);
  copyBytes(ob, HASHES_AT + oj * HASH_BYTES, buf, HASHES_AT + j * HASH_BYTES, HASH_BYTES);
  const ov = versionAt(ob, popcount16(old.bitmap), oj);
  copyBytes(ob, ov, buf, versionAt(buf, children, j), VERSION_BYTES);
  if ((old.leafMask >> i) & 1) {
    copyBytes(ob, leafKeyAt(old, i), buf, keysAt(children) + rank * HASH_BYTES, HASH_BYTES);
  }
}

/**
 * Copies `n` bytes. A plain loop: `Buffer#copy` and `set` with a range make a view object per call,
 * which on this path is most of what a block allocates.
 */
function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  for (let k = 0; k < n; k++) dst[to + k] = src[from + k];
}

/** Writes the key hash of the `rank`-th leaf child (counting leaves only, in nibble order). */
export function setLeafKey(buf: Buffer, children: number, rank: number, keyHash: Uint8Array): void {
  buf.set(keyHash, keysAt(children) + rank * HASH_BYTES);
}

/** Key hash of leaf child `i` of `node` (which must be a leaf child): a view, not a copy. */
export function leafKeyOf(node: InternalNode, i: number): Uint8Array {
  return new Uint8Array(node.buf.buffer, node.buf.byteOffset + leafKeyAt(node, i), HASH_BYTES);
}

/**
 * True when two nodes' stored contents (children, leaf key hashes, versions) are equal; `b` may
 * still be unsealed (no CRC yet).
 */
export function sameContent(a: InternalNode, b: InternalNode): boolean {
  const end = crcAt(a.buf);
  return end === crcAt(b.buf) && a.buf.compare(b.buf, PRE_AT, end, PRE_AT, end) === 0;
}

/**
 * Finishes an internal node built in `buf` (see `internalBuffer`) and hashes it in place. The CRC
 * is written by `sealInternal` once the child versions are final.
 */
export function makeInternal(
  bitmap: number,
  leafMask: number,
  buf: Buffer,
  children: (InternalNode | undefined)[] | null = leafMask === bitmap ? null : new Array(popcount16(bitmap)),
): InternalNode {
  const n = popcount16(bitmap);
  buf[0] = DISK_INTERNAL;
  buf[PRE_AT] = INTERNAL_TAG;
  buf[PRE_AT + 1] = bitmap >> 8;
  buf[PRE_AT + 2] = bitmap & 0xff;
  buf[PRE_AT + 3] = leafMask >> 8;
  buf[PRE_AT + 4] = leafMask & 0xff;
  const hashAt = buf.length - HASH_BYTES;
  buf.set(sha256(buf.subarray(PRE_AT, keysAt(n))), hashAt);
  return new InternalNode(bitmap, leafMask, buf, children);
}

/**
 * At commit: gives the children built in this version their number and writes the CRC. Returns the
 * bytes to store (a view of the node's own buffer).
 */
export function sealInternal(node: InternalNode, version: number): Buffer {
  const b = node.buf;
  const end = crcAt(b);
  for (let at = versionAt(b, popcount16(node.bitmap), 0); at < end; at += VERSION_BYTES) {
    if (b.readUIntBE(at, VERSION_BYTES) === PENDING_VERSION) b.writeUIntBE(version, at, VERSION_BYTES);
  }
  b.writeUInt32BE(crc32(b.subarray(0, end)), end);
  return b.subarray(0, end + CRC_BYTES);
}

export function childRef(node: InternalNode, i: number): NodeRef | null {
  if (((node.bitmap >> i) & 1) === 0) return null;
  const j = slotOf(node.bitmap, i);
  return new ChildRef(node, j, node.childVersion(j), ((node.leafMask >> i) & 1) === 1);
}

/** A child pointer read from its parent; the hash view is made only if asked for (most walks do not). */
class ChildRef implements NodeRef {
  readonly #parent: InternalNode;
  readonly #slot: number;
  readonly version: number;
  readonly leaf: boolean;

  constructor(parent: InternalNode, slot: number, version: number, leaf: boolean) {
    this.#parent = parent;
    this.#slot = slot;
    this.version = version;
    this.leaf = leaf;
  }

  get hash(): Uint8Array {
    return this.#parent.childHash(this.#slot);
  }
}

/** Whether child `i` of `node` has hash `hash` (compared in place). */
export function childHashEquals(node: InternalNode, i: number, hash: Uint8Array): boolean {
  const at = HASHES_AT + slotOf(node.bitmap, i) * HASH_BYTES;
  return node.buf.compare(hash, 0, HASH_BYTES, at, at + HASH_BYTES) === 0;
}

/** Whether leaf child `i` of `node` is the leaf of `keyHash` (compared in place). */
export function leafKeyEquals(node: InternalNode, i: number, keyHash: Uint8Array): boolean {
  const at = leafKeyAt(node, i);
  return node.buf.compare(keyHash, 0, HASH_BYTES, at, at + HASH_BYTES) === 0;
}

/** Longest node key: version, depth, 32 path bytes. */
export const NODE_KEY_BYTES_MAX = VERSION_BYTES + 1 + HASH_BYTES;

/**
 * Disk key of a node: version (u48 BE) ‖ depth (u8) ‖ the first `depth` nibbles of `pathSource`
 * packed two per byte (a trailing half byte zeroed). Version first, so one commit's nodes sit
 * together and pruning a version touches one key range.
 */
export function nodeKey(version: number, pathSource: Uint8Array, depth: number): Buffer {
  const key = Buffer.allocUnsafe(VERSION_BYTES + 1 + ((depth + 1) >> 1));
  writeNodeKey(key, 0, version, pathSource, depth);
  return key;
}

/** Writes `nodeKey(...)` into `out` at `at`; returns where it ends. */
export function writeNodeKey(
  out: Buffer,
  at: number,
  version: number,
  pathSource: Uint8Array,
  depth: number,
): number {
  const pathBytes = (depth + 1) >> 1;
  out.writeUIntBE(version, at, VERSION_BYTES);
  out[at + VERSION_BYTES] = depth;
  const pathAt = at + VERSION_BYTES + 1;
  for (let i = 0; i < pathBytes; i++) out[pathAt + i] = pathSource[i];
  if (depth & 1) out[pathAt + pathBytes - 1] &= 0xf0;
  return pathAt + pathBytes;
}

export function versionBytes(version: number): Buffer {
  const b = Buffer.allocUnsafe(VERSION_BYTES);
  b.writeUIntBE(version, 0, VERSION_BYTES);
  return b;
}

export function readVersion(bytes: Uint8Array, offset: number): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUIntBE(offset, VERSION_BYTES);
}

/** Length of a leaf's encoding. */
export function leafBytes(leaf: LeafNode): number {
  return 1 + HASH_BYTES + leaf.value.length;
}

/**
 * Writes a leaf's disk bytes, 0x02 ‖ keyHash ‖ value, into `out` at `at`; returns where they end.
 * The value lives in the leaf, so a read at an old version is one walk.
 */
export function writeLeaf(out: Buffer, at: number, leaf: LeafNode): number {
  out[at] = DISK_LEAF;
  out.set(leaf.keyHash, at + 1);
  out.set(leaf.value, at + 1 + HASH_BYTES);
  return at + 1 + HASH_BYTES + leaf.value.length;
}

/** Decodes disk bytes; returns undefined when they do not have the expected shape. */
export function decodeInternal(bytes: Buffer): InternalNode | undefined {
  if (bytes.length < HASHES_AT || bytes[0] !== DISK_INTERNAL || bytes[PRE_AT] !== INTERNAL_TAG)
    return undefined;
  const bitmap = bytes.readUInt16BE(PRE_AT + 1);
  const leafMask = bytes.readUInt16BE(PRE_AT + 3);
  const n = popcount16(bitmap);
  const end = versionsAt(n, popcount16(leafMask)) + n * VERSION_BYTES;
  if ((leafMask & ~bitmap) !== 0 || n < 1 || bytes.length !== end + CRC_BYTES) return undefined;
  if (crc32(bytes.subarray(0, end)) !== bytes.readUInt32BE(end)) return undefined;
  const buf = Buffer.allocUnsafeSlow(bytes.length + HASH_BYTES);
  bytes.copy(buf);
  return makeInternal(bitmap, leafMask, buf);
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
