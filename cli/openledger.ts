#!/usr/bin/env node
import '../core/polyfill.js';
import '../core/nativeCrypto.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_STORAGE_FAILED, OlError, StorageError } from '../core/errors.js';
import { CLI_COMMANDS } from './commands.js';

/**
 * Entry point of the `openledger` command (package.json `bin`; compiled to dist/cli/openledger.js
 * by `npm ci`, or run from source with tsx). Typed errors are the user's to fix: exit 2 (74 for damaged or full storage).
 */

/** Exit status for bad usage or input (unknown command or flag, bad config): the user's to fix. */
export const EXIT_USAGE = 2;

const USAGE = `usage: openledger <command> [options]

commands:
${CLI_COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join('\n')}
  help      this text
  version   the software version and the chain protocol version (also --version)

Run "openledger <command> --help" for a command's options.`;

/** package.json of this checkout: the nearest one above this file (source or dist/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'openledger-node' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; one level up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

async function version(json: boolean): Promise<number> {
  const { PROTOCOL_VERSION } = await import('../core/chain.js');
  const { BLOCK_VERSION } = await import('../core/block.js');
  const { TX_VERSION } = await import('../core/tx.js');
  const v = { version: packageVersion(), protocol: PROTOCOL_VERSION, block: BLOCK_VERSION, tx: TX_VERSION };
  process.stdout.write(
    json
      ? `${JSON.stringify(v)}\n`
      : `openledger ${v.version}\nchain protocol ${v.protocol} (block v${v.block}, tx v${v.tx})\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === 'version' || command === '--version' || command === '-V') {
    const extra = rest.filter((a) => a !== '--json');
    if (extra.length > 0)
      throw new OlError(
        'BAD_USAGE',
        `openledger version: unknown argument ${JSON.stringify(extra[0])}; it takes --json`,
      );
    return version(rest.includes('--json'));
  }
  const c = CLI_COMMANDS.find((x) => x.name === command);
  if (c) return c.run(rest);
  const what = command.startsWith('-')
    ? `unknown option ${JSON.stringify(command)}`
    : `unknown command ${JSON.stringify(command)}`;
  throw new OlError(
    'BAD_USAGE',
    `${what}; commands: ${[...CLI_COMMANDS.map((x) => x.name), 'help', 'version'].join(', ')}; options: --help, --version (run "openledger help")`,
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof OlError) {
      process.stderr.write(`error: ${e.message} [${e.code}]\n`);
      // Damaged or full storage is not a usage mistake: a supervisor should alert, not retry.
      process.exit(e instanceof StorageError ? EXIT_STORAGE_FAILED : EXIT_USAGE);
    }
    process.stderr.write(`fatal: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
