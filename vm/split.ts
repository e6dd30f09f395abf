import { compareBytes } from '../core/bytes.js';
import { assert } from '../core/errors.js';

/**
 * The exact reward split of DESIGN §5 (consensus-critical: bigint only, total orders).
 */

export interface Weighted {
  address: Uint8Array;
  weight: bigint;
}

export interface Share {
  address: Uint8Array;
  amount: bigint;
}

/**
 * Splits `amount` among `weights` exactly: entries with the same address are merged, then each
 * gets floor(amount × w / W); the remainder goes one unit at a time to the largest fractional
 * parts (amount × w mod W), ties to the smaller address. Returns one share per address with a
 * positive weight, sorted by address; the shares sum to `amount` exactly and are never negative.
 * Zero-weight entries get nothing; with no positive weight at all the result is empty and the
 * caller decides where `amount` goes. Consensus-critical: every validator must produce the same
 * bytes, so no floats; the output does not depend on the order of `weights`.
 */
export function splitExact(amount: bigint, weights: readonly Weighted[]): Share[] {
  assert(amount >= 0n, 'amount must be non-negative');
  const merged = mergeWeights(weights);
  if (merged.length === 0) return [];
  let total = 0n;
  for (const w of merged) total += w.weight;
  const shares: Share[] = [];
  const rems: bigint[] = [];
  let given = 0n;
  for (const w of merged) {
    const num = amount * w.weight;
    const a = num / total;
    shares.push({ address: w.address, amount: a });
    rems.push(num % total);
    given += a;
  }
  let left = amount - given;
  assert(left >= 0n && left < BigInt(merged.length), 'remainder is below the number of parties');
  if (left > 0n) {
    // Indices by remainder descending, then address ascending (merged is address-sorted).
    const order = merged.map((_, i) => i);
    order.sort((i, j) => (rems[i] === rems[j] ? i - j : rems[i] > rems[j] ? -1 : 1));
    for (let k = 0; left > 0n; k++, left--) shares[order[k]].amount += 1n;
  }
  return shares;
}

/** Merges equal addresses, drops non-positive weights (negative is a bug), sorts by address. */
export function mergeWeights(weights: readonly Weighted[]): Weighted[] {
  const sorted = weights
    .filter((w) => {
      assert(w.weight >= 0n, 'weights must be non-negative');
      return w.weight > 0n;
    })
    .map((w) => ({ address: w.address, weight: w.weight }))
    .sort((a, b) => compareBytes(a.address, b.address));
  const out: Weighted[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && compareBytes(last.address, w.address) === 0) last.weight += w.weight;
    else out.push(w);
  }
  return out;
}
