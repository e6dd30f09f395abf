import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { addressOf, formatAddress } from '../core/address.js';
import { fromHex, toHex } from '../core/bytes.js';
import { ConfigError } from '../core/errors.js';
import { type KeyPair, publicKeyOf } from '../core/keys.js';

/**
 * Account keys at rest: the Ed25519 seed encrypted with AES-256-GCM under a key derived from the
 * passphrase by scrypt (RFC 7914). GCM authenticates, so a wrong passphrase or a tampered file is
 * detected rather than yielding a wrong key. The address is stored in clear so files can be listed
 * without the passphrase; it is also bound as associated data, so it cannot be swapped.
 */

const scrypt = promisify(scryptCb) as (
  pw: string,
  salt: Uint8Array,
  len: number,
  opts: object,
) => Promise<Buffer>;

export const KEYSTORE_VERSION = 1;
/** scrypt cost: N = 2^15, r = 8, p = 1 (about 32 MiB, ~0.1 s): interactive-login strength. */
export const SCRYPT_PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
export const PASSPHRASE_CHARS_MIN = 8;

export interface KeystoreFile {
  version: number;
  address: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string; ciphertext: string };
}

async function deriveKey(
  passphrase: string,
  salt: Uint8Array,
  kdf: { N: number; r: number; p: number },
): Promise<Buffer> {
  return scrypt(passphrase, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r });
}

export async function encryptKey(
  kp: KeyPair,
  passphrase: string,
  params = SCRYPT_PARAMS,
): Promise<KeystoreFile> {
  if (passphrase.length < PASSPHRASE_CHARS_MIN) {
    throw new ConfigError(
      'WEAK_PASSPHRASE',
      `use a passphrase of at least ${PASSPHRASE_CHARS_MIN} characters`,
    );
  }
  const address = formatAddress(addressOf(kp.publicKey));
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKey(passphrase, salt, params);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(address));
  const ciphertext = Buffer.concat([cipher.update(kp.secretKey), cipher.final()]);
  return {
    version: KEYSTORE_VERSION,
    address,
    kdf: { name: 'scrypt', ...params, salt: toHex(salt) },
    cipher: {
      name: 'aes-256-gcm',
      iv: toHex(iv),
      tag: toHex(cipher.getAuthTag()),
      ciphertext: toHex(ciphertext),
    },
  };
}

export async function decryptKey(file: KeystoreFile, passphrase: string): Promise<KeyPair> {
  const bad = (why: string): never => {
    throw new ConfigError('BAD_KEYSTORE', `keystore is unusable: ${why}`);
  };
  if (file?.version !== KEYSTORE_VERSION) bad(`unsupported version ${JSON.stringify(file?.version)}`);
  if (file.kdf?.name !== 'scrypt' || file.cipher?.name !== 'aes-256-gcm') bad('unknown kdf or cipher');
  const { N, r, p } = file.kdf;
  if (![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || N > 1 << 20 || r > 32 || p > 16)
    bad('kdf parameters out of range');
  let secretKey: Uint8Array;
  try {
    const key = await deriveKey(passphrase, fromHex(file.kdf.salt), file.kdf);
    const decipher = createDecipheriv('aes-256-gcm', key, fromHex(file.cipher.iv, 12));
    decipher.setAAD(Buffer.from(file.address));
    decipher.setAuthTag(fromHex(file.cipher.tag, 16));
    secretKey = new Uint8Array(
      Buffer.concat([decipher.update(fromHex(file.cipher.ciphertext)), decipher.final()]),
    );
  } catch {
    throw new ConfigError('WRONG_PASSPHRASE', 'wrong passphrase, or the keystore file was modified');
  }
  if (secretKey.length !== 32) bad('decrypted key has the wrong length');
  const publicKey = publicKeyOf(secretKey);
  if (formatAddress(addressOf(publicKey)) !== file.address) bad('address does not match the key');
  return { secretKey, publicKey };
}

export async function writeKeystore(path: string, file: KeystoreFile): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
}

export async function readKeystore(path: string): Promise<KeystoreFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('NO_KEYSTORE', `cannot read keystore ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as KeystoreFile;
  } catch {
    throw new ConfigError('BAD_KEYSTORE', `${path} is not valid JSON`);
  }
}
