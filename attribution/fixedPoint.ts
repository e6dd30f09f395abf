import { assert } from '../core/errors.js';

/**
 * Fixed-point arithmetic for attribution and training. Consensus-critical: every validator must
 * derive the same bits, so this module is the ONE place where non-integer quantities are handled,
 * and it does so with integers only. No engine math function (Math.exp/log/pow), no float whose
 * value is not an exactly representable integer, no clock, no randomness.
 *
 * Format: Q16 — a real x is stored as the integer round-down of x·2^16 in a JS `number`. All
 * helpers keep every intermediate value an exact integer below 2^53, so IEEE-754 doubles compute
 * them exactly; each helper states its input range and asserts it. Rounding is always floor
 * (towards −∞), which makes the result a pure function of the inputs.
 *
 * Tested against exact rational (BigInt) references in test/attribution/fixedPoint.test.ts.
 */

export const FP_BITS = 16;
export const FP_ONE = 1 << FP_BITS; // 65536
const HALF_LIMB = 1 << FP_BITS;
/** Largest magnitude accepted by `mulFp` operands: keeps every partial product below 2^53. */
export const FP_OPERAND_MAX = 2 ** 36;
/** Largest |a·b| accepted by `mulFp`, so that the Q16 result stays below 2^52. */
const PRODUCT_MAX = 2 ** 68;

/** floor(n / d) for safe integers, exact (float division corrected by one step either way). */
export function floorDiv(n: number, d: number): number {
  assert(Number.isSafeInteger(n) && Number.isSafeInteger(d) && d !== 0, 'floorDiv: safe integers, d ≠ 0');
  if (d < 0) {
    n = -n;
    d = -d;
  }
  let q = Math.floor(n / d);
  // The float quotient can be off by one near integers; fix with exact integer checks. q·d and
  // (q+1)·d stay within 2^53 because |q·d| ≤ |n| + d.
  while (q * d > n) q--;
  while ((q + 1) * d <= n) q++;
  return q + 0; // never −0: it would encode differently
}

/** floor(a·b / 2^16) exactly, for |a|, |b| ≤ 2^36 with |a·b| ≤ 2^68 (the result is a safe integer). */
export function mulFp(a: number, b: number): number {
  assert(
    Number.isSafeInteger(a) &&
      Number.isSafeInteger(b) &&
      Math.abs(a) <= FP_OPERAND_MAX &&
      Math.abs(b) <= FP_OPERAND_MAX &&
      Math.abs(a) * Math.abs(b) <= PRODUCT_MAX,
    'mulFp: operands out of range',
  );
  // b = bh·2^16 + bl with 0 ≤ bl < 2^16 ⇒ a·b/2^16 = a·bh + a·bl/2^16, and a·bh is an integer.
  const bh = Math.floor(b / HALF_LIMB);
  const bl = b - bh * HALF_LIMB;
  const abl = a * bl; // |·| < 2^52: exact
  const ablHi = Math.floor(abl / HALF_LIMB); // division by a power of two: exact
  return a * bh + ablHi + 0; // + 0 turns −0 into 0
}

/** floor(a·2^16 / b) exactly (a Q16 quotient), for |a| ≤ 2^36, b ≠ 0. */
export function divFp(a: number, b: number): number {
  assert(Math.abs(a) <= FP_OPERAND_MAX, 'divFp: numerator out of range');
  return floorDiv(a * FP_ONE, b);
}

/** Q16 from a ratio of integers: floor(num·2^16 / den). */
export function ratioFp(num: number, den: number): number {
  return divFp(num, den);
}

/** ln 2 in Q16, floor(0.693147…·2^16). */
export const LN2_FP = 45426;
/** Below e^-EXP_FLOOR_INPUT the Q16 result is 0 anyway: e^-12 ≈ 6.1e-6 < 2^-16 ≈ 1.5e-5 … */
const EXP_ZERO_BELOW = -12 * FP_ONE;

