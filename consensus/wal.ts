/**
 * The consensus write-ahead log (DESIGN §7, §9). Every core input is appended before the core
 * sees it; an own vote or proposal is appended and fsynced before it leaves the process. After a
 * crash the node rebuilds the core for its first uncommitted height and replays that height's
 * log, so it comes back with the locks and votes it had (the signer guard is the second line of
 * defence, for anything the log lost).
 *
 * Format: one file per height (rotation = start the next height's file, delete old ones), a
 * sequence of frames `[u32 length][u32 crc32(payload)][payload]`, big-endian. Appends happen in
 * order and fsync makes a prefix durable, so a crash can only damage the tail: replay stops at the
 * first frame that is short (torn) or fails its length bound, checksum or decode (corrupt), cuts
 * the file there, and carries on. A damaged frame in the middle of synced data (media failure)
 * also ends the replay there: what follows cannot be framed reliably, and the signer guard still
 * refuses to sign anything conflicting with what was signed.
 *
 * The I/O is synchronous on purpose: an fsync must complete before the vote is broadcast, and a
 * sync call keeps that ordering obvious. A backend interface lets the simulator use memory with
 * the same crash semantics (unsynced bytes may be lost or torn).
 */

import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { assert, StorageError } from '../core/errors.js';
import { decodeWalInput, encodeWalInput, WAL_RECORD_BYTES_MAX, type WalInput } from './walRecord.js';

export const WAL_FRAME_HEADER_BYTES = 8;
/** Logs of this many most recent heights are kept (the current one and the one before). */
export const WAL_KEEP_HEIGHTS = 2;

export function frameRecord(payload: Uint8Array): Uint8Array {
  assert(payload.length > 0 && payload.length <= WAL_RECORD_BYTES_MAX, 'WAL record within its size bound');
  const out = new Uint8Array(WAL_FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32(payload));
  out.set(payload, WAL_FRAME_HEADER_BYTES);
  return out;
}

export type WalTail = 'clean' | 'torn' | 'corrupt';

export interface WalScan {
  readonly inputs: WalInput[];
  /** Length of the intact prefix; anything after it is dropped. */
  readonly validBytes: number;
  readonly tail: WalTail;
}

