/**
 * Command-line options of `npm run sim`, validated with errors that say what to do.
 */

import { MUTANTS, type Mutant } from '../../consensus/stateMachine.js';
import { ConfigError } from '../../core/errors.js';
import { type DelayDistribution, SCENARIO_NAMES, type ScenarioName } from './scenarios.js';
import { BYZANTINE_STRATEGIES, type ByzantineStrategy } from './simNode.js';
import { SIM_HEIGHTS_MAX, SIM_NODES_MAX, validateSimOptions } from './simulation.js';

/** A generous ceiling on one invocation's seeds (10,000 per scenario is the safety target). */
export const SIM_SEEDS_MAX = 1_000_000;

export interface CliOptions {
  readonly seeds: number;
  readonly firstSeed: number;
  readonly nodes: number;
  readonly byzantine: number;
  readonly heights: number;
  readonly scenarios: readonly ScenarioName[];
  readonly delay?: DelayDistribution;
  readonly unsafeIgnoreLock: boolean;
  readonly strategy: ByzantineStrategy;
  readonly mutant?: Mutant;
  readonly json: boolean;
  readonly help: boolean;
}

export const HELP = `usage: npm run sim -- [options]

Runs the deterministic consensus simulator: N validators' real consensus cores, WALs and signer
guards in one process, with virtual time and a seeded network. Checks agreement, validity, no
honest double-sign and liveness after faults stop. Any failing seed replays exactly.

options:
  --seeds N          number of seeds to run (default 100, max ${SIM_SEEDS_MAX})
  --first-seed S     first seed (default 1); seeds are S, S+1, …
  --seed S           run exactly one seed (same as --first-seed S --seeds 1)
  --nodes N          validators, 1..${SIM_NODES_MAX} (default 7)
  --byzantine B      byzantine validators, 3·B < N (default 0); they equivocate, vote for
                     conflicting blocks, propose different blocks to different peers
  --heights H        heights every honest node must commit, 1..${SIM_HEIGHTS_MAX} (default 20)
  --scenario NAME    ${SCENARIO_NAMES.join(' | ')} | all (default all: every seed runs every scenario)
  --delay SPEC       override message delays: uniform:MIN:MAX or longtail:MIN:MAX:PERMILLE:TAILMAX (ms)
  --strategy NAME    what byzantine nodes do: ${BYZANTINE_STRATEGIES.join(' | ')}
                     (default equivocate; see devnet/sim/README.md)
  --json             print the summary as one JSON line
  --unsafe-mutant NAME
                     TEST ONLY: remove one core rule (${MUTANTS.join(', ')})
  --unsafe-ignore-lock
                     TEST ONLY: honest cores ignore their lock (L23/L29), to show the checker
                     catches a broken core
  -h, --help         this text

example:
  npm run sim -- --seeds 1000 --nodes 7 --byzantine 2 --heights 50 --scenario partition
  npm run sim -- mutate [--seeds N]   the mutation test: each mutant until caught (README)
`;

function intArg(name: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) {
    throw new ConfigError('BAD_OPTION', `${name} needs an integer value, got ${JSON.stringify(value ?? '')}`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError('BAD_OPTION', `${name} must be in [${min}, ${max}], got ${value}`);
  }
  return n;
}

function parseDelay(spec: string | undefined): DelayDistribution {
  const parts = (spec ?? '').split(':');
  const nums = parts.slice(1).map((p) => intArg('--delay', p, 0, 600_000));
  if (parts[0] === 'uniform' && nums.length === 2 && nums[0] <= nums[1]) {
    return { kind: 'uniform', minMs: nums[0], maxMs: nums[1] };
  }
  if (parts[0] === 'longtail' && nums.length === 4 && nums[0] <= nums[1] && nums[2] <= 1000) {
    return { kind: 'longTail', minMs: nums[0], maxMs: nums[1], tailPerMille: nums[2], tailMaxMs: nums[3] };
  }
  throw new ConfigError(
    'BAD_OPTION',
    `--delay must be uniform:MIN:MAX or longtail:MIN:MAX:PERMILLE:TAILMAX (MIN ≤ MAX, PERMILLE ≤ 1000), got ${JSON.stringify(spec ?? '')}`,
  );
}

