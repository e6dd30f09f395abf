import '../../core/polyfill.js';
import '../../core/nativeCrypto.js';
import { OlError } from '../../core/errors.js';
import { runDevnetCli } from '../cli.js';

/** `npm run devnet -- …` */
runDevnetCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(
      e instanceof OlError ? `error: ${e.message} [${e.code}]\n` : `fatal: ${(e as Error).stack}\n`,
    );
    process.exit(e instanceof OlError ? 2 : 1);
  },
);
