/**
 * One simulated validator: the real consensus driver (consensus/driver.ts) with its core, WAL
 * and signer guard, over in-memory "disks" that survive a simulated crash with disk semantics,
 * plus a tiny deterministic application and the node's sync behaviour (answering a lagging peer
 * with commit certificates, the way block sync would).
 *
 * A byzantine node runs the same core with its lock ignored (amnesia), and its network layer
 * lies: it sends different proposals to different peers (or, in later rounds, a fresh block to
 * everyone instead of its valid value), signs a conflicting second vote for every vote it casts
 * (another block, or nil), sends each peer one of the two, and withholds some messages.
 */

import { ConsensusDriver, type DecideOutput, type DriverEffects } from '../../consensus/driver.js';
import type { CoreInput } from '../../consensus/messages.js';
import { MemorySignerStateStore, SignerGuard } from '../../consensus/signerGuard.js';
import { createState, type UnsafeTestSwitches, VOTE_ROUNDS_AHEAD_MAX } from '../../consensus/stateMachine.js';
import type { TimeoutConfig } from '../../consensus/timeouts.js';
import type { ConsensusMessage } from '../../consensus/validation.js';
import type { ValidatorSet, ValidatorUpdate } from '../../consensus/validatorSet.js';
import { VALUES_PER_VALIDATOR_MAX, valueKey } from '../../consensus/voteSet.js';
import { MemoryWalBackend, Wal } from '../../consensus/wal.js';
import {
  type Commit,
  type Proposal,
  proposalSigningBytes,
  ROUND_MAX,
  type Vote,
  voteSigningBytes,
} from '../../core/block.js';
import { encodeWire } from '../../core/codec.js';
import { sha256 } from '../../core/hash.js';
import type { BlockInfo, Invariants } from './invariants.js';
import type { Prng } from './prng.js';
import type { SimKey } from './simKeys.js';

/**
 * Named byzantine strategies (issue 18). Every strategy runs the byzantine core with its lock
 * ignored and never relays; on top of that:
 * - `equivocate`: each peer gets the real message, a conflicting signed one, or nothing (and the
 *   targeted plan: a polka for a few, precommits for one decider);
 * - `outOfTurn`: also proposes a fresh valid block in every round, although not its proposer;
 * - `forgePol`: as proposer in round r > 0, proposes a fresh block claiming a proof of lock from
 *   round r − 1 that never existed;
 * - `floodFuture`: with every vote, also signs votes for the next FLOOD_ROUNDS rounds and up to
 *   ROUND_MAX (round window, bounded memory);
 * - `withhold`: holds its votes back and releases them all at once a few timeouts later;
 * - `splitHalves`: its proposals give one block to one half of the peers and another to the rest;
 * - `driftEdge`: dates its blocks at the clock-drift edge: half of the honest nodes refuse them
 *   for now (a transient refusal) unless they are decided;
 * - `amnesia`: equivocates and forgets its signer state and WAL at every commit (as after a
 *   restart from a wiped disk), so it re-signs earlier steps;
 * - `hiddenPolka`: the lock-breaking attack on L29 (see `hiddenPolka` below); honest otherwise.
 */
export const BYZANTINE_STRATEGIES = [
  'equivocate',
  'outOfTurn',
  'forgePol',
  'floodFuture',
  'withhold',
  'splitHalves',
  'driftEdge',
  'amnesia',
  'hiddenPolka',
] as const;
export type ByzantineStrategy = (typeof BYZANTINE_STRATEGIES)[number];
/** driftEdge: how long (virtual ms) a block dated at the edge looks too early to slow clocks. */
export const DRIFT_EDGE_MS = 2_000;
/** floodFuture: votes for this many rounds ahead of each vote, plus one at ROUND_MAX. */
export const FLOOD_ROUNDS = 40;
/**
 * Memory bound checked on every honest node at each commit: votes held for the height stay within
 * 2 · VALUES_PER_VALIDATOR_MAX · n per round up to round + VOTE_ROUNDS_AHEAD_MAX.
 */
export function voteMemoryBound(n: number, round: number): number {
  return 2 * VALUES_PER_VALIDATOR_MAX * n * (round + VOTE_ROUNDS_AHEAD_MAX + 1);
}

