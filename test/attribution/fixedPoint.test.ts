import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bigFloorDivToNumber,
  bitLength,
  divFp,
  dotExact,
  expNegFp,
  expNegWide,
  FP_ONE,
  floorDiv,
  mulByQ30,
  mulFp,
  parseDecimalFp,
  powOneMinusFp,
  powOneMinusQ30,
  softmaxFp,
  softmaxWide,
  WIDE_EXP_CUTOFF,
  WIDE_PROB_ONE,
} from '../../attribution/fixedPoint.js';

/** Exact floor(n / d) for BigInts of any sign. */
function bigFloor(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d !== 0n && n < 0n !== d < 0n ? q - 1n : q;
}

/** e^(x / 2^16) as an exact rational bound, via a BigInt Taylor series at 2^-80 precision. */
function expRef(x: number): number {
  const P = 80n;
  const xs = BigInt(x) << (P - 16n); // x at scale 2^80
  let term = 1n << P;
  let sum = term;
  for (let i = 1n; i < 200n; i++) {
    term = (term * xs) / (i << P);
    if (term === 0n) break;
    sum += term;
  }
  return Number(sum >> (P - 16n)); // floor at Q16 (within 1 ulp of the true floor)
}

const safe36 = fc.integer({ min: -(2 ** 36), max: 2 ** 36 });

