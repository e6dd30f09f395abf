import { addressOf } from '../core/address.js';
import {
  type Evidence,
  proposalsDiffer,
  verifyProposalSignature,
  verifyVoteSignature,
} from '../core/block.js';
import { bytesEqual, compareBytes } from '../core/bytes.js';
import { isValidPublicKey } from '../core/keys.js';
import type { TxBody } from '../core/tx.js';
import {
  DELEGATIONS_PER_DELEGATOR_MAX,
  type Delegation,
  UNBONDINGS_PER_HEIGHT_MAX,
  UNBONDINGS_PER_VALIDATOR_MAX,
  VALIDATOR_CANDIDATES_MAX,
  type Validator,
  type ValidatorSetEntry,
} from '../state/stores/records.js';
import type { BlockCtx } from './context.js';
import { blockError, txError } from './errors.js';
import { num } from './params.js';
import { splitExact } from './split.js';

/**
 * Proof of stake (consensus-critical): validators, delegations with shares, O(1) reward-per-share
 * accounting with commission, unbonding queue, slashing and jailing, and the validator set.
 *
 * Shares: a validator has `tokens` bonded and `shares` outstanding; a delegation of s shares is
 * worth s × tokens / shares. Slashing cuts tokens, not shares, so every delegator loses alike.
 * Rewards: `rewardPerShare` grows by reward × REWARD_PRECISION / shares; a delegation's
 * `rewardDebt` is kept in the same scaled units, and a withdrawal pays floor(accrued / PRECISION)
 * and keeps the sub-unit rest, so the sum paid never exceeds what was credited.
 */

export const REWARD_PRECISION = 10n ** 24n;
/** 1 OPEN bonded = 1 unit of voting power. */
export const POWER_UNIT = 10n ** 18n;
const BPS = 10_000n;
/** jailedUntil of a tombstoned validator. */
const FOREVER = Number.MAX_SAFE_INTEGER;

export function delegationValue(v: Validator, shares: bigint): bigint {
  return v.shares === 0n ? 0n : (shares * v.tokens) / v.shares;
}

/** Pays a delegation's accrued rewards to the delegator. Mutates `d` (caller writes it). */
export function settleRewards(ctx: BlockCtx, v: Validator, delegator: Uint8Array, d: Delegation): bigint {
  const accrued = d.shares * v.rewardPerShare - d.rewardDebt;
  const paid = accrued / REWARD_PRECISION;
  if (paid > 0n) {
    ctx.credit(delegator, paid);
    ctx.totals({ rewards: -paid });
    ctx.sink.emit('rewards.withdrawn', [delegator, v.address], {
      validator: v.address,
      delegator,
      amount: paid,
    });
  }
  d.rewardDebt += paid * REWARD_PRECISION;
  return paid;
}

function insertSorted(list: Uint8Array[], item: Uint8Array): Uint8Array[] {
  const out = list.slice();
  let i = 0;
  while (i < out.length && compareBytes(out[i], item) < 0) i++;
  if (i < out.length && bytesEqual(out[i], item)) return out;
  out.splice(i, 0, item);
  return out;
}

/** Bonds `amount` (already taken from the delegator) to `v`. Mutates and writes `v`. */
export function bond(ctx: BlockCtx, v: Validator, delegator: Uint8Array, amount: bigint): bigint {
  if (v.shares > 0n && v.tokens === 0n) throw txError('VALIDATOR_WIPED');
  const newShares = v.shares === 0n ? amount : (amount * v.shares) / v.tokens;
  if (newShares === 0n) throw txError('AMOUNT_TOO_SMALL');
  let d = ctx.s.delegation(v.address, delegator);
  if (d === undefined) {
    const list = ctx.s.delegatorValidators(delegator);
    if (list.length >= DELEGATIONS_PER_DELEGATOR_MAX) throw txError('TOO_MANY_DELEGATIONS');
    ctx.s.setDelegatorValidators(delegator, insertSorted(list, v.address));
    d = { shares: 0n, rewardDebt: 0n };
  } else {
    settleRewards(ctx, v, delegator, d);
  }
  d.shares += newShares;
  d.rewardDebt = d.shares * v.rewardPerShare;
  v.tokens += amount;
  v.shares += newShares;
  ctx.s.setDelegation(v.address, delegator, d);
  ctx.s.setValidator(v);
  ctx.totals({ bonded: amount });
  ctx.stakingDirty = true;
  ctx.sink.emit('delegated', [delegator, v.address], {
    validator: v.address,
    delegator,
    amount,
    shares: newShares,
  });
  return newShares;
}

