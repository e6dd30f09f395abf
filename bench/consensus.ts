import { SCENARIO_NAMES } from '../devnet/sim/scenarios.js';
import { runSimulation, type SimResult } from '../devnet/sim/simulation.js';
import { summarize } from '../devnet/sim/summary.js';
import { round } from './_measure.js';

/**
 * `npm run bench -- consensus [--seeds N] [--heights H] [--safety-seeds N]`
 *
 * Figures from the deterministic simulator (devnet/sim): simulated heights per second of wall
 * time for 4, 7 and 16 validators without faults; messages and rounds per height under each fault
 * scenario (7 validators, 2 byzantine); the targets (no faults → every height in round 0; 10%
 * loss → median rounds per height ≤ 2). `--safety-seeds N` adds the safety run: N seeds per
 * scenario (7 validators, 2 byzantine), counting violations (target 0 over 10,000 per scenario).
 * Wall-clock time here measures; no test ever asserts on it.
 */
function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${name} needs a non-negative integer`);
  return v;
}

export default async function consensusBench(args: string[]): Promise<Record<string, unknown>> {
  const seeds = flag(args, '--seeds', 10);
  const heights = flag(args, '--heights', 30);
  const safetySeeds = flag(args, '--safety-seeds', 0);
  const safetyHeights = flag(args, '--safety-heights', 10);

  const throughput: Record<string, unknown> = {};
  for (const nodes of [4, 7, 16]) {
    const started = process.hrtime.bigint();
    const results: SimResult[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      results.push(runSimulation({ seed, nodes, byzantine: 0, heights, scenario: 'none' }));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const s = summarize(results);
    throughput[`nodes${nodes}`] = {
      heightsPerSec: round(s.heights / seconds, 1),
      messagesPerHeight: s.messagesPerHeight,
      roundsMax: s.roundsMax,
      failed: s.failed,
    };
    process.stderr.write(`throughput ${nodes} nodes done\n`);
  }

  const scenarios: Record<string, unknown> = {};
  for (const scenario of SCENARIO_NAMES) {
    const results: SimResult[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      results.push(runSimulation({ seed, nodes: 7, byzantine: 2, heights, scenario }));
    }
    scenarios[scenario] = summarize(results);
    process.stderr.write(`scenario ${scenario} done\n`);
  }

  const noFault = summarize(
    Array.from({ length: seeds }, (_, i) =>
      runSimulation({ seed: i + 1, nodes: 7, byzantine: 0, heights, scenario: 'none' }),
    ),
  );
  const loss = summarize(
    Array.from({ length: seeds }, (_, i) =>
      runSimulation({ seed: i + 1, nodes: 7, byzantine: 0, heights, scenario: 'loss' }),
    ),
  );
  const targets = {
    noFaultsEveryHeightRound0: noFault.roundsMax === 0 && noFault.failed === 0,
    noFaultsRoundsMax: noFault.roundsMax,
    loss10pctMedianRounds: loss.roundsMedian,
    loss10pctMeanRounds: loss.roundsMean,
    loss10pctMedianAtMost2: loss.roundsMedian <= 2,
  };

  let safety: Record<string, unknown> | undefined;
  if (safetySeeds > 0) {
    safety = {};
    for (const scenario of SCENARIO_NAMES) {
      let violations = 0;
      const failing: string[] = [];
      const started = Date.now();
      for (let seed = 1; seed <= safetySeeds; seed++) {
        const r = runSimulation({ seed, nodes: 7, byzantine: 2, heights: safetyHeights, scenario });
        if (!r.ok) {
          violations++;
          if (failing.length < 10) failing.push(`${seed}: ${r.violations[0]?.kind}`);
        }
        if (seed % 1000 === 0) process.stderr.write(`safety ${scenario} ${seed}/${safetySeeds}\n`);
      }
      safety[scenario] = {
        seeds: safetySeeds,
        heights: safetyHeights,
        violations,
        failing,
        seconds: Math.round((Date.now() - started) / 1000),
      };
    }
  }

  return {
    config: { seeds, heights, nodesForScenarios: 7, byzantineForScenarios: 2 },
    simulatedHeightsPerSecond: throughput,
    scenarios,
    targets,
    ...(safety ? { safety } : {}),
  };
}
