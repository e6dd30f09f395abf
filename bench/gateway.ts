import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { addressOf } from '../core/address.js';
import { parseOpen } from '../core/amount.js';
import { fromHex, to0x } from '../core/bytes.js';
import { receiptDelivery, signAck, signReceiptBody } from '../core/delivery.js';
import { encodeInferenceRequest, signRequest } from '../core/tx.js';
import { spanModelBody } from '../devnet/demo.js';
import { LocalNetwork } from '../devnet/network.js';
import { freePort } from '../devnet/ports.js';
import { CLI_ENTRY, REPO_ROOT } from '../devnet/processes.js';
import { ensureProviderBond } from '../devnet/provider/bond.js';
import { ChainPayer } from '../devnet/provider/openaiPay.js';
import { buildRequest, buildTx } from '../rpc/client.js';
import { canonicalChat, promptHashOf, REQUEST_HEADER } from '../rpc/openaiApi.js';
import { receiptId } from '../vm/models.js';
import { percentile, round } from './_measure.js';

/**
 * `npm run bench -- gateway [requests=600] [concurrency=50]`: the OpenAI gateway's overhead over
 * calling its upstream directly. A 1-validator devnet, the reference model server
 * (`openledger model-server`) and the gateway (`openledger provider --upstream`) as real
 * processes; this process only generates load: non-streaming chat completions (max_tokens 16)
 * at `concurrency` in flight, direct to the model server and through the gateway, in alternating
 * rounds. Chain requests are signed before the clock starts (client cost is not gateway cost).
 * The gateway's work per call: body validation, request decode + Ed25519 verify, prompt hash,
 * upstream round trip, metering with the pinned tokenizer, delivery signature, receipt tx
 * build + signature (submission happens after the response).
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON
type J = Record<string, any>;

function waitLine(child: ChildProcess, needle: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes(needle)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}: ${out}`)));
  });
}

const errorCodes: Record<string, number> = {};

async function load(
  url: string,
  bodies: string[],
  headers: (i: number) => Record<string, string>,
  concurrency: number,
): Promise<{ lat: number[]; rps: number; errors: number }> {
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= bodies.length) return;
        const t = performance.now();
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers(i) },
          body: bodies[i],
        });
        const text = await res.text();
        lat.push(performance.now() - t);
        if (!res.ok) {
          errors++;
          let code = String(res.status);
          try {
            code = JSON.parse(text).error?.code ?? code;
          } catch {}
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        }
      }
    }),
  );
  return { lat, rps: (bodies.length * 1000) / (performance.now() - start), errors };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks, USER_HZ = 100
  } catch {
    return Number.NaN;
  }
}

/**
 * A datanet with one accepted contribution, a span model served by `provider`, and the reference
 * model server and the gateway as real processes (`openledger model-server`,
 * `openledger provider --upstream`).
 */
