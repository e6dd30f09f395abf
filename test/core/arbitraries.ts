import fc from 'fast-check';
import { ADDRESS_BYTES } from '../../core/address.js';
import { AMOUNT_MAX } from '../../core/amount.js';
import {
  type Block,
  type Commit,
  EVIDENCE_PER_BLOCK_MAX,
  type Evidence,
  type Header,
  type Proposal,
  ROUND_MAX,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  type Vote,
  type VoteKind,
} from '../../core/block.js';
import { CHAIN_ID_BYTES_MAX } from '../../core/chain.js';
import type { Delivery } from '../../core/delivery.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../../core/keys.js';
import {
  ATTRIBUTION_METHODS,
  BASE_MODEL_BYTES_MAX,
  CONTRIBUTION_BYTES_MAX,
  CURATION_POLICIES,
  CURATORS_MAX,
  DESCRIPTION_BYTES_MAX,
  ERROR_CODE_BYTES_MAX,
  GAS_LIMIT_MAX,
  GOV_CHANGES_MAX,
  GOV_DESCRIPTION_BYTES_MAX,
  GOV_OPTIONS,
  GOV_TITLE_BYTES_MAX,
  INFERENCE_INPUT_BYTES_MAX,
  INFERENCE_OUTPUT_BYTES_MAX,
  type InferenceRequest,
  type JobResult,
  LABEL_BYTES_MAX,
  LABELS_MAX,
  LICENSE_BYTES_MAX,
  MODEL_DATANETS_MAX,
  MONIKER_BYTES_MAX,
  NAME_BYTES_MAX,
  PARAM_KEY_BYTES_MAX,
  PARAM_VALUE_BYTES_MAX,
  PARAMS_MAX,
  type Param,
  PROVIDERS_MAX,
  RETRIEVAL_WEIGHT_MAX,
  RETRIEVED_MAX,
  REVIEW_REASON_BYTES_MAX,
  TAG_BYTES_MAX,
  TAGS_MAX,
  TOKENS_MAX,
  TX_TYPES,
  type Tx,
  type TxBodies,
  type TxType,
  type UnsignedTx,
} from '../../core/tx.js';

/**
 * fast-check arbitraries for every core type, shared by the suites that need realistic values
 * (state, vm, consensus and rpc tests may import them). Every value generated here is valid, so
 * it must encode and round-trip; sizes are capped well below the protocol limits to keep runs
 * fast, except where a test asks for the limit explicitly.
 */

/** Lists in generated values stay short: the limits themselves are tested separately. */
const LIST_LENGTH_CAP = 4;
/** Long strings (contributions, outputs) are capped to keep properties fast. */
const STRING_CHARS_CAP = 200;

export const bytes = (length: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: length, maxLength: length });
export const bytesUpTo = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
export const hash32 = (): fc.Arbitrary<Uint8Array> => bytes(32);
export const address = (): fc.Arbitrary<Uint8Array> => bytes(ADDRESS_BYTES);
export const publicKey = (): fc.Arbitrary<Uint8Array> => bytes(PUBLIC_KEY_BYTES);
export const signature = (): fc.Arbitrary<Uint8Array> => bytes(SIGNATURE_BYTES);

/** Any non-negative safe integer, biased to the edges (0, 2^7, 2^8, 2^16, 2^32 and 2^53 - 1). */
export const uint = (max = Number.MAX_SAFE_INTEGER): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 0, max: Math.min(max, 300) }),
    fc.constantFrom(
      ...[0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, max].filter((v) => v <= max),
    ),
    fc.maxSafeNat().map((v) => v % (max + 1)),
  );

export const int = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: -300, max: 300 }),
    fc.constantFrom(
      -(2 ** 31),
      -(2 ** 31) - 1,
      -129,
      -33,
      -32,
      Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    ),
    fc.maxSafeInteger(),
  );

/** Any amount up to 2^256 - 1, biased to small values and byte boundaries. */
export const amount = (): fc.Arbitrary<bigint> =>
  fc.oneof(
    fc.bigInt({ min: 0n, max: 1000n }),
    fc.constantFrom(0n, 255n, 256n, 10n ** 18n, AMOUNT_MAX),
    fc.bigInt({ min: 0n, max: AMOUNT_MAX }),
  );

/**
 * A well-formed string of at most `maxBytes` UTF-8 bytes: ASCII, or any code points including
 * astral ones (4 bytes each), so byte length and char length differ.
 */
