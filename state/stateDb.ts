import { ClassicLevel } from 'classic-level';
import { toHex } from '../core/bytes.js';
import { assert, StorageError, ValidationError } from '../core/errors.js';
import { sha256 } from './digest.js';
import { EMPTY_ROOT, HASH_BYTES, RADIX } from './hashSpec.js';
import {
  decodeKeyList,
  decodeRootRecord,
  encodeRootRecord,
  META_FORMAT,
  META_LATEST,
  META_OLDEST,
  RESERVED_SUBLEVEL_PREFIX,
  rootRecordKey,
  STATE_FORMAT,
  SUBLEVEL_LATEST,
  SUBLEVEL_META,
  SUBLEVEL_NODES,
  staleListKey,
} from './layout.js';
import { NativeBatch } from './nativeBatch.js';
import {
  childRef,
  type InternalNode,
  leafBytes,
  NODE_KEY_BYTES_MAX,
  type NodeRef,
  PENDING_VERSION,
  readVersion,
  sealInternal,
  VERSION_MAX,
  versionBytes,
  writeLeaf,
  writeNodeKey,
} from './node.js';
import { NodeStore } from './nodeStore.js';
import {
  copy,
  type ExtraOp,
  Overlay,
  type OverlayBase,
  type OverlayWrite,
  STATE_KEY_BYTES_MAX,
  type StateLevel,
} from './overlay.js';

export type { ExtraOp, OverlayWrite, StateLevel };

import { checkRecovery, corruptionError, refuseIfMarked } from './levelRecovery.js';
import { findLeaf, type ProofResult, proveKey } from './treeRead.js';
import type { UpdatePlan } from './treeUpdate.js';

