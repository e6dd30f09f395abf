import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrivateKey } from '@libp2p/interface';
import { addressOf, formatAddress } from '../core/address.js';
import { toHex } from '../core/bytes.js';
import { ConfigError } from '../core/errors.js';
import type { KeyPair } from '../core/keys.js';
import { loadOrCreateNodeKey, peerIdOf } from '../p2p/nodeKey.js';
import { applyConfigObject, defaultConfig, type NodeConfig, writeConfigFile } from './config.js';
import { newValidatorKey, readValidatorKey, writeValidatorKey } from './validatorKey.js';

/**
 * The data directory ("home") of one node:
 *
 * ```
 * config.json          node configuration (every key also a flag)
 * genesis.json         the chain's genesis
 * keys/validator.json  consensus key (signs proposals and votes), mode 0600
 * keys/node.key        libp2p identity (peer id), mode 0600
 * db/                  LevelDB: state tree, blocks, indexes (one atomic batch per block)
 * consensus/           write-ahead log and signer-guard state
 * cache/               derived data (attribution indexes); safe to delete
 * ```
 */
export function homePaths(home: string) {
  return {
    home,
    config: join(home, 'config.json'),
    genesis: join(home, 'genesis.json'),
    keys: join(home, 'keys'),
    validatorKey: join(home, 'keys', 'validator.json'),
    nodeKey: join(home, 'keys', 'node.key'),
    db: join(home, 'db'),
    consensus: join(home, 'consensus'),
    wal: join(home, 'consensus', 'wal'),
    signerState: join(home, 'consensus', 'signer.json'),
    cache: join(home, 'cache'),
    pidFile: join(home, 'node.pid'),
  };
}
export type HomePaths = ReturnType<typeof homePaths>;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export interface InitResult {
  paths: HomePaths;
  validatorKey: KeyPair;
  nodeKey: PrivateKey;
  peerId: string;
  address: string;
  config: NodeConfig;
}

/**
 * Creates a home: keys (kept if present, so `init` is safe to re-run), and config.json with
 * `overrides` applied. Refuses to overwrite an existing config unless `force`.
 */
export async function initHome(
  home: string,
  overrides: Record<string, unknown> = {},
  force = false,
): Promise<InitResult> {
  const paths = homePaths(home);
  await mkdir(paths.keys, { recursive: true, mode: 0o700 });
  await mkdir(paths.consensus, { recursive: true });
  if ((await exists(paths.config)) && !force) {
    throw new ConfigError(
      'HOME_EXISTS',
      `${paths.config} already exists; use --force to overwrite the config (keys are kept)`,
    );
  }
  let validatorKey: KeyPair;
  if (await exists(paths.validatorKey)) validatorKey = await readValidatorKey(paths.validatorKey);
  else {
    validatorKey = newValidatorKey();
    await writeValidatorKey(paths.validatorKey, validatorKey);
  }
  const nodeKey = await loadOrCreateNodeKey(paths.nodeKey);
  const config = applyConfigObject(defaultConfig(), overrides, 'init options');
  await writeConfigFile(paths.config, config);
  return {
    paths,
    validatorKey,
    nodeKey,
    peerId: peerIdOf(nodeKey),
    address: formatAddress(addressOf(validatorKey.publicKey)),
    config,
  };
}

export async function writeGenesisFile(path: string, genesis: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(genesis, null, 2)}\n`);
}

export const GENESIS_BYTES_MAX = 64 * 1024 * 1024;

export async function readGenesisFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('NO_GENESIS', `cannot read genesis ${path}: ${(e as Error).message}`);
  }
  if (text.length > GENESIS_BYTES_MAX)
    throw new ConfigError('BAD_GENESIS', `${path} is larger than ${GENESIS_BYTES_MAX} bytes`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError('BAD_GENESIS', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Hex of a validator's consensus public key, as genesis files spell it. */
export function consensusKeyHex(kp: KeyPair): string {
  return `0x${toHex(kp.publicKey)}`;
}
