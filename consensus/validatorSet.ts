/**
 * Validator sets: who votes at a height, with what power, and whose turn it is to propose.
 * Consensus-critical: integers only, validators kept sorted by address (a total order), and the
 * proposer priorities evolve exactly as CometBFT's (see proposer.ts).
 *
 * A `ValidatorSet` is immutable. It stands for the set of one height h *with its priorities
 * after the increment that chose proposer(h, 0)*, as CometBFT's `state.Validators` does, so:
 *   proposer(h, 0) = the validator chosen by that increment;
 *   proposer(h, r) = IncrementProposerPriority(copy, r), for r ≥ 1, independent of the path of
 *                    rounds taken (a pure function of (set, r));
 *   set(h+2)       = IncrementProposerPriority(update(set(h+1), updates decided in block h), 1).
 * That last line is DESIGN §7's "changes decided at the end of block h take effect at h+2": the
 * set for h+1 was already fixed when block h−1 was decided.
 */

import { addressOf } from '../core/address.js';
import { VALIDATORS_MAX } from '../core/block.js';
import { compareBytes, toHex } from '../core/bytes.js';
import { encodeWire } from '../core/codec.js';
import { assert, ValidationError } from '../core/errors.js';
import { PUBLIC_KEY_BYTES } from '../core/keys.js';
import { merkleRoot } from '../core/merkle.js';
import {
  centerPriorities,
  incrementPriorities,
  PRIORITY_WINDOW_FACTOR,
  type PriorityState,
  rescalePriorities,
} from './proposer.js';

/**
 * Total voting power stays below 2^40 so that priorities (bounded by a few times the total) and
 * their sum over VALIDATORS_MAX validators stay exact JS integers (< 2^53).
 */
export const TOTAL_VOTING_POWER_MAX = 2 ** 40;

export interface Validator {
  readonly address: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly power: number;
}

/** A change decided by the application: power 0 removes the validator. */
export interface ValidatorUpdate {
  readonly publicKey: Uint8Array;
  readonly power: number;
}

/** Map key for a 20-byte address (latin1 is a cheap, exact byte-to-string mapping). */
export function addressKey(address: Uint8Array): string {
  return Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('latin1');
}

export class ValidatorSet {
  readonly validators: readonly Validator[];
  readonly totalPower: number;
  /** Priorities after this height's selection, aligned with `validators`. */
  readonly priorities: readonly number[];
  /** Index of proposer(h, 0); stored with the priorities so `fromParts` can rebuild the set. */
  readonly proposer0: number;
  private readonly index: Map<string, number>;
  /** proposer(r) for r = 1..walked, computed incrementally (see proposerIndex). */
  private readonly proposerByRound: number[] = [];
  private walk: PriorityState | null = null;

  private constructor(validators: Validator[], priorities: number[], proposer0: number) {
    this.validators = validators;
    this.priorities = priorities;
    this.proposer0 = proposer0;
    let total = 0;
    this.index = new Map();
    validators.forEach((v, i) => {
      total += v.power;
      this.index.set(addressKey(v.address), i);
    });
    this.totalPower = total;
    this.proposerByRound.push(proposer0);
  }

  /**
   * The set of height 1 from the genesis validators (CometBFT NewValidatorSet: every validator is
   * new, so all priorities start equal, then one increment picks proposer(1, 0)).
   */
  static genesis(members: readonly ValidatorUpdate[]): ValidatorSet {
    const state = applyChanges([], [], members);
    const proposer = incrementPriorities(state.priorityState, 1);
    return new ValidatorSet(state.validators, state.priorityState.priorities, proposer);
  }

  /** Rebuilds a set from stored parts (e.g. read back from the state database). */
  static fromParts(
    validators: readonly Validator[],
    priorities: readonly number[],
    proposer0: number,
  ): ValidatorSet {
    checkMembers(validators);
    assert(priorities.length === validators.length, 'one priority per validator');
    assert(proposer0 >= 0 && proposer0 < validators.length, 'proposer index in range');
    const sorted = validators.every(
      (v, i) => i === 0 || compareBytes(validators[i - 1].address, v.address) < 0,
    );
    if (!sorted) throw new ValidationError('UNSORTED_VALIDATORS', 'validators must be sorted by address');
    return new ValidatorSet([...validators], [...priorities], proposer0);
  }

  get size(): number {
    return this.validators.length;
  }

  /** Index of `address` in the set, or -1. */
  indexOf(address: Uint8Array): number {
    return this.index.get(addressKey(address)) ?? -1;
  }

  /** The proposer of round `round` at this set's height. */
  proposer(round: number): Validator {
    return this.validators[this.proposerIndex(round)];
  }

  /**
   * IncrementProposerPriority(r) rescales and centres once, then increments r times; so the
   * proposers of rounds 1, 2, … are the successive increments of one walk, computed once each and
   * remembered. A message for round 10,000 costs O(n) per round not yet walked, never more.
   */
  proposerIndex(round: number): number {
    assert(Number.isSafeInteger(round) && round >= 0, 'round is a non-negative integer');
    if (round < this.proposerByRound.length) return this.proposerByRound[round];
    if (this.walk === null) {
      this.walk = this.priorityState();
      incrementPriorities(this.walk, 0); // rescale and centre, no increment
    }
    while (this.proposerByRound.length <= round)
      this.proposerByRound.push(incrementPriorities(this.walk, 1, false));
    return this.proposerByRound[round];
  }

