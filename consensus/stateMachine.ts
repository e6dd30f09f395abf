/**
 * The Tendermint core: Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip on BFT
 * consensus" (2018), as a deterministic state machine `apply(state, input) → {state, outputs}`.
 * Consensus-critical: no clock, timer, socket, randomness or I/O; integer arithmetic; every map
 * iterated here is iterated in an order fixed by the inputs.
 *
 * Each transition names the lines of Algorithm 1 it implements (`L22`, `L36`, …), so a reviewer
 * can hold the code against the paper. Rules are guarded commands: after every input the core
 * re-evaluates all rules until none is enabled, so the order in which votes, proposals and
 * application answers arrive does not matter.
 *
 * `apply` updates the state it is given and returns it: the state is owned by one caller, like
 * Malachite's `&mut State`, which keeps vote tallies O(1) per vote. It has no other effect, so the
 * same (state, input) always gives the same (state, outputs).
 *
 * Deliberate, documented differences from the paper's pseudo-code:
 * - Signing is not done here: `castVote` / `castProposal` outputs carry unsigned messages; the
 *   driver signs them through the signer guard and feeds the signed message back as an input.
 *   Own votes therefore count only once they come back, exactly like a peer's.
 * - `valid(v)` is an application answer (`valueValidity`) requested with `validateValue`; a rule
 *   that needs it waits for it (or for a timeout).
 * - L49 (decide) does not need the proposal message of round r, only 2f+1 precommits for id(v)
 *   and valid(v): the block is fetched by hash (as CometBFT does), which also lets a node that
 *   missed the proposal catch up from a commit certificate.
 * - StartRound also schedules timeoutPropose when we are the proposer, so a stalled application
 *   cannot stall the round (L57 only acts while still in the propose step).
 * - L55 counts votes only (not proposals) from validators of a higher round.
 * - The decision does not move to h+1 by itself: the core emits `decide`, waits in the commit
 *   step, and starts h+1 on the application's `committed` answer, which carries the validator
 *   updates of block h (effective at h+2).
 */

import {
  type Commit,
  type Proposal,
  ROUND_MAX,
  VALIDATORS_MAX,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  type Vote,
  type VoteKind,
} from '../core/block.js';
import { bytesEqual } from '../core/bytes.js';
import { assert } from '../core/errors.js';
import type { CoreInput, CoreOutput } from './messages.js';
import { type TimeoutConfig, type TimeoutKind, timeoutMs } from './timeouts.js';
import type { ValidatorSet } from './validatorSet.js';
import { HeightVotes, valueKey } from './voteSet.js';

export const STEP_PROPOSE = 0;
export const STEP_PREVOTE = 1;
export const STEP_PRECOMMIT = 2;
/** Decided; waiting for the application to commit. */
export const STEP_COMMIT = 3;
export type Step = typeof STEP_PROPOSE | typeof STEP_PREVOTE | typeof STEP_PRECOMMIT | typeof STEP_COMMIT;

/**
 * Validated messages for height + 1 held until that height starts (a faster peer is often a few
 * milliseconds ahead); beyond this many they are dropped, and gossip will resend them.
 */
export const FUTURE_INPUTS_MAX = 4 * VALIDATORS_MAX + 16;

/**
 * Votes are tallied for rounds up to `round + VOTE_ROUNDS_AHEAD_MAX` (like CometBFT's catch-up
 * rounds). A vote of a round further ahead is not tallied: it only raises its validator's
 * "highest round seen" (one integer per validator), which is what round skipping (L55) needs, at
 * most FAR_VOTES_PER_VALIDATOR_ROUND_MAX times per validator per round we are in. So votes held
 * per height are at most 2 · VALUES_PER_VALIDATOR_MAX · n per round in [0, round + window], and
 * the rounds below `round` were reached by timeouts or honest round skips, never by what
 * byzantine validators send; the WAL grows the same way (the driver logs only what the core
 * keeps).
 */