/** A lagging peer gets at most this many commit certificates per answer. */
export const CATCHUP_COMMITS_MAX = 16;

export type SimMessage =
  | { readonly type: 'consensus'; readonly message: ConsensusMessage }
  | { readonly type: 'catchup'; readonly commits: readonly Commit[] };

/** What a node can do to and learn from the simulated world. */
export interface SimWorld {
  readonly chainId: string;
  readonly timeouts: TimeoutConfig;
  readonly gossipIntervalMs: number;
  readonly checker: Invariants;
  readonly unsafe: UnsafeTestSwitches;
  readonly strategy: ByzantineStrategy;
  now(): number;
  send(from: number, to: number, m: SimMessage): void;
  nodeCount(): number;
  /** Runs `fn` after `delayMs` of virtual time if the node has not crashed since. */
  later(node: SimNode, delayMs: number, fn: () => void): void;
  block(blockHash: Uint8Array): BlockInfo | undefined;
  newBlock(height: number, round: number, builder: number, valid: boolean, driftEdge?: boolean): Uint8Array;
  updatesFor(height: number): ValidatorUpdate[];
  onCommitted(node: SimNode, height: number, round: number): void;
  /** Node index of a validator address. */
  indexOf(address: Uint8Array): number;
  /** The colluding byzantine nodes' shared plan for a height. */
  byzantinePlan(height: number): ByzantinePlan;
  stats: { evidence: number; refusals: number; tornTails: number; catchups: number; restarts: number };
}

/**
 * How the byzantine nodes collude at one height. `targeted`: proposals and prevotes go only to
 * the honest nodes in `targets` (just enough that, with the byzantine votes, they see a polka),
 * precommits only to `decider`; so one honest node decides while the rest of the honest nodes
 * move to the next round with some of them locked: exactly the situation in which a node that
 * forgot its lock forks the chain. Otherwise each message is split at random between peers.
 */
export interface ByzantinePlan {
  readonly targeted: boolean;
  readonly targets: ReadonlySet<number>;
  readonly decider: number;
  readonly byzantine: ReadonlySet<number>;
  /** hiddenPolka: the trap of this height, or null (no trap: the byzantine nodes act honestly). */
  readonly trap: Trap | null;
}

/** hiddenPolka: the last round searched for a byzantine proposer to spring the trap in. */
export const TRAP_ROUND_MAX = 9;

/** The colluders' shared state for one trapped height (mutable: they share memory). */
export interface Trap {
  /** The round (≥ 2, byzantine proposer) where the hidden value comes back with POL round 0. */
  readonly round: number;
  /** The value that got a hidden polka in round 0. */
  polValue: Uint8Array | null;
  /** The value the decider decides in round 1 (the others lock on it). */
  lockValue: Uint8Array | null;
  /** Byzantine nodes that already released their round-0 prevotes. */
  readonly released: Set<number>;
}

export interface ChainEntry {
  readonly blockHash: Uint8Array;
  readonly commit: Commit;
}

export class SimNode {
  readonly index: number;
  readonly key: SimKey;
  readonly byzantine: boolean;
  private readonly world: SimWorld;
  private readonly rng: Prng;
  /** Clock speed: local milliseconds per 1000 virtual ones. */
  readonly clockRatePerMille: number;

  // "Disk": survives crashes.
  walBackend = new MemoryWalBackend();
  signerStore = new MemorySignerStateStore();
  readonly chain: ChainEntry[] = [];
  readonly sets = new Map<number, ValidatorSet>();

  // Memory: lost on crash.
  up = false;
  incarnation = 0;
  driver: ConsensusDriver | null = null;
  private pending = new Map<number, Commit>();
  private fed = new Set<number>();
  private lastCatchupMs: number[] = [];
  private seenValues: Uint8Array[] = [];
  private seenValuesHeight = 0;

  constructor(
    index: number,
    key: SimKey,
    byzantine: boolean,
    world: SimWorld,
    rng: Prng,
    clockRatePerMille: number,
  ) {
    this.index = index;
    this.key = key;
    this.byzantine = byzantine;
    this.world = world;
    this.rng = rng;
    this.clockRatePerMille = clockRatePerMille;
  }

