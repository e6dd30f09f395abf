import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex } from '../core/bytes.js';
import { LocalNetwork } from '../devnet/network.js';
import { CLI_ENTRY, CLI_EXEC_ARGV, NodeProcess } from '../devnet/processes.js';
import { LAYOUT_FILE } from '../devnet/setup.js';
import { OpenLedgerClient } from '../rpc/client.js';
import { percentile, round } from './_measure.js';
import { Driver, fastSigner } from './node.js';

/**
 * `npm run bench -- sync [--blocks 600] [--rate 800] [--load-seconds 30] [--runs 3]
 * [--only empty|loaded] [--keep DIR] [--baseline CHECKOUT] [--profile DIR]`: catch-up sync alone,
 * repeatable (`--keep DIR` builds the chains once in DIR and reuses them on later calls). Two chains are built
 * once by 4 validators (one of `--blocks` empty blocks at 20 ms block time; one loaded with
 * `--rate` transfers/s for `--load-seconds` at 250 ms); then only validator 0 keeps running (it
 * serves blocks, the chain stands still) and a follower syncs each chain from genesis `--runs`
 * times, its database wiped between runs, timed from its first RPC answer to the tip.
 *
 * `--baseline CHECKOUT` runs the follower of another checkout of this repo (e.g. a `git worktree`
 * of main) in turn with this one's, A B A B, against the same served chain, and reports the ratio
 * of the medians: a same-run A/B on a shared, noisy machine. `--profile DIR` makes this checkout's
 * follower write a V8 CPU profile per run (summarise with `tsx bench/profile.ts FILE`).
 */

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

function sarg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

interface Variant {
  name: string;
  entry: { path: string; execArgv: readonly string[] };
  env: Record<string, string>;
}

/**
 * CPU time (user + system, all threads) of a process so far, from /proc (Linux; NaN elsewhere):
 * on a shared machine the follower's CPU per block is steadier than its wall time.
 */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

/** One follower run from an empty database: seconds from its first RPC answer to `tip`. */
async function syncOnce(
  net: LocalNetwork,
  v: Variant,
  tip: number,
): Promise<{ seconds: number; cpuSeconds: number; from: number }> {
  const node = net.layout.nodes[4];
  for (const d of ['db', 'consensus', 'cache'])
    await rm(join(node.home, d), { recursive: true, force: true });
  const proc = new NodeProcess(node, v.env, v.entry);
  const client = new OpenLedgerClient(node.rpcUrl, 10_000);
  proc.start();
  try {
    const first = await net.waitFor('follower RPC', () => client.status(), 120_000, 20);
    const start = Date.now();
    const cpu0 = cpuSeconds(proc.pid);
    await net.waitFor(
      'follower at the tip',
      async () => ((await client.status()).height as number) >= tip,
      600_000,
      20,
    );
    return {
      seconds: Math.max(0.001, (Date.now() - start) / 1000),
      cpuSeconds: cpuSeconds(proc.pid) - cpu0,
      from: first.height as number,
    };
  } finally {
    await proc.stop();
  }
}

async function measure(
  net: LocalNetwork,
  variants: Variant[],
  runs: number,
  txsAbove: (from: number) => Promise<number>,
) {
  const tip = (await net.clients[0].status()).height as number;
  const per: Record<string, { blocksPerSec: number[]; txsPerSec: number[]; cpuMsPerBlock: number[] }> = {};
  for (const v of variants) per[v.name] = { blocksPerSec: [], txsPerSec: [], cpuMsPerBlock: [] };
  for (let r = 0; r < runs; r++) {
    for (const v of variants) {
      const { seconds, cpuSeconds: cpu, from } = await syncOnce(net, v, tip);
      const txs = await txsAbove(from);
      per[v.name].blocksPerSec.push(round((tip - from) / seconds, 1));
      per[v.name].txsPerSec.push(Math.round(txs / seconds));
      per[v.name].cpuMsPerBlock.push(round((cpu * 1000) / Math.max(1, tip - from), 2));
      process.stderr.write(
        `${v.name}: ${tip - from} blocks, ${txs} txs in ${round(seconds, 2)} s, ${round(cpu, 2)} CPU s\n`,
      );
    }
  }
  const out: Record<string, unknown> = { blocks: tip };
  for (const v of variants) {
    out[v.name] = {
      blocksPerSec: per[v.name].blocksPerSec,
      txsPerSec: per[v.name].txsPerSec,
      medianBlocksPerSec: percentile(per[v.name].blocksPerSec, 50),
      medianTxsPerSec: percentile(per[v.name].txsPerSec, 50),
      cpuMsPerBlock: per[v.name].cpuMsPerBlock,
      medianCpuMsPerBlock: percentile(per[v.name].cpuMsPerBlock, 50),
    };
  }
  if (variants.length === 2) {
    out.ratioCpuPerBlock = round(
      percentile(per[variants[0].name].cpuMsPerBlock, 50) /
        percentile(per[variants[1].name].cpuMsPerBlock, 50),
      2,
    );
    out.ratioBlocksPerSec = round(
      percentile(per[variants[0].name].blocksPerSec, 50) / percentile(per[variants[1].name].blocksPerSec, 50),
      2,
    );
  }
  return out;
}

