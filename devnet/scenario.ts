import { ConfigError } from '../core/errors.js';
import { EQUIVOCATION_FAULTS, type EquivocationFault } from '../node/equivocator.js';
import { LOAD_ACCOUNTS_MAX, LOAD_KINDS, LOAD_RATE_MAX, type LoadMix } from './load.js';

/**
 * Chaos scenarios as data (in the spirit of CometBFT's e2e manifests): a network, a load, and
 * perturbations on a timeline. `parseScenario` validates a parsed JSON file; every error names the
 * field (`perturbations[2].nodes[0]`) and says what is allowed.
 *
 * ```json
 * { "name": "ci", "validators": 4, "blockTimeMs": 300, "durationSec": 150,
 *   "load": { "rate": 20, "mix": { "transfer": 8, "contribute": 1, "receipt": 1 }, "accounts": 16 },
 *   "perturbations": [
 *     { "atSec": 20, "action": "kill", "nodes": [1] },
 *     { "atSec": 30, "action": "restart", "nodes": [1] },
 *     { "atSec": 50, "action": "partition", "groups": [[3], [0, 1, 2]] },
 *     { "atSec": 70, "action": "heal" } ] }
 * ```
 *
 * Actions: `kill` (SIGKILL), `restart` (start a killed node), `stop` (SIGTERM), `pause` (SIGSTOP),
 * `resume` (SIGCONT), `partition` (groups that cannot reach each other, through the libp2p
 * connection gater; nodes in no group keep talking to everyone), `heal` (remove every partition).
 */

export const SCENARIO_VALIDATORS_MAX = 16;
export const SCENARIO_DURATION_SEC_MAX = 24 * 3600;
export const PERTURBATIONS_MAX = 10_000;
export const ACTIONS = ['kill', 'restart', 'stop', 'pause', 'resume', 'partition', 'heal'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Perturbation {
  atSec: number;
  action: Action;
  /** kill / restart / stop / pause / resume. */
  nodes: number[];
  /** partition. */
  groups: number[][];
}

/**
 * Byzantine validators a scenario can name (`"byzantine": [{"node": 3, "strategy": "equivocate"}]`):
 * each runs the node's test-only fault of that name (OPENLEDGER_TEST_FAULTS, node/equivocator.ts):
 * `equivocate` signs a conflicting second vote for every vote and a second proposal for every
 * proposal, `equivocateVotes` / `equivocateProposals` only one of the two.
 */
export const BYZANTINE_SCENARIO_STRATEGIES = EQUIVOCATION_FAULTS;
export type ByzantineScenarioStrategy = EquivocationFault;

export interface Scenario {
  name: string;
  description: string;
  validators: number;
  blockTimeMs: number;
  durationSec: number;
  /** Seconds after the last perturbation to wait for progress before checking (default 10). */
  settleSec: number;
  seed: number;
  load: { rate: number; mix: LoadMix; accounts: number };
  genesisParams: Record<string, string>;
  perturbations: Perturbation[];
  /** Validators that misbehave for the whole run (fewer than a third of them). */
  byzantine: { node: number; strategy: ByzantineScenarioStrategy }[];
}

export class ScenarioError extends ConfigError {}

const fail = (path: string, what: string): never => {
  throw new ScenarioError('BAD_SCENARIO', `${path}: ${what}`, { path });
};

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      fail(path === '' ? k : `${path}.${k}`, `unknown field (allowed: ${allowed.join(', ')})`);
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    fail(path, `must be a whole number, got ${JSON.stringify(v)}`);
  if ((v as number) < min || (v as number) > max) fail(path, `${v} is outside [${min}, ${max}]`);
  return v as number;
}

