/**
 * The reference driver: runs the pure core against the outside world and enforces the ordering
 * rules that make it crash-safe (consensus/README.md, "Driver contract"). The node and the
 * simulator both use it, so the simulator tests the same code path the node runs.
 *
 * - Every core input is appended to the WAL before the core sees it (`start` and `committed`
 *   excepted: opening and rotating the log stand for them).
 * - An own vote or proposal is signed only through the signer guard, then appended and fsynced,
 *   then broadcast, then fed back to the core as an input. Nothing we sign leaves the process
 *   before it is durable in both the guard and the WAL.
 * - Inputs are processed one at a time from a FIFO queue; effects may call `input` re-entrantly
 *   (an application answering synchronously) and the call is queued, never nested.
 */

import type { Evidence, UnsignedProposal, UnsignedVote, Vote } from '../core/block.js';
import { bytesEqual } from '../core/bytes.js';
import { assert } from '../core/errors.js';
import type { CoreInput, CoreOutput } from './messages.js';
import { type SignerGuard, SignerGuardError } from './signerGuard.js';
import { apply, type CoreState, isRedundant, STEP_COMMIT } from './stateMachine.js';
import type { ConsensusMessage } from './validation.js';
import type { ValidatorUpdate } from './validatorSet.js';
import type { Wal, WalOpenResult } from './wal.js';
import type { WalInput } from './walRecord.js';

export type DecideOutput = Extract<CoreOutput, { type: 'decide' }>;
export type TimeoutOutput = Extract<CoreOutput, { type: 'scheduleTimeout' }>;

/** What the driver needs from its surroundings (network, timers, application). */
export interface DriverEffects {
  /** Gossip one of our own signed messages (already durable in the WAL). */
  broadcast(message: ConsensusMessage): void;
  /** Call `driver.input({type: 'timeout', …})` after `durationMs` of local time. */
  scheduleTimeout(t: TimeoutOutput): void;
  /** Application prepare: answer later with `driver.input({type: 'proposalBuilt', …})`. */
  buildProposal(height: number, round: number): void;
  /** Application process: answer later with `driver.input({type: 'valueValidity', …})`. */
  validateValue(height: number, round: number, blockHash: Uint8Array, decided: boolean): void;
  /** Application commit: persist block + certificate, then call `driver.committed(height, updates)`. */
  decide(d: DecideOutput): void;
  /** Gossip evidence of equivocation and hand it to the block builder. */
  evidence(e: Evidence): void;
  /** The guard refused a signature (possible after a crash that lost WAL records). */
  refused?(error: SignerGuardError): void;
}

interface Queued {
  readonly input: CoreInput;
  /** Already in the WAL (replayed, or an own message logged before it was broadcast). */
  readonly logged: boolean;
}

export class ConsensusDriver {
  state: CoreState;
  private readonly wal: Wal;
  private readonly guard: SignerGuard;
  private readonly effects: DriverEffects;
  private readonly queue: Queued[] = [];
  private draining = false;
  /** Our signed messages of the current height, for periodic re-gossip. */
  ownMessages: ConsensusMessage[] = [];
  /** Inputs processed since construction. */
  inputs = 0;
  /** Repeated messages dropped before the WAL (see isRedundant). */
  redundant = 0;
  private lastGossipPosition = '';
  /** Own signed messages found in the WAL at start, by `kind/height/round`. */
  private logged = new Map<string, ConsensusMessage>();

  constructor(state: CoreState, wal: Wal, guard: SignerGuard, effects: DriverEffects) {
    this.state = state;
    this.wal = wal;
    this.guard = guard;
    this.effects = effects;
  }

  /**
   * Starts (or, after a crash, restarts) the core's height: opens that height's WAL, cuts a
   * damaged tail, sends `start`, then replays every logged input in order. Outputs of the replay
   * are handled as usual: re-signing an identical vote returns the stored signature, a
   * conflicting one is refused by the guard.
   */
  start(): WalOpenResult {
    const opened = this.wal.open(this.state.height);
    for (const input of opened.inputs) {
      const message: ConsensusMessage | null =
        input.type === 'vote'
          ? { type: 'vote', vote: input.vote }
          : input.type === 'proposal'
            ? { type: 'proposal', proposal: input.proposal }
            : null;
      if (message !== null && this.isOwn(message)) {
        this.logged.set(ownKey(message), message);
        this.ownMessages.push(message);
      }
    }
    this.queue.push({ input: { type: 'start' }, logged: true });
    for (const input of opened.inputs) this.queue.push({ input, logged: true });
    this.drain();
    return opened;
  }

