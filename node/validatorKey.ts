import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { addressOf, formatAddress } from '../core/address.js';
import { fromHex, toHex } from '../core/bytes.js';
import { ConfigError } from '../core/errors.js';
import { generateKeyPair, type KeyPair, publicKeyOf } from '../core/keys.js';

/**
 * The validator's consensus key: signs proposals and votes. Stored as JSON readable only by the
 * owner (like CometBFT's priv_validator_key.json): a hot key by nature, since it signs every block.
 */
export interface ValidatorKeyFile {
  address: string;
  publicKey: string;
  secretKey: string;
}

export async function writeValidatorKey(path: string, kp: KeyPair): Promise<void> {
  const file: ValidatorKeyFile = {
    address: formatAddress(addressOf(kp.publicKey)),
    publicKey: toHex(kp.publicKey),
    secretKey: toHex(kp.secretKey),
  };
  await writeFile(`${path}.tmp`, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
}

export async function readValidatorKey(path: string): Promise<KeyPair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      'NO_VALIDATOR_KEY',
      `cannot read validator key ${path}: ${(e as Error).message}; run "openledger init" first`,
    );
  }
  try {
    const file = JSON.parse(text) as ValidatorKeyFile;
    const secretKey = fromHex(file.secretKey, 32);
    const publicKey = publicKeyOf(secretKey);
    if (toHex(publicKey) !== file.publicKey) throw new Error('public key does not match the secret key');
    return { secretKey, publicKey };
  } catch (e) {
    throw new ConfigError('BAD_VALIDATOR_KEY', `validator key ${path} is corrupt: ${(e as Error).message}`);
  }
}

export function newValidatorKey(): KeyPair {
  return generateKeyPair();
}
