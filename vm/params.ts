import { VALIDATORS_MAX } from '../core/block.js';
import { SETTLE_RESULTS_MAX, TOKENS_MAX } from '../core/tx.js';

/**
 * Governance parameters (consensus-critical). Every parameter is a non-negative integer with
 * bounds; genesis and `gov.propose` refuse values outside them, and the cross-parameter rules in
 * `checkParamRules`. Values are stored as a list in the order of PARAM_SPECS, so adding a
 * parameter is a state migration (append only).
 */

const OPEN = 10n ** 18n;

export interface ParamSpec {
  readonly key: string;
  readonly min: bigint;
  readonly max: bigint;
  readonly default: bigint;
  readonly doc: string;
}

export const PARAM_SPECS = [
  {
    key: 'minGasPrice',
    min: 0n,
    max: OPEN,
    default: 1n,
    doc: 'lowest gasPrice admitted (base units per gas)',
  },
  {
    key: 'blockGasLimit',
    min: 1_000_000n,
    max: 10n ** 12n,
    default: 10n ** 10n,
    doc: 'largest sum of tx gas limits in a block',
  },
  {
    key: 'maxValidators',
    min: 1n,
    max: BigInt(VALIDATORS_MAX),
    default: 100n,
    doc: 'size of the active set',
  },
  {
    key: 'minSelfStake',
    min: 0n,
    max: 10n ** 9n * OPEN,
    default: OPEN,
    doc: "an operator's smallest self-delegation",
  },
  { key: 'unbondingBlocks', min: 1n, max: 10_000_000n, default: 100n, doc: 'unbonding period in blocks' },
  {
    key: 'blockIssuance',
    min: 0n,
    max: 1000n * OPEN,
    default: 0n,
    doc: 'minted per block for validators and delegators',
  },
  {
    key: 'feeTreasuryBps',
    min: 0n,
    max: 10_000n,
    default: 500n,
    doc: 'treasury share p of an inference fee',
  },
  {
    key: 'feeValidatorsBps',
    min: 0n,
    max: 10_000n,
    default: 1000n,
    doc: 'validators share v of an inference fee',
  },
  { key: 'ownerShareMaxBps', min: 0n, max: 10_000n, default: 3000n, doc: 'largest model owner share m' },
  { key: 'slashDoubleSignBps', min: 0n, max: 10_000n, default: 500n, doc: 'stake burned for double signing' },
  { key: 'slashDowntimeBps', min: 0n, max: 10_000n, default: 10n, doc: 'stake burned for downtime' },
  // CometBFT/Cosmos-style signed-blocks window: jailing takes missing more than half of the last
  // 10,000 commits (≈ 83 min of outage at 1 s blocks, 42 min at the devnet's 0.5 s); a validator
  // that votes in time is in every certificate (the proposer carries late precommits too), so
  // slowness never counts. vm/README.md "Downtime" has the figures behind the choice.
  {
    key: 'downtimeWindow',
    min: 2n,
    max: 100_000n,
    default: 10_000n,
    doc: 'Y: commits looked at for downtime',
  },
  {
    key: 'downtimeMissedMax',
    min: 1n,
    max: 100_000n,
    default: 5_000n,
    doc: 'X: missing more than X of the last Y commits jails',
  },
  { key: 'downtimeJailBlocks', min: 1n, max: 10_000_000n, default: 100n, doc: 'jail period for downtime' },
  {
    key: 'evidenceMaxAgeBlocks',
    min: 1n,
    max: 10_000_000n,
    default: 1000n,
    doc: 'oldest double-sign evidence accepted',
  },
  {
    key: 'govDepositMin',
    min: 0n,
    max: 10n ** 9n * OPEN,
    default: 10n * OPEN,
    doc: 'smallest proposal deposit',
  },
  { key: 'govVotingBlocks', min: 1n, max: 10_000_000n, default: 100n, doc: 'voting period in blocks' },
  { key: 'govQuorumBps', min: 1n, max: 10_000n, default: 3340n, doc: 'share of bonded stake that must vote' },
  {
    key: 'govThresholdBps',
    min: 1n,
    max: 10_000n,
    default: 5000n,
    doc: 'yes must exceed this share of yes + no',
  },
  {
    key: 'nearDuplicateBps',
    min: 1n,
    max: 10_000n,
    default: 8000n,
    doc: 'covered share at which a contribution is a near-duplicate',
  },
  {
    key: 'jobsPerBlockMax',
    min: 1n,
    max: BigInt(SETTLE_RESULTS_MAX),
    default: BigInt(SETTLE_RESULTS_MAX),
    doc: 'jobs one block may create',
  },
  {
    key: 'outputTokensMax',
    min: 1n,
    max: BigInt(TOKENS_MAX),
    default: 4096n,
    doc: 'largest inference output token count',
  },
  {
    key: 'providerBondMin',
    min: 0n,
    max: 10n ** 9n * OPEN,
    default: 10n * OPEN,
    doc: 'smallest provider bond that may post inference receipts',
  },
  {
    key: 'providerUnbondingBlocks',
    min: 2n,
    max: 10_000_000n,
    default: 200n,
    doc: 'blocks before an unbonded provider bond is paid out (it stays slashable until then)',
  },
  {
    key: 'challengeWindowBlocks',
    min: 1n,
    max: 1_000_000n,
    default: 50n,
    doc: 'blocks an unacknowledged receipt waits for a fraud proof before its payout is released',
  },
  {
    key: 'providerSlashBps',
    min: 0n,
    max: 10_000n,
    default: 5000n,
    doc: 'share of a provider bond (and of its unbonding part) burned per proven fraud',
  },
] as const satisfies readonly ParamSpec[];

