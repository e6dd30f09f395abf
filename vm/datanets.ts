import { bytesEqual, toHex } from '../core/bytes.js';
import { encodeWire } from '../core/codec.js';
import { sha256 } from '../core/hash.js';
import { CONTRIBUTION_BYTES_MAX, type JobResult, type TxBody } from '../core/tx.js';
import type { Contribution, Datanet, Job } from '../state/stores/records.js';
import type { BlockCtx } from './context.js';
import { blockError, txError } from './errors.js';
import { GAS_PER_CHECKED_BYTE } from './gas.js';

/**
 * Datanets and contributions (consensus-critical).
 *
 * Lifecycle of a contribution: `datanet.contribute` escrows the datanet's bond and creates a
 * near-duplicate job (status `checking`). Its result, in the next block's settle:
 * - open curation: passes → `accepted` (version + 1, bond returned); near-duplicate → `rejected`
 *   (ok = false with NEAR_DUPLICATE, or duplicateOf with covered ≥ the pinned threshold:
 *   rejectForfeitBps of the bond to the treasury, the rest returned); any other failed check
 *   (ok = false) → `rejected` with the whole bond returned (not the contributor's fault);
 * - owner / curators curation: → `pending` either way, with the finding (duplicateOf, coveredBps,
 *   note) recorded for the reviewer, who decides with `datanet.review`.
 * Exact duplicates (same content hash in the same datanet, whatever its status) are refused.
 */

const enc = new TextEncoder();
const BPS = 10_000n;

export function datanetId(creator: Uint8Array, nonce: number): Uint8Array {
  return sha256(encodeWire(['ol/datanet', creator, nonce]));
}

export function contributionId(datanet: Uint8Array, contentHash: Uint8Array): Uint8Array {
  return sha256(encodeWire(['ol/contribution', datanet, contentHash]));
}

