/**
 * Vote sets: the prevotes or precommits of one (height, round), tallied by value, plus the
 * per-height collection of them. Consensus-critical and deterministic.
 *
 * A second, identical vote is a harmless duplicate (gossip delivers many). A second vote for a
 * different value is equivocation: it comes back as evidence (once per validator and set), which
 * the node gossips and puts in a block so the validator gets slashed (DESIGN §7). It still counts
 * for its own value (see VALUES_PER_VALIDATOR_MAX), but the "any value" total and round-skip
 * power count each validator once.
 */

import { type Evidence, VOTE_PRECOMMIT, type Vote, type VoteKind } from '../core/block.js';
import { assert } from '../core/errors.js';
import type { ValidatorSet } from './validatorSet.js';

/** Map key of a value id: latin1 of the 32-byte hash, or 'nil' for a nil vote. */
export function valueKey(blockHash: Uint8Array | null): string {
  return blockHash === null
    ? 'nil'
    : Buffer.from(blockHash.buffer, blockHash.byteOffset, blockHash.byteLength).toString('latin1');
}

export type AddVoteResult =
  | { readonly status: 'added' }
  | { readonly status: 'duplicate' }
  /** `evidence` is null when this validator was already caught in this set (one proof suffices). */
  | { readonly status: 'conflict'; readonly evidence: Evidence | null };

/**
 * A validator's conflicting votes are counted, each in its own value's tally, up to this many
 * values per (height, round, kind). Algorithm 1 counts *messages* from distinct processes per
 * value, and its liveness proof needs that: an equivocator's vote for v may be exactly what
 * completes a polka that other nodes saw, and relayed votes must let us see it too. Safety does not
 * depend on ignoring them (any two quorums still share an honest validator). The bound keeps a
 * byzantine validator from growing memory without limit; CometBFT's fuller answer (counting extra
 * values only when a peer claims a +2/3 majority for them) is not implemented.
 */
export const VALUES_PER_VALIDATOR_MAX = 3;

interface Tally {
  power: number;
  /** Votes by validator index: sparse, so a round holding one vote costs O(1). */
  votes: Map<number, Vote>;
}

const byIndex = (m: ReadonlyMap<number, Vote>): Vote[] =>
  [...m.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);

export class VoteSet {
  readonly kind: VoteKind;
  readonly round: number;
  private readonly first = new Map<number, Vote>();
  private readonly valuesOf = new Map<number, number>();
  private readonly caught = new Set<number>();
  private readonly tallies = new Map<string, Tally>();
  /** Power of all validators that voted, whatever for, each counted once. */
  totalVoted = 0;

  constructor(kind: VoteKind, round: number) {
    this.kind = kind;
    this.round = round;
  }

  /** Votes held (each validator at most VALUES_PER_VALIDATOR_MAX): a structural size. */
  get held(): number {
    let n = 0;
    for (const t of this.tallies.values()) n += t.votes.size;
    return n;
  }

  /** Adds a vote whose signer is validator `index` of `set`; the caller checked kind and round. */
  add(vote: Vote, index: number, set: ValidatorSet, unsafeNoDedup = false): AddVoteResult {
    assert(vote.kind === this.kind && vote.round === this.round, 'vote belongs to this set');
    const key = valueKey(vote.blockHash);
    const tally = this.tallies.get(key);
    if (tally?.votes.has(index)) {
      // Mutation test only: a repeat counts its power again.
      if (unsafeNoDedup) tally.power += set.validators[index].power;
      return { status: 'duplicate' };
    }
    const prior = this.first.get(index);
    const power = set.validators[index].power;
    if (prior === undefined) {
      this.first.set(index, vote);
      this.totalVoted += power;
    }
    const values = this.valuesOf.get(index) ?? 0;
    if (values < VALUES_PER_VALIDATOR_MAX) {
      this.valuesOf.set(index, values + 1);
      const t = tally ?? { power: 0, votes: new Map() };
      t.votes.set(index, vote);
      t.power += power;
      this.tallies.set(key, t);
    }
    if (prior === undefined) return { status: 'added' };
    if (this.caught.has(index)) return { status: 'conflict', evidence: null };
    this.caught.add(index);
    // Order the pair so that evidence for one equivocation is the same bytes on every node.
    const [voteA, voteB] = valueKey(prior.blockHash) < key ? [prior, vote] : [vote, prior];
    return { status: 'conflict', evidence: { kind: 'duplicateVote', voteA, voteB } };
  }

