import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf } from '../../core/address.js';
import { parseOpen } from '../../core/amount.js';
import { fromHex, to0x } from '../../core/bytes.js';
import { verifyDelivery } from '../../core/delivery.js';
import { spanModelBody } from '../../devnet/demo.js';
import { LocalNetwork } from '../../devnet/network.js';
import { freePort } from '../../devnet/ports.js';
import { Provider } from '../../devnet/provider/server.js';
import { askProvider, buildRequest, DeliveryError } from '../../rpc/client.js';
import { receiptId } from '../../vm/models.js';

/**
 * Issue 15 end to end: a real node, the reference provider (in process, real HTTP) and the client
 * helper. The provider bonds on start, signs every delivery; `askProvider` checks the delivery and
 * acknowledges it, so the receipt settles in the next block. An answer altered on the way is
 * refused (never acknowledged); its receipt goes out without ack and waits out the window.
 */

const CORPUS = readFileSync(join(__dirname, '..', 'fixtures', 'tinyshakespeare.txt'), 'utf8');
const WINDOW = 4;

let net: LocalNetwork;
let provider: Provider;
let providerUrl: string;
let tamperUrl: string;
let tamper: Server;

// biome-ignore lint/suspicious/noExplicitAny: JSON results of the RPC
type J = Record<string, any>;

beforeAll(async () => {
  net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 200,
    chainId: 'e2e-provider',
    accounts: { owner: '1000', alice: '1000', provider: '1000', requester: '1000' },
    genesisParams: { challengeWindowBlocks: String(WINDOW), providerUnbondingBlocks: '20' },
    nodeConfig: { attribution: { workers: 1 } },
  });
  net.start([0]);
  await net.waitForHeight(2, [0], 120_000);
  const owner = net.wallet('owner');
  const created = await owner.send(
    'datanet.create',
    {
      name: 'plays',
      description: '',
      license: 'public-domain',
      tags: [],
      curation: 'open',
      curators: [],
      bond: 0n,
      rejectForfeitBps: 0,
      contributionBytesMax: 0,
      labels: [],
    },
    { mode: 'commit' },
  );
  const datanet = created.events.find((e: J) => e.type === 'datanet.created').attrs.datanet as string;
  const c = await net
    .wallet('alice')
    .send(
      'datanet.contribute',
      { datanet: fromHex(datanet), content: CORPUS.slice(0, 8000), label: '' },
      { mode: 'commit' },
    );
  const cid = c.events.find((e: J) => e.type === 'contribution.submitted').attrs.contribution;
  await net.waitFor(
    'accepted',
    async () => (await net.clients[0].contribution(cid)).status === 'accepted',
    60_000,
  );
  const p = net.layout.accounts.provider;
  const reg = await owner.send(
    'model.register',
    spanModelBody('bard', fromHex(datanet), 1, fromHex(p.address)),
    {
      mode: 'commit',
    },
  );
  expect(reg.result.code).toBe('ok');
  provider = new Provider({
    rpcUrl: net.layout.nodes[0].rpcUrl,
    key: { secretKey: p.secretKey, publicKey: p.publicKey },
    port: await freePort(),
  });
  providerUrl = (await provider.start()).url;
  await net.waitFor('model served', async () => provider.listModels().length === 1, 60_000);
  // A man in the middle that changes the answer's text (the delivery is left as signed).
  tamper = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    const up = await fetch(`${providerUrl}${(req.url ?? '/').slice(1)}`, {
      method: req.method,
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const j = (await up.json()) as J;
    if (req.url === '/v1/infer' && typeof j.output === 'string') j.output = `${j.output} (buy widgets)`;
    res.writeHead(up.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(j));
  });
  const port = await freePort();
  await new Promise<void>((r) => tamper.listen(port, '127.0.0.1', () => r()));
  tamperUrl = `http://127.0.0.1:${port}/`;
}, 240_000);

afterAll(async () => {
  await new Promise<void>((r) => (tamper ? tamper.close(() => r()) : r()));
  await provider?.close();
  await net?.close();
}, 60_000);

function requestFor(nonce: number, height: number) {
  const r = net.layout.accounts.requester;
  const key = { secretKey: fromHex(r.secretKey, 32), publicKey: fromHex(r.publicKey, 32) };
  const request = buildRequest(key, {
    chainId: net.chainId,
    model: fromHex(provider.listModels()[0].id as string),
    modelVersion: 1,
    prompt: `speak ${nonce}`,
    maxFee: parseOpen('1'),
    nonce,
    expiryHeight: height + 1000,
  });
  return { key, request };
}

describe('reference provider + client: signed deliveries, automatic acks', () => {
  it('the provider bonded on start; an acknowledged answer settles in the next block', async () => {
    const bonded = await net.clients[0].provider(provider.address);
    expect(BigInt(bonded.bond)).toBeGreaterThanOrEqual(parseOpen('10'));
    const height = (await net.clients[0].status()).height as number;
    const { key, request } = requestFor(1, height);
    const a = await askProvider(providerUrl, key, request, `speak 1`, { words: 30 });
    expect(verifyDelivery(a.delivery, a.providerKey, a.deliverySignature)).toBe(true);
    expect(a.tx).toMatch(/^0x/);
    const settled = await net.waitFor(
      'receipt settled',
      async () => {
        const r = await net.clients[0].receipt(a.receipt);
        return r.status === 'settled' ? r : undefined;
      },
      60_000,
    );
    expect(settled).toMatchObject({ acknowledged: true, releaseHeight: 0, output: a.output });
  });

  it('an answer changed on the way is refused and never acknowledged; its receipt waits the window', async () => {
    const height = (await net.clients[0].status()).height as number;
    const { key, request } = requestFor(2, height);
    const err = await askProvider(tamperUrl, key, request, 'speak 2', { words: 30 }).catch((e) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.code).toBe('DELIVERY_MISMATCH');
    // The provider posts its (honest) receipt without an ack once the wait is over.
    const held = await net.waitFor(
      'receipt posted without ack',
      async () => {
        const r = await net.clients[0].receipt(receiptIdOf(2)).catch(() => undefined);
        return r && r.status !== 'pending' ? r : undefined;
      },
      60_000,
    );
    expect(held.acknowledged).toBe(false);
    expect(held.releaseHeight).toBeGreaterThan(0);
    const final = await net.waitFor(
      'released after the window',
      async () => {
        const r = await net.clients[0].receipt(held.id);
        return r.status === 'settled' ? r : undefined;
      },
      60_000,
    );
    const status = await net.clients[0].status();
    expect(status.height).toBeGreaterThanOrEqual(final.releaseHeight);
  });
});

function receiptIdOf(nonce: number): string {
  const requester = addressOf(fromHex(net.layout.accounts.requester.publicKey, 32));
  return to0x(receiptId(requester, nonce));
}
