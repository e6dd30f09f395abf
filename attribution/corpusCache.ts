import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { bytesEqual, compareBytes, fromHex, toHex } from '../core/bytes.js';
import { encodeWire } from '../core/codec.js';
import { assert, StorageError } from '../core/errors.js';
import { sha256, sha256Parts } from '../core/hash.js';
import { CONTRIBUTION_BYTES_MAX, LABEL_BYTES_MAX } from '../core/tx.js';
import { type Acceptance, CorpusView, type Doc, Segment } from './corpusIndex.js';
import { AttributionError } from './errors.js';
import { type IndexName, type IndexTokenizer, loadIndexTokenizer } from './tokenizer.js';

/**
 * Corpora and their on-disk index cache. The index is derived data (DESIGN §6): it is cached per
 * (datanet, version, tokenizer) under a directory the caller chooses, extended incrementally when
 * a new version only adds contributions, rebuilt when missing, and never changes an answer.
 *
 * Identity: a corpus (or a segment) is named by its digest,
 * sha256(encode(["ol/corpus/1", tokenizer, [[id, label, sha256(content)] sorted by id]])), so a
 * cached file can only ever be used for exactly the contributions it was built from, and files
 * carry a checksum of their body.
 *
 * Files: `seg-<digest>.bin` (one suffix-array segment) and `corpus-<digest>.json` (a manifest:
 * datanet, version, tokenizer, segment digests). Writes go to a temp file and are renamed, so a
 * crash leaves either the old state or the new one; a corrupt or missing file is rebuilt.
 *
 * Incremental growth: a new version reuses the segments of the newest cached older version of
 * the same datanet whose contributions it contains, and indexes only the added contributions as
 * a new segment. Segments are merged like an LSM tree (the newest two merge while the older is at
 * most twice the newer), which keeps O(log n) segments and O(n log n) total rebuild work.
 */

export interface Contribution {
  /** The contribution id (32 bytes). */
  id: Uint8Array;
  /** UTF-8 text. */
  content: string;
  /** Label for classification datanets; empty for plain text. */
  label: string;
  /**
   * When it was accepted (vm/jobs.ts: the acceptance height and the datanet's seq). The node
   * always gives it; then shared credit and ties go to the earlier-accepted contribution. Without
   * it (tools, old callers) the order is by id, as before. All or none in one corpus.
   */
  accepted?: Acceptance;
}

/** A corpus handed over in full. */
export interface InlineCorpus {
  datanet: Uint8Array;
  version: number;
  contributions: readonly Contribution[];
}

/** A corpus registered before (see `registerCorpus`): the handle jobs carry to workers. */
export interface CorpusRef {
  datanet: Uint8Array;
  version: number;
  tokenizer: IndexName;
  /** Hex digest of the contribution set (see the module comment). */
  digest: string;
}

export type CorpusInput = InlineCorpus | CorpusRef;

export function isCorpusRef(c: CorpusInput): c is CorpusRef {
  return typeof (c as CorpusRef).digest === 'string';
}

interface Entry {
  id: Uint8Array;
  label: string;
  contentHash: Uint8Array;
  accepted?: Acceptance;
}

function sameAcceptance(a: Acceptance | undefined, b: Acceptance | undefined): boolean {
  return a === undefined ? b === undefined : b !== undefined && a.height === b.height && a.seq === b.seq;
}

/** Checks a contribution list's shape (typed errors; cheap). */
export function validateContributions(contributions: readonly Contribution[]): void {
  const bad = (i: number, msg: string): never => {
    throw new AttributionError('CORPUS_MALFORMED', `contribution[${i}]: ${msg}`, { index: i });
  };
  if (!Array.isArray(contributions)) bad(-1, 'expected a list');
  const seen = new Set<string>();
  contributions.forEach((c, i) => {
    if (!(c?.id instanceof Uint8Array) || c.id.length !== 32) bad(i, 'id must be 32 bytes');
    if (typeof c.content !== 'string' || Buffer.byteLength(c.content) > CONTRIBUTION_BYTES_MAX) {
      bad(i, `content must be text of at most ${CONTRIBUTION_BYTES_MAX} bytes`);
    }
    if (typeof c.label !== 'string' || Buffer.byteLength(c.label) > LABEL_BYTES_MAX) bad(i, 'bad label');
    const a = c.accepted;
    if (a !== undefined) {
      const ok = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
      if (typeof a !== 'object' || a === null || !ok(a.height) || !ok(a.seq)) {
        bad(i, 'accepted must be {height, seq}, non-negative integers');
      }
    }
    if ((a === undefined) !== (contributions[0].accepted === undefined)) {
      bad(i, 'accepted must be given for all contributions or for none');
    }
    const k = toHex(c.id);
    if (seen.has(k)) bad(i, 'id listed twice');
    seen.add(k);
  });
}