  /** More than 2/3 of the total power (Tendermint's 2f+1). */
  isQuorum(power: number): boolean {
    return power * 3 > this.totalPower * 2;
  }

  /** More than 1/3 of the total power (Tendermint's f+1): at least one honest validator. */
  isOneThird(power: number): boolean {
    return power * 3 > this.totalPower;
  }

  /**
   * The set two heights on: this set is set(h+1), `updates` were decided in block h, and the
   * result is set(h+2) (CometBFT updateState: UpdateWithChangeSet, then one increment).
   */
  next(updates: readonly ValidatorUpdate[]): ValidatorSet {
    const state = applyChanges(this.validators, this.priorities, updates);
    const proposer = incrementPriorities(state.priorityState, 1);
    return new ValidatorSet(state.validators, state.priorityState.priorities, proposer);
  }

  /** Merkle root over (address, public key, power), in address order: the header's validatorsHash. */
  hash(): Uint8Array {
    return merkleRoot(this.validators.map((v) => encodeWire([v.address, v.publicKey, v.power])));
  }

  private priorityState(): PriorityState {
    return {
      addresses: this.validators.map((v) => v.address),
      powers: this.validators.map((v) => v.power),
      totalPower: this.totalPower,
      priorities: [...this.priorities],
    };
  }
}

function checkMembers(validators: readonly Validator[]): void {
  if (validators.length === 0)
    throw new ValidationError('EMPTY_VALIDATOR_SET', 'a validator set is never empty');
  if (validators.length > VALIDATORS_MAX) {
    throw new ValidationError('TOO_MANY_VALIDATORS', `at most ${VALIDATORS_MAX} validators`);
  }
  let total = 0;
  for (const v of validators) {
    if (!Number.isSafeInteger(v.power) || v.power <= 0) {
      throw new ValidationError('BAD_POWER', 'a validator has a positive integer power');
    }
    total += v.power;
  }
  if (total > TOTAL_VOTING_POWER_MAX) {
    throw new ValidationError(
      'TOTAL_POWER_TOO_LARGE',
      `total voting power exceeds ${TOTAL_VOTING_POWER_MAX}`,
    );
  }
}

/**
 * CometBFT updateWithChangeSet (deletes allowed): existing validators keep their priority, new ones
 * start at −1.125 × (total power after updates, before removals) so they do not propose at once,
 * then priorities are rescaled to the window and centred.
 */
function applyChanges(
  current: readonly Validator[],
  priorities: readonly number[],
  changes: readonly ValidatorUpdate[],
): { validators: Validator[]; priorityState: PriorityState } {
  const byKey = new Map<string, { v: Validator; priority: number }>();
  for (let i = 0; i < current.length; i++) {
    byKey.set(addressKey(current[i].address), { v: current[i], priority: priorities[i] });
  }
  const seen = new Set<string>();
  let tvp = current.reduce((a, v) => a + v.power, 0);
  const removals: string[] = [];
  const additions: Validator[] = [];
  for (const c of changes) {
    if (!(c.publicKey instanceof Uint8Array) || c.publicKey.length !== PUBLIC_KEY_BYTES) {
      throw new ValidationError('BAD_PUBLIC_KEY', `a validator public key is ${PUBLIC_KEY_BYTES} bytes`);
    }
    if (!Number.isSafeInteger(c.power) || c.power < 0 || c.power > TOTAL_VOTING_POWER_MAX) {
      throw new ValidationError(
        'BAD_POWER',
        `validator power must be an integer in [0, ${TOTAL_VOTING_POWER_MAX}]`,
      );
    }
    const address = addressOf(c.publicKey);
    const key = addressKey(address);
    if (seen.has(key)) {
      throw new ValidationError('DUPLICATE_UPDATE', `two updates for validator 0x${toHex(address)}`);
    }
    seen.add(key);
    const existing = byKey.get(key);
    if (c.power === 0) {
      if (!existing)
        throw new ValidationError('REMOVE_UNKNOWN', `cannot remove unknown validator 0x${toHex(address)}`);
      removals.push(key);
      continue;
    }
    tvp += c.power - (existing ? existing.v.power : 0);
    if (tvp > TOTAL_VOTING_POWER_MAX) {
      throw new ValidationError(
        'TOTAL_POWER_TOO_LARGE',
        `total voting power exceeds ${TOTAL_VOTING_POWER_MAX}`,
      );
    }
    const v: Validator = { address, publicKey: c.publicKey, power: c.power };
    if (existing) existing.v = v;
    else additions.push(v);
  }
  const newPriority = -(tvp + Math.floor(tvp / 8));
  for (const v of additions) byKey.set(addressKey(v.address), { v, priority: newPriority });
  for (const key of removals) byKey.delete(key);
  const entries = [...byKey.values()].sort((a, b) => compareBytes(a.v.address, b.v.address));
  const validators = entries.map((e) => e.v);
  checkMembers(validators);
  const priorityState: PriorityState = {
    addresses: validators.map((v) => v.address),
    powers: validators.map((v) => v.power),
    totalPower: validators.reduce((a, v) => a + v.power, 0),
    priorities: entries.map((e) => e.priority),
  };
  rescalePriorities(priorityState, PRIORITY_WINDOW_FACTOR * priorityState.totalPower);
  centerPriorities(priorityState);
  return { validators, priorityState };
}