export const VOTE_ROUNDS_AHEAD_MAX = 2;
export const FAR_VOTES_PER_VALIDATOR_ROUND_MAX = 2;

/**
 * Test-only ways to break one safety rule, so tests can show the simulator's checker catches a
 * broken core. Never set outside tests; `apply` reads them from the state.
 */
export interface UnsafeTestSwitches {
  /** L23/L29: prevote for any valid proposal, ignoring lockedValue / lockedRound. */
  readonly ignoreLock?: boolean;
  /** Mutation testing (`npm run sim -- mutate`): remove one core rule. */
  readonly mutant?: Mutant;
}

/**
 * Core rules the mutation test removes one at a time, to show the simulator's checker notices
 * each (devnet/sim/README.md, "Mutation test"). Test-only, like `ignoreLock`.
 */
export const MUTANTS = [
  'noLockL23', // L23: prevote any valid fresh proposal although locked on another value
  'noLockL29', // L29: accept a re-proposal whatever the lock
  'noPolCheckL28', // L28: no 2f+1 prevotes for v in vr needed
  'noProposerCheck', // accept a proposal from any validator
  'weakQuorumL36', // L36: lock and precommit on f+1 prevotes instead of 2f+1
  'weakQuorumL49', // L49: decide on f+1 precommits instead of 2f+1
  'noVoteDedup', // a validator's repeated vote counts again
  'noValidValue', // L42–L43: validValue / validRound never updated
  'noLockUpdate', // L38–L39: lockedValue / lockedRound never set
] as const;
export type Mutant = (typeof MUTANTS)[number];

export interface CoreParams {
  readonly chainId: string;
  /** Our validator address, or null for a node that follows without voting. */
  readonly self: Uint8Array | null;
  readonly height: number;
  /** Validator set of `height`, and of `height + 1`. */
  readonly validators: ValidatorSet;
  readonly nextValidators: ValidatorSet;
  readonly timeouts: TimeoutConfig;
  readonly unsafe?: UnsafeTestSwitches;
}

export interface Decision {
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly commit: Commit;
}

export interface CoreState {
  readonly chainId: string;
  readonly self: Uint8Array | null;
  readonly timeouts: TimeoutConfig;
  readonly unsafe: UnsafeTestSwitches;
  height: number;
  round: number;
  step: Step;
  validators: ValidatorSet;
  nextValidators: ValidatorSet;
  lockedValue: Uint8Array | null;
  lockedRound: number;
  validValue: Uint8Array | null;
  validRound: number;
  /** The first proposal of each round from that round's proposer. */
  proposals: Map<number, Proposal>;
  /**
   * Final application verdicts by value key, and the values already asked about (true when asked
   * with `decided`). A transient refusal is not a verdict: it lives in `refusedThisRound` (value
   * key → the round it arrived in), counts as invalid in that round only, and is asked again
   * after the next StartRound — so a refusal that depends on the local clock never sticks.
   */
  validity: Map<string, boolean>;
  validityAsked: Map<string, boolean>;
  refusedThisRound: Map<string, number>;
  /** Round for which we asked the application to build a block, or -1. */
  awaitingBuild: number;
  votes: HeightVotes;
  /** "for the first time" rules already fired: `${line}:${round}`. */
  fired: Set<string>;
  decision: Decision | null;
  /** Rounds holding 2f+1 precommits for one value (L49 candidates), kept as votes arrive. */
  decisionRounds: Set<number>;
  /** Highest round above ours with f+1 validators' votes (L55), or -1. */
  skipRound: number;
  /** Per validator index: the highest round above ours it sent any vote for (-1: none). */
  aheadRound: number[];
  /** Per validator index: far-ahead votes taken in the current round (FAR_VOTES_PER_VALIDATOR_ROUND_MAX). */
  farTaken: number[];
  /** A checked commit certificate for this height (block sync), if one arrived. */
  certificate: Commit | null;
  /** Validated inputs of height + 1, replayed when it starts. */
  future: CoreInput[];
  /** Inputs that were ignored (wrong height, unknown validator, wrong proposer, late answers). */
  ignored: number;
}

