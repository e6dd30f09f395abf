import { describe, expect, it } from 'vitest';
import { formatOpen, parseOpen, parseUnits } from '../../core/amount.js';
import { ValidationError } from '../../core/errors.js';

describe('amounts', () => {
  it('parses and formats OPEN', () => {
    expect(parseOpen('1.5')).toBe(1_500_000_000_000_000_000n);
    expect(parseOpen('0.000000000000000001')).toBe(1n);
    expect(parseOpen('42')).toBe(42n * 10n ** 18n);
    expect(formatOpen(1_500_000_000_000_000_000n)).toBe('1.5');
    expect(formatOpen(1n)).toBe('0.000000000000000001');
    expect(formatOpen(0n)).toBe('0');
  });

  it.each([
    '',
    '-1',
    '+1',
    '1e18',
    '1.',
    '.5',
    '01',
    '1.0000000000000000001',
    ' 1',
    '1 ',
    'abc',
    '0x10',
    '1,5',
  ])('rejects %j', (text) => {
    expect(() => parseOpen(text)).toThrow(ValidationError);
  });

  it('round-trips units', () => {
    for (const u of [0n, 1n, 10n ** 18n, 123456789012345678901234567890n]) {
      expect(parseOpen(formatOpen(u))).toBe(u);
      expect(parseUnits(u.toString())).toBe(u);
    }
  });
});
