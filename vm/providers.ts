import { bytesEqual, toHex } from '../core/bytes.js';
import { outputHash, verifyDelivery } from '../core/delivery.js';
import type { TxBody } from '../core/tx.js';
import type { Provider, Receipt } from '../state/stores/records.js';
import { PROVIDER_UNBONDINGS_PER_HEIGHT_MAX } from '../state/stores/records.js';
import type { BlockCtx } from './context.js';
import { txError } from './errors.js';
import { GAS_PER_SIGNATURE_CHECK } from './gas.js';
import { num } from './params.js';

/**
 * Inference providers, their bonds and fraud proofs (consensus-critical).
 *
 * A provider registers with `provider.bond` (the sender's key becomes the key its deliveries are
 * checked against); `inference.receipt` needs a bond ≥ `providerBondMin`. `provider.unbond` moves
 * part of the bond to one unbonding amount paid out at the end of h + `providerUnbondingBlocks`
 * (a later unbond adds to it and restarts the delay). Bond and unbonding are escrowed (the
 * `escrow` supply counter) and both are slashable until paid out; `providerUnbondingBlocks` >
 * `challengeWindowBlocks` (a parameter rule), so a provider cannot withdraw before a fraud it
 * committed stops being provable.
 *
 * `inference.challenge` carries a delivery the receipt's provider signed for the receipt's request
 * whose output hash or token count differs from the receipt's: proof that the provider posted an
 * output it did not deliver. Accepted within the window of an unacknowledged, not re-derived
 * receipt, once per receipt: the requester gets the escrowed fee back, the held payout is
 * cancelled, and `providerSlashBps` of the bond and of the unbonding amount is burned.
 */

const BPS = 10_000n;

export function providerBond(
  ctx: BlockCtx,
  sender: Uint8Array,
  publicKey: Uint8Array,
  body: TxBody<'provider.bond'>,
): void {
  if (body.amount === 0n) throw txError('ZERO_AMOUNT');
  const existing = ctx.s.provider(sender);
  if (existing === undefined) ctx.gas.storeBytes(150);
  ctx.debit(sender, body.amount);
  const p: Provider = existing ?? {
    address: sender,
    publicKey,
    bond: 0n,
    unbonding: 0n,
    unbondingHeight: 0,
    slashed: 0n,
    frauds: 0,
    createdHeight: ctx.height,
  };
  p.bond += body.amount;
  ctx.s.setProvider(p);
  ctx.totals({ escrow: body.amount });
  ctx.sink.emit('provider.bonded', [sender], { provider: sender, amount: body.amount, bond: p.bond });
}

export function providerUnbond(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'provider.unbond'>): void {
  if (body.amount === 0n) throw txError('ZERO_AMOUNT');
  const p = ctx.s.provider(sender);
  if (p === undefined) throw txError('NOT_PROVIDER');
  if (body.amount > p.bond)
    throw txError('INSUFFICIENT_BOND', `unbonding ${body.amount}, the bond is ${p.bond}`);
  const completion = ctx.height + num(ctx.params.providerUnbondingBlocks);
  const queue = ctx.s.providerUnbondings(completion);
  const queued = queue.some((a) => bytesEqual(a, sender));
  if (!queued && queue.length >= PROVIDER_UNBONDINGS_PER_HEIGHT_MAX) throw txError('UNBONDING_QUEUE_FULL');
  p.bond -= body.amount;
  p.unbonding += body.amount;
  p.unbondingHeight = completion;
  ctx.s.setProvider(p);
  if (!queued) ctx.s.setProviderUnbondings(completion, [...queue, sender]);
  ctx.sink.emit('provider.unbonding', [sender], {
    provider: sender,
    amount: body.amount,
    bond: p.bond,
    completionHeight: completion,
  });
}

