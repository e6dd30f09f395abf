import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_ENV, ADMIN_FILE, startAdminControl } from '../../node/adminControl.js';

/** The devnet's partition switch: `<home>/admin.json` → the connection gater's block list. */

function fakeHost() {
  const blocked = new Set<string>();
  return {
    blocked,
    blockPeer: vi.fn(async (p: string) => void blocked.add(p)),
    unblockPeer: vi.fn((p: string) => void blocked.delete(p)),
    blockedPeers: () => [...blocked].sort(),
  };
}

const log = { info: vi.fn(), warn: vi.fn() } as never;
let dir = '';
let stop = () => {};

afterEach(async () => {
  stop();
  delete process.env[ADMIN_ENV];
  if (dir) await rm(dir, { recursive: true, force: true });
});

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  return cond();
};

describe('admin control', () => {
  it('is off unless OPENLEDGER_ADMIN_CONTROL=1', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ol-admin-'));
    await writeFile(join(dir, ADMIN_FILE), JSON.stringify({ blockedPeers: ['peerA'] }));
    const host = fakeHost();
    stop = startAdminControl(dir, host, log);
    await new Promise((r) => setTimeout(r, 400));
    expect(host.blockPeer).not.toHaveBeenCalled();
  });

  it('blocks the listed peers and unblocks those removed; a bad file changes nothing', async () => {
    process.env[ADMIN_ENV] = '1';
    dir = await mkdtemp(join(tmpdir(), 'ol-admin-'));
    const host = fakeHost();
    stop = startAdminControl(dir, host, log);
    await writeFile(join(dir, ADMIN_FILE), JSON.stringify({ blockedPeers: ['peerA', 'peerB'] }));
    expect(await until(() => host.blocked.size === 2)).toBe(true);
    await writeFile(join(dir, ADMIN_FILE), JSON.stringify({ blockedPeers: 'peerA' }));
    await new Promise((r) => setTimeout(r, 400));
    expect(host.blockedPeers()).toEqual(['peerA', 'peerB']);
    await writeFile(join(dir, ADMIN_FILE), JSON.stringify({ blockedPeers: ['peerB'] }));
    expect(await until(() => host.blocked.size === 1)).toBe(true);
    expect(host.blockedPeers()).toEqual(['peerB']);
    await writeFile(join(dir, ADMIN_FILE), JSON.stringify({ blockedPeers: [] }));
    expect(await until(() => host.blocked.size === 0)).toBe(true);
  });
});