  get height(): number {
    return this.chain.length + 1;
  }

  /** Local duration → virtual duration under this node's clock rate. */
  private virtualMs(localMs: number): number {
    return Math.max(1, Math.floor((localMs * 1000) / this.clockRatePerMille));
  }

  /** Starts (or restarts) from the durable state: chain, validator sets, WAL, signer state. */
  boot(): void {
    this.up = true;
    this.incarnation++;
    this.pending = new Map();
    this.fed = new Set();
    this.lastCatchupMs = [];
    const h = this.height;
    const validators = this.sets.get(h);
    const nextValidators = this.sets.get(h + 1);
    if (!validators || !nextValidators) throw new Error(`sim: no validator sets for height ${h}`);
    const state = createState({
      chainId: this.world.chainId,
      self: this.key.address,
      height: h,
      validators,
      nextValidators,
      timeouts: this.world.timeouts,
      // Byzantine cores forget their locks (the "amnesia" attack); honest ones obey the rules
      // unless a test deliberately breaks them.
      unsafe: this.byzantine ? { ignoreLock: true } : this.world.unsafe,
    });
    const guard = new SignerGuard(this.world.chainId, this.key.sign, this.signerStore);
    this.driver = new ConsensusDriver(state, new Wal(this.walBackend), guard, this.effects());
    const opened = this.driver.start();
    if (opened.tail !== 'clean') this.world.stats.tornTails++;
    this.scheduleGossip();
  }

  /** Power loss: memory gone, unsynced WAL bytes partly lost (possibly mid-record). */
  crash(): void {
    this.up = false;
    this.driver = null;
    this.incarnation++;
    this.walBackend.crash((unsynced) => this.rng.int(unsynced + 1));
  }

  private effects(): DriverEffects {
    const w = this.world;
    return {
      broadcast: (m) => {
        if (this.byzantine) this.lie(m);
        else {
          w.checker.onHonestSign(this.index, m, w.now());
          this.broadcast(m);
        }
      },
      scheduleTimeout: (t) => {
        w.later(this, this.virtualMs(t.durationMs), () =>
          this.input({ type: 'timeout', kind: t.kind, height: t.height, round: t.round }),
        );
      },
      buildProposal: (height, round) => {
        const drift = this.byzantine && w.strategy === 'driftEdge';
        const blockHash = w.newBlock(height, round, this.index, true, drift);
        w.later(this, this.rng.range(1, 10), () =>
          this.input({ type: 'proposalBuilt', height, round, blockHash }),
        );
      },
      validateValue: (height, _round, blockHash, decided) => {
        const info = w.block(blockHash);
        const valid = info?.valid === true && info.height === height;
        // A block dated at the drift edge: the even-numbered nodes' clocks are behind and refuse
        // it for DRIFT_EDGE_MS (until their clocks pass its time), unless 2f+1 precommitted it.
        const tooEarly =
          valid &&
          info.driftEdge === true &&
          !decided &&
          this.index % 2 === 0 &&
          w.now() < (info.builtMs ?? 0) + DRIFT_EDGE_MS;
        w.later(this, this.rng.range(1, 10), () =>
          this.input(
            tooEarly
              ? { type: 'valueValidity', height, blockHash, valid: false, transient: true }
              : { type: 'valueValidity', height, blockHash, valid },
          ),
        );
      },
      decide: (d) => {
        const set = this.sets.get(d.height);
        const proposerOf = (round: number) =>
          set === undefined ? -1 : this.world.indexOf(set.proposer(round).address);
        w.checker.onDecide(this.index, d.height, d.blockHash, w.now(), w.block(d.blockHash), proposerOf);
        if (this.byzantine && w.strategy === 'forgePol' && proposerOf(d.round + 1) === this.index)
          this.forgeNextRound(d.height, d.round + 1);
        if (!this.byzantine && this.driver !== null) {
          const st = this.driver.state;
          const held = st.votes.size().votes;
          const bound = voteMemoryBound(st.validators.size, st.round);
          if (held > bound)
            w.checker.fail(
              'memory',
              w.now(),
              `node ${this.index} holds ${held} votes at height ${d.height}, bound ${bound}`,
            );
        }
        w.later(this, this.rng.range(1, 5), () => this.commitDone(d));
      },
      evidence: () => {
        w.stats.evidence++;
      },
      refused: (e) => {
        if (process.env.SIM_DEBUG) console.error(`node ${this.index} refused: ${e.code} ${e.message}`);
        w.stats.refusals++;
      },
    };
  }

