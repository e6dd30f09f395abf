import { addressOf } from '../core/address.js';
import type { Block, Evidence } from '../core/block.js';
import { bytesEqual } from '../core/bytes.js';
import { amount, encodeWire } from '../core/codec.js';
import { merkleRoot } from '../core/merkle.js';
import {
  decodeTx,
  SETTLE_TX_BYTES_MAX,
  TX_VERSION,
  type Tx,
  type TxOf,
  txHash,
  verifyTxSignature,
} from '../core/tx.js';
import type { Account } from '../state/stores/records.js';
import { Stores } from '../state/stores/stores.js';
import type { StateOverlay, StateReader } from '../state/types.js';
import { BlockCtx, type CreatedJob } from './context.js';
import { applyNearDuplicateResult, datanetContribute, datanetCreate, datanetReview } from './datanets.js';
import { type ADMISSION_ERRORS, blockError, TxError, txError } from './errors.js';
import { BEGIN_BLOCK, END_BLOCK, eventToWire, type VmEvent } from './events.js';
import { GasMeter, intrinsicGas } from './gas.js';
import { govPropose, govVote, tallyProposals } from './governance.js';
import {
  applyAttributionResult,
  applyTrainingResult,
  inferenceReceipt,
  modelRegister,
  modelUpdate,
  releaseHeldReceipts,
} from './models.js';
import { num, type Params, paramsFromList } from './params.js';
import { inferenceChallenge, matureProviderUnbondings, providerBond, providerUnbond } from './providers.js';
import {
  distributeRewards,
  matureUnbondings,
  processDowntime,
  processEvidence,
  stakeDelegate,
  stakeUndelegate,
  stakeWithdrawRewards,
  updateValidatorSet,
  type ValidatorUpdate,
  validatorCreate,
  validatorUnjail,
} from './staking.js';

/**
 * Block execution (consensus-critical: synchronous, integer-only, no clock, no randomness, no
 * dependence on Map iteration order). Order within a block:
 *
 * 1. checks: chain id, height = last + 1, time > last time, Σ gasLimit ≤ blockGasLimit, and the
 *    settle rule (jobs due ⇔ first tx is `attribution.settle` with exactly their results);
 * 2. begin block: double-sign evidence, then downtime from the last commit's signers;
 * 3. the settle tx (job results applied in job-id order), then every user tx in order;
 * 4. end block: matured unbondings (validators', then providers'), held receipts whose challenge
 *    window ends here paid out, governance tallies (passed parameter changes apply), block
 *    rewards (fees + inference validator shares + issuance) to the current set, the validator set
 *    for h+2, the jobs created by this block recorded as due at h+1.
 *
 * A BlockError leaves the overlay half-written: the node must discard it.
 */

export interface ExecTx {
  tx: Tx;
  /** The signed encoding (gas is charged per byte of it). */
  bytes: Uint8Array;
  /** sha256(bytes); computed when absent. */
  hash?: Uint8Array;
}

export interface ExecBlock {
  chainId: string;
  height: number;
  timeMs: number;
  /** Address of the proposer (addressOf its consensus key). */
  proposer: Uint8Array;
  txs: readonly ExecTx[];
  /** Validators whose precommits are in this block's last commit (null at height 1). */
  lastCommitSigners: readonly Uint8Array[] | null;
  evidence: readonly Evidence[];
}

export interface ExecContext {
  /** Verify envelope signatures here (the node normally has done it before). */
  verifyTxSignatures?: boolean;
}

export interface TxResult {
  index: number;
  hash: Uint8Array;
  type: Tx['type'];
  sender: Uint8Array;
  /** 'ok' or a stable error code (vm/errors.ts). */
  code: string;
  message: string;
  /** false for admission errors: nothing was charged or changed. */
  charged: boolean;
  gasUsed: number;
  fee: bigint;
  events: VmEvent[];
}

export interface BlockResult {
  stateRoot: Uint8Array;
  txResults: TxResult[];
  /** Every event of the block in order: begin block, txs, end block. */
  events: VmEvent[];
  jobsCreated: CreatedJob[];
  /** Changes of the set for height + 2 relative to height + 1 (power 0 = removed). */
  validatorUpdates: ValidatorUpdate[];
  /** Merkle root of the encoded tx results (for the header's resultsHash). */
  resultsHash: Uint8Array;
}

/** Canonical bytes of a tx result: `[hash, code, gasUsed, fee, [event wire…]]`. */
export function encodeTxResult(r: TxResult): Uint8Array {
  return encodeWire([r.hash, r.code, r.gasUsed, amount.toWire(r.fee), r.events.map(eventToWire)]);
}

