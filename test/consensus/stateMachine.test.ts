import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CoreOutput } from '../../consensus/messages.js';
import { STEP_COMMIT, STEP_PRECOMMIT, STEP_PREVOTE } from '../../consensus/stateMachine.js';
import { VOTE_PRECOMMIT, VOTE_PREVOTE } from '../../core/block.js';
import { casts, Harness, hashOf, hex, testKey, vote } from './helpers.js';

const A = hashOf('A');
const B = hashOf('B');
const others = (self: number, n = 4): number[] => [...Array(n).keys()].filter((i) => i !== self);
const timeouts = (out: CoreOutput[]) =>
  out.filter((o): o is Extract<CoreOutput, { type: 'scheduleTimeout' }> => o.type === 'scheduleTimeout');

describe('Tendermint core (Algorithm 1), scripted', () => {
  it('L21/L22–L27: schedules timeoutPropose, then prevotes a valid proposal after asking the application', () => {
    const h = new Harness({ self: Harness.nonProposerFor([0]) });
    const start = h.input({ type: 'start' });
    expect(timeouts(start)).toEqual([
      expect.objectContaining({ kind: 'propose', round: 0, durationMs: 1000 }),
    ]);
    expect(start.some((o) => o.type === 'buildProposal')).toBe(false);
    const asked = h.propose(0, A);
    expect(asked).toEqual([expect.objectContaining({ type: 'validateValue', round: 0, blockHash: A })]);
    expect(casts(h.valid(A))).toEqual([{ kind: VOTE_PREVOTE, round: 0, value: hex(A) }]);
    expect(h.state.step).toBe(STEP_PREVOTE);
  });

  it('L26: prevotes nil on an invalid proposal', () => {
    const h = new Harness({ self: Harness.nonProposerFor([0]) });
    h.input({ type: 'start' });
    h.propose(0, A);
    expect(casts(h.valid(A, false))).toEqual([{ kind: VOTE_PREVOTE, round: 0, value: null }]);
  });

  it('L14–L19: the proposer asks the application for a block and proposes it with polRound −1', () => {
    const { set } = new Harness();
    const h = new Harness({ self: set.proposerIndex(0) });
    expect(h.input({ type: 'start' }).some((o) => o.type === 'buildProposal')).toBe(true);
    const out = h.input({ type: 'proposalBuilt', height: 1, round: 0, blockHash: A });
    expect(out).toEqual([
      { type: 'castProposal', proposal: expect.objectContaining({ round: 0, polRound: -1, blockHash: A }) },
    ]);
    // A late or stray answer is ignored.
    expect(h.input({ type: 'proposalBuilt', height: 1, round: 0, blockHash: B })).toEqual([]);
  });

  it('L57: timeoutPropose → prevote nil; L65: timeoutPrecommit → next round; timeouts grow with the round', () => {
    const h = new Harness({ self: Harness.nonProposerFor([0, 1, 2]) });
    h.input({ type: 'start' });
    expect(casts(h.input({ type: 'timeout', kind: 'propose', height: 1, round: 0 }))).toEqual([
      { kind: VOTE_PREVOTE, round: 0, value: null },
    ]);
    // A stale timeout does nothing.
    expect(h.input({ type: 'timeout', kind: 'propose', height: 1, round: 0 })).toEqual([]);
    const r1 = h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 });
    expect(h.state.round).toBe(1);
    expect(timeouts(r1)[0]).toMatchObject({ kind: 'propose', round: 1, durationMs: 1500 });
    const r2 = h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 1 });
    expect(timeouts(r2)[0]).toMatchObject({ kind: 'propose', round: 2, durationMs: 2000 });
  });

  it('L34/L61: 2f+1 prevotes for anything schedule timeoutPrevote, which precommits nil', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    h.echo(h.valid(A));
    const [x, y] = others(self);
    h.votes(VOTE_PREVOTE, 0, null, [x]);
    const out = h.votes(VOTE_PREVOTE, 0, B, [y]);
    expect(timeouts(out)).toEqual([expect.objectContaining({ kind: 'prevote', round: 0, durationMs: 400 })]);
    expect(casts(h.input({ type: 'timeout', kind: 'prevote', height: 1, round: 0 }))).toEqual([
      { kind: VOTE_PRECOMMIT, round: 0, value: null },
    ]);
  });

  it('L44: 2f+1 prevotes for nil → precommit nil', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.echo(h.input({ type: 'timeout', kind: 'propose', height: 1, round: 0 }));
    const [x, y] = others(self);
    expect(casts(h.votes(VOTE_PREVOTE, 0, null, [x, y]))).toEqual([
      { kind: VOTE_PRECOMMIT, round: 0, value: null },
    ]);
    expect(h.state.step).toBe(STEP_PRECOMMIT);
  });

  it('L36–L43: a polka for the proposal locks the value and precommits it', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    h.echo(h.valid(A));
    const [x, y] = others(self);
    expect(casts(h.votes(VOTE_PREVOTE, 0, A, [x, y]))).toEqual([
      { kind: VOTE_PRECOMMIT, round: 0, value: hex(A) },
    ]);
    expect(h.state.lockedRound).toBe(0);
    expect(hex(h.state.lockedValue as Uint8Array)).toBe(hex(A));
    expect(h.state.validRound).toBe(0);
  });

  /** Locks A in round 0, then moves to round 1 with the lock held. */
  function lockedOnA(unsafe?: { ignoreLock?: boolean }): { h: Harness; rest: number[] } {
    const self = Harness.nonProposerFor([0, 1, 2]);
    const h = new Harness({ self, unsafe });
    h.input({ type: 'start' });
    h.propose(0, A);
    h.echo(h.valid(A));
    const rest = others(self);
    h.echo(h.votes(VOTE_PREVOTE, 0, A, rest.slice(0, 2)));
    h.votes(VOTE_PRECOMMIT, 0, null, rest.slice(0, 2));
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 });
    expect(h.state.round).toBe(1);
    return { h, rest };
  }

  it('L23/L26: while locked on A, prevotes nil for a new value B', () => {
    const { h } = lockedOnA();
    h.propose(1, B);
    expect(casts(h.valid(B))).toEqual([{ kind: VOTE_PREVOTE, round: 1, value: null }]);
  });

  it('test-only ignoreLock switch: prevotes B despite the lock (the rule the simulator must catch)', () => {
    const { h } = lockedOnA({ ignoreLock: true });
    h.propose(1, B);
    expect(casts(h.valid(B))).toEqual([{ kind: VOTE_PREVOTE, round: 1, value: hex(B) }]);
  });

  it('L28–L30: unlocks on a newer polka: prevotes B proposed with polRound 1 > lockedRound 0', () => {
    const { h, rest } = lockedOnA();
    h.propose(1, B);
    h.echo(h.valid(B)); // nil: locked on A
    h.votes(VOTE_PREVOTE, 1, B, rest.slice(0, 2)); // 2 of 4: no polka yet at our end
    h.echo(h.input({ type: 'timeout', kind: 'prevote', height: 1, round: 1 }));
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 1 });
    expect(h.state.round).toBe(2);
    h.votes(VOTE_PREVOTE, 1, B, [rest[2]]); // the late third prevote: a polka for B in round 1
    expect(casts(h.propose(2, B, 1))).toEqual([{ kind: VOTE_PREVOTE, round: 2, value: hex(B) }]);
  });

  it('L28: without the claimed polka it does not prevote (waits for timeoutPropose)', () => {
    const { h, rest } = lockedOnA();
    h.propose(1, B);
    h.echo(h.valid(B));
    h.votes(VOTE_PREVOTE, 1, B, rest.slice(0, 1));
    h.input({ type: 'timeout', kind: 'prevote', height: 1, round: 1 });
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 1 });
    expect(casts(h.propose(2, B, 1))).toEqual([]);
  });

  it('L29/L32: a polka older than the lock does not unlock', () => {
    // Lock A in round 1 while a polka for B exists in round 0; B re-proposed with polRound 0 → nil.
    const self = Harness.nonProposerFor([0, 1, 2]);
    const h = new Harness({ self });
    const rest = others(self);
    h.input({ type: 'start' });
    h.propose(0, B);
    h.echo(h.valid(B));
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 }); // skip ahead to round 1
    h.votes(VOTE_PREVOTE, 0, B, rest.slice(0, 2)); // round-0 polka for B (ours + 2)
    h.propose(1, A);
    h.echo(h.valid(A));
    h.echo(h.votes(VOTE_PREVOTE, 1, A, rest.slice(0, 2)));
    expect(h.state.lockedRound).toBe(1);
    h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 1 });
    expect(casts(h.propose(2, B, 0))).toEqual([{ kind: VOTE_PREVOTE, round: 2, value: null }]);
  });

  it('L16: a proposer with a valid value re-proposes it with its validRound', () => {
    const h0 = new Harness();
    const self = h0.set.proposerIndex(1);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    h.echo(h.valid(A));
    const rest = others(self);
    h.echo(h.votes(VOTE_PREVOTE, 0, A, rest.slice(0, 2)));
    const out = h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 });
    expect(out.some((o) => o.type === 'buildProposal')).toBe(false);
    expect(out).toContainEqual({
      type: 'castProposal',
      proposal: expect.objectContaining({ round: 1, polRound: 0, blockHash: A }),
    });
  });

  it('L55: f+1 votes from a higher round skip to it; f alone does not', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    const [x, y] = others(self);
    expect(h.votes(VOTE_PREVOTE, 3, null, [x])).toEqual([]);
    expect(h.state.round).toBe(0);
    const out = h.votes(VOTE_PRECOMMIT, 3, null, [y]);
    expect(h.state.round).toBe(3);
    expect(timeouts(out)[0]).toMatchObject({ kind: 'propose', round: 3, durationMs: 2500 });
  });

  it('L49: 2f+1 precommits for a valid value decide it, with a sorted certificate', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    h.echo(h.valid(A));
    const out = h.votes(VOTE_PRECOMMIT, 0, A, others(self));
    const decide = out.find((o) => o.type === 'decide');
    expect(decide).toMatchObject({ type: 'decide', height: 1, round: 0, blockHash: A });
    const sigs = (decide as Extract<CoreOutput, { type: 'decide' }>).commit.signatures;
    expect(sigs.length).toBe(3);
    const order = sigs.map((s) => hex(s.validator));
    expect([...order].sort()).toEqual(order);
    expect(h.state.step).toBe(STEP_COMMIT);
    // Nothing more happens at this height.
    expect(h.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 })).toEqual([]);
  });

  it('issue 20: a validator that decides before it precommitted signs its precommit for the decided value first', () => {
    // The slow validator's own check of the block ends after the others' 2f+1 precommits arrived:
    // without this, it never precommits, and the next proposer's certificate marks it absent.
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    expect(h.votes(VOTE_PRECOMMIT, 0, A, others(self)).some((o) => o.type === 'decide')).toBe(false);
    const out = h.valid(A);
    expect(out.map((o) => o.type)).toEqual(['castVote', 'decide']);
    expect(casts(out)).toEqual([{ kind: VOTE_PRECOMMIT, round: 0, value: hex(A) }]);
    // Its own precommit, echoed back, joins the vote set; nothing more is cast at this height.
    expect(casts(h.echo(out))).toEqual([]);
    expect(h.state.votes.round(0).precommits.votesFor(A).length).toBe(4);
  });

  it('issue 20: no decided-value precommit after a nil precommit of the round, nor for an earlier round', () => {
    const self = Harness.nonProposerFor([0, 1]);
    // Precommitted nil in round 0 (timeoutPrevote), then the others decide A in round 0.
    const h = new Harness({ self });
    h.input({ type: 'start' });
    h.propose(0, A);
    h.echo(h.valid(A));
    const [x, y, z] = others(self);
    h.votes(VOTE_PREVOTE, 0, null, [x]);
    h.votes(VOTE_PREVOTE, 0, B, [y]);
    h.echo(h.input({ type: 'timeout', kind: 'prevote', height: 1, round: 0 }));
    expect(h.state.step).toBe(STEP_PRECOMMIT);
    const decided = h.votes(VOTE_PRECOMMIT, 0, A, [x, y, z]);
    expect(decided.some((o) => o.type === 'decide')).toBe(true);
    expect(casts(decided)).toEqual([]);
    // Moved on to round 1 without precommitting in round 0, then round 0's decision arrives.
    const g = new Harness({ self });
    g.input({ type: 'start' });
    g.echo(g.input({ type: 'timeout', kind: 'propose', height: 1, round: 0 }));
    g.echo(g.input({ type: 'timeout', kind: 'precommit', height: 1, round: 0 }));
    expect(g.state.round).toBe(1);
    g.votes(VOTE_PRECOMMIT, 0, A, [x, y, z]);
    const late = g.valid(A);
    expect(late.some((o) => o.type === 'decide')).toBe(true);
    expect(casts(late)).toEqual([]);
  });

  it('L49 without the proposal: asks the application about the value, then decides', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    const out = h.votes(VOTE_PRECOMMIT, 0, A, others(self));
    expect(out).toContainEqual(expect.objectContaining({ type: 'validateValue', blockHash: A }));
    expect(h.valid(A)).toContainEqual(expect.objectContaining({ type: 'decide', blockHash: A }));
  });

  it('decides from a commit certificate; one without 2f+1 or with a stranger is ignored', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    const [x, y, z] = others(self);
    const sig = (i: number) => ({
      validator: h.keys[i].address,
      signature: vote(h.keys[i], 2, 1, 0, A).signature,
    });
    expect(
      h.input({
        type: 'commitCertificate',
        commit: { height: 1, round: 0, blockHash: A, signatures: [sig(x), sig(y)] },
      }),
    ).toEqual([]);
    const stranger = testKey('stranger');
    const bad = { validator: stranger.address, signature: sig(x).signature };
    expect(
      h.input({
        type: 'commitCertificate',
        commit: { height: 1, round: 0, blockHash: A, signatures: [sig(x), sig(y), bad] },
      }),
    ).toEqual([]);
    const asked = h.input({
      type: 'commitCertificate',
      commit: { height: 1, round: 0, blockHash: A, signatures: [sig(x), sig(y), sig(z)] },
    });
    expect(asked).toEqual([expect.objectContaining({ type: 'validateValue', blockHash: A })]);
    expect(h.valid(A)).toContainEqual(expect.objectContaining({ type: 'decide', blockHash: A }));
  });

  it('ignores proposals from a non-proposer, with polRound ≥ round, and a second one per round', () => {
    const h = new Harness({ self: Harness.nonProposerFor([0]) });
    h.input({ type: 'start' });
    const wrong = (h.proposerOf(0) + 1) % 4;
    const { proposal } = {
      proposal: {
        height: 1,
        round: 0,
        polRound: -1,
        blockHash: A,
        proposer: h.keys[wrong].address,
        signature: new Uint8Array(64),
      },
    };
    expect(h.input({ type: 'proposal', proposal })).toEqual([]);
    expect(h.propose(0, A, 0)).toEqual([]);
    expect(h.propose(0, A)).toHaveLength(1);
    expect(h.propose(0, B)).toEqual([]);
    expect(h.state.ignored).toBe(3);
  });

  it('equivocation: the conflicting vote becomes evidence (once), and counts once in the any-value total', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    const [x] = others(self);
    h.votes(VOTE_PREVOTE, 0, A, [x]);
    expect(h.votes(VOTE_PREVOTE, 0, A, [x])).toEqual([]); // duplicate
    const ev = h.votes(VOTE_PREVOTE, 0, B, [x]);
    expect(ev).toEqual([{ type: 'evidence', evidence: expect.objectContaining({ kind: 'duplicateVote' }) }]);
    expect(h.votes(VOTE_PREVOTE, 0, null, [x])).toEqual([]); // caught already: no second proof
    expect(h.state.votes.round(0).prevotes.totalVoted).toBe(1);
  });

  it('buffers messages of height + 1 and replays them when that height starts', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    h.input({ type: 'start' });
    const rest = others(self);
    h.votes(VOTE_PREVOTE, 0, null, []);
    const early = vote(h.keys[rest[0]], VOTE_PREVOTE, 2, 1, null);
    const early2 = vote(h.keys[rest[1]], VOTE_PREVOTE, 2, 1, null);
    h.input({ type: 'vote', vote: early });
    h.input({ type: 'vote', vote: early2 });
    h.propose(0, A);
    h.valid(A);
    h.votes(VOTE_PRECOMMIT, 0, A, rest);
    expect(h.state.step).toBe(STEP_COMMIT);
    const out = h.input({ type: 'committed', height: 1, validatorUpdates: [] });
    expect(h.state.height).toBe(2);
    // The two buffered round-1 votes of height 2 are f+1: the new height skips to round 1.
    expect(h.state.round).toBe(1);
    expect(timeouts(out).map((t) => t.round)).toEqual([0, 1]);
  });

  it('validator-set updates decided in block h take effect at h + 2', () => {
    const self = Harness.nonProposerFor([0]);
    const h = new Harness({ self });
    const newcomer = testKey('newcomer');
    h.input({ type: 'start' });
    h.propose(0, A);
    h.valid(A);
    h.votes(VOTE_PRECOMMIT, 0, A, others(self));
    h.input({
      type: 'committed',
      height: 1,
      validatorUpdates: [{ publicKey: newcomer.publicKey, power: 5 }],
    });
    expect(h.state.height).toBe(2);
    expect(h.state.validators.indexOf(newcomer.address)).toBe(-1);
    expect(h.state.nextValidators.indexOf(newcomer.address)).toBeGreaterThanOrEqual(0);
    expect(h.state.nextValidators.totalPower).toBe(9);
  });

  it('property: whatever arrives, the core never casts two different votes for one round and step', () => {
    const self = Harness.nonProposerFor([0]);
    const values = [A, B, null] as const;
    const arbInput = fc.oneof(
      fc.record({
        t: fc.constant('vote' as const),
        who: fc.integer({ min: 0, max: 3 }),
        kind: fc.constantFrom(1, 2),
        round: fc.integer({ min: 0, max: 3 }),
        v: fc.integer({ min: 0, max: 2 }),
      }),
      fc.record({
        t: fc.constant('proposal' as const),
        round: fc.integer({ min: 0, max: 3 }),
        v: fc.integer({ min: 0, max: 1 }),
        pol: fc.integer({ min: -1, max: 2 }),
      }),
      fc.record({
        t: fc.constant('timeout' as const),
        kind: fc.constantFrom('propose', 'prevote', 'precommit'),
        round: fc.integer({ min: 0, max: 3 }),
      }),
      fc.record({ t: fc.constant('valid' as const), v: fc.integer({ min: 0, max: 1 }), ok: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(arbInput, { maxLength: 60 }), (inputs) => {
        const h = new Harness({ self });
        const cast = new Map<string, string>();
        const record = (out: CoreOutput[]) => {
          for (const c of casts(out)) {
            const key = `${c.round}/${c.kind}`;
            const prior = cast.get(key);
            if (prior !== undefined && prior !== String(c.value)) throw new Error(`double vote at ${key}`);
            cast.set(key, String(c.value));
          }
        };
        record(h.input({ type: 'start' }));
        for (const i of inputs) {
          let out: CoreOutput[] = [];
          if (i.t === 'vote') {
            if (i.who === self) continue;
            out = h.votes(i.kind as 1 | 2, i.round, values[i.v], [i.who]);
          } else if (i.t === 'proposal') {
            if (i.pol >= i.round) continue;
            out = h.propose(i.round, values[i.v] as Uint8Array, i.pol);
          } else if (i.t === 'timeout') {
            out = h.input({ type: 'timeout', kind: i.kind as 'propose', height: 1, round: i.round });
          } else out = h.valid(values[i.v] as Uint8Array, i.ok);
          record(out);
          record(h.echo(out));
        }
      }),
      { seed: 42, numRuns: 150 },
    );
  });
});
