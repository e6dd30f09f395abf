import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, REPO_ROOT } from '../../devnet/processes.js';

/** The `openledger` command from outside: what an operator sees for bad input. */

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, OPENLEDGER_HOME: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function home(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'olcli-'));
  dirs.push(d);
  return d;
}

describe('openledger CLI', () => {
  it('prints help and refuses unknown commands and flags', () => {
    const help = run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: openledger');
    const unknown = run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "frobnicate"/);
    expect(run(['start']).err).toMatch(/--home DIR is required/);
  });

  it('init creates keys and config; start refuses a corrupt or unknown-key config, naming it', async () => {
    const h = await home();
    const init = run(['init', '--home', h, '--json']);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.out).address).toMatch(/^0x[0-9a-f]{40}$/);
    expect(run(['init', '--home', h]).err).toMatch(/already exists; use --force/);

    const noGenesis = run(['start', '--home', h]);
    expect(noGenesis.code).toBe(2);
    expect(noGenesis.err).toMatch(/genesis/);

    await writeFile(join(h, 'config.json'), '{"moniker": "x",');
    const corrupt = run(['start', '--home', h]);
    expect(corrupt.code).toBe(2);
    expect(corrupt.err).toMatch(/config\.json is not valid JSON/);

    await writeFile(join(h, 'config.json'), JSON.stringify({ rpc: { listn: '127.0.0.1:1' } }));
    const unknownKey = run(['start', '--home', h]);
    expect(unknownKey.code).toBe(2);
    expect(unknownKey.err).toMatch(/unknown key "rpc\.listn"/);

    await writeFile(join(h, 'config.json'), JSON.stringify({ rpc: { batchMax: 0 } }));
    expect(run(['start', '--home', h]).err).toMatch(/rpc\.batchMax: 0 is outside/);

    await writeFile(join(h, 'config.json'), '{}');
    expect(run(['start', '--home', h, '--p2p.nope', '1']).err).toMatch(/unknown option --p2p\.nope/);
  });

  it('keys shows the validator address and peer id', async () => {
    const h = await home();
    run(['init', '--home', h]);
    const keys = run(['keys', '--home', h, '--json']);
    expect(keys.code).toBe(0);
    const k = JSON.parse(keys.out);
    expect(k.peerId).toMatch(/^12D3Koo/);
    expect(k.address).toMatch(/^0x[0-9a-f]{40}$/);
  });
});