export function validatorCreate(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'validator.create'>): void {
  if (!isValidPublicKey(body.consensusKey)) throw txError('BAD_CONSENSUS_KEY');
  const address = addressOf(body.consensusKey);
  if (ctx.s.validator(address) !== undefined) throw txError('VALIDATOR_EXISTS');
  if (ctx.s.operatorValidator(sender) !== undefined) throw txError('OPERATOR_HAS_VALIDATOR');
  if (body.selfStake === 0n || body.selfStake < ctx.params.minSelfStake) {
    throw txError('SELF_STAKE_TOO_LOW', `selfStake must be at least ${ctx.params.minSelfStake} and positive`);
  }
  const list = ctx.s.validatorList();
  if (list.length >= VALIDATOR_CANDIDATES_MAX) throw txError('TOO_MANY_VALIDATORS');
  ctx.gas.storeBytes(200 + Buffer.byteLength(body.moniker));
  ctx.debit(sender, body.selfStake);
  const v: Validator = {
    address,
    operator: sender,
    consensusKey: body.consensusKey,
    commissionBps: body.commissionBps,
    moniker: body.moniker,
    tokens: 0n,
    shares: 0n,
    rewardPerShare: 0n,
    jailed: false,
    jailedUntil: 0,
    tombstoned: false,
    createdHeight: ctx.height,
  };
  ctx.s.setValidatorList(insertSorted(list, address));
  ctx.s.setOperatorValidator(sender, address);
  ctx.sink.emit('validator.created', [address, sender], {
    validator: address,
    operator: sender,
    selfStake: body.selfStake,
  });
  bond(ctx, v, sender, body.selfStake);
}

export function stakeDelegate(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'stake.delegate'>): void {
  if (body.amount === 0n) throw txError('ZERO_AMOUNT');
  const v = ctx.s.validator(body.validator);
  if (v === undefined) throw txError('VALIDATOR_NOT_FOUND');
  ctx.debit(sender, body.amount);
  bond(ctx, v, sender, body.amount);
}

export function stakeUndelegate(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'stake.undelegate'>): void {
  if (body.amount === 0n) throw txError('ZERO_AMOUNT');
  const v = ctx.s.validator(body.validator);
  if (v === undefined) throw txError('VALIDATOR_NOT_FOUND');
  const d = ctx.s.delegation(v.address, sender);
  if (d === undefined) throw txError('NO_DELEGATION');
  const value = delegationValue(v, d.shares);
  if (body.amount > value) {
    throw txError('INSUFFICIENT_DELEGATION', `undelegating ${body.amount}, the delegation is worth ${value}`);
  }
  let burn = body.amount === value ? d.shares : (body.amount * v.shares + v.tokens - 1n) / v.tokens;
  if (burn > d.shares) burn = d.shares;
  const completionHeight = ctx.height + num(ctx.params.unbondingBlocks);
  const queue = ctx.s.unbondingQueue(completionHeight);
  const byValidator = ctx.s.validatorUnbondings(v.address);
  if (queue.length >= UNBONDINGS_PER_HEIGHT_MAX || byValidator.length >= UNBONDINGS_PER_VALIDATOR_MAX) {
    throw txError('UNBONDING_QUEUE_FULL');
  }
  settleRewards(ctx, v, sender, d);
  d.shares -= burn;
  d.rewardDebt = d.shares * v.rewardPerShare;
  v.shares -= burn;
  v.tokens -= body.amount;
  if (d.shares === 0n) {
    ctx.s.deleteDelegation(v.address, sender);
    ctx.s.setDelegatorValidators(
      sender,
      ctx.s.delegatorValidators(sender).filter((a) => !bytesEqual(a, v.address)),
    );
  } else {
    ctx.s.setDelegation(v.address, sender, d);
  }
  if (bytesEqual(sender, v.operator) && !v.jailed && delegationValue(v, d.shares) < ctx.params.minSelfStake) {
    jail(ctx, v, ctx.height, 'selfStake');
  }
  ctx.s.setValidator(v);
  const c = ctx.s.counters();
  const id = c.nextUnbonding++;
  ctx.s.setCounters(c);
  ctx.s.setUnbonding({
    id,
    delegator: sender,
    validator: v.address,
    creationHeight: ctx.height,
    completionHeight,
    initialAmount: body.amount,
    balance: body.amount,
  });
  ctx.s.setUnbondingQueue(completionHeight, [...queue, id]);
  ctx.s.setValidatorUnbondings(v.address, [...byValidator, id]);
  ctx.totals({ bonded: -body.amount, unbonding: body.amount });
  ctx.stakingDirty = true;
  ctx.sink.emit('undelegated', [sender, v.address], {
    validator: v.address,
    delegator: sender,
    amount: body.amount,
    unbonding: id,
    completionHeight,
  });
}

