/**
 * Attacks on the consensus core by byzantine validators (issue 18), each written as the attack
 * first; every test here failed on the code before its fix.
 */
import { describe, expect, it } from 'vitest';
import type { CoreOutput } from '../../consensus/messages.js';
import {
  FAR_VOTES_PER_VALIDATOR_ROUND_MAX,
  isRedundant,
  STEP_COMMIT,
  VOTE_ROUNDS_AHEAD_MAX,
} from '../../consensus/stateMachine.js';
import { encodeConsensusMessage, evidenceProblem, MessageValidator } from '../../consensus/validation.js';
import { valueKey } from '../../consensus/voteSet.js';
import { MemoryWalBackend, scanWal } from '../../consensus/wal.js';
import { decodeEvidence, encodeEvidence, ROUND_MAX, VOTE_PRECOMMIT, VOTE_PREVOTE } from '../../core/block.js';
import { CHAIN, casts, Harness, hashOf, hex, observerDriver, proposal, validators, vote } from './helpers.js';

const A = hashOf('A');
const others = (self: number, n = 4): number[] => [...Array(n).keys()].filter((i) => i !== self);
const asks = (out: CoreOutput[]) =>
  out.filter((o): o is Extract<CoreOutput, { type: 'validateValue' }> => o.type === 'validateValue');
/** A refusal that depends on this node's clock (block time beyond the drift bound). */
const refuseForNow = (h: Harness, value: Uint8Array) =>
  h.input({ type: 'valueValidity', height: h.state.height, blockHash: value, valid: false, transient: true });

describe('hole 2: a clock-dependent refusal never sticks', () => {
  it('a proposer dating its block at the drift edge: the node that refused it still decides it on 2f+1 precommits', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    // Our clock is a little behind the proposer's: the block looks too far ahead → prevote nil.
    expect(casts(refuseForNow(h, A))).toEqual([{ kind: VOTE_PREVOTE, round: 0, value: null }]);
    expect(h.state.validity.has(valueKey(A))).toBe(false);
    // The other three accepted it and precommit it: the core asks again, marked decided, so the
    // application does not hold the block to its own clock.
    const out = h.votes(VOTE_PRECOMMIT, 0, A, others(self));
    expect(asks(out)).toEqual([expect.objectContaining({ blockHash: A, decided: true })]);
    const decided = h.valid(A);
    expect(decided.some((o) => o.type === 'decide')).toBe(true);
    expect(h.state.step).toBe(STEP_COMMIT);
  });

  it('a refused value is asked again when it is proposed in the next round', () => {
    const self = Harness.nonProposerFor([0, 1]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    refuseForNow(h, A);
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 });
    expect(h.state.round).toBe(1);
    const asked = h.propose(1, A);
    expect(asks(asked)).toEqual([expect.objectContaining({ blockHash: A, round: 1, decided: false })]);
    // Our clock caught up: the same block is now valid and we prevote it.
    expect(casts(h.valid(A))).toEqual([{ kind: VOTE_PREVOTE, round: 1, value: hex(A) }]);
  });

  it('a refused value is still decided from a commit certificate (block sync)', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    refuseForNow(h, A);
    const commit = {
      height: 1,
      round: 0,
      blockHash: A,
      signatures: others(self).map((i) => ({
        validator: h.keys[i].address,
        signature: vote(h.keys[i], VOTE_PRECOMMIT, 1, 0, A).signature,
      })),
    };
    const out = h.input({ type: 'commitCertificate', commit });
    expect(asks(out)).toEqual([expect.objectContaining({ blockHash: A, decided: true })]);
    expect(h.valid(A).some((o) => o.type === 'decide')).toBe(true);
  });

  it('a final refusal is kept (deterministic rules); a transient one is never written to the WAL', () => {
    const { set } = validators([1, 1, 1, 1]);
    const backend = new MemoryWalBackend();
    const driver = observerDriver(set, backend);
    driver.start();
    const B = hashOf('B');
    driver.input({ type: 'valueValidity', height: 1, blockHash: A, valid: false, transient: true });
    driver.input({ type: 'valueValidity', height: 1, blockHash: B, valid: false });
    expect(scanWal(backend.read(1)).inputs).toEqual([
      { type: 'valueValidity', height: 1, blockHash: B, valid: false },
    ]);
    expect(driver.state.validity.get(valueKey(B))).toBe(false);
    expect(driver.state.validity.has(valueKey(A))).toBe(false);
  });
});

