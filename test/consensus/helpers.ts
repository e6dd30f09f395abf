/**
 * Shared fixtures for the consensus tests: deterministic real Ed25519 validators, signed votes
 * and proposals, and a harness that drives the pure core input by input.
 */

import { ConsensusDriver } from '../../consensus/driver.js';
import type { CoreInput, CoreOutput } from '../../consensus/messages.js';
import { MemorySignerStateStore, SignerGuard } from '../../consensus/signerGuard.js';
import { apply, type CoreState, createState, type UnsafeTestSwitches } from '../../consensus/stateMachine.js';
import type { TimeoutConfig } from '../../consensus/timeouts.js';
import { ValidatorSet } from '../../consensus/validatorSet.js';
import { type MemoryWalBackend, Wal } from '../../consensus/wal.js';
import { addressOf } from '../../core/address.js';
import { type Proposal, signProposal, signVote, type Vote, type VoteKind } from '../../core/block.js';
import { encodeWire } from '../../core/codec.js';
import { sha256 } from '../../core/hash.js';
import { publicKeyOf } from '../../core/keys.js';

export const CHAIN = 'ol-test';

export const TIMEOUTS: TimeoutConfig = {
  proposeMs: 1000,
  proposeDeltaMs: 500,
  prevoteMs: 400,
  prevoteDeltaMs: 100,
  precommitMs: 300,
  precommitDeltaMs: 50,
};

export interface TestKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  address: Uint8Array;
}

export function testKey(label: string | number): TestKey {
  const secretKey = sha256(encodeWire(['ol/test/key', String(label)]));
  const publicKey = publicKeyOf(secretKey);
  return { secretKey, publicKey, address: addressOf(publicKey) };
}

export function hashOf(label: string): Uint8Array {
  return sha256(encodeWire(['ol/test/value', label]));
}

/** Keys in address order, `powers[i]` going to the i-th smallest address, and the genesis set. */
export function validators(powers: readonly number[], prefix = 'v'): { keys: TestKey[]; set: ValidatorSet } {
  const keys = powers
    .map((_, i) => testKey(`${prefix}${i}`))
    .sort((a, b) => Buffer.compare(a.address, b.address));
  const set = ValidatorSet.genesis(keys.map((k, i) => ({ publicKey: k.publicKey, power: powers[i] })));
  return { keys, set };
}

export function vote(
  k: TestKey,
  kind: VoteKind,
  height: number,
  round: number,
  blockHash: Uint8Array | null,
): Vote {
  return signVote(CHAIN, { kind, height, round, blockHash, validator: k.address }, k.secretKey);
}

export function proposal(
  k: TestKey,
  height: number,
  round: number,
  blockHash: Uint8Array,
  polRound = -1,
): Proposal {
  return signProposal(CHAIN, { height, round, polRound, blockHash, proposer: k.address }, k.secretKey);
}

/** Drives one core; `self` is the index (in address order) of the validator it runs as. */
export class Harness {
  readonly keys: TestKey[];
  readonly set: ValidatorSet;
  state: CoreState;
  readonly self: number;
  log: CoreOutput[] = [];

  constructor(opts: { powers?: number[]; self?: number; unsafe?: UnsafeTestSwitches } = {}) {
    const { keys, set } = validators(opts.powers ?? [1, 1, 1, 1]);
    this.keys = keys;
    this.set = set;
    this.self = opts.self ?? 0;
    this.state = createState({
      chainId: CHAIN,
      self: keys[this.self].address,
      height: 1,
      validators: set,
      nextValidators: set.next([]),
      timeouts: TIMEOUTS,
      unsafe: opts.unsafe,
    });
  }

  input(i: CoreInput): CoreOutput[] {
    const { outputs } = apply(this.state, i);
    this.log.push(...outputs);
    return outputs;
  }

  /** Index of the proposer of `round` at the current height. */
  proposerOf(round: number): number {
    return this.state.validators.proposerIndex(round);
  }

  /** A non-proposer index for the given rounds, to run as. */
  static nonProposerFor(rounds: number[], powers = [1, 1, 1, 1]): number {
    const { set } = validators(powers);
    for (let i = 0; i < set.size; i++) if (rounds.every((r) => set.proposerIndex(r) !== i)) return i;
    throw new Error('no such validator');
  }

  propose(round: number, value: Uint8Array, polRound = -1): CoreOutput[] {
    const p = this.proposerOf(round);
    return this.input({
      type: 'proposal',
      proposal: proposal(this.keys[p], this.state.height, round, value, polRound),
    });
  }

  votes(kind: VoteKind, round: number, value: Uint8Array | null, indexes: number[]): CoreOutput[] {
    const out: CoreOutput[] = [];
    for (const i of indexes) {
      out.push(
        ...this.input({ type: 'vote', vote: vote(this.keys[i], kind, this.state.height, round, value) }),
      );
    }
    return out;
  }

  valid(value: Uint8Array, ok = true): CoreOutput[] {
    return this.input({ type: 'valueValidity', height: this.state.height, blockHash: value, valid: ok });
  }

  /** Feeds back our own cast votes (as the driver would after signing). */
  echo(outputs: CoreOutput[]): CoreOutput[] {
    const more: CoreOutput[] = [];
    for (const o of outputs) {
      if (o.type === 'castVote') {
        more.push(
          ...this.input({ type: 'vote', vote: signVote(CHAIN, o.vote, this.keys[this.self].secretKey) }),
        );
      } else if (o.type === 'castProposal') {
        more.push(
          ...this.input({
            type: 'proposal',
            proposal: signProposal(CHAIN, o.proposal, this.keys[this.self].secretKey),
          }),
        );
      }
    }
    return more;
  }
}

export function casts(outputs: CoreOutput[]): { kind: number; round: number; value: string | null }[] {
  return outputs
    .filter((o): o is Extract<CoreOutput, { type: 'castVote' }> => o.type === 'castVote')
    .map((o) => ({
      kind: o.vote.kind,
      round: o.vote.round,
      value: o.vote.blockHash === null ? null : Buffer.from(o.vote.blockHash).toString('hex'),
    }));
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A non-validating driver at height 1 over `set`, logging to `backend`, whose effects do nothing. */
export function observerDriver(set: ValidatorSet, backend: MemoryWalBackend): ConsensusDriver {
  return new ConsensusDriver(
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
}
