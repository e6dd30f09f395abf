import { describe, expect, it } from 'vitest';
import { evidenceProblem } from '../../consensus/validation.js';
import { ValidatorSet } from '../../consensus/validatorSet.js';
import { addressOf } from '../../core/address.js';
import { signProposal, signVote, VOTE_PRECOMMIT, VOTE_PREVOTE } from '../../core/block.js';
import { generateKeyPair } from '../../core/keys.js';
import { conflictingMessage, equivocationFrom } from '../../node/equivocator.js';

const CHAIN = 'equivocator';

describe('test-only equivocator (fault equivocate)', () => {
  const kp = generateKeyPair();
  const me = addressOf(kp.publicKey);
  const set = ValidatorSet.genesis([{ publicKey: kp.publicKey, power: 10 }]);
  const both = { votes: true, proposals: true };

  it('parses the fault names', () => {
    expect(equivocationFrom([''])).toBeNull();
    expect(equivocationFrom(['equivocate'])).toEqual(both);
    expect(equivocationFrom(['wrongSettle', 'equivocateVotes'])).toEqual({ votes: true, proposals: false });
    expect(equivocationFrom(['equivocateProposals'])).toEqual({ votes: false, proposals: true });
  });

  it('every twin it signs is valid evidence against it (votes for a block or nil, proposals)', () => {
    const block = new Uint8Array(32).fill(9);
    for (const [kind, blockHash] of [
      [VOTE_PREVOTE, block],
      [VOTE_PRECOMMIT, null],
    ] as const) {
      const vote = signVote(CHAIN, { kind, height: 3, round: 1, blockHash, validator: me }, kp.secretKey);
      const twin = conflictingMessage(CHAIN, { type: 'vote', vote }, kp.secretKey, both);
      if (twin?.type !== 'vote') throw new Error('no twin vote');
      expect(
        evidenceProblem(CHAIN, { kind: 'duplicateVote', voteA: vote, voteB: twin.vote }, set),
      ).toBeNull();
    }
    const proposal = signProposal(
      CHAIN,
      { height: 3, round: 0, polRound: -1, blockHash: block, proposer: me },
      kp.secretKey,
    );
    const twin = conflictingMessage(CHAIN, { type: 'proposal', proposal }, kp.secretKey, both);
    if (twin?.type !== 'proposal') throw new Error('no twin proposal');
    expect(
      evidenceProblem(
        CHAIN,
        { kind: 'duplicateProposal', proposalA: proposal, proposalB: twin.proposal },
        set,
      ),
    ).toBeNull();
    expect(
      conflictingMessage(CHAIN, { type: 'proposal', proposal }, kp.secretKey, {
        votes: true,
        proposals: false,
      }),
    ).toBeNull();
  });
});
