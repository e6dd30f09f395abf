import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import { describe, expect, it } from 'vitest';
import { AttributionError } from '../../attribution/errors.js';
import {
  hasLongRun,
  loadTokenizer,
  PieceCache,
  TOKENIZER_PIECE_CHARS_MAX,
  TOKENIZERS,
} from '../../attribution/tokenizer.js';
import { fixtureText } from './_fixtures.js';

const alphabet = [...'abcXYZ éü日本語🙂 \n\t.,!?\'"-0123456789'];
const texts = fc
  .array(fc.constantFrom(...alphabet), { maxLength: TOKENIZER_PIECE_CHARS_MAX - 4 })
  .map((cs) => cs.join(''));

describe('tokenizers', () => {
  for (const name of TOKENIZERS) {
    it(`${name}: the piece-by-piece path equals plain tiktoken whenever no piece is over-long`, async () => {
      const tok = await loadTokenizer(name);
      const text = fixtureText('gutenberg-pg84.txt').slice(0, 60_000);
      expect(Array.from(tok.encodeByPieces(text))).toEqual(Array.from(tok.encode(text)));
      fc.assert(
        fc.property(fc.array(texts, { maxLength: 8 }), (parts) => {
          const t = parts.join(' ');
          expect(Array.from(tok.encodeByPieces(t))).toEqual(Array.from(tok.encode(t)));
        }),
        { numRuns: 120 },
      );
    });

    it(`${name}: pathological inputs (64 KiB runs) tokenize in bounded work, deterministically`, async () => {
      const tok = await loadTokenizer(name);
      for (const t of ['x'.repeat(65_536), ' '.repeat(65_536), '!?'.repeat(30_000), '日本語'.repeat(2000)]) {
        const a = tok.encode(t);
        expect(a.length).toBeGreaterThan(0);
        expect(tok.encode(t)).toEqual(a);
      }
      // Special tokens in user text are plain text.
      expect(Array.from(tok.encode('<|endoftext|>')).length).toBeGreaterThan(1);
    });
  }

  // The fast path (our piece scanner for cl100k_base, our byte-pair merge, a piece cache) must give
  // exactly js-tiktoken's tokens: consensus depends on it.
  const wide = [
    ...'abcXYZ éüßΣς日本語한🙂\u00a0\u2028\u3000\ufeff \n\r\t\v.,!?\'"-_/0123456789٣\u0301\u200b',
  ];
  const wideTexts = fc.array(fc.constantFrom(...wide), { maxLength: 60 }).map((cs) => cs.join(''));
  for (const name of TOKENIZERS) {
    it(`${name}: the fast path equals js-tiktoken (fixtures, random text, contractions, lone surrogates)`, async () => {
      const tok = await loadTokenizer(name);
      const encoding = name.slice(0, name.indexOf('@'));
      const ranks =
        encoding === 'cl100k_base'
          ? (await import('js-tiktoken/ranks/cl100k_base')).default
          : (await import('js-tiktoken/ranks/o200k_base')).default;
      const reference = new Tiktoken(ranks);
      const same = (t: string) =>
        expect(Array.from(tok.encode(t)), JSON.stringify(t.slice(0, 80))).toEqual(
          hasLongRun(t) ? Array.from(tok.encodeByPieces(t)) : reference.encode(t, [], []),
        );
      for (const f of ['gutenberg-pg1342.txt', 'tinyshakespeare.txt', 'sqlite-docs.txt']) {
        for (const p of fixtureText(f)
          .slice(0, 120_000)
          .split(/\n\s*\n/))
          same(p);
      }
      for (const t of ["it's I'M we'RE they'Ll you'D 'S' ''s x'", '\ud800abc\udc00', 'a  \n\n  b   c\t\t\n'])
        same(t);
      fc.assert(
        fc.property(wideTexts, (t) => {
          same(t);
        }),
        { numRuns: 400 },
      );
    });
  }

  it('the long-run precheck is the regex /\\S{65,}|\\s{65,}/ in one linear pass', () => {
    const re = new RegExp(`\\S{${TOKENIZER_PIECE_CHARS_MAX + 1},}|\\s{${TOKENIZER_PIECE_CHARS_MAX + 1},}`);
    const runs = fc
      .array(
        fc.tuple(
          fc.constantFrom('a', ' ', '\n', '🙂', '\u3000', '\ufeff', '.'),
          fc.integer({ min: 1, max: 70 }),
        ),
        {
          maxLength: 6,
        },
      )
      .map((xs) => xs.map(([c, n]) => c.repeat(n)).join(''));
    fc.assert(
      fc.property(runs, (t) => {
        expect(hasLongRun(t)).toBe(re.test(t));
      }),
      { numRuns: 400 },
    );
  });

  it('rejects unknown names with a typed error', async () => {
    await expect(loadTokenizer('gpt2')).rejects.toBeInstanceOf(AttributionError);
    await expect(loadTokenizer('cl100k_base@js-tiktoken-9.9.9')).rejects.toMatchObject({
      code: 'TOKENIZER_UNKNOWN',
    });
  });
});

describe('the piece cache', () => {
  it('finds exactly the piece of a text range, also after it fills up and starts over', () => {
    const cache = new PieceCache(4);
    const text = 'the cat the hat then them the';
    const words = [...text.matchAll(/\S+/g)].map((m) => [m.index, m.index + m[0].length] as const);
    const seen = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      for (const [from, to] of words) {
        const piece = text.slice(from, to);
        const slot = cache.find(text, from, to);
        const hit = cache.valueAt(slot);
        // A hit is always the value stored for this very piece (never a prefix or a collision).
        if (hit !== undefined) expect(hit).toBe(seen.get(piece));
        else {
          const v = piece.length * 1000 + piece.charCodeAt(piece.length - 1);
          seen.set(piece, v);
          cache.insert(slot, piece, v);
        }
      }
    }
    // 'the', 'them', 'then', 'hat', 'cat': more than 4 distinct pieces, so it started over at least once.
    const slot = cache.find('xx them', 3, 7);
    expect([undefined, seen.get('them')]).toContain(cache.valueAt(slot));
  });
});
