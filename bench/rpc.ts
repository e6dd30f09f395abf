import { Agent, request } from 'node:http';
import { LocalNetwork } from '../devnet/network.js';
import { percentile, round } from './_measure.js';

/**
 * `npm run bench -- rpc [--seconds S] [--connections C]`: starts a 1-validator node (a real
 * process on 127.0.0.1), then drives `ol_getAccount` and `ol_getBlockByHeight` over HTTP keep-alive
 * with C concurrent connections (default 32) for S seconds each (default 5), and prints
 * requests/s and p50 / p99 latency. The client runs in this process, so on a small machine it
 * competes with the node for CPU: the figures are a floor, not a ceiling.
 */
const WARMUP_MS = 1_000;

export default async function rpcBench(args: string[]): Promise<Record<string, unknown>> {
  const seconds = intArg(args, '--seconds', 5);
  const connections = intArg(args, '--connections', 32);
  const net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 1_000,
    accounts: { a: '1000', b: '1000', c: '1000' },
  });
  try {
    net.start();
    await net.waitForHeight(3, [0], 120_000);
    process.stderr.write('node up\n');
    const url = new URL(net.layout.nodes[0].rpcUrl);
    const agent = new Agent({ keepAlive: true, maxSockets: connections });
    const addresses = Object.values(net.layout.accounts).map((a) => a.address);
    const tip = (await net.clients[0].status()).height as number;

    let i = 0;
    const accountBody = () =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: ++i,
        method: 'ol_getAccount',
        params: [addresses[i % addresses.length]],
      });
    const blockBody = () =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: ++i,
        method: 'ol_getBlockByHeight',
        params: [1 + (i % tip), false],
      });

    const accounts = await drive(url, agent, connections, seconds * 1000, accountBody);
    process.stderr.write(`account reads: ${JSON.stringify(accounts)}\n`);
    const blocks = await drive(url, agent, connections, seconds * 1000, blockBody);
    process.stderr.write(`block reads: ${JSON.stringify(blocks)}\n`);
    agent.destroy();
    return {
      connections,
      secondsPerRun: seconds,
      accountReads: accounts,
      blockReads: blocks,
      target: { accountReadsPerSec: 5000, p99Ms: 20 },
      met: accounts.requestsPerSec >= 5000 && accounts.p99Ms <= 20,
    };
  } finally {
    await net.close();
  }
}

interface Figures {
  requests: number;
  errors: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** `connections` closed loops, each sending its next request when the last answer arrives. */
async function drive(
  url: URL,
  agent: Agent,
  connections: number,
  durationMs: number,
  body: () => string,
): Promise<Figures> {
  const samples: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const t0 = process.hrtime.bigint();
      const ok = await post(url, agent, body());
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!measuring) continue;
      if (ok) samples.push(ms);
      else errors++;
    }
  };
  const loops = Array.from({ length: connections }, loop);
  await sleep(WARMUP_MS);
  measuring = true;
  const start = process.hrtime.bigint();
  await sleep(durationMs);
  measuring = false;
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  stop = true;
  await Promise.all(loops);
  return {
    requests: samples.length,
    errors,
    requestsPerSec: Math.round(samples.length / elapsedS),
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
  };
}

function post(url: URL, agent: Agent, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve(res.statusCode === 200 && text.includes('"result"'));
        });
        res.on('error', () => resolve(false));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function intArg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}
