/**
 * The mutation test (`npm run sim -- mutate [--seeds N]`): removes one core rule at a time
 * (consensus/stateMachine.ts MUTANTS) and runs simulator seeds — every byzantine strategy that
 * exercises the rule, over the scenarios that make it bite — until the checker catches it.
 * Reports, per mutant, the first failing run, its violation and how many runs it took. A
 * safety-relevant mutant must be caught as an agreement or validity violation, not a stall.
 */

import type { Mutant } from '../../consensus/stateMachine.js';
import type { ViolationKind } from './invariants.js';
import type { ScenarioName } from './scenarios.js';
import type { ByzantineStrategy } from './simNode.js';
import { runSimulation } from './simulation.js';

interface MutantPlan {
  readonly mutant: Mutant;
  /** Removing the rule can break agreement or validity (not only liveness). */
  readonly safety: boolean;
  readonly strategies: readonly ByzantineStrategy[];
  readonly scenarios: readonly ScenarioName[];
}

/** Which attacks exercise which rule (the byzantine nodes must reach the removed code path). */
export const MUTANT_PLANS: readonly MutantPlan[] = [
  {
    mutant: 'noLockL23',
    safety: true,
    strategies: ['equivocate', 'splitHalves'],
    scenarios: ['partition', 'chaos'],
  },
  {
    mutant: 'noLockL29',
    safety: true,
    strategies: ['hiddenPolka'],
    scenarios: ['trap'],
  },
  {
    mutant: 'noPolCheckL28',
    safety: true,
    strategies: ['forgePol'],
    scenarios: ['partition', 'chaos', 'none'],
  },
  { mutant: 'noProposerCheck', safety: true, strategies: ['outOfTurn'], scenarios: ['none', 'partition'] },
  {
    mutant: 'weakQuorumL36',
    safety: true,
    strategies: ['splitHalves', 'equivocate'],
    scenarios: ['none', 'partition'],
  },
  {
    mutant: 'weakQuorumL49',
    safety: true,
    strategies: ['splitHalves', 'equivocate'],
    scenarios: ['none', 'partition'],
  },
  {
    mutant: 'noVoteDedup',
    safety: true,
    strategies: ['splitHalves', 'equivocate'],
    scenarios: ['loss', 'none'],
  },
  {
    mutant: 'noValidValue',
    safety: false,
    strategies: ['equivocate', 'withhold'],
    scenarios: ['partition', 'chaos'],
  },
  {
    mutant: 'noLockUpdate',
    safety: true,
    strategies: ['equivocate', 'splitHalves'],
    scenarios: ['partition', 'chaos'],
  },
];

export interface MutantReport {
  readonly mutant: Mutant;
  readonly safety: boolean;
  readonly caught: boolean;
  /** Runs until the first failure (or all runs tried). */
  readonly runs: number;
  readonly seed?: number;
  readonly strategy?: ByzantineStrategy;
  readonly scenario?: ScenarioName;
  readonly kind?: ViolationKind;
  readonly detail?: string;
}

export function runMutationTest(o: {
  seedsMax: number;
  nodes?: number;
  byzantine?: number;
  heights?: number;
  only?: readonly Mutant[];
  progress?: (message: string) => void;
}): MutantReport[] {
  const nodes = o.nodes ?? 7;
  const byzantine = o.byzantine ?? 2;
  const heights = o.heights ?? 20;
  const out: MutantReport[] = [];
  for (const plan of MUTANT_PLANS) {
    if (o.only && !o.only.includes(plan.mutant)) continue;
    let runs = 0;
    let report: MutantReport | null = null;
    for (let seed = 1; seed <= o.seedsMax && report === null; seed++) {
      for (const strategy of plan.strategies) {
        for (const scenario of plan.scenarios) {
          runs++;
          const r = runSimulation({
            seed,
            nodes,
            byzantine,
            heights,
            scenario,
            strategy,
            unsafe: { mutant: plan.mutant },
          });
          if (r.ok) continue;
          // Prefer a safety violation: keep looking if this one is only a stall.
          const v =
            r.violations.find((x) => x.kind === 'agreement' || x.kind === 'validity') ?? r.violations[0];
          if (plan.safety && v.kind !== 'agreement' && v.kind !== 'validity') continue;
          report = {
            mutant: plan.mutant,
            safety: plan.safety,
            caught: true,
            runs,
            seed,
            strategy,
            scenario,
            kind: v.kind,
            detail: v.detail,
          };
          break;
        }
        if (report !== null) break;
      }
    }
    const final = report ?? { mutant: plan.mutant, safety: plan.safety, caught: false, runs };
    o.progress?.(
      `${plan.mutant}: ${final.caught ? `caught (${final.kind}) after ${final.runs} runs, seed ${final.seed}` : `NOT caught in ${runs} runs`}`,
    );
    out.push(final);
  }
  return out;
}

export function formatMutationReport(report: readonly MutantReport[]): string {
  const lines = report.map((r) =>
    r.caught
      ? `${r.mutant.padEnd(16)} caught as ${r.kind} after ${r.runs} runs (seed ${r.seed}, ${r.strategy}, ${r.scenario})`
      : `${r.mutant.padEnd(16)} NOT CAUGHT in ${r.runs} runs`,
  );
  return `${lines.join('\n')}\n`;
}
