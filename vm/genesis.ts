import { addressOf, parseAddress } from '../core/address.js';
import { parseUnits } from '../core/amount.js';
import { toHex } from '../core/bytes.js';
import { checkChainId } from '../core/chain.js';
import { OlError } from '../core/errors.js';
import { isValidPublicKey } from '../core/keys.js';
import { MONIKER_BYTES_MAX } from '../core/tx.js';
import { VALIDATOR_CANDIDATES_MAX } from '../state/stores/records.js';
import type { StateOverlay } from '../state/types.js';
import { BlockCtx } from './context.js';
import { GenesisError } from './errors.js';
import {
  checkParamRules,
  defaultParams,
  type ParamKey,
  type Params,
  paramSpec,
  paramsToList,
  parseParamValue,
} from './params.js';
import { bond, computeValidatorSet, POWER_UNIT } from './staking.js';

/**
 * Genesis (DESIGN §3, issue 4). Consensus-critical: every node must derive the same state root
 * from the same file. The JSON file:
 *
 * ```json
 * {
 *   "chainId": "ol-devnet",
 *   "genesisTimeMs": 1767225600000,
 *   "params": { "unbondingBlocks": "100" },
 *   "accounts": [{ "address": "0x…40 hex", "balance": "1000000000000000000000" }],
 *   "validators": [{ "operator": "0x…", "consensusKey": "0x…64 hex", "selfStake": "…",
 *                    "commissionBps": 500, "moniker": "val-1" }]
 * }
 * ```
 * Amounts are base units (10^-18 OPEN) as decimal strings; parameters are decimal strings too and
 * default when absent. Unknown fields are errors. Every error is a GenesisError whose message
 * starts with the path of the offending field (`accounts[2].balance: …`) and whose details carry it.
 * Self-stakes are created bonded (they are part of the genesis supply, not taken from balances).
 */

export const GENESIS_ACCOUNTS_MAX = 100_000;
/**
 * Largest genesis supply in base units (10^15 OPEN): keeps every voting power (tokens / 10^18)
 * and every sum of powers far below 2^53, so powers stay exact JS integers for consensus.
 */
export const GENESIS_SUPPLY_MAX = 10n ** 33n;

export interface GenesisValidator {
  operator: Uint8Array;
  consensusKey: Uint8Array;
  selfStake: bigint;
  commissionBps: number;
  moniker: string;
}

export interface Genesis {
  chainId: string;
  genesisTimeMs: number;
  params: Params;
  accounts: { address: Uint8Array; balance: bigint }[];
  validators: GenesisValidator[];
}

function fail(code: string, path: string, why: string): never {
  throw new GenesisError(code, `${path}: ${why}`, { path });
}

/**
 * Fields of genesis files in an old or foreign layout (CometBFT's genesis.json) → what to write
 * instead. Consulted only for a field that is not accepted, so the error says what to do.
 */
export const LEGACY_GENESIS_FIELDS: Readonly<Record<string, string>> = {
  chain_id: 'is the old name of "chainId": rename it',
  genesis_time:
    'is an RFC 3339 time; write "genesisTimeMs" instead (integer milliseconds since the epoch, e.g. 1767225600000)',
  initial_height: 'is not used: OpenLedger chains start at height 1; remove it',
  app_hash: 'is not used (the state root is computed from the genesis); remove it',
  app_state:
    'holds the application state in CometBFT genesis files; move balances to "accounts" ([{address, balance}]) and parameters to "params"',
  consensus_params:
    'is not used: block limits and timeouts are "params" (governance) and config.json (consensus.*)',
  pub_key: 'is the old name of "consensusKey" (0x + 64 hex, the key printed by "openledger keys")',
  power:
    'is not used: voting power comes from "selfStake" (base units; 1 OPEN = 10^18); write selfStake instead',
  name: 'is the old name of "moniker": rename it',
  address: 'is the old name of "operator" for validators (the account that owns the stake): rename it',
};

