/** Display helpers. Amounts stay BigInt (base units, 10^18 per OPEN) until they become text. */

export const UNITS_PER_OPEN = 10n ** 18n;

/** "12.3456" OPEN from a decimal string of base units; malformed input shows as "?". */
export function open(units: unknown, decimals = 4): string {
  if (typeof units !== 'string' || !/^[0-9]{1,78}$/.test(units)) return '?';
  const u = BigInt(units);
  const whole = u / UNITS_PER_OPEN;
  const frac = (u % UNITS_PER_OPEN).toString().padStart(18, '0').slice(0, decimals);
  return decimals > 0 ? `${whole}.${frac}` : whole.toString();
}

/** OPEN as a float, for charts only (never for sums shown as numbers). */
export function openFloat(units: unknown): number {
  if (typeof units !== 'string' || !/^[0-9]{1,78}$/.test(units)) return 0;
  const u = BigInt(units);
  return Number(u / 10n ** 12n) / 1e6;
}

export function short(hex: unknown): string {
  const s = String(hex);
  return s.length > 14 ? `${s.slice(0, 8)}…${s.slice(-4)}` : s;
}

export function time(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '?';
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

export function bps(n: unknown): string {
  return typeof n === 'number' ? `${(n / 100).toFixed(2)}%` : '?';
}