export interface Transition {
  readonly state: CoreState;
  readonly outputs: CoreOutput[];
}

export function createState(p: CoreParams): CoreState {
  assert(Number.isSafeInteger(p.height) && p.height >= 1, 'heights start at 1');
  return {
    chainId: p.chainId,
    self: p.self,
    timeouts: p.timeouts,
    unsafe: p.unsafe ?? {},
    height: p.height,
    round: 0,
    step: STEP_PROPOSE,
    validators: p.validators,
    nextValidators: p.nextValidators,
    lockedValue: null,
    lockedRound: -1,
    validValue: null,
    validRound: -1,
    proposals: new Map(),
    validity: new Map(),
    validityAsked: new Map(),
    refusedThisRound: new Map(),
    awaitingBuild: -1,
    votes: new HeightVotes(p.height, p.validators),
    fired: new Set(),
    decision: null,
    decisionRounds: new Set(),
    skipRound: -1,
    aheadRound: new Array(p.validators.size).fill(-1),
    farTaken: new Array(p.validators.size).fill(0),
    certificate: null,
    future: [],
    ignored: 0,
  };
}

/** The validator set that signs messages of `height`, if this state knows it. */
export function validatorsFor(s: CoreState, height: number): ValidatorSet | null {
  if (height === s.height) return s.validators;
  if (height === s.height + 1) return s.nextValidators;
  return null;
}

/**
 * True when `input` cannot change the state: a vote already counted, a second proposal for a
 * round. Gossip delivers such repeats all the time; the driver drops them before the WAL so the
 * log does not grow with them. A pure query.
 */
export function isRedundant(s: CoreState, input: CoreInput): boolean {
  if (input.type === 'vote') {
    const v = input.vote;
    if (v.height !== s.height) return false;
    const index = s.validators.indexOf(v.validator);
    if (index < 0) return false;
    if (v.round > s.round + VOTE_ROUNDS_AHEAD_MAX) return !farVoteUseful(s, v, index);
    return s.unsafe.mutant !== 'noVoteDedup' && s.votes.has(v, index);
  }
  if (input.type === 'proposal') {
    const p = input.proposal;
    return p.height === s.height && (s.proposals.has(p.round) || p.round > s.round + VOTE_ROUNDS_AHEAD_MAX);
  }
  return false;
}

export function apply(s: CoreState, input: CoreInput): Transition {
  const out: CoreOutput[] = [];
  handle(s, input, out);
  return { state: s, outputs: out };
}

function handle(s: CoreState, input: CoreInput, out: CoreOutput[]): void {
  switch (input.type) {
    case 'start':
      // L10: upon start do StartRound(0).
      if (s.round === 0 && s.step === STEP_PROPOSE && !s.fired.has('start')) {
        s.fired.add('start');
        startRound(s, 0, out);
      } else s.ignored++;
      break;
    case 'proposal':
      onProposal(s, input.proposal, out);
      break;
    case 'vote':
      onVote(s, input.vote, out);
      break;
    case 'timeout':
      onTimeout(s, input.kind, input.height, input.round, out);
      break;
    case 'proposalBuilt':
      onProposalBuilt(s, input.height, input.round, input.blockHash, out);
      break;
    case 'valueValidity':
      if (input.height !== s.height) {
        s.ignored++;
        return;
      }
      onValidity(s, input.blockHash, input.valid, input.transient === true);
      break;
    case 'commitCertificate':
      onCertificate(s, input.commit, out);
      break;
    case 'committed':
      onCommitted(s, input.height, input.validatorUpdates, out);
      return;
  }
  evaluate(s, out);
}

// ---- StartRound (L11–L21) ---------------------------------------------------------------------

