/**
 * `npm run sim -- …`: runs seeds through the simulator and prints a summary per scenario and, for
 * each failure, its seed and the command that replays it. Exit code 1 if any run failed, 2 on
 * bad options.
 */

import '../../core/polyfill.js';
import '../../core/nativeCrypto.js';
import { OlError } from '../../core/errors.js';
import { formatMutationReport, runMutationTest } from './mutate.js';
import { type CliOptions, HELP, parseCli, replayCommand } from './options.js';
import { runSimulation, type SimResult } from './simulation.js';
import { summarize } from './summary.js';

function main(argv: string[]): number {
  if (argv[0] === 'mutate') {
    const i = argv.indexOf('--seeds');
    const seeds = i >= 0 ? Number(argv[i + 1]) : 60;
    if (!Number.isSafeInteger(seeds) || seeds < 1 || seeds > 100_000) {
      process.stderr.write('sim mutate: --seeds needs an integer in [1, 100000]\n');
      return 2;
    }
    const report = runMutationTest({ seedsMax: seeds, progress: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(formatMutationReport(report));
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.every((r) => r.caught && (!r.safety || r.kind === 'agreement' || r.kind === 'validity'))
      ? 0
      : 1;
  }
  let o: CliOptions;
  try {
    o = parseCli(argv);
  } catch (e) {
    if (e instanceof OlError) {
      process.stderr.write(`sim: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const failures: { result: SimResult; command: string }[] = [];
  const summaries: Record<string, unknown> = {};
  for (const scenario of o.scenarios) {
    const results: SimResult[] = [];
    for (let seed = o.firstSeed; seed < o.firstSeed + o.seeds; seed++) {
      const result = runSimulation({
        seed,
        nodes: o.nodes,
        byzantine: o.byzantine,
        heights: o.heights,
        scenario,
        delay: o.delay,
        unsafe: { ignoreLock: o.unsafeIgnoreLock, mutant: o.mutant },
        strategy: o.strategy,
      });
      results.push(result);
      if (!result.ok) failures.push({ result, command: replayCommand(o, seed, scenario) });
      const done = seed - o.firstSeed + 1;
      if (o.seeds >= 200 && done % 100 === 0) process.stderr.write(`${scenario}: ${done}/${o.seeds} seeds\n`);
    }
    const s = summarize(results);
    summaries[scenario] = s;
    if (!o.json) {
      process.stdout.write(
        `${scenario.padEnd(10)} runs ${s.runs}  passed ${s.passed}  failed ${s.failed}  ` +
          `round0 ${(s.round0PerMille / 10).toFixed(1)}%  rounds/height median ${s.roundsMedian} mean ${s.roundsMean} max ${s.roundsMax}  ` +
          `msgs/height ${s.messagesPerHeight}  virtual ms/height ${s.virtualMsPerHeight}  ` +
          `evidence ${s.evidence}  guard refusals ${s.guardRefusals}  torn WAL tails ${s.tornWalTails}  restarts ${s.restarts}\n`,
      );
    }
  }
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ options: { ...o, help: undefined }, summaries, failures: failures.map((f) => ({ seed: f.result.seed, scenario: f.result.scenario, violations: f.result.violations, replay: f.command })) })}\n`,
    );
  } else {
    for (const f of failures.slice(0, 20)) {
      const v = f.result.violations[0];
      process.stdout.write(
        `\nFAIL seed ${f.result.seed} (${f.result.scenario}) at ${v?.timeMs} ms: ${v?.kind}: ${v?.detail}\n  replay: ${f.command}\n`,
      );
    }
    if (failures.length > 20) process.stdout.write(`… and ${failures.length - 20} more failures\n`);
    process.stdout.write(
      failures.length === 0 ? '\nall runs passed\n' : `\n${failures.length} run(s) failed\n`,
    );
  }
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
