import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, OlError } from '../core/errors.js';
import { OpenLedgerClient, RpcCallError } from '../rpc/client.js';

/**
 * What the client-side commands (`keystore`, `tx`, `query`) share: the node's RPC URL, the
 * keystore directory, the passphrase (from a file or the environment, never a flag: flags end up
 * in shell history and `ps`), output as text or `--json`, and RPC errors turned into messages
 * that say what to do.
 */

export const DEFAULT_RPC_URL = 'http://127.0.0.1:8545/';
export const PASSPHRASE_ENV = 'OPENLEDGER_PASSPHRASE';
export const PASSPHRASE_FILE_BYTES_MAX = 4096;

export const COMMON_HELP = `common options:
  --rpc URL               node JSON-RPC endpoint (default $OPENLEDGER_RPC or ${DEFAULT_RPC_URL})
  --json                  machine-readable output (one JSON document on stdout)
  --help                  this text`;

export const KEYSTORE_HELP = `keystore options:
  --keystore DIR          key files (default $OPENLEDGER_KEYSTORE or ~/.openledger/keystore)
  --passphrase-file FILE  read the passphrase from FILE (else $${PASSPHRASE_ENV}, else a prompt on a terminal)`;

export function rpcUrl(flags: Record<string, string>): string {
  const url = flags.rpc ?? process.env.OPENLEDGER_RPC ?? DEFAULT_RPC_URL;
  if (!/^https?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigError('BAD_FLAG', `--rpc: expected an http(s) URL like ${DEFAULT_RPC_URL}, got ${url}`);
  }
  return url;
}

export function clientFor(flags: Record<string, string>): OpenLedgerClient {
  return new OpenLedgerClient(rpcUrl(flags));
}

export function keystoreDir(flags: Record<string, string>): string {
  return flags.keystore ?? process.env.OPENLEDGER_KEYSTORE ?? join(homedir(), '.openledger', 'keystore');
}

export async function passphrase(flags: Record<string, string>): Promise<string> {
  const file = flags['passphrase-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ConfigError(
        'NO_PASSPHRASE',
        `cannot read --passphrase-file ${file}: ${(e as Error).message}`,
      );
    }
    if (text.length > PASSPHRASE_FILE_BYTES_MAX)
      throw new ConfigError('NO_PASSPHRASE', `${file} is too long to be a passphrase file`);
    // A trailing newline is the editor's, not the user's.
    return text.replace(/\r?\n$/, '');
  }
  const env = process.env[PASSPHRASE_ENV];
  if (env !== undefined && env !== '') return env;
  if (process.stdin.isTTY && process.stderr.isTTY) return promptHidden('passphrase: ');
  throw new ConfigError(
    'NO_PASSPHRASE',
    `no passphrase: pass --passphrase-file FILE or set ${PASSPHRASE_ENV} (never on the command line)`,
  );
}

/** Prints `json` with --json, else the text `human()` makes. */
export function output(flags: Record<string, string>, json: unknown, human: () => string): number {
  process.stdout.write(`${flags.json === 'true' ? JSON.stringify(json) : human()}\n`);
  return 0;
}

const HINTS: Record<string, string> = {
  NONCE_TOO_LOW: 'a transaction with this nonce was already accepted; omit --nonce to use the next one',
  BAD_NONCE: "omit --nonce to use the account's next nonce, or wait for pending transactions",
  INSUFFICIENT_FEE_FUNDS: 'the account cannot pay gasLimit × gasPrice; fund it or lower --gas-limit',
  GAS_PRICE_TOO_LOW: 'raise --gas-price to at least the minGasPrice of "openledger query params"',
  GAS_LIMIT_TOO_LOW: 'raise --gas-limit',
  WRONG_CHAIN: 'the node serves another chain; check --rpc',
  ALREADY_KNOWN: 'the same transaction is already pending',
  POOL_FULL: "the node's mempool is full; retry later or raise --gas-price",
  SENDER_FULL: 'too many pending transactions from this account; wait for some to commit',
  NONCE_TOO_HIGH: 'earlier nonces are missing; omit --nonce',
  REPLACEMENT_UNDERPRICED: 'to replace a pending transaction, raise --gas-price',
};

/**
 * Wraps a client call: RPC errors become typed errors (exit 2) whose message names the JSON-RPC
 * code and, for rejected transactions, the vm or mempool code with a hint.
 */
export async function rpcCall<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof RpcCallError)) throw e;
    const data = e.data as { code?: string } | undefined;
    const code = typeof data?.code === 'string' ? data.code : undefined;
    const hint = code !== undefined ? HINTS[code] : undefined;
    if (e.rpcCode === -1) throw new OlError('RPC_UNREACHABLE', `${what}: ${e.message}; set --rpc URL`);
    if (e.rpcCode === -32001) throw new OlError('NOT_FOUND', `${what}: ${e.message}`);
    throw new OlError(
      code ?? `RPC_${e.rpcCode}`,
      `${what}: ${e.message}${code ? ` [${code}]` : ''}${hint ? ` — ${hint}` : ''}`,
    );
  }
}

/** Reads a line from the terminal without echoing it (raw mode), for an interactive passphrase. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let text = '';
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new ConfigError('NO_PASSPHRASE', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (text.length < PASSPHRASE_FILE_BYTES_MAX) text += ch;
      }
    };
    stdin.on('data', onData);
  });
}