function entriesOf(contributions: readonly Contribution[]): Entry[] {
  return contributions
    .map((c) => ({
      id: c.id,
      label: c.label,
      contentHash: sha256(Buffer.from(c.content, 'utf8')),
      accepted: c.accepted === undefined ? undefined : { height: c.accepted.height, seq: c.accepted.seq },
    }))
    .sort((a, b) => compareBytes(a.id, b.id));
}

function digestOf(tokenizer: string, entries: readonly Entry[]): string {
  return toHex(
    sha256(
      encodeWire([
        'ol/corpus/1',
        tokenizer,
        // Acceptance, when known, is part of the identity (it decides who is credited first).
        entries.map((e) =>
          e.accepted === undefined
            ? [e.id, e.label, e.contentHash]
            : [e.id, e.label, e.contentHash, e.accepted.height, e.accepted.seq],
        ),
      ]),
    ),
  );
}

/** The digest of a contribution set under a tokenizer. */
export function corpusDigest(tokenizer: IndexName, contributions: readonly Contribution[]): string {
  return digestOf(tokenizer, entriesOf(contributions));
}

// ---- in-memory segment cache (per thread) ----------------------------------------------------

/** Tokens kept in memory per thread before least-recently-used segments are dropped. */
export const MEMORY_CACHE_TOKENS_MAX = 48_000_000;
const memory = new Map<string, Segment>();

function remember(digest: string, seg: Segment): void {
  memory.delete(digest);
  memory.set(digest, seg);
  let total = 0;
  for (const s of memory.values()) total += s.text.length;
  for (const [k, s] of memory) {
    if (total <= MEMORY_CACHE_TOKENS_MAX || memory.size <= 1) break;
    memory.delete(k);
    total -= s.text.length;
  }
}

function recall(digest: string): Segment | undefined {
  const seg = memory.get(digest);
  if (seg) {
    memory.delete(digest);
    memory.set(digest, seg);
  }
  return seg;
}

/** Drops this thread's in-memory segments (tests use it to force a reload from disk). */
export function clearMemoryCache(): void {
  memory.clear();
  manifests.clear();
}

// ---- segment files ---------------------------------------------------------------------------

const MAGIC = Buffer.from('OLSEG001');

interface SegmentHeader {
  tokenizer: string;
  n: number;
  /** id hex, label, content hash hex[, accepted height, accepted seq]. */
  docs: ([string, string, string] | [string, string, string, number, number])[];
  bodySha256: string;
}

function segmentPath(dir: string, digest: string): string {
  return join(dir, `seg-${digest}.bin`);
}

function manifestPath(dir: string, digest: string): string {
  return join(dir, `corpus-${digest}.json`);
}

let tmpCounter = 0;

