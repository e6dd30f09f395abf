/**
 * Attacks on the consensus core by byzantine validators (issue 18), each written as the attack
 * first; every test here failed on the code before its fix.
 */
import { describe, expect, it } from 'vitest';
import { ConsensusDriver } from '../../consensus/driver.js';
import type { CoreOutput } from '../../consensus/messages.js';
import { MemorySignerStateStore, SignerGuard } from '../../consensus/signerGuard.js';
import { createState, STEP_COMMIT } from '../../consensus/stateMachine.js';
import { valueKey } from '../../consensus/voteSet.js';
import { MemoryWalBackend, scanWal, Wal } from '../../consensus/wal.js';
import { VOTE_PRECOMMIT, VOTE_PREVOTE } from '../../core/block.js';
import { CHAIN, casts, Harness, hashOf, hex, TIMEOUTS, validators, vote } from './helpers.js';

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
    const driver = new ConsensusDriver(
      createState({
        chainId: CHAIN,
        self: null,
        height: 1,
        validators: set,
        nextValidators: set.next([]),
        timeouts: TIMEOUTS,
      }),
      new Wal(backend),
      new SignerGuard(CHAIN, () => new Uint8Array(64), new MemorySignerStateStore()),
      {
        broadcast: () => {},
        scheduleTimeout: () => {},
        buildProposal: () => {},
        validateValue: () => {},
        decide: () => {},
        evidence: () => {},
      },
    );
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