/**
 * e^x in Q16 for x ≤ 0 (Q16). Range reduction x = −k·ln2 + r with r ∈ (−ln2, 0], then a Taylor
 * series for e^r (terms alternate and shrink below 2^-16 by the 10th), then a right shift by k.
 * Integer only. Error: a few units in the last place (the test bounds it against a BigInt
 * rational reference at ≤ 4 ulp).
 */
export function expNegFp(x: number): number {
  assert(Number.isSafeInteger(x) && x <= 0, 'expNegFp: x must be a non-positive integer (Q16)');
  if (x < EXP_ZERO_BELOW) return 0;
  // k = number of ln2 steps so that r = x + k·ln2 ∈ (−ln2, 0].
  const k = floorDiv(-x, LN2_FP);
  // Compute r at higher precision: Q16 ln2 has 16 bits only, so use a Q30 ln2 for the reduction.
  // r30 = x·2^14 + k·ln2_q30, with ln2_q30 = floor(ln2·2^30).
  const LN2_Q30 = 744261117;
  const r30 = x * 16384 + k * LN2_Q30; // |x·2^14| ≤ 12·2^30: exact
  // Series in Q30 with exact products split through mulQ30.
  let term = 1 << 30;
  let sum = term;
  for (let i = 1; i <= 12; i++) {
    term = floorDiv(mulQ30(term, r30), i);
    sum += term;
    if (term === 0) break;
  }
  // sum ∈ (0.5, 1] in Q30; shift to Q16 and by k.
  return Math.floor(sum / 2 ** (14 + k));
}

/** floor(a·b / 2^30) exactly for |a|, |b| ≤ 2^31. */
function mulQ30(a: number, b: number): number {
  const LIMB = 2 ** 15;
  const bh = Math.floor(b / LIMB);
  const bl = b - bh * LIMB;
  // a·b / 2^30 = a·bh / 2^15 + a·bl / 2^30; both partial products < 2^47.
  const hi = a * bh; // multiple of nothing in particular; keep exact
  const lo = a * bl;
  // floor((hi·2^15 + lo) / 2^30) = floor((hi + lo/2^15) / 2^15) — combine as exact integers.
  const loHi = Math.floor(lo / LIMB);
  return Math.floor((hi + loHi) / LIMB);
}

/**
 * Softmax in Q16 of Q16 logits: p_k = e^{z_k − max} / Σ_j e^{z_j − max}, each p_k floored. The
 * numerators come from `expNegFp`; the sum runs in index order. Σ p_k ≤ FP_ONE.
 */