export function parseCli(argv: readonly string[]): CliOptions {
  let seeds = 100;
  let firstSeed = 1;
  let nodes = 7;
  let byzantine = 0;
  let heights = 20;
  let scenarios: readonly ScenarioName[] = SCENARIO_NAMES;
  let delay: DelayDistribution | undefined;
  let unsafeIgnoreLock = false;
  let strategy: ByzantineStrategy = 'equivocate';
  let mutant: Mutant | undefined;
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    switch (a) {
      case '--seeds':
        seeds = intArg(a, next(), 1, SIM_SEEDS_MAX);
        break;
      case '--first-seed':
        firstSeed = intArg(a, next(), 0, 0xffff_ffff);
        break;
      case '--seed':
        firstSeed = intArg(a, next(), 0, 0xffff_ffff);
        seeds = 1;
        break;
      case '--nodes':
        nodes = intArg(a, next(), 1, SIM_NODES_MAX);
        break;
      case '--byzantine':
        byzantine = intArg(a, next(), 0, SIM_NODES_MAX);
        break;
      case '--heights':
        heights = intArg(a, next(), 1, SIM_HEIGHTS_MAX);
        break;
      case '--scenario': {
        const v = next();
        if (v === 'all') scenarios = SCENARIO_NAMES;
        else if ((SCENARIO_NAMES as readonly string[]).includes(v ?? '')) scenarios = [v as ScenarioName];
        else {
          throw new ConfigError(
            'BAD_OPTION',
            `--scenario must be one of ${SCENARIO_NAMES.join(', ')}, all; got ${JSON.stringify(v ?? '')}`,
          );
        }
        break;
      }
      case '--delay':
        delay = parseDelay(next());
        break;
      case '--unsafe-ignore-lock':
        unsafeIgnoreLock = true;
        break;
      case '--strategy': {
        const v = next() ?? '';
        if (!(BYZANTINE_STRATEGIES as readonly string[]).includes(v))
          throw new ConfigError(
            'BAD_OPTION',
            `--strategy must be one of ${BYZANTINE_STRATEGIES.join(', ')}; got ${JSON.stringify(v)}`,
          );
        strategy = v as ByzantineStrategy;
        break;
      }
      case '--unsafe-mutant': {
        const v = next() ?? '';
        if (!(MUTANTS as readonly string[]).includes(v))
          throw new ConfigError(
            'BAD_OPTION',
            `--unsafe-mutant must be one of ${MUTANTS.join(', ')}; got ${JSON.stringify(v)}`,
          );
        mutant = v as Mutant;
        break;
      }
      case '--json':
        json = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        throw new ConfigError('UNKNOWN_OPTION', `unknown option ${JSON.stringify(a)}; see --help`);
    }
  }
  if (firstSeed + seeds - 1 > 0xffff_ffff) throw new ConfigError('BAD_OPTION', 'seeds run past 2^32 − 1');
  const problem = validateSimOptions({ seed: firstSeed, nodes, byzantine, heights, scenario: scenarios[0] });
  if (problem !== null) throw new ConfigError('BAD_OPTION', problem);
  return {
    seeds,
    firstSeed,
    nodes,
    byzantine,
    heights,
    scenarios,
    delay,
    unsafeIgnoreLock,
    strategy,
    mutant,
    json,
    help,
  };
}

/** The exact command that replays one run. */
export function replayCommand(o: CliOptions, seed: number, scenario: ScenarioName): string {
  const parts = [
    'npm run sim --',
    `--seed ${seed}`,
    `--nodes ${o.nodes}`,
    `--byzantine ${o.byzantine}`,
    `--heights ${o.heights}`,
    `--scenario ${scenario}`,
  ];
  if (o.delay) {
    const d = o.delay;
    parts.push(
      d.kind === 'uniform'
        ? `--delay uniform:${d.minMs}:${d.maxMs}`
        : `--delay longtail:${d.minMs}:${d.maxMs}:${d.tailPerMille}:${d.tailMaxMs}`,
    );
  }
  if (o.strategy !== 'equivocate') parts.push(`--strategy ${o.strategy}`);
  if (o.unsafeIgnoreLock) parts.push('--unsafe-ignore-lock');
  if (o.mutant) parts.push(`--unsafe-mutant ${o.mutant}`);
  return parts.join(' ');
}
