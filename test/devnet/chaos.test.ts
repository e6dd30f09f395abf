import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../devnet/chaos.js';
import { checkNetwork } from '../../devnet/checker.js';
import { LocalNetwork } from '../../devnet/network.js';
import { parseScenario } from '../../devnet/scenario.js';

/**
 * Real node processes on 127.0.0.1. The CI scenario (devnet/scenarios/ci.json): 4 validators
 * under mixed load, one killed and restarted, one partitioned away through the connection gater
 * and healed, one paused and resumed; every check must pass. Then the checker must catch a planted
 * violation: a node with its own genesis is reported as diverged.
 */

const nets: LocalNetwork[] = [];
afterAll(async () => {
  await Promise.all(nets.map((n) => n.close()));
}, 60_000);

describe('chaos', () => {
  it('the CI scenario passes every check', async () => {
    const file = join(__dirname, '..', '..', 'devnet', 'scenarios', 'ci.json');
    const scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')));
    const report = await runScenario(scenario);
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.timeline.map((t) => t.action)).toEqual(
      expect.arrayContaining(['kill', 'restart', 'partition', 'heal']),
    );
    expect(report.progress.every((p) => p.reached)).toBe(true);
    expect(report.load.committed).toBeGreaterThan(0);
    expect(report.check.acknowledged.found).toBe(report.check.acknowledged.total);
    expect(report.check.receipts.checked).toBeGreaterThan(0);
    expect(report.check.supply).not.toBeNull();
    // GST is the resume at 61 s; every honest node committed again within the bound.
    expect(report.livenessAfterGst).toMatchObject({
      ok: true,
      lastFault: { action: 'resume node2', atSec: 61 },
    });
    expect(Object.keys(report.livenessAfterGst?.nodes ?? {})).toHaveLength(4);
  }, 300_000);

  it('reports a node started with a different genesis as diverged', async () => {
    const a = await LocalNetwork.create({ validators: 1, blockTimeMs: 200, chainId: 'planted' });
    nets.push(a);
    const b = await LocalNetwork.create({ validators: 1, blockTimeMs: 200, chainId: 'planted' });
    nets.push(b);
    a.start();
    b.start();
    await Promise.all([a.waitForHeight(2, undefined, 120_000), b.waitForHeight(2, undefined, 120_000)]);
    const report = await checkNetwork({
      clients: [a.clients[0], b.clients[0]],
      names: ['honest', 'impostor'],
      agreementOnly: true,
    });
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([
      expect.objectContaining({
        check: 'agreement',
        detail: expect.stringContaining('impostor diverges from honest at height 1'),
      }),
    ]);
    // And a network that agrees with itself passes.
    const self = await checkNetwork({
      clients: [a.clients[0], a.clients[0]],
      names: ['a', 'a2'],
      addresses: [...Object.values(a.layout.accounts).map((x) => x.address), a.layout.nodes[0].address],
    });
    expect(self.violations).toEqual([]);
  }, 180_000);
});