async function setup(net: LocalNetwork, children: ChildProcess[], extraProviders: string[] = []) {
  const owner = net.wallet('owner', 0);
  const created = await owner.send(
    'datanet.create',
    {
      name: 'plays',
      description: 'plays',
      license: 'public-domain',
      tags: [],
      curation: 'open',
      curators: [],
      bond: parseOpen('1'),
      rejectForfeitBps: 5000,
      contributionBytesMax: 65536,
      labels: [],
    },
    { mode: 'commit' },
  );
  const datanet = created.events.find((e: J) => e.type === 'datanet.created').attrs.datanet as string;
  const corpus = readFileSync(join(REPO_ROOT, 'devnet', 'data', 'tinyshakespeare.txt'), 'utf8').slice(
    0,
    6000,
  );
  const c = await net
    .wallet('alice', 0)
    .send(
      'datanet.contribute',
      { datanet: fromHex(datanet), content: corpus, label: '' },
      { mode: 'commit' },
    );
  const cid = c.events.find((e: J) => e.type === 'contribution.submitted').attrs.contribution;
  await net.waitFor(
    'accepted',
    async () => (await net.clients[0].contribution(cid)).status === 'accepted',
    120_000,
  );
  const version = (await net.clients[0].datanet(datanet)).version as number;
  const a = net.layout.accounts.provider;
  const reg = await owner.send(
    'model.register',
    {
      ...spanModelBody('bard', fromHex(datanet), version, fromHex(a.address)),
      providers: [a.address, ...extraProviders].map((x) => fromHex(x)),
    },
    { mode: 'commit' },
  );
  const model = reg.events.find((e: J) => e.type === 'model.registered').attrs.model as string;
  const rpc = net.layout.nodes[0].rpcUrl;
  const [msPort, gwPort] = [await freePort(), await freePort()];
  const ms = spawn(
    process.execPath,
    ['--import', 'tsx', CLI_ENTRY, 'model-server', '--rpc', rpc, '--port', String(msPort)],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(ms);
  await waitLine(ms, `loaded span model ${model}`, 'model-server');
  const keyFile = join(net.layout.dir, 'gw-key.json');
  writeFileSync(keyFile, JSON.stringify({ secretKey: a.secretKey, publicKey: a.publicKey }), { mode: 0o600 });
  // GATEWAY_CPU_PROF=DIR: the gateway writes a V8 CPU profile there on exit (`tsx bench/profile.ts`).
  const prof = process.env.GATEWAY_CPU_PROF;
  const gw = spawn(
    process.execPath,
    [
      ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []),
      '--import',
      'tsx',
      CLI_ENTRY,
      'provider',
      '--rpc',
      rpc,
      '--key',
      keyFile,
      '--port',
      String(gwPort),
      '--upstream',
      `http://127.0.0.1:${msPort}/v1`,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(gw);
  // GATEWAY_LOG=FILE keeps the gateway's log (refused receipts and the like).
  if (process.env.GATEWAY_LOG) gw.stdout!.pipe(createWriteStream(process.env.GATEWAY_LOG));
  await waitLine(gw, 'listening', 'gateway');
  return { model, msPort, gwPort, ms, gw, corpus };
}

async function stopAll(children: ChildProcess[], net: LocalNetwork): Promise<void> {
  for (const ch of children) {
    if (ch.exitCode !== null) continue;
    const exited = new Promise((res) => ch.once('exit', res));
    ch.kill('SIGTERM');
    await exited;
  }
  await net.close();
}

export default async function gatewayBench(args: string[]): Promise<Record<string, unknown>> {
  if (args[0] === 'settle') return settleBench(args.slice(1));
  const requests = Number(args[0] ?? 600);
  const concurrency = Number(args[1] ?? 50);
  const net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 300,
    chainId: 'gwbench',
    accounts: { owner: '1000', alice: '1000', provider: '1000', requester: '1000000' },
    nodeConfig: { attribution: { workers: 1 }, log: { level: 'warn' } },
  });
  const children: ChildProcess[] = [];
  try {
    net.start([0]);
    await net.waitForHeight(2, [0], 120_000);
    const { model, msPort, gwPort, ms, gw } = await setup(net, children);
    const r = net.layout.accounts.requester;
    const key = { secretKey: fromHex(r.secretKey, 32), publicKey: fromHex(r.publicKey, 32) };
    const height = (await net.clients[0].status()).height as number;
    let nonce = 1;
    const rounds = 2;
    const total = requests * rounds + concurrency;
    const bodies: string[] = [];
    const hdrs: string[] = [];
    for (let i = 0; i < total; i++) {
      const messages = [{ role: 'user' as const, content: `Speak of the citizens, number ${i}` }];
      bodies.push(JSON.stringify({ model, messages, max_tokens: 16 }));
      const req = signRequest(
        {
          chainId: net.chainId,
          requester: key.publicKey,
          model: fromHex(model, 32),
          modelVersion: 1,
          promptHash: promptHashOf(canonicalChat(messages)),
          maxFee: parseOpen('0.05'),
          nonce: nonce++,
          expiryHeight: height + 100_000,
        },
        key.secretKey,
      );
      hdrs.push(to0x(encodeInferenceRequest(req)));
    }
    const direct = `http://127.0.0.1:${msPort}/v1/chat/completions`;
    const through = `http://127.0.0.1:${gwPort}/v1/chat/completions`;
    // Warm-up (JIT, connections, tokenizer).
    await load(direct, bodies.slice(0, concurrency), () => ({}), concurrency);
    await load(through, bodies.slice(0, concurrency), (i) => ({ [REQUEST_HEADER]: hdrs[i] }), concurrency);
    const d: number[] = [];
    const g: number[] = [];
    const dRps: number[] = [];
    const gRps: number[] = [];
    let errors = 0;
    let gwCpu = 0;
    let msCpu = 0;
    for (let k = 0; k < rounds; k++) {
      const off = concurrency + k * requests;
      const slice = bodies.slice(off, off + requests);
      process.stderr.write(`round ${k + 1}/${rounds}: direct…\n`);
      const x = await load(direct, slice, () => ({}), concurrency);
      process.stderr.write(`round ${k + 1}/${rounds}: gateway…\n`);
      const c0 = [cpuMs(gw.pid), cpuMs(ms.pid)];
      const y = await load(through, slice, (i) => ({ [REQUEST_HEADER]: hdrs[off + i] }), concurrency);
      gwCpu += cpuMs(gw.pid) - c0[0];
      msCpu += cpuMs(ms.pid) - c0[1];
      d.push(...x.lat);
      g.push(...y.lat);
      dRps.push(x.rps);
      gRps.push(y.rps);
      errors += x.errors + y.errors;
    }
    // One at a time: the latency the gateway adds without queueing.
    const seqN = Math.min(200, requests);
    const seqOff = concurrency + rounds * requests;
    for (let i = 0; i < seqN; i++) {
      const messages = [{ role: 'user' as const, content: `One at a time, number ${i}` }];
      bodies.push(JSON.stringify({ model, messages, max_tokens: 16 }));
      const req = signRequest(
        {
          chainId: net.chainId,
          requester: key.publicKey,
          model: fromHex(model, 32),
          modelVersion: 1,
          promptHash: promptHashOf(canonicalChat(messages)),
          maxFee: parseOpen('0.05'),
          nonce: nonce++,
          expiryHeight: height + 100_000,
        },
        key.secretKey,
      );
      hdrs.push(to0x(encodeInferenceRequest(req)));
    }
    const s1 = await load(direct, bodies.slice(seqOff, seqOff + seqN), () => ({}), 1);
    const s2 = await load(
      through,
      bodies.slice(seqOff, seqOff + seqN),
      (i) => ({ [REQUEST_HEADER]: hdrs[seqOff + i] }),
      1,
    );
    errors += s1.errors + s2.errors;
    // Receipts go out after the responses; wait for the gateway's queue to post them.
    const expected = total + seqN;
    let posted = 0;
    for (let t = 0; t < 120; t++) {
      posted = ((await (await fetch(`http://127.0.0.1:${gwPort}/health`)).json()) as J).posted as number;
      if (posted >= expected) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    const p = (xs: number[], q: number) => round(percentile(xs, q), 2);
    const avg = (xs: number[]) => round(xs.reduce((s, x) => s + x, 0) / xs.length, 1);
    return {
      requests: requests * rounds,
      concurrency,
      maxTokens: 16,
      directP50Ms: p(d, 50),
      directP99Ms: p(d, 99),
      gatewayP50Ms: p(g, 50),
      gatewayP99Ms: p(g, 99),
      overheadP50Ms: round(percentile(g, 50) - percentile(d, 50), 2),
      overheadP99Ms: round(percentile(g, 99) - percentile(d, 99), 2),
      directReqPerS: avg(dRps),
      gatewayReqPerS: avg(gRps),
      throughputRatio: round(avg(gRps) / avg(dRps), 3),
      gatewayCpuMsPerRequest: round(gwCpu / (requests * rounds), 2),
      upstreamCpuMsPerRequest: round(msCpu / (requests * rounds), 2),
      sequentialDirectP50Ms: p(s1.lat, 50),
      sequentialGatewayP50Ms: p(s2.lat, 50),
      sequentialOverheadP50Ms: round(percentile(s2.lat, 50) - percentile(s1.lat, 50), 2),
      sequentialOverheadP99Ms: round(percentile(s2.lat, 99) - percentile(s1.lat, 99), 2),
      errors,
      errorCodes,
      receiptsPosted: posted,
      receiptsExpected: expected,
      loadAverage: loadavg().map((x) => round(x, 2)),
    };
  } finally {
    await stopAll(children, net);
  }
}

/**
 * `npm run bench -- gateway settle [rate=80] [seconds=20] [requesters=4]`: acknowledged receipts
 * through the gateway on a 4-validator devnet (real processes, 500 ms blocks as `npm run devnet`).
 * `requesters` accounts call the gateway with the real `openai` SDK paying through `ChainPayer`
 * (sign, check the signed delivery, ack) at `rate` calls per second for `seconds`; the gateway
 * posts each receipt with its ack. Baseline, same network, same run, after it: a second provider
 * account posts acknowledged receipts itself at the same offered rate (signed request, delivery,
 * ack built in this process, one `ol_sendTransaction` each, spread over the 4 nodes, as
 * `bench node` does) — what the chain takes without the gateway. Figure for each:
 * receipts settled per second of chain time — those whose settlement block lies in the load
 * window, over the block-timestamp span of that window — and whether each settled in the block
 * after its own (acknowledged: no challenge window).
 */
async function settleBench(args: string[]): Promise<Record<string, unknown>> {
  const rate = Number(args[0] ?? 80);
  const seconds = Number(args[1] ?? 20);
  const nReq = Number(args[2] ?? 4);
  const requesters = Array.from({ length: nReq }, (_, i) => `requester${i}`);
  const net = await LocalNetwork.create({
    validators: 4,
    blockTimeMs: 500,
    chainId: 'gwsettle',
    // BENCH_DIR=DIR keeps the nodes' homes and logs there.
    ...(process.env.BENCH_DIR ? { dir: process.env.BENCH_DIR } : {}),
    accounts: {
      owner: '1000',
      alice: '1000',
      provider: '1000',
      direct: '1000',
      ...Object.fromEntries(requesters.map((r) => [r, '1000000'])),
    },
    nodeConfig: { attribution: { workers: 1 }, log: { level: process.env.BENCH_DIR ? 'info' : 'warn' } },
  });
  const children: ChildProcess[] = [];
  try {
    net.start();
    await net.waitForHeight(2, undefined, 120_000);
    const {
      model,
      gwPort,
      corpus,
      gw: gwProc,
      ms,
    } = await setup(net, children, [net.layout.accounts.direct.address]);
    const pids = { gateway: gwProc.pid, modelServer: ms.pid };
    const sdks = requesters.map((name, i) => {
      const a = net.layout.accounts[name];
      const payer = new ChainPayer({
        client: net.clients[i % net.clients.length],
        key: { secretKey: fromHex(a.secretKey, 32), publicKey: fromHex(a.publicKey, 32) },
        chainId: net.chainId,
        maxFee: parseOpen('0.05'),
        expiryBlocks: 1000,
        nonceStart: 1,
      });
      return {
        payer,
        openai: new OpenAI({
          baseURL: `http://127.0.0.1:${gwPort}/v1`,
          apiKey: 'unused',
          fetch: payer.fetch,
          maxRetries: 0,
        }),
      };
    });
    // Warm-up: every requester's model info, the gateway's tokenizer and connections.
    await Promise.all(
      sdks.map((x) =>
        x.openai.chat.completions.create({
          model,
          messages: [{ role: 'user', content: 'warm' }],
          max_tokens: 16,
        }),
      ),
    );
    const lat: number[] = [];
    let errors = 0;
    const codes: Record<string, number> = {};
    const gwWindow = await loadWindow(
      net,
      rate,
      seconds,
      (k) => {
        const { openai } = sdks[k % sdks.length];
        const t = performance.now();
        return openai.chat.completions
          .create({
            model,
            messages: [{ role: 'user', content: `Speak of the citizens, ${k}` }],
            max_tokens: 16,
          })
          .then(
            () => {
              lat.push(performance.now() - t);
            },
            (e) => {
              errors++;
              const code = String((e as { code?: string }).code ?? (e as Error).message.slice(0, 40));
              codes[code] = (codes[code] ?? 0) + 1;
            },
          );
      },
      pids,
    );
    const calls = sdks.flatMap((x) => x.payer.calls);
    const acked = calls.filter((c) => c.acked).length;
    // Let the gateway post the last receipts.
    let health: J = {};
    for (let t = 0; t < 240; t++) {
      health = (await (await fetch(`http://127.0.0.1:${gwPort}/health`)).json()) as J;
      if (health.pendingAcks === 0 && health.backlog === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const gw = await settledIn(net, model, new Set(calls.map((c) => c.receipt)), gwWindow);

    // Baseline: the same count of acknowledged receipts, posted directly by another provider.
    const direct = net.wallet('direct', 1);
    await ensureProviderBond(net.clients[1], direct, direct.address);
    const dKey = net.layout.accounts.direct;
    const rq = net.layout.accounts[requesters[0]];
    const rqKey = { secretKey: fromHex(rq.secretKey, 32), publicKey: fromHex(rq.publicKey, 32) };
    const expiry = ((await net.clients[0].status()).height as number) + 10_000;
    const directIds = new Set<string>();
    let dNonce = (await net.clients[0].account(direct.address)).nonce as number;
    let directErrors = 0;
    const dWindow = await loadWindow(
      net,
      rate,
      seconds,
      async (k) => {
        const start = (k * 97) % 5000;
        const request = buildRequest(rqKey, {
          chainId: net.chainId,
          model: fromHex(model),
          modelVersion: 1,
          prompt: `direct ${k}`,
          maxFee: parseOpen('0.05'),
          nonce: 10_000_000 + k,
          expiryHeight: expiry,
        });
        const unsigned = {
          request,
          input: '',
          output: corpus.slice(start, start + 80),
          retrieved: [],
          inputTokens: 2,
          outputTokens: 16,
        };
        const ack = signAck(receiptDelivery(unsigned), rqKey.secretKey);
        directIds.add(to0x(receiptId(addressOf(rqKey.publicKey), 10_000_000 + k)));
        // Same open loop as the gateway phase: sends in flight at once, nonces from a local counter.
        const tx = buildTx(
          'inference.receipt',
          signReceiptBody(unsigned, fromHex(dKey.secretKey, 32), ack),
          direct.key,
          {
            chainId: net.chainId,
            nonce: dNonce++,
          },
        );
        await net.clients[k % net.clients.length].sendRawRetrying(tx.hex).then(
          () => {},
          () => {
            directErrors++;
          },
        );
      },
      {},
    );
    const base = await settledIn(net, model, directIds, dWindow);
    const p = (xs: number[], q: number) => round(percentile(xs, q), 1);
    return {
      mode: 'settle',
      validators: 4,
      blockTimeMs: 500,
      offeredPerSec: rate,
      seconds,
      requesters: nReq,
      gateway: {
        calls: gwWindow.sent,
        answered: calls.length,
        acked,
        errors,
        errorCodes: codes,
        callP50Ms: p(lat, 50),
        callP99Ms: p(lat, 99),
        posted: health.posted,
        failed: health.failed,
        ...gw,
        cpuMsPerCall: gwWindow.cpuMsPerCall,
      },
      direct: { sent: dWindow.sent, errors: directErrors, ...base, cpuMsPerCall: dWindow.cpuMsPerCall },
      loadAverage: loadavg().map((x) => round(x, 2)),
      ratioToDirect: round(gw.settledPerSec / base.settledPerSec, 3),
      target: { settledPerSec: 50, met: gw.settledPerSec >= 50 },
    };
  } finally {
    await stopAll(children, net);
  }
}

const LOAD_INFLIGHT_MAX = 200;

/** Calls `fire(k)` at `rate` per second for `seconds` (open loop; `serial`: one at a time). */
async function loadWindow(
  net: LocalNetwork,
  rate: number,
  seconds: number,
  fire: (k: number) => Promise<void>,
  pids: { gateway?: number; modelServer?: number },
  serial = false,
): Promise<{ h0: number; h1: number; sent: number; wallS: number; cpuMsPerCall: Record<string, number> }> {
  const h0 = (await net.clients[0].status()).height as number;
  const cpu0 = cpuSnapshot(net, pids);
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    // At most LOAD_INFLIGHT_MAX calls in flight: past that the offered rate is not met (reported).
    while (n < due && inflight.size < LOAD_INFLIGHT_MAX && performance.now() - started < seconds * 1000) {
      const p = fire(n++);
      if (serial) await p;
      else {
        const q = p.finally(() => inflight.delete(q));
        inflight.add(q);
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const wallS = (performance.now() - started) / 1000;
  await Promise.all(inflight);
  const h1 = (await net.clients[0].status()).height as number;
  const cpu1 = cpuSnapshot(net, pids);
  const cpuMsPerCall = Object.fromEntries(
    Object.keys(cpu1).map((k) => [k, round((cpu1[k] - cpu0[k]) / Math.max(1, n), 2)]),
  );
  return { h0, h1, sent: n, wallS, cpuMsPerCall };
}

/** CPU ms used so far by the 4 nodes (summed), the gateway, the model server and this process. */
function cpuSnapshot(
  net: LocalNetwork,
  pids: { gateway?: number; modelServer?: number },
): Record<string, number> {
  const u = process.cpuUsage();
  return {
    nodes: net.procs.reduce((t, p) => t + cpuMs(p.pid), 0),
    gateway: pids.gateway === undefined ? 0 : cpuMs(pids.gateway),
    modelServer: pids.modelServer === undefined ? 0 : cpuMs(pids.modelServer),
    client: (u.user + u.system) / 1000,
  };
}

/** Of the receipts `ids` (of `model`): how many landed, settled, settled next block, and in the window. */
async function settledIn(
  net: LocalNetwork,
  model: string,
  ids: Set<string>,
  w: { h0: number; h1: number; wallS: number },
) {
  const now = (await net.clients[0].status()).height as number;
  await net.waitForHeight(now + 3, [0], 120_000);
  const seen: J[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000 && seen.length < ids.size; page++) {
    const r = (await net.clients[0].ol('ol_listReceipts', [model, cursor, 100])) as J;
    for (const x of r.items as J[]) if (ids.has(x.id)) seen.push(x);
    if (!r.next) break;
    cursor = r.next;
  }
  const settled = seen.filter((x) => x.status === 'settled');
  const inWindow = settled.filter((x) => x.settledHeight > w.h0 && x.settledHeight <= w.h1).length;
  const [b0, b1] = await Promise.all([
    net.clients[0].blockByHeight(w.h0),
    net.clients[0].blockByHeight(w.h1),
  ]);
  const chainS = ((b1.header.timeMs as number) - (b0.header.timeMs as number)) / 1000;
  return {
    onChain: seen.length,
    settled: settled.length,
    settledInNextBlock: settled.filter((x) => x.settledHeight === x.height + 1).length,
    settledInWindow: inWindow,
    windowBlocks: w.h1 - w.h0,
    windowChainSeconds: round(chainS, 2),
    windowWallSeconds: round(w.wallS, 2),
    settledPerSec: round(inWindow / chainS, 1),
  };
}
