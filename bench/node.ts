import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { parseOpen } from '../core/amount.js';
import { fromHex, to0x } from '../core/bytes.js';
import { receiptDelivery, signAck, signReceiptBody } from '../core/delivery.js';
import { generateKeyPair, verifySignature } from '../core/keys.js';
import { encodeTx, TX_VERSION, type Tx, txHash, txSigningBytes, type UnsignedTx } from '../core/tx.js';
import { LocalNetwork } from '../devnet/network.js';
import { REPO_ROOT } from '../devnet/processes.js';
import { buildRequest } from '../rpc/client.js';
import { opsPerSecond, percentile, round } from './_measure.js';

/**
 * `npm run bench -- node [--seconds 60] [--rate 1000] [--senders 64] [--sync-blocks 1000]`: a
 * 4-validator network of real processes on this machine. Sustained transfer throughput and commit
 * latency (submission → committed block), the same machine's single-core Ed25519 verify rate and
 * the ratio, and catch-up sync: of a follower started after the run over the chain it built (full
 * blocks, so reported in txs/s too), and over a second network's chain of empty blocks. Signing for the load uses node:crypto
 * (Ed25519 is deterministic: the same signatures noble makes) so the generator keeps up.
 */

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function fastSigner(secretKey: Uint8Array) {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey]),
    format: 'der',
    type: 'pkcs8',
  });
  return (msg: Uint8Array) => new Uint8Array(nodeSign(null, msg, key));
}

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, body: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: '/',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export default async function nodeBench(args: string[]): Promise<Record<string, unknown>> {
  const seconds = arg(args, 'seconds', 60);
  const rate = arg(args, 'rate', 1000);
  const senders = arg(args, 'senders', 64);
  const accounts: Record<string, string> = {};
  for (let i = 0; i < senders; i++) accounts[`load${i}`] = '1000000';
  for (const name of ['owner', 'alice', 'provider', 'requester']) accounts[name] = '1000000';
  const dirAt = args.indexOf('--dir');
  const logAt = args.indexOf('--log');
  const net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 250,
    chainId: 'bench-node',
    accounts,
    ...(dirAt >= 0 ? { dir: args[dirAt + 1] } : {}),
    nodeConfig: { log: { level: logAt >= 0 ? args[logAt + 1] : 'info' } },
  });
  try {
    net.start([0, 1, 2, 3]);
    await net.waitForHeight(2, [0, 1, 2, 3], 120_000);
    const wallets = Array.from({ length: senders }, (_, i) => net.layout.accounts[`load${i}`]);
    const signers = wallets.map((w) => fastSigner(fromHex(w.secretKey, 32)));
    const nonces = wallets.map(() => 0);
    const to = fromHex(
      generateKeyPair()
        .publicKey.slice(0, 20)
        .reduce((s, b) => s + b.toString(16).padStart(2, '0'), '0x'),
      20,
    );
    const build = (i: number): { hex: string; hash: string } => {
      const unsigned: UnsignedTx = {
        version: TX_VERSION,
        chainId: net.chainId,
        type: 'transfer',
        sender: fromHex(wallets[i].publicKey, 32),
        nonce: nonces[i]++,
        gasLimit: 50_000,
        gasPrice: 1n,
        body: { to, amount: 1n },
      };
      const tx = { ...unsigned, signature: signers[i](txSigningBytes(unsigned)) } as Tx;
      const bytes = encodeTx(tx);
      return { hex: to0x(bytes), hash: to0x(txHash(bytes)) };
    };

    // Commit times come from polling the tip and reading each new block's tx hashes.
    const submittedAt = new Map<string, number>();
    const latencies: number[] = [];
    let committed = 0;
    let rejected = 0;
    const rejectCodes: Record<string, number> = {};
    let lastSeen = (await net.clients[0].status()).height as number;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const tip = (await net.clients[0].status()).height as number;
        for (let h = lastSeen + 1; h <= tip; h++) {
          const b = await net.clients[0].blockByHeight(h);
          const now = Date.now();
          for (const hash of b.txs as string[]) {
            const t = submittedAt.get(hash);
            if (t !== undefined) {
              latencies.push(now - t);
              submittedAt.delete(hash);
              committed++;
            }
          }
        }
        lastSeen = tip;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const started = Date.now();
    let sent = 0;
    let next = 0;
    const inFlight = new Set<Promise<void>>();
    while (Date.now() - started < seconds * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      while (sent < due && inFlight.size < 256) {
        const i = next++ % senders;
        const { hex, hash } = build(i);
        const url = net.layout.nodes[sent % 4].rpcUrl;
        sent++;
        const body = JSON.stringify({
          jsonrpc: '2.0',
          id: sent,
          method: 'ol_sendTransaction',
          params: [hex],
        });
        // A keep-alive socket closed by the server under load is retried (same bytes: idempotent).
        const p = post(url, body)
          .catch(() => post(url, body))
          .catch(() => post(url, body))
          .then(
            (r) => {
              if (r.error && r.error.data?.code !== 'ALREADY_KNOWN') {
                rejected++;
                const code = r.error.data?.code ?? String(r.error.code);
                rejectCodes[code] = (rejectCodes[code] ?? 0) + 1;
              } else submittedAt.set(hash, Date.now());
            },
            () => {
              rejected++;
            },
          );
        const tracked = p.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inFlight);
    const submitEnd = Date.now();
    // Let the last blocks commit.
    const drainDeadline = Date.now() + 30_000;
    while (submittedAt.size > 0 && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 200));
    polling = false;
    await poller;
    const lost = submittedAt.size;
    const elapsed = (submitEnd - started) / 1000;

    const receipts = await receiptPhase(net, arg(args, 'receipt-rate', 60), arg(args, 'receipt-seconds', 20));

    // Catch-up sync: a follower started now from genesis.
    const tip = (await net.clients[0].status()).height as number;
    net.start([4]);
    // Time from the follower's first RPC answer (process start-up excluded) to the tip.
    const first = await net.waitFor('follower RPC', () => net.clients[4].status(), 120_000, 50);
    const syncStart = Date.now();
    const syncFrom = first.height as number;
    await net.waitFor(
      'follower at the tip',
      async () => ((await net.clients[4].status()).height as number) >= tip,
      300_000,
      50,
    );
    const syncSeconds = Math.max(0.001, (Date.now() - syncStart) / 1000);
    let syncTxs = 0;
    for (let h = syncFrom + 1; h <= tip; h++)
      syncTxs += ((await net.clients[0].blockByHeight(h)).txs as string[]).length;
    // Free the cores for the second network (the `finally` below is then a no-op: stopping a
    // stopped network does nothing).
    await net.close();
    const idleSync = await idleChainSync(arg(args, 'sync-blocks', 1000));

    const kp = generateKeyPair();
    const msg = new Uint8Array(200);
    const sig = fastSigner(kp.secretKey)(msg);
    const verifyPerSec = opsPerSecond(() => verifySignature(kp.publicKey, msg, sig), 1000);
    const tps = committed / elapsed;
    return {
      validators: 4,
      seconds,
      offeredRatePerSec: rate,
      submitted: sent,
      accepted: sent - rejected,
      rejected,
      rejectCodes,
      committed,
      lostAfterDrain: lost,
      transfersPerSec: round(tps, 1),
      commitLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
      singleCoreVerifyPerSec: verifyPerSec,
      tpsOverSingleCoreVerify: round(tps / verifyPerSec, 3),
      receipts,
      // Catch-up sync of the chain this run built (full blocks: execution-bound, so also in txs/s).
      syncLoadedChain: {
        blocks: tip - syncFrom,
        txs: syncTxs,
        seconds: round(syncSeconds, 2),
        blocksPerSec: round((tip - syncFrom) / syncSeconds, 1),
        txsPerSec: Math.round(syncTxs / syncSeconds),
      },
      // Catch-up sync of a chain of empty blocks (what a node syncing a quiet chain sees).
      syncIdleChain: idleSync,
      targets: {
        transfersPerSec1000: tps >= 1000,
        p50LatencyUnder2s: percentile(latencies, 50) <= 2000,
        noneLost: lost === 0,
        sync300BlocksPerSec: idleSync.blocksPerSec >= 300,
        receipts50PerSecSettled: receipts.settledPerSec >= 50,
      },
      note:
        parseOpen('1') > 0n
          ? 'latency = RPC acceptance to the first poll that sees the committed block (100 ms poll)'
          : '',
    };
  } finally {
    await net.close();
  }
}

