import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalNetwork } from '../../devnet/network.js';
import { BLOCKS_PER_REQUEST_MAX } from '../../node/syncMessages.js';

/**
 * Block sync over several ranges: the follower fetches range k+1 (and checks its certificates in
 * worker threads) while it applies range k. A chain longer than three ranges exercises the
 * prefetch, the hand-over between ranges and the restart of consensus at the end.
 */
let net: LocalNetwork;

beforeAll(async () => {
  net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 20,
    chainId: 'e2e-sync',
    nodeConfig: { log: { level: 'warn' } },
  });
  net.start([0, 1, 2, 3]);
});

afterAll(async () => {
  await net?.close();
});

describe('block sync', () => {
  it('a follower started after more than three ranges of blocks syncs them all and keeps following', async () => {
    const built = 3 * BLOCKS_PER_REQUEST_MAX + 10;
    await net.waitForHeight(built, [0], 150_000);
    net.start([4]);
    const target = ((await net.clients[0].status()).height as number) + 3;
    await net.waitForHeight(target, [4], 90_000);
    const [a, b] = await Promise.all([net.chainView(0, target), net.chainView(4, target)]);
    expect(b).toEqual(a);
    // Synced blocks are counted: the follower did not get there by consensus alone.
    const metrics = await (await fetch(net.layout.nodes[4].metricsUrl)).text();
    const synced = Number(/^ol_synced_blocks_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(synced).toBeGreaterThanOrEqual(built - 5);
  }, 300_000); // its waits allow 150 s + 90 s: building 200 blocks takes ~45 s on a loaded machine
});
