/**
 * The deterministic simulator (DESIGN §11): N validators' real consensus drivers in one process,
 * virtual time, and a seeded network that delays, drops, duplicates, reorders and partitions
 * messages, while nodes crash and restart from their WALs, clocks skew, and byzantine nodes
 * equivocate. Everything random comes from one seeded PRNG, and events are totally ordered by
 * (time, sequence), so a seed replays the same run exactly.
 */

import type { UnsafeTestSwitches } from '../../consensus/stateMachine.js';
import { type TimeoutConfig, timeoutMs } from '../../consensus/timeouts.js';
import { ValidatorSet, type ValidatorUpdate } from '../../consensus/validatorSet.js';
import { valueKey } from '../../consensus/voteSet.js';
import { assert } from '../../core/errors.js';
import { EventQueue, type Timed } from './eventQueue.js';
import { type BlockInfo, Invariants, type Violation } from './invariants.js';
import { Prng } from './prng.js';
import { type DelayDistribution, SCENARIOS, type Scenario, type ScenarioName } from './scenarios.js';
import { simKey } from './simKeys.js';
import {
  type ByzantinePlan,
  type ByzantineStrategy,
  type SimMessage,
  SimNode,
  type SimWorld,
  simBlockHash,
  TRAP_ROUND_MAX,
  type Trap,
} from './simNode.js';

export const SIM_CHAIN_ID = 'ol-sim';
/** Fast timeouts: simulated messages take 5–50 ms. */
export const SIM_TIMEOUTS: TimeoutConfig = {
  proposeMs: 300,
  proposeDeltaMs: 100,
  prevoteMs: 150,
  prevoteDeltaMs: 75,
  precommitMs: 150,
  precommitDeltaMs: 75,
};
export const SIM_GOSSIP_INTERVAL_MS = 200;
/** Rough virtual time per height without faults; fault schedules scale with heights × this. */
export const SIM_EXPECTED_HEIGHT_MS = 150;
/** Fault periods last at least this long, however few the heights. */
export const SIM_FAULT_PERIOD_MS_MIN = 3000;
/** Every validator starts with this power; power changes only raise honest validators'. */
export const SIM_BASE_POWER = 10;
/** Liveness: after faults stop, an honest node must commit within this many rounds' time. */
export const LIVENESS_ROUNDS_MAX = 10;
export const SIM_NODES_MAX = 64;
export const SIM_HEIGHTS_MAX = 100_000;
/** A run that needs more events than this is reported as a liveness failure, never hangs. */
export const SIM_EVENTS_MAX = 50_000_000;
const CHECK_INTERVAL_MS = 500;

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly byzantine: number;
  readonly heights: number;
  readonly scenario: ScenarioName;
  /** Overrides the scenario's delay distribution. */
  readonly delay?: DelayDistribution;
  readonly timeouts?: TimeoutConfig;
  /** Test-only: break a safety rule in honest cores (the checker must then find violations). */
  readonly unsafe?: UnsafeTestSwitches;
  /** What the byzantine nodes do (simNode.ts, BYZANTINE_STRATEGIES); default 'equivocate'. */
  readonly strategy?: ByzantineStrategy;
}

export interface SimResult {
  readonly seed: number;
  readonly scenario: ScenarioName;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  /** Lowest committed height over honest nodes at the end. */
  readonly heightsReached: number;
  readonly virtualMs: number;
  /** Round in which each height 1..n was first decided. */
  readonly decisionRounds: readonly number[];
  readonly messages: number;
  readonly delivered: number;
  readonly events: number;
  readonly evidence: number;
  readonly refusals: number;
  readonly tornTails: number;
  readonly catchups: number;
  readonly restarts: number;
}

type SimEvent = Timed & { readonly run: () => void };

/** The bound on the time between two commits of an honest node once faults are over. */
export function livenessWindowMs(t: TimeoutConfig): number {
  let total = 0;
  for (let r = 0; r < LIVENESS_ROUNDS_MAX; r++) {
    total += timeoutMs(t, 'propose', r) + timeoutMs(t, 'prevote', r) + timeoutMs(t, 'precommit', r);
  }
  return total + 4 * SIM_GOSSIP_INTERVAL_MS;
}

export function validateSimOptions(o: SimOptions): string | null {
  if (!Number.isSafeInteger(o.seed) || o.seed < 0 || o.seed > 0xffff_ffff)
    return 'seed must be an integer in [0, 2^32)';
  if (!Number.isSafeInteger(o.nodes) || o.nodes < 1 || o.nodes > SIM_NODES_MAX) {
    return `nodes must be an integer in [1, ${SIM_NODES_MAX}]`;
  }
  if (!Number.isSafeInteger(o.byzantine) || o.byzantine < 0 || 3 * o.byzantine >= o.nodes) {
    return `byzantine must be an integer with 3 × byzantine < nodes (under 1/3 of the power); got ${o.byzantine} of ${o.nodes}`;
  }
  if (!Number.isSafeInteger(o.heights) || o.heights < 1 || o.heights > SIM_HEIGHTS_MAX) {
    return `heights must be an integer in [1, ${SIM_HEIGHTS_MAX}]`;
  }
  if (!(o.scenario in SCENARIOS)) return `unknown scenario ${JSON.stringify(o.scenario)}`;
  return null;
}