export function stakeWithdrawRewards(
  ctx: BlockCtx,
  sender: Uint8Array,
  body: TxBody<'stake.withdrawRewards'>,
): void {
  const v = ctx.s.validator(body.validator);
  if (v === undefined) throw txError('VALIDATOR_NOT_FOUND');
  const d = ctx.s.delegation(v.address, sender);
  if (d === undefined) throw txError('NO_DELEGATION');
  settleRewards(ctx, v, sender, d);
  ctx.s.setDelegation(v.address, sender, d);
}

export function validatorUnjail(ctx: BlockCtx, sender: Uint8Array): void {
  const address = ctx.s.operatorValidator(sender);
  if (address === undefined) throw txError('NOT_OPERATOR');
  const v = ctx.s.validator(address)!;
  if (v.tombstoned) throw txError('TOMBSTONED');
  if (!v.jailed) throw txError('NOT_JAILED');
  if (ctx.height < v.jailedUntil) {
    throw txError('JAIL_NOT_EXPIRED', `jailed until height ${v.jailedUntil}, this is ${ctx.height}`);
  }
  const self = ctx.s.delegation(v.address, sender);
  const selfValue = self === undefined ? 0n : delegationValue(v, self.shares);
  if (selfValue === 0n || selfValue < ctx.params.minSelfStake) {
    throw txError('SELF_STAKE_TOO_LOW', `self-stake ${selfValue} is below minSelfStake`);
  }
  v.jailed = false;
  v.jailedUntil = 0;
  ctx.s.setValidator(v);
  ctx.stakingDirty = true;
  ctx.sink.emit('validator.unjailed', [v.address, v.operator], { validator: v.address });
}

// ---- block steps ----------------------------------------------------------------------------

export function jail(ctx: BlockCtx, v: Validator, until: number, reason: string): void {
  v.jailed = true;
  v.jailedUntil = until;
  ctx.stakingDirty = true;
  ctx.sink.emit('validator.jailed', [v.address, v.operator], {
    validator: v.address,
    reason,
    jailedUntil: until,
  });
}

/**
 * Burns `bps` of a validator's bonded tokens and, for an infraction at `infractionHeight`, of its
 * unbonding entries created after that height (that stake was bonded when the fault happened).
 * Mutates `v` (caller writes it).
 */
export function slash(
  ctx: BlockCtx,
  v: Validator,
  bps: bigint,
  infractionHeight: number | null,
  reason: string,
): void {
  const cut = (v.tokens * bps) / BPS;
  v.tokens -= cut;
  let burned = cut;
  let unbondingCut = 0n;
  if (infractionHeight !== null) {
    for (const id of ctx.s.validatorUnbondings(v.address)) {
      const u = ctx.s.unbonding(id);
      if (u === undefined || u.creationHeight <= infractionHeight) continue;
      const c = (u.balance * bps) / BPS;
      if (c === 0n) continue;
      u.balance -= c;
      unbondingCut += c;
      ctx.s.setUnbonding(u);
    }
  }
  burned += unbondingCut;
  ctx.totals({ bonded: -cut, unbonding: -unbondingCut, burned });
  ctx.stakingDirty = true;
  ctx.sink.emit('validator.slashed', [v.address, v.operator], {
    validator: v.address,
    amount: burned,
    reason,
  });
}

