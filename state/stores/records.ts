import { VALIDATORS_MAX } from '../../core/block.js';
import { CHAIN_ID_BYTES_MAX } from '../../core/chain.js';
import {
  amount,
  bool,
  bytesMax,
  bytesN,
  list,
  nullable,
  oneOf,
  type Schema,
  str,
  struct,
  uint,
} from '../../core/codec.js';
import {
  ATTRIBUTION_METHODS,
  CONTRIBUTION_BYTES_MAX,
  CURATION_POLICIES,
  ERROR_CODE_BYTES_MAX,
  evidenceSpanSchema,
  GOV_OPTIONS,
  INFERENCE_INPUT_BYTES_MAX,
  INFERENCE_OUTPUT_BYTES_MAX,
  MONIKER_BYTES_MAX,
  NAME_BYTES_MAX,
  RESULT_EVIDENCE_MAX,
  RESULT_SCORES_MAX,
  REVIEW_REASON_BYTES_MAX,
  scoreSchema,
  TX_BODY_SCHEMAS,
  type TxBodies,
  type TxType,
} from '../../core/tx.js';

/**
 * Schemas of every record the vm keeps in state. Records are fixed-order tuples in the canonical
 * codec (DESIGN §2), so the state root is a function of their values only.
 */

const hash32 = bytesN(32);
const address = bytesN(20);
const pubkey = bytesN(32);

/** The schema of a tx body field, so records store exactly what the tx carried. */
function field<K extends TxType, F extends keyof TxBodies[K] & string>(
  type: K,
  name: F,
): Schema<TxBodies[K][F]> {
  const f = TX_BODY_SCHEMAS[type].fields.find((x) => x[0] === name);
  if (f === undefined) throw new Error(`no field ${name} in ${type}`);
  return f[1] as Schema<TxBodies[K][F]>;
}

/** Largest number of validator candidates (bounds the end-block set computation). */
export const VALIDATOR_CANDIDATES_MAX = 1000;
/** Largest number of validators one address may delegate to (bounds the governance tally). */
export const DELEGATIONS_PER_DELEGATOR_MAX = 32;
/** Largest number of unbonding entries live per validator (slashing walks them). */
export const UNBONDINGS_PER_VALIDATOR_MAX = 10_000;
/** Largest number of unbonding entries maturing at one height. */
export const UNBONDINGS_PER_HEIGHT_MAX = 20_000;
/** Largest number of proposals whose voting period ends at one height. */
export const PROPOSALS_PER_HEIGHT_MAX = 16;
/** Largest number of distinct voters on one proposal (bounds the end-block tally). */
export const PROPOSAL_VOTERS_MAX = 5_000;
export const PARAMS_COUNT_MAX = 64;
export const PAYOUTS_MAX = RESULT_SCORES_MAX + 16;
/** Largest number of held receipts released at one height (the end of their challenge window). */
export const RELEASES_PER_HEIGHT_MAX = 4_096;
/** Largest number of provider unbondings maturing at one height. */
export const PROVIDER_UNBONDINGS_PER_HEIGHT_MAX = 1_000;

export const chainSchema = struct('chain', [
  ['chainId', str(CHAIN_ID_BYTES_MAX)],
  /** Height of the last executed block (0 after genesis). */
  ['height', uint()],
  ['timeMs', uint()],
  ['genesisTimeMs', uint()],
] as const);
export type ChainInfo = ReturnType<typeof chainSchema.fromWire>;

/** Parameter values in the fixed order of `vm/params.ts` PARAM_SPECS. */
export const paramsSchema = list(amount, PARAMS_COUNT_MAX);

/** Module balances and supply counters: the terms of the supply invariant. */
export const totalsSchema = struct('totals', [
  ['genesis', amount],
  ['issued', amount],
  ['burned', amount],
  ['bonded', amount],
  ['unbonding', amount],
  /** Inference escrows, contribution bonds and governance deposits. */
  ['escrow', amount],
  ['treasury', amount],
  /** Delegator rewards credited but not yet withdrawn. */
  ['rewards', amount],
] as const);
export type Totals = ReturnType<typeof totalsSchema.fromWire>;