export function runSimulation(o: SimOptions): SimResult {
  const problem = validateSimOptions(o);
  assert(problem === null, problem ?? '');
  return new Simulation(o).run();
}

class Simulation implements SimWorld {
  readonly chainId = SIM_CHAIN_ID;
  readonly timeouts: TimeoutConfig;
  readonly gossipIntervalMs = SIM_GOSSIP_INTERVAL_MS;
  readonly checker = new Invariants();
  readonly unsafe: UnsafeTestSwitches;
  readonly strategy: ByzantineStrategy;
  readonly stats = { evidence: 0, refusals: 0, tornTails: 0, catchups: 0, restarts: 0 };

  private readonly o: SimOptions;
  private readonly scenario: Scenario;
  private readonly delay: DelayDistribution;
  private readonly netRng: Prng;
  private readonly faultRng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly blocks = new Map<string, BlockInfo>();
  private blockSerial = 0;
  private nowMs = 0;
  private groups: number[] | null = null;
  private messages = 0;
  private delivered = 0;
  private events = 0;
  private readonly decisionRounds: number[] = [];
  private readonly lastProgressMs: number[] = [];
  private readonly window: number;
  /** Virtual time at which all faults stop. */
  private readonly faultEndMs: number;
  private stop = false;
  private readonly plans = new Map<number, ByzantinePlan>();

  constructor(o: SimOptions) {
    this.o = o;
    this.scenario = SCENARIOS[o.scenario];
    this.delay = o.delay ?? this.scenario.delay;
    this.timeouts = o.timeouts ?? SIM_TIMEOUTS;
    this.unsafe = o.unsafe ?? {};
    this.strategy = o.strategy ?? 'equivocate';
    this.window = livenessWindowMs(this.timeouts);
    const expectedMs = Math.max(SIM_FAULT_PERIOD_MS_MIN, o.heights * SIM_EXPECTED_HEIGHT_MS);
    this.faultEndMs = Math.floor((expectedMs * this.scenario.faultPerMille) / 1000);
    const root = new Prng(o.seed);
    this.netRng = root.fork();
    this.faultRng = root.fork();
    const nodeRng = root.fork();
    // Byzantine nodes: a seeded choice of indexes.
    const byzantine = new Set<number>();
    while (byzantine.size < o.byzantine) byzantine.add(this.faultRng.int(o.nodes));
    const [rateMin, rateMax] = this.scenario.clockRatePerMille;
    for (let i = 0; i < o.nodes; i++) {
      const node = new SimNode(
        i,
        simKey(i),
        byzantine.has(i),
        this,
        nodeRng.fork(),
        nodeRng.range(rateMin, rateMax),
      );
      this.nodes.push(node);
      this.lastProgressMs.push(0);
    }
    const genesis = ValidatorSet.genesis(
      this.nodes.map((n) => ({ publicKey: n.key.publicKey, power: SIM_BASE_POWER })),
    );
    const second = genesis.next([]);
    for (const n of this.nodes) {
      n.sets.set(1, genesis);
      n.sets.set(2, second);
    }
  }

  // ---- SimWorld ------------------------------------------------------------------------------

  now(): number {
    return this.nowMs;
  }

  nodeCount(): number {
    return this.nodes.length;
  }

  indexOf(address: Uint8Array): number {
    return this.nodes.findIndex((n) => valueKey(n.key.address) === valueKey(address));
  }

  later(node: SimNode, delayMs: number, fn: () => void): void {
    const incarnation = node.incarnation;
    this.at(this.nowMs + delayMs, () => {
      if (node.up && node.incarnation === incarnation) fn();
    });
  }

