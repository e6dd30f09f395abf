import { describe, expect, it } from 'vitest';
import { evidenceProblem } from '../../consensus/validation.js';
import { ValidatorSet } from '../../consensus/validatorSet.js';
import { addressOf } from '../../core/address.js';
import { type Evidence, signProposal, signVote, VOTE_PREVOTE } from '../../core/block.js';
import { generateKeyPair, type KeyPair } from '../../core/keys.js';
import { EVIDENCE_POOL_MAX, EvidencePool } from '../../node/evidencePool.js';
import { evidenceMaxAge } from '../../vm/staking.js';

const CHAIN = 'evidence-pool';

/** Real double-sign evidence: `kp` prevotes two different blocks at (height, round). */
function doubleSign(kp: KeyPair, height: number, round = 0): Evidence {
  const vote = (fill: number) =>
    signVote(
      CHAIN,
      {
        kind: VOTE_PREVOTE,
        height,
        round,
        blockHash: new Uint8Array(32).fill(fill),
        validator: addressOf(kp.publicKey),
      },
      kp.secretKey,
    );
  return { kind: 'duplicateVote', voteA: vote(1), voteB: vote(2) };
}

describe('evidence pool (issue 18, hole 5)', () => {
  it('keeps one piece per offender: a validator flooding evidence against itself adds one, and the rest are not forwarded', () => {
    const kp = generateKeyPair();
    const set = ValidatorSet.genesis([{ publicKey: kp.publicKey, power: 10 }]);
    const pool = new EvidencePool();
    const first = doubleSign(kp, 5);
    expect(evidenceProblem(CHAIN, first, set)).toBeNull(); // valid evidence, not a strawman
    expect(pool.add(first)).toBe(true);
    expect(pool.add(first)).toBe(false); // duplicate
    for (let r = 1; r <= 500; r++) expect(pool.add(doubleSign(kp, 5, r))).toBe(false);
    expect(pool.size).toBe(1);
    expect(pool.list()).toEqual([first]);
  });

  // Attack (review): an equivocator seeds every honest pool with a valid piece against itself from
  // an old height, one the block builder will not include (older than evidenceMaxAge, which is
  // below EVIDENCE_HEIGHTS_KEPT whenever unbondingBlocks or evidenceMaxAgeBlocks is under 100),
  // then equivocates at the tip: before, the pool kept only the first piece per offender, so the
  // fresh evidence was dropped and never forwarded, and the offender went unpunished for as long
  // as it re-seeded. A later offence now replaces the held piece (and is forwarded).
  it('a piece of a later offence replaces the held one, so an old unincludable piece cannot shield an offender', () => {
    const kp = generateKeyPair();
    const set = ValidatorSet.genesis([{ publicKey: kp.publicKey, power: 10 }]);
    const maxAge = evidenceMaxAge({ evidenceMaxAgeBlocks: 1000n, unbondingBlocks: 20n });
    const nextHeight = 101;
    const seed = doubleSign(kp, 60);
    expect(evidenceProblem(CHAIN, seed, set)).toBeNull(); // gossip accepts it
    expect(nextHeight - 60).toBeGreaterThan(maxAge); // but no block may include it
    const pool = new EvidencePool();
    expect(pool.add(seed)).toBe(true);
    const fresh = doubleSign(kp, 99);
    expect(pool.add(fresh)).toBe(true);
    expect(pool.list()).toEqual([fresh]);
    expect(pool.size).toBe(1);
    // Still one piece per offender: older or same-height pieces neither replace nor forward.
    expect(pool.add(seed)).toBe(false);
    expect(pool.add(doubleSign(kp, 99, 1))).toBe(false);
    expect(pool.list()).toEqual([fresh]);
  });

  it(`holds at most EVIDENCE_POOL_MAX (${EVIDENCE_POOL_MAX}) pieces, forgetting the oldest arrival past it`, () => {
    const pool = new EvidencePool(3);
    const pieces = [1, 2, 3, 4].map((h) => doubleSign(generateKeyPair(), h));
    for (const e of pieces.slice(0, 3)) expect(pool.add(e)).toBe(true);
    expect(pool.size).toBe(3);
    expect(pool.add(pieces[3])).toBe(true);
    expect(pool.size).toBe(3);
    expect(pool.list()).toEqual(pieces.slice(1));
  });

  it('prunes included pieces and those too old to slash', () => {
    const pool = new EvidencePool();
    const [a, b, c] = [10, 20, 30].map((h) => doubleSign(generateKeyPair(), h));
    for (const e of [a, b, c]) pool.add(e);
    pool.prune([c], 10);
    expect(pool.list()).toEqual([b]);
  });

  it('double-proposal evidence is pooled, one piece per offender across kinds, and pruned once included', () => {
    const kp = generateKeyPair();
    const set = ValidatorSet.genesis([{ publicKey: kp.publicKey, power: 10 }]);
    const prop = (fill: number) =>
      signProposal(
        CHAIN,
        {
          height: 7,
          round: 0,
          polRound: -1,
          blockHash: new Uint8Array(32).fill(fill),
          proposer: addressOf(kp.publicKey),
        },
        kp.secretKey,
      );
    const e: Evidence = { kind: 'duplicateProposal', proposalA: prop(1), proposalB: prop(2) };
    expect(evidenceProblem(CHAIN, e, set)).toBeNull();
    const pool = new EvidencePool();
    expect(pool.add(e)).toBe(true);
    expect(pool.add(doubleSign(kp, 7))).toBe(false); // the same offender: one piece tombstones it
    pool.prune([], 6);
    expect(pool.list()).toEqual([e]);
    pool.prune([e], 0);
    expect(pool.size).toBe(0);
    const other: Evidence = { kind: 'duplicateProposal', proposalA: prop(3), proposalB: prop(4) };
    expect(pool.add(other)).toBe(true);
    pool.prune([], 7); // at or below minHeight: too old for the vm
    expect(pool.size).toBe(0);
  });
});
