import { OlError } from '../core/errors.js';

/**
 * Typed vm errors. Codes are stable: clients, the node and tests match on them.
 *
 * - `TxError`: a transaction cannot apply. Before admission (no fee can be charged) the tx is a
 *   no-op with `charged = false`; after admission the body's writes are discarded, the fee is
 *   charged and the nonce is used.
 * - `BlockError`: the block itself is invalid (wrong height, missing / extra / malformed settle,
 *   bad evidence, …). The node rejects the proposal and discards the overlay.
 * - `GenesisError`: the genesis file is invalid; `details.path` names the field.
 */
export class TxError extends OlError {}
export class BlockError extends OlError {}
export class GenesisError extends OlError {}

/** Admission errors: the tx is not charged and changes nothing (the proposer should drop it). */
export const ADMISSION_ERRORS = {
  WRONG_CHAIN: 'the tx names another chain id',
  BAD_VERSION: 'unsupported tx version',
  BAD_SIGNATURE: 'the envelope signature does not verify (only when verifyTxSignatures is set)',
  BAD_NONCE: 'nonce is not the sender account nonce',
  GAS_PRICE_TOO_LOW: 'gasPrice below the minGasPrice parameter',
  GAS_LIMIT_TOO_LOW: 'gasLimit below the intrinsic gas of this tx',
  INSUFFICIENT_FEE_FUNDS: 'balance below gasLimit × gasPrice',
} as const;

/** Execution errors: the fee is charged, the nonce used, the body's writes discarded. */
export const EXECUTION_ERRORS = {
  OUT_OF_GAS: 'gas used would exceed gasLimit',
  INSUFFICIENT_FUNDS: 'balance below the amount the tx moves (after the fee)',
  ZERO_AMOUNT: 'amount must be positive',
  BAD_CONSENSUS_KEY: 'consensus key is not a valid Ed25519 public key',
  VALIDATOR_EXISTS: 'a validator with this consensus key exists',
  OPERATOR_HAS_VALIDATOR: 'this operator already runs a validator',
  TOO_MANY_VALIDATORS: 'the validator candidate list is full',
  SELF_STAKE_TOO_LOW: 'self-stake below the minSelfStake parameter',
  VALIDATOR_NOT_FOUND: 'no such validator',
  VALIDATOR_WIPED: 'the validator has shares but no tokens (slashed to zero)',
  AMOUNT_TOO_SMALL: 'the amount buys no shares',
  TOO_MANY_DELEGATIONS: 'the delegator has too many delegations',
  NO_DELEGATION: 'no delegation from the sender to this validator',
  INSUFFICIENT_DELEGATION: 'undelegation exceeds the delegation',
  UNBONDING_QUEUE_FULL: 'too many unbonding entries for this validator or height',
  NOT_OPERATOR: 'the sender operates no validator',
  NOT_JAILED: 'the validator is not jailed',
  JAIL_NOT_EXPIRED: 'the jail period has not ended',
  TOMBSTONED: 'the validator double-signed and cannot be unjailed',
  BAD_CURATORS: 'curators must be sorted, unique, and non-empty exactly for the curators policy',
  BAD_LABELS: 'labels must be sorted and unique',
  BAD_TAGS: 'tags must be sorted and unique',
  DATANET_EXISTS: 'a datanet with this id exists',
  DATANET_NOT_FOUND: 'no such datanet',
  EMPTY_CONTRIBUTION: 'a contribution needs content',
  CONTRIBUTION_TOO_LARGE: "content exceeds the datanet's contributionBytesMax",
  BAD_LABEL: "label is not one of the datanet's labels (or a label on a plain datanet)",
  DUPLICATE_CONTRIBUTION: 'the same content was already contributed to this datanet',
  BLOCK_JOBS_FULL: 'this block already creates jobsPerBlockMax jobs',
  CONTRIBUTION_NOT_FOUND: 'no such contribution',
  CONTRIBUTION_NOT_PENDING: 'the contribution is not pending review',
  NOT_CURATOR: 'only the owner (owner policy) or a curator (curators policy) may review',
  OPEN_CURATION: 'contributions to an open datanet are decided by the near-duplicate check',
  MODEL_EXISTS: 'a model with this id exists',
  MODEL_NOT_FOUND: 'no such model',
  NOT_MODEL_OWNER: 'only the model owner may update it',
  BAD_PINNED_DATANET:
    'a pinned datanet does not exist, is listed twice or out of order, or the version is ahead',
  NO_DATANETS: 'a model needs at least one pinned datanet',
  BAD_PARAMS: 'params / training entries must be sorted by key, unique',
  BAD_TRAINING: 'training spec and method must match: influence ⇔ training spec, and no artifact with it',
  NO_PROVIDERS: 'a model needs at least one authorised provider',
  BAD_PROVIDERS: 'providers must be sorted and unique',
  OWNER_SHARE_TOO_HIGH: 'ownerShareBps above the ownerShareMaxBps parameter',
  REQUEST_WRONG_CHAIN: 'the signed request names another chain',
  BAD_REQUEST_SIGNATURE: "the requester's signature does not verify",
  REQUEST_EXPIRED: 'the request expiry height has passed',
  REQUEST_NONCE_USED: 'this request nonce was already used by the requester',
  MODEL_VERSION_NOT_ACTIVE: 'the requested model version does not exist or is not active',
  PROVIDER_NOT_AUTHORIZED: 'the sender is not an authorised provider of this model version',
  TOO_MANY_TOKENS: 'outputTokens above the outputTokensMax parameter',
  FEE_ABOVE_MAX: 'price for the claimed tokens exceeds the request maxFee',
  REQUESTER_INSUFFICIENT_FUNDS: 'the requester cannot escrow maxFee',
  PROVIDER_NOT_BONDED: 'the sender has no provider bond of at least providerBondMin',
  BAD_DELIVERY_SIGNATURE: "the provider's delivery signature does not verify for this request and output",
  BAD_ACK: "the requester's acknowledgment does not verify for this request and output",
  RELEASE_QUEUE_FULL: 'too many receipts are released at the end of the challenge window at that height',
  NOT_PROVIDER: 'the sender has never bonded as a provider',
  INSUFFICIENT_BOND: 'unbonding more than the provider bond',
  RECEIPT_NOT_FOUND: 'no such receipt',
  RECEIPT_NOT_CHALLENGEABLE:
    'the receipt was acknowledged by its requester or its output is re-derived by validators',
  RECEIPT_ALREADY_CHALLENGED:
    'a fraud proof for this receipt was already accepted (a provider is slashed once per receipt)',
  CHALLENGE_WINDOW_CLOSED: "the receipt's challenge window has ended and its payout was released",
  CHALLENGE_WRONG_REQUEST: "the delivery names another request than the receipt's",
  CHALLENGE_MATCHES_RECEIPT: 'the delivery has the same output hash and token count as the receipt: no fraud',
  DEPOSIT_TOO_LOW: 'proposal deposit below govDepositMin',
  NO_CHANGES: 'a proposal needs at least one parameter change',
  UNKNOWN_PARAM: 'no such parameter',
  DUPLICATE_PARAM: 'a parameter is changed twice',
  BAD_PARAM_VALUE: 'a parameter value is not a decimal integer',
  PARAM_OUT_OF_BOUNDS: 'a parameter value is outside its bounds',
  PARAMS_INCONSISTENT: 'the parameters together break a cross-parameter rule',
  PROPOSAL_QUEUE_FULL: 'too many proposals end at that height',
  PROPOSAL_NOT_FOUND: 'no such proposal',
  VOTING_CLOSED: 'the voting period has ended',
  NO_STAKE: 'only addresses with bonded stake can vote',
  TOO_MANY_VOTERS: 'the proposal has PROPOSAL_VOTERS_MAX voters (re-voting is still allowed)',
  SETTLE_NOT_ALLOWED: 'attribution.settle is built by the proposer, first in a block',
} as const;