  private input(input: CoreInput): void {
    if (!this.up || this.driver === null) return;
    this.driver.input(input);
  }

  /** The application's commit finished: the block is durable; the core moves on. */
  private commitDone(d: DecideOutput): void {
    if (this.driver === null || this.height !== d.height) return;
    const updates = this.world.updatesFor(d.height);
    this.chain.push({ blockHash: d.blockHash, commit: d.commit });
    const next = this.sets.get(d.height + 1) as ValidatorSet;
    if (!this.sets.has(d.height + 2)) this.sets.set(d.height + 2, next.next(updates));
    this.sets.delete(d.height - 2);
    this.driver.committed(d.height, updates);
    this.world.onCommitted(this, d.height, d.round);
    if (this.byzantine && this.world.strategy === 'amnesia') {
      // Restart from a wiped WAL and signer state: it may re-sign anything it signed before.
      this.crash();
      this.walBackend = new MemoryWalBackend();
      this.signerStore = new MemorySignerStateStore();
      this.boot();
      return;
    }
    this.feedPending();
  }

  receive(from: number, m: SimMessage): void {
    if (!this.up || this.driver === null) return;
    if (m.type === 'catchup') {
      for (const c of m.commits)
        if (c.height >= this.height && !this.pending.has(c.height)) this.pending.set(c.height, c);
      this.feedPending();
      return;
    }
    const msg = m.message;
    if (msg.type === 'evidence') return;
    const height = msg.type === 'vote' ? msg.vote.height : msg.proposal.height;
    if (height < this.height) {
      if (!this.byzantine) this.answerLaggard(from, height); // byzantine nodes never help
      return;
    }
    if (this.byzantine && msg.type === 'proposal') this.remember(msg.proposal.height, msg.proposal.blockHash);
    this.driver.input(
      msg.type === 'vote' ? { type: 'vote', vote: msg.vote } : { type: 'proposal', proposal: msg.proposal },
    );
  }

  /** Block sync stand-in: send a peer that is behind the certificates of the heights it lacks. */
  private answerLaggard(peer: number, theirHeight: number): void {
    const now = this.world.now();
    if (now - (this.lastCatchupMs[peer] ?? -1e9) < this.world.gossipIntervalMs / 2) return;
    this.lastCatchupMs[peer] = now;
    const commits = this.chain
      .slice(theirHeight - 1, theirHeight - 1 + CATCHUP_COMMITS_MAX)
      .map((e) => e.commit);
    if (commits.length === 0) return;
    this.world.stats.catchups++;
    this.world.send(this.index, peer, { type: 'catchup', commits });
  }

  /** Feeds the precommits of a received certificate for our current height (Algorithm 1 L49). */
  private feedPending(): void {
    if (this.driver === null) return;
    for (const h of [...this.pending.keys()]) if (h < this.height) this.pending.delete(h);
    const c = this.pending.get(this.height);
    if (c === undefined || this.fed.has(this.height)) return;
    this.fed.add(this.height);
    // Signatures are not re-verified in the simulator (see simKeys.ts); the core checks the power.
    this.driver.input({ type: 'commitCertificate', commit: c });
  }

  /** Periodic re-gossip (driver.gossipSet: own recent messages and our proof of lock). */
  private scheduleGossip(): void {
    const interval = this.virtualMs(this.world.gossipIntervalMs);
    this.world.later(this, interval, () => {
      const d = this.driver;
      if (d === null) return;
      // Byzantine nodes withhold: they never repeat themselves.
      if (!this.byzantine) for (const m of d.gossipSet()) this.broadcast(m);
      this.scheduleGossip();
    });
  }