export const text = (maxBytes: number): fc.Arbitrary<string> => {
  const chars = Math.min(maxBytes, STRING_CHARS_CAP);
  return fc
    .oneof(
      fc.string({ unit: 'binary-ascii', maxLength: chars }),
      fc.string({ unit: 'binary', maxLength: Math.floor(chars / 4) }),
      fc.string({ unit: 'grapheme', maxLength: Math.floor(chars / 8) }),
    )
    .filter((s) => Buffer.byteLength(s, 'utf8') <= maxBytes);
};

const listOf = <T>(item: fc.Arbitrary<T>, max: number): fc.Arbitrary<T[]> =>
  fc.array(item, { maxLength: Math.min(max, LIST_LENGTH_CAP) });

export const param = (): fc.Arbitrary<Param> =>
  fc.record({ key: text(PARAM_KEY_BYTES_MAX), value: text(PARAM_VALUE_BYTES_MAX) });
const params = () => listOf(param(), PARAMS_MAX);

export const chainId = (): fc.Arbitrary<string> =>
  fc.oneof(fc.constantFrom('ol-devnet-1', 'ol-mainnet', 'x'), text(CHAIN_ID_BYTES_MAX));

// ---- bodies --------------------------------------------------------------------------------

const modelFields = {
  datanets: listOf(fc.record({ datanet: hash32(), version: uint() }), MODEL_DATANETS_MAX),
  method: fc.constantFrom(...ATTRIBUTION_METHODS),
  params: params(),
  pricePerRequest: amount(),
  pricePerOutputToken: amount(),
  ownerShareBps: uint(10_000),
  providers: listOf(address(), PROVIDERS_MAX),
  artifact: fc.option(fc.record({ baseModel: text(BASE_MODEL_BYTES_MAX), adapterHash: hash32() }), {
    nil: null,
  }),
  training: fc.option(params(), { nil: null }),
};

export const inferenceRequest = (): fc.Arbitrary<InferenceRequest> =>
  fc.record({
    chainId: chainId(),
    requester: publicKey(),
    model: hash32(),
    modelVersion: uint(),
    promptHash: hash32(),
    maxFee: amount(),
    nonce: uint(),
    expiryHeight: uint(),
    signature: signature(),
  });

export const delivery = (): fc.Arbitrary<Delivery> =>
  fc.record({ requestHash: hash32(), outputHash: hash32(), outputTokens: uint(TOKENS_MAX) });

export const jobResult = (): fc.Arbitrary<JobResult> =>
  fc.record({
    job: uint(),
    ok: fc.boolean(),
    error: text(ERROR_CODE_BYTES_MAX),
    scores: listOf(fc.record({ contribution: hash32(), score: int() }), 4096),
    evidence: listOf(
      fc.record({ outputStart: uint(), outputEnd: uint(), contribution: hash32(), offset: uint() }),
      4096,
    ),
    tokens: uint(),
    weightsHash: fc.option(hash32(), { nil: null }),
    duplicateOf: fc.option(hash32(), { nil: null }),
  });

/** An arbitrary body for each transaction type. */
export const txBodies: { [K in TxType]: fc.Arbitrary<TxBodies[K]> } = {
  transfer: fc.record({ to: address(), amount: amount() }),
  'validator.create': fc.record({
    consensusKey: publicKey(),
    commissionBps: uint(10_000),
    selfStake: amount(),
    moniker: text(MONIKER_BYTES_MAX),
  }),
  'stake.delegate': fc.record({ validator: address(), amount: amount() }),
  'stake.undelegate': fc.record({ validator: address(), amount: amount() }),
  'stake.withdrawRewards': fc.record({ validator: address() }),
  'validator.unjail': fc.constant({}),
  'datanet.create': fc.record({
    name: text(NAME_BYTES_MAX),
    description: text(DESCRIPTION_BYTES_MAX),
    license: text(LICENSE_BYTES_MAX),
    tags: listOf(text(TAG_BYTES_MAX), TAGS_MAX),
    curation: fc.constantFrom(...CURATION_POLICIES),
    curators: listOf(address(), CURATORS_MAX),
    bond: amount(),
    rejectForfeitBps: uint(10_000),
    contributionBytesMax: uint(CONTRIBUTION_BYTES_MAX),
    labels: listOf(text(LABEL_BYTES_MAX), LABELS_MAX),
  }),
  'datanet.contribute': fc.record({
    datanet: hash32(),
    content: text(CONTRIBUTION_BYTES_MAX),
    label: text(LABEL_BYTES_MAX),
  }),
  'datanet.review': fc.record({
    contribution: hash32(),
    accept: fc.boolean(),
    reason: text(REVIEW_REASON_BYTES_MAX),
  }),
  'model.register': fc.record({ name: text(NAME_BYTES_MAX), ...modelFields }),
  'model.update': fc.record({ model: hash32(), ...modelFields }),
  'inference.receipt': fc.record({
    request: inferenceRequest(),
    input: text(INFERENCE_INPUT_BYTES_MAX),
    output: text(INFERENCE_OUTPUT_BYTES_MAX),
    retrieved: listOf(
      fc.record({ contribution: hash32(), weight: uint(RETRIEVAL_WEIGHT_MAX) }),
      RETRIEVED_MAX,
    ),
    inputTokens: uint(TOKENS_MAX),
    outputTokens: uint(TOKENS_MAX),
    deliverySignature: signature(),
    ack: fc.option(signature(), { nil: null }),
  }),
  'attribution.settle': fc.record({ results: fc.array(jobResult(), { maxLength: 3 }) }),
  'gov.propose': fc.record({
    title: text(GOV_TITLE_BYTES_MAX),
    description: text(GOV_DESCRIPTION_BYTES_MAX),
    changes: listOf(param(), GOV_CHANGES_MAX),
    deposit: amount(),
  }),
  'gov.vote': fc.record({ proposal: uint(), option: fc.constantFrom(...GOV_OPTIONS) }),
  'provider.bond': fc.record({ amount: amount() }),
  'provider.unbond': fc.record({ amount: amount() }),
  'inference.challenge': fc.record({
    receipt: hash32(),
    delivery: delivery(),
    signature: signature(),
  }),
};

