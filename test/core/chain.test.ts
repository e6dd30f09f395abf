import { describe, expect, it } from 'vitest';
import { checkChainId, DOMAIN } from '../../core/chain.js';
import { ValidationError } from '../../core/errors.js';

describe('chain ids', () => {
  it.each(['ol-devnet-1', 'x', '0', 'a.b_c-d', 'a'.repeat(64)])('accepts %j', (id) => {
    expect(checkChainId(id)).toBe(id);
  });

  it.each([
    '',
    'A',
    'Ol-devnet',
    '-devnet',
    '.x',
    '_x',
    'a'.repeat(65),
    'ol devnet',
    'ol/devnet',
    'olé',
    'ol\n',
  ])('rejects %j with BAD_CHAIN_ID', (id) => {
    try {
      checkChainId(id);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).code).toBe('BAD_CHAIN_ID');
    }
  });

  it('rejects non-strings', () => {
    expect(() => checkChainId(1 as unknown as string)).toThrow(ValidationError);
    expect(() => checkChainId(undefined as unknown as string)).toThrow(ValidationError);
  });

  it('has distinct domain tags', () => {
    const tags = Object.values(DOMAIN);
    expect(new Set(tags).size).toBe(tags.length);
    for (const t of tags) expect(t).toMatch(/^ol\/[a-z]+\/\d+$/);
  });
});
