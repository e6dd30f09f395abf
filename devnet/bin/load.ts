import '../../core/polyfill.js';
import '../../core/nativeCrypto.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { intFlag, parseArgs } from '../../core/args.js';
import { OlError } from '../../core/errors.js';
import { OpenLedgerClient, Wallet } from '../../rpc/client.js';
import { CURRENT_POINTER } from '../cli.js';
import { LoadGenerator, parseMix } from '../load.js';
import { type DevnetLayout, LAYOUT_FILE } from '../setup.js';

const HELP = `usage: npm run load -- [--rate 50] [--duration 30] [--mix transfer=8,contribute=1,receipt=1]
                        [--accounts 16] [--rpc URL[,URL…]] [--dir DIR]

Sends transactions to a running devnet at a target rate and mix from N fresh accounts (funded
from the devnet's faucet, whose key is in DIR/devnet.json; DIR defaults to the last devnet
started, .devnet/current). Prints JSON: achieved rate, commit latency percentiles, rejects by
error code.

  --rate R        transactions per second (default 50)
  --duration S    seconds of load (default 30)
  --mix M         weights of transfer, contribute, receipt (default transfer=1)
  --accounts N    sending accounts (default 16)
  --rpc URLS      JSON-RPC endpoints, comma-separated (default: every node of the devnet)
  --dir DIR       the devnet directory (for the faucet key and the endpoints)`;

async function main(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(
    argv,
    { strings: ['rate', 'duration', 'mix', 'accounts', 'rpc', 'dir'] },
    'load',
  );
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new OlError('BAD_USAGE', `unexpected argument ${positionals[0]}`);
  const rate = intFlag(flags, 'rate', 50, 1, 100_000);
  const duration = intFlag(flags, 'duration', 30, 1, 86_400);
  const accounts = intFlag(flags, 'accounts', 16, 1, 10_000);
  let mix: ReturnType<typeof parseMix>;
  try {
    mix = parseMix(flags.mix ?? 'transfer=1');
  } catch (e) {
    throw new OlError('BAD_FLAG', (e as Error).message);
  }
  const dir = flags.dir ?? (await readFile(CURRENT_POINTER, 'utf8').catch(() => '')).trim();
  if (dir === '') throw new OlError('BAD_USAGE', 'no devnet found: pass --dir DIR (the devnet directory)');
  let layout: DevnetLayout;
  try {
    layout = JSON.parse(await readFile(join(dir, LAYOUT_FILE), 'utf8'));
  } catch (e) {
    throw new OlError('NO_DEVNET', `cannot read ${join(dir, LAYOUT_FILE)}: ${(e as Error).message}`);
  }
  const urls = flags.rpc ? flags.rpc.split(',') : layout.nodes.map((n) => n.rpcUrl);
  const clients = urls.map((u) => new OpenLedgerClient(u, 10_000));
  const chainId = (await clients[0].status()).chainId as string;
  const f = layout.accounts.faucet;
  const faucet = Wallet.fromSecretHex(clients[0], f.secretKey, f.publicKey, chainId);
  const gen = new LoadGenerator(clients, chainId, { rate, mix, accounts });
  process.stderr.write(`funding ${accounts} accounts…\n`);
  await gen.prepare(faucet);
  process.stderr.write(`sending ${rate} tx/s for ${duration} s\n`);
  gen.start();
  await new Promise((r) => setTimeout(r, duration * 1000));
  await gen.stop(15_000);
  process.stdout.write(`${JSON.stringify(gen.report(), null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(
      e instanceof OlError ? `error: ${e.message} [${e.code}]\n` : `fatal: ${(e as Error).stack}\n`,
    );
    process.exit(e instanceof OlError ? 2 : 1);
  },
);
