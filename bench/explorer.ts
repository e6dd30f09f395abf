import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOpen } from '../core/amount.js';
import { fromHex } from '../core/bytes.js';
import { receiptDelivery, signAck, signReceiptBody } from '../core/delivery.js';
import { spanModelBody } from '../devnet/demo.js';
import { LocalNetwork } from '../devnet/network.js';
import { REPO_ROOT } from '../devnet/processes.js';
import { EARNINGS_CHART_PAGES } from '../explorer/app/stats.js';
import { buildRequest } from '../rpc/client.js';
import { percentile, round } from './_measure.js';

/**
 * `npm run bench -- explorer [--blocks N] [--receipts R] [--samples S]`: builds a chain of N
 * blocks (default 10,000) holding R settled span-model receipts (default 5,000) that all pay one
 * contributor, on a 1-validator node process with `blockTimeMs` 0, then times what each explorer
 * page asks the node for (the same calls, in the same order, as explorer/app), against the
 * explorer's port, S times each (default 7). Reports p50 / max per page in ms and, as a
 * baseline from the same run, `ol_status`. Target: every page ≤ 500 ms.
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC answers
type Json = any;

export default async function explorerBench(args: string[]): Promise<Record<string, unknown>> {
  const blocks = intArg(args, '--blocks', 10_000);
  const receipts = intArg(args, '--receipts', 5_000);
  const samples = intArg(args, '--samples', 7);
  const say = (s: string) => process.stderr.write(`${s}\n`);
  const net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 0,
    explorer: true,
    accounts: { owner: '1000', alice: '1000', provider: '100000', requester: '10000000' },
    nodeConfig: {
      attribution: { workers: 1 },
      consensus: {
        timeoutProposeMs: 200,
        timeoutPrevoteMs: 100,
        timeoutPrecommitMs: 100,
        timeoutDeltaMs: 50,
      },
      mempool: { perSenderMax: 2_000 },
    },
  });
  const base = net.layout.nodes[0].explorerUrl!;
  let id = 0;
  const post = async (body: unknown): Promise<Json> => {
    const r = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return r.json();
  };
  const call = async (method: string, params: unknown[] = []): Promise<Json> => {
    const r = await post({ jsonrpc: '2.0', id: ++id, method, params });
    if (r.error) throw new Error(`${method}: ${r.error.message}`);
    return r.result;
  };
  const batch = (calls: [string, unknown[]][]) =>
    post(calls.map(([method, params]) => ({ jsonrpc: '2.0', id: ++id, method, params })));
  try {
    net.start();
    await net.waitForHeight(1, [0], 120_000);
    const c = net.clients[0];
    const owner = net.wallet('owner');
    const corpus = readFileSync(join(REPO_ROOT, 'devnet', 'data', 'tinyshakespeare.txt'), 'utf8').slice(
      0,
      3000,
    );
    const created = await owner.send(
      'datanet.create',
      {
        name: 'bench',
        description: 'explorer bench',
        license: 'public-domain',
        tags: [],
        curation: 'open',
        curators: [],
        bond: parseOpen('1'),
        rejectForfeitBps: 0,
        contributionBytesMax: 65536,
        labels: [],
      },
      { mode: 'commit' },
    );
    const datanet = (created.events as Json[]).find((e) => e.type === 'datanet.created').attrs.datanet;
    const contrib = await net
      .wallet('alice')
      .send(
        'datanet.contribute',
        { datanet: fromHex(datanet), content: corpus, label: '' },
        { mode: 'commit' },
      );
    const contribution = (contrib.events as Json[]).find((e) => e.type === 'contribution.submitted').attrs
      .contribution;
    await net.waitFor(
      'contribution accepted',
      async () => (await c.contribution(contribution)).status === 'accepted',
    );
    const provider = net.layout.accounts.provider;
    const reg = await owner.send(
      'model.register',
      spanModelBody('bench-ngram', fromHex(datanet), 1, fromHex(provider.address)),
      { mode: 'commit' },
    );
    const model = (reg.events as Json[]).find((e) => e.type === 'model.registered').attrs.model;
    say('seeded; sending receipts');
    const requester = net.layout.accounts.requester;
    const key = { secretKey: fromHex(requester.secretKey, 32), publicKey: fromHex(requester.publicKey, 32) };
    const pw = net.wallet('provider');
    const providerSecret = fromHex(net.layout.accounts.provider.secretKey, 32);
    await pw.send('provider.bond', { amount: parseOpen('10') }, { mode: 'commit' });
    let last = '';
    const t0 = Date.now();
    for (let i = 0; i < receipts; i++) {
      const height = (await c.status()).height as number;
      const request = buildRequest(key, {
        chainId: net.chainId,
        model: fromHex(model),
        modelVersion: 1,
        prompt: `q${i}`,
        maxFee: parseOpen('1'),
        nonce: i + 1,
        expiryHeight: height + 100_000,
      });
      const start = (i * 37) % 2000;
      // The requester acknowledges the provider's signed delivery: the receipt settles next block.
      const unsigned = {
        request,
        input: '',
        output: `${corpus.slice(start, start + 300)} #${i}`,
        retrieved: [],
        inputTokens: 1,
        outputTokens: 80,
      };
      const ack = signAck(receiptDelivery(unsigned), key.secretKey);
      last = (await pw.send('inference.receipt', signReceiptBody(unsigned, providerSecret, ack))).hash;
      if (i % 500 === 499) {
        await c.waitForInclusion(last, 300_000);
        say(`${i + 1} receipts, height ${(await c.status()).height}`);
      }
    }
    await c.waitForInclusion(last, 300_000);
    const sentMs = Date.now() - t0;
    say(`receipts in; waiting for height ${blocks}`);
    await net.waitFor(
      'height',
      async () => ((await c.status()).height as number) >= blocks,
      3_600_000,
      2_000,
    );
    const tip = (await c.status()).height as number;
    const settled = await call('ol_listReceipts', [null, null, 1]);
    const receiptId = settled.items[0].id;
    const rc = await call('ol_getReceipt', [receiptId]);
    const blk = await call('ol_getBlockByHeight', [rc.height, true]);
    const txHash = (blk.txs as Json[]).find((t) => t.type === 'inference.receipt').hash;
    const alice = net.layout.accounts.alice.address;
    const earnedBy = (await call('ol_getEarnings', [alice])).payouts;

    const pages: Record<string, () => Promise<unknown>> = {
      status: () => call('ol_status'),
      network: () =>
        Promise.all([
          call('ol_status'),
          call('ol_getValidators'),
          call('ol_listReceipts', [null, null, 8]),
          call('ol_listBlocks', [null, 100]),
        ]),
      block: () => call('ol_getBlockByHeight', [Math.floor(tip / 2), true]),
      tx: () => call('ol_getTransaction', [txHash]),
      search: () =>
        batch(
          [
            'ol_getBlockByHash',
            'ol_getTransaction',
            'ol_getReceipt',
            'ol_getDatanet',
            'ol_getModel',
            'ol_getContribution',
          ].map((m) => [m, [receiptId]] as [string, unknown[]]),
        ),
      datanet: async () => {
        const [, list] = await Promise.all([
          call('ol_getDatanet', [datanet]),
          call('ol_listContributions', [datanet, null, null, null, 100]),
        ]);
        await batch(
          [...new Set((list.items as Json[]).map((x) => x.contributor))].map((a) => [
            'ol_getEarnings',
            [a, null, 1],
          ]),
        );
      },
      model: async () => {
        const m = await call('ol_getModel', [model]);
        await Promise.all([
          batch([['ol_getModelVersion', [model, m.latestVersion]]]),
          call('ol_listReceipts', [model, null, 100]),
        ]);
      },
      receipt: async () => {
        await batch([
          ['ol_getReceipt', [receiptId]],
          ['ol_getAttribution', [receiptId]],
          ['ol_getEvidenceText', [receiptId]],
        ]);
        const a = await call('ol_getAttribution', [receiptId]);
        await call('ol_getEvents', [a.height, a.height, 'payout']);
      },
      address: async () => {
        const [[, e]] = await Promise.all([
          batch([
            ['ol_getAccount', [alice]],
            ['ol_getEarnings', [alice, null, 100]],
          ]),
          call('ol_listAddressEvents', [alice, null, 25]),
        ]);
        let next = e.result.next;
        for (let i = 1; i < EARNINGS_CHART_PAGES && next; i++)
          next = (await call('ol_getEarnings', [alice, next, 100])).next;
      },
    };
    const figures: Record<string, { p50Ms: number; maxMs: number }> = {};
    for (const [name, run] of Object.entries(pages)) {
      await run(); // warm
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        const s = process.hrtime.bigint();
        await run();
        times.push(Number(process.hrtime.bigint() - s) / 1e6);
      }
      figures[name] = { p50Ms: round(percentile(times, 50)), maxMs: round(Math.max(...times)) };
      say(`${name}: ${JSON.stringify(figures[name])}`);
    }
    const worst = Math.max(
      ...Object.entries(figures)
        .filter(([k]) => k !== 'status')
        .map(([, v]) => v.maxMs),
    );
    return {
      blocks: tip,
      receipts,
      contributorPayouts: earnedBy,
      receiptsSendMs: sentMs,
      pages: figures,
      worstPageMaxMs: worst,
      worstPageVsStatusP50: round(worst / figures.status.p50Ms, 1),
      targetMs: 500,
      met: worst <= 500,
    };
  } finally {
    await net.close();
  }
}

function intArg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i === -1) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${name} takes a positive integer`);
  return v;
}