function num(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a number, got ${JSON.stringify(v)}`);
  if ((v as number) < min || (v as number) > max) fail(path, `${v} is outside [${min}, ${max}]`);
  return v as number;
}

function str(v: unknown, path: string, maxLength = 200): string {
  if (typeof v !== 'string' || v.length > maxLength)
    fail(path, `must be a string of at most ${maxLength} characters`);
  return v as string;
}

function nodeList(v: unknown, path: string, validators: number): number[] {
  if (!Array.isArray(v) || v.length === 0) fail(path, 'must be a non-empty list of node indexes');
  const out = (v as unknown[]).map((x, i) => int(x, `${path}[${i}]`, 0, validators - 1));
  if (new Set(out).size !== out.length) fail(path, 'lists a node twice');
  return out;
}

/** Validates a parsed scenario file; throws ScenarioError naming the field. */
export function parseScenario(input: unknown): Scenario {
  const o = obj(input, 'scenario');
  onlyKeys(
    o,
    [
      'name',
      'description',
      'validators',
      'blockTimeMs',
      'durationSec',
      'settleSec',
      'seed',
      'load',
      'genesisParams',
      'perturbations',
      'byzantine',
    ],
    '',
  );
  const name = str(o.name, 'name', 64);
  if (!/^[\w.-]+$/.test(name)) fail('name', 'use letters, digits, "_", "-" or "."');
  const validators = int(o.validators, 'validators', 1, SCENARIO_VALIDATORS_MAX);
  const blockTimeMs = o.blockTimeMs === undefined ? 500 : int(o.blockTimeMs, 'blockTimeMs', 0, 60_000);
  const durationSec = int(o.durationSec, 'durationSec', 1, SCENARIO_DURATION_SEC_MAX);
  const settleSec = o.settleSec === undefined ? 10 : int(o.settleSec, 'settleSec', 1, 3600);
  const seed = o.seed === undefined ? 1 : int(o.seed, 'seed', 0, 2 ** 32 - 1);
  const l = obj(o.load, 'load');
  onlyKeys(l, ['rate', 'mix', 'accounts'], 'load');
  const rate = num(l.rate, 'load.rate', 0, LOAD_RATE_MAX);
  const accounts = l.accounts === undefined ? 16 : int(l.accounts, 'load.accounts', 1, LOAD_ACCOUNTS_MAX);
  const m = l.mix === undefined ? { transfer: 1 } : obj(l.mix, 'load.mix');
  onlyKeys(m, LOAD_KINDS, 'load.mix');
  const mix: LoadMix = { transfer: 0, contribute: 0, receipt: 0 };
  for (const k of LOAD_KINDS) if (m[k] !== undefined) mix[k] = int(m[k], `load.mix.${k}`, 0, 1_000_000);
  if (LOAD_KINDS.every((k) => mix[k] === 0)) fail('load.mix', 'at least one weight must be positive');
  const genesisParams: Record<string, string> = {};
  if (o.genesisParams !== undefined) {
    const g = obj(o.genesisParams, 'genesisParams');
    for (const [k, v] of Object.entries(g)) genesisParams[k] = str(v, `genesisParams.${k}`, 80);
  }
  const description = o.description === undefined ? '' : str(o.description, 'description', 2000);
  if (!Array.isArray(o.perturbations)) fail('perturbations', 'must be a list (may be empty)');
  const list = o.perturbations as unknown[];
  if (list.length > PERTURBATIONS_MAX) fail('perturbations', `at most ${PERTURBATIONS_MAX} entries`);
  const perturbations: Perturbation[] = list.map((raw, i) => {
    const path = `perturbations[${i}]`;
    const p = obj(raw, path);
    const action = str(p.action, `${path}.action`, 32) as Action;
    if (!ACTIONS.includes(action))
      fail(`${path}.action`, `unknown action ${JSON.stringify(action)} (${ACTIONS.join(', ')})`);
    const atSec = num(p.atSec, `${path}.atSec`, 0, durationSec);
    if (action === 'heal') {
      onlyKeys(p, ['atSec', 'action'], path);
      return { atSec, action, nodes: [], groups: [] };
    }
    if (action === 'partition') {
      onlyKeys(p, ['atSec', 'action', 'groups'], path);
      if (!Array.isArray(p.groups) || p.groups.length < 2)
        fail(`${path}.groups`, 'must list at least two groups of node indexes');
      const groups = (p.groups as unknown[]).map((g, j) => nodeList(g, `${path}.groups[${j}]`, validators));
      const seen = new Set<number>();
      for (const [j, g] of groups.entries())
        for (const n of g) {
          if (seen.has(n)) fail(`${path}.groups[${j}]`, `node ${n} is in two groups`);
          seen.add(n);
        }
      return { atSec, action, nodes: [], groups };
    }
    onlyKeys(p, ['atSec', 'action', 'nodes'], path);
    return { atSec, action, nodes: nodeList(p.nodes, `${path}.nodes`, validators), groups: [] };
  });
  // Replay the timeline to catch impossible steps (restart of a running node, resume of one
  // that is not paused).
  const order = perturbations.map((p, i) => ({ p, i })).sort((a, b) => a.p.atSec - b.p.atSec || a.i - b.i);
  const state = Array.from({ length: validators }, () => 'up' as 'up' | 'down' | 'paused');
  for (const { p, i } of order) {
    for (const [j, n] of p.nodes.entries()) {
      const at = `perturbations[${i}].nodes[${j}]`;
      const s = state[n];
      switch (p.action) {
        case 'kill':
        case 'stop':
          if (s === 'down') fail(at, `node ${n} is already down at ${p.atSec} s`);
          state[n] = 'down';
          break;
        case 'restart':
          if (s !== 'down') fail(at, `node ${n} is not down at ${p.atSec} s (kill or stop it first)`);
          state[n] = 'up';
          break;
        case 'pause':
          if (s !== 'up') fail(at, `node ${n} is not running at ${p.atSec} s`);
          state[n] = 'paused';
          break;
        case 'resume':
          if (s !== 'paused') fail(at, `node ${n} is not paused at ${p.atSec} s`);
          state[n] = 'up';
          break;
      }
    }
  }
  const byzantine: Scenario['byzantine'] = [];
  if (o.byzantine !== undefined) {
    if (!Array.isArray(o.byzantine)) fail('byzantine', 'must be a list of {node, strategy}');
    for (const [i, raw] of (o.byzantine as unknown[]).entries()) {
      const path = `byzantine[${i}]`;
      const b = obj(raw, path);
      onlyKeys(b, ['node', 'strategy'], path);
      const node = int(b.node, `${path}.node`, 0, validators - 1);
      const strategy = str(b.strategy, `${path}.strategy`, 32) as ByzantineScenarioStrategy;
      if (!BYZANTINE_SCENARIO_STRATEGIES.includes(strategy))
        fail(
          `${path}.strategy`,
          `unknown strategy ${JSON.stringify(strategy)} (${BYZANTINE_SCENARIO_STRATEGIES.join(', ')})`,
        );
      if (byzantine.some((x) => x.node === node)) fail(`${path}.node`, `node ${node} is listed twice`);
      byzantine.push({ node, strategy });
    }
    // Equal powers: f byzantine of n need 3f < n, or nothing can be checked.
    if (3 * byzantine.length >= validators)
      fail('byzantine', `${byzantine.length} of ${validators} validators is not fewer than a third`);
  }
  return {
    name,
    description,
    validators,
    blockTimeMs,
    durationSec,
    settleSec,
    seed,
    load: { rate, mix, accounts },
    genesisParams,
    perturbations: order.map((x) => x.p),
    byzantine,
  };
}
