import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkFlags, intFlag, parseArgs } from '../core/args.js';
import { ConfigError } from '../core/errors.js';
import { OpenLedgerClient } from '../rpc/client.js';
import { DEMO_ACCOUNTS, Demo } from './demo.js';
import { assertPortFree } from './ports.js';
import { NodeProcess, REPO_ROOT, stopAll } from './processes.js';
import { type DevnetLayout, LAYOUT_FILE, setupDevnet } from './setup.js';

/**
 * `npm run devnet` / `openledger devnet`: one command for a local network. `start` (the default)
 * writes keys and a genesis for N validators (or reuses --dir), starts N node processes on
 * 127.0.0.1, waits for the first block, prints the endpoints and runs the demo; Ctrl-C stops
 * everything. `status` and `stop` work from another terminal through `<dir>/devnet.pid.json`
 * and the pointer `.devnet/current` in the repository (gitignored), which names the last dir.
 */

export const PID_FILE = 'devnet.pid.json';
export const CURRENT_POINTER = join(REPO_ROOT, '.devnet', 'current');
export const DEVNET_CHAIN_ID = 'ol-devnet';
export const DEFAULT_BASE_PORT = 26650;
export const VALIDATORS_MAX = 16;
export const FIRST_BLOCK_WAIT_MS = 90_000;

export const DEVNET_HELP = `usage: npm run devnet [-- [start] [options]]
       npm run devnet -- status [--dir DIR]
       npm run devnet -- stop [--dir DIR]

start (default): generates keys and a genesis for N validators, starts N node processes on
127.0.0.1 (each with its own data directory), waits until blocks commit, prints each node's
JSON-RPC and metrics endpoints and the explorer's URL, and runs the live demo. Ctrl-C stops every process.

  --validators N     validators to run (default 4, at most ${VALIDATORS_MAX})
  --block-time MS    pause between blocks (default 500)
  --dir DIR          data directory, kept between runs (default: a fresh temporary directory,
                     removed on exit); re-running with the same DIR restarts that network
  --base-port P      node i uses P+3i (p2p), P+3i+1 (JSON-RPC), P+3i+2 (metrics); the demo's
                     OpenAI-compatible gateway uses P+3N, node0's explorer web app P+3N+1, the
                     reference model server behind the gateway P+3N+2 (default ${DEFAULT_BASE_PORT})
  --no-demo          only the network: no datanets, models, gateway, model server or requests
  --help             this text

status / stop: the devnet in DIR (default: the last one started from this checkout, recorded in
.devnet/current).`;

export interface StartOptions {
  validators: number;
  blockTimeMs: number;
  dir: string | undefined;
  demo: boolean;
  basePort: number;
}

export type DevnetCommand =
  | { command: 'help' }
  | { command: 'start'; options: StartOptions }
  | { command: 'status' | 'stop'; dir: string | undefined };

/** Parses the command line; errors name the option. */
export function parseDevnetArgs(argv: readonly string[]): DevnetCommand {
  const { flags, positionals } = parseArgs(
    argv,
    { booleans: ['no-demo', 'json'], strings: ['validators', 'block-time', 'dir', 'base-port'] },
    'devnet',
  );
  if (flags.help) return { command: 'help' };
  const command = positionals[0] ?? 'start';
  if (positionals.length > 1)
    throw new ConfigError('BAD_USAGE', `unexpected argument ${JSON.stringify(positionals[1])}`);
  if (command === 'status' || command === 'stop') {
    checkFlags(flags, ['dir', 'json'], `devnet ${command}`);
    return { command, dir: flags.dir };
  }
  if (command !== 'start')
    throw new ConfigError(
      'BAD_USAGE',
      `unknown devnet command ${JSON.stringify(command)} (start, status, stop)`,
    );
  checkFlags(flags, ['validators', 'block-time', 'dir', 'no-demo', 'base-port'], 'devnet');
  const validators = intFlag(flags, 'validators', 4, 1, VALIDATORS_MAX);
  const blockTimeMs = intFlag(flags, 'block-time', 500, 0, 600_000);
  const basePort = intFlag(flags, 'base-port', DEFAULT_BASE_PORT, 1024, 65535 - 3 * VALIDATORS_MAX - 2);
  if (flags.dir === '') throw new ConfigError('BAD_FLAG', '--dir: must not be empty');
  return {
    command: 'start',
    options: { validators, blockTimeMs, dir: flags.dir, demo: flags['no-demo'] !== 'true', basePort },
  };
}