export function softmaxFp(logits: ArrayLike<number>, out: Int32Array | number[]): void {
  const k = logits.length;
  assert(k >= 1 && out.length >= k, 'softmaxFp: sizes');
  let max = logits[0];
  for (let i = 1; i < k; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const e = expNegFp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  // sum ≥ e^0 = FP_ONE > 0.
  for (let i = 0; i < k; i++) out[i] = divFp(out[i], sum);
}

/**
 * Parses a decimal string ("0.5", "12", "0.001") into Q16, floor. At most 9 fraction digits.
 * Returns null when the text is not a plain non-negative decimal.
 */
export function parseDecimalFp(text: string): number | null {
  const m = /^(\d{1,9})(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) return null;
  const whole = BigInt(m[1]);
  const frac = m[2] ?? '';
  const den = 10n ** BigInt(frac.length);
  const num = whole * den + (frac.length > 0 ? BigInt(frac) : 0n);
  const q = (num * BigInt(FP_ONE)) / den; // non-negative: BigInt division is floor
  if (q > BigInt(FP_OPERAND_MAX)) return null;
  return Number(q);
}

/**
 * (1 − a)^n in Q16 for a ∈ [0, 1] (Q16), n ≥ 0: square-and-multiply in Q30 (each product floored,
 * so the error stays far below one Q16 unit even for n in the thousands), then floored to Q16.
 */
export function powOneMinusFp(a: number, n: number): number {
  assert(
    Number.isSafeInteger(a) && a >= 0 && a <= FP_ONE && Number.isSafeInteger(n) && n >= 0,
    'powOneMinusFp: range',
  );
  const ONE_Q30 = 2 ** 30;
  let base = (FP_ONE - a) * 16384;
  let result = ONE_Q30;
  let e = n;
  while (e > 0) {
    if (e % 2 === 1) result = mulQ30(result, base);
    base = mulQ30(base, base);
    e = Math.floor(e / 2);
  }
  return Math.floor(result / 16384);
}

/** Number of bits of a positive integer (floor(log2 x) + 1); 0 for 0. Integer-only log scale. */
export function bitLength(x: number): number {
  assert(Number.isSafeInteger(x) && x >= 0, 'bitLength: non-negative safe integer');
  let n = 0;
  while (x >= 1) {
    x = Math.floor(x / 2);
    n++;
  }
  return n;
}

/**
 * Exact Σ a_i·b_i of two Q16 vectors as a BigInt (scale 2^32), for |a_i|, |b_i| ≤ 2^31. Each
 * product is split so partial sums stay exact; partial sums are flushed to BigInt every 64 terms.
 */
export function dotExact(a: ArrayLike<number>, b: ArrayLike<number>, n: number): bigint {
  const LIMB = 65536;
  let total = 0n;
  let hi = 0; // Σ a·bh, bh = floor(b / 2^16): |a·bh| < 2^46, 64 terms < 2^52
  let lo = 0; // Σ a·bl, 0 ≤ bl < 2^16: |a·bl| < 2^47, 64 terms < 2^53
  let terms = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    if (x === 0) continue;
    const y = b[i];
    const bh = Math.floor(y / LIMB);
    hi += x * bh;
    lo += x * (y - bh * LIMB);
    if (++terms === 64) {
      total += (BigInt(hi) << 16n) + BigInt(lo);
      hi = 0;
      lo = 0;
      terms = 0;
    }
  }
  return total + (BigInt(hi) << 16n) + BigInt(lo);
}

/** floor(num / den) for BigInts (den > 0), as a safe number; asserts the range. */
export function bigFloorDivToNumber(num: bigint, den: bigint): number {
  assert(den > 0n, 'bigFloorDiv: den > 0');
  let q = num / den;
  if (num < 0n && q * den !== num) q -= 1n; // BigInt division truncates; make it floor
  assert(q <= BigInt(Number.MAX_SAFE_INTEGER) && q >= BigInt(Number.MIN_SAFE_INTEGER), 'bigFloorDiv: range');
  return Number(q);
}

/** x clamped to [−max, max]: saturating arithmetic for vectors whose range data could push out. */
export function clampAbs(x: number, max: number): number {
  if (x > max) return max;
  return Math.max(x, -max);
}

/** floor(num / den) for BigInts (den > 0), saturated to [−max, max], as a number. */
export function bigFloorDivClamped(num: bigint, den: bigint, max: number): number {
  assert(den > 0n, 'bigFloorDiv: den > 0');
  let q = num / den;
  if (num < 0n && q * den !== num) q -= 1n;
  const m = BigInt(max);
  return Number(q > m ? m : q < -m ? -m : q);
}

// ---- wide softmax (training spec logreg@2) -----------------------------------------------------
//
// The Q16 softmax above returns exactly 0 and 1 once logits differ by more than ~11 (e^-11 <
// 2^-16), so the gradient p − y of a confidently classified example is exactly zero: under the
// round-1 defaults every influence score was 0 (issue 14). The wide softmax keeps logits in Q24
// and probabilities in Q48: a probability is non-zero down to 2^-48 ≈ e^-33, and exponentials are
// exact-floor Q52 integers from a Q30 mantissa (relative error ≤ 2^-23: the Q30 ln 2 is off by < 1 ulp per halving), shifted by the ln 2
// range reduction, i.e. the log-sum-exp form  p_c = e^{z_c − max} / Σ_j e^{z_j − max}  with the
// normaliser Σ_j kept in BigInt (K·2^52 does not fit a double exactly).

