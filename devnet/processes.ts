import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DevnetNode } from './setup.js';

/**
 * Node processes of a local network: spawn `openledger start` per home (logs to <home>/node.log),
 * signal them (kill -9, SIGSTOP/SIGCONT, SIGTERM), restart them, and stop them all — even when the
 * caller fails, via `stopAll` in a finally / afterAll.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
/** Running compiled (dist/devnet/processes.js) rather than from source under tsx. */
const COMPILED = import.meta.url.endsWith('.js');
/** The checkout: devnet/.. from source, dist/devnet/../.. when compiled. */
export const REPO_ROOT = COMPILED ? join(HERE, '..', '..') : join(HERE, '..');
/**
 * The `openledger` command, started as a process (a path, not an import: devnet/ sits below cli/).
 * Compiled devnet code starts compiled nodes; source code starts them under tsx.
 */
export const CLI_ENTRY = COMPILED
  ? join(HERE, '..', 'cli', 'openledger.js')
  : join(REPO_ROOT, 'cli', 'openledger.ts');
/** Node flags that run `CLI_ENTRY`: tsx for TypeScript, none for compiled JavaScript. */
export const CLI_EXEC_ARGV: readonly string[] = COMPILED ? [] : ['--import', 'tsx'];

export interface CliEntry {
  path: string;
  execArgv: readonly string[];
}

/** Polls `ol_status` every `pollMs` until the node answers; resolves with the time it took. */
export async function waitForRpc(url: string, timeoutMs: number, pollMs = 10): Promise<number> {
  const started = performance.now();
  for (;;) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"jsonrpc":"2.0","id":1,"method":"ol_status"}',
      });
      const body = (await res.json()) as { result?: unknown };
      if (body.result !== undefined) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export class NodeProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  exitCode: number | null = null;
  /** The signal that ended the last run, if any (e.g. "SIGKILL"). */
  exitSignal: NodeJS.Signals | null = null;
  starts = 0;

  constructor(
    readonly node: DevnetNode,
    private readonly env: Record<string, string> = {},
    /** The command to run: this checkout's (default), or e.g. a compiled build elsewhere. */
    private readonly entry: CliEntry = { path: CLI_ENTRY, execArgv: CLI_EXEC_ARGV },
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.exitCode === null;
  }

  start(): void {
    if (this.running) return;
    const log = openSync(join(this.node.home, 'node.log'), 'a');
    // OPENLEDGER_EXEC_ARGV (space-separated): extra Node flags for this process, for the flags
    // NODE_OPTIONS refuses (e.g. `--cpu-prof --cpu-prof-dir=DIR` in `npm run bench -- node --profile`).
    const extra = (this.env.OPENLEDGER_EXEC_ARGV ?? '').split(' ').filter((a) => a !== '');
    const child = spawn(
      process.execPath,
      [...extra, ...this.entry.execArgv, this.entry.path, 'start', '--home', this.node.home],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', log, log],
        env: { ...process.env, ...this.env },
      },
    );
    closeSync(log);
    this.child = child;
    this.exitCode = null;
    this.exitSignal = null;
    this.starts++;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitSignal = signal;
        this.exitCode = code ?? (signal ? 128 : -1);
        resolve(this.exitCode);
      });
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child && this.exitCode === null) this.child.kill(sig);
  }

  /** kill -9: no cleanup, no flush; what the node wrote before is all it has. */
  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Graceful stop; escalates to SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }
}

export async function stopAll(procs: readonly NodeProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}