/** Reads frames until the end or the first damaged one. Never throws on bad bytes. */
export function scanWal(bytes: Uint8Array): WalScan {
  const inputs: WalInput[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let tail: WalTail = 'clean';
  while (pos < bytes.length) {
    if (bytes.length - pos < WAL_FRAME_HEADER_BYTES) {
      tail = 'torn';
      break;
    }
    const length = view.getUint32(pos);
    const checksum = view.getUint32(pos + 4);
    if (length === 0 || length > WAL_RECORD_BYTES_MAX) {
      tail = 'corrupt';
      break;
    }
    if (bytes.length - pos - WAL_FRAME_HEADER_BYTES < length) {
      tail = 'torn';
      break;
    }
    const payload = bytes.subarray(pos + WAL_FRAME_HEADER_BYTES, pos + WAL_FRAME_HEADER_BYTES + length);
    if (crc32(payload) !== checksum) {
      tail = 'corrupt';
      break;
    }
    try {
      inputs.push(decodeWalInput(payload));
    } catch {
      tail = 'corrupt';
      break;
    }
    pos += WAL_FRAME_HEADER_BYTES + length;
  }
  return { inputs, validBytes: pos, tail };
}

/** Where WAL bytes live. `append` need not be durable until `sync`. */
export interface WalBackend {
  /** Heights that have a log, ascending. */
  heights(): number[];
  /** The bytes of a height's log (empty when there is none). */
  read(height: number): Uint8Array;
  append(height: number, bytes: Uint8Array): void;
  /** Makes every byte appended so far to `height` durable. */
  sync(height: number): void;
  /** Durably cuts a height's log to `length` bytes. */
  truncate(height: number, length: number): void;
  remove(height: number): void;
}

export interface WalOpenResult extends WalScan {
  readonly droppedBytes: number;
}

export class Wal {
  private readonly backend: WalBackend;
  private height = -1;

  constructor(backend: WalBackend) {
    this.backend = backend;
  }

  get currentHeight(): number {
    return this.height;
  }

  /**
   * Opens the log of `height` (the first uncommitted height) for replay and further appends:
   * returns its intact inputs and cuts off a damaged tail, so new records follow intact ones.
   */
  open(height: number): WalOpenResult {
    const bytes = this.backend.read(height);
    const scan = scanWal(bytes);
    if (scan.validBytes < bytes.length) this.backend.truncate(height, scan.validBytes);
    this.backend.append(height, new Uint8Array(0)); // creates the file if the height is new
    this.height = height;
    return { ...scan, droppedBytes: bytes.length - scan.validBytes };
  }

  /** Appends an input of the open height (not yet durable). */
  append(input: WalInput): void {
    assert(this.height >= 1, 'WAL opened before appending');
    this.backend.append(this.height, frameRecord(encodeWalInput(input)));
  }

  /** Makes every appended record durable: call before any own signed message leaves. */
  sync(): void {
    assert(this.height >= 1, 'WAL opened before syncing');
    this.backend.sync(this.height);
  }

  /** After height − 1 is committed: start the log of `height` and delete old logs. */
  rotate(height: number): void {
    assert(height > this.height, 'the WAL only moves forward');
    this.height = height;
    this.backend.append(height, new Uint8Array(0));
    this.backend.sync(height);
    for (const h of this.backend.heights()) if (h <= height - WAL_KEEP_HEIGHTS) this.backend.remove(h);
  }
}

// ---- files -------------------------------------------------------------------------------------

const FILE_RE = /^wal-(\d{12})\.log$/;

/** One append-only file per height in `dir`: `wal-000000000042.log`. */
export class FileWalBackend implements WalBackend {
  private readonly dir: string;
  private readonly fds = new Map<number, number>();

  constructor(dir: string) {
    this.dir = dir;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new StorageError('WAL_DIR', `cannot create WAL directory ${dir}: ${(e as Error).message}`);
    }
  }

  private path(height: number): string {
    return join(this.dir, `wal-${String(height).padStart(12, '0')}.log`);
  }

  private fd(height: number): number {
    let fd = this.fds.get(height);
    if (fd === undefined) {
      fd = openSync(this.path(height), 'a');
      this.fds.set(height, fd);
      this.syncDir(); // the new file's directory entry must be durable too
    }
    return fd;
  }

  private syncDir(): void {
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  heights(): number[] {
    return readdirSync(this.dir)
      .map((f) => FILE_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  read(height: number): Uint8Array {
    try {
      return new Uint8Array(readFileSync(this.path(height)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Uint8Array(0);
      throw new StorageError('WAL_READ', `cannot read ${this.path(height)}: ${(e as Error).message}`);
    }
  }

  append(height: number, bytes: Uint8Array): void {
    const fd = this.fd(height);
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      throw this.named(e, height);
    }
  }

  sync(height: number): void {
    try {
      fsyncSync(this.fd(height));
    } catch (e) {
      throw this.named(e, height);
    }
  }

  /** fs errors of write/fsync carry no file name (a full disk must say which file). */
  private named(e: unknown, height: number): unknown {
    if (e instanceof Error && (e as { path?: unknown }).path === undefined)
      Object.assign(e, { path: this.path(height) });
    return e;
  }

  truncate(height: number, length: number): void {
    const fd = openSync(this.path(height), 'r+');
    try {
      ftruncateSync(fd, length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  remove(height: number): void {
    const fd = this.fds.get(height);
    if (fd !== undefined) {
      closeSync(fd);
      this.fds.delete(height);
    }
    try {
      unlinkSync(this.path(height));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.syncDir();
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

// ---- memory (simulator, tests) -------------------------------------------------------------------

interface MemoryLog {
  chunks: Uint8Array[];
  length: number;
  synced: number;
}

/**
 * In-memory logs with disk-like crash semantics: `crash` keeps every synced byte and, of the
 * unsynced ones, only the prefix the caller chooses, which may end in the middle of a frame.
 */
export class MemoryWalBackend implements WalBackend {
  private readonly logs = new Map<number, MemoryLog>();

  heights(): number[] {
    return [...this.logs.keys()].sort((a, b) => a - b);
  }

  read(height: number): Uint8Array {
    const log = this.logs.get(height);
    if (!log) return new Uint8Array(0);
    this.compact(log);
    return log.chunks[0]?.slice() ?? new Uint8Array(0);
  }

  append(height: number, bytes: Uint8Array): void {
    let log = this.logs.get(height);
    if (!log) {
      log = { chunks: [], length: 0, synced: 0 };
      this.logs.set(height, log);
    }
    if (bytes.length === 0) return;
    log.chunks.push(bytes);
    log.length += bytes.length;
  }

  sync(height: number): void {
    const log = this.logs.get(height);
    if (log) log.synced = log.length;
  }

  truncate(height: number, length: number): void {
    const log = this.logs.get(height);
    if (!log) return;
    this.compact(log);
    const cut = (log.chunks[0] ?? new Uint8Array(0)).slice(0, length);
    log.chunks = cut.length > 0 ? [cut] : [];
    log.length = cut.length;
    log.synced = cut.length;
  }

  remove(height: number): void {
    this.logs.delete(height);
  }

  /**
   * Simulates losing power: of each log's unsynced bytes, `keepUnsynced(count)` survive (a
   * number in [0, count]), so the tail may be torn.
   */
  crash(keepUnsynced: (unsyncedBytes: number) => number): void {
    for (const [height, log] of this.logs) {
      const unsynced = log.length - log.synced;
      const keep = Math.max(0, Math.min(unsynced, keepUnsynced(unsynced)));
      this.truncate(height, log.synced + keep);
    }
  }

  /** Total bytes held (for figures). */
  bytes(): number {
    let n = 0;
    for (const log of this.logs.values()) n += log.length;
    return n;
  }

  private compact(log: MemoryLog): void {
    if (log.chunks.length <= 1) return;
    const all = new Uint8Array(log.length);
    let off = 0;
    for (const c of log.chunks) {
      all.set(c, off);
      off += c.length;
    }
    log.chunks = [all];
  }
}
