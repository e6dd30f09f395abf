import { addressOf } from './address.js';
import { CHAIN_ID_BYTES_MAX, DOMAIN } from './chain.js';
import {
  amount,
  bool,
  bytesN,
  decode,
  encode,
  encodeWire,
  int,
  list,
  nullable,
  oneOf,
  type Schema,
  type StructSchema,
  str,
  struct,
  uint,
  type Wire,
  withPath,
} from './codec.js';
import { CodecError } from './errors.js';
import { sha256 } from './hash.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, verifySignature } from './keys.js';

/**
 * Transactions (DESIGN §3). The envelope is the tuple
 * `[version, chainId, type, sender, nonce, gasLimit, gasPrice, body, signature]`; the body is a
 * fixed-order tuple whose shape depends on `type`. The signature covers
 * `[DOMAIN.tx, chainId, version, type, sender, nonce, gasLimit, gasPrice, body]`.
 * The tx hash is sha256 of the whole signed encoding.
 */

export const TX_VERSION = 1;
/** Largest user transaction (a 64 KiB contribution plus envelope fits comfortably). */
export const TX_BYTES_MAX = 128 * 1024;
/** The proposer's `attribution.settle` may carry many results; it is bounded by the block instead. */
export const SETTLE_TX_BYTES_MAX = 3 * 1024 * 1024;
export const CONTRIBUTION_BYTES_MAX = 64 * 1024;
export const INFERENCE_INPUT_BYTES_MAX = 16 * 1024;
export const INFERENCE_OUTPUT_BYTES_MAX = 16 * 1024;
export const NAME_BYTES_MAX = 64;
export const DESCRIPTION_BYTES_MAX = 1024;
export const LICENSE_BYTES_MAX = 64;
export const TAG_BYTES_MAX = 32;
export const TAGS_MAX = 8;
export const LABEL_BYTES_MAX = 64;
export const LABELS_MAX = 64;
export const CURATORS_MAX = 16;
export const PROVIDERS_MAX = 16;
export const MODEL_DATANETS_MAX = 8;
export const PARAM_KEY_BYTES_MAX = 32;
export const PARAM_VALUE_BYTES_MAX = 128;
export const PARAMS_MAX = 16;
export const RETRIEVED_MAX = 64;
export const RETRIEVAL_WEIGHT_MAX = 1_000_000;
export const REVIEW_REASON_BYTES_MAX = 256;
export const GOV_CHANGES_MAX = 8;
export const GOV_TITLE_BYTES_MAX = 128;
export const GOV_DESCRIPTION_BYTES_MAX = 4096;
export const SETTLE_RESULTS_MAX = 1024;
export const RESULT_SCORES_MAX = 4096;
export const RESULT_EVIDENCE_MAX = 4096;
export const ERROR_CODE_BYTES_MAX = 64;
export const MONIKER_BYTES_MAX = 64;
export const BASE_MODEL_BYTES_MAX = 128;
export const TOKENS_MAX = 1_000_000;
export const GAS_LIMIT_MAX = 1_000_000_000;

const hash32 = bytesN(32);
const pubkey = bytesN(PUBLIC_KEY_BYTES);
const signature = bytesN(SIGNATURE_BYTES);
const address = bytesN(20);

/** Ordered (key, value) parameters; the vm and attribution check keys, values and order. */
const param = struct('param', [
  ['key', str(PARAM_KEY_BYTES_MAX)],
  ['value', str(PARAM_VALUE_BYTES_MAX)],
] as const);
export type Param = ReturnType<typeof param.fromWire>;
const params = list(param, PARAMS_MAX);

// ---- bodies --------------------------------------------------------------------------------

const transfer = struct('transfer', [
  ['to', address],
  ['amount', amount],
] as const);

const validatorCreate = struct('validator.create', [
  ['consensusKey', pubkey],
  ['commissionBps', uint(10_000)],
  ['selfStake', amount],
  ['moniker', str(MONIKER_BYTES_MAX)],
] as const);

