/**
 * Fault scenarios as data (the CometBFT e2e manifest idea): what the network does, which faults
 * are injected during the fault period, and when everything heals. Every random choice a
 * scenario implies is drawn from the run's seeded PRNG.
 */

export type DelayDistribution =
  /** Uniform in [minMs, maxMs]. */
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  /** Uniform in [minMs, maxMs], plus, with probability tailPerMille, up to tailMaxMs more. */
  | {
      readonly kind: 'longTail';
      readonly minMs: number;
      readonly maxMs: number;
      readonly tailPerMille: number;
      readonly tailMaxMs: number;
    };

/**
 * A scripted partition: between these points of the fault period (in per mille of it) only nodes
 * in the same group talk.
 */
export interface ScriptedPartition {
  readonly atPerMille: number;
  readonly untilPerMille: number;
  /** Group of each node by index, as fractions: node i is in group floor(i * groups / n). */
  readonly groups: number;
}

export interface Scenario {
  readonly name: ScenarioName;
  readonly description: string;
  readonly delay: DelayDistribution;
  /**
   * Each message copy is lost with this probability (per mille), throughout the run: gossip
   * retransmits, so loss slows consensus but must not stop it (liveness is checked under it).
   */
  readonly dropPerMille: number;
  /** … and delivered twice with this probability. */
  readonly duplicatePerMille: number;
  /** Random partitions: how many during the fault period (each lasts a random 0.2–1.5 s). */
  readonly randomPartitions: number;
  readonly scriptedPartitions: readonly ScriptedPartition[];
  /** Random crash/restart of honest nodes during the fault period (each down 0.1–2 s). */
  readonly crashes: number;
  /** Per-node clock rate in per mille of real time, drawn in [min, max]. */
  readonly clockRatePerMille: readonly [number, number];
  /**
   * Faults stop (partitions heal, crashed nodes restart) after this share, in per mille, of the
   * run's expected length (heights × SIM_EXPECTED_HEIGHT_MS), so faults hit short and long runs
   * alike. Liveness is judged after that point.
   */
  readonly faultPerMille: number;
  /**
   * Adversarial scheduling during the fault period: when the honest node that the colluding
   * byzantine nodes made decide alone (ByzantinePlan.decider) commits, the network cuts it off for
   * 0.5–1.5 s, so its commit certificate cannot rescue the others. This is what makes a node that
   * ignores its lock fork the chain.
   */
  readonly isolateDecider: boolean;
  /** How long (virtual ms, drawn in [min, max]) the decider stays cut off; capped at the fault end. */
  readonly isolateDeciderMs: readonly [number, number];
  /** Honest validators' powers change every this many heights (0: never), testing h+2 updates. */
  readonly powerChangeEvery: number;
}

export const SCENARIO_NAMES = ['none', 'loss', 'partition', 'crash', 'skew', 'chaos', 'trap'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

const BASE_DELAY: DelayDistribution = { kind: 'uniform', minMs: 5, maxMs: 50 };

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  none: {
    name: 'none',
    description: 'no faults: delays of 5–50 ms only',
    delay: BASE_DELAY,
    dropPerMille: 0,
    duplicatePerMille: 0,
    randomPartitions: 0,
    scriptedPartitions: [],
    crashes: 0,
    clockRatePerMille: [1000, 1000],
    faultPerMille: 0,
    powerChangeEvery: 0,
    isolateDecider: false,
    isolateDeciderMs: [0, 0],
  },
  loss: {
    name: 'loss',
    description: '10% of messages lost and 2% duplicated throughout, reordering by random delays',
    delay: { kind: 'longTail', minMs: 5, maxMs: 50, tailPerMille: 50, tailMaxMs: 400 },
    dropPerMille: 100,
    duplicatePerMille: 20,
    randomPartitions: 0,
    scriptedPartitions: [],
    crashes: 0,
    clockRatePerMille: [1000, 1000],
    faultPerMille: 0,
    powerChangeEvery: 0,
    isolateDecider: false,
    isolateDeciderMs: [0, 0],
  },
  partition: {
    name: 'partition',
    description:
      'a scripted split into halves (no side has 2/3) then random partitions; heal at 60% of the run',
    delay: BASE_DELAY,
    dropPerMille: 0,
    duplicatePerMille: 0,
    randomPartitions: 3,
    scriptedPartitions: [{ atPerMille: 100, untilPerMille: 400, groups: 2 }],
    crashes: 0,
    clockRatePerMille: [1000, 1000],
    faultPerMille: 600,
    powerChangeEvery: 0,
    isolateDecider: true,
    isolateDeciderMs: [500, 1500],
  },
  crash: {
    name: 'crash',
    description:
      'honest nodes crash (losing unsynced WAL bytes, torn tails) and restart; all up at 60% of the run',
    delay: BASE_DELAY,
    dropPerMille: 0,
    duplicatePerMille: 0,
    randomPartitions: 0,
    scriptedPartitions: [],
    crashes: 6,
    clockRatePerMille: [1000, 1000],
    faultPerMille: 600,
    powerChangeEvery: 0,
    isolateDecider: false,
    isolateDeciderMs: [0, 0],
  },
  skew: {
    name: 'skew',
    description: 'clocks run at 0.5×–2× real time per node, long-tailed delays',
    delay: { kind: 'longTail', minMs: 5, maxMs: 80, tailPerMille: 100, tailMaxMs: 800 },
    dropPerMille: 0,
    duplicatePerMille: 0,
    randomPartitions: 0,
    scriptedPartitions: [],
    crashes: 0,
    clockRatePerMille: [500, 2000],
    faultPerMille: 0,
    powerChangeEvery: 0,
    isolateDecider: false,
    isolateDeciderMs: [0, 0],
  },
  chaos: {
    name: 'chaos',
    description:
      'all of the above at once, plus validator power changes every 3 heights; heal at 70% of the run',
    delay: { kind: 'longTail', minMs: 5, maxMs: 60, tailPerMille: 50, tailMaxMs: 600 },
    dropPerMille: 50,
    duplicatePerMille: 30,
    randomPartitions: 3,
    scriptedPartitions: [{ atPerMille: 200, untilPerMille: 350, groups: 3 }],
    crashes: 4,
    clockRatePerMille: [700, 1500],
    faultPerMille: 700,
    powerChangeEvery: 3,
    isolateDecider: true,
    isolateDeciderMs: [500, 1500],
  },
  trap: {
    name: 'trap',
    description:
      'adversarial scheduling only: the honest node the byzantine nodes made decide alone is cut off for 10–12 s (before GST the adversary controls delays); 5–50 ms delays; heal at 5× the expected run',
    delay: BASE_DELAY,
    dropPerMille: 0,
    duplicatePerMille: 0,
    randomPartitions: 0,
    scriptedPartitions: [],
    crashes: 0,
    clockRatePerMille: [1000, 1000],
    faultPerMille: 5000,
    powerChangeEvery: 0,
    isolateDecider: true,
    isolateDeciderMs: [10_000, 12_000],
  },
};
