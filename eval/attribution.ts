import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { evalDuplicates } from './attribution/duplicates.js';
import { evalGaming } from './attribution/gaming.js';
import { evalSpan } from './attribution/span.js';

/**
 * `npm run eval -- attribution [--quick]`: the faithfulness evaluation of issue 14, one JSON line.
 *
 * - span: planted-source share and top-1 at N = 200 and 2,000 contributions, with and without
 *   shared boilerplate, and the false-attribution rate on answers that copy nothing;
 * - nearDuplicates: for each edit a copier might make, the share of edited copies caught at the
 *   default parameters (and by the round-1 check), and the false-positive rate on distinct texts;
 * - gaming: the share a common-phrase farmer captures, and what a grinding copier gets;
 * - influence: eval/attribution/influence.ts (the influence stream's), when it is in the tree.
 *
 * Corpora come from test/fixtures by deterministic code (eval/attribution/texts.ts), including the
 * SQLite API reference, a technical text with heavy natural repetition. Figures are measurements,
 * not tests: the correctness properties behind them are asserted in test/attribution.
 */

function log(msg: string): void {
  process.stderr.write(`[attribution eval] ${msg}\n`);
}

async function influence(quick: boolean): Promise<unknown> {
  const path = join(import.meta.dirname, 'attribution', 'influence.ts');
  if (!existsSync(path)) return 'not built in this branch';
  const mod = (await import(path)) as {
    evalInfluence(opts: { quick?: boolean }): Promise<Record<string, unknown>>;
  };
  return mod.evalInfluence({ quick });
}

export default async function attributionEval(args: string[]): Promise<Record<string, unknown>> {
  const quick = args.includes('--quick');
  const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
  log('span…');
  const span = await evalSpan({ quick });
  log('near-duplicates…');
  const nearDuplicates = await evalDuplicates({ quick });
  log('gaming…');
  const gaming = await evalGaming({ quick });
  log('influence…');
  const inf = await influence(quick);
  return {
    quick,
    loadAverage: { before: loadBefore, after: loadavg().map((x) => Math.round(x * 100) / 100) },
    span,
    nearDuplicates,
    gaming,
    influence: inf,
  };
}