/**
 * Catch-up sync over a chain of `blocks` empty blocks: 4 validators build it with short block
 * times, then a follower started from genesis syncs it; timed from the follower's first RPC answer
 * (process start-up excluded) to its reaching the tip.
 */
async function idleChainSync(blocks: number) {
  const net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 20,
    chainId: 'bench-sync',
    nodeConfig: { log: { level: 'warn' } },
  });
  try {
    net.start([0, 1, 2, 3]);
    const buildStart = Date.now();
    await net.waitForHeight(blocks, [0], 600_000);
    const buildSeconds = (Date.now() - buildStart) / 1000;
    const tip = (await net.clients[0].status()).height as number;
    net.start([4]);
    const first = await net.waitFor('follower RPC', () => net.clients[4].status(), 120_000, 20);
    const start = Date.now();
    const from = first.height as number;
    await net.waitFor(
      'follower at the tip',
      async () => ((await net.clients[4].status()).height as number) >= tip,
      300_000,
      20,
    );
    const seconds = Math.max(0.001, (Date.now() - start) / 1000);
    return {
      blocks: tip - from,
      buildSeconds: round(buildSeconds, 1),
      seconds: round(seconds, 2),
      blocksPerSec: round((tip - from) / seconds, 1),
    };
  } finally {
    await net.close();
  }
}

