import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import { ConfigError } from '../core/errors.js';
import { AttributionError } from './errors.js';
import {
  isNormalizationName,
  NORMALIZATIONS,
  type NormalizationName,
  WORD_ID_LIMIT,
  wordIds,
} from './normalize.js';

/**
 * Tokenizers a model may name in its `tokenizer` parameter. Consensus-critical: the token ids of
 * outputs and contributions decide spans and features, so a tokenizer is identified by
 * `<encoding>@js-tiktoken-<version>` and the installed package version is checked at load time;
 * a node with a different js-tiktoken refuses the job instead of silently disagreeing.
 * The vocabularies ship inside the npm package (`js-tiktoken/ranks/*`); nothing is downloaded.
 * Special tokens (`<|endoftext|>` …) in user text are encoded as ordinary text.
 *
 * One deliberate difference from plain tiktoken, for safety: js-tiktoken's byte-pair merge is
 * quadratic (and worse) in the length of a regex piece, so a 64 KiB contribution with no spaces
 * would stall every validator for minutes. Pieces longer than TOKENIZER_PIECE_CHARS_MAX code
 * points are therefore encoded in chunks of that many code points. Text without such pieces
 * (all natural text in practice) tokenizes exactly as tiktoken does; tests pin both paths.
 */

export const JS_TIKTOKEN_VERSION = '1.0.21';
export const TOKENIZERS = [
  `cl100k_base@js-tiktoken-${JS_TIKTOKEN_VERSION}`,
  `o200k_base@js-tiktoken-${JS_TIKTOKEN_VERSION}`,
] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];
/** Longest regex piece handed to byte-pair merging in one go, in code points. */
export const TOKENIZER_PIECE_CHARS_MAX = 64;
export const DEFAULT_TOKENIZER: TokenizerName = TOKENIZERS[0];

export interface Tokenizer {
  readonly name: TokenizerName;
  /** Largest token id + 1 (alphabet size for the suffix array). */
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  /** The same tokens through js-tiktoken itself, piece by piece (the reference the tests compare with). */
  encodeByPieces(text: string): Int32Array;
}

const loaded = new Map<TokenizerName, Tokenizer>();

/**
 * What a corpus index is built over: the token ids of a pinned tokenizer, or the word ids of a
 * normalisation (normalize.ts). Corpus digests, refs and cache files are keyed by this name.
 */
export type IndexName = TokenizerName | NormalizationName;

/** Turns texts into the symbols an index holds. */
export interface IndexTokenizer {
  readonly name: IndexName;
  /** Symbols are in [0, vocabSize). */
  readonly vocabSize: number;
  encode(text: string): Int32Array;
}

const wordsTokenizers = new Map<NormalizationName, IndexTokenizer>(
  NORMALIZATIONS.map((name) => [name, { name, vocabSize: WORD_ID_LIMIT, encode: wordIds }]),
);

export function checkIndexName(name: string): IndexName {
  if (isNormalizationName(name)) return name;
  return checkTokenizerName(name);
}

/** The tokenizer or normalisation an index is named after. */
export async function loadIndexTokenizer(name: string): Promise<IndexTokenizer> {
  const checked = checkIndexName(name);
  if (isNormalizationName(checked)) return wordsTokenizers.get(checked)!;
  return loadTokenizer(checked);
}

export function isTokenizerName(name: string): name is TokenizerName {
  return (TOKENIZERS as readonly string[]).includes(name);
}

/** Checks the name only (cheap; for validation before heavy work). */
export function checkTokenizerName(name: string): TokenizerName {
  if (!isTokenizerName(name)) {
    throw new AttributionError(
      'TOKENIZER_UNKNOWN',
      `unknown tokenizer ${JSON.stringify(name)}; use one of ${TOKENIZERS.join(', ')}`,
      {
        name,
      },
    );
  }
  return name;
}

