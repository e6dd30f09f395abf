/**
 * Proposer selection: CometBFT's weighted round robin with proposer priorities
 * (cometbft/types/validator_set.go). Consensus-critical: every validator must pick the same
 * proposer, so integers only, and ties go to the smaller address (a total order).
 *
 * One increment: every validator's priority grows by its power, the one with the highest
 * priority is the proposer and pays the total power back. Over `total` increments each validator
 * proposes exactly `power` times. Before a batch of increments the priorities are rescaled so
 * that max − min ≤ 2·total (PRIORITY_WINDOW_FACTOR) and centred on zero, as CometBFT does, which
 * keeps a newly joined or long-idle validator from dominating or starving.
 *
 * Division follows Go: rescaling truncates toward zero (`/` on int64), the average floors
 * (`big.Int.Div`, Euclidean with a positive divisor). Both are computed with exact integer
 * remainders, never with a rounded float quotient.
 */

import { compareBytes } from '../core/bytes.js';
import { assert } from '../core/errors.js';

/** CometBFT's PriorityWindowSizeFactor. */
export const PRIORITY_WINDOW_FACTOR = 2;

/** The mutable working form of a validator set's priorities. */
export interface PriorityState {
  readonly addresses: readonly Uint8Array[];
  readonly powers: readonly number[];
  readonly totalPower: number;
  priorities: number[];
}

/** a / b rounded toward zero, exactly (Go's int64 division). */
export function divTrunc(a: number, b: number): number {
  assert(b !== 0 && Number.isSafeInteger(a) && Number.isSafeInteger(b), 'integer division operands');
  return (a - (a % b)) / b;
}

/** a / b rounded toward −∞, exactly (Go's big.Int.Div for b > 0). */
export function divFloor(a: number, b: number): number {
  assert(b > 0 && Number.isSafeInteger(a) && Number.isSafeInteger(b), 'integer division operands');
  const r = ((a % b) + b) % b;
  return (a - r) / b;
}

/** Scales priorities down so their spread is at most `diffMax` (CometBFT RescalePriorities). */
export function rescalePriorities(s: PriorityState, diffMax: number): void {
  if (diffMax <= 0 || s.priorities.length === 0) return;
  let min = s.priorities[0];
  let max = s.priorities[0];
  for (const p of s.priorities) {
    if (p < min) min = p;
    if (p > max) max = p;
  }
  const diff = max - min;
  if (diff <= diffMax) return;
  const ratio = divTrunc(diff + diffMax - 1, diffMax);
  for (let i = 0; i < s.priorities.length; i++) s.priorities[i] = divTrunc(s.priorities[i], ratio);
}

/** Subtracts the floored average so priorities stay centred on zero. */
export function centerPriorities(s: PriorityState): void {
  const n = s.priorities.length;
  if (n === 0) return;
  let sum = 0;
  for (const p of s.priorities) sum += p;
  assert(Number.isSafeInteger(sum), 'priority sum stays a safe integer');
  const avg = divFloor(sum, n);
  for (let i = 0; i < n; i++) s.priorities[i] -= avg;
}

/** Index of the highest priority; ties to the smaller address. */
export function mostPriority(s: PriorityState): number {
  let best = 0;
  for (let i = 1; i < s.priorities.length; i++) {
    const d = s.priorities[i] - s.priorities[best];
    if (d > 0 || (d === 0 && compareBytes(s.addresses[i], s.addresses[best]) < 0)) best = i;
  }
  return best;
}

/**
 * CometBFT IncrementProposerPriority(times): rescale, centre, then `times` single increments.
 * Returns the index chosen by the last increment (the proposer), or -1 when `times` is 0.
 * `normalize = false` skips the rescale and centring, to continue a walk already normalised.
 */
export function incrementPriorities(s: PriorityState, times: number, normalize = true): number {
  assert(Number.isSafeInteger(times) && times >= 0, 'increment count is a non-negative integer');
  assert(s.priorities.length > 0, 'a validator set is never empty');
  if (normalize) {
    rescalePriorities(s, PRIORITY_WINDOW_FACTOR * s.totalPower);
    centerPriorities(s);
  }
  let proposer = -1;
  for (let t = 0; t < times; t++) {
    for (let i = 0; i < s.priorities.length; i++) s.priorities[i] += s.powers[i];
    proposer = mostPriority(s);
    s.priorities[proposer] -= s.totalPower;
  }
  return proposer;
}
