import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { intFlag, parseArgs } from '../core/args.js';
import { freePorts } from '../devnet/ports.js';
import { CLI_ENTRY, type CliEntry, NodeProcess, REPO_ROOT, waitForRpc } from '../devnet/processes.js';
import { setupDevnet } from '../devnet/setup.js';

/**
 * `npm run bench -- startup [--runs N]`: time from spawning `openledger start` to its first JSON-RPC
 * answer (`ol_status`), compiled (dist/, plain node) vs from source (node --import tsx), on the
 * same 1-validator home, runs alternating so both see the same machine load. The baseline is tsx;
 * the ratio is compiled / tsx. Builds dist/ first (tsc -p tsconfig.build.json) so it is current.
 */
export default async function startup(args: string[]): Promise<Record<string, unknown>> {
  const { flags } = parseArgs(args, { strings: ['runs'] }, 'bench startup');
  const runs = intFlag(flags, 'runs', 5, 1, 100);
  process.stderr.write('building dist/ …\n');
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  const compiled: CliEntry = { path: join(REPO_ROOT, 'dist', 'cli', 'openledger.js'), execArgv: [] };
  if (!existsSync(compiled.path)) throw new Error(`${compiled.path} missing after the build`);
  const source: CliEntry = { path: CLI_ENTRY.replace(/\.js$/, '.ts'), execArgv: ['--import', 'tsx'] };

  const dir = await mkdtemp(join(tmpdir(), 'ol-bench-startup-'));
  try {
    const [p2p, rpc, metrics] = await freePorts(3);
    const layout = await setupDevnet({
      dir,
      chainId: 'bench-startup',
      validators: 1,
      ports: [{ p2p, rpc, metrics }],
      blockTimeMs: 200,
      nodeConfig: { attribution: { workers: 1 }, log: { level: 'warn' } },
    });
    const node = layout.nodes[0];
    const times: Record<'tsx' | 'compiled', number[]> = { tsx: [], compiled: [] };
    // One warm-up each (disk cache, first database open), not counted.
    for (let i = -1; i < runs; i++) {
      for (const [mode, entry] of [
        ['tsx', source],
        ['compiled', compiled],
      ] as const) {
        const proc = new NodeProcess(node, {}, entry);
        proc.start();
        try {
          const ms = await waitForRpc(node.rpcUrl, 120_000);
          if (i >= 0) times[mode].push(ms);
          process.stderr.write(`${mode} run ${i}: ${ms.toFixed(0)} ms\n`);
        } finally {
          await proc.stop();
        }
      }
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const tsxMs = median(times.tsx);
    const compiledMs = median(times.compiled);
    return {
      runs,
      startupToFirstRpcMs: { tsx: Math.round(tsxMs), compiled: Math.round(compiledMs) },
      samplesMs: { tsx: times.tsx.map(Math.round), compiled: times.compiled.map(Math.round) },
      compiledOverTsx: Number((compiledMs / tsxMs).toFixed(3)),
      baseline: 'tsx (node --import tsx cli/openledger.ts)',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
