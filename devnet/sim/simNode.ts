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
import { createState, type UnsafeTestSwitches } from '../../consensus/stateMachine.js';
import type { TimeoutConfig } from '../../consensus/timeouts.js';
import type { ConsensusMessage } from '../../consensus/validation.js';
import type { ValidatorSet, ValidatorUpdate } from '../../consensus/validatorSet.js';
import { valueKey } from '../../consensus/voteSet.js';
import { MemoryWalBackend, Wal } from '../../consensus/wal.js';
import {
  type Commit,
  type Proposal,
  proposalSigningBytes,
  type Vote,
  voteSigningBytes,
} from '../../core/block.js';
import { encodeWire } from '../../core/codec.js';
import { sha256 } from '../../core/hash.js';
import type { BlockInfo, Invariants } from './invariants.js';
import type { Prng } from './prng.js';
import type { SimKey } from './simKeys.js';

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
  now(): number;
  send(from: number, to: number, m: SimMessage): void;
  nodeCount(): number;
  /** Runs `fn` after `delayMs` of virtual time if the node has not crashed since. */
  later(node: SimNode, delayMs: number, fn: () => void): void;
  block(blockHash: Uint8Array): BlockInfo | undefined;
  newBlock(height: number, round: number, builder: number, valid: boolean): Uint8Array;
  updatesFor(height: number): ValidatorUpdate[];
  onCommitted(node: SimNode, height: number, round: number): void;
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
  readonly walBackend = new MemoryWalBackend();
  readonly signerStore = new MemorySignerStateStore();
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
        const blockHash = w.newBlock(height, round, this.index, true);
        w.later(this, this.rng.range(1, 10), () =>
          this.input({ type: 'proposalBuilt', height, round, blockHash }),
        );
      },
      validateValue: (height, _round, blockHash) => {
        const info = w.block(blockHash);
        const valid = info?.valid === true && info.height === height;
        w.later(this, this.rng.range(1, 10), () =>
          this.input({ type: 'valueValidity', height, blockHash, valid }),
        );
      },
      decide: (d) => {
        w.checker.onDecide(this.index, d.height, d.blockHash, w.now(), w.block(d.blockHash));
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

  /** Equivocates: each peer gets the honest message, a conflicting one, or nothing. */
  private lie(m: ConsensusMessage): void {
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