function object(
  v: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('BAD_FIELD', path, 'expected an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) {
      const legacy = LEGACY_GENESIS_FIELDS[k];
      if (legacy !== undefined)
        fail(
          'OLD_GENESIS_FORMAT',
          path === '' ? k : `${path}.${k}`,
          `${legacy} (this is an old or foreign genesis format)`,
        );
      fail(
        'UNKNOWN_FIELD',
        path === '' ? k : `${path}.${k}`,
        `unknown field (expected ${[...required, ...optional].join(', ')})`,
      );
    }
  }
  for (const k of required)
    if (!(k in o)) fail('MISSING_FIELD', path === '' ? k : `${path}.${k}`, 'required');
  return o;
}

function wrap<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GenesisError) throw e;
    if (e instanceof OlError) fail('BAD_FIELD', path, e.message);
    throw e;
  }
}

function units(v: unknown, path: string): bigint {
  if (typeof v !== 'string') fail('BAD_FIELD', path, 'expected a decimal string of base units');
  return wrap(path, () => parseUnits(v));
}

function array(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail('BAD_FIELD', path, 'expected an array');
  if (v.length > max) fail('BAD_FIELD', path, `at most ${max} entries`);
  return v;
}

/** Parses and validates a genesis JSON value (already JSON.parse'd). */
export function parseGenesis(json: unknown): Genesis {
  const o = object(json, '', ['chainId', 'genesisTimeMs', 'accounts', 'validators'], ['params']);
  if (typeof o.chainId !== 'string') fail('BAD_FIELD', 'chainId', 'expected a string');
  const chainId = wrap('chainId', () => checkChainId(o.chainId as string));
  const t = o.genesisTimeMs;
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
    fail('BAD_FIELD', 'genesisTimeMs', 'expected a non-negative integer (milliseconds since the epoch)');
  }
  const params = defaultParams();
  if (o.params !== undefined) {
    if (typeof o.params !== 'object' || o.params === null || Array.isArray(o.params))
      fail('BAD_FIELD', 'params', 'expected an object');
    for (const [k, v] of Object.entries(o.params as Record<string, unknown>)) {
      const path = `params.${k}`;
      if (paramSpec(k) === undefined) fail('UNKNOWN_FIELD', path, 'no such parameter');
      if (typeof v !== 'string') fail('BAD_FIELD', path, 'expected a decimal string');
      const parsed = parseParamValue(k, v);
      if ('code' in parsed) fail(parsed.code, path, parsed.message);
      params[k as ParamKey] = parsed.value;
    }
  }
  const rule = checkParamRules(params);
  if (rule !== null) fail('PARAMS_INCONSISTENT', 'params', rule);

  const accounts: Genesis['accounts'] = [];
  const seen = new Set<string>();
  array(o.accounts, 'accounts', GENESIS_ACCOUNTS_MAX).forEach((a, i) => {
    const path = `accounts[${i}]`;
    const r = object(a, path, ['address', 'balance']);
    if (typeof r.address !== 'string') fail('BAD_FIELD', `${path}.address`, 'expected a 0x address');
    const address = wrap(`${path}.address`, () => parseAddress(r.address as string));
    const key = toHex(address);
    if (seen.has(key)) fail('DUPLICATE', `${path}.address`, 'address listed twice');
    seen.add(key);
    accounts.push({ address, balance: units(r.balance, `${path}.balance`) });
  });

  const validators: GenesisValidator[] = [];
  const keys = new Set<string>();
  const operators = new Set<string>();
  const vs = array(o.validators, 'validators', VALIDATOR_CANDIDATES_MAX);
  if (vs.length === 0) fail('NO_VALIDATORS', 'validators', 'at least one validator is needed');
  vs.forEach((v, i) => {
    const path = `validators[${i}]`;
    const r = object(v, path, ['operator', 'consensusKey', 'selfStake', 'commissionBps', 'moniker']);
    if (typeof r.operator !== 'string') fail('BAD_FIELD', `${path}.operator`, 'expected a 0x address');
    const operator = wrap(`${path}.operator`, () => parseAddress(r.operator as string));
    const ck = r.consensusKey;
    if (typeof ck !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(ck)) {
      fail(
        'BAD_FIELD',
        `${path}.consensusKey`,
        'expected 0x followed by 64 hex digits (an Ed25519 public key)',
      );
    }
    const consensusKey = new Uint8Array(Buffer.from(ck.slice(2), 'hex'));
    if (!isValidPublicKey(consensusKey))
      fail('BAD_FIELD', `${path}.consensusKey`, 'not a valid Ed25519 public key');
    const selfStake = units(r.selfStake, `${path}.selfStake`);
    if (selfStake < params.minSelfStake || selfStake < POWER_UNIT) {
      fail(
        'BAD_FIELD',
        `${path}.selfStake`,
        `must be at least minSelfStake and 1 OPEN (${POWER_UNIT} units)`,
      );
    }
    const c = r.commissionBps;
    if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0 || c > 10_000) {
      fail('BAD_FIELD', `${path}.commissionBps`, 'expected an integer in [0, 10000]');
    }
    if (typeof r.moniker !== 'string' || Buffer.byteLength(r.moniker) > MONIKER_BYTES_MAX) {
      fail('BAD_FIELD', `${path}.moniker`, `expected a string of at most ${MONIKER_BYTES_MAX} bytes`);
    }
    const kh = toHex(consensusKey);
    if (keys.has(kh)) fail('DUPLICATE', `${path}.consensusKey`, 'consensus key listed twice');
    keys.add(kh);
    if (operators.has(toHex(operator))) fail('DUPLICATE', `${path}.operator`, 'operator listed twice');
    operators.add(toHex(operator));
    validators.push({ operator, consensusKey, selfStake, commissionBps: c, moniker: r.moniker });
  });
  let supply = 0n;
  for (const a of accounts) supply += a.balance;
  for (const v of validators) supply += v.selfStake;
  if (supply > GENESIS_SUPPLY_MAX) {
    fail('BAD_FIELD', 'accounts', `total genesis supply ${supply} exceeds ${GENESIS_SUPPLY_MAX} base units`);
  }
  return { chainId, genesisTimeMs: t, params, accounts, validators };
}