export interface PidFile {
  supervisor: number;
  startedAtMs: number;
  nodes: Record<string, number | null>;
  /** The demo's gateway (`openledger provider --upstream`) and its URL (the OpenAI base URL). */
  provider: number | null;
  providerUrl: string | null;
  /** The demo's reference model server (`openledger model-server`), the gateway's upstream. */
  modelServer?: number | null;
}

function alive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

async function resolveDir(dir: string | undefined): Promise<string> {
  if (dir !== undefined) return resolve(dir);
  const p = (await readFile(CURRENT_POINTER, 'utf8').catch(() => '')).trim();
  if (p === '') throw new ConfigError('NO_DEVNET', 'no devnet recorded in .devnet/current; pass --dir DIR');
  return p;
}

export async function runDevnetCli(argv: string[]): Promise<number> {
  const cmd = parseDevnetArgs(argv);
  switch (cmd.command) {
    case 'help':
      process.stdout.write(`${DEVNET_HELP}\n`);
      return 0;
    case 'status':
      return status(await resolveDir(cmd.dir));
    case 'stop':
      return stop(await resolveDir(cmd.dir));
    case 'start':
      return start(cmd.options);
  }
}

async function status(dir: string): Promise<number> {
  const layout = await readJson<DevnetLayout>(join(dir, LAYOUT_FILE));
  if (layout === null) throw new ConfigError('NO_DEVNET', `${dir} holds no devnet (no ${LAYOUT_FILE})`);
  const pids = await readJson<PidFile>(join(dir, PID_FILE));
  const running = pids !== null && alive(pids.supervisor);
  const nodes = await Promise.all(
    layout.nodes.map(async (n) => {
      const s = await new OpenLedgerClient(n.rpcUrl, 2_000).status().catch(() => null);
      return {
        name: n.name,
        pid: pids?.nodes[n.name] ?? null,
        running: alive(pids?.nodes[n.name]),
        rpc: n.rpcUrl,
        metrics: n.metricsUrl,
        explorer: n.explorerUrl ?? null,
        height: s?.height ?? null,
        peers: s?.peers ?? null,
      };
    }),
  );
  const out = {
    dir,
    chainId: layout.chainId,
    running,
    supervisor: pids?.supervisor ?? null,
    gateway: pids?.providerUrl ?? null,
    nodes,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return running ? 0 : 3;
}

async function stop(dir: string): Promise<number> {
  const pids = await readJson<PidFile>(join(dir, PID_FILE));
  if (pids === null) {
    process.stdout.write(`no devnet running in ${dir}\n`);
    return 0;
  }
  const all = [pids.supervisor, pids.provider, pids.modelServer, ...Object.values(pids.nodes)].filter(
    (p): p is number => typeof p === 'number',
  );
  // The supervisor stops its children itself; signal the children too in case it is gone.
  if (alive(pids.supervisor)) process.kill(pids.supervisor, 'SIGTERM');
  else for (const p of all) if (alive(p)) process.kill(p, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (all.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const left = all.filter(alive);
  for (const p of left) process.kill(p, 'SIGKILL');
  await rm(join(dir, PID_FILE), { force: true });
  process.stdout.write(
    `stopped the devnet in ${dir}${left.length ? ` (killed ${left.length} that did not exit)` : ''}\n`,
  );
  return 0;
}

/** Checks that DIR is usable: new, empty, or a stopped devnet of the same size. */
async function prepareDir(
  o: StartOptions,
): Promise<{ dir: string; fresh: boolean; reuse: DevnetLayout | null }> {
  if (o.dir === undefined)
    return { dir: await mkdtemp(join(tmpdir(), 'ol-devnet-')), fresh: true, reuse: null };
  const dir = resolve(o.dir);
  const pids = await readJson<PidFile>(join(dir, PID_FILE));
  if (pids !== null && alive(pids.supervisor))
    throw new ConfigError(
      'DEVNET_RUNNING',
      `a devnet is already running in ${dir} (pid ${pids.supervisor}); stop it with "npm run devnet -- stop --dir ${o.dir}"`,
    );
  if (pids !== null) {
    const orphans = Object.values(pids.nodes).filter(alive);
    if (orphans.length > 0)
      throw new ConfigError(
        'STALE_PROCESSES',
        `${dir} has node processes left from a crashed run (pids ${orphans.join(', ')}); run "npm run devnet -- stop --dir ${o.dir}"`,
      );
    await rm(join(dir, PID_FILE), { force: true });
  }
  const entries = await readdir(dir).catch(() => null);
  if (entries === null || entries.length === 0) return { dir, fresh: false, reuse: null };
  const layout = await readJson<DevnetLayout>(join(dir, LAYOUT_FILE));
  if (layout === null)
    throw new ConfigError(
      'STALE_DIR',
      `${dir} is not empty and holds no devnet (${LAYOUT_FILE} missing or unreadable): remove it or choose another --dir`,
    );
  const validators = layout.nodes.filter((n) => n.validator).length;
  if (validators !== o.validators)
    throw new ConfigError(
      'STALE_DIR',
      `${dir} holds a devnet of ${validators} validators, not ${o.validators}: pass --validators ${validators} or use another --dir`,
    );
  return { dir, fresh: false, reuse: layout };
}

async function tail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function start(o: StartOptions): Promise<number> {
  const startedAtMs = Date.now();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const { dir, fresh, reuse } = await prepareDir(o);
  let layout: DevnetLayout;
  const portAt = (i: number) => ({
    p2p: o.basePort + 3 * i,
    rpc: o.basePort + 3 * i + 1,
    metrics: o.basePort + 3 * i + 2,
    ...(i === 0 ? { explorer: o.basePort + 3 * o.validators + 1 } : {}),
  });
  const gatewayPort = o.basePort + 3 * o.validators;
  const modelServerPort = o.basePort + 3 * o.validators + 2;
  const cleanupDir = async () => {
    if (fresh) await rm(dir, { recursive: true, force: true });
  };
  try {
    const wanted = reuse
      ? reuse.nodes.map((n) => n.ports)
      : Array.from({ length: o.validators }, (_, i) => portAt(i));
    for (const [i, p] of wanted.entries()) {
      await assertPortFree(p.p2p, `node${i} p2p`);
      await assertPortFree(p.rpc, `node${i} JSON-RPC`);
      await assertPortFree(p.metrics, `node${i} metrics`);
      if (p.explorer !== undefined) await assertPortFree(p.explorer, `node${i} explorer`);
    }
    if (o.demo) {
      await assertPortFree(gatewayPort, 'demo gateway');
      await assertPortFree(modelServerPort, 'demo model server');
    }
    layout =
      reuse ??
      (await setupDevnet({
        dir,
        chainId: DEVNET_CHAIN_ID,
        validators: o.validators,
        ports: wanted,
        blockTimeMs: o.blockTimeMs,
        nodeConfig: { attribution: { workers: 1 }, log: { level: 'info' } },
        accounts: DEMO_ACCOUNTS,
      }));
  } catch (e) {
    await cleanupDir();
    throw e;
  }
  const procs = layout.nodes.map((n) => new NodeProcess(n));
  const clients = layout.nodes.map((n) => new OpenLedgerClient(n.rpcUrl, 5_000));
  let demo: Demo | null = null;
  let stopping = false;
  const pidFile = async () => {
    const pf: PidFile = {
      supervisor: process.pid,
      startedAtMs,
      nodes: Object.fromEntries(procs.map((p) => [p.node.name, p.pid ?? null])),
      provider: demo?.gatewayPid ?? null,
      providerUrl: demo ? demo.gatewayUrl : null,
      modelServer: demo?.modelServerPid ?? null,
    };
    await writeFile(join(dir, PID_FILE), `${JSON.stringify(pf, null, 2)}\n`);
  };
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const shutdown = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${why}; stopping ${procs.length} nodes${demo ? ', the gateway and the model server' : ''}…`);
    await demo?.stop();
    await stopAll(procs);
    await rm(join(dir, PID_FILE), { force: true });
    if (fresh) await cleanupDir();
    else say(`data kept in ${dir}`);
    resolveDone(code);
  };
  const onSignal = (sig: string) => void shutdown(0, `${sig} received`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  await mkdir(join(REPO_ROOT, '.devnet'), { recursive: true });
  await writeFile(CURRENT_POINTER, `${dir}\n`);
  for (const p of procs) {
    p.start();
    void p.waitExit().then(async (code) => {
      if (stopping) return;
      const log = join(p.node.home, 'node.log');
      say(
        `\n${p.node.name} exited unexpectedly (${p.exitSignal ? `killed by ${p.exitSignal}` : `exit code ${code}`}); last lines of ${log}:\n${await tail(log)}`,
      );
      await shutdown(1, `${p.node.name} crashed`);
    });
  }
  await pidFile();
  say(`devnet "${layout.chainId}": ${procs.length} validators, data in ${dir}${fresh ? ' (temporary)' : ''}`);
  // Wait for the first committed block on every node.
  const deadline = Date.now() + FIRST_BLOCK_WAIT_MS;
  for (;;) {
    if (stopping) return done;
    const hs = await Promise.all(
      clients.map((c) =>
        c.status().then(
          (s) => s.height as number,
          () => null,
        ),
      ),
    );
    if (hs.every((h) => h !== null && h >= 1)) break;
    if (Date.now() > deadline) {
      await shutdown(1, `no block committed within ${FIRST_BLOCK_WAIT_MS / 1000} s (see the node.log files)`);
      return done;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const firstBlockAtMs = Date.now();
  say(`first block committed after ${((firstBlockAtMs - startedAtMs) / 1000).toFixed(1)} s`);
  for (const n of layout.nodes)
    say(`  ${n.name}  rpc ${n.rpcUrl}  metrics ${n.metricsUrl}  log ${join(n.home, 'node.log')}`);
  const explorerUrl = layout.nodes.find((n) => n.explorerUrl)?.explorerUrl ?? null;
  if (explorerUrl)
    say(`explorer: ${explorerUrl}  (open it in a browser: blocks, datanets, models, receipts, earnings)`);
  if (o.demo)
    say(
      `gateway (OpenAI API, paid through the chain): http://127.0.0.1:${gatewayPort}/v1  in front of the reference model server http://127.0.0.1:${modelServerPort}/v1`,
    );
  say(
    `status: npm run devnet -- status${o.dir ? ` --dir ${o.dir}` : ''}    stop: Ctrl-C or npm run devnet -- stop`,
  );
  if (o.demo && !stopping) {
    demo = new Demo({
      layout,
      clients,
      gatewayPort,
      modelServerPort,
      startedAtMs,
      firstBlockAtMs,
      out: process.stdout,
      log: (line) => {
        if (!process.stdout.isTTY) say(line);
      },
    });
    demo.onServiceExit = (name, log, code) =>
      void tail(log).then((t) => {
        say(`\nthe ${name} exited unexpectedly (code ${code}); last lines of ${log}:\n${t}`);
        void shutdown(1, `${name} crashed`);
      });
    const d = demo;
    void d.run().then(
      () => pidFile(),
      (e) => {
        if (!stopping) void shutdown(1, `demo failed: ${(e as Error).message}`);
      },
    );
    setTimeout(() => void pidFile(), 5_000).unref();
  }
  return done;
}