export function resultsHash(results: readonly TxResult[]): Uint8Array {
  return merkleRoot(results.map(encodeTxResult));
}

/** Decodes a block's txs (the first one with the settle size limit) into executable form. */
export function execBlockFromBlock(block: Block): ExecBlock {
  return {
    chainId: block.header.chainId,
    height: block.header.height,
    timeMs: block.header.timeMs,
    proposer: block.header.proposer,
    txs: block.txs.map((bytes, i) => ({
      tx: decodeTx(bytes, i === 0 ? SETTLE_TX_BYTES_MAX : undefined),
      bytes,
    })),
    lastCommitSigners: block.lastCommit === null ? null : block.lastCommit.signatures.map((s) => s.validator),
    evidence: block.evidence,
  };
}

function loadParams(s: Stores): Params {
  return paramsFromList(s.paramValues() ?? []);
}

/** Executes one block on `state` (the overlay of its parent). */
export function executeBlock(state: StateOverlay, block: ExecBlock, context: ExecContext = {}): BlockResult {
  const base = new Stores(state);
  const chain = base.chain();
  if (chain === undefined) throw blockError('NOT_INITIALISED', 'the state has no genesis');
  if (block.chainId !== chain.chainId)
    throw blockError('WRONG_CHAIN', `block is for ${block.chainId}, state is ${chain.chainId}`);
  if (block.height !== chain.height + 1) {
    throw blockError('WRONG_HEIGHT', `expected height ${chain.height + 1}, got ${block.height}`);
  }
  if (block.timeMs <= chain.timeMs)
    throw blockError('TIME_NOT_INCREASING', `time ${block.timeMs} ≤ parent ${chain.timeMs}`);
  const params = loadParams(base);
  const ctx = new BlockCtx(state, params, chain.chainId, block.height, block.timeMs, block.proposer);

  // Settle rule and block gas.
  const due = base.jobsAt(block.height - 1);
  let gasLimits = 0;
  block.txs.forEach((t, i) => {
    if (t.tx.type === 'attribution.settle') {
      if (i !== 0 || due === undefined)
        throw blockError('UNEXPECTED_SETTLE', `tx ${i}: no settle expected here`);
    } else gasLimits += t.tx.gasLimit;
  });
  if (gasLimits > num(params.blockGasLimit)) {
    throw blockError('BLOCK_GAS_EXCEEDED', `Σ gasLimit ${gasLimits} exceeds ${params.blockGasLimit}`);
  }
  let settle: TxOf<'attribution.settle'> | null = null;
  if (due !== undefined) {
    const first = block.txs[0]?.tx;
    if (first === undefined || first.type !== 'attribution.settle') {
      throw blockError('MISSING_SETTLE', `${due.count} jobs are due; the first tx must settle them`);
    }
    settle = first;
    checkSettleEnvelope(ctx, settle, due.first, due.count);
  }

  // Begin block.
  ctx.sink.txIndex = BEGIN_BLOCK;
  processEvidence(ctx, block.evidence);
  processDowntime(ctx, block.lastCommitSigners);
  ctx.buffer.flush();

  const txResults: TxResult[] = [];
  for (let i = 0; i < block.txs.length; i++) {
    const t = block.txs[i];
    if (i === 0 && settle !== null) txResults.push(applySettle(ctx, t, settle));
    else txResults.push(executeTx(ctx, i, t, context.verifyTxSignatures === true));
  }

  // End block.
  ctx.sink.txIndex = END_BLOCK;
  matureUnbondings(ctx);
  matureProviderUnbondings(ctx);
  releaseHeldReceipts(ctx);
  const paramsChanged = tallyProposals(ctx);
  const issued = ctx.params.blockIssuance;
  if (issued > 0n) ctx.totals({ issued });
  const rewards = ctx.rewardPool + issued;
  if (rewards > 0n) ctx.sink.emit('block.rewards', [], { amount: rewards, issued });
  distributeRewards(ctx, rewards);
  const validatorUpdates = updateValidatorSet(ctx, paramsChanged);
  if (ctx.jobs.length > 0) ctx.s.setJobsAt(block.height, { first: ctx.jobs[0].id, count: ctx.jobs.length });
  ctx.s.setChain({ ...chain, height: block.height, timeMs: block.timeMs });
  ctx.buffer.flush();

  return {
    stateRoot: state.root(),
    txResults,
    events: ctx.sink.events,
    jobsCreated: ctx.jobs,
    validatorUpdates,
    resultsHash: resultsHash(txResults),
  };
}

/**
 * The settle tx is built by the proposer: sender = the proposer's consensus key, gasPrice 0,
 * nonce = block height, gasLimit ignored, no fee; results = the due jobs, in id order.
 */
