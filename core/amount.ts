import { ValidationError } from './errors.js';

/** Amounts are bigint base units; 1 OPEN = 10^18 units. JSON carries them as decimal strings. */
export const DECIMALS = 18;
export const UNITS_PER_OPEN = 10n ** 18n;
/** Upper bound of any amount: what 32 bytes can hold. */
export const AMOUNT_MAX = (1n << 256n) - 1n;
const TEXT_CHARS_MAX = 100;

const OPEN_RE = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,18}))?$/;
const UNITS_RE = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a decimal OPEN amount ("1.5", "0.000000000000000001", "42") into base units. Rejects
 * signs, exponents, more than 18 decimals, leading zeros, whitespace and anything else.
 */
export function parseOpen(text: string): bigint {
  if (typeof text !== 'string' || text.length > TEXT_CHARS_MAX) {
    throw new ValidationError('BAD_AMOUNT', 'an amount must be a decimal string');
  }
  const m = OPEN_RE.exec(text);
  if (!m) {
    throw new ValidationError(
      'BAD_AMOUNT',
      `not an OPEN amount: ${JSON.stringify(text)} (use plain decimals like "1.5", at most 18 decimal places)`,
    );
  }
  const units = BigInt(m[1]) * UNITS_PER_OPEN + BigInt((m[2] ?? '').padEnd(DECIMALS, '0') || '0');
  if (units > AMOUNT_MAX) throw new ValidationError('BAD_AMOUNT', 'amount is too large');
  return units;
}

/** Formats base units as OPEN with no trailing zeros: 1500000000000000000n → "1.5". */
export function formatOpen(units: bigint): string {
  if (typeof units !== 'bigint') throw new ValidationError('BAD_AMOUNT', 'an amount must be a bigint');
  if (units < 0n) throw new ValidationError('BAD_AMOUNT', 'amounts cannot be negative');
  const whole = units / UNITS_PER_OPEN;
  const frac = units % UNITS_PER_OPEN;
  if (frac === 0n) return whole.toString();
  return `${whole}.${frac.toString().padStart(DECIMALS, '0').replace(/0+$/, '')}`;
}

/** Parses base units written as a decimal integer string ("1500000000000000000"). */
export function parseUnits(text: string): bigint {
  if (typeof text !== 'string' || text.length > TEXT_CHARS_MAX || !UNITS_RE.test(text)) {
    throw new ValidationError(
      'BAD_AMOUNT',
      `not a base-unit amount: ${JSON.stringify(String(text).slice(0, 60))}`,
    );
  }
  const units = BigInt(text);
  if (units > AMOUNT_MAX) throw new ValidationError('BAD_AMOUNT', 'amount is too large');
  return units;
}