export type TxErrorCode = keyof typeof ADMISSION_ERRORS | keyof typeof EXECUTION_ERRORS;

export const BLOCK_ERRORS = {
  WRONG_CHAIN: 'the block names another chain id',
  WRONG_HEIGHT: 'height is not the last height + 1',
  TIME_NOT_INCREASING: 'block time does not exceed the parent time',
  MISSING_SETTLE: 'jobs are due but the first tx is not attribution.settle',
  UNEXPECTED_SETTLE: 'attribution.settle with no jobs due, or not first',
  BAD_SETTLE:
    'the settle tx envelope is wrong (sender, gasPrice, nonce) or its results do not match the due jobs',
  BAD_JOB_RESULT: 'a job result breaks the rules of its kind (unknown contribution, duplicate score, …)',
  BAD_EVIDENCE:
    'evidence is malformed, unsigned, not conflicting, for an unknown validator or a future height',
  EVIDENCE_TOO_OLD:
    'the offence is older than evidenceMaxAgeBlocks or unbondingBlocks (whichever is smaller)',
  EVIDENCE_ALREADY_PUNISHED:
    'the offender is already tombstoned (a second piece of evidence slashes nothing)',
  BLOCK_GAS_EXCEEDED: 'the sum of tx gas limits exceeds blockGasLimit',
  NOT_INITIALISED: 'the state has no genesis',
} as const;

export function txError(code: TxErrorCode, message?: string, details: Record<string, unknown> = {}): TxError {
  const text =
    message ??
    (EXECUTION_ERRORS as Record<string, string>)[code] ??
    (ADMISSION_ERRORS as Record<string, string>)[code];
  return new TxError(code, text, details);
}

export function blockError(code: keyof typeof BLOCK_ERRORS, message: string): BlockError {
  return new BlockError(code, message);
}
