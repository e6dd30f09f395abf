import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitExact } from '../../vm/split.js';

const addr = (n: number) => {
  const a = new Uint8Array(20);
  a[19] = n & 0xff;
  a[18] = n >> 8;
  return a;
};

describe('splitExact', () => {
  it('floors shares and hands the remainder to the largest fractional parts', () => {
    // 10 over weights 1,1,1 → 3.33 each: one unit of remainder goes to the smallest address.
    const s = splitExact(10n, [
      { address: addr(3), weight: 1n },
      { address: addr(1), weight: 1n },
      { address: addr(2), weight: 1n },
    ]);
    expect(s.map((x) => x.amount)).toEqual([4n, 3n, 3n]);
    expect(s[0].address).toEqual(addr(1));
  });

  it('prefers the largest remainder over the address', () => {
    // 7 over weights 1, 2 → 2.33, 4.67: floors 2 + 4, the remainder unit goes to the .67 part.
    const s = splitExact(7n, [
      { address: addr(1), weight: 1n },
      { address: addr(2), weight: 2n },
    ]);
    expect(s.map((x) => x.amount)).toEqual([2n, 5n]);
  });

  it('merges repeated addresses and drops zero weights', () => {
    const s = splitExact(100n, [
      { address: addr(1), weight: 1n },
      { address: addr(1), weight: 1n },
      { address: addr(2), weight: 2n },
      { address: addr(3), weight: 0n },
    ]);
    expect(s).toEqual([
      { address: addr(1), amount: 50n },
      { address: addr(2), amount: 50n },
    ]);
  });

  it('returns nothing without a positive weight, and rejects negative input', () => {
    expect(splitExact(5n, [{ address: addr(1), weight: 0n }])).toEqual([]);
    expect(() => splitExact(-1n, [])).toThrow();
    expect(() => splitExact(1n, [{ address: addr(1), weight: -1n }])).toThrow();
  });

  const weights = fc.array(
    fc.record({ a: fc.integer({ min: 0, max: 40 }), w: fc.bigInt({ min: 0n, max: 10n ** 30n }) }),
    { minLength: 1, maxLength: 30 },
  );

  it('sums exactly, never negative, invariant under permutation (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 40n }), weights, fc.integer(), (amount, ws, seed) => {
        const input = ws.map((x) => ({ address: addr(x.a), weight: x.w }));
        const s = splitExact(amount, input);
        const hasWeight = input.some((x) => x.weight > 0n);
        const total = s.reduce((t, x) => t + x.amount, 0n);
        expect(total).toBe(hasWeight ? amount : 0n);
        for (const x of s) expect(x.amount >= 0n).toBe(true);
        // A deterministic shuffle of the input gives the same bytes.
        const shuffled = [...input];
        let r = seed >>> 0;
        for (let i = shuffled.length - 1; i > 0; i--) {
          r = (r * 1103515245 + 12345) >>> 0;
          const j = r % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        expect(splitExact(amount, shuffled)).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });

  it('each share is within one unit of its exact proportion (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), weights, (amount, ws) => {
        const input = ws.map((x) => ({ address: addr(x.a), weight: x.w }));
        const s = splitExact(amount, input);
        const byAddr = new Map<string, bigint>();
        for (const x of input)
          byAddr.set(
            String(x.address[19] + 256 * x.address[18]),
            (byAddr.get(String(x.address[19] + 256 * x.address[18])) ?? 0n) + x.weight,
          );
        const total = [...byAddr.values()].reduce((a, b) => a + b, 0n);
        for (const x of s) {
          const w = byAddr.get(String(x.address[19] + 256 * x.address[18]))!;
          const floor = (amount * w) / total;
          expect(x.amount === floor || x.amount === floor + 1n).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
