import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import {
  applyConfigObject,
  defaultConfig,
  describeOptions,
  hostPort,
  loadConfig,
} from '../../node/config.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'olcfg-'));
  dirs.push(d);
  return d;
}

describe('node config', () => {
  it('uses defaults when the file is missing, then file values, then flags', async () => {
    const dir = await tmp();
    const path = join(dir, 'config.json');
    expect((await loadConfig(path)).rpc.listen).toBe('127.0.0.1:8545');
    await writeFile(path, JSON.stringify({ moniker: 'alpha', rpc: { batchMax: 7 } }));
    const cfg = await loadConfig(path, { 'rpc.batchMax': '9', 'p2p.bootstrap': 'a,b' });
    expect(cfg.moniker).toBe('alpha');
    expect(cfg.rpc.batchMax).toBe(9);
    expect(cfg.p2p.bootstrap).toEqual(['a', 'b']);
  });

  it('rejects unknown keys, naming them', () => {
    expect(() => applyConfigObject(defaultConfig(), { rpc: { batchMaxx: 1 } })).toThrow(/rpc\.batchMaxx/);
    expect(() => applyConfigObject(defaultConfig(), { nope: 1 })).toThrow(ConfigError);
  });

  it('rejects wrong types and values out of range, at the boundary', () => {
    expect(applyConfigObject(defaultConfig(), { rpc: { batchMax: 10_000 } }).rpc.batchMax).toBe(10_000);
    expect(() => applyConfigObject(defaultConfig(), { rpc: { batchMax: 10_001 } })).toThrow(/rpc\.batchMax/);
    expect(() => applyConfigObject(defaultConfig(), { rpc: { batchMax: '5' } })).toThrow(/integer/);
    expect(() => applyConfigObject(defaultConfig(), { log: { level: 'loud' } })).toThrow(/log\.level/);
    expect(() => applyConfigObject(defaultConfig(), { rpc: 5 })).toThrow(/rpc must be an object/);
  });

  it('reports a corrupt file by name', async () => {
    const dir = await tmp();
    const path = join(dir, 'config.json');
    await writeFile(path, '{"moniker": ');
    await expect(loadConfig(path)).rejects.toThrow(/config\.json is not valid JSON/);
  });

  it('rejects unknown flags and bad flag values', async () => {
    const path = join(await tmp(), 'config.json');
    await expect(loadConfig(path, { 'rpc.nope': '1' })).rejects.toThrow(/unknown option --rpc.nope/);
    await expect(loadConfig(path, { 'rpc.batchMax': 'x' })).rejects.toThrow(/integer/);
  });

  it('documents every option and parses host:port', () => {
    expect(describeOptions().some((l) => l.includes('--consensus.timeoutProposeMs'))).toBe(true);
    expect(hostPort('127.0.0.1:80')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(() => hostPort('127.0.0.1:99999')).toThrow(ConfigError);
    expect(() => hostPort('nope')).toThrow(ConfigError);
  });
});

describe('config in an old or foreign format', () => {
  it('names the key and says what to write instead', () => {
    const old = (input: unknown) => {
      try {
        applyConfigObject(defaultConfig(), input, 'config.json');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
      }
      throw new Error('expected a config error');
    };
    const e1 = old({ rpc: { laddr: 'tcp://127.0.0.1:26657' } });
    expect(e1.code).toBe('OLD_CONFIG_FORMAT');
    expect(e1.message).toBe(
      'config.json: "rpc.laddr" is the old name of "rpc.listen": rename it (value host:port, e.g. 127.0.0.1:8545) (this is an old or foreign config format)',
    );
    expect(old({ p2p: { persistent_peers: 'a@b:1' } }).message).toMatch(/"p2p.bootstrap": rename it/);
    expect(old({ log_level: 'info' }).message).toMatch(/write \{"log": \{"level": "info"\}\}/);
    expect(old({ instrumentation: { prometheus: true } }).code).toBe('OLD_CONFIG_FORMAT');
    expect(old({ rpc: { listenn: 'x' } }).code).toBe('UNKNOWN_CONFIG_KEY');
  });
});