  private broadcast(m: ConsensusMessage): void {
    const n = this.world.nodeCount();
    for (let to = 0; to < n; to++)
      if (to !== this.index) this.world.send(this.index, to, { type: 'consensus', message: m });
  }

  private remember(height: number, blockHash: Uint8Array): void {
    if (height !== this.seenValuesHeight) {
      this.seenValuesHeight = height;
      this.seenValues = [];
    }
    if (!this.seenValues.some((v) => valueKey(v) === valueKey(blockHash))) this.seenValues.push(blockHash);
  }

  // ---- byzantine behaviour ----------------------------------------------------------------------

  private signedProposal(
    height: number,
    round: number,
    polRound: number,
    blockHash: Uint8Array,
  ): ConsensusMessage {
    const q = { height, round, polRound, blockHash, proposer: this.key.address };
    return {
      type: 'proposal',
      proposal: { ...q, signature: this.key.sign(proposalSigningBytes(this.world.chainId, q)) } as Proposal,
    };
  }

  private signedVote(v: Vote, round: number): ConsensusMessage {
    const u = { kind: v.kind, height: v.height, round, blockHash: v.blockHash, validator: v.validator };
    return {
      type: 'vote',
      vote: { ...u, signature: this.key.sign(voteSigningBytes(this.world.chainId, u)) } as Vote,
    };
  }

  private toAll(m: ConsensusMessage): void {
    this.broadcast(m);
  }

  /**
   * forgePol, right after deciding at round − 1 (the honest nodes that did not see the decision
   * are about to enter `round`): propose a fresh block for `round` with a forged proof of lock
   * from round − 1 and prevote and precommit it to everyone.
   */
  private forgeNextRound(height: number, round: number): void {
    const blockHash = this.world.newBlock(height, round, this.index, true);
    this.toAll(this.signedProposal(height, round, round - 1, blockHash));
    const base = { kind: 1 as const, height, round, blockHash, validator: this.key.address };
    this.toAll(this.signedVote({ ...base, signature: new Uint8Array(64) }, round));
    this.toAll(this.signedVote({ ...base, kind: 2, signature: new Uint8Array(64) }, round));
  }

  private outOfTurnDone = new Set<string>();
  private withheld: ConsensusMessage[] = [];

  /** The byzantine network layer: the chosen strategy, on top of equivocation. */
  private lie(m: ConsensusMessage): void {
    const w = this.world;
    const st = w.strategy;
    if (st === 'outOfTurn' && m.type === 'vote') {
      // Propose in this round and the next although not the proposer of either.
      for (const round of [m.vote.round, m.vote.round + 1]) {
        const key = `${m.vote.height}/${round}`;
        if (this.outOfTurnDone.has(key)) continue;
        this.outOfTurnDone.add(key);
        if (this.outOfTurnDone.size > 256) this.outOfTurnDone.clear();
        this.toAll(
          this.signedProposal(m.vote.height, round, -1, w.newBlock(m.vote.height, round, this.index, true)),
        );
      }
    }
    if (st === 'forgePol' && m.type === 'proposal' && m.proposal.round > 0) {
      // Half the time a stale but real proof of lock (the earliest round with a polka for a value
      // other than its valid value: L29 must refuse it to nodes locked later), otherwise a forged
      // one (round − 1, no polka for this fresh block: L28 must wait for one). Then prevote and
      // precommit it to everyone, to complete the quorum a broken rule would allow.
      const p = m.proposal;
      let value: Uint8Array | null = null;
      let vr = p.round - 1;
      const core = this.driver?.state;
      if (core !== undefined && this.rng.chance(500)) {
        for (let r = 0; r < p.round - 1 && value === null; r++) {
          const v = core.votes.round(r).prevotes.quorumValue(core.validators);
          if (v !== null && (core.validValue === null || valueKey(v) !== valueKey(core.validValue))) {
            value = v;
            vr = r;
          }
        }
      }
      const blockHash = value ?? w.newBlock(p.height, p.round, this.index, true);
      this.toAll(this.signedProposal(p.height, p.round, vr, blockHash));
      const base = {
        kind: 1 as const,
        height: p.height,
        round: p.round,
        blockHash,
        validator: this.key.address,
      };
      this.toAll(this.signedVote({ ...base, signature: new Uint8Array(64) }, p.round));
      this.toAll(this.signedVote({ ...base, kind: 2, signature: new Uint8Array(64) }, p.round));
      return;
    }
    if (st === 'floodFuture' && m.type === 'vote') {
      for (let r = m.vote.round + 1; r <= m.vote.round + FLOOD_ROUNDS; r++)
        this.toAll(this.signedVote(m.vote, r));
      this.toAll(this.signedVote(m.vote, ROUND_MAX));
    }
    if (st === 'withhold' && m.type === 'vote') {
      this.withheld.push(m);
      if (this.withheld.length === 1) {
        w.later(this, 3 * this.world.timeouts.proposeMs, () => {
          const all = this.withheld;
          this.withheld = [];
          for (const x of all) this.toAll(x);
        });
      }
      return;
    }
    if (st === 'splitHalves' && m.type === 'proposal') {
      const p = m.proposal;
      const other = this.signedProposal(
        p.height,
        p.round,
        p.polRound,
        w.newBlock(p.height, p.round, this.index, true),
      );
      const n = w.nodeCount();
      for (let to = 0; to < n; to++)
        if (to !== this.index) w.send(this.index, to, { type: 'consensus', message: to < n / 2 ? m : other });
      return;
    }
    if (st === 'hiddenPolka') {
      this.hiddenPolka(m);
      return;
    }
    if (st === 'driftEdge' && m.type === 'proposal') {
      this.toAll(m); // the block itself is the attack
      return;
    }
    this.equivocate(m);
  }