/**
 * The oldest offence height `height` still punishes: evidence is accepted while its age
 * (`height − offence height`) is at most `evidenceMaxAgeBlocks` and at most `unbondingBlocks`
 * (issue 18: with 1,000 vs 100 by default, evidence could arrive after the stake bonded at the
 * offence had unbonded and been paid out). Within the unbonding period every unbonding entry created
 * after the offence is still queued (it completes at creation + unbondingBlocks > offence +
 * unbondingBlocks ≥ height), so slashing reaches all of the stake that was bonded at the offence.
 */
export function evidenceMaxAge(params: { evidenceMaxAgeBlocks: bigint; unbondingBlocks: bigint }): number {
  return Math.min(num(params.evidenceMaxAgeBlocks), num(params.unbondingBlocks)); // exact on integers
}

/**
 * Double-sign evidence (begin block): duplicate votes or duplicate proposals; verify, slash,
 * tombstone. Bad evidence invalidates the block with a typed `BlockError`: `BAD_EVIDENCE`
 * (malformed, unsigned, not conflicting, unknown validator, future height), `EVIDENCE_TOO_OLD`
 * (`evidenceMaxAge`), `EVIDENCE_ALREADY_PUNISHED` (the validator is tombstoned: a second piece
 * could slash nothing, so a proposer must not pad blocks with it).
 */
export function processEvidence(ctx: BlockCtx, evidence: readonly Evidence[]): void {
  const maxAge = evidenceMaxAge(ctx.params);
  for (const [i, e] of evidence.entries()) {
    const where = `evidence[${i}]`;
    let height: number;
    let offender: Uint8Array;
    let round: number;
    if (e.kind === 'duplicateVote') {
      const a = e.voteA;
      const b = e.voteB;
      if (
        !bytesEqual(a.validator, b.validator) ||
        a.height !== b.height ||
        a.round !== b.round ||
        a.kind !== b.kind
      ) {
        throw blockError(
          'BAD_EVIDENCE',
          `${where}: the votes are not from one validator at one (height, round, kind)`,
        );
      }
      const sameHash =
        (a.blockHash === null && b.blockHash === null) ||
        (a.blockHash !== null && b.blockHash !== null && bytesEqual(a.blockHash, b.blockHash));
      if (sameHash) throw blockError('BAD_EVIDENCE', `${where}: the votes do not conflict`);
      [height, offender, round] = [a.height, a.validator, a.round];
    } else if (e.kind === 'duplicateProposal') {
      const a = e.proposalA;
      const b = e.proposalB;
      if (!bytesEqual(a.proposer, b.proposer) || a.height !== b.height || a.round !== b.round) {
        throw blockError(
          'BAD_EVIDENCE',
          `${where}: the proposals are not from one proposer at one (height, round)`,
        );
      }
      if (!proposalsDiffer(a, b)) throw blockError('BAD_EVIDENCE', `${where}: the proposals are the same`);
      [height, offender, round] = [a.height, a.proposer, a.round];
    } else {
      throw blockError('BAD_EVIDENCE', `${where}: unknown kind`);
    }
    if (height >= ctx.height) {
      throw blockError(
        'BAD_EVIDENCE',
        `${where}: height ${height} is not below the block height ${ctx.height}`,
      );
    }
    if (ctx.height - height > maxAge) {
      throw blockError(
        'EVIDENCE_TOO_OLD',
        `${where}: offence at height ${height} is ${ctx.height - height} blocks old; at most ${maxAge} (min of evidenceMaxAgeBlocks and unbondingBlocks)`,
      );
    }
    const v = ctx.s.validator(offender);
    if (v === undefined) throw blockError('BAD_EVIDENCE', `${where}: unknown validator`);
    const signed =
      e.kind === 'duplicateVote'
        ? verifyVoteSignature(ctx.chainId, e.voteA, v.consensusKey) &&
          verifyVoteSignature(ctx.chainId, e.voteB, v.consensusKey)
        : verifyProposalSignature(ctx.chainId, e.proposalA, v.consensusKey) &&
          verifyProposalSignature(ctx.chainId, e.proposalB, v.consensusKey);
    if (!signed) throw blockError('BAD_EVIDENCE', `${where}: a signature does not verify`);
    if (v.tombstoned) {
      throw blockError(
        'EVIDENCE_ALREADY_PUNISHED',
        `${where}: validator 0x${Buffer.from(v.address).toString('hex')} is already tombstoned (round ${round} of height ${height})`,
      );
    }
    const reason = e.kind === 'duplicateVote' ? 'doubleSign' : 'doubleProposal';
    slash(ctx, v, ctx.params.slashDoubleSignBps, height, reason);
    v.tombstoned = true;
    if (!v.jailed || v.jailedUntil !== FOREVER) {
      v.jailed = true;
      v.jailedUntil = FOREVER;
      ctx.sink.emit('validator.jailed', [v.address, v.operator], {
        validator: v.address,
        reason,
        jailedUntil: FOREVER,
      });
    }
    ctx.s.setValidator(v);
  }
}