export type ParamKey = (typeof PARAM_SPECS)[number]['key'];
export type Params = Record<ParamKey, bigint>;

const SPEC_BY_KEY = new Map<string, { spec: ParamSpec; index: number }>(
  PARAM_SPECS.map((s, index) => [s.key, { spec: s, index }]),
);

export function paramSpec(key: string): ParamSpec | undefined {
  return SPEC_BY_KEY.get(key)?.spec;
}

export function defaultParams(): Params {
  const p = {} as Params;
  for (const s of PARAM_SPECS) p[s.key] = s.default;
  return p;
}

export function paramsToList(p: Params): bigint[] {
  return PARAM_SPECS.map((s) => p[s.key]);
}

export function paramsFromList(values: readonly bigint[]): Params {
  const p = {} as Params;
  PARAM_SPECS.forEach((s, i) => {
    p[s.key] = values[i] ?? s.default;
  });
  return p;
}

const DECIMAL_RE = /^(0|[1-9][0-9]{0,77})$/;

/** Parses a parameter value from its decimal text, or returns an error code. */
export function parseParamValue(
  key: string,
  text: string,
):
  | { value: bigint }
  | { code: 'UNKNOWN_PARAM' | 'BAD_PARAM_VALUE' | 'PARAM_OUT_OF_BOUNDS'; message: string } {
  const spec = paramSpec(key);
  if (spec === undefined)
    return { code: 'UNKNOWN_PARAM', message: `no parameter named ${JSON.stringify(key)}` };
  if (!DECIMAL_RE.test(text)) {
    return { code: 'BAD_PARAM_VALUE', message: `${key}: ${JSON.stringify(text)} is not a decimal integer` };
  }
  const value = BigInt(text);
  if (value < spec.min || value > spec.max) {
    return { code: 'PARAM_OUT_OF_BOUNDS', message: `${key}: ${value} is outside [${spec.min}, ${spec.max}]` };
  }
  return { value };
}

/** Cross-parameter rules; returns a message naming the broken rule, or null. */
export function checkParamRules(p: Params): string | null {
  if (p.feeTreasuryBps + p.feeValidatorsBps + p.ownerShareMaxBps > 10_000n) {
    return 'feeTreasuryBps + feeValidatorsBps + ownerShareMaxBps must not exceed 10000';
  }
  if (p.downtimeMissedMax >= p.downtimeWindow) return 'downtimeMissedMax must be below downtimeWindow';
  if (p.providerUnbondingBlocks <= p.challengeWindowBlocks)
    return 'providerUnbondingBlocks must exceed challengeWindowBlocks (a bond must outlive the window)';
  return null;
}

/** Numbers for the parameters used as heights and counts (all bounded far below 2^53). */
export const num = (v: bigint): number => Number(v);