function startRound(s: CoreState, round: number, out: CoreOutput[]): void {
  assert(round <= ROUND_MAX, 'rounds stop at ROUND_MAX');
  s.round = round; // L12
  s.step = STEP_PROPOSE; // L13
  s.farTaken.fill(0);
  // Transient refusals held for the round just left: forget them, so the value is asked again.
  for (const key of s.refusedThisRound.keys()) s.validityAsked.delete(key);
  s.refusedThisRound.clear();
  const early = s.proposals.get(round);
  if (early !== undefined) askValidity(s, round, early.blockHash, out);
  if (isSelf(s, s.validators.proposer(round).address)) {
    // L14
    if (s.validValue !== null) {
      // L15–L16, L19: re-propose the valid value with its proof-of-lock round.
      out.push({
        type: 'castProposal',
        proposal: {
          height: s.height,
          round,
          polRound: s.validRound,
          blockHash: s.validValue,
          proposer: s.self as Uint8Array,
        },
      });
    } else {
      // L17: getValue() is the application's prepare step; L19 follows on `proposalBuilt`.
      s.awaitingBuild = round;
      out.push({ type: 'buildProposal', height: s.height, round });
    }
  }
  // L21 (for every validator, see the header comment).
  schedule(s, 'propose', round, out);
}

function onProposalBuilt(
  s: CoreState,
  height: number,
  round: number,
  blockHash: Uint8Array,
  out: CoreOutput[],
): void {
  if (height !== s.height || round !== s.round || s.awaitingBuild !== round || s.step !== STEP_PROPOSE) {
    s.ignored++;
    return;
  }
  s.awaitingBuild = -1;
  // L19: broadcast ⟨PROPOSAL, h, round, proposal, validRound⟩ (validRound is -1 here).
  out.push({
    type: 'castProposal',
    proposal: { height, round, polRound: -1, blockHash, proposer: s.self as Uint8Array },
  });
  // Our own block is valid by construction: do not ask the application to re-check it.
  s.validity.set(valueKey(blockHash), true);
}

/**
 * `valid(v)` answers. The first final answer for a value is kept (the application answers the
 * same for the same block every time). A transient refusal makes the value invalid for the
 * current round only; it is never kept as a verdict.
 */
function onValidity(s: CoreState, blockHash: Uint8Array, valid: boolean, transient: boolean): void {
  const key = valueKey(blockHash);
  if (s.validity.has(key)) return;
  if (!valid && transient) {
    s.refusedThisRound.set(key, s.round);
    return;
  }
  s.validity.set(key, valid);
  s.refusedThisRound.delete(key);
}

/** The verdict on a value for the current round: final, or a transient refusal of this round. */
function validityNow(s: CoreState, blockHash: Uint8Array): boolean | undefined {
  const key = valueKey(blockHash);
  const v = s.validity.get(key);
  if (v !== undefined) return v;
  return s.refusedThisRound.get(key) === s.round ? false : undefined;
}

// ---- messages --------------------------------------------------------------------------------

function onProposal(s: CoreState, p: Proposal, out: CoreOutput[]): void {
  if (p.height === s.height + 1) {
    buffer(s, { type: 'proposal', proposal: p });
    return;
  }
  if (p.height !== s.height || s.step === STEP_COMMIT) {
    s.ignored++;
    return;
  }
  // Only the round's proposer may propose, and a proof-of-lock round must precede the round.
  const rightProposer =
    s.unsafe.mutant === 'noProposerCheck'
      ? s.validators.indexOf(p.proposer) >= 0
      : bytesEqual(p.proposer, s.validators.proposer(p.round).address);
  if (!rightProposer || p.polRound >= p.round) {
    s.ignored++;
    return;
  }
  if (s.proposals.has(p.round)) {
    s.ignored++; // a second proposal of the round: we keep the first, as every honest node does
    return;
  }
  if (p.round > s.round + VOTE_ROUNDS_AHEAD_MAX) {
    // The round window applies to proposals too: a byzantine proposer cannot make us fetch and
    // execute blocks for thousands of rounds; its proposer re-gossips it once we get there.
    s.ignored++;
    return;
  }
  s.proposals.set(p.round, p);
  askValidity(s, p.round, p.blockHash, out);
}

