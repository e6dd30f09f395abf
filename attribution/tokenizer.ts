import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import { ConfigError } from '../core/errors.js';
import { AttributionError } from './errors.js';

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
/** Cheap precheck: a piece can only be that long inside a run this long (UTF-16 units ≥ code points). */
const LONG_RUN = new RegExp(`\\S{${TOKENIZER_PIECE_CHARS_MAX + 1},}|\\s{${TOKENIZER_PIECE_CHARS_MAX + 1},}`);
export const DEFAULT_TOKENIZER: TokenizerName = TOKENIZERS[0];

export interface Tokenizer {
  readonly name: TokenizerName;
  /** Largest token id + 1 (alphabet size for the suffix array). */
  readonly vocabSize: number;
  encode(text: string): Int32Array;
  /** The same tokens, always through the piece-by-piece path (tests compare both paths). */
  encodeByPieces(text: string): Int32Array;
}

const loaded = new Map<TokenizerName, Tokenizer>();

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

/** Loads (once per thread) the named tokenizer; ~0.2 s for the first call. */
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
  const tokenizer: Tokenizer = {
    name: checked,
    vocabSize,
    encode(text: string): Int32Array {
      if (!LONG_RUN.test(text)) return Int32Array.from(enc.encode(text, [], []));
      return this.encodeByPieces(text);
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
