import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Generates `attribution/wordsTable.json`, the Unicode data behind the `nfkc-cf-words@1`
 * normalisation (attribution/normalize.ts). Run it only to define a NEW normalisation version:
 *
 *     npx tsx attribution/tools/genWordsTable.ts [--out FILE]
 *
 * The table is consensus data: validators never consult their own ICU at run time (Node 20.x
 * minor releases ship different ICU and Unicode versions, so `String.prototype.normalize` and
 * `toLowerCase` may differ between validators). It was generated once with Node 20.20 (ICU 78,
 * Unicode 17) and its sha256 is pinned in normalize.ts; regenerating under another engine gives
 * another file and therefore needs another normalisation name.
 *
 * Per code point c (surrogates excluded), with fold(x) = lower(upper(x)) per code point (full case
 * mappings, so ß → ss, ſ → s, ς → σ, ẞ → ss):
 *
 *   map(c) = fixpoint of x ↦ NFKD(fold(NFKD(x)))            (at most 4 rounds; asserted)
 *
 * and each code point of map(c) is classified:
 *   W  word character: letters and numbers (\p{L}, \p{N}) not in a class below
 *   M  combining mark (\p{M}): part of the word it follows
 *   H  a word on its own: letters of scripts written without spaces (Han, Hiragana, Katakana,
 *      Thai, Lao, Khmer, Myanmar); following marks attach to it
 *   S  separator: white space and control characters (\p{Z}, \p{Cc})
 *   D  deleted: everything else — punctuation, symbols, format characters, default-ignorable
 *      code points (zero-width joiners, soft hyphen, variation selectors, tags), private use
 *      and unassigned code points — so inserting them inside a word changes nothing
 *
 * Canonical combining classes are derived from the engine's NFD reordering (a nonzero class is
 * what makes two marks swap), kept as ranks that order exactly as the classes do.
 */

const out = process.argv.includes('--out')
  ? process.argv[process.argv.indexOf('--out') + 1]
  : join(import.meta.dirname, '..', 'wordsTable.json');

const re = (p: string) => new RegExp(`^${p}$`, 'u');
const IS = {
  di: re('\\p{Default_Ignorable_Code_Point}'),
  word: re('[\\p{L}\\p{M}\\p{N}]'),
  mark: re('\\p{M}'),
  sep: re('[\\p{Z}\\p{Cc}]'),
  own: re(
    '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Thai}\\p{Script=Lao}\\p{Script=Khmer}\\p{Script=Myanmar}]',
  ),
};
type Cls = 'W' | 'M' | 'H' | 'S' | 'D';

function classOf(ch: string): Cls {
  if (IS.sep.test(ch)) return 'S';
  if (IS.di.test(ch) || !IS.word.test(ch)) return 'D';
  if (IS.mark.test(ch)) return 'M';
  if (IS.own.test(ch)) return 'H';
  return 'W';
}

function fold(x: string): string {
  let r = '';
  for (const ch of x) r += ch.toUpperCase().toLowerCase();
  return r;
}

function mapOf(s: string): string {
  let x = s;
  for (let round = 0; round < 4; round++) {
    const y = fold(x.normalize('NFKD')).normalize('NFKD');
    if (y === x) return x;
    x = y;
  }
  throw new Error(`no fixpoint for U+${s.codePointAt(0)!.toString(16)}`);
}

const HANGUL_FIRST = 0xac00;
const HANGUL_LAST = 0xd7a3;

// Pass 1: classes of identity code points, mappings of the others.
const classes: Cls[] = new Array(0x110000);
const mappings: [number, string][] = [];
for (let cp = 0; cp < 0x110000; cp++) {
  if (cp >= 0xd800 && cp < 0xe000) {
    classes[cp] = 'D';
    continue;
  }
  const s = String.fromCodePoint(cp);
  const m = mapOf(s);
  const cls = classOf(s);
  // Punctuation and symbols are deleted unless their compatibility form spells letters or
  // numbers (™ → tm, ⑴ → 1); spacing accents (¨ → space + mark) are deleted.
  if (cls === 'S' || m === s || (cls === 'D' && !/[\p{L}\p{N}]/u.test(m))) {
    classes[cp] = cls;
    continue;
  }
  classes[cp] = 'W'; // placeholder; mapped code points are looked up in `mappings` first
  if (cp >= HANGUL_FIRST && cp <= HANGUL_LAST) continue; // decomposed arithmetically at run time
  mappings.push([cp, m]);
}
// Mapped strings: separators become ' ', deleted characters vanish; the rest must be stable.
const encoded: [number, string][] = [];
for (const [cp, m] of mappings) {
  let e = '';
  for (const ch of m) {
    const c = ch.codePointAt(0)!;
    if (mapOf(ch) !== ch && classOf(ch) !== 'D' && classOf(ch) !== 'S')
      throw new Error(`unstable U+${c.toString(16)}`);
    const k = classOf(ch);
    if (k === 'S') e += ' ';
    else if (k !== 'D') e += ch;
  }
  encoded.push([cp, e]);
}

const mapped = new Set(encoded.map(([c]) => c));

// Hangul syllables: check the arithmetic decomposition against the engine.
for (let cp = HANGUL_FIRST; cp <= HANGUL_LAST; cp++) {
  const s = cp - HANGUL_FIRST;
  const l = 0x1100 + Math.floor(s / 588);
  const v = 0x1161 + Math.floor((s % 588) / 28);
  const t = s % 28;
  const d = String.fromCodePoint(l, v) + (t === 0 ? '' : String.fromCodePoint(0x11a7 + t));
  if (mapOf(String.fromCodePoint(cp)) !== d) throw new Error(`hangul U+${cp.toString(16)}`);
}

// Class ranges: [start, class] pairs, each class running to the next start.
const ranges: (number | string)[] = [];
let prev: Cls | null = null;
for (let cp = 0; cp < 0x110000; cp++) {
  if (classes[cp] !== prev) {
    ranges.push(cp, classes[cp]);
    prev = classes[cp];
  }
}

// Combining classes as ranks: marks that NFD reorders against one of two probes have ccc > 0.
const probes = ['\u0316', '\u0301']; // ccc 220, 230
const marks: string[] = [];
for (let cp = 0; cp < 0x110000; cp++) {
  if (classes[cp] !== 'M' || mapped.has(cp)) continue;
  const x = String.fromCodePoint(cp);
  const swaps = probes.some(
    (p) => `a${x}${p}`.normalize('NFD') !== `a${x}${p}` || `a${p}${x}`.normalize('NFD') !== `a${p}${x}`,
  );
  if (swaps) marks.push(x);
}
const above = (x: string, y: string) => `a${x}${y}`.normalize('NFD') === `a${y}${x}`; // ccc(x) > ccc(y) > 0
const ccc: [number, number][] = marks.map((x) => [
  x.codePointAt(0)!,
  1 + marks.filter((y) => above(x, y)).length,
]);

const body = {
  name: 'nfkc-cf-words@1',
  unicode: process.versions.unicode,
  icu: process.versions.icu,
  node: process.version,
  ranges,
  mappings: encoded,
  ccc,
};
const text = `${JSON.stringify(body)}\n`;
writeFileSync(out, text);
process.stdout.write(
  `${out}: ${ranges.length / 2} ranges, ${encoded.length} mappings, ${ccc.length} combining marks, sha256 ${createHash('sha256').update(text).digest('hex')}\n`,
);