/**
 * Downtime (begin block h): the last commit signs block h−1, so it is checked against the set of
 * h−1. Bit (h−1) mod Y of each validator's window records a miss; only changed windows are written.
 * Missing more than X of the last Y commits slashes slashDowntimeBps and jails.
 */
export function processDowntime(ctx: BlockCtx, signers: readonly Uint8Array[] | null): void {
  if (signers === null || ctx.height < 2) return;
  const set = ctx.s.validatorSet(ctx.height - 1);
  if (set === undefined) return;
  const signed = new Set<string>();
  for (const s of signers) signed.add(Buffer.from(s).toString('latin1'));
  const window = num(ctx.params.downtimeWindow);
  const idx = (ctx.height - 1) % window;
  for (const entry of set) {
    const missedNow = !signed.has(Buffer.from(entry.address).toString('latin1'));
    let m = ctx.s.missed(entry.address);
    if (m === undefined || m.windowSize !== window) {
      if (!missedNow && m === undefined) continue;
      m = { windowSize: window, count: 0, bits: new Uint8Array(Math.ceil(window / 8)) };
    }
    const byte = idx >> 3;
    const mask = 1 << (idx & 7);
    const was = (m.bits[byte] & mask) !== 0;
    if (was === missedNow) continue;
    if (missedNow) {
      m.bits[byte] |= mask;
      m.count++;
    } else {
      m.bits[byte] &= ~mask;
      m.count--;
    }
    if (m.count > num(ctx.params.downtimeMissedMax)) {
      const v = ctx.s.validator(entry.address);
      if (v !== undefined && !v.jailed) {
        slash(ctx, v, ctx.params.slashDowntimeBps, null, 'downtime');
        jail(ctx, v, ctx.height + num(ctx.params.downtimeJailBlocks), 'downtime');
        ctx.s.setValidator(v);
      }
      m = { windowSize: window, count: 0, bits: new Uint8Array(Math.ceil(window / 8)) };
    }
    ctx.s.setMissed(entry.address, m);
  }
}

/** Pays matured unbonding entries (end block). */
export function matureUnbondings(ctx: BlockCtx): void {
  const ids = ctx.s.unbondingQueue(ctx.height);
  if (ids.length === 0) return;
  let total = 0n;
  const touched = new Map<string, Uint8Array>();
  for (const id of ids) {
    const u = ctx.s.unbonding(id);
    if (u === undefined) continue;
    ctx.credit(u.delegator, u.balance);
    total += u.balance;
    ctx.s.deleteUnbonding(id);
    touched.set(Buffer.from(u.validator).toString('hex'), u.validator);
    ctx.sink.emit('unbonded', [u.delegator, u.validator], {
      validator: u.validator,
      delegator: u.delegator,
      amount: u.balance,
    });
  }
  for (const key of [...touched.keys()].sort()) {
    const val = touched.get(key)!;
    const live = ctx.s.validatorUnbondings(val).filter((id) => ctx.s.unbonding(id) !== undefined);
    ctx.s.setValidatorUnbondings(val, live);
  }
  ctx.s.setUnbondingQueue(ctx.height, []);
  ctx.totals({ unbonding: -total });
}

