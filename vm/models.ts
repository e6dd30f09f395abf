import { addressOf } from '../core/address.js';
import { bytesEqual, compareBytes, toHex } from '../core/bytes.js';
import { encodeWire } from '../core/codec.js';
import { receiptDelivery, verifyAck, verifyDelivery } from '../core/delivery.js';
import { sha256 } from '../core/hash.js';
import { type JobResult, type TxBody, verifyRequestSignature } from '../core/tx.js';
import {
  type Job,
  type ModelVersion,
  type Payout,
  RELEASES_PER_HEIGHT_MAX,
  type Receipt,
} from '../state/stores/records.js';
import { type BlockCtx, TREASURY_ADDRESS, VALIDATORS_POOL_ADDRESS } from './context.js';
import { blockError, txError } from './errors.js';
import { GAS_PER_OUTPUT_TOKEN, GAS_PER_SIGNATURE_CHECK, GAS_PER_TRAINING_EXAMPLE } from './gas.js';
import { num } from './params.js';
import { splitExact, type Weighted } from './split.js';

/**
 * Models, inference receipts and their settlement (consensus-critical).
 *
 * A model has versions; `model.register` creates version 1, `model.update` the next one. Each
 * version pins its datanets (id + version), method, parameters, prices, owner share and
 * providers. A version with a training spec starts `training` and a training job; the settle
 * result activates it (weights hash) or marks it `failed`. Other versions are `active` at once.
 * Receipts name (model, version); the version must be active.
 */

const enc = new TextEncoder();
const BPS = 10_000n;

export function modelId(owner: Uint8Array, nonce: number): Uint8Array {
  return sha256(encodeWire(['ol/model', owner, nonce]));
}

export function receiptId(requester: Uint8Array, requestNonce: number): Uint8Array {
  return sha256(encodeWire(['ol/receipt', requester, requestNonce]));
}

type ModelFields = Omit<TxBody<'model.register'>, 'name'>;

function sortedByKey(params: readonly { key: string }[]): boolean {
  for (let i = 1; i < params.length; i++) if (!(params[i - 1].key < params[i].key)) return false;
  return true;
}

/**
 * The trainer a new training spec is pinned to when it names none (attribution/training.ts
 * TRAINER_CURRENT; a test keeps the two equal). Stored specs are never rewritten: a version
 * registered before this existed has no `trainer`, which the attribution engine reads as
 * `logreg@1`, the round-1 trainer, so its weights and influence scores stay bit-identical.
 */
export const TRAINER_PINNED = 'logreg@2';

