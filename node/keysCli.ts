import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { addressOf, formatAddress } from '../core/address.js';
import { checkFlags, parseArgs } from '../core/args.js';
import { fromHex } from '../core/bytes.js';
import { ConfigError } from '../core/errors.js';
import { generateKeyPair, type KeyPair, publicKeyOf } from '../core/keys.js';
import { KEYSTORE_HELP, keystoreDir, output, passphrase } from './clientCli.js';
import { decryptKey, encryptKey, type KeystoreFile, readKeystore, writeKeystore } from './keystore.js';

/**
 * `openledger keystore new|import|list|show`: account keys at rest, one file per key in the
 * keystore directory (`<name>.json`, mode 0600), each encrypted with scrypt + AES-256-GCM
 * (node/keystore.ts). Secrets never travel on the command line: the passphrase comes from a file
 * or the environment, an imported seed from a file.
 */

export const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const HELP = `usage: openledger keystore <new|import|list|show> [options]

  new     [--name NAME]                      create a key; NAME defaults to its address
  import  --secret-file FILE [--name NAME]   encrypt an existing Ed25519 seed (32 bytes, hex, in FILE)
  list                                       names and addresses (no passphrase needed)
  show    NAME|ADDRESS                       address and public key (no passphrase needed)

${KEYSTORE_HELP}
  --json                  machine-readable output
  --help                  this text

Transactions use a key with "openledger tx TYPE --from NAME|ADDRESS".`;

export async function runKeystoreCli(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { booleans: ['json'] }, 'openledger keystore');
  const [sub, ...rest] = positionals;
  if (flags.help || sub === undefined || sub === 'help') {
    process.stdout.write(`${HELP}\n`);
    return sub === undefined && !flags.help ? 2 : 0;
  }
  checkFlags(
    flags,
    ['keystore', 'passphrase-file', 'name', 'secret-file', 'json', 'help'],
    'openledger keystore',
  );
  const dir = keystoreDir(flags);
  switch (sub) {
    case 'new':
    case 'import': {
      let kp: KeyPair;
      if (sub === 'new') kp = generateKeyPair();
      else {
        const file = flags['secret-file'];
        if (file === undefined)
          throw new ConfigError('BAD_USAGE', 'keystore import needs --secret-file FILE (a 32-byte hex seed)');
        const secretKey = await readSecret(file);
        kp = { secretKey, publicKey: publicKeyOf(secretKey) };
      }
      const address = formatAddress(addressOf(kp.publicKey));
      const name = flags.name ?? address;
      if (!KEY_NAME_RE.test(name))
        throw new ConfigError('BAD_FLAG', `--name: use letters, digits, ".", "_" or "-" (at most 64)`);
      const path = join(dir, `${name}.json`);
      if (await exists(path))
        throw new ConfigError('KEY_EXISTS', `${path} exists; choose another --name or remove the file`);
      const file = await encryptKey(kp, await passphrase(flags));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeKeystore(path, file);
      const out = { name, address, publicKey: `0x${Buffer.from(kp.publicKey).toString('hex')}`, path };
      return output(
        flags,
        out,
        () =>
          `${sub === 'new' ? 'created' : 'imported'} ${name}\n  address     ${address}\n  public key  ${out.publicKey}\n  file        ${path}\nkeep the passphrase safe: without it the key cannot be recovered`,
      );
    }
    case 'list': {
      const keys = await listKeys(dir);
      return output(flags, keys, () =>
        keys.length === 0
          ? `no keys in ${dir}; create one with "openledger keystore new"`
          : keys.map((k) => `${k.name.padEnd(24)} ${k.address}`).join('\n'),
      );
    }
    case 'show': {
      const ref = rest[0];
      if (ref === undefined) throw new ConfigError('BAD_USAGE', 'keystore show NAME|ADDRESS');
      const { name, path, file } = await findKey(dir, ref);
      return output(flags, { name, address: file.address, path }, () => `${name}  ${file.address}\n${path}`);
    }
    default:
      throw new ConfigError('BAD_USAGE', `unknown keystore command ${JSON.stringify(sub)}; see --help`);
  }
}

async function readSecret(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (e) {
    throw new ConfigError('NO_SECRET', `cannot read --secret-file ${file}: ${(e as Error).message}`);
  }
  try {
    return fromHex(text, 32);
  } catch {
    throw new ConfigError('BAD_SECRET', `${file} must hold a 32-byte Ed25519 seed as 64 hex characters`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function listKeys(dir: string): Promise<{ name: string; address: string; path: string }[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: { name: string; address: string; path: string }[] = [];
  for (const f of names) {
    const path = join(dir, f);
    try {
      const file = await readKeystore(path);
      if (typeof file.address === 'string') out.push({ name: f.slice(0, -5), address: file.address, path });
    } catch {
      // not a keystore file: skip it
    }
  }
  return out;
}

/** Finds a key by file name or by address. */
export async function findKey(
  dir: string,
  ref: string,
): Promise<{ name: string; path: string; file: KeystoreFile }> {
  if (KEY_NAME_RE.test(ref)) {
    const path = join(dir, `${ref}.json`);
    if (await exists(path)) return { name: ref, path, file: await readKeystore(path) };
  }
  const byAddress = (await listKeys(dir)).find((k) => k.address === ref.toLowerCase());
  if (byAddress) return { ...byAddress, file: await readKeystore(byAddress.path) };
  throw new ConfigError(
    'NO_KEY',
    `no key ${JSON.stringify(ref)} in ${dir}; see "openledger keystore list" (or pass --keystore DIR)`,
  );
}

/** Decrypts the key `ref` (name or address) with the passphrase from the flags or environment. */
export async function unlockKey(flags: Record<string, string>, ref: string): Promise<KeyPair> {
  const { file } = await findKey(keystoreDir(flags), ref);
  return decryptKey(file, await passphrase(flags));
}

/** An address given directly (0x…) or as the name of a key in the keystore. */
export async function resolveAddress(flags: Record<string, string>, ref: string): Promise<string> {
  if (/^0x[0-9a-fA-F]{40}$/.test(ref)) return ref.toLowerCase();
  return (await findKey(keystoreDir(flags), ref)).file.address;
}
