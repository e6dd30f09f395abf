import { assert, ConfigError } from '../core/errors.js';
import { sha256 } from '../core/hash.js';
import table from './wordsTable.json' with { type: 'json' };

/**
 * Text normalisations for matching that survives re-casing, re-spacing and punctuation edits
 * (near-duplicate checks, span attribution with `normalization` set). Consensus-critical: the
 * word ids decide duplicates and spans, so they depend on nothing but the text and the shipped
 * table — no engine Unicode (ICU) call, no clock, integers only.
 *
 * `nfkc-cf-words@1` — a text becomes a sequence of words:
 *  1. every code point is mapped by the table `wordsTable.json`: its NFKD form after full case
 *     folding (to a fixpoint), so NFKC-equivalent and case-variant spellings become identical
 *     (ﬁ → fi, Ａ → a, ß → ss, é ≡ e + ◌́); Hangul syllables decompose arithmetically;
 *  2. each mapped code point is a word character (letter, number, combining mark), a one-
 *     character word (Han, kana, Thai, Lao, Khmer, Myanmar letters: scripts written without
 *     spaces), a separator (white space, controls) or deleted (punctuation, symbols, format and
 *     default-ignorable characters, private use, unassigned) — deleted characters do not split a
 *     word, so `don't` = `dont` and a zero-width space inside a word changes nothing;
 *  3. runs of word characters are words; combining marks inside a word are put in canonical
 *     order (as NFKD does); the word's id is a 32-bit FNV-1a hash of its code points, reduced
 *     to [0, WORD_ID_LIMIT).
 *
 * Equal ids mean equal normalised words up to hash collisions; collisions only ever merge two
 * words, which cannot help anyone evade a check, and are too rare to create a span of ≥ 2 words
 * by chance. The table was generated with Node 20.20 (ICU 78, Unicode 17) by
 * `attribution/tools/genWordsTable.ts`; its sha256 is pinned below, and a changed table must get
 * a new normalisation name (old names keep their meaning forever).
 */

export const NORMALIZATIONS = ['nfkc-cf-words@1'] as const;
export type NormalizationName = (typeof NORMALIZATIONS)[number];
/** Word ids lie in [0, WORD_ID_LIMIT): id + 2 fits a positive Int32 (the index alphabet). */
export const WORD_ID_LIMIT = 2 ** 31 - 3;
const TABLE_SHA256 = '3a6e3b7728f823b1102891cfae4218c7e1eb701f3393d9ff90ebade4fe391b2a';

export function isNormalizationName(name: string): name is NormalizationName {
  return (NORMALIZATIONS as readonly string[]).includes(name);
}

/** The words of a text: ids and the UTF-16 range [start, end) of the original text each came from. */
export interface Words {
  ids: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
}

// Classes (see the generator): separator, word character, combining mark, one-character word, deleted.
const S = 0;
const W = 1;
const M = 2;
const H = 3;
const D = 4;
const CLASS_CODES: Record<string, number> = { S, W, M, H, D };
const HANGUL_FIRST = 0xac00;
const HANGUL_LAST = 0xd7a3;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** A mapped code point that stands for a separator inside a mapping. */
const MAP_SEPARATOR = -1;

interface Tables {
  bmp: Uint8Array;
  astralStarts: Int32Array;
  astralClasses: Uint8Array;
  mappings: Map<number, Int32Array>;
  ccc: Map<number, number>;
  asciiClass: Uint8Array;
  asciiMap: Int32Array;
}

let tables: Tables | null = null;

function load(): Tables {
  if (tables) return tables;
  const hash = Buffer.from(sha256(Buffer.from(`${JSON.stringify(table)}\n`, 'utf8'))).toString('hex');
  if (hash !== TABLE_SHA256) {
    throw new ConfigError(
      'NORMALIZATION_TABLE',
      `attribution/wordsTable.json has sha256 ${hash}, ${NORMALIZATIONS[0]} needs ${TABLE_SHA256}: reinstall`,
      { hash },
    );
  }
  const ranges = table.ranges as (number | string)[];
  const bmp = new Uint8Array(0x10000);
  const astral: [number, number][] = [];
  for (let k = 0; k < ranges.length; k += 2) {
    const start = ranges[k] as number;
    const end = k + 2 < ranges.length ? (ranges[k + 2] as number) : 0x110000;
    const cls = CLASS_CODES[ranges[k + 1] as string];
    assert(cls !== undefined, 'normalize: table class');
    if (start < 0x10000) bmp.fill(cls, start, Math.min(end, 0x10000));
    if (end > 0x10000) astral.push([Math.max(start, 0x10000), cls]);
  }
  const mappings = new Map<number, Int32Array>();
  for (const [cp, m] of table.mappings as [number, string][]) {
    const cps: number[] = [];
    for (const ch of m) cps.push(ch === ' ' ? MAP_SEPARATOR : ch.codePointAt(0)!);
    mappings.set(cp, Int32Array.from(cps));
  }
  const ccc = new Map<number, number>(table.ccc as [number, number][]);
  const asciiClass = new Uint8Array(128);
  const asciiMap = new Int32Array(128);
  for (let c = 0; c < 128; c++) {
    const m = mappings.get(c);
    asciiClass[c] = m ? W : bmp[c];
    asciiMap[c] = m ? m[0] : c;
  }
  tables = {
    bmp,
    astralStarts: Int32Array.from(astral.map((a) => a[0])),
    astralClasses: Uint8Array.from(astral.map((a) => a[1])),
    mappings,
    ccc,
    asciiClass,
    asciiMap,
  };
  return tables;
}

