import { describe, expect, it } from 'vitest';
import type { ConsensusMessage } from '../../consensus/validation.js';
import { addressOf } from '../../core/address.js';
import { signVote, VOTE_PRECOMMIT, VOTE_PREVOTE, type VoteKind } from '../../core/block.js';
import { generateKeyPair } from '../../core/keys.js';
import { FUTURE_INPUTS_PER_VALIDATOR_MAX, FutureGate } from '../../node/futureGate.js';

const kp = generateKeyPair();
const other = generateKeyPair();
const vote = (
  who: typeof kp,
  height: number,
  round: number,
  kind: VoteKind = VOTE_PREVOTE,
): ConsensusMessage => ({
  type: 'vote',
  vote: signVote(
    'gate',
    { kind, height, round, blockHash: null, validator: addressOf(who.publicKey) },
    who.secretKey,
  ),
});

describe('next-height buffer, bounded per validator (issue 18, hole 5)', () => {
  it(`admits FUTURE_INPUTS_PER_VALIDATOR_MAX (${FUTURE_INPUTS_PER_VALIDATOR_MAX}) distinct messages of h+1 per validator, not one more; repeats and other validators pass`, () => {
    const gate = new FutureGate();
    for (let r = 0; r < FUTURE_INPUTS_PER_VALIDATOR_MAX; r++)
      expect(gate.admit(vote(kp, 11, r), 10)).toBe(true);
    // A byzantine validator voting for thousands of rounds of the next height: refused from here.
    expect(gate.admit(vote(kp, 11, FUTURE_INPUTS_PER_VALIDATOR_MAX), 10)).toBe(false);
    expect(gate.admit(vote(kp, 11, 5000, VOTE_PRECOMMIT), 10)).toBe(false);
    expect(gate.admit(vote(kp, 11, 0), 10)).toBe(true); // a repeat (re-gossip)
    expect(gate.admit(vote(other, 11, 0), 10)).toBe(true); // the honest ones are unaffected
    expect(gate.admit(vote(kp, 10, 9999), 10)).toBe(true); // the core's own height: not the gate's
  });

  it('starts afresh when the core moves on', () => {
    const gate = new FutureGate(1);
    expect(gate.admit(vote(kp, 11, 0), 10)).toBe(true);
    expect(gate.admit(vote(kp, 11, 1), 10)).toBe(false);
    expect(gate.admit(vote(kp, 12, 1), 11)).toBe(true);
  });
});