function unique<T>(items: readonly T[], key: (x: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}

export function datanetCreate(
  ctx: BlockCtx,
  sender: Uint8Array,
  nonce: number,
  body: TxBody<'datanet.create'>,
): Uint8Array {
  const id = datanetId(sender, nonce);
  if (ctx.s.datanet(id) !== undefined) throw txError('DATANET_EXISTS');
  const curatorsOk =
    unique(body.curators, (a) => toHex(a)) &&
    (body.curation === 'curators' ? body.curators.length > 0 : body.curators.length === 0);
  if (!curatorsOk) throw txError('BAD_CURATORS');
  if (!unique(body.labels, (x) => x) || body.labels.includes('')) throw txError('BAD_LABELS');
  if (!unique(body.tags, (x) => x)) throw txError('BAD_TAGS');
  let bytes = 200 + 20 * body.curators.length;
  for (const t of [body.name, body.description, body.license, ...body.tags, ...body.labels])
    bytes += Buffer.byteLength(t);
  ctx.gas.storeBytes(bytes);
  const d: Datanet = {
    id,
    owner: sender,
    name: body.name,
    description: body.description,
    license: body.license,
    tags: body.tags,
    curation: body.curation,
    curators: body.curators,
    bond: body.bond,
    rejectForfeitBps: body.rejectForfeitBps,
    contributionBytesMax:
      body.contributionBytesMax === 0 ? CONTRIBUTION_BYTES_MAX : body.contributionBytesMax,
    labels: body.labels,
    version: 0,
    submitted: 0,
    createdHeight: ctx.height,
  };
  ctx.s.setDatanet(d);
  ctx.sink.emit('datanet.created', [sender], { datanet: id, owner: sender });
  return id;
}

export function datanetContribute(
  ctx: BlockCtx,
  sender: Uint8Array,
  body: TxBody<'datanet.contribute'>,
): Uint8Array {
  const d = ctx.s.datanet(body.datanet);
  if (d === undefined) throw txError('DATANET_NOT_FOUND');
  if (body.content.length === 0) throw txError('EMPTY_CONTRIBUTION');
  const bytes = enc.encode(body.content);
  if (bytes.length > d.contributionBytesMax) {
    throw txError(
      'CONTRIBUTION_TOO_LARGE',
      `${bytes.length} bytes, the datanet allows ${d.contributionBytesMax}`,
    );
  }
  if (d.labels.length > 0 ? !d.labels.includes(body.label) : body.label !== '') throw txError('BAD_LABEL');
  const contentHash = sha256(bytes);
  if (ctx.s.contributionIdByHash(d.id, contentHash) !== undefined) throw txError('DUPLICATE_CONTRIBUTION');
  ctx.gas.storeBytes(bytes.length + 200);
  ctx.gas.use(GAS_PER_CHECKED_BYTE * bytes.length);
  const id = contributionId(d.id, contentHash);
  ctx.debit(sender, d.bond);
  const job = ctx.createJob('nearDuplicate', id, d.version, Number(ctx.params.nearDuplicateBps));
  ctx.totals({ escrow: d.bond });
  d.submitted++;
  ctx.s.setDatanet(d);
  ctx.s.setContributionIdByHash(d.id, contentHash, id);
  ctx.s.setContent(id, body.content);
  ctx.s.setContribution({
    id,
    datanet: d.id,
    contributor: sender,
    contentHash,
    label: body.label,
    sizeBytes: bytes.length,
    bond: d.bond,
    status: 'checking',
    seq: 0,
    submittedHeight: ctx.height,
    decidedHeight: 0,
    job,
    duplicateOf: null,
    coveredBps: 0,
    note: '',
  });
  ctx.sink.emit('contribution.submitted', [sender], {
    contribution: id,
    datanet: d.id,
    contributor: sender,
    bond: d.bond,
    job,
  });
  return id;
}

export function datanetReview(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'datanet.review'>): void {
  const c = ctx.s.contribution(body.contribution);
  if (c === undefined) throw txError('CONTRIBUTION_NOT_FOUND');
  const d = ctx.s.datanet(c.datanet)!;
  if (d.curation === 'open') throw txError('OPEN_CURATION');
  const allowed =
    bytesEqual(sender, d.owner) ||
    (d.curation === 'curators' && d.curators.some((a) => bytesEqual(a, sender)));
  if (!allowed) throw txError('NOT_CURATOR');
  if (c.status !== 'pending') throw txError('CONTRIBUTION_NOT_PENDING', `the contribution is ${c.status}`);
  if (body.accept) acceptContribution(ctx, c, d);
  else rejectContribution(ctx, c, d, body.reason, BigInt(d.rejectForfeitBps));
}

function acceptContribution(ctx: BlockCtx, c: Contribution, d: Datanet): void {
  d.version++;
  c.seq = d.version;
  c.status = 'accepted';
  c.decidedHeight = ctx.height;
  ctx.s.setAcceptedAt(d.id, d.version, c.id);
  releaseBond(ctx, c, 0n);
  ctx.s.setDatanet(d);
  ctx.s.setContribution(c);
  ctx.sink.emit('contribution.accepted', [c.contributor, d.owner], {
    contribution: c.id,
    datanet: d.id,
    contributor: c.contributor,
    version: d.version,
  });
}

function rejectContribution(
  ctx: BlockCtx,
  c: Contribution,
  d: Datanet,
  reason: string,
  forfeitBps: bigint,
): void {
  const forfeited = releaseBond(ctx, c, forfeitBps);
  c.status = 'rejected';
  c.decidedHeight = ctx.height;
  c.note = reason;
  ctx.s.setContribution(c);
  ctx.sink.emit('contribution.rejected', [c.contributor, d.owner], {
    contribution: c.id,
    datanet: d.id,
    contributor: c.contributor,
    forfeited,
    reason,
  });
}

/** Returns the bond from escrow: forfeitBps of it to the treasury, the rest to the contributor. */
function releaseBond(ctx: BlockCtx, c: Contribution, forfeitBps: bigint): bigint {
  const forfeited = (c.bond * forfeitBps) / BPS;
  ctx.credit(c.contributor, c.bond - forfeited);
  ctx.totals({ escrow: -c.bond, treasury: forfeited });
  c.bond = 0n;
  return forfeited;
}

/** The attribution engine's error for a contribution covered at or above the threshold. */
export const NEAR_DUPLICATE_ERROR = 'NEAR_DUPLICATE';

/**
 * Applies a near-duplicate job result (settle). A near-duplicate finding is either
 * `ok = false` with error NEAR_DUPLICATE (the engine applied the pinned threshold), or `ok = true`
 * with `duplicateOf` set and `tokens` (covered share, bps) ≥ the pinned threshold. Any other
 * `ok = false` is a failed check. A result that breaks the rules invalidates the block.
 */
export function applyNearDuplicateResult(ctx: BlockCtx, job: Job, r: JobResult): void {
  const c = ctx.s.contribution(job.subject);
  if (c === undefined || c.status !== 'checking')
    throw new Error(`job ${job.id}: contribution is not being checked`);
  const d = ctx.s.datanet(c.datanet)!;
  if (r.weightsHash !== null || r.scores.length > 0 || r.evidence.length > 0) {
    throw blockError(
      'BAD_JOB_RESULT',
      `job ${job.id}: a near-duplicate result carries only duplicateOf and tokens`,
    );
  }
  const flagged = !r.ok && r.error === NEAR_DUPLICATE_ERROR;
  const finding = r.ok || flagged;
  if (finding && r.tokens > 10_000)
    throw blockError('BAD_JOB_RESULT', `job ${job.id}: covered share above 10000 bps`);
  if (finding && r.duplicateOf !== null) {
    const orig = ctx.s.contribution(r.duplicateOf);
    if (
      orig === undefined ||
      !bytesEqual(orig.datanet, d.id) ||
      orig.status !== 'accepted' ||
      orig.seq > job.version
    ) {
      throw blockError('BAD_JOB_RESULT', `job ${job.id}: duplicateOf is not in the checked corpus`);
    }
  }
  const isDuplicate = flagged || (r.ok && r.duplicateOf !== null && r.tokens >= job.thresholdBps);
  c.duplicateOf = finding ? r.duplicateOf : null;
  c.coveredBps = finding ? r.tokens : 0;
  const original = r.duplicateOf === null ? 'accepted data' : `0x${toHex(r.duplicateOf)}`;
  const note = isDuplicate
    ? `near-duplicate of ${original} (${r.tokens} bps)`
    : finding
      ? ''
      : `check-failed: ${r.error}`;
  if (d.curation === 'open') {
    if (isDuplicate) rejectContribution(ctx, c, d, note, BigInt(d.rejectForfeitBps));
    else if (!finding) rejectContribution(ctx, c, d, note, 0n);
    else acceptContribution(ctx, c, d);
    return;
  }
  c.status = 'pending';
  c.note = note;
  ctx.s.setContribution(c);
  ctx.sink.emit('contribution.pending', [c.contributor, d.owner], {
    contribution: c.id,
    datanet: d.id,
    duplicateOf: c.duplicateOf,
    coveredBps: c.coveredBps,
  });
}
