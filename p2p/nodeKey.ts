import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { ConfigError } from '../core/errors.js';

/**
 * The node's libp2p identity, kept in a file so the peer id survives restarts (peers' bootstrap
 * lists name it). Written atomically (temp file + rename), readable only by the owner.
 */
export async function loadOrCreateNodeKey(path: string): Promise<PrivateKey> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes);
    } catch (e) {
      throw new ConfigError(
        'BAD_NODE_KEY',
        `node key ${path} is corrupt (${(e as Error).message}); restore it or delete it to get a new peer id`,
      );
    }
  }
  const key = await generateKeyPair('Ed25519');
  await writeNodeKey(path, key);
  return key;
}

export async function writeNodeKey(path: string, key: PrivateKey): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function peerIdOf(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}
