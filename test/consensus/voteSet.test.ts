import { describe, expect, it } from 'vitest';
import { HeightVotes, VALUES_PER_VALIDATOR_MAX, VoteSet } from '../../consensus/voteSet.js';
import { VOTE_PRECOMMIT, VOTE_PREVOTE } from '../../core/block.js';
import { hashOf, validators, vote } from './helpers.js';

const A = hashOf('A');
const B = hashOf('B');

describe('vote sets', () => {
  const { keys, set } = validators([1, 2, 3, 4]); // total 10: quorum needs 7, f+1 needs 4

  it('tallies power per value and in total; duplicates are harmless', () => {
    const vs = new VoteSet(VOTE_PREVOTE, 0);
    expect(vs.add(vote(keys[3], VOTE_PREVOTE, 1, 0, A), 3, set)).toEqual({ status: 'added' });
    expect(vs.add(vote(keys[3], VOTE_PREVOTE, 1, 0, A), 3, set)).toEqual({ status: 'duplicate' });
    expect(vs.add(vote(keys[2], VOTE_PREVOTE, 1, 0, null), 2, set)).toEqual({ status: 'added' });
    expect([vs.powerFor(A), vs.powerFor(null), vs.totalVoted]).toEqual([4, 3, 7]);
    expect(set.isQuorum(vs.totalVoted)).toBe(true);
    expect(vs.quorumValue(set)).toBeNull();
    vs.add(vote(keys[2 - 1], VOTE_PREVOTE, 1, 0, A), 1, set);
    vs.add(vote(keys[0], VOTE_PREVOTE, 1, 0, A), 0, set);
    expect(vs.powerFor(A)).toBe(7);
    expect(vs.quorumValue(set)).toEqual(A);
    expect(vs.votesFor(A).map((v) => v.validator)).toEqual([
      keys[0].address,
      keys[1].address,
      keys[3].address,
    ]);
  });

  it('thresholds are strict: exactly 2/3 is not a quorum, exactly 1/3 is not f+1', () => {
    const three = validators([1, 1, 1]).set;
    expect([three.isQuorum(2), three.isQuorum(3), three.isOneThird(1), three.isOneThird(2)]).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });

  it('a conflicting vote is evidence, ordered canonically, reported once per validator', () => {
    const vs = new VoteSet(VOTE_PRECOMMIT, 2);
    const va = vote(keys[1], VOTE_PRECOMMIT, 1, 2, A);
    const vb = vote(keys[1], VOTE_PRECOMMIT, 1, 2, B);
    vs.add(vb, 1, set);
    const r = vs.add(va, 1, set);
    expect(r.status).toBe('conflict');
    const ev = (r as { evidence: { voteA: { blockHash: Uint8Array }; voteB: { blockHash: Uint8Array } } })
      .evidence;
    const sorted = [A, B].sort((x, y) =>
      Buffer.from(x).toString('latin1').localeCompare(Buffer.from(y).toString('latin1')),
    );
    expect([ev.voteA.blockHash, ev.voteB.blockHash]).toEqual(sorted);
    expect(vs.add(vote(keys[1], VOTE_PRECOMMIT, 1, 2, null), 1, set)).toEqual({
      status: 'conflict',
      evidence: null,
    });
    // The equivocator counts once in the total, but in each value it signed (up to the bound).
    expect(vs.totalVoted).toBe(2);
    expect([vs.powerFor(A), vs.powerFor(B), vs.powerFor(null)]).toEqual([2, 2, 2]);
  });

  it(`counts at most ${VALUES_PER_VALIDATOR_MAX} values per validator`, () => {
    const vs = new VoteSet(VOTE_PREVOTE, 0);
    for (let i = 0; i < 6; i++) vs.add(vote(keys[0], VOTE_PREVOTE, 1, 0, hashOf(`v${i}`)), 0, set);
    const counted = [0, 1, 2, 3, 4, 5].filter((i) => vs.powerFor(hashOf(`v${i}`)) > 0);
    expect(counted).toEqual([0, 1, 2]);
  });

  it('height votes keep rounds apart and report f+1 presence per round', () => {
    const hv = new HeightVotes(1, set);
    hv.add(vote(keys[3], VOTE_PREVOTE, 1, 5, null), 3);
    hv.add(vote(keys[3], VOTE_PRECOMMIT, 1, 5, null), 3);
    expect(hv.round(5).seenPower).toBe(4);
    expect(set.isOneThird(hv.round(5).seenPower)).toBe(true);
    expect(hv.roundsWithVotes()).toEqual([5]);
    expect(() => hv.add(vote(keys[3], VOTE_PREVOTE, 2, 5, null), 3)).toThrow(/assertion/);
  });
});