export const countersSchema = struct('counters', [
  ['nextJob', uint()],
  ['nextProposal', uint()],
  ['nextUnbonding', uint()],
] as const);
export type Counters = ReturnType<typeof countersSchema.fromWire>;

export const accountSchema = struct('account', [
  ['nonce', uint()],
  ['balance', amount],
] as const);
export type Account = ReturnType<typeof accountSchema.fromWire>;

export const validatorSchema = struct('validator', [
  /** addressOf(consensusKey): the name votes and commits use. */
  ['address', address],
  ['operator', address],
  ['consensusKey', pubkey],
  ['commissionBps', uint(10_000)],
  ['moniker', str(MONIKER_BYTES_MAX)],
  /** Bonded tokens (self-stake and delegations, after slashes). */
  ['tokens', amount],
  /** Delegator shares outstanding. */
  ['shares', amount],
  /** Cumulative delegator reward per share, scaled by REWARD_PRECISION. */
  ['rewardPerShare', amount],
  ['jailed', bool],
  /** First height at which `validator.unjail` is allowed. */
  ['jailedUntil', uint()],
  /** Double-signed: jailed for good. */
  ['tombstoned', bool],
  ['createdHeight', uint()],
] as const);
export type Validator = ReturnType<typeof validatorSchema.fromWire>;

export const addressListSchema = list(address, VALIDATOR_CANDIDATES_MAX);
export const idListSchema = list(uint(), UNBONDINGS_PER_HEIGHT_MAX);

export const delegationSchema = struct('delegation', [
  ['shares', amount],
  /** shares × rewardPerShare / REWARD_PRECISION at the last settlement. */
  ['rewardDebt', amount],
] as const);
export type Delegation = ReturnType<typeof delegationSchema.fromWire>;

export const unbondingSchema = struct('unbonding', [
  ['id', uint()],
  ['delegator', address],
  ['validator', address],
  ['creationHeight', uint()],
  ['completionHeight', uint()],
  ['initialAmount', amount],
  ['balance', amount],
] as const);
export type Unbonding = ReturnType<typeof unbondingSchema.fromWire>;

/** Sliding window of missed commits, bit i = height ≡ i (mod windowSize). */
export const missedSchema = struct('missed', [
  ['windowSize', uint()],
  ['count', uint()],
  ['bits', bytesMax(16_384)],
] as const);
export type Missed = ReturnType<typeof missedSchema.fromWire>;

export const validatorSetEntrySchema = struct('validatorSetEntry', [
  ['address', address],
  ['publicKey', pubkey],
  ['power', uint()],
] as const);
export type ValidatorSetEntry = ReturnType<typeof validatorSetEntrySchema.fromWire>;
export const validatorSetSchema = list(validatorSetEntrySchema, VALIDATORS_MAX);

export const datanetSchema = struct('datanet', [
  ['id', hash32],
  ['owner', address],
  ['name', field('datanet.create', 'name')],
  ['description', field('datanet.create', 'description')],
  ['license', field('datanet.create', 'license')],
  ['tags', field('datanet.create', 'tags')],
  ['curation', oneOf(CURATION_POLICIES)],
  ['curators', field('datanet.create', 'curators')],
  ['bond', amount],
  ['rejectForfeitBps', uint(10_000)],
  ['contributionBytesMax', uint(CONTRIBUTION_BYTES_MAX)],
  ['labels', field('datanet.create', 'labels')],
  /** Number of accepted contributions; the corpus at version v is accepted seq 1..v. */
  ['version', uint()],
  /** Contributions ever submitted. */
  ['submitted', uint()],
  ['createdHeight', uint()],
] as const);
export type Datanet = ReturnType<typeof datanetSchema.fromWire>;