  /** Has this validator's vote for this value already been counted (or set aside)? */
  has(vote: Vote, index: number): boolean {
    if (this.tallies.get(valueKey(vote.blockHash))?.votes.has(index)) return true;
    return this.first.has(index) && (this.valuesOf.get(index) ?? 0) >= VALUES_PER_VALIDATOR_MAX;
  }

  powerFor(blockHash: Uint8Array | null): number {
    return this.tallies.get(valueKey(blockHash))?.power ?? 0;
  }

  /** The non-nil value holding more than 2/3 of the power, if any (first in value order). */
  quorumValue(set: ValidatorSet, unsafeOneThird = false): Uint8Array | null {
    let best: string | null = null;
    for (const [key, t] of this.tallies) {
      const enough = unsafeOneThird ? set.isOneThird(t.power) : set.isQuorum(t.power);
      if (key !== 'nil' && enough && (best === null || key < best)) best = key;
    }
    if (best === null) return null;
    const vote = (this.tallies.get(best) as Tally).votes.values().next().value;
    return vote?.blockHash ?? null;
  }

  /** The counted votes for `blockHash`, in validator (address) order. */
  votesFor(blockHash: Uint8Array | null): Vote[] {
    const t = this.tallies.get(valueKey(blockHash));
    return t === undefined ? [] : byIndex(t.votes);
  }

  /** Each validator's first vote, in validator order. */
  all(): Vote[] {
    return byIndex(this.first);
  }
}

/** Prevotes and precommits of one round, plus who has sent anything in it (for round skipping). */
export class RoundVotes {
  readonly prevotes: VoteSet;
  readonly precommits: VoteSet;
  private readonly seen = new Set<number>();
  /** Power of the distinct validators with any vote in this round (Algorithm 1 line 55). */
  seenPower = 0;

  constructor(round: number) {
    this.prevotes = new VoteSet(1, round);
    this.precommits = new VoteSet(VOTE_PRECOMMIT, round);
  }

  add(vote: Vote, index: number, set: ValidatorSet, unsafeNoDedup = false): AddVoteResult {
    const result = (vote.kind === VOTE_PRECOMMIT ? this.precommits : this.prevotes).add(
      vote,
      index,
      set,
      unsafeNoDedup,
    );
    if (result.status === 'added' && !this.seen.has(index)) {
      this.seen.add(index);
      this.seenPower += set.validators[index].power;
    }
    return result;
  }
}

/**
 * All votes of one height, by round, allocated sparsely: a round exists only once a vote of it
 * is added (reads of an empty round return a shared empty set), and holds only the votes sent.
 * Which rounds may hold votes is the core's rule (stateMachine.ts, VOTE_ROUNDS_AHEAD_MAX).
 */
export class HeightVotes {
  readonly height: number;
  readonly set: ValidatorSet;
  private readonly rounds = new Map<number, RoundVotes>();
  private static readonly EMPTY = new RoundVotes(-1);

  constructor(height: number, set: ValidatorSet) {
    this.height = height;
    this.set = set;
  }

  /** Adds a vote of this height from a member of the set (the caller checked both). */
  add(vote: Vote, index: number, unsafeNoDedup = false): AddVoteResult {
    assert(vote.height === this.height, 'vote of this height');
    let r = this.rounds.get(vote.round);
    if (r === undefined) {
      r = new RoundVotes(vote.round);
      this.rounds.set(vote.round, r);
    }
    return r.add(vote, index, this.set, unsafeNoDedup);
  }

  /** Would adding this vote change nothing (already held, or beyond the per-validator bound)? */
  has(vote: Vote, index: number): boolean {
    const r = this.rounds.get(vote.round);
    if (r === undefined) return false;
    return (vote.kind === VOTE_PRECOMMIT ? r.precommits : r.prevotes).has(vote, index);
  }

  /** The votes of a round (an empty, shared set when none arrived: never allocates). */
  round(round: number): RoundVotes {
    return this.rounds.get(round) ?? HeightVotes.EMPTY;
  }

  /** Rounds that hold any vote, ascending. */
  roundsWithVotes(): number[] {
    return [...this.rounds.keys()].sort((a, b) => a - b);
  }

  /** Structural size for memory bounds: rounds allocated and votes held. */
  size(): { rounds: number; votes: number } {
    let votes = 0;
    for (const r of this.rounds.values()) votes += r.prevotes.held + r.precommits.held;
    return { rounds: this.rounds.size, votes };
  }
}