function onVote(s: CoreState, v: Vote, out: CoreOutput[]): void {
  if (v.height === s.height + 1) {
    buffer(s, { type: 'vote', vote: v });
    return;
  }
  if (v.height !== s.height) {
    s.ignored++;
    return;
  }
  const index = s.validators.indexOf(v.validator);
  if (index < 0) {
    s.ignored++;
    return;
  }
  if (v.round > s.round + VOTE_ROUNDS_AHEAD_MAX) {
    // Beyond the window: not tallied; only evidence that this validator is in a higher round.
    if (!farVoteUseful(s, v, index)) {
      s.ignored++;
      return;
    }
    s.farTaken[index]++;
    noteAhead(s, index, v.round);
    return;
  }
  const result = s.votes.add(v, index, s.unsafe.mutant === 'noVoteDedup');
  if (result.status === 'conflict' && result.evidence !== null) {
    out.push({ type: 'evidence', evidence: result.evidence });
  }
  if (result.status === 'duplicate' && s.unsafe.mutant !== 'noVoteDedup') return;
  // Keep the L49 and L55 candidates up to date, so rule evaluation never scans every round.
  const rv = s.votes.round(v.round);
  const decisive =
    s.unsafe.mutant === 'weakQuorumL49'
      ? s.validators.isOneThird(rv.precommits.powerFor(v.blockHash))
      : s.validators.isQuorum(rv.precommits.powerFor(v.blockHash));
  if (v.kind === VOTE_PRECOMMIT && v.blockHash !== null && decisive) {
    s.decisionRounds.add(v.round);
  }
  if (v.round > s.round && v.round > s.skipRound && s.validators.isOneThird(rv.seenPower))
    s.skipRound = v.round;
  if (v.round > s.round) noteAhead(s, index, v.round);
}

/** A far-ahead vote is taken only if it raises its validator's round, within the per-round quota. */
function farVoteUseful(s: CoreState, v: Vote, index: number): boolean {
  return v.round > s.aheadRound[index] && s.farTaken[index] < FAR_VOTES_PER_VALIDATOR_ROUND_MAX;
}

/**
 * L55 over rounds beyond the window: validators holding f+1 of the power have sent votes of
 * rounds ≥ R > round → skip to the highest such R. Algorithm 1 asks for f+1 messages of one round;
 * starting any round is safe (only the rules of that round sign anything), and at least one
 * correct validator is in a round ≥ R, so this skips no further than a correct process is.
 */
function noteAhead(s: CoreState, index: number, round: number): void {
  if (round <= s.aheadRound[index]) return;
  s.aheadRound[index] = round;
  const ahead: number[] = [];
  for (let i = 0; i < s.aheadRound.length; i++) if (s.aheadRound[i] > s.round) ahead.push(i);
  ahead.sort((a, b) => s.aheadRound[b] - s.aheadRound[a] || a - b);
  let power = 0;
  for (const i of ahead) {
    power += s.validators.validators[i].power;
    if (s.validators.isOneThird(power)) {
      if (s.aheadRound[i] > s.skipRound) s.skipRound = s.aheadRound[i];
      return;
    }
  }
}

/** Accepts a certificate of this height whose signers are distinct members holding 2f+1. */
function onCertificate(s: CoreState, c: Commit, out: CoreOutput[]): void {
  if (c.height !== s.height || s.step === STEP_COMMIT || s.certificate !== null) {
    s.ignored++;
    return;
  }
  const seen = new Set<number>();
  let power = 0;
  for (const sig of c.signatures) {
    const index = s.validators.indexOf(sig.validator);
    if (index < 0 || seen.has(index)) {
      s.ignored++;
      return;
    }
    seen.add(index);
    power += s.validators.validators[index].power;
  }
  if (!s.validators.isQuorum(power)) {
    s.ignored++;
    return;
  }
  s.certificate = c;
  askValidity(s, c.round, c.blockHash, out, true);
}

