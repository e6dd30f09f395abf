import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOpen } from '../../core/amount.js';
import { fromHex } from '../../core/bytes.js';
import { receiptDelivery, signAck, signReceiptBody, type UnsignedReceiptBody } from '../../core/delivery.js';
import { spanModelBody } from '../../devnet/demo.js';
import { LocalNetwork } from '../../devnet/network.js';
import { buildRequest } from '../../rpc/client.js';

/**
 * End to end, with real node processes on 127.0.0.1: four validators (node3 runs the test-only
 * fault that corrupts its settle results) and one follower started late. Everything is checked
 * from outside, over JSON-RPC.
 */

const CORPUS = readFileSync(join(__dirname, '..', 'fixtures', 'tinyshakespeare.txt'), 'utf8');

let net: LocalNetwork;
const VALIDATORS = [0, 1, 2, 3];

beforeAll(async () => {
  net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 300,
    chainId: 'e2e',
    ...(process.env.E2E_KEEP_DIR ? { dir: process.env.E2E_KEEP_DIR } : {}),
    env: { 3: { OPENLEDGER_TEST_FAULTS: 'wrongSettle' } },
    accounts: {
      owner: '1000',
      alice: '1000',
      bob: '1000',
      provider: '1000',
      requester: '1000',
      load: '1000000',
    },
    nodeConfig: { attribution: { workers: 1 }, log: { level: process.env.E2E_LOG ?? 'info' } },
  });
  net.start(VALIDATORS);
  await net.waitForHeight(2, VALIDATORS, 120_000);
}, 180_000);

afterAll(async () => {
  await net?.close();
}, 60_000);

async function sameChain(nodes: readonly number[], upTo: number): Promise<void> {
  const views = await Promise.all(nodes.map((n) => net.chainView(n, upTo)));
  for (const v of views.slice(1)) expect(v).toEqual(views[0]);
}

