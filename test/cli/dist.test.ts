import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../core/chain.js';
import { freePorts } from '../../devnet/ports.js';
import { NodeProcess, REPO_ROOT, waitForRpc } from '../../devnet/processes.js';
import { setupDevnet } from '../../devnet/setup.js';

/**
 * The installed command: the compiled build (what `npm ci`'s prepare step writes to dist/, here to
 * a scratch copy under .cache/ so a running dist/ is left alone) starts with plain node, no tsx:
 * `--version`, an unknown command, and a node started from it that answers JSON-RPC and commits
 * (its attribution and signature worker threads load the compiled .js workers).
 */

const OUT = join(REPO_ROOT, '.cache', 'dist-test');
const ENTRY = join(OUT, 'cli', 'openledger.js');
let dir: string;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [ENTRY, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  await rm(OUT, { recursive: true, force: true });
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', OUT], {
    cwd: REPO_ROOT,
  });
  dir = await mkdtemp(join(tmpdir(), 'ol-dist-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(OUT, { recursive: true, force: true });
});

describe('the compiled openledger command', () => {
  it('builds the entry point and every worker entry next to it', () => {
    for (const f of [
      'cli/openledger.js',
      'attribution/worker.js',
      'node/sigWorker.js',
      'attribution/wordsTable.json',
    ])
      expect(existsSync(join(OUT, f)), f).toBe(true);
  });

  it('the compiled pools start their compiled .js workers (no tsx) and get answers from them', async () => {
    const { SigPool } = await import(join(OUT, 'node', 'sigPool.js'));
    const { JobPool } = await import(join(OUT, 'attribution', 'pool.js'));
    const keys = await import(join(OUT, 'core', 'keys.js'));
    const secret = new Uint8Array(32).fill(3);
    const publicKey = keys.publicKeyOf(secret);
    // 64 signatures = SIG_BATCH_MIN: verified in a worker thread, not inline.
    const items = Array.from({ length: 64 }, (_, i) => {
      const message = Uint8Array.of(i);
      return { publicKey, message, signature: keys.sign(message, secret) };
    });
    items[5] = { ...items[5], message: Uint8Array.of(200) };
    const sigs = new SigPool(1);
    const jobs = new JobPool({ cacheDir: join(dir, 'cache'), threads: 1 });
    try {
      const verdicts: boolean[] = await sigs.verifyMany(items);
      expect(verdicts.filter((v) => !v)).toHaveLength(1);
      expect(verdicts[5]).toBe(false);
      // An unknown job kind is a job result (ok: false), computed in the worker.
      const r = await jobs.run({ job: 1, kind: 'nonsense' });
      expect(r.ok).toBe(false);
    } finally {
      await sigs.close();
      await jobs.close();
    }
  });

  it('prints the version and the chain protocol version', () => {
    const r = run(['--version', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      version: '0.1.0',
      protocol: PROTOCOL_VERSION,
      block: 1,
      tx: 1,
    });
    expect(run(['version']).out).toMatch(/^openledger 0\.1\.0\nchain protocol 1 /);
  });

  it('refuses an unknown command and an unknown flag with what it knows (exit 2)', () => {
    const cmd = run(['frobnicate']);
    expect(cmd.code).toBe(2);
    expect(cmd.err).toMatch(/unknown command "frobnicate"; commands: init, start, keys, tx, query/);
    const flag = run(['keys', '--home', dir, '--colour', 'red']);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/unknown option --colour; known options: --home, --json, --help/);
  });

  it('runs a node that answers JSON-RPC and commits blocks', async () => {
    const [p2p, rpc, metrics] = await freePorts(3);
    const layout = await setupDevnet({
      dir,
      chainId: 'dist-test',
      validators: 1,
      ports: [{ p2p, rpc, metrics }],
      blockTimeMs: 100,
      nodeConfig: { attribution: { workers: 1 } },
    });
    const node = layout.nodes[0];
    const proc = new NodeProcess(node, {}, { path: ENTRY, execArgv: [] });
    proc.start();
    try {
      await waitForRpc(node.rpcUrl, 60_000);
      let height = 0;
      for (let i = 0; i < 300 && height < 2; i++) {
        const res = await fetch(node.rpcUrl, {
          method: 'POST',
          body: '{"jsonrpc":"2.0","id":1,"method":"ol_status"}',
        });
        height = ((await res.json()) as { result: { height: number } }).result.height;
        if (height < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(height).toBeGreaterThanOrEqual(2);
    } finally {
      await proc.stop();
    }
    expect(proc.exitCode).toBe(0);
  });
});
