import { describe, expect, it } from 'vitest';
import {
  AdmissionControl,
  BusyError,
  NEWCOMER_HEADROOM,
  RATE_FLOOR_PER_SEC,
  RATE_WINDOW_MS,
  RETRY_AFTER_MAX_MS,
  RETRY_AFTER_MIN_MS,
} from '../../node/admission.js';

function busy(fn: () => void): BusyError | null {
  try {
    fn();
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(BusyError);
    return e as BusyError;
  }
}

/** A chain committing `perBlock` transactions every `intervalMs`, observed up to `untilMs`. */
function committing(a: AdmissionControl, perBlock: number, intervalMs: number, untilMs: number): void {
  for (let t = 0; t <= untilMs; t += intervalMs) a.observeCommit(t, perBlock);
}

describe('admission control (backpressure)', () => {
  it('measures the drain rate over the window, floored for an idle chain', () => {
    const a = new AdmissionControl({ waitMaxMs: 2_000, backlogMin: 0 });
    expect(a.drainRatePerSec(0)).toBe(RATE_FLOOR_PER_SEC);
    committing(a, 500, 250, 20_000); // 2,000 tx/s
    expect(a.drainRatePerSec(20_000)).toBe(2_000);
    // Old commits leave the window: an idle chain falls back to the floor, not to zero.
    expect(a.drainRatePerSec(20_000 + RATE_WINDOW_MS + 1)).toBe(RATE_FLOOR_PER_SEC);
    const idle = new AdmissionControl();
    committing(idle, 0, 250, 20_000);
    expect(idle.drainRatePerSec(20_000)).toBe(RATE_FLOOR_PER_SEC);
  });

  it('refuses exactly past the expected-wait limit, with a retry hint', () => {
    const a = new AdmissionControl({ waitMaxMs: 2_000, backlogMin: 1_000 });
    committing(a, 500, 250, 20_000); // 2,000 tx/s: 4,000 waiting = 2,000 ms
    const pending = 1; // not a newcomer
    expect(busy(() => a.check(4_000, 20_000, pending))).toBeNull();
    const e = busy(() => a.check(4_002, 20_000, pending));
    expect(e?.code).toBe('BUSY');
    expect(e?.retryAfterMs).toBe(RETRY_AFTER_MIN_MS);
    const far = busy(() => a.check(1_000_000, 20_000, pending));
    expect(far?.retryAfterMs).toBe(RETRY_AFTER_MAX_MS);
    expect(far?.message).toMatch(/retry in/);
  });

  it('never refuses below the backlog minimum, or when disabled', () => {
    const slow = new AdmissionControl({ waitMaxMs: 1, backlogMin: 1_000 });
    expect(busy(() => slow.check(999, 0, 5))).toBeNull();
    expect(busy(() => slow.check(1_000, 0, 5))).not.toBeNull();
    const off = new AdmissionControl({ waitMaxMs: 0, backlogMin: 0 });
    expect(busy(() => off.check(10_000_000, 0, 5))).toBeNull();
  });

  it('a flooding sender is refused before a newcomer: the newcomer has twice the headroom', () => {
    const a = new AdmissionControl({ waitMaxMs: 2_000, backlogMin: 0 });
    committing(a, 500, 250, 20_000);
    const waiting = 6_000; // 3,000 ms
    expect(busy(() => a.check(waiting, 20_000, 256))).not.toBeNull();
    expect(busy(() => a.check(waiting, 20_000, 0))).toBeNull();
    expect(busy(() => a.check(4_000 * NEWCOMER_HEADROOM + 2, 20_000, 0))).not.toBeNull();
  });
});
