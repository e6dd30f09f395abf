import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMEOUTS,
  parseTimeoutConfig,
  TIMEOUT_CONFIG_MS_MAX,
  TIMEOUT_MS_MAX,
  timeoutMs,
} from '../../consensus/timeouts.js';

describe('timeout schedule', () => {
  it('grows linearly with the round, per kind, capped', () => {
    const t = parseTimeoutConfig({ proposeMs: 100, proposeDeltaMs: 10, prevoteMs: 50, precommitDeltaMs: 7 });
    expect([0, 1, 2, 10].map((r) => timeoutMs(t, 'propose', r))).toEqual([100, 110, 120, 200]);
    expect(timeoutMs(t, 'prevote', 2)).toBe(50 + 2 * DEFAULT_TIMEOUTS.prevoteDeltaMs);
    expect(timeoutMs(t, 'precommit', 3)).toBe(DEFAULT_TIMEOUTS.precommitMs + 21);
    expect(timeoutMs(DEFAULT_TIMEOUTS, 'propose', 10_000)).toBe(TIMEOUT_MS_MAX);
  });

  it('rejects unknown keys and out-of-range values with clear errors', () => {
    expect(parseTimeoutConfig(undefined)).toEqual(DEFAULT_TIMEOUTS);
    expect(() => parseTimeoutConfig({ proposeMS: 1 })).toThrow(/unknown timeout "proposeMS"/);
    expect(() => parseTimeoutConfig({ proposeMs: 0 })).toThrow(
      expect.objectContaining({ code: 'BAD_TIMEOUT' }),
    );
    expect(() => parseTimeoutConfig({ prevoteMs: TIMEOUT_CONFIG_MS_MAX + 1 })).toThrow(/60000/);
    expect(parseTimeoutConfig({ prevoteMs: TIMEOUT_CONFIG_MS_MAX }).prevoteMs).toBe(TIMEOUT_CONFIG_MS_MAX);
    expect(() => parseTimeoutConfig({ proposeDeltaMs: 1.5 })).toThrow(
      expect.objectContaining({ code: 'BAD_TIMEOUT' }),
    );
    expect(() => parseTimeoutConfig([])).toThrow(expect.objectContaining({ code: 'BAD_TIMEOUTS' }));
  });
});
