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
import { buildRequest, RPC_BUSY } from '../rpc/client.js';
import { opsPerSecond, percentile, round } from './_measure.js';

/**
 * `npm run bench -- node [--seconds 30] [--start 500] [--max 20000] [--senders 256]
 * [--overload-seconds 60] [--rate R] [--receipt-rate 100] [--sync-blocks 1000]`: a 4-validator
 * network of real processes on this machine, and its capacity:
 *
 * - the **knee**: the offered transfer rate is ramped ×1.5 per window of `--seconds` (then bisected
 *   twice) until a window is not sustained — sustained meaning every offered transfer was admitted
 *   (no BUSY refusal) and committed, none lost, commit latency p50 ≤ 1 s; the knee is the highest
 *   sustained rate, also divided by the single-core Ed25519 verify rate measured in the same run;
 * - latency p50/p99 at 80 % of the knee;
 * - overload at 2× the knee for `--overload-seconds`: refusals (BUSY) and how fast they come back,
 *   the commit latency of what was accepted, lost transactions, each node's peak RSS;
 * - inference receipts settled per second, and catch-up sync of a follower over the loaded chain
 *   and over a second network's chain of empty blocks.
 *
 * `--rate R` runs one fixed-rate window instead of the search; `--load-only` stops after the
 * transfer windows; `--profile DIR` makes validator 1
 * write a V8 CPU profile (summarise it with `tsx bench/profile.ts FILE`). Signing for the load uses
 * node:crypto (Ed25519 is deterministic: the same signatures noble makes) so the generator keeps up.
 */

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function fastSigner(secretKey: Uint8Array) {
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

export interface Sender {
  sign: (msg: Uint8Array) => Uint8Array;
  publicKey: Uint8Array;
  node: number;
  nonce: number;
  /** A refused transaction, sent again (same bytes) before any new one: its nonce must not gap. */
  held: { hex: string; hash: string } | null;
  restUntil: number;
  inFlight: boolean;
}

/** One sustained window at a fixed offered rate. */
interface Step {
  rate: number;
  seconds: number;
  offered: number;
  accepted: number;
  refused: number;
  /** Slots the generator could not use: every sender was in flight or resting. */
  starved: number;
  rejectCodes: Record<string, number>;
  refusalMs: number[];
  latencies: number[];
  committed: number;
  lost: number;
}

/**
 * The load: `senders` funded accounts, each bound to one node (its nonces stay in order), at most
 * one submission in flight per sender. A BUSY refusal (backpressure) keeps the transaction and
 * rests the sender for the node's hint, then sends the same bytes again. Commits are observed by
 * polling node 0's new blocks.
 */
export class Driver {
  private readonly submittedAt = new Map<string, { at: number; step: Step }>();
  private polling = true;
  private poller: Promise<void> | undefined;
  private lastSeen = 0;
  private next = 0;
  private readonly to: Uint8Array;

  constructor(
    private readonly net: LocalNetwork,
    private readonly senders: Sender[],
  ) {
    this.to = generateKeyPair().publicKey.slice(0, 20);
  }

  async start(): Promise<void> {
    this.lastSeen = (await this.net.clients[0].status()).height as number;
    this.poller = (async () => {
      while (this.polling) {
        try {
          const tip = (await this.net.clients[0].status()).height as number;
          for (let h = this.lastSeen + 1; h <= tip; h++) {
            const b = await this.net.clients[0].blockByHeight(h);
            const now = Date.now();
            for (const hash of b.txs as string[]) {
              const t = this.submittedAt.get(hash);
              if (t !== undefined) {
                t.step.latencies.push(now - t.at);
                t.step.committed++;
                this.submittedAt.delete(hash);
              }
            }
            this.lastSeen = h;
          }
        } catch {
          // a slow answer under load: poll again
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.polling = false;
    await this.poller;
  }

  private build(s: Sender): { hex: string; hash: string } {
    const unsigned: UnsignedTx = {
      version: TX_VERSION,
      chainId: this.net.chainId,
      type: 'transfer',
      sender: s.publicKey,
      nonce: s.nonce++,
      gasLimit: 50_000,
      gasPrice: 1n,
      body: { to: this.to, amount: 1n },
    };
    const tx = { ...unsigned, signature: s.sign(txSigningBytes(unsigned)) } as Tx;
    const bytes = encodeTx(tx);
    return { hex: to0x(bytes), hash: to0x(txHash(bytes)) };
  }

  private send(s: Sender, step: Step, tx: { hex: string; hash: string }): Promise<void> {
    s.inFlight = true;
    const url = this.net.layout.nodes[s.node].rpcUrl;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ol_sendTransaction', params: [tx.hex] });
    const t0 = Date.now();
    // A keep-alive socket closed by the server under load is retried (same bytes: idempotent).
    return post(url, body)
      .catch(() => post(url, body))
      .catch(() => post(url, body))
      .then(
        (r) => {
          if (!r.error || r.error.data?.code === 'ALREADY_KNOWN') {
            step.accepted++;
            this.submittedAt.set(tx.hash, { at: t0, step });
            s.held = null;
          } else if (r.error.code === RPC_BUSY) {
            step.refused++;
            step.refusalMs.push(Date.now() - t0);
            s.held = tx;
            s.restUntil = Date.now() + Number(r.error.data?.retryAfterMs ?? 1000);
          } else {
            const code = r.error.data?.code ?? String(r.error.code);
            step.rejectCodes[code] = (step.rejectCodes[code] ?? 0) + 1;
            s.held = tx;
            s.restUntil = Date.now() + 1000;
          }
        },
        () => {
          step.rejectCodes.UNREACHABLE = (step.rejectCodes.UNREACHABLE ?? 0) + 1;
          s.held = tx;
          s.restUntil = Date.now() + 1000;
        },
      )
      .finally(() => {
        s.inFlight = false;
      });
  }

  private available(now: number): Sender | undefined {
    for (let k = 0; k < this.senders.length; k++) {
      const s = this.senders[this.next++ % this.senders.length];
      if (!s.inFlight && s.restUntil <= now) return s;
    }
    return undefined;
  }

  /**
   * Offers `rate` new transfers per second for `seconds` (refused ones are sent again on top),
   * then waits up to `drainMs` for the accepted ones to commit and for held ones to be admitted.
   */
  async run(
    rate: number,
    seconds: number,
    drainMs = 30_000,
    atWindowEnd?: () => Promise<void>,
  ): Promise<Step> {
    const step: Step = {
      rate,
      seconds,
      offered: 0,
      accepted: 0,
      refused: 0,
      starved: 0,
      rejectCodes: {},
      refusalMs: [],
      latencies: [],
      committed: 0,
      lost: 0,
    };
    const inFlight = new Set<Promise<void>>();
    const track = (p: Promise<void>) => {
      const t = p.finally(() => inFlight.delete(t));
      inFlight.add(t);
    };
    const started = Date.now();
    while (Date.now() - started < seconds * 1000) {
      const now = Date.now();
      // Retries of refused transactions first (they hold their sender's next nonce).
      for (const s of this.senders) {
        if (s.held !== null && !s.inFlight && s.restUntil <= now) track(this.send(s, step, s.held));
      }
      const due = Math.floor(((now - started) / 1000) * rate);
      while (step.offered < due) {
        const s = this.available(now);
        if (s === undefined || s.held !== null) {
          step.starved += due - step.offered;
          step.offered = due;
          break;
        }
        step.offered++;
        track(this.send(s, step, this.build(s)));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await atWindowEnd?.();
    // Drain: held transactions are admitted, accepted ones commit.
    const deadline = Date.now() + drainMs;
    const pendingOf = () => [...this.submittedAt.values()].filter((v) => v.step === step).length;
    while (Date.now() < deadline) {
      const now = Date.now();
      for (const s of this.senders) {
        if (s.held !== null && !s.inFlight && s.restUntil <= now) track(this.send(s, step, s.held));
      }
      if (inFlight.size === 0 && this.senders.every((s) => s.held === null) && pendingOf() === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(inFlight);
    step.lost = pendingOf();
    for (const [h, v] of this.submittedAt) if (v.step === step) this.submittedAt.delete(h);
    return step;
  }
}

function summary(s: Step) {
  const committedPerSec = s.committed / s.seconds;
  return {
    offeredPerSec: s.rate,
    seconds: s.seconds,
    offered: s.offered,
    accepted: s.accepted,
    refusedBusy: s.refused,
    starved: s.starved,
    rejectCodes: s.rejectCodes,
    committed: s.committed,
    lost: s.lost,
    committedPerSec: round(committedPerSec, 1),
    commitLatencyMs: { p50: percentile(s.latencies, 50), p99: percentile(s.latencies, 99) },
    refusalMs:
      s.refusalMs.length > 0 ? { p50: percentile(s.refusalMs, 50), p99: percentile(s.refusalMs, 99) } : null,
  };
}

/** Sustained: everything offered was admitted and committed, nothing lost, p50 ≤ 1 s. */
function sustained(s: Step): boolean {
  return (
    s.refused === 0 &&
    s.starved === 0 &&
    s.lost === 0 &&
    Object.keys(s.rejectCodes).length === 0 &&
    s.committed === s.offered &&
    percentile(s.latencies, 50) <= 1000
  );
}

/**
 * Event-loop delay of each validator (prom-client's `nodejs_eventloop_lag_*`, reset at every
 * scrape, so a scrape at a window's start and one at its end give the window's figures), in ms:
 * how long a request (an RPC refusal included) can wait behind synchronous work.
 */
async function eventLoopLagMs(net: LocalNetwork): Promise<{ p50: number; p99: number; max: number }[]> {
  return Promise.all(
    net.layout.nodes.slice(0, 4).map(async (n) => {
      try {
        const text = await (await fetch(n.metricsUrl)).text();
        const read = (name: string) =>
          Math.round(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000);
        return {
          p50: read('nodejs_eventloop_lag_p50_seconds'),
          p99: read('nodejs_eventloop_lag_p99_seconds'),
          max: read('nodejs_eventloop_lag_max_seconds'),
        };
      } catch {
        return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
      }
    }),
  );
}

/** Peak resident set (VmHWM) of each running node process, in MiB (Linux). */
function peakRssMiB(net: LocalNetwork): number[] {
  const out: number[] = [];
  for (const p of net.procs) {
    if (p.pid === undefined) continue;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
      if (m) out.push(Math.round(Number(m[1]) / 1024));
    } catch {
      // exited
    }
  }
  return out;
}

function verifyRate(): number {
  const kp = generateKeyPair();
  const msg = new Uint8Array(200);
  const sig = fastSigner(kp.secretKey)(msg);
  return opsPerSecond(() => verifySignature(kp.publicKey, msg, sig), 1000);
}

export default async function nodeBench(args: string[]): Promise<Record<string, unknown>> {
  const fixedRate = args.includes('--rate') ? arg(args, 'rate', 1000) : null;
  const seconds = arg(args, 'seconds', 30);
  const senders = arg(args, 'senders', 256);
  const startRate = arg(args, 'start', 500);
  const rateMax = arg(args, 'max', 20_000);
  const overloadSeconds = arg(args, 'overload-seconds', 60);
  const accounts: Record<string, string> = {};
  for (let i = 0; i < senders; i++) accounts[`load${i}`] = '1000000';
  for (const name of ['owner', 'alice', 'provider', 'requester']) accounts[name] = '1000000';
  const dirAt = args.indexOf('--dir');
  const logAt = args.indexOf('--log');
  const profAt = args.indexOf('--profile');
  const net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 250,
    chainId: 'bench-node',
    accounts,
    // `--profile DIR`: validator 1 writes a V8 CPU profile there when it stops.
    ...(profAt >= 0
      ? { env: { 1: { OPENLEDGER_EXEC_ARGV: `--cpu-prof --cpu-prof-dir=${args[profAt + 1]}` } } }
      : {}),
    ...(dirAt >= 0 ? { dir: args[dirAt + 1] } : {}),
    nodeConfig: { log: { level: logAt >= 0 ? args[logAt + 1] : 'warn' } },
  });
  try {
    net.start([0, 1, 2, 3]);
    await net.waitForHeight(2, [0, 1, 2, 3], 120_000);
    const verifyBefore = verifyRate();
    const wallets = Array.from({ length: senders }, (_, i) => net.layout.accounts[`load${i}`]);
    const driver = new Driver(
      net,
      wallets.map((w, i) => ({
        sign: fastSigner(fromHex(w.secretKey, 32)),
        publicKey: fromHex(w.publicKey, 32),
        node: i % 4,
        nonce: 0,
        held: null,
        restUntil: 0,
        inFlight: false,
      })),
    );
    await driver.start();
    const log = (m: string) => process.stderr.write(`${m}\n`);
    const result: Record<string, unknown> = { validators: 4, senders, stepSeconds: seconds };
    let knee = 0;
    if (fixedRate !== null) {
      await eventLoopLagMs(net);
      let lag: Awaited<ReturnType<typeof eventLoopLagMs>> = [];
      const s = await driver.run(fixedRate, seconds, 30_000, async () => {
        lag = await eventLoopLagMs(net);
      });
      result.fixed = { ...summary(s), eventLoopLagMs: lag };
      result.fixedSustained = sustained(s);
      knee = sustained(s) ? fixedRate : 0;
    } else {
      // Ramp ×1.5 until a window is not sustained, then bisect twice between the last pass and
      // the first failure.
      const steps: ReturnType<typeof summary>[] = [];
      let pass = 0;
      let fail = 0;
      for (let rate = startRate; rate <= rateMax; rate = Math.round(rate * 1.5)) {
        const s = await driver.run(rate, seconds);
        steps.push(summary(s));
        log(`rate ${rate}/s: ${sustained(s) ? 'sustained' : 'not sustained'} ${JSON.stringify(summary(s))}`);
        if (sustained(s)) pass = rate;
        else {
          fail = rate;
          break;
        }
      }
      for (let i = 0; i < 2 && fail > 0 && fail - pass > pass / 10; i++) {
        const rate = Math.round((pass + fail) / 2);
        const s = await driver.run(rate, seconds);
        steps.push(summary(s));
        log(`rate ${rate}/s: ${sustained(s) ? 'sustained' : 'not sustained'}`);
        if (sustained(s)) pass = rate;
        else fail = rate;
      }
      knee = pass;
      result.steps = steps;
      result.kneePerSec = knee;
      if (knee > 0) {
        const at80 = await driver.run(Math.round(knee * 0.8), seconds);
        result.at80PctOfKnee = summary(at80);
      }
      const overloadRate = Math.max(2 * knee, startRate);
      await eventLoopLagMs(net);
      let lag: Awaited<ReturnType<typeof eventLoopLagMs>> = [];
      const over = await driver.run(overloadRate, overloadSeconds, 60_000, async () => {
        lag = await eventLoopLagMs(net);
      });
      result.overload2xKnee = { ...summary(over), peakRssMiB: peakRssMiB(net), eventLoopLagMs: lag };
    }
    await driver.stop();
    // `--load-only`: the transfer windows alone (exploration: no receipts, no sync phases).
    if (args.includes('--load-only')) {
      return {
        ...result,
        singleCoreVerifyPerSec: verifyBefore,
        kneeOverSingleCoreVerify: round(knee / verifyBefore, 3),
      };
    }

    const receipts = await receiptPhase(
      net,
      arg(args, 'receipt-rate', 100),
      arg(args, 'receipt-seconds', 20),
    );

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
      600_000,
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
    const verifyPerSec = Math.round((verifyBefore + verifyRate()) / 2);
    const over = result.overload2xKnee as ReturnType<typeof summary> | undefined;
    const at80 = result.at80PctOfKnee as ReturnType<typeof summary> | undefined;
    return {
      ...result,
      singleCoreVerifyPerSec: verifyPerSec,
      kneeOverSingleCoreVerify: round(knee / verifyPerSec, 3),
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
        knee2500OrRatio017: knee >= 2500 || knee / verifyPerSec >= 0.17,
        at80:
          at80 === undefined ? null : at80.commitLatencyMs.p50 <= 1000 && at80.commitLatencyMs.p99 <= 3000,
        overloadAcceptedP99Under5s: over === undefined ? null : over.commitLatencyMs.p99 <= 5000,
        overloadRefusalsUnder50ms: over?.refusalMs ? over.refusalMs.p99 <= 50 : null,
        overloadNoneLost: over === undefined ? null : over.lost === 0,
        syncLoaded10kTxsPerSec: syncTxs / syncSeconds >= 10_000,
        syncIdle500BlocksPerSec: idleSync.blocksPerSec >= 500,
        receipts100PerSecSettled: receipts.settledPerSec >= 100,
      },
      note: 'latency = RPC acceptance to the first poll that sees the committed block (100 ms poll); knee = highest offered rate sustained over the window (all admitted and committed, none lost, p50 ≤ 1 s)',
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