const stakeDelegate = struct('stake.delegate', [
  ['validator', address],
  ['amount', amount],
] as const);

const stakeUndelegate = struct('stake.undelegate', [
  ['validator', address],
  ['amount', amount],
] as const);

const stakeWithdrawRewards = struct('stake.withdrawRewards', [['validator', address]] as const);

const validatorUnjail = struct('validator.unjail', [] as const);

export const CURATION_POLICIES = ['open', 'owner', 'curators'] as const;
export type CurationPolicy = (typeof CURATION_POLICIES)[number];

const datanetCreate = struct('datanet.create', [
  ['name', str(NAME_BYTES_MAX)],
  ['description', str(DESCRIPTION_BYTES_MAX)],
  ['license', str(LICENSE_BYTES_MAX)],
  ['tags', list(str(TAG_BYTES_MAX), TAGS_MAX)],
  ['curation', oneOf(CURATION_POLICIES)],
  ['curators', list(address, CURATORS_MAX)],
  ['bond', amount],
  /** Share of the bond a rejected contribution forfeits, in basis points. */
  ['rejectForfeitBps', uint(10_000)],
  ['contributionBytesMax', uint(CONTRIBUTION_BYTES_MAX)],
  /** Allowed labels for a classification datanet; empty for plain text. */
  ['labels', list(str(LABEL_BYTES_MAX), LABELS_MAX)],
] as const);

const datanetContribute = struct('datanet.contribute', [
  ['datanet', hash32],
  ['content', str(CONTRIBUTION_BYTES_MAX)],
  ['label', str(LABEL_BYTES_MAX)],
] as const);

const datanetReview = struct('datanet.review', [
  ['contribution', hash32],
  ['accept', bool],
  ['reason', str(REVIEW_REASON_BYTES_MAX)],
] as const);

export const ATTRIBUTION_METHODS = ['span', 'retrieval', 'influence'] as const;
export type AttributionMethod = (typeof ATTRIBUTION_METHODS)[number];

const pinnedDatanet = struct('pinnedDatanet', [
  ['datanet', hash32],
  ['version', uint()],
] as const);

const artifact = struct('artifact', [
  ['baseModel', str(BASE_MODEL_BYTES_MAX)],
  ['adapterHash', hash32],
] as const);

const modelFields = [
  ['datanets', list(pinnedDatanet, MODEL_DATANETS_MAX)],
  ['method', oneOf(ATTRIBUTION_METHODS)],
  /** Attribution parameters (tokenizer, minSpan, …), sorted by key. */
  ['params', params],
  ['pricePerRequest', amount],
  ['pricePerOutputToken', amount],
  ['ownerShareBps', uint(10_000)],
  ['providers', list(address, PROVIDERS_MAX)],
  /** A model trained elsewhere: base model and adapter hash. */
  ['artifact', nullable(artifact)],
  /** Or a small model the chain trains itself (creates a training job), sorted by key. */
  ['training', nullable(params)],
] as const;

const modelRegister = struct('model.register', [['name', str(NAME_BYTES_MAX)], ...modelFields] as const);
const modelUpdate = struct('model.update', [['model', hash32], ...modelFields] as const);

/** The requester's signed request, carried inside the provider's receipt. */
export const inferenceRequestSchema = struct('inferenceRequest', [
  ['chainId', str(CHAIN_ID_BYTES_MAX)],
  ['requester', pubkey],
  ['model', hash32],
  ['modelVersion', uint()],
  ['promptHash', hash32],
  ['maxFee', amount],
  ['nonce', uint()],
  ['expiryHeight', uint()],
  ['signature', signature],
] as const);
export type InferenceRequest = ReturnType<typeof inferenceRequestSchema.fromWire>;

const retrieved = struct('retrieved', [
  ['contribution', hash32],
  ['weight', uint(RETRIEVAL_WEIGHT_MAX)],
] as const);

