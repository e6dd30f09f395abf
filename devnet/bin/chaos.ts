import '../../core/polyfill.js';
import '../../core/nativeCrypto.js';
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from '../../core/args.js';
import { OlError } from '../../core/errors.js';
import { runScenario } from '../chaos.js';
import { parseScenario } from '../scenario.js';

const HELP = `usage: npm run chaos -- SCENARIO.json [--dir DIR] [--out REPORT.json]

Runs a chaos scenario (devnet/scenarios/*.json) against real node processes on 127.0.0.1, then
checks over JSON-RPC: same block hashes and state roots on every node, no acknowledged transaction
missing, settled receipts pay out exactly their fee, supply conserved, progress after every heal.
Prints a JSON report on stdout (progress on stderr); exits 1 on any violation, 2 on a bad file.

  --dir DIR   keep the node data here (default: a temporary directory, removed at the end)
  --out FILE  also write the report to FILE`;

async function main(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { strings: ['dir', 'out'] }, 'chaos');
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new OlError('BAD_USAGE', 'give exactly one scenario file (see --help)');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new OlError('BAD_SCENARIO', `${file}: ${(e as Error).message}`);
  }
  const scenario = parseScenario(raw);
  const t0 = Date.now();
  const log = (line: string) =>
    process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
  const report = await runScenario(scenario, { dir: flags.dir, log });
  const text = JSON.stringify(report, null, 2);
  process.stdout.write(`${text}\n`);
  if (flags.out) await writeFile(flags.out, `${text}\n`);
  log(report.ok ? 'no violations' : `${report.violations.length} violations`);
  return report.ok ? 0 : 1;
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