/** End block: pays out the provider unbondings that mature at this height. */
export function matureProviderUnbondings(ctx: BlockCtx): void {
  const list = ctx.s.providerUnbondings(ctx.height);
  if (list.length === 0) return;
  for (const a of list) {
    const p = ctx.s.provider(a);
    // A later unbond restarted the delay (its own queue entry pays it), or nothing is left.
    if (p === undefined || p.unbondingHeight !== ctx.height || p.unbonding === 0n) continue;
    const amount = p.unbonding;
    p.unbonding = 0n;
    p.unbondingHeight = 0;
    ctx.s.setProvider(p);
    ctx.credit(a, amount);
    ctx.totals({ escrow: -amount });
    ctx.sink.emit('provider.unbonded', [a], { provider: a, amount });
  }
  ctx.s.setProviderUnbondings(ctx.height, []);
}

/** Burns `providerSlashBps` of the provider's bond and unbonding amount (mutates and writes `p`). */
function slashProvider(ctx: BlockCtx, p: Provider, receipt: Receipt, challenger: Uint8Array): bigint {
  const bps = ctx.params.providerSlashBps;
  const cut = (p.bond * bps) / BPS;
  const unbondingCut = (p.unbonding * bps) / BPS;
  p.bond -= cut;
  p.unbonding -= unbondingCut;
  const burned = cut + unbondingCut;
  p.slashed += burned;
  p.frauds++;
  ctx.s.setProvider(p);
  ctx.totals({ escrow: -burned, burned });
  ctx.sink.emit('provider.slashed', [p.address, challenger], {
    provider: p.address,
    receipt: receipt.id,
    amount: burned,
    bond: p.bond,
  });
  return burned;
}

export function inferenceChallenge(
  ctx: BlockCtx,
  sender: Uint8Array,
  body: TxBody<'inference.challenge'>,
): void {
  const receipt = ctx.s.receipt(body.receipt);
  if (receipt === undefined) throw txError('RECEIPT_NOT_FOUND');
  if (receipt.releaseHeight === 0) throw txError('RECEIPT_NOT_CHALLENGEABLE');
  if (receipt.status === 'challenged') throw txError('RECEIPT_ALREADY_CHALLENGED');
  if (ctx.height > receipt.releaseHeight || receipt.status === 'settled') {
    throw txError(
      'CHALLENGE_WINDOW_CLOSED',
      `the window of receipt 0x${toHex(receipt.id)} ended at height ${receipt.releaseHeight}, this is ${ctx.height}`,
    );
  }
  const d = body.delivery;
  if (!bytesEqual(d.requestHash, receipt.requestHash)) throw txError('CHALLENGE_WRONG_REQUEST');
  const p = ctx.s.provider(receipt.provider);
  if (p === undefined) throw new Error(`receipt 0x${toHex(receipt.id)}: its provider has no record`);
  ctx.gas.use(GAS_PER_SIGNATURE_CHECK);
  if (!verifyDelivery(d, p.publicKey, body.signature)) throw txError('BAD_DELIVERY_SIGNATURE');
  if (bytesEqual(d.outputHash, outputHash(receipt.output)) && d.outputTokens === receipt.outputTokens)
    throw txError('CHALLENGE_MATCHES_RECEIPT');

  // Proven: refund what is still escrowed, cancel the held payout, slash once.
  const refund = receipt.escrow;
  ctx.credit(receipt.requester, refund);
  if (refund > 0n) ctx.totals({ escrow: -refund });
  const att = ctx.s.attribution(receipt.id);
  if (att !== undefined) {
    att.error = 'FRAUD_PROVEN';
    att.refund += refund;
    att.fee = 0n;
    att.payouts = [];
    ctx.s.setAttribution(att);
  }
  receipt.escrow = 0n;
  receipt.status = 'challenged';
  ctx.s.setReceipt(receipt);
  const burned = slashProvider(ctx, p, receipt, sender);
  ctx.sink.emit('inference.challenged', [receipt.requester, receipt.provider, sender], {
    receipt: receipt.id,
    provider: receipt.provider,
    requester: receipt.requester,
    challenger: sender,
    refund,
    slashed: burned,
  });
  if (refund > 0n)
    ctx.sink.emit('refund', [receipt.requester], {
      receipt: receipt.id,
      to: receipt.requester,
      amount: refund,
    });
}