const inferenceReceipt = struct('inference.receipt', [
  ['request', inferenceRequestSchema],
  /** The prompt, when the model's output must be re-derived (influence models); else empty. */
  ['input', str(INFERENCE_INPUT_BYTES_MAX)],
  ['output', str(INFERENCE_OUTPUT_BYTES_MAX)],
  ['retrieved', list(retrieved, RETRIEVED_MAX)],
  ['inputTokens', uint(TOKENS_MAX)],
  ['outputTokens', uint(TOKENS_MAX)],
  /**
   * The provider's signature over its delivery (core/delivery.ts): the triple
   * (sha256 of the encoded request, sha256 of `output`, `outputTokens`) under `DOMAIN.delivery`.
   * The vm recomputes the triple from this body and checks the signature against the sender key.
   */
  ['deliverySignature', signature],
  /**
   * The requester's acknowledgment of the same triple (under `DOMAIN.ack`, by `request.requester`),
   * or null: an acknowledged receipt settles at once, an unacknowledged one after the challenge
   * window (models whose output validators re-derive need none).
   */
  ['ack', nullable(signature)],
] as const);

/** A delivery as it travels on its own and inside a fraud proof (core/delivery.ts `Delivery`). */
export const deliverySchema = struct('delivery', [
  ['requestHash', hash32],
  ['outputHash', hash32],
  ['outputTokens', uint(TOKENS_MAX)],
] as const);

/**
 * A fraud proof: a delivery the receipt's provider signed for the receipt's request whose output
 * (hash or token count) differs from what the receipt claims. Anyone may send it within the
 * challenge window; the vm refunds the requester, cancels the payout and slashes the provider.
 */
const inferenceChallenge = struct('inference.challenge', [
  ['receipt', hash32],
  ['delivery', deliverySchema],
  /** The provider's signature over `delivery` under `DOMAIN.delivery`. */
  ['signature', signature],
] as const);

/** Register as an inference provider, or add to the bond (escrowed; slashed on proven fraud). */
const providerBond = struct('provider.bond', [['amount', amount]] as const);

/** Start unbonding part of the provider bond; it stays slashable until it is paid out. */
const providerUnbond = struct('provider.unbond', [['amount', amount]] as const);

export const scoreSchema = struct('score', [
  ['contribution', hash32],
  ['score', int()],
] as const);
export type Score = ReturnType<typeof scoreSchema.fromWire>;

export const evidenceSpanSchema = struct('evidenceSpan', [
  ['outputStart', uint()],
  ['outputEnd', uint()],
  ['contribution', hash32],
  ['offset', uint()],
] as const);
export type EvidenceSpan = ReturnType<typeof evidenceSpanSchema.fromWire>;

/**
 * The result of one deferred job (DESIGN §4). One flat shape for every job kind; fields a kind does
 * not use are empty. `tokens` is the output token count measured by the job (receipts), or the
 * covered share in basis points (near-duplicate checks).
 */
export const jobResultSchema = struct('jobResult', [
  ['job', uint()],
  ['ok', bool],
  ['error', str(ERROR_CODE_BYTES_MAX)],
  ['scores', list(scoreSchema, RESULT_SCORES_MAX)],
  ['evidence', list(evidenceSpanSchema, RESULT_EVIDENCE_MAX)],
  ['tokens', uint()],
  ['weightsHash', nullable(hash32)],
  ['duplicateOf', nullable(hash32)],
] as const);
export type JobResult = ReturnType<typeof jobResultSchema.fromWire>;

const attributionSettle = struct('attribution.settle', [
  ['results', list(jobResultSchema, SETTLE_RESULTS_MAX)],
] as const);

export const GOV_OPTIONS = ['yes', 'no', 'abstain'] as const;

const govPropose = struct('gov.propose', [
  ['title', str(GOV_TITLE_BYTES_MAX)],
  ['description', str(GOV_DESCRIPTION_BYTES_MAX)],
  ['changes', list(param, GOV_CHANGES_MAX)],
  ['deposit', amount],
] as const);