function installedVersion(): string {
  // The package does not export its package.json: find it next to the resolved entry point.
  const entry = createRequire(import.meta.url).resolve('js-tiktoken');
  const pkgPath = join(dirname(dirname(entry)), 'package.json');
  return (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
}

/** Loads (once per thread) the named tokenizer; ~0.5 s for the first call. */
export async function loadTokenizer(name: string): Promise<Tokenizer> {
  const checked = checkTokenizerName(name);
  const cached = loaded.get(checked);
  if (cached) return cached;
  const version = installedVersion();
  if (version !== JS_TIKTOKEN_VERSION) {
    // This node's installation is wrong, not the job: thrown (never settled as a job failure).
    throw new ConfigError(
      'TOKENIZER_VERSION',
      `tokenizer ${checked} needs js-tiktoken ${JS_TIKTOKEN_VERSION}, installed ${version}`,
      { name: checked, installed: version },
    );
  }
  const encoding = checked.slice(0, checked.indexOf('@'));
  const ranks: TiktokenBPE =
    encoding === 'cl100k_base'
      ? (await import('js-tiktoken/ranks/cl100k_base')).default
      : (await import('js-tiktoken/ranks/o200k_base')).default;
  const enc = new Tiktoken(ranks);
  const pattern = (enc as unknown as { patStr: string }).patStr;
  let vocabSize = 0;
  for (const id of Object.values(ranks.special_tokens)) if (id + 1 > vocabSize) vocabSize = id + 1;
  // The largest mergeable rank: the ranks are dense from 0, so count them once.
  const mergeable = countRanks(ranks.bpe_ranks);
  if (mergeable > vocabSize) vocabSize = mergeable;
  const bpe = new BytePairEncoder((enc as unknown as { rankMap: Map<string, number> }).rankMap);
  const pieces = encoding === 'cl100k_base' ? cl100kPieces : regexPieces(pattern);
  const tokenizer: Tokenizer = {
    name: checked,
    vocabSize,
    encode(text: string): Int32Array {
      const chunked = hasLongRun(text);
      const out = new TokenSink(text.length);
      pieces(text, (from, to) => {
        if (chunked && to - from > TOKENIZER_PIECE_CHARS_MAX) {
          const cps = Array.from(text.slice(from, to));
          for (let i = 0; i < cps.length; i += TOKENIZER_PIECE_CHARS_MAX) {
            bpe.encode(cps.slice(i, i + TOKENIZER_PIECE_CHARS_MAX).join(''), out);
          }
        } else bpe.encodeRange(text, from, to, out);
      });
      return out.result();
    },
    encodeByPieces(text: string): Int32Array {
      // Each regex piece is byte-pair encoded on its own by tiktoken too, so encoding piece by
      // piece gives the same tokens; over-long pieces are cut into fixed-size chunks.
      const out: number[] = [];
      for (const m of text.matchAll(new RegExp(pattern, 'gu'))) {
        const piece = m[0];
        const cps = Array.from(piece);
        if (cps.length <= TOKENIZER_PIECE_CHARS_MAX) {
          for (const t of enc.encode(piece, [], [])) out.push(t);
          continue;
        }
        for (let i = 0; i < cps.length; i += TOKENIZER_PIECE_CHARS_MAX) {
          const chunk = cps.slice(i, i + TOKENIZER_PIECE_CHARS_MAX).join('');
          for (const t of enc.encode(chunk, [], [])) out.push(t);
        }
      }
      return Int32Array.from(out);
    },
  };
  loaded.set(checked, tokenizer);
  return tokenizer;
}

// ---- the fast path: our own piece scanner and byte-pair merge, with a cache of pieces ---------

/** Pieces cached per tokenizer and thread; the cache is cleared when full (it only saves work). */
export const TOKENIZER_CACHE_PIECES_MAX = 200_000;

class TokenSink {
  private buf: Int32Array;
  private n = 0;
  constructor(chars: number) {
    this.buf = new Int32Array((chars >> 2) + 16);
  }
  push(t: number): void {
    if (this.n === this.buf.length) {
      const b = new Int32Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    this.buf[this.n++] = t;
  }
  result(): Int32Array {
    return this.buf.slice(0, this.n);
  }
}

/**
 * tiktoken's byte-pair merge (repeatedly merge the adjacent pair of parts whose concatenation has
 * the lowest rank, the leftmost on ties, until no pair is a token), as js-tiktoken 1.0.21 does it,
 * over byte strings (one UTF-16 unit per byte) instead of comma-joined decimal strings.
 */
class BytePairEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new PieceCache(TOKENIZER_CACHE_PIECES_MAX);

  constructor(rankMap: Map<string, number>) {
    for (const [key, rank] of rankMap) {
      let s = '';
      for (const b of key.split(',')) s += String.fromCharCode(Number(b));
      this.ranks.set(s, rank);
    }
  }

  encode(piece: string, out: TokenSink): void {
    this.encodeRange(piece, 0, piece.length, out);
  }

  /** Encodes the piece text[from, to) (looked up in the cache without slicing it first). */
  encodeRange(text: string, from: number, to: number, out: TokenSink): void {
    const slot = this.cache.find(text, from, to);
    const hit = this.cache.valueAt(slot);
    if (hit !== undefined) {
      if (typeof hit === 'number') out.push(hit);
      else for (let k = 0; k < hit.length; k++) out.push(hit[k]);
      return;
    }
    const piece = text.slice(from, to);
    const tokens = this.merge(Buffer.from(piece, 'utf8').toString('latin1'));
    this.cache.insert(slot, piece, tokens.length === 1 ? tokens[0] : tokens);
    for (let k = 0; k < tokens.length; k++) out.push(tokens[k]);
  }

  private merge(bytes: string): Int32Array {
    const { ranks } = this;
    const whole = ranks.get(bytes);
    if (whole !== undefined) return Int32Array.of(whole);
    const bounds: number[] = [];
    for (let i = 0; i <= bytes.length; i++) bounds.push(i);
    while (bounds.length > 2) {
      let min = -1;
      let at = -1;
      for (let i = 0; i + 2 < bounds.length; i++) {
        const r = ranks.get(bytes.slice(bounds[i], bounds[i + 2]));
        if (r !== undefined && (min < 0 || r < min)) {
          min = r;
          at = i;
        }
      }
      if (at < 0) break;
      bounds.splice(at + 1, 1);
    }
    const out: number[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const r = ranks.get(bytes.slice(bounds[i], bounds[i + 1]));
      if (r !== undefined) out.push(r); // js-tiktoken drops unknown parts too (never happens: all bytes are tokens)
    }
    return Int32Array.from(out);
  }
}

/**
 * The piece cache: an open-addressing hash table keyed by the piece's UTF-16 code units, looked up
 * straight from a range of the text (a Map<string> lookup needs the piece sliced into a new
 * string and hashed by the engine; on a cold corpus build that lookup was ~40 % of tokenizing).
 * Keys are compared in full, so a hit is exactly the piece (the hash only picks the slot). It
 * only saves work: emptied when `max` pieces are stored, as the Map was.
 */
export class PieceCache {
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly keys: (string | undefined)[];
  private readonly values: (number | Int32Array | undefined)[];
  private size = 0;

  constructor(private readonly max: number) {
    let cap = 1;
    while (cap < 2 * max) cap *= 2;
    this.mask = cap - 1;
    this.hashes = new Int32Array(cap);
    this.keys = new Array(cap).fill(undefined);
    this.values = new Array(cap).fill(undefined);
  }

  /** The slot holding text[from, to), or the empty slot where it would go (load ≤ 1/2). */
  find(text: string, from: number, to: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    const len = to - from;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = this.keys[slot];
      if (key === undefined) {
        this.hashes[slot] = h;
        return slot;
      }
      if (this.hashes[slot] === h && key.length === len) {
        let same = true;
        for (let i = 0; i < len; i++) {
          if (key.charCodeAt(i) !== text.charCodeAt(from + i)) {
            same = false;
            break;
          }
        }
        if (same) return slot;
      }
    }
  }

  valueAt(slot: number): number | Int32Array | undefined {
    return this.values[slot];
  }

  /** Stores `piece` at the empty `slot` that `find` returned for it (right before). */
  insert(slot: number, piece: string, value: number | Int32Array): void {
    if (this.size >= this.max) {
      // Full: start over (the slot's hash is recomputed by the next find).
      const h = this.hashes[slot];
      this.keys.fill(undefined);
      this.values.fill(undefined);
      this.size = 0;
      slot = h & this.mask;
      this.hashes[slot] = h;
    }
    this.keys[slot] = piece;
    this.values[slot] = value;
    this.size++;
  }
}