  /** Feeds a validated network message, an expired timeout or an application answer. */
  input(input: CoreInput): void {
    this.queue.push({ input, logged: false });
    this.drain();
  }

  /** After the application durably committed the decided block of `height`. */
  committed(height: number, validatorUpdates: readonly ValidatorUpdate[]): void {
    assert(height === this.state.height && this.state.decision !== null, 'commit follows the decision');
    this.wal.rotate(height + 1);
    // Messages of height + 1 that arrived early were logged in this height's file; the core
    // replays them right after StartRound(0), so log them there in the new file too, keeping a
    // restart's replay identical to the original run.
    for (const early of this.state.future) {
      if (early.type === 'proposal' || early.type === 'vote') this.wal.append(early);
    }
    this.ownMessages = [];
    this.logged.clear();
    this.queue.push({ input: { type: 'committed', height, validatorUpdates }, logged: true });
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let item = this.queue.shift(); item !== undefined; item = this.queue.shift()) {
        if (!item.logged && isRedundant(this.state, item.input)) {
          this.redundant++;
          continue;
        }
        if (!item.logged && isWalInput(item.input)) this.wal.append(item.input);
        this.inputs++;
        const { outputs } = apply(this.state, item.input);
        for (const o of outputs) this.handle(o);
      }
    } finally {
      this.draining = false;
    }
  }

  private handle(o: CoreOutput): void {
    switch (o.type) {
      case 'castVote':
        this.castVote(o.vote);
        return;
      case 'castProposal':
        this.castProposal(o.proposal);
        return;
      case 'scheduleTimeout':
        this.effects.scheduleTimeout(o);
        return;
      case 'buildProposal':
        this.effects.buildProposal(o.height, o.round);
        return;
      case 'validateValue':
        this.effects.validateValue(o.height, o.round, o.blockHash, o.decided);
        return;
      case 'decide':
        this.effects.decide(o);
        return;
      case 'evidence':
        this.effects.evidence(o.evidence);
        return;
    }
  }

  /**
   * During a replay the core re-issues what it cast before the crash; the signed original is in
   * the WAL, so it is reused as is (the guard only remembers the latest signature and would
   * refuse an earlier step even when identical).
   */
  private alreadySigned(key: string, same: (m: ConsensusMessage) => boolean): ConsensusMessage | null {
    const m = this.logged.get(key);
    return m !== undefined && same(m) ? m : null;
  }

  private castVote(unsigned: UnsignedVote): void {
    const prior = this.alreadySigned(
      `${unsigned.kind}/${unsigned.height}/${unsigned.round}`,
      (m) => m.type === 'vote' && sameHash(m.vote.blockHash, unsigned.blockHash),
    );
    if (prior !== null) {
      this.effects.broadcast(prior);
      if (prior.type === 'vote') this.queue.push({ input: { type: 'vote', vote: prior.vote }, logged: true });
      return;
    }
    let vote: ReturnType<SignerGuard['signVote']>;
    try {
      vote = this.guard.signVote(unsigned);
    } catch (e) {
      if (!(e instanceof SignerGuardError)) throw e;
      this.effects.refused?.(e);
      return;
    }
    const input: CoreInput = { type: 'vote', vote };
    this.wal.append(input);
    this.wal.sync(); // durable before it leaves
    const message: ConsensusMessage = { type: 'vote', vote };
    this.ownMessages.push(message);
    this.effects.broadcast(message);
    this.queue.push({ input, logged: true });
  }

  private castProposal(unsigned: UnsignedProposal): void {
    const prior = this.alreadySigned(
      `0/${unsigned.height}/${unsigned.round}`,
      (m) =>
        m.type === 'proposal' &&
        sameHash(m.proposal.blockHash, unsigned.blockHash) &&
        m.proposal.polRound === unsigned.polRound,
    );
    if (prior !== null) {
      this.effects.broadcast(prior);
      if (prior.type === 'proposal')
        this.queue.push({ input: { type: 'proposal', proposal: prior.proposal }, logged: true });
      return;
    }
    let proposal: ReturnType<SignerGuard['signProposal']>;
    try {
      proposal = this.guard.signProposal(unsigned);
    } catch (e) {
      if (!(e instanceof SignerGuardError)) throw e;
      this.effects.refused?.(e);
      return;
    }
    const input: CoreInput = { type: 'proposal', proposal };
    this.wal.append(input);
    this.wal.sync();
    const message: ConsensusMessage = { type: 'proposal', proposal };
    this.ownMessages.push(message);
    this.effects.broadcast(message);
    this.queue.push({ input, logged: true });
  }

  /**
   * What to re-gossip periodically so that messages lost on the way are eventually delivered
   * (Algorithm 1's liveness assumes that whatever a correct process *receives*, every correct
   * process eventually receives too): our own messages of the current and previous round; when
   * we have not moved since the last call, every vote we hold for those two rounds (a peer stuck in the previous round needs the precommits
   * that moved us on, or the f+1 votes that made us skip, or it waits forever for messages a
   * byzantine validator sent only to us); and the prevotes that justify our valid value (the
   * proof of lock behind a re-proposal at validRound, L28–L29).
   */
  gossipSet(): ConsensusMessage[] {
    const s = this.state;
    const out: ConsensusMessage[] = [];
    for (const m of this.ownMessages) {
      const r = m.type === 'vote' ? m.vote.round : m.type === 'proposal' ? m.proposal.round : -1;
      if (r >= s.round - 1) out.push(m);
    }
    // Relay others' votes only when nothing moved since the previous call: while the height
    // progresses, everyone is getting the messages anyway, and relaying costs O(n²) per tick.
    const position = `${s.height}/${s.round}/${s.step}`;
    const stalled = position === this.lastGossipPosition;
    this.lastGossipPosition = position;
    const relayed = new Set<Vote>();
    const relay = (votes: readonly Vote[]) => {
      for (const vote of votes) {
        if (relayed.has(vote)) continue;
        relayed.add(vote);
        if (!this.isOwn({ type: 'vote', vote })) out.push({ type: 'vote', vote });
      }
    };
    if (stalled && s.step !== STEP_COMMIT) {
      for (const r of [s.round - 1, s.round]) {
        if (r < 0) continue;
        const rv = s.votes.round(r);
        relay(rv.prevotes.all());
        relay(rv.precommits.all());
      }
    }
    if (s.validValue !== null && s.validRound >= 0)
      relay(s.votes.round(s.validRound).prevotes.votesFor(s.validValue));
    return out;
  }

  /**
   * Every precommit the core holds for `blockHash` at (height, round) — after a decision, the
   * late ones too (a certificate carries all of them, not only the first quorum). Empty when the
   * core is at another height.
   */
  precommitsFor(height: number, round: number, blockHash: Uint8Array): Vote[] {
    const s = this.state;
    if (s.height !== height) return [];
    return [...s.votes.round(round).precommits.votesFor(blockHash)];
  }

  /** Is this message one of ours (by signer address)? */
  isOwn(message: ConsensusMessage): boolean {
    const self = this.state.self;
    if (self === null) return false;
    if (message.type === 'vote') return bytesEqual(message.vote.validator, self);
    if (message.type === 'proposal') return bytesEqual(message.proposal.proposer, self);
    return false;
  }
}

function ownKey(m: ConsensusMessage): string {
  if (m.type === 'vote') return `${m.vote.kind}/${m.vote.height}/${m.vote.round}`;
  if (m.type === 'proposal') return `0/${m.proposal.height}/${m.proposal.round}`;
  return '';
}

function sameHash(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : bytesEqual(a, b);
}

/**
 * Inputs the WAL keeps. `start` and `committed` are implied by opening and rotating the log; a
 * commit certificate needs no log: it signs nothing, and peers or block sync supply it again.
 */
function isWalInput(input: CoreInput): input is WalInput {
  // A transient refusal (clock, job runner, stale height) is not a verdict: never persisted, so
  // a replay asks the application again instead of refusing the block forever.
  if (input.type === 'valueValidity' && input.transient === true) return false;
  return input.type !== 'start' && input.type !== 'committed' && input.type !== 'commitCertificate';
}