function buffer(s: CoreState, input: CoreInput): void {
  if (s.future.length >= FUTURE_INPUTS_MAX) {
    s.ignored++;
    return;
  }
  s.future.push(input);
}

// ---- timeouts (L57–L67) ----------------------------------------------------------------------

function onTimeout(s: CoreState, kind: TimeoutKind, height: number, round: number, out: CoreOutput[]): void {
  if (height !== s.height || round !== s.round || s.step === STEP_COMMIT) return;
  if (kind === 'propose' && s.step === STEP_PROPOSE) {
    // L57–L60: OnTimeoutPropose → prevote nil.
    castVote(s, VOTE_PREVOTE, null, out);
    s.step = STEP_PREVOTE;
  } else if (kind === 'prevote' && s.step === STEP_PREVOTE) {
    // L61–L64: OnTimeoutPrevote → precommit nil.
    castVote(s, VOTE_PRECOMMIT, null, out);
    s.step = STEP_PRECOMMIT;
  } else if (kind === 'precommit') {
    // L65–L67: OnTimeoutPrecommit → StartRound(round + 1).
    if (round + 1 <= ROUND_MAX) startRound(s, round + 1, out);
  }
}

// ---- the guarded rules -----------------------------------------------------------------------

/** Fires enabled rules until none is; each rule changes the step or a once-per-round flag. */
function evaluate(s: CoreState, out: CoreOutput[]): void {
  for (let iterations = 0; ; iterations++) {
    // Each iteration advances the step, the round, or a once-only flag: bounded by the rounds held.
    assert(iterations < 4 * ROUND_MAX + 16, 'rule evaluation terminates');
    if (s.step === STEP_COMMIT) return;
    if (tryDecide(s, out)) return;
    if (trySkipRound(s, out)) continue;
    if (s.step === STEP_PROPOSE && tryPrevoteProposal(s, out)) continue;
    const rv = s.votes.round(s.round);
    if (s.step === STEP_PREVOTE && s.validators.isQuorum(rv.prevotes.totalVoted) && once(s, 34)) {
      // L34–L35: 2f+1 prevotes for anything → schedule timeoutPrevote.
      schedule(s, 'prevote', s.round, out);
    }
    if (tryLockAndPrecommit(s, out)) continue;
    if (s.step === STEP_PREVOTE && s.validators.isQuorum(rv.prevotes.powerFor(null))) {
      // L44–L46: 2f+1 prevotes for nil → precommit nil.
      castVote(s, VOTE_PRECOMMIT, null, out);
      s.step = STEP_PRECOMMIT;
      continue;
    }
    if (s.validators.isQuorum(rv.precommits.totalVoted) && once(s, 47)) {
      // L47–L48: 2f+1 precommits for anything → schedule timeoutPrecommit.
      schedule(s, 'precommit', s.round, out);
    }
    return;
  }
}

/** L49–L54: 2f+1 precommits for id(v) in some round r, and valid(v) → decide v. */
function tryDecide(s: CoreState, out: CoreOutput[]): boolean {
  const c = s.certificate;
  if (c !== null && s.validity.get(valueKey(c.blockHash)) === undefined)
    askValidity(s, c.round, c.blockHash, out, true);
  if (c !== null && s.validity.get(valueKey(c.blockHash)) === true) {
    // L49 on a certificate: its 2f+1 precommits for id(v) were checked by the driver.
    precommitDecided(s, c.round, c.blockHash, out);
    s.decision = { round: c.round, blockHash: c.blockHash, commit: c };
    s.step = STEP_COMMIT;
    out.push({ type: 'decide', height: s.height, round: c.round, blockHash: c.blockHash, commit: c });
    return true;
  }
  for (const r of [...s.decisionRounds].sort((a, b) => a - b)) {
    const precommits = s.votes.round(r).precommits;
    const v = precommits.quorumValue(s.validators, s.unsafe.mutant === 'weakQuorumL49');
    if (v === null) continue;
    const valid = s.validity.get(valueKey(v));
    if (valid === undefined) {
      askValidity(s, r, v, out, true);
      continue;
    }
    if (!valid) continue; // 2f+1 precommits for an invalid block: more than 1/3 is faulty
    const commit: Commit = {
      height: s.height,
      round: r,
      blockHash: v,
      signatures: precommits
        .votesFor(v)
        .map((vote) => ({ validator: vote.validator, signature: vote.signature })),
    };
    precommitDecided(s, r, v, out);
    s.decision = { round: r, blockHash: v, commit }; // L51
    s.step = STEP_COMMIT;
    out.push({ type: 'decide', height: s.height, round: r, blockHash: v, commit });
    return true;
  }
  return false;
}