describe('hole 3: votes are tallied only within a round window', () => {
  /** A structurally valid vote (the core does not check signatures: validation.ts does). */
  const unsignedVote = (validator: Uint8Array, kind: 1 | 2, round: number, blockHash: Uint8Array | null) => ({
    kind,
    height: 1,
    round,
    blockHash,
    validator,
    signature: new Uint8Array(64),
  });

  it('150 validators, 16 byzantine each sending one prevote per round up to ROUND_MAX: memory and WAL stay bounded', () => {
    const n = 150;
    const byzantine = 16;
    const { keys, set } = validators(new Array(n).fill(1));
    const backend = new MemoryWalBackend();
    const driver = observerDriver(set, backend);
    driver.start();
    for (let round = 0; round <= ROUND_MAX; round++)
      for (let b = 0; b < byzantine; b++)
        driver.input({ type: 'vote', vote: unsignedVote(keys[b].address, VOTE_PREVOTE, round, A) });
    const s = driver.state;
    expect(s.round).toBe(0); // 16 of 150 are not f+1: no round skip
    const held = s.votes.size();
    // Before the window: 10,001 rounds allocated with 16 votes each (~530 MB with dense sets).
    expect(held.rounds).toBeLessThanOrEqual(VOTE_ROUNDS_AHEAD_MAX + 1);
    expect(held.votes).toBeLessThanOrEqual(byzantine * (VOTE_ROUNDS_AHEAD_MAX + 1));
    expect(s.aheadRound.length).toBe(n);
    const logged = scanWal(backend.read(1)).inputs.length;
    expect(logged).toBeLessThanOrEqual(
      byzantine * (VOTE_ROUNDS_AHEAD_MAX + 1 + FAR_VOTES_PER_VALIDATOR_ROUND_MAX),
    );
  });

  it('round skip still works from beyond the window: f+1 validators seen in rounds ≥ R → StartRound(R)', () => {
    const self = 0;
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.input({ type: 'vote', vote: unsignedVote(h.keys[1].address, VOTE_PREVOTE, 60, null) });
    expect(h.state.round).toBe(0);
    h.input({ type: 'vote', vote: unsignedVote(h.keys[2].address, VOTE_PRECOMMIT, 50, null) });
    expect(h.state.round).toBe(50);
    // Now in the window again: votes of round 50–52 are tallied as usual.
    h.input({ type: 'vote', vote: unsignedVote(h.keys[1].address, VOTE_PREVOTE, 50, null) });
    expect(h.state.votes.round(50).prevotes.totalVoted).toBe(1);
  });

  it('one validator cannot buy more than FAR_VOTES_PER_VALIDATOR_ROUND_MAX far-ahead records per round', () => {
    const h = new Harness({ self: 0 });
    h.input({ type: 'start' });
    for (let r = 10; r < 20; r++)
      h.input({ type: 'vote', vote: unsignedVote(h.keys[3].address, VOTE_PREVOTE, r, null) });
    expect(h.state.aheadRound[3]).toBe(10 + FAR_VOTES_PER_VALIDATOR_ROUND_MAX - 1);
    expect(h.state.votes.size().rounds).toBe(0);
  });
});

describe('audit: proposals', () => {
  it('a proposal from a non-proposer, with a forged POL round, or far ahead is ignored; a forged POL never gets a prevote', () => {
    const self = Harness.nonProposerFor([0, 1]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    const wrong = (h.proposerOf(0) + 1) % 4 === self ? (h.proposerOf(0) + 2) % 4 : (h.proposerOf(0) + 1) % 4;
    const before = h.state.ignored;
    expect(h.input({ type: 'proposal', proposal: proposal(h.keys[wrong], 1, 0, A, -1) })).toEqual([]);
    expect(h.input({ type: 'proposal', proposal: proposal(h.keys[h.proposerOf(0)], 1, 0, A, 0) })).toEqual(
      [],
    ); // polRound ≥ round
    const far = VOTE_ROUNDS_AHEAD_MAX + 1;
    expect(
      h.input({ type: 'proposal', proposal: proposal(h.keys[h.proposerOf(far)], 1, far, A, -1) }),
    ).toEqual([]);
    expect(h.state.ignored).toBe(before + 3);
    expect(h.state.proposals.size).toBe(0);
    // Round 1: the right proposer claims a proof of lock from round 0 that nobody saw.
    h.input({ type: 'timeout', kind: 'propose', height: 1, round: 0 });
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 });
    const out = h.propose(1, A, 0);
    h.valid(A);
    expect(casts([...out, ...h.valid(A)])).toEqual([]); // L28 waits for 2f+1 prevotes of round 0
    expect(casts(h.input({ type: 'timeout', kind: 'propose', height: 1, round: 1 }))).toEqual([
      { kind: VOTE_PREVOTE, round: 1, value: null },
    ]);
  });
});

