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

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_ENTRY = join(REPO_ROOT, 'node', 'openledger.ts');

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
    const args = [...extra, '--import', 'tsx', CLI_ENTRY, 'start', '--home', this.node.home];
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...this.env },
    });
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
