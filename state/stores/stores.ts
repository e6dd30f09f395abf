import { bytesN, decodeWire, encode, list, type Schema } from '../../core/codec.js';
import { StorageError } from '../../core/errors.js';
import { SETTLE_TX_BYTES_MAX } from '../../core/tx.js';
import type { StateWriter } from '../types.js';
import { KEYS } from './keys.js';
import {
  type Account,
  type AttributionRecord,
  accountSchema,
  addressListSchema,
  attributionRecordSchema,
  type ChainInfo,
  type Contribution,
  type Counters,
  chainSchema,
  contentSchema,
  contributionSchema,
  countersSchema,
  type Datanet,
  type Delegation,
  datanetSchema,
  delegationSchema,
  idListSchema,
  type Job,
  type JobsAt,
  jobSchema,
  jobsAtSchema,
  type Missed,
  type Model,
  type ModelVersion,
  missedSchema,
  modelSchema,
  modelVersionSchema,
  type Proposal,
  type Provider,
  paramsSchema,
  proposalSchema,
  providerSchema,
  type Receipt,
  receiptIdListSchema,
  receiptSchema,
  type Totals,
  totalsSchema,
  type Unbonding,
  unbondingSchema,
  type Validator,
  type ValidatorSetEntry,
  validatorSchema,
  validatorSetSchema,
  voteOptionSchema,
} from './records.js';

/** Every stored value is far below this; anything larger is corrupt. */
const RECORD_BYTES_MAX = SETTLE_TX_BYTES_MAX;
const PRESENT = new Uint8Array([0xc3]); // msgpack `true`
const addressListSchemaOf32 = list(bytesN(32), 1);

const ZERO_TOTALS: Totals = {
  genesis: 0n,
  issued: 0n,
  burned: 0n,
  bonded: 0n,
  unbonding: 0n,
  escrow: 0n,
  treasury: 0n,
  rewards: 0n,
};

/**
 * Typed, schema'd accessors over the state: the only code that knows raw keys. Reads decode with
 * the canonical codec's schema checks (a value that does not fit its schema is a StorageError);
 * the full re-encoding check is skipped because only these stores write values. Absent records
 * read as `undefined`, except accounts, which read as empty.
 */
export class Stores {
  constructor(readonly state: StateWriter) {}

  private read<T>(schema: Schema<T>, key: Uint8Array): T | undefined {
    const bytes = this.state.get(key);
    if (bytes === undefined) return undefined;
    try {
      return schema.fromWire(decodeWire(bytes, RECORD_BYTES_MAX), schema.kind);
    } catch (e) {
      throw new StorageError(
        'CORRUPT_RECORD',
        `state record ${schema.kind} does not decode: ${(e as Error).message}`,
      );
    }
  }

  private write<T>(schema: Schema<T>, key: Uint8Array, value: T): void {
    this.state.set(key, encode(schema, value));
  }

  // ---- chain-wide records -------------------------------------------------------------------

  chain(): ChainInfo | undefined {
    return this.read(chainSchema, KEYS.chain());
  }
  setChain(c: ChainInfo): void {
    this.write(chainSchema, KEYS.chain(), c);
  }
  paramValues(): bigint[] | undefined {
    return this.read(paramsSchema, KEYS.params());
  }
  setParamValues(v: bigint[]): void {
    this.write(paramsSchema, KEYS.params(), v);
  }
  totals(): Totals {
    return this.read(totalsSchema, KEYS.totals()) ?? { ...ZERO_TOTALS };
  }
  setTotals(t: Totals): void {
    this.write(totalsSchema, KEYS.totals(), t);
  }
  counters(): Counters {
    return this.read(countersSchema, KEYS.counters()) ?? { nextJob: 1, nextProposal: 1, nextUnbonding: 1 };
  }
  setCounters(c: Counters): void {
    this.write(countersSchema, KEYS.counters(), c);
  }

  // ---- accounts -----------------------------------------------------------------------------

  account(address: Uint8Array): Account {
    return this.read(accountSchema, KEYS.account(address)) ?? { nonce: 0, balance: 0n };
  }
  setAccount(address: Uint8Array, a: Account): void {
    this.write(accountSchema, KEYS.account(address), a);
  }

  // ---- staking ------------------------------------------------------------------------------

