import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttributionError } from '../../attribution/errors.js';
import { loadTokenizer, TOKENIZER_PIECE_CHARS_MAX, TOKENIZERS } from '../../attribution/tokenizer.js';
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

  it('rejects unknown names with a typed error', async () => {
    await expect(loadTokenizer('gpt2')).rejects.toBeInstanceOf(AttributionError);
    await expect(loadTokenizer('cl100k_base@js-tiktoken-9.9.9')).rejects.toMatchObject({
      code: 'TOKENIZER_UNKNOWN',
    });
  });
});