  private sendTo(m: ConsensusMessage, to: Iterable<number>): void {
    for (const t of to)
      if (t !== this.index) this.world.send(this.index, t, { type: 'consensus', message: m });
  }

  private vote(kind: 1 | 2, height: number, round: number, blockHash: Uint8Array | null): ConsensusMessage {
    const u = { kind, height, round, blockHash, validator: this.key.address };
    return {
      type: 'vote',
      vote: { ...u, signature: this.key.sign(voteSigningBytes(this.world.chainId, u)) },
    };
  }

  /**
   * hiddenPolka, the attack a broken L29 (`lockedRound ≤ vr ∨ lockedValue = v`) lets through. At a
   * height whose rounds 0 and 1 have byzantine proposers (n = 7, f = 2, quorum 5):
   * - round 0: the proposal v goes to 3 honest nodes (the plan's targets), which prevote v; the
   *   byzantine prevotes for v go to no honest node, so v has a polka (3 + 2) nobody sees, and
   *   every honest node precommits nil;
   * - round 1: a fresh u goes to the same 3; byzantine prevotes for u to them (they see a polka,
   *   lock u and precommit it), byzantine precommits only to the decider, which decides u alone
   *   and is then cut off (scenario `trap`); 2 honest nodes stay locked on u in round 1;
   * - rounds 2 … trap.round − 1: nil votes to all, so no honest proposer's round can succeed;
   * - trap.round (byzantine proposer): v again with polRound 0, the hidden round-0 prevotes
   *   released to all, prevote and precommit v to all. L28 now holds (3 honest + 2 byzantine
   *   prevotes of round 0), so the 2 unlocked honest nodes prevote v; the 2 locked in round 1 > 0
   *   on u must prevote nil (L29), leaving v at 4 prevotes. With L29 broken they prevote v too:
   *   6 prevotes, 6 precommits, v decided — a fork with the decider's u.
   */
  private hiddenPolka(m: ConsensusMessage): void {
    const w = this.world;
    if (m.type === 'evidence') {
      this.toAll(m);
      return;
    }
    const height = m.type === 'proposal' ? m.proposal.height : m.vote.height;
    const round = m.type === 'proposal' ? m.proposal.round : m.vote.round;
    const plan = w.byzantinePlan(height);
    const trap = plan.trap;
    if (trap === null || round > trap.round) {
      this.toAll(m);
      return;
    }
    const accomplices = [...plan.targets, ...plan.byzantine];
    if (round === 0) {
      if (m.type === 'proposal') {
        trap.polValue = m.proposal.blockHash;
        this.sendTo(m, accomplices);
      } else if (m.vote.kind === 1)
        this.sendTo(m, plan.byzantine); // the hidden polka
      else this.toAll(this.vote(2, height, 0, null));
      return;
    }
    if (round === 1) {
      if (m.type === 'proposal') {
        const u = w.newBlock(height, 1, this.index, true);
        trap.lockValue = u;
        this.sendTo(this.signedProposal(height, 1, -1, u), accomplices);
        return;
      }
      const u = trap.lockValue;
      if (u === null) this.toAll(this.vote(m.vote.kind, height, 1, null));
      else if (m.vote.kind === 1) this.sendTo(this.vote(1, height, 1, u), accomplices);
      // Precommits only to the decider: no other node (byzantine cores included) decides u.
      else this.sendTo(this.vote(2, height, 1, u), [plan.decider]);
      return;
    }
    const v = trap.polValue;
    if (round < trap.round || v === null) {
      if (m.type === 'vote') this.toAll(this.vote(m.vote.kind, height, round, null));
      return;
    }
    if (!trap.released.has(this.index)) {
      trap.released.add(this.index);
      this.toAll(this.vote(1, height, 0, v));
    }
    if (m.type === 'proposal') this.toAll(this.signedProposal(height, round, 0, v));
    else this.toAll(this.vote(m.vote.kind, height, round, v));
  }