type PieceScanner = (text: string, piece: (from: number, to: number) => void) => void;

/** Pieces by the tokenizer's own regex (o200k_base). */
function regexPieces(pattern: string): PieceScanner {
  const re = new RegExp(pattern, 'gu');
  return (text, piece) => {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) piece(m.index, m.index + m[0].length);
  };
}

// Code point classes for the cl100k_base scanner.
const C_LETTER = 1; // \p{L}
const C_NUMBER = 2; // \p{N}
const C_SPACE = 3; // \s except \r and \n
const C_NEWLINE = 4; // \r, \n
const C_OTHER = 5;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  ASCII_CLASS[c] =
    c === 10 || c === 13
      ? C_NEWLINE
      : /\s/u.test(ch)
        ? C_SPACE
        : /\p{L}/u.test(ch)
          ? C_LETTER
          : /\p{N}/u.test(ch)
            ? C_NUMBER
            : C_OTHER;
}
/** Classes of non-ASCII code points, by the same engine regexes tiktoken's pattern uses. */
const wideClass = new Map<number, number>();
const RE_SPACE = /^\s$/u;
const RE_LETTER = /^\p{L}$/u;
const RE_NUMBER = /^\p{N}$/u;

function classAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 128) return ASCII_CLASS[c];
  const cp = text.codePointAt(i)!;
  let k = wideClass.get(cp);
  if (k === undefined) {
    const ch = String.fromCodePoint(cp);
    k = RE_SPACE.test(ch) ? C_SPACE : RE_LETTER.test(ch) ? C_LETTER : RE_NUMBER.test(ch) ? C_NUMBER : C_OTHER;
    if (wideClass.size >= 65_536) wideClass.clear();
    wideClass.set(cp, k);
  }
  return k;
}