export default async function syncBench(args: string[]): Promise<Record<string, unknown>> {
  const blocks = arg(args, 'blocks', 600);
  const rate = arg(args, 'rate', 800);
  const loadSeconds = arg(args, 'load-seconds', 30);
  const runs = arg(args, 'runs', 3);
  const baseline = sarg(args, 'baseline');
  const profile = sarg(args, 'profile');
  const only = sarg(args, 'only'); // "empty" or "loaded"
  const variants: Variant[] = [
    {
      name: 'this',
      entry: { path: CLI_ENTRY, execArgv: CLI_EXEC_ARGV },
      env: profile ? { OPENLEDGER_EXEC_ARGV: `--cpu-prof --cpu-prof-dir=${profile}` } : {},
    },
  ];
  if (baseline !== undefined) {
    variants.push({
      name: 'baseline',
      entry: { path: join(baseline, 'cli', 'openledger.ts'), execArgv: ['--import', 'tsx'] },
      env: {},
    });
  }
  const result: Record<string, unknown> = { runs };

  // `--keep DIR`: the chains are built once in DIR/empty and DIR/loaded and reused by later runs.
  const keep = sarg(args, 'keep');
  const root = keep ?? (await mkdtemp(join(tmpdir(), 'ol-sync-')));
  try {
    for (const kind of ['empty', 'loaded'] as const) {
      if (only !== undefined && only !== kind) continue;
      const dir = join(root, kind);
      const built = existsSync(join(dir, LAYOUT_FILE));
      const net = built
        ? await LocalNetwork.open(dir)
        : kind === 'empty'
          ? await buildEmpty(dir, blocks)
          : await buildLoaded(dir, rate, loadSeconds);
      try {
        net.start([0]);
        await net.waitFor('validator 0 RPC', () => net.clients[0].status(), 120_000, 50);
        const tip = (await net.clients[0].status()).height as number;
        const txsAt: number[] = [0];
        for (let h = 1; h <= tip; h++)
          txsAt.push(
            txsAt[h - 1] +
              (kind === 'empty' ? 0 : ((await net.clients[0].blockByHeight(h)).txs as string[]).length),
          );
        result[kind === 'empty' ? 'emptyChain' : 'loadedChain'] = {
          reused: built,
          txs: txsAt[tip],
          ...(await measure(net, variants, runs, async (from) => txsAt[tip] - txsAt[from])),
        };
      } finally {
        await net.close();
      }
    }
  } finally {
    if (keep === undefined) await rm(root, { recursive: true, force: true });
  }
  return result;
}

/** 4 validators build `blocks` empty blocks at 20 ms block time. */
async function buildEmpty(dir: string, blocks: number): Promise<LocalNetwork> {
  const net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 20,
    chainId: 'bench-sync',
    dir,
    nodeConfig: { log: { level: 'warn' } },
  });
  try {
    net.start([0, 1, 2, 3]);
    await net.waitForHeight(blocks, [0], 600_000);
  } finally {
    await net.close();
  }
  return net;
}

/** 4 validators build a chain under `rate` transfers/s for `seconds`; then only validator 0 runs. */
async function buildLoaded(dir: string, rate: number, seconds: number): Promise<LocalNetwork> {
  const senders = 256;
  const accounts: Record<string, string> = {};
  for (let i = 0; i < senders; i++) accounts[`load${i}`] = '1000000';
  const net = await LocalNetwork.create({
    validators: 4,
    followers: 1,
    blockTimeMs: 250,
    chainId: 'bench-sync-loaded',
    dir,
    accounts,
    nodeConfig: { log: { level: 'warn' } },
  });
  try {
    net.start([0, 1, 2, 3]);
    await net.waitForHeight(2, [0, 1, 2, 3], 120_000);
    const driver = new Driver(
      net,
      Array.from({ length: senders }, (_, i) => {
        const w = net.layout.accounts[`load${i}`];
        return {
          sign: fastSigner(fromHex(w.secretKey, 32)),
          publicKey: fromHex(w.publicKey, 32),
          node: i % 4,
          nonce: 0,
          held: null,
          restUntil: 0,
          inFlight: false,
        };
      }),
    );
    await driver.start();
    const step = await driver.run(rate, seconds);
    await driver.stop();
    process.stderr.write(
      `load: offered ${step.offered}, accepted ${step.accepted}, refused ${step.refused}, starved ${step.starved}, committed ${step.committed}, lost ${step.lost}\n`,
    );
  } finally {
    await net.close();
  }
  return net;
}