export const CONTRIBUTION_STATUSES = ['checking', 'pending', 'accepted', 'rejected'] as const;
export type ContributionStatus = (typeof CONTRIBUTION_STATUSES)[number];

export const contributionSchema = struct('contribution', [
  ['id', hash32],
  ['datanet', hash32],
  ['contributor', address],
  ['contentHash', hash32],
  ['label', field('datanet.contribute', 'label')],
  ['sizeBytes', uint(CONTRIBUTION_BYTES_MAX)],
  /** Bond escrowed while checking / pending. */
  ['bond', amount],
  ['status', oneOf(CONTRIBUTION_STATUSES)],
  /** Accepted sequence number in its datanet (= the datanet version it created), else 0. */
  ['seq', uint()],
  ['submittedHeight', uint()],
  ['decidedHeight', uint()],
  /** The near-duplicate job. */
  ['job', uint()],
  /** Near-duplicate finding for the reviewer: the original and the covered share. */
  ['duplicateOf', nullable(hash32)],
  ['coveredBps', uint()],
  /** '' or why it was flagged / rejected. */
  ['note', str(REVIEW_REASON_BYTES_MAX)],
] as const);
export type Contribution = ReturnType<typeof contributionSchema.fromWire>;

export const contentSchema = str(CONTRIBUTION_BYTES_MAX);

export const modelSchema = struct('model', [
  ['id', hash32],
  ['owner', address],
  ['name', str(NAME_BYTES_MAX)],
  ['latestVersion', uint()],
  ['createdHeight', uint()],
] as const);
export type Model = ReturnType<typeof modelSchema.fromWire>;