/**
 * Cheap precheck: a piece can only be over-long inside a run of more than
 * TOKENIZER_PIECE_CHARS_MAX UTF-16 units that are all white space or all not (the test
 * `/\S{65,}|\s{65,}/` without the u flag, in one linear pass).
 */
export function hasLongRun(text: string): boolean {
  let run = 0;
  let space = false;
  for (let i = 0; i < text.length; i++) {
    const k = classAt(text, i);
    const s = k === C_SPACE || k === C_NEWLINE;
    if (s === space) run++;
    else {
      space = s;
      run = 1;
    }
    if (run > TOKENIZER_PIECE_CHARS_MAX) return true;
  }
  return false;
}

function widthAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d < 0xe000) return 2;
  }
  return 1;
}

/**
 * The pieces of cl100k_base's pattern
 *
 *     's|'t|'re|'ve|'m|'ll|'d (any case) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3}
 *     | ' '?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 *
 * found by a hand-written scanner instead of the regex engine (≈ 8× faster). Each branch below is
 * the corresponding alternative, tried in the same order, with the same greedy backtracking
 * outcome; the tests compare it with the regex on the fixtures and on random text.
 */
function cl100kPieces(text: string, piece: (from: number, to: number) => void): void {
  const n = text.length;
  const runOf = (from: number, cls: number): number => {
    let q = from;
    while (q < n && classAt(text, q) === cls) q += widthAt(text, q);
    return q;
  };
  let p = 0;
  while (p < n) {
    const c0 = text.charCodeAt(p);
    const k0 = classAt(text, p);
    const w0 = widthAt(text, p);
    // 's 't 'm 'd 're 've 'll
    if (c0 === 0x27 && p + 1 < n) {
      const c1 = text.charCodeAt(p + 1) | 0x20;
      if (c1 === 0x73 || c1 === 0x74 || c1 === 0x6d || c1 === 0x64) {
        piece(p, p + 2);
        p += 2;
        continue;
      }
      if (p + 2 < n) {
        const c2 = text.charCodeAt(p + 2) | 0x20;
        if ((c1 === 0x72 && c2 === 0x65) || (c1 === 0x76 && c2 === 0x65) || (c1 === 0x6c && c2 === 0x6c)) {
          piece(p, p + 3);
          p += 3;
          continue;
        }
      }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (k0 === C_LETTER) {
      const q = runOf(p, C_LETTER);
      piece(p, q);
      p = q;
      continue;
    }
    if ((k0 === C_SPACE || k0 === C_OTHER) && p + w0 < n && classAt(text, p + w0) === C_LETTER) {
      const q = runOf(p + w0, C_LETTER);
      piece(p, q);
      p = q;
      continue;
    }
    // \p{N}{1,3}
    if (k0 === C_NUMBER) {
      let q = p;
      for (let k = 0; k < 3 && q < n && classAt(text, q) === C_NUMBER; k++) q += widthAt(text, q);
      piece(p, q);
      p = q;
      continue;
    }
    // ' '?[^\s\p{L}\p{N}]+[\r\n]*
    const s = c0 === 0x20 && p + 1 < n && classAt(text, p + 1) === C_OTHER ? p + 1 : p;
    if (classAt(text, s) === C_OTHER) {
      let q = runOf(s, C_OTHER);
      q = runOf(q, C_NEWLINE);
      piece(p, q);
      p = q;
      continue;
    }
    // White space (every \s is one UTF-16 unit): \s*[\r\n]+ | \s+(?!\S) | \s+
    let r = p;
    let lastNewline = -1;
    for (; r < n; r++) {
      const k = classAt(text, r);
      if (k === C_NEWLINE) lastNewline = r;
      else if (k !== C_SPACE) break;
    }
    const q = lastNewline >= 0 ? lastNewline + 1 : r === n || r - p < 2 ? r : r - 1;
    piece(p, q);
    p = q;
  }
}

/** `bpe_ranks` is a compact text: lines "<tag> <offset> <token…>" (js-tiktoken's format). */
function countRanks(bpeRanks: string): number {
  let max = 0;
  for (const line of bpeRanks.split('\n')) {
    const parts = line.split(' ');
    const offset = Number.parseInt(parts[1], 10);
    if (Number.isNaN(offset)) continue;
    const end = offset + parts.length - 2;
    if (end > max) max = end;
  }
  return max;
}