describe('fixed point (Q16) against exact BigInt references', () => {
  it('floorDiv is exact floor division', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).filter((d) => d !== 0),
        (n, d) => {
          expect(floorDiv(n, d)).toBe(Number(bigFloor(BigInt(n), BigInt(d))));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('mulFp = floor(a·b / 2^16) exactly', () => {
    fc.assert(
      fc.property(safe36, safe36, (a, b) => {
        if (Math.abs(a) * Math.abs(b) > 2 ** 68) return;
        expect(mulFp(a, b)).toBe(Number(bigFloor(BigInt(a) * BigInt(b), 65536n)));
      }),
      { numRuns: 3000 },
    );
    expect(() => mulFp(2 ** 37, 1)).toThrow(/out of range/);
    expect(() => mulFp(2 ** 36, 2 ** 33)).toThrow(/out of range/);
    expect(Object.is(mulFp(-3, 0), 0)).toBe(true); // never −0
  });

  it('divFp = floor(a·2^16 / b) exactly', () => {
    fc.assert(
      fc.property(
        safe36,
        fc.integer({ min: -(2 ** 36), max: 2 ** 36 }).filter((b) => b !== 0),
        (a, b) => {
          expect(divFp(a, b)).toBe(Number(bigFloor(BigInt(a) * 65536n, BigInt(b))));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('expNegFp is within 4 ulp of the exact e^x on [-12, 0], monotone, exact at 0', () => {
    expect(expNegFp(0)).toBe(FP_ONE);
    let prev = FP_ONE;
    for (let x = 0; x >= -12 * FP_ONE; x -= 97) {
      const got = expNegFp(x);
      expect(Math.abs(got - expRef(x))).toBeLessThanOrEqual(4);
      expect(got).toBeLessThanOrEqual(prev + 1);
      prev = got;
    }
    expect(expNegFp(-13 * FP_ONE)).toBe(0);
    expect(() => expNegFp(1)).toThrow();
  });

  it('softmax probabilities are within a few ulp of exact and sum to at most one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -8 * FP_ONE, max: 8 * FP_ONE }), { minLength: 1, maxLength: 6 }),
        (z) => {
          const p = new Int32Array(z.length);
          softmaxFp(z, p);
          let sum = 0;
          for (const v of p) sum += v;
          expect(sum).toBeLessThanOrEqual(FP_ONE);
          expect(sum).toBeGreaterThanOrEqual(FP_ONE - 4 * z.length);
          const max = Math.max(...z);
          const ref = z.map((v) => expRef(v - max));
          const refSum = ref.reduce((a, b) => a + b, 0);
          z.forEach((_, i) => {
            expect(Math.abs(p[i] - Math.floor((ref[i] * FP_ONE) / refSum))).toBeLessThanOrEqual(8);
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('dotExact equals the BigInt dot product', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
            fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
          ),
          { maxLength: 300 },
        ),
        (pairs) => {
          const a = pairs.map((p) => p[0]);
          const b = pairs.map((p) => p[1]);
          let ref = 0n;
          for (let i = 0; i < a.length; i++) ref += BigInt(a[i]) * BigInt(b[i]);
          expect(dotExact(a, b, a.length)).toBe(ref);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('powOneMinusFp stays within 2 ulp of the exact power', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: FP_ONE }), fc.integer({ min: 0, max: 5000 }), (a, n) => {
        const got = powOneMinusFp(a, n);
        // Exact rational reference: (2^16 − a)^n / 2^(16(n−1)), in BigInt.
        const exact = Number(((BigInt(FP_ONE - a) ** BigInt(n)) << 16n) / 65536n ** BigInt(n));
        expect(Math.abs(got - exact)).toBeLessThanOrEqual(2);
      }),
      { numRuns: 500 },
    );
  });

  it('parses decimals exactly and rejects anything else', () => {
    expect(parseDecimalFp('0.5')).toBe(32768);
    expect(parseDecimalFp('1')).toBe(FP_ONE);
    expect(parseDecimalFp('0.001')).toBe(65); // floor(65.536)
    expect(parseDecimalFp('2.25')).toBe(2 * FP_ONE + 16384);
    for (const bad of ['', '-1', '1e3', '.5', '0.5.1', ' 1', 'NaN', '0x10', '1.0000000001'])
      expect(parseDecimalFp(bad)).toBeNull();
  });

  it('bitLength and BigInt floor division', () => {
    expect([0, 1, 2, 3, 4, 1023, 1024, 2 ** 40].map(bitLength)).toEqual([0, 1, 2, 2, 3, 10, 11, 41]);
    expect(bigFloorDivToNumber(-7n, 2n)).toBe(-4);
    expect(bigFloorDivToNumber(7n, 2n)).toBe(3);
  });
});

/** e^(d / 2^24) · 2^52 by a BigInt Taylor series at 2^-120 precision (d ≤ 0), floored. */
function expWideRef(d: number): bigint {
  const P = 120n;
  const xs = (BigInt(d) << P) / (1n << 24n); // d/2^24 at scale 2^120 (d·2^96 exactly)
  let term = 1n << P;
  let sum = term;
  for (let i = 1n; i < 400n; i++) {
    term = (term * xs) / (i << P);
    if (term === 0n) break;
    sum += term;
  }
  return sum >> (P - 52n);
}

describe('wide softmax (logreg@2: Q24 logits, Q48 probabilities) against BigInt references', () => {
  it('expNegWide is within 2^-23 relative of the exact e^x on [−36, 0], exact at 0, 0 below the cutoff', () => {
    expect(expNegWide(0)).toBe(2 ** 52);
    expect(expNegWide(WIDE_EXP_CUTOFF - 1)).toBe(0);
    expect(expNegWide(WIDE_EXP_CUTOFF)).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.integer({ min: WIDE_EXP_CUTOFF, max: 0 }), (d) => {
        const got = BigInt(expNegWide(d));
        const ref = expWideRef(d);
        const err = got > ref ? got - ref : ref - got;
        expect(err * (1n << 23n) <= ref + (1n << 23n)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // Monotone on a grid.
    let prev = expNegWide(WIDE_EXP_CUTOFF);
    for (let d = WIDE_EXP_CUTOFF; d <= 0; d += 7_777_777) {
      const e = expNegWide(d);
      expect(e).toBeGreaterThanOrEqual(prev);
      prev = e;
    }
  });

  it('softmaxWide does not saturate where the Q16 softmax does, and stays within 2^-22 relative', () => {
    // Logits ±15 (issue 14): the Q16 softmax says exactly 1 and 0.
    const q16 = [0, 0, 0];
    softmaxFp([15 * FP_ONE, -15 * FP_ONE, 0], q16);
    expect(q16).toEqual([FP_ONE, 0, 0]);
    const p = [0, 0, 0];
    const Q24 = 2 ** 24;
    softmaxWide([15 * Q24, -15 * Q24, 0], p);
    expect(p[1]).toBeGreaterThan(0);
    expect(p[2]).toBeGreaterThan(0);
    expect(p[0]).toBeLessThan(WIDE_PROB_ONE);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -40 * Q24, max: 40 * Q24 }), { minLength: 2, maxLength: 6 }),
        (z) => {
          const out = new Array(z.length).fill(0);
          softmaxWide(z, out);
          const max = Math.max(...z);
          const e = z.map((v) => expWideRef(v - max));
          const S = e.reduce((a, b) => a + b, 0n);
          let sum = 0;
          for (let i = 0; i < z.length; i++) {
            const ref = (e[i] << 48n) / S;
            const got = BigInt(out[i]);
            const err = got > ref ? got - ref : ref - got;
            expect(err * (1n << 22n) <= ref + (1n << 22n)).toBe(true);
            sum += out[i];
          }
          expect(sum).toBeLessThanOrEqual(WIDE_PROB_ONE);
        },
      ),
      { numRuns: 500 },
    );
    // skip: the softmax over the other labels.
    const q = [0, 0, 0];
    softmaxWide([30 * Q24, 2 * Q24, 2 * Q24], q, 0);
    expect(q).toEqual([0, WIDE_PROB_ONE / 2, WIDE_PROB_ONE / 2]);
  });

  it('golden vectors (any change here changes every logreg@2 model)', () => {
    const Q24 = 2 ** 24;
    expect([0, -1, -Q24, -5 * Q24, -20 * Q24, -33 * Q24, -35 * Q24].map(expNegWide)).toEqual(GOLDEN_EXP);
    const p = [0, 0, 0, 0];
    softmaxWide([15 * Q24, -15 * Q24, 3 * Q24 + 12345, 0], p);
    expect(p).toEqual(GOLDEN_SOFTMAX);
    expect(powOneMinusQ30(33, 480)).toBe(GOLDEN_POW);
    expect(mulByQ30(-(2 ** 37), 2 ** 30 - 1)).toBe(-(2 ** 37) + 128);
  });
});

// Golden vectors of the wide softmax (checked against the BigInt references above when made).
const GOLDEN_EXP = [4503599627370496, 4503599358935040, 1656781705052160, 30345015296000, 9282610, 20, 2];
const GOLDEN_SOFTMAX = [281473159903487, 26, 1730703850, 86103290];
const GOLDEN_POW = 843149766;