function checkSettleEnvelope(
  ctx: BlockCtx,
  tx: TxOf<'attribution.settle'>,
  first: number,
  count: number,
): void {
  if (tx.chainId !== ctx.chainId || tx.version !== TX_VERSION)
    throw blockError('BAD_SETTLE', 'settle names another chain or version');
  if (!bytesEqual(addressOf(tx.sender), ctx.proposer))
    throw blockError('BAD_SETTLE', 'settle sender is not the proposer');
  if (tx.gasPrice !== 0n || tx.nonce !== ctx.height)
    throw blockError('BAD_SETTLE', 'settle needs gasPrice 0 and nonce = height');
  const rs = tx.body.results;
  if (rs.length !== count)
    throw blockError('BAD_SETTLE', `settle has ${rs.length} results, ${count} jobs are due`);
  for (let i = 0; i < count; i++) {
    if (rs[i].job !== first + i)
      throw blockError('BAD_SETTLE', `result ${i} is for job ${rs[i].job}, expected ${first + i}`);
  }
}

function applySettle(ctx: BlockCtx, t: ExecTx, tx: TxOf<'attribution.settle'>): TxResult {
  ctx.sink.txIndex = 0;
  const start = ctx.sink.events.length;
  for (const r of tx.body.results) {
    const job = ctx.s.job(r.job)!;
    if (job.kind === 'attribution') applyAttributionResult(ctx, job, r);
    else if (job.kind === 'training') applyTrainingResult(ctx, job, r);
    else applyNearDuplicateResult(ctx, job, r);
    ctx.sink.emit('job.settled', [], { job: job.id, kind: job.kind, ok: r.ok });
  }
  ctx.buffer.flush();
  return {
    index: 0,
    hash: t.hash ?? txHash(t.bytes),
    type: 'attribution.settle',
    sender: addressOf(tx.sender),
    code: 'ok',
    message: '',
    charged: false,
    gasUsed: 0,
    fee: 0n,
    events: ctx.sink.events.slice(start),
  };
}

type Admission =
  | { code: keyof typeof ADMISSION_ERRORS | 'SETTLE_NOT_ALLOWED'; message: string }
  | { account: Account };

function admit(
  s: Stores,
  params: Params,
  chainId: string,
  t: ExecTx,
  sender: Uint8Array,
  verify: boolean,
): Admission {
  const tx = t.tx;
  if (tx.type === 'attribution.settle')
    return { code: 'SETTLE_NOT_ALLOWED', message: 'attribution.settle is built by the proposer' };
  if (tx.chainId !== chainId) return { code: 'WRONG_CHAIN', message: `tx is for chain ${tx.chainId}` };
  if (tx.version !== TX_VERSION)
    return { code: 'BAD_VERSION', message: `tx version ${tx.version} is not ${TX_VERSION}` };
  if (tx.gasPrice < params.minGasPrice)
    return { code: 'GAS_PRICE_TOO_LOW', message: `gasPrice must be ≥ ${params.minGasPrice}` };
  const intrinsic = intrinsicGas(tx.type, t.bytes.length);
  if (tx.gasLimit < intrinsic)
    return { code: 'GAS_LIMIT_TOO_LOW', message: `gasLimit must be ≥ ${intrinsic}` };
  const acct = s.account(sender);
  if (tx.nonce !== acct.nonce)
    return { code: 'BAD_NONCE', message: `nonce ${tx.nonce}, the account expects ${acct.nonce}` };
  if (acct.balance < BigInt(tx.gasLimit) * tx.gasPrice) {
    return { code: 'INSUFFICIENT_FEE_FUNDS', message: `balance ${acct.balance} < gasLimit × gasPrice` };
  }
  if (verify && !verifyTxSignature(tx))
    return { code: 'BAD_SIGNATURE', message: 'signature does not verify' };
  return { account: acct };
}

/**
 * Mempool admission against a state (read-only): null when `tx` would be admitted as the next tx
 * of its sender, else the code the vm would give it. Does not check signatures.
 */
export function checkTx(state: StateReader, t: ExecTx): { code: string; message: string } | null {
  const s = new Stores({ get: (k) => state.get(k), set: () => {}, delete: () => {} });
  const chain = s.chain();
  if (chain === undefined) return { code: 'NOT_INITIALISED', message: 'no genesis' };
  const r = admit(s, loadParams(s), chain.chainId, t, addressOf(t.tx.sender), false);
  return 'code' in r ? r : null;
}

/** Sender addresses by public key: one sha256 saved per tx of a busy sender (bounded cache). */
const SENDER_CACHE_MAX = 100_000;
const senderCache = new Map<string, Uint8Array>();

