import { describe, expect, it } from 'vitest';
import { runMutationTest } from '../../devnet/sim/mutate.js';
import { BYZANTINE_STRATEGIES } from '../../devnet/sim/simNode.js';
import { runSimulation } from '../../devnet/sim/simulation.js';

describe('simulator: named byzantine strategies (issue 18)', () => {
  it('every strategy, 200 runs: agreement, validity, no honest double-sign, liveness, bounded memory', () => {
    const failed: string[] = [];
    let runs = 0;
    for (const strategy of BYZANTINE_STRATEGIES) {
      for (let seed = 1; seed <= 25; seed++) {
        runs++;
        const r = runSimulation({
          seed,
          nodes: 7,
          byzantine: 2,
          heights: 8,
          scenario: 'partition',
          strategy,
        });
        if (!r.ok)
          failed.push(
            `${strategy} seed ${seed}: ${r.violations[0]?.kind} ${r.violations[0]?.detail}\n  npm run sim -- --seed ${seed} --nodes 7 --byzantine 2 --heights 8 --scenario partition --strategy ${strategy}`,
          );
      }
    }
    expect(failed).toEqual([]);
    expect(runs).toBe(200);
  }, 240_000);

  it('mutation test: accepting a proposal from a non-proposer, skipping the L28 POL check and counting repeated votes are caught as safety violations', () => {
    const report = runMutationTest({
      seedsMax: 20,
      only: ['noProposerCheck', 'noPolCheckL28', 'noVoteDedup'],
    });
    for (const r of report) {
      expect(r.caught, r.mutant).toBe(true);
      expect(['agreement', 'validity']).toContain(r.kind);
    }
  }, 240_000);
});