function classOf(t: Tables, cp: number): number {
  if (cp < 0x10000) return t.bmp[cp];
  const starts = t.astralStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= cp) lo = mid;
    else hi = mid - 1;
  }
  return t.astralClasses[lo];
}

/** Growable output of one normalisation pass. */
class WordSink {
  ids: Int32Array;
  starts: Int32Array | null;
  ends: Int32Array | null;
  n = 0;
  constructor(capacity: number, offsets: boolean) {
    this.ids = new Int32Array(capacity);
    this.starts = offsets ? new Int32Array(capacity) : null;
    this.ends = offsets ? new Int32Array(capacity) : null;
  }
  push(id: number, start: number, end: number): void {
    if (this.n === this.ids.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2 + 16);
        b.set(a);
        return b;
      };
      this.ids = grow(this.ids);
      if (this.starts) this.starts = grow(this.starts);
      if (this.ends) this.ends = grow(this.ends);
    }
    this.ids[this.n] = id;
    if (this.starts) this.starts[this.n] = start;
    if (this.ends) this.ends[this.n] = end;
    this.n++;
  }
}

/** Scans `text` once, emitting words into `sink`. */
function scan(text: string, sink: WordSink): void {
  const t = load();
  const { asciiClass, asciiMap, mappings, ccc } = t;
  let buf = new Int32Array(64);
  let ranks = new Uint16Array(64);
  let len = 0;
  let start = 0;
  let end = 0;
  let own = false; // the current word is a one-character word (only marks may follow)
  let lastRank = 0;
  let reorder = false;

  const finish = () => {
    if (len === 0) return;
    if (reorder) canonicalOrder(buf, ranks, len);
    let h = FNV_OFFSET;
    for (let k = 0; k < len; k++) h = Math.imul(h ^ buf[k], FNV_PRIME);
    sink.push((h >>> 0) % WORD_ID_LIMIT, start, end);
    len = 0;
    own = false;
    lastRank = 0;
    reorder = false;
  };
  const append = (cp: number, rank: number, from: number, to: number) => {
    if (len === buf.length) {
      const b = new Int32Array(len * 2);
      b.set(buf);
      buf = b;
      const r = new Uint16Array(len * 2);
      r.set(ranks);
      ranks = r;
    }
    if (len === 0) start = from;
    buf[len] = cp;
    ranks[len] = rank;
    len++;
    end = to;
    if (rank > 0 && lastRank > rank) reorder = true;
    lastRank = rank;
  };
  const emit = (cp: number, cls: number, from: number, to: number) => {
    switch (cls) {
      case S:
        finish();
        return;
      case D:
        return;
      case W:
        if (own) finish();
        append(cp, 0, from, to);
        return;
      case M:
        append(cp, ccc.get(cp) ?? 0, from, to);
        return;
      case H:
        finish();
        append(cp, 0, from, to);
        own = true;
        return;
    }
  };

  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      const cls = asciiClass[c];
      if (cls === W) {
        if (own) finish();
        append(asciiMap[c], 0, i, i + 1);
      } else if (cls === S) finish();
      continue;
    }
    let cp = c;
    let to = i + 1;
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        to = i + 2;
      }
    }
    const m = mappings.get(cp);
    if (m !== undefined) {
      for (let k = 0; k < m.length; k++) {
        const x = m[k];
        if (x === MAP_SEPARATOR) finish();
        else emit(x, classOf(t, x), i, to);
      }
    } else if (cp >= HANGUL_FIRST && cp <= HANGUL_LAST) {
      // Unicode §3.12 conjoining jamo: syllable = L·588 + V·28 + T.
      const s = cp - HANGUL_FIRST;
      emit(0x1100 + Math.floor(s / 588), W, i, to);
      emit(0x1161 + Math.floor((s % 588) / 28), W, i, to);
      if (s % 28 !== 0) emit(0x11a7 + (s % 28), W, i, to);
    } else emit(cp, classOf(t, cp), i, to);
    i = to - 1;
  }
  finish();
}

/** Stable sort of each run of marks with a nonzero combining class, by class (NFD's reordering). */
function canonicalOrder(buf: Int32Array, ranks: Uint16Array, len: number): void {
  for (let k = 1; k < len; k++) {
    const r = ranks[k];
    if (r === 0) continue;
    const cp = buf[k];
    let j = k - 1;
    while (j >= 0 && ranks[j] > r) {
      buf[j + 1] = buf[j];
      ranks[j + 1] = ranks[j];
      j--;
    }
    buf[j + 1] = cp;
    ranks[j + 1] = r;
  }
}

/** The normalised word ids of `text`. */
export function wordIds(text: string): Int32Array {
  const sink = new WordSink((text.length >> 2) + 16, false);
  scan(text, sink);
  return sink.ids.slice(0, sink.n);
}

/** The normalised words of `text` with the UTF-16 range each came from (for evidence display). */
export function words(text: string): Words {
  const sink = new WordSink((text.length >> 2) + 16, true);
  scan(text, sink);
  return {
    ids: sink.ids.slice(0, sink.n),
    starts: sink.starts!.slice(0, sink.n),
    ends: sink.ends!.slice(0, sink.n),
  };
}