const govVote = struct('gov.vote', [
  ['proposal', uint()],
  ['option', oneOf(GOV_OPTIONS)],
] as const);

export const TX_BODY_SCHEMAS = {
  transfer,
  'validator.create': validatorCreate,
  'stake.delegate': stakeDelegate,
  'stake.undelegate': stakeUndelegate,
  'stake.withdrawRewards': stakeWithdrawRewards,
  'validator.unjail': validatorUnjail,
  'datanet.create': datanetCreate,
  'datanet.contribute': datanetContribute,
  'datanet.review': datanetReview,
  'model.register': modelRegister,
  'model.update': modelUpdate,
  'inference.receipt': inferenceReceipt,
  'attribution.settle': attributionSettle,
  'gov.propose': govPropose,
  'gov.vote': govVote,
  'provider.bond': providerBond,
  'provider.unbond': providerUnbond,
  'inference.challenge': inferenceChallenge,
} as const;

export type TxType = keyof typeof TX_BODY_SCHEMAS;
export const TX_TYPES = Object.keys(TX_BODY_SCHEMAS) as TxType[];
export type TxBodies = { [K in TxType]: ReturnType<(typeof TX_BODY_SCHEMAS)[K]['fromWire']> };
export type TxBody<K extends TxType> = TxBodies[K];

export interface UnsignedTxOf<K extends TxType> {
  version: number;
  chainId: string;
  type: K;
  /** Sender's Ed25519 public key; the sender's address is derived from it. */
  sender: Uint8Array;
  nonce: number;
  gasLimit: number;
  gasPrice: bigint;
  body: TxBodies[K];
}
export interface TxOf<K extends TxType> extends UnsignedTxOf<K> {
  signature: Uint8Array;
}
export type UnsignedTx = { [K in TxType]: UnsignedTxOf<K> }[TxType];
export type Tx = { [K in TxType]: TxOf<K> }[TxType];

const txType = oneOf(TX_TYPES);
const chainIdField = str(CHAIN_ID_BYTES_MAX);
const versionField = uint(255);
const nonceField = uint();
const gasLimitField = uint(GAS_LIMIT_MAX);

/** The envelope's fields before the signature, each checked as `decodeTx` checks it. */
const envelopeFields = struct('tx', [
  ['version', versionField],
  ['chainId', chainIdField],
  ['type', txType],
  ['sender', pubkey],
  ['nonce', nonceField],
  ['gasLimit', gasLimitField],
  ['gasPrice', amount],
] as const);

function envelopeHead(tx: UnsignedTx): Wire[] {
  const head = envelopeFields.toWire(tx) as Wire[];
  let body: Wire;
  try {
    body = (TX_BODY_SCHEMAS[tx.type] as Schema<unknown>).toWire(tx.body);
  } catch (e) {
    throw withPath(e, 'body');
  }
  head.push(body);
  return head;
}

/** The signed transaction: the envelope with the body schema chosen by `type`. */
export const txSchema: Schema<Tx> = {
  kind: 'tx',
  toWire(tx) {
    const head = envelopeHead(tx);
    try {
      head.push(signature.toWire(tx.signature));
    } catch (e) {
      throw withPath(e, 'signature');
    }
    return head;
  },
  fromWire(w, path) {
    if (!Array.isArray(w) || w.length !== 9) {
      throw new CodecError('BAD_FIELD', `${path}: expected a transaction tuple of 9`, { path });
    }
    const type = txType.fromWire(w[2], `${path}.type`);
    return {
      version: versionField.fromWire(w[0], `${path}.version`),
      chainId: chainIdField.fromWire(w[1], `${path}.chainId`),
      type,
      sender: pubkey.fromWire(w[3], `${path}.sender`),
      nonce: nonceField.fromWire(w[4], `${path}.nonce`),
      gasLimit: gasLimitField.fromWire(w[5], `${path}.gasLimit`),
      gasPrice: amount.fromWire(w[6], `${path}.gasPrice`),
      body: (TX_BODY_SCHEMAS[type] as Schema<unknown>).fromWire(w[7], `${path}.body`),
      signature: signature.fromWire(w[8], `${path}.signature`),
    } as Tx;
  },
};

