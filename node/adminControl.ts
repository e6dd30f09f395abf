import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from './logger.js';

/**
 * A local-only admin control for devnets and chaos tests: when the environment variable
 * `OPENLEDGER_ADMIN_CONTROL=1` is set, the node polls `<home>/admin.json` and applies it. Today it
 * holds one thing, the peers to cut off through the libp2p connection gater:
 *
 *   { "blockedPeers": ["12D3Koo…", …] }
 *
 * A file, not an RPC method: whoever can write the node's data directory already controls the
 * node, so this opens nothing to the network, and it is off unless the variable is set.
 */

export const ADMIN_FILE = 'admin.json';
export const ADMIN_POLL_MS = 200;
export const ADMIN_ENV = 'OPENLEDGER_ADMIN_CONTROL';

export interface PeerBlocker {
  blockPeer(peer: string): Promise<void>;
  unblockPeer(peer: string): void;
  blockedPeers(): string[];
}

/** Starts polling when enabled by the environment; returns a stop function. */
export function startAdminControl(home: string, p2p: PeerBlocker, log: Logger): () => void {
  if (process.env[ADMIN_ENV] !== '1') return () => {};
  const path = join(home, ADMIN_FILE);
  let lastText: string | null = null;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const text = await readFile(path, 'utf8').catch(() => '');
      if (text === lastText) return;
      lastText = text;
      let wanted: string[] = [];
      if (text.trim() !== '') {
        const parsed = JSON.parse(text) as { blockedPeers?: unknown };
        if (!Array.isArray(parsed.blockedPeers) || parsed.blockedPeers.some((p) => typeof p !== 'string'))
          throw new Error(`${ADMIN_FILE}: blockedPeers must be a list of peer ids`);
        wanted = parsed.blockedPeers as string[];
      }
      const current = new Set(p2p.blockedPeers());
      for (const p of wanted) if (!current.has(p)) await p2p.blockPeer(p);
      for (const p of current) if (!wanted.includes(p)) p2p.unblockPeer(p);
      log.info({ blockedPeers: wanted }, 'admin control applied');
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'admin control file ignored');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), ADMIN_POLL_MS);
  timer.unref();
  void tick();
  return () => clearInterval(timer);
}