/**
 * Not in Algorithm 1: a validator that decides v in its current round before it has precommitted
 * there (its own check of the block finished after 2f+1 others had precommitted) still signs its
 * precommit for v, so the next proposer's certificate can count it (issue 20: without it, the
 * slowest validator is marked absent on exactly the blocks it was slow on). Safe: v already holds
 * 2f+1 precommits of round r, so one more for v cannot help any other value reach a quorum at this
 * height, and it is one precommit per round as always (the step check; the signer guard refuses
 * anything else). Skipped when the decision is of an earlier round (signing it would regress).
 */
function precommitDecided(s: CoreState, round: number, blockHash: Uint8Array, out: CoreOutput[]): void {
  if (round !== s.round || s.step >= STEP_PRECOMMIT) return;
  castVote(s, VOTE_PRECOMMIT, blockHash, out);
}

/** L55–L56: f+1 validators' votes from a round above ours → StartRound(that round). */
function trySkipRound(s: CoreState, out: CoreOutput[]): boolean {
  if (s.skipRound <= s.round) return false;
  startRound(s, s.skipRound, out);
  return true;
}

/** L22–L27 and L28–L33: prevote on the proposal of the current round. */
function tryPrevoteProposal(s: CoreState, out: CoreOutput[]): boolean {
  const p = s.proposals.get(s.round);
  if (p === undefined) return false;
  const valid = validityNow(s, p.blockHash);
  if (p.polRound === -1) {
    // L22: ⟨PROPOSAL, h, round, v, −1⟩ from proposer(h, round) while step = propose.
    if (valid === undefined) return false;
    // L23: valid(v) ∧ (lockedRound = −1 ∨ lockedValue = v).
    const free =
      s.unsafe.ignoreLock ||
      s.unsafe.mutant === 'noLockL23' ||
      s.lockedRound === -1 ||
      sameHash(s.lockedValue, p.blockHash);
    castVote(s, VOTE_PREVOTE, valid && free ? p.blockHash : null, out); // L24 / L26
    s.step = STEP_PREVOTE; // L27
    return true;
  }
  // L28: … AND 2f+1 ⟨PREVOTE, h, vr, id(v)⟩ while step = propose ∧ (vr ≥ 0 ∧ vr < round).
  if (
    s.unsafe.mutant !== 'noPolCheckL28' &&
    !s.validators.isQuorum(s.votes.round(p.polRound).prevotes.powerFor(p.blockHash))
  )
    return false;
  if (valid === undefined) return false;
  // L29: valid(v) ∧ (lockedRound ≤ vr ∨ lockedValue = v).
  const free =
    s.unsafe.ignoreLock ||
    s.unsafe.mutant === 'noLockL29' ||
    s.lockedRound <= p.polRound ||
    sameHash(s.lockedValue, p.blockHash);
  castVote(s, VOTE_PREVOTE, valid && free ? p.blockHash : null, out); // L30 / L32
  s.step = STEP_PREVOTE; // L33
  return true;
}