describe('audit: double proposals (two signed proposals for one (height, round))', () => {
  const B = hashOf('B');
  const evidenceOf = (out: CoreOutput[]) =>
    out.filter((o): o is Extract<CoreOutput, { type: 'evidence' }> => o.type === 'evidence');

  it('the second, different proposal of the round becomes evidence once; the first is kept', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    const p = h.keys[h.proposerOf(0)];
    const first = proposal(p, 1, 0, A);
    const second = proposal(p, 1, 0, B);
    h.input({ type: 'proposal', proposal: first });
    expect(isRedundant(h.state, { type: 'proposal', proposal: first })).toBe(true); // a repeat
    expect(isRedundant(h.state, { type: 'proposal', proposal: second })).toBe(false); // evidence
    const ev = evidenceOf(h.input({ type: 'proposal', proposal: second }));
    expect(ev).toHaveLength(1);
    const e = ev[0].evidence;
    expect(e.kind).toBe('duplicateProposal');
    if (e.kind !== 'duplicateProposal') return;
    expect(new Set([hex(e.proposalA.blockHash), hex(e.proposalB.blockHash)])).toEqual(
      new Set([hex(A), hex(B)]),
    );
    expect(h.state.proposals.get(0)?.blockHash).toEqual(A);
    // Another conflicting proposal (a third block, another polRound) adds nothing and is dropped
    // before the WAL: the evidence is bounded by one per round whatever the proposer signs.
    const third = proposal(p, 1, 0, hashOf('C'));
    expect(isRedundant(h.state, { type: 'proposal', proposal: third })).toBe(true);
    expect(evidenceOf(h.input({ type: 'proposal', proposal: third }))).toEqual([]);
    // Every node produces the same bytes for one offence, whatever the arrival order.
    const g = new Harness({ self });
    g.input({ type: 'start' });
    g.input({ type: 'proposal', proposal: second });
    const ev2 = evidenceOf(g.input({ type: 'proposal', proposal: first }));
    expect(ev2.map((o) => hex(encodeEvidence(o.evidence)))).toEqual([hex(encodeEvidence(e))]);
    expect(evidenceProblem(CHAIN, e, h.set)).toBeNull();
  });

  it('the same block with another polRound is a double proposal too; a non-proposer is not evidence', () => {
    const self = Harness.nonProposerFor([1]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.input({ type: 'timeout', kind: 'propose', height: 1, round: 0 });
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 });
    const p = h.keys[h.proposerOf(1)];
    h.input({ type: 'proposal', proposal: proposal(p, 1, 1, A, -1) });
    expect(evidenceOf(h.input({ type: 'proposal', proposal: proposal(p, 1, 1, A, 0) }))).toHaveLength(1);
    const wrong = h.keys.findIndex((_, i) => i !== h.proposerOf(1) && i !== self);
    expect(evidenceOf(h.input({ type: 'proposal', proposal: proposal(h.keys[wrong], 1, 1, B) }))).toEqual([]);
  });

  it('evidenceProblem: forged signature, same proposal twice, other heights/rounds, non-validator, non-proposer', () => {
    const { keys, set } = validators([1, 1, 1, 1]);
    const pi = set.proposerIndex(0);
    const p = keys[pi];
    const a = proposal(p, 1, 0, A);
    const dp = (proposalA: typeof a, proposalB: typeof a) =>
      evidenceProblem(CHAIN, { kind: 'duplicateProposal', proposalA, proposalB }, set);
    expect(dp(a, proposal(p, 1, 0, B))).toBeNull();
    expect(dp(a, { ...proposal(p, 1, 0, B), signature: new Uint8Array(64) })).toBe('bad proposal signature');
    expect(dp(a, { ...proposal(p, 1, 0, B), signature: a.signature })).toBe('bad proposal signature');
    expect(dp(a, a)).toBe('proposals are the same');
    expect(dp(a, proposal(p, 2, 0, B))).toBe('proposals are not at one height/round');
    expect(dp(a, proposal(p, 1, 1, B))).toBe('proposals are not at one height/round');
    expect(dp(a, proposal(keys[(pi + 1) % 4], 1, 0, B))).toBe('proposals are from different proposers');
    const outsider = validators([1], 'x').keys[0];
    expect(dp(proposal(outsider, 1, 0, A), proposal(outsider, 1, 0, B))).toBe(
      'signer is not a validator at that height',
    );
    const np = keys[(pi + 1) % 4];
    expect(dp(proposal(np, 1, 0, A), proposal(np, 1, 0, B))).toBe('signer is not the proposer of round 0');
  });

  it('double-proposal evidence crosses the wire: MessageValidator accepts it, rejects forged pieces', () => {
    const { keys, set } = validators([1, 1, 1, 1]);
    const p = keys[set.proposerIndex(0)];
    const ctx = { chainId: CHAIN, height: 2, validatorsAt: (x: number) => (x <= 2 ? set : null) };
    const v = new MessageValidator();
    const good = {
      kind: 'duplicateProposal' as const,
      proposalA: proposal(p, 1, 0, A),
      proposalB: proposal(p, 1, 0, B),
    };
    const r = v.validateBytes(encodeConsensusMessage(CHAIN, { type: 'evidence', evidence: good }), ctx);
    expect(r.ok && r.message).toEqual({ type: 'evidence', evidence: good });
    const forged = { ...good, proposalB: { ...good.proposalB, signature: new Uint8Array(64).fill(7) } };
    const bad = v.validateBytes(encodeConsensusMessage(CHAIN, { type: 'evidence', evidence: forged }), ctx);
    expect(bad.ok ? 'ok' : `${bad.reason}/${bad.action}`).toBe('BAD_EVIDENCE/reject');
    expect(decodeEvidence(encodeEvidence(good))).toEqual(good);
  });
});