describe('a 4-validator network', () => {
  it('commits blocks and includes a transfer sent to one node; every node agrees', async () => {
    const faucet = net.wallet('faucet', 1);
    const to = net.layout.accounts.bob.address;
    const before = BigInt((await net.clients[2].account(to)).balance);
    const sent = await faucet.send(
      'transfer',
      { to: fromHex(to), amount: parseOpen('2.5') },
      { mode: 'commit' },
    );
    expect(sent.result.code).toBe('ok');
    await net.waitForHeight(sent.height + 1, VALIDATORS);
    for (const n of VALIDATORS) {
      expect(BigInt((await net.clients[n].account(to)).balance)).toBe(before + parseOpen('2.5'));
    }
    await sameChain(VALIDATORS, sent.height + 1);
  });

  it('pays contributors for an inference through attribution agreed by consensus', async () => {
    const owner = net.wallet('owner', 0);
    const created = await owner.send(
      'datanet.create',
      {
        name: 'shakespeare',
        description: 'plays',
        license: 'public-domain',
        tags: ['drama'],
        curation: 'open',
        curators: [],
        bond: parseOpen('1'),
        rejectForfeitBps: 5000,
        contributionBytesMax: 65536,
        labels: [],
      },
      { mode: 'commit' },
    );
    expect(created.result.code).toBe('ok');
    const datanet = created.events.find((e: any) => e.type === 'datanet.created').attrs.datanet as string;

    const texts = { alice: CORPUS.slice(0, 3000), bob: CORPUS.slice(3000, 6000) };
    const contributionIds: Record<string, string> = {};
    for (const [who, content] of Object.entries(texts)) {
      const w = net.wallet(who, 1);
      const r = await w.send(
        'datanet.contribute',
        { datanet: fromHex(datanet), content, label: '' },
        { mode: 'commit' },
      );
      expect(r.result.code).toBe('ok');
      contributionIds[who] = r.events.find(
        (e: any) => e.type === 'contribution.submitted',
      ).attrs.contribution;
    }
    for (const id of Object.values(contributionIds)) {
      await net.waitFor(
        'contribution accepted',
        async () => (await net.clients[2].contribution(id)).status === 'accepted',
        60_000,
      );
    }
    const version = (await net.clients[2].datanet(datanet)).version as number;
    expect(version).toBe(2);

    const provider = net.layout.accounts.provider;
    const registered = await owner.send(
      'model.register',
      spanModelBody('bard-ngram', fromHex(datanet), version, fromHex(provider.address)),
      { mode: 'commit' },
    );
    expect(registered.result.code).toBe('ok');
    const model = registered.events.find((e: any) => e.type === 'model.registered').attrs.model as string;

    // The output quotes alice's contribution verbatim, then wanders off.
    const output = `${texts.alice.slice(200, 700)} and then something else entirely about cheese and trains`;
    const requester = net.layout.accounts.requester;
    const height = (await net.clients[0].status()).height as number;
    const request = buildRequest(
      { secretKey: fromHex(requester.secretKey, 32), publicKey: fromHex(requester.publicKey, 32) },
      {
        chainId: net.chainId,
        model: fromHex(model),
        modelVersion: 1,
        prompt: 'speak',
        maxFee: parseOpen('5'),
        nonce: 1,
        expiryHeight: height + 1000,
      },
    );
    // The provider bonds, signs its delivery; the requester acknowledges it (settles at once).
    const providerSk = fromHex(provider.secretKey, 32);
    const acked = (unsigned: UnsignedReceiptBody) =>
      signReceiptBody(
        unsigned,
        providerSk,
        signAck(receiptDelivery(unsigned), fromHex(requester.secretKey, 32)),
      );
    const bonded = await net
      .wallet('provider', 2)
      .send('provider.bond', { amount: parseOpen('10') }, { mode: 'commit' });
    expect(bonded.result.code).toBe('ok');
    const receiptTx = await net
      .wallet('provider', 2)
      .send(
        'inference.receipt',
        acked({ request, input: '', output, retrieved: [], inputTokens: 1, outputTokens: 120 }),
        { mode: 'commit' },
      );
    expect(receiptTx.result.code).toBe('ok');
    const receiptId = receiptTx.events.find((e: any) => e.type === 'inference.receipt').attrs
      .receipt as string;

    const record = await net.waitFor(
      'attribution settled',
      async () => {
        const r = await net.clients[0].receipt(receiptId);
        return r.status === 'settled' ? net.clients[0].attribution(receiptId) : undefined;
      },
      90_000,
    );
    const alice = net.layout.accounts.alice.address;
    const paidAlice = record.payouts.find((p) => p.address === alice);
    if (paidAlice === undefined) throw new Error('alice was not paid');
    expect(BigInt(paidAlice.amount)).toBeGreaterThan(0n);
    expect(record.payouts.reduce((s: bigint, p) => s + BigInt(p.amount), 0n)).toBe(BigInt(record.fee));
    // The settled record is the same on every validator, and alice's earnings show it.
    for (const n of VALIDATORS) {
      const theirs = await net.waitFor(
        `record on node ${n}`,
        () => net.clients[n].attribution(receiptId),
        30_000,
      );
      expect(theirs).toEqual(record);
    }
    const earned = await net.clients[1].earnings(alice);
    expect(BigInt(earned.total)).toBeGreaterThanOrEqual(BigInt(paidAlice.amount));

    // node3 corrupts the settle results it proposes. A stream of receipts over consecutive
    // blocks gives it its turns as proposer with jobs due: honest validators refuse those
    // proposals (they count the mismatch), and no block it built with a settle is committed.
    const provider2 = net.wallet('provider', 2);
    const mismatchesSeen = async () => {
      const counts = await Promise.all(
        [0, 1, 2].map(async (n) => {
          const text = await (await fetch(net.layout.nodes[n].metricsUrl)).text();
          return Number(/^ol_attribution_mismatches_total (\d+)/m.exec(text)?.[1] ?? 0);
        }),
      );
      return counts.reduce((a, b) => a + b, 0);
    };
    // Keep receipts coming (one every few hundred ms) until node3's turn as proposer falls on a
    // height with jobs due and the honest validators have refused its corrupted settle.
    const receipts: string[] = [];
    for (let i = 0; i < 60 && (await mismatchesSeen()) === 0; i++) {
      const req = buildRequest(
        { secretKey: fromHex(requester.secretKey, 32), publicKey: fromHex(requester.publicKey, 32) },
        {
          chainId: net.chainId,
          model: fromHex(model),
          modelVersion: 1,
          prompt: `speak ${i}`,
          maxFee: parseOpen('5'),
          nonce: 2 + i,
          expiryHeight: height + 1000,
        },
      );
      const r = await provider2.send(
        'inference.receipt',
        acked({ request: req, input: '', output, retrieved: [], inputTokens: 1, outputTokens: 120 }),
      );
      receipts.push(r.hash);
      await new Promise((res) => setTimeout(res, 500));
    }
    const mismatches = await mismatchesSeen();
    const settledHeights = new Set<number>();
    for (const hash of receipts) {
      const t = await net.clients[0].waitForInclusion(hash, 60_000);
      settledHeights.add((t.height as number) + 1);
    }
    await net.waitForHeight(Math.max(...settledHeights) + 1, VALIDATORS, 60_000);
    const node3 = net.layout.nodes[3].address;
    for (const h of settledHeights) {
      const b = await net.clients[0].blockByHeight(h, true);
      expect(b.txs[0]?.type).toBe('attribution.settle');
      expect(b.header.proposer).not.toBe(node3);
    }
    expect(mismatches).toBeGreaterThan(0);
  });

  it('a node started later syncs from genesis to the tip', async () => {
    net.start([4]);
    const target = ((await net.clients[0].status()).height as number) + 1;
    await net.waitForHeight(target, [4], 90_000);
    await sameChain([0, 4], target);
  });

  it('survives kill -9 of a validator under load: it catches up, no fork, nobody slashed', async () => {
    const load = net.wallet('load', 0);
    const to = fromHex(net.layout.accounts.bob.address);
    let stop = false;
    const acknowledged: string[] = [];
    const pump = (async () => {
      while (!stop) {
        try {
          const r = await load.send('transfer', { to, amount: 1n });
          acknowledged.push(r.hash);
        } catch {
          // a rejected submission is not acknowledged; the wallet resyncs its nonce
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    await net.procs[1].kill9();
    await new Promise((r) => setTimeout(r, 3000));
    net.procs[1].start();
    const h = ((await net.clients[0].status()).height as number) + 2;
    await net.waitForHeight(h, VALIDATORS, 90_000);
    stop = true;
    await pump;
    const tip = Math.min(...((await net.heights(VALIDATORS)) as number[]));
    await sameChain(VALIDATORS, tip);
    const slashed = await net.clients[0].events({
      fromHeight: Math.max(1, tip - 999),
      toHeight: tip,
      type: 'validator.slashed',
    });
    expect(slashed).toEqual([]);
    // Every acknowledged transfer is committed (or still pending in a mempool, never lost).
    const last = acknowledged.at(-1);
    if (last !== undefined) await net.clients[0].waitForInclusion(last, 60_000);
  });

  it('recovers when every validator is killed at once, mid-height', async () => {
    const before = Math.max(...((await net.heights(VALIDATORS)) as number[]));
    await Promise.all(VALIDATORS.map((i) => net.procs[i].kill9()));
    net.start(VALIDATORS);
    await net.waitForHeight(before + 3, VALIDATORS, 120_000);
    await sameChain(VALIDATORS, before + 3);
  });

  it('halts with 2 of 4 validators down and resumes when they return', async () => {
    await net.procs[2].stop();
    await net.procs[3].stop();
    const h1 = Math.max(...((await net.heights([0, 1])) as number[]));
    await new Promise((r) => setTimeout(r, 4000));
    const h2 = Math.max(...((await net.heights([0, 1])) as number[]));
    expect(h2).toBeLessThanOrEqual(h1 + 1);
    net.start([2, 3]);
    await net.waitForHeight(h2 + 2, VALIDATORS, 90_000);
  });
});
