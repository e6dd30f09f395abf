import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WORD_ID_LIMIT, wordIds, words } from '../../attribution/normalize.js';
import { toHex } from '../../core/bytes.js';
import { sha256 } from '../../core/hash.js';
import { fixtureText } from './_fixtures.js';

const ids = (s: string) => Array.from(wordIds(s));

describe('nfkc-cf-words@1', () => {
  it('equates case, width, compatibility forms, accents written either way, spacing and punctuation', () => {
    const same: [string, string][] = [
      ['Hello, World!', 'hello world'],
      ['HELLO   world', 'hello\tworld\n'],
      ["don't", 'dont'],
      ['DON’T', "don't"],
      ['ﬁne', 'fine'],
      ['Ｆｉｎｅ', 'fine'],
      ['straße', 'STRASSE'],
      ['ſtar', 'star'],
      ['ΟΔΟΣ', 'οδος'],
      ['café', 'cafe\u0301'],
      ['a\u0323\u0301', 'a\u0301\u0323'], // canonical order of marks
      ['wo\u200brd', 'word'], // zero-width space: default-ignorable, deleted
      ['soft\u00adhyphen', 'softhyphen'],
      ['™', 'tm'],
      ['①', '1'],
      ['한국어', '\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165'], // precomposed vs jamo
      ['e-mail', 'email'],
    ];
    for (const [a, b] of same) expect(ids(a), `${a} ≡ ${b}`).toEqual(ids(b));
    const differ: [string, string][] = [
      ['hello world', 'helloworld'],
      ['resume', 'résumé'], // accents are kept (NFKC equivalence, not accent folding)
      ['1', 'l'],
    ];
    for (const [a, b] of differ) expect(ids(a), `${a} ≢ ${b}`).not.toEqual(ids(b));
  });

  it('splits scripts written without spaces into one-character words, keeping their marks', () => {
    expect(ids('漢字かな')).toHaveLength(4);
    expect(ids('が')).toEqual(ids('か\u3099')); // voiced mark attaches to its kana
    expect(ids('abc漢def')).toHaveLength(3);
  });

  it('reports where each word came from in the original text', () => {
    const text = '  Hello, WORLD—don’t ﬁ x';
    const w = words(text);
    const pieces = Array.from(w.starts, (s, k) => text.slice(s, w.ends[k]));
    expect(pieces).toEqual(['Hello', 'WORLD—don’t', 'ﬁ', 'x']);
    expect(Array.from(w.ids)).toEqual(ids(text));
  });

  it('is pinned: golden word ids of a fixture (a change needs a new normalisation name)', () => {
    const text = fixtureText('gutenberg-pg84.txt').slice(0, 50_000);
    const all = wordIds(text);
    expect(all.length).toBe(8646);
    expect(toHex(sha256(new Uint8Array(all.buffer)))).toBe(
      '9a3c80c70b9ce2a5adc1b5f1d415e4394133b83cea77a07af74e5bb18dfd660a',
    );
  });

  it('agrees with the engine’s NFKC and case mapping on the fixtures (Node 20.20, the table’s source)', () => {
    // The table was made from this engine; on ordinary text the two must agree word for word.
    const engine = (s: string) =>
      s
        .normalize('NFKC')
        .toUpperCase()
        .toLowerCase()
        .replace(/[^\p{L}\p{M}\p{N}\s]/gu, '')
        .split(/\s+/)
        .filter(Boolean);
    for (const f of ['gutenberg-pg2701.txt', 'tinyshakespeare.txt', 'sqlite-docs.txt']) {
      const text = fixtureText(f).slice(0, 40_000);
      const viaEngine = engine(text).map((w) => ids(w));
      expect(viaEngine.every((x) => x.length === 1)).toBe(true);
      expect(ids(text)).toEqual(viaEngine.map((x) => x[0]));
    }
  });

  it('is total and bounded on any input: ids in range, one pass, 64 KiB runs included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const w = words(s);
        for (let k = 0; k < w.ids.length; k++) {
          expect(w.ids[k]).toBeGreaterThanOrEqual(0);
          expect(w.ids[k]).toBeLessThan(WORD_ID_LIMIT);
          expect(w.starts[k]).toBeLessThan(w.ends[k]);
          // One character can expand into several words (ﷺ → four), which then share its range.
          if (k > 0) expect(w.starts[k]).toBeGreaterThanOrEqual(w.starts[k - 1]);
        }
      }),
      { numRuns: 300 },
    );
    expect(wordIds('a'.repeat(65_536))).toHaveLength(1);
    expect(wordIds('é\u0301'.repeat(20_000))).toHaveLength(1);
    expect(wordIds('the '.repeat(16_384))).toHaveLength(16_384);
  });
});
