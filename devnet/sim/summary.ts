/**
 * Aggregates simulator runs into the figures the CLI and the benchmark print.
 */

import type { SimResult } from './simulation.js';

export interface ScenarioSummary {
  runs: number;
  passed: number;
  failed: number;
  heights: number;
  /** Share of decided heights, in per mille, decided in round 0. */
  round0PerMille: number;
  roundsMedian: number;
  roundsMean: number;
  roundsMax: number;
  messagesPerHeight: number;
  virtualMsPerHeight: number;
  evidence: number;
  guardRefusals: number;
  tornWalTails: number;
  restarts: number;
}

export function summarize(results: readonly SimResult[]): ScenarioSummary {
  const rounds: number[] = [];
  let messages = 0;
  let heights = 0;
  let virtualMs = 0;
  let evidence = 0;
  let refusals = 0;
  let torn = 0;
  let restarts = 0;
  for (const r of results) {
    rounds.push(...r.decisionRounds);
    messages += r.messages;
    heights += r.decisionRounds.length;
    virtualMs += r.virtualMs;
    evidence += r.evidence;
    refusals += r.refusals;
    torn += r.tornTails;
    restarts += r.restarts;
  }
  const sorted = [...rounds].sort((a, b) => a - b);
  const passed = results.filter((r) => r.ok).length;
  return {
    runs: results.length,
    passed,
    failed: results.length - passed,
    heights,
    round0PerMille:
      rounds.length === 0 ? 0 : Math.round((rounds.filter((r) => r === 0).length * 1000) / rounds.length),
    roundsMedian: sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)],
    roundsMean:
      rounds.length === 0 ? 0 : Math.round((rounds.reduce((a, b) => a + b, 0) * 100) / rounds.length) / 100,
    roundsMax: sorted.length === 0 ? 0 : sorted[sorted.length - 1],
    messagesPerHeight: heights === 0 ? 0 : Math.round(messages / heights),
    virtualMsPerHeight: heights === 0 ? 0 : Math.round(virtualMs / heights),
    evidence,
    guardRefusals: refusals,
    tornWalTails: torn,
    restarts,
  };
}