/** L36–L43: proposal + 2f+1 prevotes for id(v) in this round, valid(v), step ≥ prevote, once. */
function tryLockAndPrecommit(s: CoreState, out: CoreOutput[]): boolean {
  if (s.step < STEP_PREVOTE) return false;
  const p = s.proposals.get(s.round);
  if (p === undefined) return false;
  const polka = s.votes.round(s.round).prevotes.powerFor(p.blockHash);
  if (!(s.unsafe.mutant === 'weakQuorumL36' ? s.validators.isOneThird(polka) : s.validators.isQuorum(polka)))
    return false;
  if (s.validity.get(valueKey(p.blockHash)) !== true) return false;
  if (!once(s, 36)) return false;
  if (s.step === STEP_PREVOTE) {
    if (s.unsafe.mutant !== 'noLockUpdate') {
      s.lockedValue = p.blockHash; // L38
      s.lockedRound = s.round; // L39
    }
    castVote(s, VOTE_PRECOMMIT, p.blockHash, out); // L40
    s.step = STEP_PRECOMMIT; // L41
  }
  if (s.unsafe.mutant !== 'noValidValue') {
    s.validValue = p.blockHash; // L42
    s.validRound = s.round; // L43
  }
  return true;
}

// ---- height change -------------------------------------------------------------------------

function onCommitted(
  s: CoreState,
  height: number,
  updates: readonly import('./validatorSet.js').ValidatorUpdate[],
  out: CoreOutput[],
): void {
  if (height !== s.height || s.decision === null) {
    s.ignored++;
    return;
  }
  // L52–L54: h ← h + 1, reset locks and the message log, StartRound(0). Updates of block h
  // shape the set of h + 2 (validatorSet.ts).
  const future = s.future;
  const next = createState({
    chainId: s.chainId,
    self: s.self,
    height: s.height + 1,
    validators: s.nextValidators,
    nextValidators: s.nextValidators.next(updates),
    timeouts: s.timeouts,
    unsafe: s.unsafe,
  });
  Object.assign(s, next);
  s.fired.add('start');
  startRound(s, 0, out);
  for (const input of future) {
    if (input.type === 'proposal') onProposal(s, input.proposal, out);
    else if (input.type === 'vote') onVote(s, input.vote, out);
  }
  evaluate(s, out);
}

// ---- helpers ---------------------------------------------------------------------------------

function castVote(s: CoreState, kind: VoteKind, blockHash: Uint8Array | null, out: CoreOutput[]): void {
  if (s.self === null || s.validators.indexOf(s.self) < 0) return; // followers do not vote
  out.push({
    type: 'castVote',
    vote: { kind, height: s.height, round: s.round, blockHash, validator: s.self },
  });
}

function schedule(s: CoreState, kind: TimeoutKind, round: number, out: CoreOutput[]): void {
  out.push({
    type: 'scheduleTimeout',
    kind,
    height: s.height,
    round,
    durationMs: timeoutMs(s.timeouts, kind, round),
  });
}

/**
 * Asks `valid(v)` once per value — again when the value has since become decided (2f+1
 * precommits or a certificate: the application then must not refuse it for clock reasons), and
 * again after a transient refusal once a new round starts.
 */
function askValidity(
  s: CoreState,
  round: number,
  blockHash: Uint8Array,
  out: CoreOutput[],
  decided = false,
): void {
  const key = valueKey(blockHash);
  if (s.validity.has(key)) return;
  const asked = s.validityAsked.get(key);
  if (asked === true || (asked === false && !decided)) return;
  s.validityAsked.set(key, decided);
  out.push({ type: 'validateValue', height: s.height, round, blockHash, decided });
}

function once(s: CoreState, line: number): boolean {
  const key = `${line}:${s.round}`;
  if (s.fired.has(key)) return false;
  s.fired.add(key);
  return true;
}

function isSelf(s: CoreState, address: Uint8Array): boolean {
  return s.self !== null && bytesEqual(s.self, address);
}

function sameHash(a: Uint8Array | null, b: Uint8Array): boolean {
  return a !== null && bytesEqual(a, b);
}
