/**
 * The timeout schedule. Timeouts grow linearly with the round (base + delta × round), as in
 * Algorithm 1 ("timeoutPropose(round)") and CometBFT: after the global stabilisation time some
 * round's timeouts exceed the real message delay, which is what liveness rests on. The core only
 * *asks* for a timeout (an output); the driver owns the clock.
 */

import { ConfigError } from '../core/errors.js';

export type TimeoutKind = 'propose' | 'prevote' | 'precommit';

export interface TimeoutConfig {
  readonly proposeMs: number;
  readonly proposeDeltaMs: number;
  readonly prevoteMs: number;
  readonly prevoteDeltaMs: number;
  readonly precommitMs: number;
  readonly precommitDeltaMs: number;
}

/** CometBFT's defaults. */
export const DEFAULT_TIMEOUTS: TimeoutConfig = {
  proposeMs: 3000,
  proposeDeltaMs: 500,
  prevoteMs: 1000,
  prevoteDeltaMs: 500,
  precommitMs: 1000,
  precommitDeltaMs: 500,
};

/** No single timeout waits longer than ten minutes, however high the round. */
export const TIMEOUT_MS_MAX = 600_000;
/** Bound for each configured base and delta. */
export const TIMEOUT_CONFIG_MS_MAX = 60_000;

export function timeoutMs(config: TimeoutConfig, kind: TimeoutKind, round: number): number {
  const [base, delta] =
    kind === 'propose'
      ? [config.proposeMs, config.proposeDeltaMs]
      : kind === 'prevote'
        ? [config.prevoteMs, config.prevoteDeltaMs]
        : [config.precommitMs, config.precommitDeltaMs];
  return Math.min(TIMEOUT_MS_MAX, base + delta * round);
}

const KEYS: readonly (keyof TimeoutConfig)[] = [
  'proposeMs',
  'proposeDeltaMs',
  'prevoteMs',
  'prevoteDeltaMs',
  'precommitMs',
  'precommitDeltaMs',
];

/**
 * Validates a timeout section from a config file or flags: every key an integer number of
 * milliseconds in [0, TIMEOUT_CONFIG_MS_MAX] (bases at least 1), unknown keys rejected, missing
 * keys taken from the defaults.
 */
export function parseTimeoutConfig(raw: unknown): TimeoutConfig {
  if (raw === undefined) return DEFAULT_TIMEOUTS;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('BAD_TIMEOUTS', 'consensus timeouts must be an object of millisecond values');
  }
  const out: Record<string, number> = { ...DEFAULT_TIMEOUTS };
  for (const [key, value] of Object.entries(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new ConfigError('UNKNOWN_TIMEOUT_KEY', `unknown timeout "${key}"; known: ${KEYS.join(', ')}`);
    }
    const min = key.endsWith('DeltaMs') ? 0 : 1;
    if (
      typeof value !== 'number' ||
      !Number.isSafeInteger(value) ||
      value < min ||
      value > TIMEOUT_CONFIG_MS_MAX
    ) {
      throw new ConfigError(
        'BAD_TIMEOUT',
        `timeout ${key} must be an integer in [${min}, ${TIMEOUT_CONFIG_MS_MAX}] milliseconds, got ${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return out as unknown as TimeoutConfig;
}
