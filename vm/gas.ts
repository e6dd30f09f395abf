import type { TxType } from '../core/tx.js';
import { txError } from './errors.js';

/**
 * The gas schedule (consensus-critical). Gas of a tx =
 *   GAS_TX_BASE + intrinsic[type] + GAS_PER_TX_BYTE × (signed tx bytes)
 *   + GAS_PER_STORED_BYTE × (bytes of new long-lived content: contribution text, receipt
 *     input/output, datanet and model metadata, proposal text)
 *   + job work (GAS_PER_OUTPUT_TOKEN × output tokens of a receipt; GAS_PER_TRAINING_EXAMPLE ×
 *     pinned examples of a training spec; GAS_PER_CHECKED_BYTE × contribution bytes for the
 *     near-duplicate check).
 * Admission requires gasLimit ≥ the intrinsic part (base + type + bytes). The fee is
 * gasUsed × gasPrice; gasUsed = gasLimit when the tx runs out of gas.
 */
export const GAS_TX_BASE = 1_000;
export const GAS_PER_TX_BYTE = 4;
export const GAS_PER_STORED_BYTE = 20;
export const GAS_PER_OUTPUT_TOKEN = 40;
export const GAS_PER_TRAINING_EXAMPLE = 200;
export const GAS_PER_CHECKED_BYTE = 2;
/** One Ed25519 verification inside a body (delivery, acknowledgment, fraud proof). */
export const GAS_PER_SIGNATURE_CHECK = 2_000;

export const GAS_INTRINSIC: Readonly<Record<TxType, number>> = {
  transfer: 0,
  'validator.create': 20_000,
  'stake.delegate': 10_000,
  'stake.undelegate': 15_000,
  'stake.withdrawRewards': 5_000,
  'validator.unjail': 5_000,
  'datanet.create': 20_000,
  'datanet.contribute': 10_000,
  'datanet.review': 8_000,
  'model.register': 30_000,
  'model.update': 20_000,
  'inference.receipt': 15_000,
  'attribution.settle': 0,
  'gov.propose': 20_000,
  'gov.vote': 5_000,
  'provider.bond': 10_000,
  'provider.unbond': 10_000,
  'inference.challenge': 10_000,
};

export function intrinsicGas(type: TxType, txBytes: number): number {
  return GAS_TX_BASE + GAS_INTRINSIC[type] + GAS_PER_TX_BYTE * txBytes;
}

/** Counts gas against a limit; going over throws OUT_OF_GAS (the tx's writes are discarded). */
export class GasMeter {
  used: number;
  constructor(
    readonly limit: number,
    initial: number,
  ) {
    this.used = initial;
    if (initial > limit) throw txError('OUT_OF_GAS', `intrinsic gas ${initial} exceeds gasLimit ${limit}`);
  }
  use(amount: number): void {
    const next = this.used + amount;
    if (next > this.limit) {
      this.used = this.limit;
      throw txError('OUT_OF_GAS', `needs ${next} gas, gasLimit is ${this.limit}`);
    }
    this.used = next;
  }
  storeBytes(n: number): void {
    this.use(GAS_PER_STORED_BYTE * n);
  }
}
