import { formatAddress } from '../core/address.js';
import { bytesEqual } from '../core/bytes.js';
import type { StateDb } from '../state/stateDb.js';
import { currentParams, readStores } from '../vm/readers.js';
import type { Logger } from './logger.js';
import type { NodeMetrics } from './metrics.js';
import type { ValsetStore } from './valsets.js';

/** The near-downtime warning repeats at most this often (blocks). */
export const DOWNTIME_WARN_EVERY = 100;
/** A local validator is "near" its downtime limit from this share of `downtimeMissedMax` (%). */
export const DOWNTIME_WARN_PERCENT = 50;

/**
 * Should a validator that missed `missed` commits of the window be warned, when more than
 * `missedMax` jails it? From `DOWNTIME_WARN_PERCENT` % of the limit on (integers only).
 */
export function nearDowntimeLimit(missed: number, missedMax: number): boolean {
  return missed > 0 && missed * 100 >= missedMax * DOWNTIME_WARN_PERCENT;
}

export interface DowntimeDeps {
  readonly state: StateDb;
  readonly valsets: Pick<ValsetStore, 'get'>;
  readonly metrics: Pick<NodeMetrics, 'validatorMissedBlocks'>;
  readonly log: Logger;
  /** This node's validator address, if it is one. */
  readonly address: Uint8Array | null;
}

/**
 * After each commit: every validator's missed commits in the downtime window as a metric, and a
 * warning (at most every `DOWNTIME_WARN_EVERY` blocks) while this node's validator has missed
 * at least `DOWNTIME_WARN_PERCENT` % of what jails it.
 */
export class DowntimeWatch {
  private downtimeWarnedAt = -DOWNTIME_WARN_EVERY;

  constructor(private readonly deps: DowntimeDeps) {}

  committed(height: number): void {
    const { state, valsets, metrics, log, address } = this.deps;
    const set = valsets.get(height + 1);
    if (set === undefined) return;
    const stores = readStores(state);
    const p = currentParams(state);
    const window = Number(p.downtimeWindow);
    const max = Number(p.downtimeMissedMax);
    metrics.validatorMissedBlocks.reset();
    for (const v of set.validators) {
      const m = stores.missed(v.address);
      const count = m !== undefined && m.windowSize === window ? m.count : 0;
      const label = formatAddress(v.address);
      metrics.validatorMissedBlocks.set({ validator: label }, count);
      const own = address !== null && bytesEqual(v.address, address);
      if (own && nearDowntimeLimit(count, max) && height - this.downtimeWarnedAt >= DOWNTIME_WARN_EVERY) {
        this.downtimeWarnedAt = height;
        log.warn(
          { missed: count, missedMax: max, window },
          `this validator missed ${count} of the last ${window} commits; more than ${max} jails it for downtime (check its clock, network and disk)`,
        );
      }
    }
  }
}
