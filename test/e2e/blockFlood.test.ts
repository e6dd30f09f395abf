import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalNetwork } from '../../devnet/network.js';

/**
 * Attack: a non-validator peer floods the block gossip topic. After every height it sees, it
 * publishes 80 distinct, decodable junk blocks for the next height, naming each validator (and a
 * stranger) as proposer (test-only fault `floodBlocks`, node 4, a follower). Before the defence
 * every honest node admitted the first 64 into its candidate table, ignored the real proposal,
 * prevoted nil in every round and never committed again: a permanent halt. Now unreferenced blocks
 * get two slots per (height, named proposer), a block naming a non-validator is rejected (the
 * relaying peer is scored down), and a block a validated proposal references is always admitted
 * (fetched at once when its gossip copy was refused), so the chain keeps committing.
 */

let net: LocalNetwork;

beforeAll(async () => {
  net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 200,
    chainId: 'flood',
    env: { 4: { OPENLEDGER_TEST_FAULTS: 'floodBlocks' } },
    nodeConfig: { log: { level: 'warn' } },
  });
  net.start([0, 1, 2, 3]);
  await net.waitForHeight(2, [0, 1, 2, 3], 120_000);
}, 180_000);

afterAll(async () => {
  await net?.close();
}, 60_000);

describe('a peer flooding the block topic', () => {
  it('cannot halt the chain', async () => {
    net.start([4]);
    const tip = (await net.clients[0].status()).height as number;
    await net.waitForHeight(tip + 2, [4], 120_000);
    // The attacker is now flooding at every height; the validators must keep committing.
    const from = (await net.clients[0].status()).height as number;
    await net.waitForHeight(from + 15, [0, 1, 2, 3], 120_000);
    const metrics = await (await fetch(net.layout.nodes[0].metricsUrl)).text();
    expect(metrics).toMatch(/ol_gossip_rejected_total\{topic="block"\} [1-9]/);
    // Every node agrees on the chain built under the flood.
    const views = await Promise.all([0, 1, 2, 3].map((n) => net.chainView(n, from + 15)));
    for (const v of views.slice(1)) expect(v).toEqual(views[0]);
  }, 300_000);
});