  validator(address: Uint8Array): Validator | undefined {
    return this.read(validatorSchema, KEYS.validator(address));
  }
  setValidator(v: Validator): void {
    this.write(validatorSchema, KEYS.validator(v.address), v);
  }
  /** All validator candidates, sorted by address. */
  validatorList(): Uint8Array[] {
    return this.read(addressListSchema, KEYS.validatorList()) ?? [];
  }
  setValidatorList(list: Uint8Array[]): void {
    this.write(addressListSchema, KEYS.validatorList(), list);
  }
  /** The validator an operator runs (one per operator). */
  operatorValidator(operator: Uint8Array): Uint8Array | undefined {
    const list = this.read(addressListSchema, KEYS.operator(operator));
    return list?.[0];
  }
  setOperatorValidator(operator: Uint8Array, validator: Uint8Array): void {
    this.write(addressListSchema, KEYS.operator(operator), [validator]);
  }
  delegation(validator: Uint8Array, delegator: Uint8Array): Delegation | undefined {
    return this.read(delegationSchema, KEYS.delegation(validator, delegator));
  }
  setDelegation(validator: Uint8Array, delegator: Uint8Array, d: Delegation): void {
    this.write(delegationSchema, KEYS.delegation(validator, delegator), d);
  }
  deleteDelegation(validator: Uint8Array, delegator: Uint8Array): void {
    this.state.delete(KEYS.delegation(validator, delegator));
  }
  /** Validators `delegator` has a delegation with, sorted by address. */
  delegatorValidators(delegator: Uint8Array): Uint8Array[] {
    return this.read(addressListSchema, KEYS.delegatorValidators(delegator)) ?? [];
  }
  setDelegatorValidators(delegator: Uint8Array, list: Uint8Array[]): void {
    if (list.length === 0) this.state.delete(KEYS.delegatorValidators(delegator));
    else this.write(addressListSchema, KEYS.delegatorValidators(delegator), list);
  }
  unbonding(id: number): Unbonding | undefined {
    return this.read(unbondingSchema, KEYS.unbonding(id));
  }
  setUnbonding(u: Unbonding): void {
    this.write(unbondingSchema, KEYS.unbonding(u.id), u);
  }
  deleteUnbonding(id: number): void {
    this.state.delete(KEYS.unbonding(id));
  }
  /** Ids of the unbonding entries that mature at `height`. */
  unbondingQueue(height: number): number[] {
    return this.read(idListSchema, KEYS.unbondingQueue(height)) ?? [];
  }
  setUnbondingQueue(height: number, ids: number[]): void {
    if (ids.length === 0) this.state.delete(KEYS.unbondingQueue(height));
    else this.write(idListSchema, KEYS.unbondingQueue(height), ids);
  }
  /** Ids of a validator's live unbonding entries (slashing reaches them). */
  validatorUnbondings(validator: Uint8Array): number[] {
    return this.read(idListSchema, KEYS.validatorUnbondings(validator)) ?? [];
  }
  setValidatorUnbondings(validator: Uint8Array, ids: number[]): void {
    if (ids.length === 0) this.state.delete(KEYS.validatorUnbondings(validator));
    else this.write(idListSchema, KEYS.validatorUnbondings(validator), ids);
  }
  missed(validator: Uint8Array): Missed | undefined {
    return this.read(missedSchema, KEYS.missed(validator));
  }
  setMissed(validator: Uint8Array, m: Missed): void {
    this.write(missedSchema, KEYS.missed(validator), m);
  }
  /** The validator set that signs block `height` (kept for heights h−1 … h+2 after block h). */
  validatorSet(height: number): ValidatorSetEntry[] | undefined {
    return this.read(validatorSetSchema, KEYS.validatorSet(height));
  }
  validatorSetBytes(height: number): Uint8Array | undefined {
    return this.state.get(KEYS.validatorSet(height));
  }
  setValidatorSet(height: number, set: ValidatorSetEntry[]): void {
    this.write(validatorSetSchema, KEYS.validatorSet(height), set);
  }
  setValidatorSetBytes(height: number, bytes: Uint8Array): void {
    this.state.set(KEYS.validatorSet(height), bytes);
  }
  deleteValidatorSet(height: number): void {
    this.state.delete(KEYS.validatorSet(height));
  }

  // ---- datanets and contributions -----------------------------------------------------------

  datanet(id: Uint8Array): Datanet | undefined {
    return this.read(datanetSchema, KEYS.datanet(id));
  }
  setDatanet(d: Datanet): void {
    this.write(datanetSchema, KEYS.datanet(d.id), d);
  }
  /** Contribution id accepted as number `seq` (1-based) of a datanet. */
  acceptedAt(datanet: Uint8Array, seq: number): Uint8Array | undefined {
    return this.read(addressListSchemaOf32, KEYS.datanetAccepted(datanet, seq))?.[0];
  }
  setAcceptedAt(datanet: Uint8Array, seq: number, contribution: Uint8Array): void {
    this.write(addressListSchemaOf32, KEYS.datanetAccepted(datanet, seq), [contribution]);
  }
  contributionIdByHash(datanet: Uint8Array, contentHash: Uint8Array): Uint8Array | undefined {
    return this.read(addressListSchemaOf32, KEYS.contributionByHash(datanet, contentHash))?.[0];
  }
  setContributionIdByHash(datanet: Uint8Array, contentHash: Uint8Array, id: Uint8Array): void {
    this.write(addressListSchemaOf32, KEYS.contributionByHash(datanet, contentHash), [id]);
  }
  contribution(id: Uint8Array): Contribution | undefined {
    return this.read(contributionSchema, KEYS.contribution(id));
  }
  setContribution(c: Contribution): void {
    this.write(contributionSchema, KEYS.contribution(c.id), c);
  }
  content(id: Uint8Array): string | undefined {
    return this.read(contentSchema, KEYS.content(id));
  }
  setContent(id: Uint8Array, text: string): void {
    this.write(contentSchema, KEYS.content(id), text);
  }