  send(from: number, to: number, m: SimMessage): void {
    this.messages++;
    if (this.groups !== null && this.groups[from] !== this.groups[to]) return;
    const s = this.scenario;
    if (this.netRng.chance(s.dropPerMille)) return;
    const copies = this.netRng.chance(s.duplicatePerMille) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      this.at(this.nowMs + this.sampleDelay(), () => {
        // A partition that started while the message was in flight cuts it too.
        if (this.groups !== null && this.groups[from] !== this.groups[to]) return;
        this.delivered++;
        this.nodes[to].receive(from, m);
      });
    }
  }

  block(blockHash: Uint8Array): BlockInfo | undefined {
    return this.blocks.get(valueKey(blockHash));
  }

  newBlock(height: number, round: number, builder: number, valid: boolean, driftEdge = false): Uint8Array {
    const hash = simBlockHash(height, round, builder, this.blockSerial++);
    this.blocks.set(valueKey(hash), { height, valid, round, builder, driftEdge, builtMs: this.nowMs });
    return hash;
  }

  /** Deterministic validator updates of block `height`: raise one honest validator's power. */
  updatesFor(height: number): ValidatorUpdate[] {
    const every = this.scenario.powerChangeEvery;
    if (every === 0 || height % every !== 0) return [];
    const honest = this.nodes.filter((n) => !n.byzantine);
    const target = honest[(height / every) % honest.length];
    return [{ publicKey: target.key.publicKey, power: SIM_BASE_POWER + (height % 5) }];
  }

  byzantinePlan(height: number): ByzantinePlan {
    const cached = this.plans.get(height);
    if (cached) return cached;
    // Derived from (seed, height) only, so every byzantine node follows the same plan.
    const rng = new Prng((Math.imul(this.o.seed, 0x9e3779b1) ^ Math.imul(height, 0x85ebca6b)) >>> 0);
    const byzantine = new Set(this.nodes.filter((n) => n.byzantine).map((n) => n.index));
    const honest = this.nodes.filter((n) => !n.byzantine).map((n) => n.index);
    for (let i = honest.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [honest[i], honest[j]] = [honest[j], honest[i]];
    }
    // Smallest count holding more than 2/3 of equal powers, minus the byzantine votes.
    const quorum = Math.floor((2 * this.nodes.length) / 3) + 1;
    const targets = new Set(honest.slice(0, Math.max(1, quorum - byzantine.size)));
    const trap = this.strategy === 'hiddenPolka' ? this.trapFor(height, byzantine) : null;
    // forgePol always sets up the split decision its forged proof of lock then exploits;
    // hiddenPolka only at heights where the proposer schedule lets it set its trap.
    const targeted =
      this.strategy === 'hiddenPolka' ? trap !== null : rng.chance(500) || this.strategy === 'forgePol';
    const plan: ByzantinePlan = { targeted, targets, decider: honest[0] ?? 0, byzantine, trap };
    if (this.plans.size > 1024) this.plans.clear();
    this.plans.set(height, plan);
    return plan;
  }

  /**
   * hiddenPolka: a height whose rounds 0 and 1 both have byzantine proposers (two different ones)
   * gets a trap; `round` is the next round with a byzantine proposer, where the hidden value comes
   * back with its proof of lock from round 0.
   */
  private trapFor(height: number, byzantine: ReadonlySet<number>): Trap | null {
    const set = this.nodes.map((n) => n.sets.get(height)).find((x) => x !== undefined);
    if (set === undefined) return null;
    const proposer = (r: number) => this.indexOf(set.proposer(r).address);
    if (!byzantine.has(proposer(0)) || !byzantine.has(proposer(1)) || proposer(0) === proposer(1))
      return null;
    for (let r = 2; r <= TRAP_ROUND_MAX; r++)
      if (byzantine.has(proposer(r)))
        return { round: r, polValue: null, lockValue: null, released: new Set() };
    return null;
  }

  onCommitted(node: SimNode, height: number, round: number): void {
    this.lastProgressMs[node.index] = this.nowMs;
    if (this.scenario.isolateDecider && this.nowMs < this.faultEndMs && this.o.byzantine > 0) {
      const plan = this.byzantinePlan(height);
      if (plan.targeted && plan.decider === node.index) {
        const groups = this.nodes.map((n) => (n.index === node.index ? 1 : 0));
        this.groups = groups;
        const [min, max] = this.scenario.isolateDeciderMs;
        this.at(Math.min(this.faultEndMs, this.nowMs + this.faultRng.range(min, max)), () => {
          if (this.groups === groups) this.groups = null;
        });
      }
    }
    if (this.decisionRounds.length < height) {
      this.decisionRounds.push(round);
      // Liveness in rounds: once faults have stopped, a height must not need more than the bound.
      if (this.nowMs > this.faultEndMs + this.window && round > LIVENESS_ROUNDS_MAX) {
        this.checker.fail(
          'liveness',
          this.nowMs,
          `height ${height} needed round ${round} after faults stopped`,
        );
      }
    }
    if (this.nodes.every((n) => n.byzantine || n.chain.length >= this.o.heights)) this.stop = true;
  }

  // ---- the run --------------------------------------------------------------------------------

  private at(timeMs: number, run: () => void): void {
    this.queue.push({ timeMs, run });
  }

  private sampleDelay(): number {
    const d = this.delay;
    let ms = this.netRng.range(d.minMs, d.maxMs);
    if (d.kind === 'longTail' && this.netRng.chance(d.tailPerMille)) ms += this.netRng.range(0, d.tailMaxMs);
    return ms;
  }

  private scheduleFaults(): void {
    const s = this.scenario;
    const rng = this.faultRng;
    const n = this.nodes.length;
    const end = this.faultEndMs;
    if (end === 0) return;
    for (const p of s.scriptedPartitions) {
      const groups = this.nodes.map((_, i) => Math.floor((i * p.groups) / n));
      this.at(Math.floor((end * p.atPerMille) / 1000), () => {
        this.groups = groups;
      });
      this.at(Math.floor((end * p.untilPerMille) / 1000), () => {
        this.groups = null;
      });
    }
    for (let k = 0; k < s.randomPartitions; k++) {
      const start = rng.range(0, end);
      const groupCount = rng.range(2, 3);
      const groups = this.nodes.map(() => rng.int(groupCount));
      const until = Math.min(end, start + rng.range(200, 1500));
      this.at(start, () => {
        this.groups = groups;
      });
      this.at(until, () => {
        this.groups = null;
      });
    }
    const honest = this.nodes.filter((x) => !x.byzantine);
    for (let k = 0; k < s.crashes && honest.length > 0; k++) {
      const node = rng.pick(honest);
      const start = rng.range(0, end);
      const until = Math.min(end, start + rng.range(100, 2000));
      this.at(start, () => {
        if (node.up) node.crash();
      });
      this.at(until, () => {
        if (!node.up) this.restart(node);
      });
    }
    this.at(end, () => {
      this.groups = null;
      for (const node of this.nodes) if (!node.up) this.restart(node);
    });
  }

  private restart(node: SimNode): void {
    this.stats.restarts++;
    this.lastProgressMs[node.index] = this.nowMs;
    node.boot();
  }

  private scheduleLivenessCheck(): void {
    this.at(this.nowMs + CHECK_INTERVAL_MS, () => {
      const healed = this.faultEndMs;
      for (const node of this.nodes) {
        if (node.byzantine || !node.up || node.chain.length >= this.o.heights) continue;
        const since = Math.max(healed, this.lastProgressMs[node.index]);
        if (this.nowMs > since + this.window) {
          this.checker.fail(
            'liveness',
            this.nowMs,
            `honest node ${node.index} made no progress for ${this.nowMs - since} ms after faults stopped (stuck at height ${node.height}, round ${node.driver?.state.round ?? '?'})`,
          );
          if (process.env.SIM_DEBUG) {
            for (const x of this.nodes) {
              const st = x.driver?.state;
              console.error(
                `node ${x.index} byz=${x.byzantine} up=${x.up} h=${x.height} core h=${st?.height} r=${st?.round} step=${st?.step} locked=${st?.lockedRound} valid=${st?.validRound} decision=${st?.decision !== null} future=${st?.future.length} proposals=${[...(st?.proposals.keys() ?? [])]} rounds=${st?.votes.roundsWithVotes().map((r) => `${r}:${st.votes.round(r).prevotes.totalVoted}/${st.votes.round(r).precommits.totalVoted}`)}`,
              );
            }
          }
          this.stop = true;
          return;
        }
      }
      this.scheduleLivenessCheck();
    });
  }

  run(): SimResult {
    this.scheduleFaults();
    this.scheduleLivenessCheck();
    for (const node of this.nodes) node.boot();
    while (!this.stop) {
      const e = this.queue.pop();
      if (e === undefined) break;
      this.nowMs = e.timeMs;
      this.events++;
      try {
        e.run();
      } catch (err) {
        this.checker.fail('exception', this.nowMs, (err as Error).stack ?? String(err));
        break;
      }
      if (this.checker.violations.length > 0) break;
      if (this.events > SIM_EVENTS_MAX) {
        this.checker.fail('liveness', this.nowMs, `no end after ${SIM_EVENTS_MAX} events`);
        break;
      }
    }
    const honest = this.nodes.filter((n) => !n.byzantine);
    const heightsReached = honest.length === 0 ? 0 : Math.min(...honest.map((n) => n.chain.length));
    if (this.checker.violations.length === 0 && heightsReached < this.o.heights) {
      this.checker.fail('liveness', this.nowMs, `event queue drained at height ${heightsReached}`);
    }
    return {
      seed: this.o.seed,
      scenario: this.o.scenario,
      ok: this.checker.violations.length === 0,
      violations: this.checker.violations,
      heightsReached,
      virtualMs: this.nowMs,
      decisionRounds: this.decisionRounds.slice(0, this.o.heights),
      messages: this.messages,
      delivered: this.delivered,
      events: this.events,
      ...this.stats,
    };
  }
}
