import '../core/polyfill.js';
import '../core/nativeCrypto.js';
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run eval -- NAME [--quick]`: runs eval/NAME.ts, whose default export returns quality
 * figures, and prints them as ONE JSON line (the last line of output). Evaluations measure what a
 * user cares about (is the right contributor paid?) on corpora built deterministically from the
 * texts in test/fixtures; they assert nothing (tests do) and never depend on timing. Progress goes
 * to stderr so stdout stays machine-readable.
 */
export type Evaluation = (args: string[]) => Promise<Record<string, unknown>>;

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || !available.includes(name)) {
  const msg = `usage: npm run eval -- NAME [--quick]\navailable: ${available.join(', ')}`;
  if (name && name !== '--help' && name !== '-h') {
    process.stderr.write(`unknown evaluation ${JSON.stringify(name)}\n${msg}\n`);
    process.exit(2);
  }
  process.stdout.write(`${msg}\n`);
  process.exit(0);
}

const mod = (await import(join(here, `${name}.ts`))) as { default: Evaluation };
const started = Date.now();
const figures = await mod.default(args);
const result = {
  eval: name,
  ...figures,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  durationMs: Date.now() - started,
};
process.stdout.write(`${JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
process.exit(0);
