import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AMOUNT_MAX,
  DECIMALS,
  formatOpen,
  parseOpen,
  parseUnits,
  UNITS_PER_OPEN,
} from '../../core/amount.js';
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

describe('amount limits and round trips', () => {
  it('formats then parses back every amount up to AMOUNT_MAX', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: AMOUNT_MAX }), (u) => {
        const text = formatOpen(u);
        expect(text).toMatch(/^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/);
        expect(parseOpen(text)).toBe(u);
        expect(parseUnits(u.toString())).toBe(u);
      }),
    );
  });

  it('accepts AMOUNT_MAX and rejects one unit more', () => {
    expect(parseUnits(AMOUNT_MAX.toString())).toBe(AMOUNT_MAX);
    expect(parseOpen(formatOpen(AMOUNT_MAX))).toBe(AMOUNT_MAX);
    expect(() => parseUnits((AMOUNT_MAX + 1n).toString())).toThrow(ValidationError);
    expect(() => parseOpen(formatOpen(AMOUNT_MAX + 1n))).toThrow(ValidationError);
    expect(AMOUNT_MAX).toBe(2n ** 256n - 1n);
  });

  it('has 18 decimals', () => {
    expect(DECIMALS).toBe(18);
    expect(UNITS_PER_OPEN).toBe(10n ** 18n);
    expect(parseOpen('1.000000000000000000')).toBe(UNITS_PER_OPEN);
  });

  it.each(['', '-1', '+1', '1e3', '01', '1.5', ' 1', '0x10', '١'])('parseUnits rejects %j', (text) => {
    expect(() => parseUnits(text)).toThrow(ValidationError);
  });

  it('rejects non-strings, overlong text and negative units with BAD_AMOUNT', () => {
    for (const fn of [
      () => parseOpen(1 as unknown as string),
      () => parseOpen(1n as unknown as string),
      () => parseUnits(null as unknown as string),
      () => parseOpen('1'.repeat(101)),
      () => parseUnits('1'.repeat(101)),
      () => formatOpen(-1n),
      () => formatOpen(1 as unknown as bigint),
    ]) {
      try {
        fn();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).code).toBe('BAD_AMOUNT');
      }
    }
  });
});