/**
 * Pays `amount` to the validators of the set of this height by power (exact split), commission
 * to each operator's balance, the rest credited per share to its delegators. With no set (or no
 * shares) the amount goes to the treasury.
 */
export function distributeRewards(ctx: BlockCtx, amount: bigint): void {
  if (amount === 0n) return;
  const set = ctx.s.validatorSet(ctx.height) ?? [];
  const shares = splitExact(
    amount,
    set.map((e) => ({ address: e.address, weight: BigInt(e.power) })),
  );
  let toTreasury = shares.length === 0 ? amount : 0n;
  let credited = 0n;
  for (const sh of shares) {
    if (sh.amount === 0n) continue;
    const v = ctx.s.validator(sh.address);
    if (v === undefined || v.shares === 0n) {
      toTreasury += sh.amount;
      continue;
    }
    const commission = (sh.amount * BigInt(v.commissionBps)) / BPS;
    const rest = sh.amount - commission;
    if (commission > 0n) {
      ctx.credit(v.operator, commission);
      ctx.sink.emit('commission', [v.address, v.operator], {
        validator: v.address,
        operator: v.operator,
        amount: commission,
      });
    }
    v.rewardPerShare += (rest * REWARD_PRECISION) / v.shares;
    credited += rest;
    ctx.s.setValidator(v);
  }
  ctx.totals({ rewards: credited, treasury: toTreasury });
}

/** The active set from the candidates: not jailed, power ≥ 1, top maxValidators by tokens. */
export function computeValidatorSet(ctx: BlockCtx): ValidatorSetEntry[] {
  const candidates: Validator[] = [];
  for (const a of ctx.s.validatorList()) {
    const v = ctx.s.validator(a);
    if (v !== undefined && !v.jailed && v.tokens >= POWER_UNIT) candidates.push(v);
  }
  candidates.sort((x, y) =>
    x.tokens === y.tokens ? compareBytes(x.address, y.address) : x.tokens > y.tokens ? -1 : 1,
  );
  return candidates.slice(0, num(ctx.params.maxValidators)).map((v) => ({
    address: v.address,
    publicKey: v.consensusKey,
    power: Number(v.tokens / POWER_UNIT),
  }));
}

export interface ValidatorUpdate {
  address: Uint8Array;
  publicKey: Uint8Array;
  /** 0 = removed from the set. */
  power: number;
}

/**
 * End block h: decides the set for h+2 (DESIGN §7), stores it, drops the set of h−2, and returns
 * the differences from the set of h+1.
 */
export function updateValidatorSet(ctx: BlockCtx, force: boolean): ValidatorUpdate[] {
  const h = ctx.height;
  const nextBytes = ctx.s.validatorSetBytes(h + 1);
  if (h - 2 >= 1) ctx.s.deleteValidatorSet(h - 2);
  if (!ctx.stakingDirty && !force && nextBytes !== undefined) {
    ctx.s.setValidatorSetBytes(h + 2, nextBytes);
    return [];
  }
  const next = ctx.s.validatorSet(h + 1) ?? [];
  const after = computeValidatorSet(ctx);
  ctx.s.setValidatorSet(h + 2, after);
  const byAddr = new Map<string, ValidatorSetEntry>();
  for (const e of next) byAddr.set(Buffer.from(e.address).toString('hex'), e);
  const updates: ValidatorUpdate[] = [];
  const seen = new Set<string>();
  for (const e of after) {
    const k = Buffer.from(e.address).toString('hex');
    seen.add(k);
    const old = byAddr.get(k);
    if (old === undefined || old.power !== e.power) updates.push({ ...e });
  }
  for (const e of next) {
    const k = Buffer.from(e.address).toString('hex');
    if (!seen.has(k)) updates.push({ address: e.address, publicKey: e.publicKey, power: 0 });
  }
  updates.sort((a, b) => compareBytes(a.address, b.address));
  if (updates.length > 0) ctx.sink.emit('validator.setChanged', [], { height: h + 2, size: after.length });
  return updates;
}