  // ---- models, receipts, attribution --------------------------------------------------------

  model(id: Uint8Array): Model | undefined {
    return this.read(modelSchema, KEYS.model(id));
  }
  setModel(m: Model): void {
    this.write(modelSchema, KEYS.model(m.id), m);
  }
  modelVersion(id: Uint8Array, version: number): ModelVersion | undefined {
    return this.read(modelVersionSchema, KEYS.modelVersion(id, version));
  }
  setModelVersion(v: ModelVersion): void {
    this.write(modelVersionSchema, KEYS.modelVersion(v.model, v.version), v);
  }
  requestNonceUsed(requester: Uint8Array, nonce: number): boolean {
    return this.state.get(KEYS.requestNonce(requester, nonce)) !== undefined;
  }
  markRequestNonce(requester: Uint8Array, nonce: number): void {
    this.state.set(KEYS.requestNonce(requester, nonce), PRESENT);
  }
  receipt(id: Uint8Array): Receipt | undefined {
    return this.read(receiptSchema, KEYS.receipt(id));
  }
  setReceipt(r: Receipt): void {
    this.write(receiptSchema, KEYS.receipt(r.id), r);
  }
  attribution(receipt: Uint8Array): AttributionRecord | undefined {
    return this.read(attributionRecordSchema, KEYS.attribution(receipt));
  }
  setAttribution(a: AttributionRecord): void {
    this.write(attributionRecordSchema, KEYS.attribution(a.receipt), a);
  }
  /** Receipts whose held payout is released at the end of block `height`. */
  releases(height: number): Uint8Array[] {
    return this.read(receiptIdListSchema, KEYS.releases(height)) ?? [];
  }
  setReleases(height: number, ids: Uint8Array[]): void {
    if (ids.length === 0) this.state.delete(KEYS.releases(height));
    else this.write(receiptIdListSchema, KEYS.releases(height), ids);
  }

  // ---- inference providers ------------------------------------------------------------------

  provider(address: Uint8Array): Provider | undefined {
    return this.read(providerSchema, KEYS.provider(address));
  }
  setProvider(p: Provider): void {
    this.write(providerSchema, KEYS.provider(p.address), p);
  }
  /** Providers whose unbonding may mature at the end of block `height` (checked against the record). */
  providerUnbondings(height: number): Uint8Array[] {
    return this.read(addressListSchema, KEYS.providerUnbondings(height)) ?? [];
  }
  setProviderUnbondings(height: number, list: Uint8Array[]): void {
    if (list.length === 0) this.state.delete(KEYS.providerUnbondings(height));
    else this.write(addressListSchema, KEYS.providerUnbondings(height), list);
  }

  // ---- jobs ---------------------------------------------------------------------------------

  job(id: number): Job | undefined {
    return this.read(jobSchema, KEYS.job(id));
  }
  setJob(j: Job): void {
    this.write(jobSchema, KEYS.job(j.id), j);
  }
  /** The contiguous id range of the jobs created by block `height`. */
  jobsAt(height: number): JobsAt | undefined {
    return this.read(jobsAtSchema, KEYS.jobsAt(height));
  }
  setJobsAt(height: number, j: JobsAt): void {
    this.write(jobsAtSchema, KEYS.jobsAt(height), j);
  }

  // ---- governance ---------------------------------------------------------------------------

  proposal(id: number): Proposal | undefined {
    return this.read(proposalSchema, KEYS.proposal(id));
  }
  setProposal(p: Proposal): void {
    this.write(proposalSchema, KEYS.proposal(p.id), p);
  }
  proposalVote(id: number, voter: Uint8Array): 'yes' | 'no' | 'abstain' | undefined {
    return this.read(voteOptionSchema, KEYS.proposalVote(id, voter));
  }
  setProposalVote(id: number, voter: Uint8Array, option: 'yes' | 'no' | 'abstain'): void {
    this.write(voteOptionSchema, KEYS.proposalVote(id, voter), option);
  }
  proposalVoter(id: number, index: number): Uint8Array | undefined {
    return this.read(addressListSchema, KEYS.proposalVoter(id, index))?.[0];
  }
  setProposalVoter(id: number, index: number, voter: Uint8Array): void {
    this.write(addressListSchema, KEYS.proposalVoter(id, index), [voter]);
  }
  proposalsEnding(height: number): number[] {
    return this.read(idListSchema, KEYS.proposalsEnding(height)) ?? [];
  }
  setProposalsEnding(height: number, ids: number[]): void {
    if (ids.length === 0) this.state.delete(KEYS.proposalsEnding(height));
    else this.write(idListSchema, KEYS.proposalsEnding(height), ids);
  }
}