/** An unsigned transaction of the given type (any type when omitted). */
export function unsignedTx(type?: TxType): fc.Arbitrary<UnsignedTx> {
  const typeArb = type === undefined ? fc.constantFrom(...TX_TYPES) : fc.constant(type);
  return typeArb.chain(
    (t) =>
      fc.record({
        version: uint(255),
        chainId: chainId(),
        type: fc.constant(t),
        sender: publicKey(),
        nonce: uint(),
        gasLimit: uint(GAS_LIMIT_MAX),
        gasPrice: amount(),
        body: txBodies[t] as fc.Arbitrary<unknown>,
      }) as fc.Arbitrary<UnsignedTx>,
  );
}

/** A transaction with a random (not valid) signature: for codec properties, which never verify. */
export function tx(type?: TxType): fc.Arbitrary<Tx> {
  return fc.tuple(unsignedTx(type), signature()).map(([u, sig]) => ({ ...u, signature: sig }) as Tx);
}

export const header = (): fc.Arbitrary<Header> =>
  fc.record({
    version: uint(255),
    chainId: chainId(),
    height: uint(),
    timeMs: uint(),
    parentHash: hash32(),
    lastCommitHash: hash32(),
    txsHash: hash32(),
    evidenceHash: hash32(),
    stateRoot: hash32(),
    resultsHash: hash32(),
    validatorsHash: hash32(),
    nextValidatorsHash: hash32(),
    proposer: address(),
  });

export const vote = (): fc.Arbitrary<Vote> =>
  fc.record({
    kind: fc.constantFrom<VoteKind>(VOTE_PREVOTE, VOTE_PRECOMMIT),
    height: uint(),
    round: uint(ROUND_MAX),
    blockHash: fc.option(hash32(), { nil: null }),
    validator: address(),
    signature: signature(),
  });

export const proposal = (): fc.Arbitrary<Proposal> =>
  fc.record({
    height: uint(),
    round: uint(ROUND_MAX),
    polRound: fc.integer({ min: -1, max: ROUND_MAX }),
    blockHash: hash32(),
    proposer: address(),
    signature: signature(),
  });

export const commit = (): fc.Arbitrary<Commit> =>
  fc.record({
    height: uint(),
    round: uint(ROUND_MAX),
    blockHash: hash32(),
    signatures: fc.array(fc.record({ validator: address(), signature: signature() }), { maxLength: 6 }),
  });

export const evidence = (): fc.Arbitrary<Evidence> =>
  fc.oneof(
    fc.record({ kind: fc.constant('duplicateVote' as const), voteA: vote(), voteB: vote() }),
    fc.record({
      kind: fc.constant('duplicateProposal' as const),
      proposalA: proposal(),
      proposalB: proposal(),
    }),
  );

/** A block whose txs are arbitrary byte strings (a block carries them opaque). */
export const block = (): fc.Arbitrary<Block> =>
  fc.record({
    header: header(),
    txs: fc.array(bytesUpTo(300), { maxLength: 5 }),
    lastCommit: fc.option(commit(), { nil: null }),
    evidence: fc.array(evidence(), { maxLength: Math.min(2, EVIDENCE_PER_BLOCK_MAX) }),
  });
