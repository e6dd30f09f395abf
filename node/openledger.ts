import '../core/polyfill.js';
import { OlError } from '../core/errors.js';
import { main } from './cli.js';

/** Entry point of the `openledger` command. Typed errors are the user's to fix: exit 2. */
main(process.argv.slice(2)).then(
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