/**
 * Inference receipts at `rate` per second for `seconds`: a span model over a small Shakespeare
 * datanet, requests signed by a requester, receipts sent by the model's provider. A receipt's job
 * must settle in the very next block (a block that omits a due job is invalid), so every receipt
 * found settled was paid out in the block after its own.
 */
async function receiptPhase(net: LocalNetwork, rate: number, seconds: number) {
  const corpus = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'tinyshakespeare.txt'), 'utf8');
  const owner = net.wallet('owner', 0);
  const created = await owner.send(
    'datanet.create',
    {
      name: 'bench',
      description: '',
      license: 'public-domain',
      tags: [],
      curation: 'open',
      curators: [],
      bond: 0n,
      rejectForfeitBps: 0,
      contributionBytesMax: 65536,
      labels: [],
    },
    { mode: 'commit' },
  );
  const datanet = created.events.find((e: { type: string }) => e.type === 'datanet.created').attrs
    .datanet as string;
  const contributed = await net
    .wallet('alice', 1)
    .send(
      'datanet.contribute',
      { datanet: fromHex(datanet), content: corpus.slice(0, 20_000), label: '' },
      { mode: 'commit' },
    );
  const contribution = contributed.events.find((e: { type: string }) => e.type === 'contribution.submitted')
    .attrs.contribution;
  await net.waitFor(
    'contribution accepted',
    async () => (await net.clients[0].contribution(contribution)).status === 'accepted',
    120_000,
  );
  const provider = net.layout.accounts.provider;
  const registered = await owner.send(
    'model.register',
    {
      name: 'bench-span',
      datanets: [{ datanet: fromHex(datanet), version: 1 }],
      method: 'span',
      params: [{ key: 'minSpan', value: '6' }],
      pricePerRequest: parseOpen('0.001'),
      pricePerOutputToken: parseOpen('0.0001'),
      ownerShareBps: 1000,
      providers: [fromHex(provider.address)],
      artifact: { baseModel: 'bench', adapterHash: new Uint8Array(32) },
      training: null,
    },
    { mode: 'commit' },
  );
  const model = registered.events.find((e: { type: string }) => e.type === 'model.registered').attrs
    .model as string;
  const requester = net.layout.accounts.requester;
  const requesterKey = {
    secretKey: fromHex(requester.secretKey, 32),
    publicKey: fromHex(requester.publicKey, 32),
  };
  const providerWallet = net.wallet('provider', 2);
  await providerWallet.send('provider.bond', { amount: parseOpen('10') }, { mode: 'commit' });
  const expiry = ((await net.clients[0].status()).height as number) + 100_000;
  const hashes: string[] = [];
  const started = Date.now();
  let n = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (n < due) {
      const start = (n * 997) % 18_000;
      const request = buildRequest(requesterKey, {
        chainId: net.chainId,
        model: fromHex(model),
        modelVersion: 1,
        prompt: `q${n}`,
        maxFee: parseOpen('1'),
        nonce: n + 1,
        expiryHeight: expiry,
      });
      const output = `${corpus.slice(start, start + 400)} and so on`;
      n++;
      try {
        // The requester acknowledges the delivery, so the receipt settles in the next block.
        const unsigned = { request, input: '', output, retrieved: [], inputTokens: 2, outputTokens: 100 };
        const ack = signAck(receiptDelivery(unsigned), requesterKey.secretKey);
        const r = await providerWallet.send(
          'inference.receipt',
          signReceiptBody(unsigned, fromHex(provider.secretKey, 32), ack),
        );
        hashes.push(r.hash);
      } catch {
        // counted as not sent
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const elapsed = (Date.now() - started) / 1000;
  let settled = 0;
  let lastHeight = 0;
  for (const h of hashes) {
    try {
      const t = await net.clients[0].waitForInclusion(h, 60_000);
      const receiptId = t.events.find((e: { type: string }) => e.type === 'inference.receipt')?.attrs.receipt;
      lastHeight = Math.max(lastHeight, t.height as number);
      await net.waitForHeight((t.height as number) + 1, [0], 60_000);
      if (receiptId && (await net.clients[0].receipt(receiptId)).status === 'settled') settled++;
    } catch {
      // not committed in time
    }
  }
  return { offeredPerSec: rate, sent: hashes.length, settled, settledPerSec: round(settled / elapsed, 1) };
}