export function txSigningBytes(tx: UnsignedTx): Uint8Array {
  const [version, chainId, ...rest] = envelopeHead(tx);
  return encodeWire([DOMAIN.tx, chainId, version, ...rest]);
}

/**
 * `TxOf<K>` for one type; for a union of types (signing an `UnsignedTx` whose type is not known
 * statically) the union of the signed forms, i.e. `Tx`, so no cast is needed either way.
 */
export type SignedTx<K extends TxType> = K extends TxType ? TxOf<K> : never;

export function signTx<K extends TxType>(tx: UnsignedTxOf<K>, secretKey: Uint8Array): SignedTx<K> {
  return { ...tx, signature: sign(txSigningBytes(tx as UnsignedTx), secretKey) } as SignedTx<K>;
}

export function verifyTxSignature(tx: Tx): boolean {
  return verifySignature(tx.sender, txSigningBytes(tx), tx.signature);
}

export function encodeTx(tx: Tx): Uint8Array {
  return encode(txSchema, tx);
}

/** Strict decode of a signed transaction. `sizeMax` is raised only for the proposer's settle tx. */
export function decodeTx(bytes: Uint8Array, sizeMax = TX_BYTES_MAX): Tx {
  return decode(txSchema, bytes, sizeMax, 'tx');
}

/** sha256 of the signed encoding. */
export function txHash(signedBytes: Uint8Array): Uint8Array {
  return sha256(signedBytes);
}

/** The sender's address; only the public key is needed, so any `{ sender }` will do. */
export function txSender(tx: Pick<UnsignedTx, 'sender'>): Uint8Array {
  return addressOf(tx.sender);
}

export function bodySchema<K extends TxType>(type: K): StructSchema<TxBodies[K]> {
  return TX_BODY_SCHEMAS[type] as unknown as StructSchema<TxBodies[K]>;
}

// ---- the requester's signed inference request ----------------------------------------------

export type UnsignedInferenceRequest = Omit<InferenceRequest, 'signature'>;

/** The request's fields without the signature, in wire order. */
const requestSigningFields = struct(
  'inferenceRequest',
  inferenceRequestSchema.fields.filter(([key]) => key !== 'signature'),
);

export function requestSigningBytes(r: UnsignedInferenceRequest): Uint8Array {
  return encodeWire([DOMAIN.request, ...(requestSigningFields.toWire(r) as Wire[])]);
}

export function signRequest(r: UnsignedInferenceRequest, secretKey: Uint8Array): InferenceRequest {
  return { ...r, signature: sign(requestSigningBytes(r), secretKey) };
}

export function verifyRequestSignature(r: InferenceRequest): boolean {
  return verifySignature(r.requester, requestSigningBytes(r), r.signature);
}

// ---- standalone encodings of the parts that travel on their own ------------------------------

/** A signed request is ~300 bytes; it travels from requester to provider before any tx exists. */
export const INFERENCE_REQUEST_BYTES_MAX = 512;

export function encodeInferenceRequest(r: InferenceRequest): Uint8Array {
  return encode(inferenceRequestSchema, r);
}

/** Strict decode of a requester's signed request (as a provider receives it). */
export function decodeInferenceRequest(bytes: Uint8Array): InferenceRequest {
  return decode(inferenceRequestSchema, bytes, INFERENCE_REQUEST_BYTES_MAX, 'inferenceRequest');
}

/** One job result (as a worker returns it); bounded by the settle tx that will carry it. */
export function encodeJobResult(r: JobResult): Uint8Array {
  return encode(jobResultSchema, r);
}

export function decodeJobResult(bytes: Uint8Array): JobResult {
  return decode(jobResultSchema, bytes, SETTLE_TX_BYTES_MAX, 'jobResult');
}