export const MODEL_STATUSES = ['active', 'training', 'failed'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const modelVersionSchema = struct('modelVersion', [
  ['model', hash32],
  ['version', uint()],
  ['datanets', field('model.register', 'datanets')],
  ['method', oneOf(ATTRIBUTION_METHODS)],
  ['params', field('model.register', 'params')],
  ['pricePerRequest', amount],
  ['pricePerOutputToken', amount],
  ['ownerShareBps', uint(10_000)],
  ['providers', field('model.register', 'providers')],
  ['artifact', field('model.register', 'artifact')],
  ['training', field('model.register', 'training')],
  ['status', oneOf(MODEL_STATUSES)],
  ['weightsHash', nullable(hash32)],
  /** The training job, or null. */
  ['job', nullable(uint())],
  ['createdHeight', uint()],
] as const);
export type ModelVersion = ReturnType<typeof modelVersionSchema.fromWire>;

/**
 * pending: the attribution job has not run; held: attributed, the fee waits in escrow for the end
 * of the challenge window; settled: paid out; refunded: the job failed, the requester got the fee
 * back; challenged: a fraud proof was accepted, the requester got the fee back, nothing was paid.
 */
export const RECEIPT_STATUSES = ['pending', 'settled', 'refunded', 'held', 'challenged'] as const;

export const receiptSchema = struct('receipt', [
  ['id', hash32],
  ['requester', address],
  ['requestNonce', uint()],
  ['model', hash32],
  ['modelVersion', uint()],
  ['promptHash', hash32],
  ['maxFee', amount],
  ['provider', address],
  ['input', str(INFERENCE_INPUT_BYTES_MAX)],
  ['output', str(INFERENCE_OUTPUT_BYTES_MAX)],
  ['retrieved', field('inference.receipt', 'retrieved')],
  ['inputTokens', uint()],
  ['outputTokens', uint()],
  /** Escrowed from the requester (= maxFee) until settlement. */
  ['escrow', amount],
  ['job', uint()],
  ['height', uint()],
  ['status', oneOf(RECEIPT_STATUSES)],
  /** sha256 of the encoded signed request (what deliveries and fraud proofs name). */
  ['requestHash', hash32],
  /** The requester acknowledged the delivered output (the receipt carried its ack). */
  ['acknowledged', bool],
  /**
   * End of the challenge window: the held payout is released at the end of this block; fraud
   * proofs are accepted up to and including it. 0 = no window (acknowledged, or an output
   * validators re-derive): settled when the job result arrives.
   */
  ['releaseHeight', uint()],
] as const);
export type Receipt = ReturnType<typeof receiptSchema.fromWire>;

export const payoutSchema = struct('payout', [
  ['address', address],
  ['amount', amount],
] as const);
export type Payout = ReturnType<typeof payoutSchema.fromWire>;

export const attributionRecordSchema = struct('attributionRecord', [
  ['receipt', hash32],
  ['job', uint()],
  ['ok', bool],
  ['error', str(ERROR_CODE_BYTES_MAX)],
  ['scores', list(scoreSchema, RESULT_SCORES_MAX)],
  ['evidence', list(evidenceSpanSchema, RESULT_EVIDENCE_MAX)],
  /** Output tokens measured by the job. */
  ['tokens', uint()],
  ['fee', amount],
  ['refund', amount],
  ['payouts', list(payoutSchema, PAYOUTS_MAX)],
  ['height', uint()],
] as const);
export type AttributionRecord = ReturnType<typeof attributionRecordSchema.fromWire>;

/** A registered inference provider and its bond (escrowed, slashable until paid out). */
export const providerSchema = struct('provider', [
  ['address', address],
  /** The key that signs its receipts and deliveries (fraud proofs are checked against it). */
  ['publicKey', pubkey],
  ['bond', amount],
  /** Unbonding, still slashable; paid out at the end of `unbondingHeight`. */
  ['unbonding', amount],
  ['unbondingHeight', uint()],
  /** Burned by proven frauds, in total. */
  ['slashed', amount],
  ['frauds', uint()],
  ['createdHeight', uint()],
] as const);
export type Provider = ReturnType<typeof providerSchema.fromWire>;

export const receiptIdListSchema = list(hash32, RELEASES_PER_HEIGHT_MAX);

export const JOB_KINDS = ['attribution', 'training', 'nearDuplicate'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** A deferred job (DESIGN §4) with its inputs pinned. */
export const jobSchema = struct('job', [
  ['id', uint()],
  ['kind', oneOf(JOB_KINDS)],
  /** Height of the block that created it; it is due at height + 1. */
  ['height', uint()],
  /** attribution: receipt id; training: model id; nearDuplicate: contribution id. */
  ['subject', hash32],
  /** attribution / training: model version; nearDuplicate: datanet version checked against. */
  ['version', uint()],
  /** nearDuplicate: covered share (bps) at or above which it is a near-duplicate; else 0. */
  ['thresholdBps', uint(10_000)],
] as const);
export type Job = ReturnType<typeof jobSchema.fromWire>;

export const jobsAtSchema = struct('jobsAt', [
  ['first', uint()],
  ['count', uint()],
] as const);
export type JobsAt = ReturnType<typeof jobsAtSchema.fromWire>;

export const PROPOSAL_STATUSES = ['voting', 'passed', 'rejected', 'failed'] as const;

export const proposalSchema = struct('proposal', [
  ['id', uint()],
  ['proposer', address],
  ['title', field('gov.propose', 'title')],
  ['description', field('gov.propose', 'description')],
  ['changes', field('gov.propose', 'changes')],
  ['deposit', amount],
  ['submitHeight', uint()],
  ['votingEndHeight', uint()],
  ['status', oneOf(PROPOSAL_STATUSES)],
  ['voters', uint()],
  ['yes', amount],
  ['no', amount],
  ['abstain', amount],
] as const);
export type Proposal = ReturnType<typeof proposalSchema.fromWire>;

export const voteOptionSchema = oneOf(GOV_OPTIONS);
