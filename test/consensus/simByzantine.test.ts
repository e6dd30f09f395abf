import { describe, expect, it } from 'vitest';
import { runMutationTest } from '../../devnet/sim/mutate.js';
import { BYZANTINE_STRATEGIES } from '../../devnet/sim/simNode.js';
import { runSimulation } from '../../devnet/sim/simulation.js';

describe('simulator: named byzantine strategies (issue 18)', () => {
  it('every strategy, 25 seeds each: agreement, validity, no honest double-sign, liveness, bounded memory', () => {
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
    expect(runs).toBe(25 * BYZANTINE_STRATEGIES.length);
  }, 240_000);

  it('hiddenPolka under the trap scenario: the trap is set (rounds 0 and 1 byzantine), and the lock (L29) holds', () => {
    let trapped = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = runSimulation({
        seed,
        nodes: 7,
        byzantine: 2,
        heights: 10,
        scenario: 'trap',
        strategy: 'hiddenPolka',
      });
      expect(r.ok, `seed ${seed}: ${r.violations[0]?.detail}`).toBe(true);
      // A trapped height is decided in round 1 (by the decider alone; the rest follow its certificate).
      if (r.decisionRounds.some((x) => x === 1)) trapped++;
    }
    expect(trapped).toBeGreaterThan(0);
  }, 240_000);

  it('mutation test: accepting a proposal from a non-proposer, skipping the L28 POL check, counting repeated votes and ignoring the lock at L29 are caught as safety violations', () => {
    const report = runMutationTest({
      seedsMax: 20,
      only: ['noProposerCheck', 'noPolCheckL28', 'noVoteDedup', 'noLockL29'],
    });
    expect(report).toHaveLength(4);
    for (const r of report) {
      expect(r.caught, r.mutant).toBe(true);
      expect(['agreement', 'validity']).toContain(r.kind);
    }
  }, 240_000);
});
