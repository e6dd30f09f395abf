import { describe, expect, it } from 'vitest';
import { VOTE_PREVOTE } from '../../core/block.js';
import { Invariants } from '../../devnet/sim/invariants.js';
import { Prng } from '../../devnet/sim/prng.js';
import { hashOf, testKey, vote } from './helpers.js';

describe('simulator checker and PRNG', () => {
  it('flags disagreement, an invalid decision and an honest double-sign', () => {
    const c = new Invariants();
    const k = testKey('x');
    c.onDecide(0, 1, hashOf('A'), 10, { height: 1, valid: true });
    c.onDecide(1, 1, hashOf('A'), 11, { height: 1, valid: true });
    expect(c.violations).toEqual([]);
    c.onDecide(2, 1, hashOf('B'), 12, { height: 1, valid: true });
    c.onDecide(3, 2, hashOf('C'), 13, { height: 2, valid: false });
    c.onHonestSign(0, { type: 'vote', vote: vote(k, VOTE_PREVOTE, 1, 0, null) }, 14);
    c.onHonestSign(0, { type: 'vote', vote: vote(k, VOTE_PREVOTE, 1, 0, null) }, 15);
    c.onHonestSign(0, { type: 'vote', vote: vote(k, VOTE_PREVOTE, 1, 0, hashOf('A')) }, 16);
    expect(c.violations.map((v) => v.kind)).toEqual(['agreement', 'validity', 'doubleSign']);
  });

  it('the PRNG is seeded, uniform enough, and in range', () => {
    const a = new Prng(5);
    const b = new Prng(5);
    const xs = Array.from({ length: 1000 }, () => a.int(10));
    expect(Array.from({ length: 1000 }, () => b.int(10))).toEqual(xs);
    expect(new Prng(6).u32()).not.toBe(new Prng(5).u32());
    const counts = new Array(10).fill(0);
    for (const x of xs) counts[x]++;
    for (const c of counts) expect(c).toBeGreaterThan(60);
    expect(Math.min(...xs)).toBe(0);
    expect(Math.max(...xs)).toBe(9);
    const r = new Prng(1);
    for (let i = 0; i < 100; i++) {
      const v = r.range(3, 5);
      expect(v >= 3 && v <= 5).toBe(true);
    }
  });
});