/**
 * Writes the genesis state into an empty overlay (version 0) and returns its root. The sets for
 * heights 1 and 2 are the genesis validators (top maxValidators by stake).
 */
export function genesisState(state: StateOverlay, genesisOrJson: Genesis | unknown): Uint8Array {
  const g = isGenesis(genesisOrJson) ? genesisOrJson : parseGenesis(genesisOrJson);
  const ctx = new BlockCtx(state, g.params, g.chainId, 0, g.genesisTimeMs, new Uint8Array(20));
  const s = ctx.s;
  s.setChain({ chainId: g.chainId, height: 0, timeMs: g.genesisTimeMs, genesisTimeMs: g.genesisTimeMs });
  s.setParamValues(paramsToList(g.params));
  let supply = 0n;
  for (const a of g.accounts) {
    s.setAccount(a.address, { nonce: 0, balance: a.balance });
    supply += a.balance;
  }
  const list: Uint8Array[] = [];
  for (const v of g.validators) {
    const address = addressOf(v.consensusKey);
    list.push(address);
    s.setOperatorValidator(v.operator, address);
    const rec = {
      address,
      operator: v.operator,
      consensusKey: v.consensusKey,
      commissionBps: v.commissionBps,
      moniker: v.moniker,
      tokens: 0n,
      shares: 0n,
      rewardPerShare: 0n,
      jailed: false,
      jailedUntil: 0,
      tombstoned: false,
      createdHeight: 0,
    };
    bond(ctx, rec, v.operator, v.selfStake);
    supply += v.selfStake;
  }
  list.sort((a, b) => Buffer.compare(a, b));
  s.setValidatorList(list);
  const set = computeValidatorSet(ctx);
  s.setValidatorSet(1, set);
  s.setValidatorSet(2, set);
  ctx.totals({ genesis: supply });
  ctx.buffer.flush();
  return state.root();
}

function isGenesis(x: unknown): x is Genesis {
  const v = (x as Partial<Genesis> | null)?.validators;
  return Array.isArray(v) && v[0]?.consensusKey instanceof Uint8Array;
}