  /** Equivocates: each peer gets the honest message, a conflicting one, or nothing. */
  private equivocate(m: ConsensusMessage): void {
    const w = this.world;
    let other: ConsensusMessage;
    if (m.type === 'proposal') {
      const p = m.proposal;
      this.remember(p.height, p.blockHash);
      // A different block for the other half; sometimes an invalid one.
      const blockHash = w.newBlock(p.height, p.round, this.index, !this.rng.chance(200));
      const q = { height: p.height, round: p.round, polRound: p.polRound, blockHash, proposer: p.proposer };
      other = {
        type: 'proposal',
        proposal: { ...q, signature: this.key.sign(proposalSigningBytes(w.chainId, q)) } as Proposal,
      };
    } else if (m.type === 'vote') {
      const v = m.vote;
      const candidates: (Uint8Array | null)[] = [
        null,
        ...(this.seenValuesHeight === v.height ? this.seenValues : []),
      ];
      const choices = candidates.filter((c) => valueKey(c) !== valueKey(v.blockHash));
      const blockHash =
        choices.length > 0 ? this.rng.pick(choices) : w.newBlock(v.height, v.round, this.index, true);
      const u = { kind: v.kind, height: v.height, round: v.round, blockHash, validator: v.validator };
      other = {
        type: 'vote',
        vote: { ...u, signature: this.key.sign(voteSigningBytes(w.chainId, u)) } as Vote,
      };
    } else {
      this.broadcast(m);
      return;
    }
    const n = w.nodeCount();
    const height = m.type === 'proposal' ? m.proposal.height : m.vote.height;
    const plan = w.byzantinePlan(height);
    if (plan.targeted) {
      const precommit = m.type === 'vote' && m.vote.kind === 2;
      for (let to = 0; to < n; to++) {
        if (to === this.index) continue;
        const wanted = plan.byzantine.has(to) || (precommit ? to === plan.decider : plan.targets.has(to));
        if (wanted) w.send(this.index, to, { type: 'consensus', message: m });
      }
      return;
    }
    // In later rounds, sometimes abandon the valid value and push a fresh block to everyone: the
    // move that turns any honest node's forgotten lock into a fork.
    const allOther = m.type === 'proposal' && m.proposal.round > 0 && this.rng.chance(500);
    for (let to = 0; to < n; to++) {
      if (to === this.index) continue;
      if (allOther) {
        w.send(this.index, to, { type: 'consensus', message: other });
        continue;
      }
      const r = this.rng.int(10);
      if (r < 2) continue; // withhold
      w.send(this.index, to, { type: 'consensus', message: r < 6 ? m : other });
    }
  }
}

/** A deterministic block id for the simulated application. */
export function simBlockHash(height: number, round: number, builder: number, serial: number): Uint8Array {
  return sha256(encodeWire(['ol/sim/block/1', height, round, builder, serial]));
}
