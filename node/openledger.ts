import '../core/polyfill.js';
import { OlError } from '../core/errors.js';
import { CLI_COMMANDS } from './cliCommands.js';

/**
 * Entry point of the `openledger` command. Typed errors are the user's to fix: exit 2.
 * Registered client commands (tx, query, keystore, …) start without loading the node itself
 * (libp2p, LevelDB), which would triple their start-up time.
 */
const argv = process.argv.slice(2);
const extra = CLI_COMMANDS.find((c) => c.name === argv[0]);
const run = extra ? extra.run(argv.slice(1)) : import('./cli.js').then((m) => m.main(argv));

run.then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof OlError) {
      process.stderr.write(`error: ${e.message} [${e.code}]\n`);
      process.exit(2);
    }
    process.stderr.write(`fatal: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