function binarySublevel(db: StateLevel, name: string) {
  return db.sublevel<Buffer, Buffer>(name, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}
/** A sublevel of the node's LevelDB with binary keys and values. */
export type BinarySublevel = ReturnType<typeof binarySublevel>;

/**
 * Pruning work per commit is bounded so a node that enables pruning on a long history catches up
 * over several blocks instead of stalling one commit.
 */
export const PRUNE_VERSIONS_PER_COMMIT_MAX = 64;
/** `warmUp` yields to the event loop this often, so a node stays responsive while it warms. */
export const WARM_UP_NODES_PER_TICK = 5_000;

/** A memtable that holds a few blocks' writes: fewer level-0 files and compactions per block. */
export const LEVEL_WRITE_BUFFER_BYTES = 16 * 1024 * 1024;
/** LevelDB block cache: leaves and latest values (internal nodes of the latest tree live in memory). */
export const LEVEL_CACHE_BYTES = 32 * 1024 * 1024;

export interface StateDbOptions {
  /**
   * How many versions stay readable (the latest included); older ones are pruned as commits go
   * on. Undefined keeps every version. Must be ≥ 1.
   */
  readonly versionsKept?: number;
  /**
   * fsync every commit. Without it a commit survives a process crash (LevelDB's log is written
   * before `commit` resolves) but not a power cut. Default false.
   */
  readonly sync?: boolean;
}

/**
 * The authenticated state on LevelDB: a versioned Jellyfish-style Merkle tree (version = block
 * height) plus a flat latest-value table. Blocks are executed in overlays (`overlay()`), any number
 * at once over the latest version; committing one writes its version in ONE atomic batch, together
 * with whatever extra operations the node adds (the block itself, indexes).
 */
export class StateDb implements OverlayBase {
  readonly db: StateLevel;
  readonly #ownsDb: boolean;
  readonly #nodes: BinarySublevel;
  readonly #latest: BinarySublevel;
  readonly #meta: BinarySublevel;
  readonly #nodePrefix: Buffer;
  readonly #latestPrefix: Buffer;
  readonly #metaPrefix: Buffer;
  readonly #latestScratch: Buffer;
  readonly #latestViews: Buffer[] = [];
  readonly #store: NodeStore;
  /** The native write batch every commit reuses (created at the first commit). */
  #batch: NativeBatch | undefined;
  readonly #options: StateDbOptions;
  #latestVersion: number | undefined;
  #latestRoot: NodeRef | null = null;
  #oldestVersion: number | undefined;
  #committing = false;

  private constructor(db: StateLevel, ownsDb: boolean, options: StateDbOptions) {
    this.db = db;
    this.#ownsDb = ownsDb;
    this.#options = options;
    this.#nodes = binarySublevel(db, SUBLEVEL_NODES);
    this.#latest = binarySublevel(db, SUBLEVEL_LATEST);
    this.#meta = binarySublevel(db, SUBLEVEL_META);
    // Hot paths prefix keys themselves and use the root database: abstract-level's per-operation
    // sublevel handling was the largest cost of a commit.
    this.#nodePrefix = Buffer.from(this.#nodes.prefix, 'utf8');
    this.#latestPrefix = Buffer.from(this.#latest.prefix, 'utf8');
    this.#metaPrefix = Buffer.from(this.#meta.prefix, 'utf8');
    // Reads build their LevelDB key in a reused buffer (getSync copies it): no allocation per read.
    const nodeScratch = scratchWith(this.#nodePrefix, NODE_KEY_BYTES_MAX);
    const nodeAt = this.#nodePrefix.length;
    this.#store = new NodeStore({
      getSync: (key) => {
        nodeScratch.set(key, nodeAt);
        return db.getSync(nodeScratch.subarray(0, nodeAt + key.length));
      },
    });
    this.#latestScratch = scratchWith(this.#latestPrefix, STATE_KEY_BYTES_MAX);
  }

  /** Opens (creating if needed) the LevelDB directory at `location`; `close()` closes it. */
  static async open(location: string, options: StateDbOptions = {}): Promise<StateDb> {
    checkOptions(options);
    refuseIfMarked(location);
    const db: StateLevel = new ClassicLevel<Buffer, Buffer>(location, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      writeBufferSize: LEVEL_WRITE_BUFFER_BYTES,
      cacheSize: LEVEL_CACHE_BYTES,
    });
    try {
      await db.open();
    } catch (e) {
      throw new StorageError(
        'STATE_DB_OPEN_FAILED',
        `cannot open state database at ${location}: ${(e as Error).message}`,
        {
          location,
        },
      );
    }
    const state = new StateDb(db, true, options);
    try {
      checkRecovery(location);
      await state.#init();
    } catch (e) {
      await db.close();
      throw corruptionError(e, location) ?? e;
    }
    return state;
  }

  /** Uses a database the node already opened (with buffer encodings); `close()` leaves it open. */
  static async attach(db: StateLevel, options: StateDbOptions = {}): Promise<StateDb> {
    checkOptions(options);
    if (db.status !== 'open') await db.open();
    const state = new StateDb(db, false, options);
    await state.#init();
    return state;
  }

  async close(): Promise<void> {
    if (this.#ownsDb) await this.db.close();
  }

  /**
   * An open binary sublevel of the same database, for the node's own data (blocks, indexes); pass
   * it as `sublevel` in commit extra ops. Names starting with `state-` are reserved.
   */
  async sublevel(name: string): Promise<BinarySublevel> {
    if (name.startsWith(RESERVED_SUBLEVEL_PREFIX)) {
      throw new ValidationError(
        'RESERVED_SUBLEVEL',
        `sublevel names starting with "${RESERVED_SUBLEVEL_PREFIX}" belong to state/`,
      );
    }
    const sub = binarySublevel(this.db, name);
    await sub.open();
    return sub;
  }

  /** Latest committed version, or undefined before the first commit. */
  get latestVersion(): number | undefined {
    return this.#latestVersion;
  }

  /** Root of the latest committed version (EMPTY_ROOT before the first commit); a copy. */
  get latestRoot(): Uint8Array {
    return copy(this.#latestRoot?.hash ?? EMPTY_ROOT);
  }

  /** Oldest version still readable, or undefined before the first commit. */
  get oldestVersion(): number | undefined {
    return this.#oldestVersion;
  }

  /** A new write overlay over the latest committed version. */
  overlay(): Overlay {
    return new Overlay(this, this.#latestVersion);
  }

  /** Latest committed value of `key`: one synchronous read of the flat table, hash-checked. */
  get(key: Uint8Array): Uint8Array | undefined {
    if (key.length > STATE_KEY_BYTES_MAX) return undefined; // never stored: writes reject such keys
    const at = this.#latestPrefix.length;
    this.#latestScratch.set(key, at);
    // One view of the scratch per key length, made once: a read allocates only what it returns.
    const view = (this.#latestViews[key.length] ??= this.#latestScratch.subarray(0, at + key.length));
    const raw = this.db.getSync(view);
    if (raw === undefined) return undefined;
    if (raw.length >= HASH_BYTES) {
      // Stored as H(value) ‖ value; compared in place.
      const value = new Uint8Array(raw.buffer, raw.byteOffset + HASH_BYTES, raw.length - HASH_BYTES);
      if (raw.compare(sha256(value), 0, HASH_BYTES, 0, HASH_BYTES) === 0) return value;
    }
    throw new StorageError(
      'STATE_VALUE_CORRUPT',
      `latest value of state key 0x${toHex(key)} (version ${this.#latestVersion}) fails its hash check: the database is corrupt`,
      { key: toHex(key), version: this.#latestVersion },
    );
  }

  /** Value of `key` at a retained `version`, read through the tree (every node hash-checked). */
  getAt(key: Uint8Array, version: number): Uint8Array | undefined {
    const root = this.#rootRef(version);
    const hot = version === this.#latestVersion;
    return this.#withKey(key, version, () => findLeaf(this.#store, root, sha256(key), hot)?.value);
  }

  /** Root hash of a retained version. */
  rootAt(version: number): Uint8Array {
    return copy(this.#rootRef(version)?.hash ?? EMPTY_ROOT);
  }

  /** Inclusion or exclusion proof of `key` at a retained version (default: latest). */
  prove(key: Uint8Array, version = this.#latestVersion): ProofResult {
    if (version === undefined) return proveKey(this.#store, null, sha256(key), false);
    const root = this.#rootRef(version);
    const hot = version === this.#latestVersion;
    return this.#withKey(key, version, () => proveKey(this.#store, root, sha256(key), hot));
  }

  /**
   * Loads the latest tree's internal nodes into memory (what a long-running node holds anyway),
   * so the first blocks after a restart do not pay for cold reads: ~5 s for 1M keys. Yields to the
   * event loop every WARM_UP_NODES_PER_TICK nodes. Returns the number of nodes visited.
   */
  async warmUp(): Promise<number> {
    const root = this.#latestRoot;
    if (root === null || root.leaf) return 0;
    type Visit = {
      ref: NodeRef;
      path: Uint8Array;
      depth: number;
      parent: InternalNode | null;
      nibble: number;
    };
    const stack: Visit[] = [
      { ref: root, path: new Uint8Array(HASH_BYTES), depth: 0, parent: null, nibble: 0 },
    ];
    let loaded = 0;
    while (stack.length > 0) {
      const { ref, path, depth, parent, nibble } = stack.pop() as Visit;
      const node = this.#store.loadInternal(ref, path, depth, true, parent, nibble);
      if (++loaded % WARM_UP_NODES_PER_TICK === 0) await new Promise((r) => setImmediate(r));
      for (let i = 0; i < RADIX; i++) {
        const child = childRef(node, i);
        if (child === null || child.leaf) continue;
        const childPath = path.slice();
        const b = depth >> 1;
        childPath[b] = (depth & 1) === 0 ? (i << 4) | (childPath[b] & 0x0f) : (childPath[b] & 0xf0) | i;
        stack.push({ ref: child, path: childPath, depth: depth + 1, parent: node, nibble: i });
      }
    }
    return loaded;
  }

  /** @internal The overlay's view of where it stands. */
  get committing(): boolean {
    return this.#committing;
  }

  /** @internal Used by Overlay. */
  get nodeStore(): NodeStore {
    return this.#store;
  }

  /** @internal The latest root as a node reference (the base of new overlays). */
  get latestRootRef(): NodeRef | null {
    return this.#latestRoot;
  }

  /**
   * @internal Called by `Overlay.commit`. Writes the plan's nodes, the latest-value changes, the
   * root record, the stale list, pruning deletions and `extraOps` in one atomic batch.
   */
  async commitPlan(
    version: number,
    plan: UpdatePlan,
    writes: readonly OverlayWrite[],
    extraOps: readonly ExtraOp[],
  ): Promise<Uint8Array> {
    assert(!this.#committing, 'one commit at a time');
    const latest = this.#latestVersion;
    if (!Number.isSafeInteger(version) || version < 0 || version > VERSION_MAX) {
      throw new ValidationError(
        'BAD_VERSION',
        `version must be an integer in 0..${VERSION_MAX}, got ${version}`,
      );
    }
    if (latest !== undefined && version !== latest + 1) {
      throw new ValidationError('BAD_VERSION', `next version must be ${latest + 1}, got ${version}`);
    }
    // Extra operations are checked first: a bad one fails the commit before anything changes.
    const extra = extraOps.map(rawExtraOp);
    if (this.db.status !== 'open') {
      throw new StorageError('STATE_DB_CLOSED', 'the state database is closed; cannot commit');
    }
    const root: NodeRef | null =
      plan.root === null
        ? null
        : plan.root.version === PENDING_VERSION
          ? { ...plan.root, version }
          : plan.root;
    // Pruning: versions below `oldest` become unreadable; nodes stale since ≤ oldest are unreachable.
    const prevOldest = this.#oldestVersion ?? version;
    let oldest = prevOldest;
    const kept = this.#options.versionsKept;
    if (kept !== undefined) {
      oldest = Math.min(Math.max(prevOldest, version - kept + 1), prevOldest + PRUNE_VERSIONS_PER_COMMIT_MAX);
    }

    this.#batch ??= new NativeBatch(this.db);
    const batch = this.#batch;
    try {
      this.#fillBatch(batch, version, plan, writes, root, prevOldest, oldest);
      for (const op of extra) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
    } catch (e) {
      batch.clear();
      throw e;
    }
    this.#committing = true;
    try {
      await batch.write(this.#options.sync === true);
    } finally {
      this.#committing = false;
    }
    this.#latestVersion = version;
    this.#latestRoot = root;
    this.#oldestVersion = oldest;
    this.#store.setRoot(root, plan.rootNode);
    return copy(root?.hash ?? EMPTY_ROOT);
  }

  /** Adds the commit's state operations to `batch` (see `commitPlan`), keys and values built in its scratch. */
  #fillBatch(
    batch: NativeBatch,
    version: number,
    plan: UpdatePlan,
    writes: readonly OverlayWrite[],
    root: NodeRef | null,
    prevOldest: number,
    oldest: number,
  ): void {
    const nodePrefix = this.#nodePrefix;
    const latestPrefix = this.#latestPrefix;
    const metaPrefix = this.#metaPrefix;
    const nodeKeyAt = nodePrefix.length;
    for (const n of plan.newNodes) {
      const node = n.node;
      const valueAt = nodeKeyAt + NODE_KEY_BYTES_MAX;
      const out = batch.scratch(node.kind === 'internal' ? valueAt : valueAt + leafBytes(node));
      nodePrefix.copy(out, 0);
      const keyEnd = writeNodeKey(out, nodeKeyAt, version, n.pathSource, n.depth);
      if (node.kind === 'internal') batch.put(out.subarray(0, keyEnd), sealInternal(node, version));
      else batch.put(out.subarray(0, keyEnd), out.subarray(valueAt, writeLeaf(out, valueAt, node)));
    }
    const latestAt = latestPrefix.length;
    for (const w of writes) {
      const keyEnd = latestAt + w.key.length;
      const leaf = w.leaf;
      const out = batch.scratch(keyEnd + (leaf === null ? 0 : HASH_BYTES + leaf.value.length));
      latestPrefix.copy(out, 0);
      out.set(w.key, latestAt);
      if (leaf === null) batch.del(out.subarray(0, keyEnd));
      else {
        out.set(leaf.valueHash, keyEnd);
        out.set(leaf.value, keyEnd + HASH_BYTES);
        batch.put(out.subarray(0, keyEnd), out.subarray(keyEnd, keyEnd + HASH_BYTES + leaf.value.length));
      }
    }
    batch.put(prefixed(metaPrefix, rootRecordKey(version)), encodeRootRecord(root));
    batch.put(prefixed(metaPrefix, META_LATEST), versionBytes(version));
    if (this.#latestVersion === undefined) {
      batch.put(prefixed(metaPrefix, META_FORMAT), Buffer.from([STATE_FORMAT]));
    }
    for (let s = prevOldest + 1; s <= oldest; s++) {
      const stale = s === version ? this.#decodeStale(plan.stale.bytes(), s) : this.#staleList(s);
      for (const k of stale) batch.del(k);
      batch.del(prefixed(metaPrefix, staleListKey(s)));
      batch.del(prefixed(metaPrefix, rootRecordKey(s - 1)));
    }
    if (oldest < version && plan.stale.count > 0) {
      batch.put(prefixed(metaPrefix, staleListKey(version)), plan.stale.bytes());
    }
    batch.put(prefixed(metaPrefix, META_OLDEST), versionBytes(oldest));
  }

  /** Keys of the nodes stale since `version`, prefixed for the root database. */
  #staleList(version: number): Buffer[] {
    const raw = this.#meta.getSync(staleListKey(version));
    return raw === undefined ? [] : this.#decodeStale(raw, version);
  }

  #decodeStale(raw: Buffer, version: number): Buffer[] {
    const list = decodeKeyList(raw, this.#nodePrefix);
    if (list === undefined) {
      throw new StorageError('STATE_META_CORRUPT', `stale-node list of version ${version} is malformed`, {
        version,
      });
    }
    return list;
  }

  #rootRef(version: number): NodeRef | null {
    const latest = this.#latestVersion;
    const oldest = this.#oldestVersion;
    if (
      latest === undefined ||
      oldest === undefined ||
      !Number.isSafeInteger(version) ||
      version < oldest ||
      version > latest
    ) {
      throw new StorageError(
        'STATE_VERSION_NOT_RETAINED',
        latest === undefined
          ? `no state version ${version}: nothing committed yet`
          : `state version ${version} is not retained (readable: ${oldest}..${latest})`,
        { version, oldest, latest },
      );
    }
    if (version === latest) return this.#latestRoot;
    const raw = this.#meta.getSync(rootRecordKey(version));
    const rec = raw === undefined ? undefined : decodeRootRecord(raw);
    if (rec === undefined) {
      throw new StorageError(
        'STATE_ROOT_CORRUPT',
        `root record of state version ${version} is missing or malformed`,
        {
          version,
        },
      );
    }
    return rec.root;
  }

  async #init(): Promise<void> {
    await Promise.all([this.#nodes.open(), this.#latest.open(), this.#meta.open()]);
    this.#loadMeta();
  }

  #loadMeta(): void {
    const latestRaw = this.#meta.getSync(META_LATEST);
    if (latestRaw === undefined) return;
    const format = this.#meta.getSync(META_FORMAT);
    if (format === undefined || format.length !== 1 || format[0] !== STATE_FORMAT) {
      throw new StorageError(
        'STATE_FORMAT_UNSUPPORTED',
        `the state database is in format ${format?.length === 1 ? format[0] : 1}, this node reads format ${STATE_FORMAT}: delete the data directory's database and resync`,
        { format: format?.length === 1 ? format[0] : 1, expected: STATE_FORMAT },
      );
    }
    const oldestRaw = this.#meta.getSync(META_OLDEST);
    if (latestRaw.length !== 6 || oldestRaw === undefined || oldestRaw.length !== 6) {
      throw new StorageError('STATE_META_CORRUPT', 'state metadata (latest / oldest version) is malformed');
    }
    const latest = readVersion(latestRaw, 0);
    const raw = this.#meta.getSync(rootRecordKey(latest));
    const rec = raw === undefined ? undefined : decodeRootRecord(raw);
    if (rec === undefined) {
      throw new StorageError(
        'STATE_ROOT_CORRUPT',
        `root record of latest state version ${latest} is missing or malformed`,
        {
          version: latest,
        },
      );
    }
    this.#latestVersion = latest;
    this.#oldestVersion = readVersion(oldestRaw, 0);
    this.#latestRoot = rec.root;
  }

  #withKey<T>(key: Uint8Array, version: number, read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (e instanceof StorageError) {
        throw new StorageError(
          e.code,
          `${e.message} (reading state key 0x${toHex(key)} at version ${version})`,
          {
            ...e.details,
            key: toHex(key),
            version,
          },
        );
      }
      throw e;
    }
  }
}

type RawOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** Extra ops carry bytes (or UTF-8 strings) for the root or a sublevel from `sublevel()`. */
function rawExtraOp(op: ExtraOp, index: number): RawOp {
  const sub = op.sublevel as { prefix?: unknown } | null | undefined;
  if (sub != null && typeof sub.prefix !== 'string') {
    throw new ValidationError(
      'BAD_EXTRA_OP',
      `extra op ${index}: sublevel is not a sublevel of this database`,
    );
  }
  const prefix = sub == null ? Buffer.alloc(0) : Buffer.from(sub.prefix as string, 'utf8');
  const key = prefixed(prefix, rawBytes(op.key, index, 'key'));
  if (op.type === 'del') return { type: 'del', key };
  if (op.type === 'put') return { type: 'put', key, value: rawBytes(op.value, index, 'value') };
  throw new ValidationError('BAD_EXTRA_OP', `extra op ${index}: type must be put or del`);
}

function rawBytes(x: unknown, index: number, what: string): Buffer {
  if (typeof x === 'string') return Buffer.from(x, 'utf8');
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new ValidationError('BAD_EXTRA_OP', `extra op ${index}: ${what} must be bytes or a string`);
}

/** Longest node key: version, depth, 32 path bytes. */

function scratchWith(prefix: Buffer, room: number): Buffer {
  const b = Buffer.alloc(prefix.length + room);
  b.set(prefix, 0);
  return b;
}

function prefixed(prefix: Buffer, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + key.length);
  out.set(prefix, 0);
  out.set(key, prefix.length);
  return out;
}

function checkOptions(options: StateDbOptions): void {
  const kept = options.versionsKept;
  if (kept !== undefined && (!Number.isSafeInteger(kept) || kept < 1)) {
    throw new ValidationError('BAD_VERSIONS_KEPT', `versionsKept must be an integer ≥ 1, got ${kept}`);
  }
}