/** Logit / weight scale of logreg@2: Q24. */
export const WIDE_LOGIT_BITS = 24;
/** Probability scale of the wide softmax: Q48 (every value ≤ 2^48, exact in a double). */
export const WIDE_PROB_BITS = 48;
export const WIDE_PROB_ONE = 2 ** WIDE_PROB_BITS;
const WIDE_EXP_BITS = 52;
/** Below e^-36 (< 2^-51) the Q48 probability is 0 whatever the normaliser: skip the series. */
export const WIDE_EXP_CUTOFF = -36 * 2 ** WIDE_LOGIT_BITS;
const LN2_Q30 = 744261117; // floor(ln 2 · 2^30)

/**
 * e^{d / 2^24} for a Q24 d ≤ 0, as floor(· 2^52): ln 2 range reduction in Q30, a 12-term Taylor
 * series of e^r for r ∈ (−ln 2, 0] in Q30 (as `expNegFp`), then an exact shift. 0 below
 * WIDE_EXP_CUTOFF. Tested against a BigInt series in test/attribution/fixedPoint.test.ts.
 */
export function expNegWide(d: number): number {
  assert(Number.isSafeInteger(d) && d <= 0, 'expNegWide: d must be a non-positive integer (Q24)');
  if (d < WIDE_EXP_CUTOFF) return 0;
  const x30 = d * 64; // Q30; |x30| ≤ 36·2^30 < 2^36: exact
  const k = floorDiv(-x30, LN2_Q30);
  const r30 = x30 + k * LN2_Q30; // (−ln2, 0] in Q30
  let term = 2 ** 30;
  let sum = term;
  for (let i = 1; i <= 12; i++) {
    term = floorDiv(mulQ30(term, r30), i);
    if (term === 0) break;
    sum += term;
  }
  // sum ∈ (2^29, 2^30]; sum·2^22 ≤ 2^52 exact; dividing by 2^k is exact, then floored.
  return Math.floor((sum * 2 ** (WIDE_EXP_BITS - 30)) / 2 ** k);
}

/**
 * Softmax of Q24 logits into Q48 probabilities, each floored: p_c = ⌊2^48 · E_c / Σ_j E_j⌋ with
 * E_c = expNegWide(z_c − max z). `skip` (a label index, or −1) is left out of the normaliser and
 * gets 0: the softmax over the other labels, whose gradient is the influence's test direction.
 */
export function softmaxWide(logits: ArrayLike<number>, out: Float64Array | number[], skip = -1): void {
  const k = logits.length;
  assert(k >= 1 && out.length >= k, 'softmaxWide: sizes');
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < k; i++) if (i !== skip && logits[i] > max) max = logits[i];
  assert(max !== Number.NEGATIVE_INFINITY, 'softmaxWide: at least one label');
  let sum = 0n;
  for (let i = 0; i < k; i++) {
    const e = i === skip ? 0 : expNegWide(logits[i] - max);
    out[i] = e;
    sum += BigInt(e);
  }
  // sum ≥ E(0) = 2^52 > 0.
  for (let i = 0; i < k; i++) {
    out[i] = out[i] === 0 ? 0 : Number((BigInt(out[i]) << BigInt(WIDE_PROB_BITS)) / sum);
  }
}

/** (1 − a)^n in Q30 for a Q16 a ∈ [0, 1]: `powOneMinusFp` before its final rounding to Q16. */
export function powOneMinusQ30(a: number, n: number): number {
  assert(
    Number.isSafeInteger(a) && a >= 0 && a <= FP_ONE && Number.isSafeInteger(n) && n >= 0,
    'powOneMinusQ30: range',
  );
  let base = (FP_ONE - a) * 16384;
  let result = 2 ** 30;
  let e = n;
  while (e > 0) {
    if (e % 2 === 1) result = mulQ30(result, base);
    base = mulQ30(base, base);
    e = Math.floor(e / 2);
  }
  return result;
}

/** floor(a·b / 2^30) exactly for |a| ≤ 2^37 and 0 ≤ b ≤ 2^30 (a Q30 factor applied to anything). */
export function mulByQ30(a: number, b: number): number {
  assert(
    Number.isSafeInteger(a) && Math.abs(a) <= 2 ** 37 && Number.isSafeInteger(b) && b >= 0 && b <= 2 ** 30,
    'mulByQ30: range',
  );
  return mulQ30(a, b) + 0;
}