function atomicWrite(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${threadId}-${++tmpCounter}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** `atomicWrite` of the concatenation of `parts`, written one after the other. */
function atomicWriteParts(path: string, parts: readonly Uint8Array[]): void {
  const tmp = `${path}.tmp-${process.pid}-${threadId}-${++tmpCounter}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function writeSegment(
  dir: string,
  digest: string,
  seg: Segment,
  entries: readonly Entry[],
  tokenizer: string,
): void {
  assert(endianness() === 'LE', 'segment files are little-endian');
  const D = seg.docStarts.length;
  const n = seg.text.length;
  // The body is the four arrays back to back; they are hashed and written from their own memory
  // (no ~10-bytes-per-token staging copy).
  const view = (a: Int32Array | Uint16Array, bytes: number) => new Uint8Array(a.buffer, a.byteOffset, bytes);
  const parts = [
    view(seg.docStarts, 4 * D),
    view(seg.text, 4 * n),
    view(seg.sa, 4 * n),
    view(seg.lcp, 2 * n),
  ];
  const header: SegmentHeader = {
    tokenizer,
    n,
    docs: entries.map((e) =>
      e.accepted === undefined
        ? [toHex(e.id), e.label, toHex(e.contentHash)]
        : [toHex(e.id), e.label, toHex(e.contentHash), e.accepted.height, e.accepted.seq],
    ),
    bodySha256: toHex(sha256Parts(parts)),
  };
  const h = Buffer.from(JSON.stringify(header));
  const pad = (8 - ((MAGIC.length + 4 + h.length) % 8)) % 8;
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length + pad);
  atomicWriteParts(segmentPath(dir, digest), [MAGIC, len, h, Buffer.alloc(pad, 0x20), ...parts]);
}

function readSegmentHeader(file: Buffer): { header: SegmentHeader; bodyStart: number } {
  if (file.length < 12 || !file.subarray(0, 8).equals(MAGIC)) throw new Error('bad magic');
  const hl = file.readUInt32LE(8);
  const header = JSON.parse(file.subarray(12, 12 + hl).toString('utf8')) as SegmentHeader;
  return { header, bodyStart: 12 + hl };
}

/** Reads and verifies a segment file; null when missing or corrupt (the caller rebuilds). */
function readSegment(dir: string, digest: string): { seg: Segment; entries: Entry[] } | null {
  const path = segmentPath(dir, digest);
  if (!existsSync(path)) return null;
  try {
    const file = readFileSync(path);
    const { header, bodyStart } = readSegmentHeader(file);
    const entries: Entry[] = header.docs.map(([id, label, h, height, seq]) => ({
      id: fromHex(id, 32),
      label,
      contentHash: fromHex(h, 32),
      accepted: height === undefined ? undefined : { height, seq: seq as number },
    }));
    if (digestOf(header.tokenizer, entries) !== digest) return null;
    const body = file.subarray(bodyStart);
    if (toHex(sha256(body)) !== header.bodySha256) return null;
    const D = entries.length + 1;
    const n = header.n;
    if (body.length !== 4 * D + 10 * n) return null;
    // Copy into fresh aligned buffers (the file buffer's offset need not be 4-aligned).
    const ab = new ArrayBuffer(body.length);
    new Uint8Array(ab).set(body);
    const docStarts = new Int32Array(ab, 0, D);
    const text = new Int32Array(ab, 4 * D, n);
    const sa = new Int32Array(ab, 4 * D + 4 * n, n);
    const lcp = new Uint16Array(ab, 4 * D + 8 * n, n);
    const seg = new Segment(
      entries.map((e) => e.id),
      entries.map((e) => e.label),
      docStarts,
      text,
      sa,
      lcp,
      entries.map((e) => e.accepted),
    );
    return { seg, entries };
  } catch {
    return null;
  }
}

interface Manifest {
  format: 1;
  datanet: string;
  version: number;
  tokenizer: string;
  digest: string;
  segments: { digest: string; docs: number; tokens: number }[];
}

/** Manifests are immutable once written (named by digest), so each thread reads each once. */
const manifests = new Map<string, Manifest>();

function forgetManifest(dir: string, digest: string): void {
  manifests.delete(manifestPath(dir, digest));
}

function readManifest(dir: string, digest: string): Manifest | null {
  const path = manifestPath(dir, digest);
  const hit = manifests.get(path);
  if (hit) return hit;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    if (manifests.size > 4096) manifests.clear();
    manifests.set(path, m);
    return m;
  } catch {
    return null;
  }
}

// ---- building ---------------------------------------------------------------------------------

function buildSegment(tok: IndexTokenizer, docs: readonly Doc[]): Segment {
  return Segment.build(docs, tok.vocabSize);
}

function docsOfContributions(tok: IndexTokenizer, contributions: readonly Contribution[]): Doc[] {
  return [...contributions]
    .sort((a, b) => compareBytes(a.id, b.id))
    .map((c) => ({ id: c.id, label: c.label, tokens: tok.encode(c.content), accepted: c.accepted }));
}

function segmentDocs(seg: Segment): Doc[] {
  const docs: Doc[] = [];
  for (let d = 0; d < seg.docCount; d++)
    docs.push({
      id: seg.ids[d],
      label: seg.labels[d],
      tokens: seg.docTokens(d),
      accepted: seg.acceptedOf(d),
    });
  return docs;
}

/**
 * Makes the index of a corpus available on disk (building or extending it as needed) and returns
 * the handle jobs use. Idempotent; cheap when the version is already cached. Heavy on a miss:
 * run it in a worker (JobPool.registerCorpus does).
 */
export async function registerCorpus(
  cacheDir: string,
  tokenizerName: IndexName,
  corpus: InlineCorpus,
): Promise<CorpusRef> {
  validateContributions(corpus.contributions);
  const tok = await loadIndexTokenizer(tokenizerName);
  const entries = entriesOf(corpus.contributions);
  const digest = digestOf(tok.name, entries);
  const ref: CorpusRef = { datanet: corpus.datanet, version: corpus.version, tokenizer: tok.name, digest };
  mkdirSync(cacheDir, { recursive: true });
  const existing = readManifest(cacheDir, digest);
  if (
    existing &&
    existing.tokenizer === tok.name &&
    existing.segments.every((s) => segmentUsable(cacheDir, s.digest))
  ) {
    return ref;
  }

  // Base: the newest cached older version of this datanet whose contributions we contain.
  const byId = new Map(entries.map((e) => [toHex(e.id), e]));
  const datanetHex = toHex(corpus.datanet);
  const candidates: Manifest[] = [];
  for (const f of readdirSync(cacheDir)) {
    if (!f.startsWith('corpus-') || !f.endsWith('.json')) continue;
    const m = readManifest(cacheDir, f.slice(7, -5));
    if (m && m.datanet === datanetHex && m.tokenizer === tok.name && m.version < corpus.version)
      candidates.push(m);
  }
  candidates.sort((a, b) => b.version - a.version || (a.digest < b.digest ? -1 : 1));
  let segments: { digest: string; docs: number; tokens: number; seg?: Segment }[] = [];
  const covered = new Set<string>();
  for (const m of candidates) {
    const loaded: { digest: string; docs: number; tokens: number; seg: Segment }[] = [];
    let usable = true;
    const ids = new Set<string>();
    for (const s of m.segments) {
      const r = readSegment(cacheDir, s.digest);
      if (!r) {
        usable = false;
        break;
      }
      for (const e of r.entries) {
        const mine = byId.get(toHex(e.id));
        if (
          !mine ||
          mine.label !== e.label ||
          !bytesEqual(mine.contentHash, e.contentHash) ||
          !sameAcceptance(mine.accepted, e.accepted)
        )
          usable = false;
        ids.add(toHex(e.id));
      }
      if (!usable) break;
      remember(s.digest, r.seg);
      loaded.push({ ...s, seg: r.seg });
    }
    if (usable) {
      segments = loaded;
      for (const id of ids) covered.add(id);
      break;
    }
  }

  const added = corpus.contributions.filter((c) => !covered.has(toHex(c.id)));
  if (added.length > 0 || segments.length === 0) {
    const docs = docsOfContributions(tok, added);
    const addedEntries = entriesOf(added);
    const seg = buildSegment(tok, docs);
    const segDigest = digestOf(tok.name, addedEntries);
    writeSegment(cacheDir, segDigest, seg, addedEntries, tok.name);
    remember(segDigest, seg);
    segments.push({ digest: segDigest, docs: seg.docCount, tokens: seg.tokenCount, seg });
  }
  // LSM merge of the newest segments.
  while (segments.length >= 2) {
    const b = segments[segments.length - 1];
    const a = segments[segments.length - 2];
    if (a.tokens > 2 * b.tokens) break;
    const segA = a.seg ?? readSegment(cacheDir, a.digest)?.seg;
    const segB = b.seg ?? readSegment(cacheDir, b.digest)?.seg;
    assert(segA && segB, 'register: segments just written are readable');
    const docs = [...segmentDocs(segA), ...segmentDocs(segB)].sort((x, y) => compareBytes(x.id, y.id));
    const mergedEntries = docs.map((d) => byId.get(toHex(d.id))!);
    const merged = buildSegment(tok, docs);
    const mergedDigest = digestOf(tok.name, mergedEntries);
    writeSegment(cacheDir, mergedDigest, merged, mergedEntries, tok.name);
    remember(mergedDigest, merged);
    segments.splice(segments.length - 2, 2, {
      digest: mergedDigest,
      docs: merged.docCount,
      tokens: merged.tokenCount,
      seg: merged,
    });
  }
  const manifest: Manifest = {
    format: 1,
    datanet: datanetHex,
    version: corpus.version,
    tokenizer: tok.name,
    digest,
    segments: segments.map(({ digest: d, docs, tokens }) => ({ digest: d, docs, tokens })),
  };
  atomicWrite(manifestPath(cacheDir, digest), JSON.stringify(manifest));
  forgetManifest(cacheDir, digest);
  return ref;
}

/** True when the segment is in memory, or on disk and intact (then it is kept in memory). */
function segmentUsable(dir: string, digest: string): boolean {
  if (recall(digest)) return true;
  const r = readSegment(dir, digest);
  if (r) remember(digest, r.seg);
  return r !== null;
}

/** Loads a registered corpus (memory, else disk). Missing files → StorageError: re-register. */
export function loadRegistered(cacheDir: string | null, ref: CorpusRef): Segment[] {
  const notCached = (why: string): never => {
    throw new StorageError(
      'CORPUS_NOT_CACHED',
      `corpus ${ref.digest} (datanet ${toHex(ref.datanet)} v${ref.version}) is not in the cache: ${why}; register it again`,
      { digest: ref.digest },
    );
  };
  if (cacheDir === null) return notCached('no cache directory');
  const attempt = (): Segment[] | string => {
    const m = readManifest(cacheDir, ref.digest);
    if (!m || m.tokenizer !== ref.tokenizer) return 'no manifest';
    const segs: Segment[] = [];
    for (const s of m.segments) {
      let seg = recall(s.digest);
      if (!seg) {
        seg = readSegment(cacheDir, s.digest)?.seg;
        if (!seg) return `segment ${s.digest} missing or corrupt`;
        remember(s.digest, seg);
      }
      segs.push(seg);
    }
    return segs;
  };
  let got = attempt();
  if (typeof got === 'string') {
    // A re-registration may have rewritten the manifest (new segmentation): re-read it once.
    forgetManifest(cacheDir, ref.digest);
    got = attempt();
  }
  return typeof got === 'string' ? notCached(got) : got;
}

/** Segments of an inline corpus: from memory, else the disk cache (registering it), else built. */
export async function loadInline(
  cacheDir: string | null,
  tokenizerName: IndexName,
  corpus: InlineCorpus,
): Promise<Segment[]> {
  validateContributions(corpus.contributions);
  if (cacheDir !== null) {
    const ref = await registerCorpus(cacheDir, tokenizerName, corpus);
    return loadRegistered(cacheDir, ref);
  }
  const tok = await loadIndexTokenizer(tokenizerName);
  const digest = corpusDigest(tok.name, corpus.contributions);
  const hit = recall(digest);
  if (hit) return [hit];
  const seg = buildSegment(tok, docsOfContributions(tok, corpus.contributions));
  remember(digest, seg);
  return [seg];
}

/** Resolves a job's corpora into one view (segments of all pinned datanets). */
export async function resolveCorpora(
  cacheDir: string | null,
  tokenizerName: IndexName,
  corpora: readonly CorpusInput[],
): Promise<CorpusView> {
  const segments: Segment[] = [];
  for (const c of corpora) {
    if (isCorpusRef(c)) {
      if (c.tokenizer !== tokenizerName) {
        throw new AttributionError(
          'CORPUS_TOKENIZER',
          `corpus ${c.digest} was indexed with ${c.tokenizer}, the job needs ${tokenizerName}`,
        );
      }
      segments.push(...loadRegistered(cacheDir, c));
    } else segments.push(...(await loadInline(cacheDir, tokenizerName, c)));
  }
  const view = new CorpusView(segments);
  // One corpus has distinct ids by construction (validated at registration); check unions only.
  if (corpora.length > 1 && view.hasDuplicateIds()) {
    throw new AttributionError(
      'CORPUS_DUPLICATE_ID',
      'a contribution id appears in two of the pinned corpora',
    );
  }
  return view;
}
