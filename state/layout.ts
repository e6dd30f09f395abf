import { EMPTY_ROOT, HASH_BYTES } from './hashSpec.js';
import { NODE_KEY_BYTES_MAX, type NodeRef, readVersion, versionBytes, writeNodeKey } from './node.js';

/**
 * Where the state lives in the node's LevelDB: three sublevels, so the node's own sublevels
 * (blocks, indexes) share the database and its atomic batches without key clashes.
 *
 * - `state-node`:   node key (version ‖ depth ‖ path) → node bytes (node.ts)
 * - `state-latest`: raw key → valueHash ‖ value; the flat latest-value table (one read per get)
 * - `state-meta`:   'format' → STATE_FORMAT (u8); 'latest' → version; 'oldest' → oldest retained version;
 *                   'r' ‖ version → root record; 's' ‖ version → keys of nodes stale since version
 */
export const SUBLEVEL_NODES = 'state-node';
export const SUBLEVEL_LATEST = 'state-latest';
export const SUBLEVEL_META = 'state-meta';
/** Sublevel names starting with this belong to the state module. */
export const RESERVED_SUBLEVEL_PREFIX = 'state-';

export const META_LATEST = Buffer.from('latest');
export const META_FORMAT = Buffer.from('format');
/**
 * On-disk format of the tree. 2: internal nodes also record their leaf children's key hashes. 3: an
 * internal node is stored as it is held in memory (node.ts), versions after the hashes. A database
 * written in another format is refused at open (STATE_FORMAT_UNSUPPORTED): resync it.
 */
export const STATE_FORMAT = 3;
export const META_OLDEST = Buffer.from('oldest');

export function rootRecordKey(version: number): Buffer {
  return Buffer.concat([Buffer.from('r'), versionBytes(version)]);
}

export function staleListKey(version: number): Buffer {
  return Buffer.concat([Buffer.from('s'), versionBytes(version)]);
}

const ROOT_EMPTY = 0;
const ROOT_LEAF = 1;
const ROOT_INTERNAL = 2;
const ROOT_RECORD_BYTES = 1 + 6 + HASH_BYTES;

/** Root record: kind (0 empty, 1 leaf, 2 internal) ‖ node version u48 ‖ root hash. */
export function encodeRootRecord(root: NodeRef | null): Buffer {
  const out = Buffer.alloc(ROOT_RECORD_BYTES);
  if (root === null) return out;
  out[0] = root.leaf ? ROOT_LEAF : ROOT_INTERNAL;
  out.writeUIntBE(root.version, 1, 6);
  out.set(root.hash, 7);
  return out;
}

/** Undefined when malformed (the caller reports it as corruption). */
export function decodeRootRecord(bytes: Uint8Array): { root: NodeRef | null } | undefined {
  if (bytes.length !== ROOT_RECORD_BYTES || bytes[0] > ROOT_INTERNAL) return undefined;
  const hash = new Uint8Array(bytes.subarray(7));
  if (bytes[0] === ROOT_EMPTY) {
    return Buffer.compare(hash, EMPTY_ROOT) === 0 && readVersion(bytes, 1) === 0 ? { root: null } : undefined;
  }
  return { root: { version: readVersion(bytes, 1), hash, leaf: bytes[0] === ROOT_LEAF } };
}

/**
 * Stale list: node keys, each preceded by its length (u8). Built key by key in one growing buffer,
 * so a block's ~15k stale keys are not ~15k buffers kept alive until the commit.
 */
export class KeyListWriter {
  #buf = Buffer.allocUnsafe(4096);
  #length = 0;
  #count = 0;

  /** Appends `nodeKey(version, pathSource, depth)`. */
  addNodeKey(version: number, pathSource: Uint8Array, depth: number): void {
    if (this.#length + 1 + NODE_KEY_BYTES_MAX > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(bigger, 0, 0, this.#length);
      this.#buf = bigger;
    }
    const end = writeNodeKey(this.#buf, this.#length + 1, version, pathSource, depth);
    this.#buf[this.#length] = end - this.#length - 1;
    this.#length = end;
    this.#count++;
  }

  /** Number of keys added. */
  get count(): number {
    return this.#count;
  }

  /** The encoded list (a view). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }
}

/**
 * Decodes a stale list into `prefix ‖ key` for each key (ready to delete from the root database):
 * one buffer for all of them, with a view per key. Undefined when malformed.
 */
export function decodeKeyList(bytes: Buffer, prefix: Buffer): Buffer[] | undefined {
  let count = 0;
  let off = 0;
  while (off < bytes.length) {
    const len = bytes[off];
    if (off + 1 + len > bytes.length) return undefined;
    count++;
    off += 1 + len;
  }
  const all = Buffer.allocUnsafe(bytes.length - count + count * prefix.length);
  const out: Buffer[] = [];
  let at = 0;
  off = 0;
  while (off < bytes.length) {
    const len = bytes[off];
    prefix.copy(all, at);
    bytes.copy(all, at + prefix.length, off + 1, off + 1 + len);
    out.push(all.subarray(at, at + prefix.length + len));
    at += prefix.length + len;
    off += 1 + len;
  }
  return out;
}