/** A training spec with its trainer pinned: `trainer=TRAINER_PINNED` inserted when absent (sorted). */
export function pinTrainer(
  training: TxBody<'model.register'>['training'],
): TxBody<'model.register'>['training'] {
  if (training === null || training.some((p) => p.key === 'trainer')) return training;
  const out = [...training, { key: 'trainer', value: TRAINER_PINNED }];
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

/**
 * What a new span model is pinned to for the span keys it leaves out (issue 14; attribution
 * README, Span weight and Parameters): matching on normalised words, so re-cased, re-spaced or
 * re-punctuated answers are credited as if verbatim, and the document-frequency weight, so
 * boilerplate every contribution carries weighs 1 bit per token. Both measured better than the
 * round-1 meaning (`npm run eval -- attribution`, span). Stored params are never rewritten: a
 * span version registered before this has neither key, which the engine reads as `none` and
 * `occurrence-bits@1`, so its results stay bit-identical. A test keeps these names valid in
 * attribution/params.ts. Sorted by key.
 */
export const SPAN_PARAMS_PINNED: readonly { key: string; value: string }[] = [
  { key: 'normalization', value: 'nfkc-cf-words@1' },
  { key: 'spanWeight', value: 'document-bits@1' },
];

/**
 * A span model's params with `SPAN_PARAMS_PINNED` inserted where a key is absent (sorted by key);
 * a value the registration names is kept as given (an unknown one stays the engine's typed
 * error at job time). Other methods' params are returned unchanged.
 */
export function pinSpanParams(method: string, params: ModelFields['params']): ModelFields['params'] {
  if (method !== 'span') return params;
  const missing = SPAN_PARAMS_PINNED.filter((d) => !params.some((p) => p.key === d.key));
  if (missing.length === 0) return params;
  const out = [...params, ...missing];
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

function newVersion(ctx: BlockCtx, model: Uint8Array, version: number, given: ModelFields): ModelVersion {
  if (given.training !== null && !sortedByKey(given.training)) throw txError('BAD_PARAMS');
  const f: ModelFields = {
    ...given,
    // Unsorted params are left as given, so the BAD_PARAMS check below still refuses them.
    params: sortedByKey(given.params) ? pinSpanParams(given.method, given.params) : given.params,
    training: pinTrainer(given.training),
  };
  if (f.datanets.length === 0) throw txError('NO_DATANETS');
  let examples = 0;
  for (let i = 0; i < f.datanets.length; i++) {
    const p = f.datanets[i];
    if (i > 0 && compareBytes(f.datanets[i - 1].datanet, p.datanet) >= 0) {
      throw txError('BAD_PINNED_DATANET', 'pinned datanets must be sorted by id, without repeats');
    }
    const d = ctx.s.datanet(p.datanet);
    if (d === undefined) throw txError('BAD_PINNED_DATANET', `datanet 0x${toHex(p.datanet)} does not exist`);
    if (p.version > d.version) {
      throw txError(
        'BAD_PINNED_DATANET',
        `datanet 0x${toHex(p.datanet)} is at version ${d.version}, not ${p.version}`,
      );
    }
    examples += p.version;
  }
  if (!sortedByKey(f.params) || (f.training !== null && !sortedByKey(f.training)))
    throw txError('BAD_PARAMS');
  if ((f.method === 'influence') !== (f.training !== null) || (f.training !== null && f.artifact !== null)) {
    throw txError('BAD_TRAINING');
  }
  if (f.providers.length === 0) throw txError('NO_PROVIDERS');
  if (new Set(f.providers.map((p) => toHex(p))).size !== f.providers.length) throw txError('BAD_PROVIDERS');
  if (BigInt(f.ownerShareBps) > ctx.params.ownerShareMaxBps) {
    throw txError(
      'OWNER_SHARE_TOO_HIGH',
      `ownerShareBps ${f.ownerShareBps} exceeds ${ctx.params.ownerShareMaxBps}`,
    );
  }
  let bytes = 300 + 40 * f.datanets.length + 20 * f.providers.length;
  for (const p of [...f.params, ...(f.training ?? [])]) bytes += p.key.length + p.value.length;
  ctx.gas.storeBytes(bytes);
  let job: number | null = null;
  if (f.training !== null) {
    ctx.gas.use(GAS_PER_TRAINING_EXAMPLE * examples);
    job = ctx.createJob('training', model, version);
  }
  return {
    model,
    version,
    datanets: f.datanets,
    method: f.method,
    params: f.params,
    pricePerRequest: f.pricePerRequest,
    pricePerOutputToken: f.pricePerOutputToken,
    ownerShareBps: f.ownerShareBps,
    providers: f.providers,
    artifact: f.artifact,
    training: f.training,
    status: f.training === null ? 'active' : 'training',
    weightsHash: null,
    job,
    createdHeight: ctx.height,
  };
}

export function modelRegister(
  ctx: BlockCtx,
  sender: Uint8Array,
  nonce: number,
  body: TxBody<'model.register'>,
): Uint8Array {
  const id = modelId(sender, nonce);
  if (ctx.s.model(id) !== undefined) throw txError('MODEL_EXISTS');
  const { name, ...fields } = body;
  const v = newVersion(ctx, id, 1, fields);
  ctx.gas.storeBytes(Buffer.byteLength(name));
  ctx.s.setModel({ id, owner: sender, name, latestVersion: 1, createdHeight: ctx.height });
  ctx.s.setModelVersion(v);
  ctx.sink.emit('model.registered', [sender], { model: id, owner: sender, version: 1, status: v.status });
  return id;
}

export function modelUpdate(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'model.update'>): void {
  const m = ctx.s.model(body.model);
  if (m === undefined) throw txError('MODEL_NOT_FOUND');
  if (!bytesEqual(m.owner, sender)) throw txError('NOT_MODEL_OWNER');
  const { model, ...fields } = body;
  const v = newVersion(ctx, model, m.latestVersion + 1, fields);
  m.latestVersion = v.version;
  ctx.s.setModel(m);
  ctx.s.setModelVersion(v);
  ctx.sink.emit('model.updated', [sender], {
    model: m.id,
    owner: sender,
    version: v.version,
    status: v.status,
  });
}

export function inferenceReceipt(
  ctx: BlockCtx,
  provider: Uint8Array,
  providerKey: Uint8Array,
  body: TxBody<'inference.receipt'>,
): Uint8Array {
  const r = body.request;
  if (r.chainId !== ctx.chainId) throw txError('REQUEST_WRONG_CHAIN');
  if (r.expiryHeight < ctx.height) {
    throw txError('REQUEST_EXPIRED', `request expired at height ${r.expiryHeight}, this is ${ctx.height}`);
  }
  if (ctx.s.model(r.model) === undefined) throw txError('MODEL_NOT_FOUND');
  const mv = ctx.s.modelVersion(r.model, r.modelVersion);
  if (mv === undefined || mv.status !== 'active') throw txError('MODEL_VERSION_NOT_ACTIVE');
  if (!mv.providers.some((p) => bytesEqual(p, provider))) throw txError('PROVIDER_NOT_AUTHORIZED');
  const bonded = ctx.s.provider(provider);
  if (bonded === undefined || bonded.bond === 0n || bonded.bond < ctx.params.providerBondMin) {
    throw txError(
      'PROVIDER_NOT_BONDED',
      `provider bond ${bonded?.bond ?? 0n} is below providerBondMin ${ctx.params.providerBondMin} (send provider.bond)`,
    );
  }
  if (BigInt(body.outputTokens) > ctx.params.outputTokensMax) throw txError('TOO_MANY_TOKENS');
  const price = mv.pricePerRequest + mv.pricePerOutputToken * BigInt(body.outputTokens);
  if (price > r.maxFee) throw txError('FEE_ABOVE_MAX', `price ${price} exceeds maxFee ${r.maxFee}`);
  const requester = addressOf(r.requester);
  if (ctx.s.requestNonceUsed(requester, r.nonce)) throw txError('REQUEST_NONCE_USED');
  const inputBytes = enc.encode(body.input).length;
  const outputBytes = enc.encode(body.output).length;
  ctx.gas.storeBytes(300 + inputBytes + outputBytes + 36 * body.retrieved.length);
  ctx.gas.use(GAS_PER_OUTPUT_TOKEN * body.outputTokens);
  ctx.gas.use(GAS_PER_SIGNATURE_CHECK * (body.ack === null ? 2 : 3));
  if (!verifyRequestSignature(r)) throw txError('BAD_REQUEST_SIGNATURE');
  const delivery = receiptDelivery(body);
  if (!verifyDelivery(delivery, providerKey, body.deliverySignature)) throw txError('BAD_DELIVERY_SIGNATURE');
  if (body.ack !== null && !verifyAck(delivery, r.requester, body.ack)) throw txError('BAD_ACK');
  // Chain-trained models: validators re-derive the output from the input (a mismatch fails the job).
  const rederived = mv.training !== null;
  const releaseHeight =
    body.ack !== null || rederived ? 0 : ctx.height + num(ctx.params.challengeWindowBlocks);
  const id = receiptId(requester, r.nonce);
  if (releaseHeight !== 0) {
    const queue = ctx.s.releases(releaseHeight);
    if (queue.length >= RELEASES_PER_HEIGHT_MAX) throw txError('RELEASE_QUEUE_FULL');
    ctx.s.setReleases(releaseHeight, [...queue, id]);
  }
  ctx.debit(requester, r.maxFee, 'REQUESTER_INSUFFICIENT_FUNDS');
  ctx.totals({ escrow: r.maxFee });
  ctx.s.markRequestNonce(requester, r.nonce);
  const job = ctx.createJob('attribution', id, mv.version);
  const receipt: Receipt = {
    id,
    requester,
    requestNonce: r.nonce,
    model: r.model,
    modelVersion: r.modelVersion,
    promptHash: r.promptHash,
    maxFee: r.maxFee,
    provider,
    input: body.input,
    output: body.output,
    retrieved: body.retrieved,
    inputTokens: body.inputTokens,
    outputTokens: body.outputTokens,
    escrow: r.maxFee,
    job,
    height: ctx.height,
    status: 'pending',
    requestHash: delivery.requestHash,
    acknowledged: body.ack !== null,
    releaseHeight,
  };
  ctx.s.setReceipt(receipt);
  ctx.sink.emit('inference.receipt', [requester, provider], {
    receipt: id,
    model: r.model,
    version: r.modelVersion,
    requester,
    provider,
    escrow: r.maxFee,
    job,
    acknowledged: body.ack !== null,
    releaseHeight,
  });
  return id;
}

// ---- settlement -----------------------------------------------------------------------------

function badResult(job: Job, why: string): never {
  throw blockError('BAD_JOB_RESULT', `job ${job.id} (${job.kind}): ${why}`);
}

/**
 * The payout weights of DESIGN §5 for a fee: treasury p, validators v, model owner m (its
 * ownerShareBps, bounded by ownerShareMaxBps and by 10000 − p − v), contributors the rest by
 * positive score; with no positive score the contributor share goes to the pinned datanets'
 * owners, one equal weight per datanet. All parts are weights over one common denominator, so
 * one `splitExact` gives the exact largest-remainder split over every party.
 */
export function payoutWeights(
  ctx: BlockCtx,
  mv: ModelVersion,
  modelOwner: Uint8Array,
  positive: readonly { contributor: Uint8Array; score: bigint }[],
): Weighted[] {
  const p = ctx.params.feeTreasuryBps;
  const v = ctx.params.feeValidatorsBps;
  let m = BigInt(mv.ownerShareBps);
  if (m > ctx.params.ownerShareMaxBps) m = ctx.params.ownerShareMaxBps;
  if (m > BPS - p - v) m = BPS - p - v;
  const c = BPS - p - v - m;
  let total = 0n;
  for (const s of positive) total += s.score;
  const weights: Weighted[] = [];
  if (total > 0n) {
    for (const s of positive) weights.push({ address: s.contributor, weight: c * s.score });
  } else {
    total = BigInt(mv.datanets.length);
    for (const pin of mv.datanets) weights.push({ address: ctx.s.datanet(pin.datanet)!.owner, weight: c });
  }
  weights.push({ address: TREASURY_ADDRESS, weight: p * total });
  weights.push({ address: VALIDATORS_POOL_ADDRESS, weight: v * total });
  weights.push({ address: modelOwner, weight: m * total });
  return weights;
}

/** Credits a settled fee's shares and emits their payout events; returns the treasury part. */
function payShares(
  ctx: BlockCtx,
  receipt: Receipt,
  payouts: readonly Payout[],
  owner: Uint8Array,
  positive: readonly Uint8Array[],
): bigint {
  let toTreasury = 0n;
  for (const sh of payouts) {
    let role: string;
    if (bytesEqual(sh.address, TREASURY_ADDRESS)) {
      toTreasury += sh.amount;
      role = 'treasury';
    } else if (bytesEqual(sh.address, VALIDATORS_POOL_ADDRESS)) {
      ctx.rewardPool += sh.amount;
      role = 'validators';
    } else {
      ctx.credit(sh.address, sh.amount);
      const roles: string[] = [];
      if (bytesEqual(sh.address, owner)) roles.push('owner');
      if (positive.some((p) => bytesEqual(p, sh.address))) roles.push('contributor');
      if (positive.length === 0 && !roles.includes('owner')) roles.push('datanetOwner');
      role = roles.join('+') || 'datanetOwner';
    }
    ctx.sink.emit('payout', [sh.address], { receipt: receipt.id, to: sh.address, amount: sh.amount, role });
  }
  return toTreasury;
}

export function applyAttributionResult(ctx: BlockCtx, job: Job, r: JobResult): void {
  const receipt = ctx.s.receipt(job.subject);
  if (receipt === undefined || (receipt.status !== 'pending' && receipt.status !== 'challenged'))
    throw new Error(`job ${job.id}: receipt is not pending`);
  // weightsHash is informational here (influence results name the model's weights); not stored.
  if (r.duplicateOf !== null) badResult(job, 'an attribution result carries no duplicateOf');
  const mv = ctx.s.modelVersion(receipt.model, receipt.modelVersion)!;
  const owner = ctx.s.model(receipt.model)!.owner;
  const requester = receipt.requester;
  let fee = 0n;
  let payouts: Payout[] = [];
  const positive: { contributor: Uint8Array; score: bigint }[] = [];
  if (r.ok) {
    for (let i = 0; i < r.scores.length; i++) {
      const s = r.scores[i];
      if (i > 0 && compareBytes(r.scores[i - 1].contribution, s.contribution) >= 0) {
        badResult(job, 'scores must be sorted by contribution id, without repeats');
      }
      const c = ctx.s.contribution(s.contribution);
      const pin = c === undefined ? undefined : mv.datanets.find((p) => bytesEqual(p.datanet, c.datanet));
      if (c === undefined || pin === undefined || c.status !== 'accepted' || c.seq > pin.version) {
        badResult(job, `contribution 0x${toHex(s.contribution)} is not in the pinned corpus`);
      }
      if (s.score > 0) positive.push({ contributor: c.contributor, score: BigInt(s.score) });
    }
    for (const e of r.evidence)
      if (e.outputEnd < e.outputStart) badResult(job, 'evidence span ends before it starts');
  }
  if (receipt.status === 'challenged') {
    // A fraud proof came in the receipt's own block: the fee is already back with the requester.
    ctx.s.setAttribution({
      receipt: receipt.id,
      job: job.id,
      ok: r.ok,
      error: 'FRAUD_PROVEN',
      scores: r.scores,
      evidence: r.evidence,
      tokens: r.tokens,
      fee: 0n,
      refund: receipt.maxFee,
      payouts: [],
      height: ctx.height,
    });
    return;
  }
  const hold = r.ok && receipt.releaseHeight !== 0;
  if (r.ok) {
    const price = mv.pricePerRequest + mv.pricePerOutputToken * BigInt(r.tokens);
    fee = price < receipt.maxFee ? price : receipt.maxFee;
    const shares = splitExact(fee, payoutWeights(ctx, mv, owner, positive));
    for (const sh of shares) if (sh.amount > 0n) payouts.push({ address: sh.address, amount: sh.amount });
    if (!hold) {
      const toTreasury = payShares(
        ctx,
        receipt,
        payouts,
        owner,
        positive.map((p) => p.contributor),
      );
      ctx.totals({ escrow: -receipt.escrow, treasury: toTreasury });
    } else {
      // Unacknowledged: the fee stays in escrow until the end of the challenge window.
      ctx.totals({ escrow: fee - receipt.escrow });
    }
  } else {
    payouts = [];
    ctx.totals({ escrow: -receipt.escrow });
  }
  const refund = receipt.escrow - fee;
  ctx.credit(requester, refund);
  if (refund > 0n)
    ctx.sink.emit('refund', [requester], { receipt: receipt.id, to: requester, amount: refund });
  ctx.s.setAttribution({
    receipt: receipt.id,
    job: job.id,
    ok: r.ok,
    error: r.error,
    scores: r.scores,
    evidence: r.evidence,
    tokens: r.tokens,
    fee,
    refund,
    payouts,
    height: ctx.height,
  });
  if (hold) {
    receipt.status = 'held';
    receipt.escrow = fee;
    ctx.sink.emit('inference.held', [requester, receipt.provider], {
      receipt: receipt.id,
      fee,
      releaseHeight: receipt.releaseHeight,
    });
  } else {
    receipt.status = r.ok ? 'settled' : 'refunded';
    receipt.escrow = 0n;
  }
  ctx.s.setReceipt(receipt);
}

/**
 * End block: pays the held receipts whose challenge window ends at this height (their payouts
 * were computed at settlement; nothing was challenged). Runs before the block rewards, so the
 * validators' shares join this block's pool.
 */
export function releaseHeldReceipts(ctx: BlockCtx): void {
  const ids = ctx.s.releases(ctx.height);
  if (ids.length === 0) return;
  for (const id of ids) {
    const receipt = ctx.s.receipt(id);
    if (receipt === undefined || receipt.status !== 'held') continue; // refunded or challenged
    const att = ctx.s.attribution(id)!;
    const owner = ctx.s.model(receipt.model)!.owner;
    const positive: Uint8Array[] = [];
    for (const sc of att.scores)
      if (sc.score > 0) positive.push(ctx.s.contribution(sc.contribution)!.contributor);
    const toTreasury = payShares(ctx, receipt, att.payouts, owner, positive);
    ctx.totals({ escrow: -receipt.escrow, treasury: toTreasury });
    receipt.escrow = 0n;
    receipt.status = 'settled';
    ctx.s.setReceipt(receipt);
    ctx.sink.emit('inference.released', [receipt.requester, receipt.provider], {
      receipt: id,
      fee: att.fee,
    });
  }
  ctx.s.setReleases(ctx.height, []);
}

export function applyTrainingResult(ctx: BlockCtx, job: Job, r: JobResult): void {
  const mv = ctx.s.modelVersion(job.subject, job.version);
  if (mv === undefined || mv.status !== 'training')
    throw new Error(`job ${job.id}: model version is not training`);
  if (r.scores.length > 0 || r.evidence.length > 0 || r.duplicateOf !== null) {
    badResult(job, 'a training result carries only the weights hash');
  }
  if (r.ok && r.weightsHash === null) badResult(job, 'a successful training result needs the weights hash');
  if (r.ok) {
    mv.status = 'active';
    mv.weightsHash = r.weightsHash;
    ctx.sink.emit('model.activated', [], {
      model: mv.model,
      version: mv.version,
      weightsHash: r.weightsHash,
    });
  } else {
    mv.status = 'failed';
    ctx.sink.emit('model.trainingFailed', [], { model: mv.model, version: mv.version, error: r.error });
  }
  ctx.s.setModelVersion(mv);
}
