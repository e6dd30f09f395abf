import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConsensusMessage,
  encodeConsensusMessage,
  MessageValidator,
  type ValidationContext,
} from '../../consensus/validation.js';
import { VOTE_PREVOTE } from '../../core/block.js';
import { CHAIN, hashOf, proposal, testKey, validators, vote } from './helpers.js';

const A = hashOf('A');

describe('network message validation', () => {
  const { keys, set } = validators([1, 1, 1, 1]);
  const next = set.next([]);
  const ctx: ValidationContext = {
    chainId: CHAIN,
    height: 5,
    validatorsAt: (h) => (h === 5 ? set : h === 6 ? next : null),
  };
  const bytes = (m: ConsensusMessage, chain = CHAIN) => encodeConsensusMessage(chain, m);
  const check = (v: MessageValidator, b: Uint8Array) => {
    const r = v.validateBytes(b, ctx);
    return r.ok ? 'ok' : `${r.reason}/${r.action}`;
  };

  it('accepts well-formed, signed messages of the current and next height', () => {
    const v = new MessageValidator();
    const good = vote(keys[1], VOTE_PREVOTE, 5, 0, A);
    const r = v.validateBytes(bytes({ type: 'vote', vote: good }), ctx);
    expect(r).toMatchObject({ ok: true, input: { type: 'vote', vote: good } });
    expect(check(v, bytes({ type: 'vote', vote: vote(keys[1], VOTE_PREVOTE, 6, 0, null) }))).toBe('ok');
    const p = proposal(keys[set.proposerIndex(2)], 5, 2, A, 1);
    expect(check(v, bytes({ type: 'proposal', proposal: p }))).toBe('ok');
    expect(v.accepted).toBe(3);
  });

  it('rejects each kind of bad message with a typed reason, and counts it', () => {
    const v = new MessageValidator();
    const stranger = testKey('stranger');
    const good = vote(keys[1], VOTE_PREVOTE, 5, 0, A);
    expect(check(v, new Uint8Array([0xc1]))).toBe('DECODE/reject');
    expect(check(v, bytes({ type: 'vote', vote: good }).subarray(0, 20))).toBe('DECODE/reject');
    expect(check(v, bytes({ type: 'vote', vote: good }, 'other-chain'))).toBe('WRONG_CHAIN/reject');
    expect(check(v, bytes({ type: 'vote', vote: vote(keys[1], VOTE_PREVOTE, 4, 0, A) }))).toBe(
      'HEIGHT_TOO_OLD/ignore',
    );
    expect(check(v, bytes({ type: 'vote', vote: vote(keys[1], VOTE_PREVOTE, 7, 0, A) }))).toBe(
      'HEIGHT_TOO_NEW/ignore',
    );
    expect(check(v, bytes({ type: 'vote', vote: vote(stranger, VOTE_PREVOTE, 5, 0, A) }))).toBe(
      'UNKNOWN_VALIDATOR/reject',
    );
    expect(check(v, bytes({ type: 'vote', vote: { ...good, blockHash: hashOf('B') } }))).toBe(
      'BAD_SIGNATURE/reject',
    );
    const wrongProposer = proposal(keys[(set.proposerIndex(0) + 1) % 4], 5, 0, A);
    expect(check(v, bytes({ type: 'proposal', proposal: wrongProposer }))).toBe('WRONG_PROPOSER/reject');
    const p = proposal(keys[set.proposerIndex(1)], 5, 1, A);
    expect(check(v, bytes({ type: 'proposal', proposal: { ...p, polRound: 1 } }))).toBe(
      'BAD_POL_ROUND/reject',
    );
    expect(check(v, bytes({ type: 'proposal', proposal: { ...p, polRound: 0 } }))).toBe(
      'BAD_SIGNATURE/reject',
    );
    // A signature made for another chain does not verify here.
    const foreign = {
      ...good,
      signature: vote(keys[1], VOTE_PREVOTE, 5, 0, A).signature.map((x, i) => (i === 0 ? x ^ 1 : x)),
    };
    expect(check(v, bytes({ type: 'vote', vote: foreign }))).toBe('BAD_SIGNATURE/reject');
    expect(v.rejected).toMatchObject({
      DECODE: 2,
      WRONG_CHAIN: 1,
      HEIGHT_TOO_OLD: 1,
      HEIGHT_TOO_NEW: 1,
      UNKNOWN_VALIDATOR: 1,
      BAD_SIGNATURE: 3,
      WRONG_PROPOSER: 1,
      BAD_POL_ROUND: 1,
    });
    expect(v.accepted).toBe(0);
  });

  it('checks evidence: two different signed votes of one validator at one step', () => {
    const v = new MessageValidator();
    const a = vote(keys[2], VOTE_PREVOTE, 5, 1, A);
    const b = vote(keys[2], VOTE_PREVOTE, 5, 1, null);
    expect(
      check(v, bytes({ type: 'evidence', evidence: { kind: 'duplicateVote', voteA: a, voteB: b } })),
    ).toBe('ok');
    expect(
      check(v, bytes({ type: 'evidence', evidence: { kind: 'duplicateVote', voteA: a, voteB: a } })),
    ).toBe('BAD_EVIDENCE/reject');
    const other = vote(keys[3], VOTE_PREVOTE, 5, 1, null);
    expect(
      check(v, bytes({ type: 'evidence', evidence: { kind: 'duplicateVote', voteA: a, voteB: other } })),
    ).toBe('BAD_EVIDENCE/reject');
  });

  it('never throws on arbitrary bytes or mutated messages', () => {
    const v = new MessageValidator();
    const good = bytes({ type: 'vote', vote: vote(keys[1], VOTE_PREVOTE, 5, 0, A) });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc
            .tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }))
            .map(([i, x]) => {
              const m = new Uint8Array(good);
              m[i] = x;
              return m;
            }),
        ),
        (b) => {
          const r = v.validateBytes(b, ctx);
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { seed: 7, numRuns: 500 },
    );
  });
});
