import '../core/polyfill.js';
import '../core/nativeCrypto.js';
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench -- NAME [args…]`: runs bench/NAME.ts, whose default export returns the figures,
 * and prints them as ONE JSON line (the last line of output), with the machine they ran on.
 * Progress goes to stderr so stdout stays machine-readable.
 */
export type Bench = (args: string[]) => Promise<Record<string, unknown>>;

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || !available.includes(name)) {
  const msg = `usage: npm run bench -- NAME [args]\navailable: ${available.join(', ')}`;
  if (name && name !== '--help' && name !== '-h') {
    process.stderr.write(`unknown benchmark ${JSON.stringify(name)}\n${msg}\n`);
    process.exit(2);
  }
  process.stdout.write(`${msg}\n`);
  process.exit(0);
}

const mod = (await import(join(here, `${name}.ts`))) as { default: Bench };
const started = Date.now();
const figures = await mod.default(args);
const result = {
  bench: name,
  ...figures,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  durationMs: Date.now() - started,
};
process.stdout.write(`${JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
process.exit(0);