function senderAddress(publicKey: Uint8Array): Uint8Array {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  let a = senderCache.get(id);
  if (a === undefined) {
    a = addressOf(publicKey);
    if (senderCache.size >= SENDER_CACHE_MAX) senderCache.clear();
    senderCache.set(id, a);
  }
  return a;
}

/** One user tx inside a block context (exported for `simulate.ts`). */
export function executeTx(ctx: BlockCtx, index: number, t: ExecTx, verify: boolean): TxResult {
  const tx = t.tx;
  const sender = senderAddress(tx.sender);
  const hash = t.hash ?? txHash(t.bytes);
  ctx.sink.txIndex = index;
  const start = ctx.sink.events.length;
  const admitted = admit(ctx.s, ctx.params, ctx.chainId, t, sender, verify);
  if ('code' in admitted) {
    return {
      index,
      hash,
      type: tx.type,
      sender,
      ...admitted,
      charged: false,
      gasUsed: 0,
      fee: 0n,
      events: [],
    };
  }
  // Prepay the gas limit and use the nonce; these survive a failing body.
  const prepaid = BigInt(tx.gasLimit) * tx.gasPrice;
  const acct = admitted.account;
  acct.nonce++;
  acct.balance -= prepaid;
  ctx.s.setAccount(sender, acct);

  const meter = new GasMeter(tx.gasLimit, intrinsicGas(tx.type, t.bytes.length));
  ctx.gas = meter;
  ctx.txJobs = [];
  let code = 'ok';
  let message = '';
  try {
    dispatch(ctx, sender, tx);
    for (const j of ctx.txJobs) ctx.jobs.push(j);
  } catch (e) {
    if (!(e instanceof TxError)) throw e;
    ctx.buffer.reset();
    ctx.s.setAccount(sender, acct);
    ctx.sink.events.length = start;
    code = e.code;
    message = e.message;
  }
  ctx.txJobs = [];
  const fee = BigInt(meter.used) * tx.gasPrice;
  ctx.credit(sender, prepaid - fee);
  ctx.buffer.flush();
  ctx.rewardPool += fee;
  if (fee > 0n) ctx.sink.emit('fee', [sender], { payer: sender, amount: fee });
  return {
    index,
    hash,
    type: tx.type,
    sender,
    code,
    message,
    charged: true,
    gasUsed: meter.used,
    fee,
    events: start === ctx.sink.events.length ? [] : ctx.sink.events.slice(start),
  };
}

function dispatch(ctx: BlockCtx, sender: Uint8Array, tx: Tx): void {
  switch (tx.type) {
    case 'transfer': {
      if (tx.body.amount === 0n) throw txError('ZERO_AMOUNT');
      ctx.debit(sender, tx.body.amount);
      ctx.credit(tx.body.to, tx.body.amount);
      ctx.sink.emit('transfer', [sender, tx.body.to], {
        from: sender,
        to: tx.body.to,
        amount: tx.body.amount,
      });
      break;
    }
    case 'validator.create':
      validatorCreate(ctx, sender, tx.body);
      break;
    case 'stake.delegate':
      stakeDelegate(ctx, sender, tx.body);
      break;
    case 'stake.undelegate':
      stakeUndelegate(ctx, sender, tx.body);
      break;
    case 'stake.withdrawRewards':
      stakeWithdrawRewards(ctx, sender, tx.body);
      break;
    case 'validator.unjail':
      validatorUnjail(ctx, sender);
      break;
    case 'datanet.create':
      datanetCreate(ctx, sender, tx.nonce, tx.body);
      break;
    case 'datanet.contribute':
      datanetContribute(ctx, sender, tx.body);
      break;
    case 'datanet.review':
      datanetReview(ctx, sender, tx.body);
      break;
    case 'model.register':
      modelRegister(ctx, sender, tx.nonce, tx.body);
      break;
    case 'model.update':
      modelUpdate(ctx, sender, tx.body);
      break;
    case 'inference.receipt':
      inferenceReceipt(ctx, sender, tx.sender, tx.body);
      break;
    case 'inference.challenge':
      inferenceChallenge(ctx, sender, tx.body);
      break;
    case 'provider.bond':
      providerBond(ctx, sender, tx.sender, tx.body);
      break;
    case 'provider.unbond':
      providerUnbond(ctx, sender, tx.body);
      break;
    case 'gov.propose':
      govPropose(ctx, sender, tx.body);
      break;
    case 'gov.vote':
      govVote(ctx, sender, tx.body);
      break;
    case 'attribution.settle':
      throw txError('SETTLE_NOT_ALLOWED');
  }
}
