import { describe, expect, it } from 'vitest';
import { DOWNTIME_WARN_PERCENT, nearDowntimeLimit } from '../../node/node.js';
import { defaultParams } from '../../vm/params.js';

/** The near-limit warning a validator's own node logs before it is jailed for downtime. */
describe('near-downtime warning', () => {
  it(`starts at exactly ${DOWNTIME_WARN_PERCENT} % of downtimeMissedMax`, () => {
    const max = Number(defaultParams().downtimeMissedMax);
    const at = (max * DOWNTIME_WARN_PERCENT) / 100;
    expect(Number.isInteger(at)).toBe(true);
    expect(nearDowntimeLimit(at - 1, max)).toBe(false);
    expect(nearDowntimeLimit(at, max)).toBe(true);
    expect(nearDowntimeLimit(max, max)).toBe(true);
    // Small limits (tests, lenient chains): never for a validator that missed nothing.
    expect(nearDowntimeLimit(0, 1)).toBe(false);
    expect(nearDowntimeLimit(1, 1)).toBe(true);
    expect(nearDowntimeLimit(0, 0)).toBe(false);
  });
});
