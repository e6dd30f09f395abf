import { describe, expect, it } from 'vitest';
import {
  centerPriorities,
  divFloor,
  divTrunc,
  incrementPriorities,
  rescalePriorities,
} from '../../consensus/proposer.js';
import { TOTAL_VOTING_POWER_MAX, ValidatorSet } from '../../consensus/validatorSet.js';
import { testKey, validators } from './helpers.js';

/** Names a0, a1, … in address order, so expectations read like the hand computation. */
const name = (i: number): string => `a${i}`;

/** Proposer of round 0 at heights 1..n (each height's set derived from the previous). */
function heightSequence(set: ValidatorSet, n: number): string[] {
  const out: string[] = [];
  let s = set;
  for (let h = 0; h < n; h++) {
    out.push(name(s.proposerIndex(0)));
    s = s.next([]);
  }
  return out;
}

describe('proposer selection (CometBFT weighted round robin)', () => {
  it('powers 1, 2, 3: hand-computed sequence a2 a1 a0 a2 a1 a2, then it repeats', () => {
    // Priorities (a0, a1, a2), each step: add powers, pick max (ties → smaller address), subtract 6.
    // [0,0,0] → [1,2,3] a2 → [1,2,-3] → [2,4,0] a1 → [2,-2,0] → [3,0,3] a0 (tie) → [-3,0,3]
    // → [-2,2,6] a2 → [-2,2,0] → [-1,4,3] a1 → [-1,-2,3] → [0,0,6] a2 → [0,0,0].
    const { set } = validators([1, 2, 3]);
    expect(set.priorities).toEqual([1, 2, -3]);
    expect(heightSequence(set, 12)).toEqual([
      'a2',
      'a1',
      'a0',
      'a2',
      'a1',
      'a2',
      'a2',
      'a1',
      'a0',
      'a2',
      'a1',
      'a2',
    ]);
  });

  it('rounds within a height follow the same sequence, whatever path the rounds took', () => {
    const { set } = validators([1, 2, 3]);
    expect([0, 1, 2, 3, 4, 5].map((r) => `a${set.proposerIndex(r)}`)).toEqual([
      'a2',
      'a1',
      'a0',
      'a2',
      'a1',
      'a2',
    ]);
    // Asking for round 5 first gives the same answer as stepping through.
    const fresh = validators([1, 2, 3]).set;
    expect(fresh.proposerIndex(5)).toBe(2);
  });

  it('equal powers rotate in address order', () => {
    const { set } = validators([7, 7, 7, 7]);
    expect(heightSequence(set, 8)).toEqual(['a0', 'a1', 'a2', 'a3', 'a0', 'a1', 'a2', 'a3']);
  });

  it('each validator proposes in proportion to its power over a full cycle', () => {
    const { set } = validators([5, 3, 1, 1]);
    const counts = [0, 0, 0, 0];
    let s = set;
    for (let h = 0; h < 100; h++) {
      counts[s.proposerIndex(0)]++;
      s = s.next([]);
    }
    expect(counts).toEqual([50, 30, 10, 10]);
  });

  it('a new validator starts at −1.125 × total power, then priorities are centred (floor average)', () => {
    const { set } = validators([1, 2, 3]);
    const d = testKey('newcomer');
    const next = set.next([{ publicKey: d.publicKey, power: 4 }]);
    // Before: (a0,a1,a2) = [1,2,−3], D = −(10 + 10>>3) = −11. Centre: sum −11, floor(−11/4) = −3
    // → [4,5,0,−8]. Increment: [5,7,3,−4] → a1 proposes, 7 − 10 = −3.
    const byAddress = (k: Uint8Array) => next.priorities[next.indexOf(k)];
    const keys = validators([1, 2, 3]).keys;
    expect([
      byAddress(keys[0].address),
      byAddress(keys[1].address),
      byAddress(keys[2].address),
      byAddress(d.address),
    ]).toEqual([5, -3, 3, -4]);
    expect(next.proposer(0).address).toEqual(keys[1].address);
    expect(next.totalPower).toBe(10);
  });

  it('updates keep an existing validator priority; power 0 removes', () => {
    const { set, keys } = validators([1, 2, 3]);
    const next = set.next([
      { publicKey: keys[0].publicKey, power: 0 },
      { publicKey: keys[2].publicKey, power: 9 },
    ]);
    expect(next.size).toBe(2);
    expect(next.indexOf(keys[0].address)).toBe(-1);
    expect(next.totalPower).toBe(11);
  });

  it('rejects bad update sets with typed errors', () => {
    const { set, keys } = validators([1, 2]);
    const stranger = testKey('stranger');
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code: string }).code;
      }
      return 'none';
    };
    expect(code(() => set.next([{ publicKey: stranger.publicKey, power: 0 }]))).toBe('REMOVE_UNKNOWN');
    expect(
      code(() =>
        set.next([
          { publicKey: keys[0].publicKey, power: 3 },
          { publicKey: keys[0].publicKey, power: 4 },
        ]),
      ),
    ).toBe('DUPLICATE_UPDATE');
    expect(
      code(() =>
        set.next([
          { publicKey: keys[0].publicKey, power: 0 },
          { publicKey: keys[1].publicKey, power: 0 },
        ]),
      ),
    ).toBe('EMPTY_VALIDATOR_SET');
    expect(code(() => set.next([{ publicKey: keys[0].publicKey, power: -1 }]))).toBe('BAD_POWER');
    expect(code(() => set.next([{ publicKey: keys[0].publicKey, power: 1.5 }]))).toBe('BAD_POWER');
    expect(code(() => set.next([{ publicKey: stranger.publicKey, power: TOTAL_VOTING_POWER_MAX }]))).toBe(
      'TOTAL_POWER_TOO_LARGE',
    );
    expect(code(() => set.next([{ publicKey: new Uint8Array(31), power: 1 }]))).toBe('BAD_PUBLIC_KEY');
  });

  it('rescales a spread wider than 2 × total power (Go truncating division) and centres', () => {
    const s = {
      addresses: [new Uint8Array([1]), new Uint8Array([2])],
      powers: [1, 1],
      totalPower: 2,
      priorities: [101, -99],
    };
    rescalePriorities(s, 4); // diff 200, ratio ceil(200/4) = 50 → 101/50 = 2, −99/50 = −1 (toward zero)
    expect(s.priorities).toEqual([2, -1]);
    centerPriorities(s); // sum 1, floor(1/2) = 0
    expect(s.priorities).toEqual([2, -1]);
    expect(incrementPriorities(s, 1)).toBe(0);
  });

  it('integer division matches Go: truncation for int64 /, floor for big.Int.Div', () => {
    expect([divTrunc(7, 2), divTrunc(-7, 2), divTrunc(-8, 2)]).toEqual([3, -3, -4]);
    expect([divFloor(7, 2), divFloor(-7, 2), divFloor(-8, 2), divFloor(-11, 4)]).toEqual([3, -4, -4, -3]);
    // Exact where a float quotient would round up to the next integer.
    const big = 2 ** 45 * 150 - 1;
    expect(divFloor(big, 150)).toBe(2 ** 45 - 1);
  });

  it('hash is order-independent of input order and changes with power', () => {
    const { keys, set } = validators([1, 2, 3]);
    const reversed = ValidatorSet.genesis(
      [...keys].reverse().map((k, i) => ({ publicKey: k.publicKey, power: [3, 2, 1][i] })),
    );
    expect(reversed.hash()).toEqual(set.hash());
    expect(validators([1, 2, 4]).set.hash()).not.toEqual(set.hash());
  });

  it('fromParts rebuilds an identical set', () => {
    const { set } = validators([1, 2, 3]);
    const s2 = set.next([]);
    const copy = ValidatorSet.fromParts(s2.validators, s2.priorities, s2.proposer0);
    expect([0, 1, 2, 3, 4].map((r) => copy.proposerIndex(r))).toEqual(
      [0, 1, 2, 3, 4].map((r) => s2.proposerIndex(r)),
    );
    expect(copy.next([]).priorities).toEqual(s2.next([]).priorities);
  });
});
