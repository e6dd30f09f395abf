import type { EvidenceSpan, Param } from '../core/tx.js';
import { words } from './normalize.js';
import { parseParams, SPAN_PARAMS } from './params.js';
import { loadTokenizer, type TokenizerName } from './tokenizer.js';

/**
 * Span evidence names TOKEN ranges of the output (`outputStart`..`outputEnd`, see README "Span
 * weight"); people read characters. `evidenceCharRanges` maps each evidence span to the range of
 * the output text it covers, so a client (the explorer) can highlight it without a tokenizer.
 *
 * Offsets are UTF-16 code units of `output` (what JavaScript's `String#slice` takes), end
 * exclusive. A token boundary that falls inside a multi-byte character (tiktoken tokens are byte
 * sequences) is widened to the whole character: the start rounds down, the end rounds up, so a
 * highlight never cuts a character in half. A span that does not fit the output's tokens (a
 * stale or hostile record) maps to `null`, never to a guess.
 *
 * A model with `normalization` set (e.g. `nfkc-cf-words@1`) matches spans on normalised WORDS:
 * its evidence positions are word indices of the output (normalize.ts), and word k covers the
 * characters `words(output).starts[k]..ends[k]` — the original text, with its own case, spacing
 * and punctuation; a span covers from its first word's start to its last word's end (the
 * punctuation and spaces between its words included).
 *
 * This is the ONE place that knows how evidence positions relate to text: if span matching
 * changes what a position means, change it here, with test/explorer/evidenceText.test.ts and
 * test/attribution/evidenceText.test.ts.
 */

export interface CharRange {
  start: number;
  end: number;
}

/** Byte length of every token id of an encoding, from the vocabulary that ships in js-tiktoken. */
const tokenBytes = new Map<TokenizerName, Uint16Array>();

async function tokenByteLengths(name: TokenizerName): Promise<Uint16Array> {
  const cached = tokenBytes.get(name);
  if (cached) return cached;
  const encoding = name.slice(0, name.indexOf('@'));
  const ranks =
    encoding === 'cl100k_base'
      ? (await import('js-tiktoken/ranks/cl100k_base')).default
      : (await import('js-tiktoken/ranks/o200k_base')).default;
  // js-tiktoken's compact format: lines "<tag> <first rank> <base64 token> <base64 token> …".
  const lengths: number[] = [];
  for (const line of ranks.bpe_ranks.split('\n')) {
    const parts = line.split(' ');
    const first = Number.parseInt(parts[1], 10);
    if (Number.isNaN(first)) continue;
    for (let i = 2; i < parts.length; i++) {
      const b64 = parts[i];
      const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
      lengths[first + i - 2] = (b64.length / 4) * 3 - pad;
    }
  }
  const out = Uint16Array.from(lengths, (x) => x ?? 0);
  tokenBytes.set(name, out);
  return out;
}

/**
 * For each UTF-8 byte offset of `text` (0..bytes), the UTF-16 offset of the character that
 * contains it (`floor`) and of the first character that ends at or after it (`ceil`).
 */
function byteToUtf16(text: string): { floor: Int32Array; ceil: Int32Array; bytes: number } {
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  const floor = new Int32Array(bytes + 1);
  const ceil = new Int32Array(bytes + 1);
  let b = 0;
  let u = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < n; k++) {
      floor[b + k] = u;
      ceil[b + k] = k === 0 ? u : u + ch.length;
    }
    b += n;
    u += ch.length;
  }
  floor[bytes] = u;
  ceil[bytes] = u;
  return { floor, ceil, bytes };
}

/**
 * Character ranges of `output` covered by each evidence span (parallel to `evidence`), for a
 * span-attributed model with `params`. `null` where a span does not fit the output.
 */
export async function evidenceCharRanges(
  params: readonly Param[],
  output: string,
  evidence: readonly Pick<EvidenceSpan, 'outputStart' | 'outputEnd'>[],
): Promise<(CharRange | null)[]> {
  if (evidence.length === 0) return [];
  const { tokenizer, normalization } = parseParams(params, SPAN_PARAMS, 'span');
  if (normalization !== 'none') {
    const w = words(output);
    const n = w.ids.length;
    return evidence.map((e) => {
      const a = e.outputStart;
      const b = e.outputEnd;
      if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b <= a || b > n) return null;
      return { start: w.starts[a], end: w.ends[b - 1] };
    });
  }
  const t = await tokenOffsets(tokenizer, output);
  if (t === null) return evidence.map(() => null);
  const { starts, floor, ceil } = t;
  const n = starts.length - 1;
  return evidence.map((e) => {
    const a = e.outputStart;
    const b = e.outputEnd;
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b <= a || b > n) return null;
    return { start: floor[starts[a]], end: ceil[starts[b]] };
  });
}

interface TokenOffsets {
  /** Byte offset where each token starts; token i covers bytes starts[i]..starts[i+1]. */
  starts: Int32Array;
  floor: Int32Array;
  ceil: Int32Array;
}

/**
 * Tokenizing is the costly part (a 64 KiB contribution is ~50 ms), and the same texts come back
 * (a contribution cited by many answers): the last few are memoised, bounded in total characters.
 * The memo only saves time; the ranges are a function of (tokenizer, text) alone.
 */
export const OFFSETS_MEMO_CHARS_MAX = 1024 * 1024;
const memo = new Map<string, TokenOffsets | null>();
let memoChars = 0;

async function tokenOffsets(tokenizer: TokenizerName, text: string): Promise<TokenOffsets | null> {
  const key = `${tokenizer}\u0000${text}`;
  if (memo.has(key)) {
    const hit = memo.get(key)!;
    memo.delete(key);
    memo.set(key, hit);
    return hit;
  }
  const tok = await loadTokenizer(tokenizer);
  const lengths = await tokenByteLengths(tokenizer);
  const tokens = tok.encode(text);
  const starts = new Int32Array(tokens.length + 1);
  for (let i = 0; i < tokens.length; i++) starts[i + 1] = starts[i] + (lengths[tokens[i]] ?? 0);
  const map = byteToUtf16(text);
  // Tokens always concatenate to the text's bytes; if not, the vocabulary is not the one that
  // tokenized, and no range can be trusted.
  const value = starts[tokens.length] === map.bytes ? { starts, floor: map.floor, ceil: map.ceil } : null;
  if (key.length <= OFFSETS_MEMO_CHARS_MAX) {
    memo.set(key, value);
    memoChars += key.length;
    while (memoChars > OFFSETS_MEMO_CHARS_MAX) {
      const oldest = memo.keys().next().value!;
      memo.delete(oldest);
      memoChars -= oldest.length;
    }
  }
  return value;
}
