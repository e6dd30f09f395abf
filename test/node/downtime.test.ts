import { describe, expect, it } from 'vitest';
import { buildCommit } from '../../consensus/commit.js';
import { addressKey } from '../../consensus/validatorSet.js';
import { VOTE_PRECOMMIT } from '../../core/block.js';
import { DOWNTIME_WARN_PERCENT, nearDowntimeLimit } from '../../node/downtime.js';
import { certificateHasAwaited } from '../../node/tipCertificate.js';
import { defaultParams } from '../../vm/params.js';
import { hashOf, validators, vote } from '../consensus/helpers.js';

/** When the proposer of h+1 stops waiting for late precommits of h (before the grace runs out). */
describe('certificateHasAwaited', () => {
  const { keys, set } = validators([1, 1, 1, 1]);
  const A = hashOf('A');
  const commit = (signers: number[]) =>
    buildCommit(
      5,
      0,
      A,
      signers.map((i) => vote(keys[i], VOTE_PRECOMMIT, 5, 0, A)),
    );
  const keysOf = (signers: number[]) => new Set(signers.map((i) => addressKey(keys[i].address)));

  it('nobody known yet: waits for every validator', () => {
    expect(certificateHasAwaited(commit([0, 1, 2]), set, null)).toBe(false);
    expect(certificateHasAwaited(commit([0, 1, 2, 3]), set, null)).toBe(true);
  });

  it('waits only for the signers of the previous certificate: a validator that is down costs one grace, not one per block', () => {
    // Validator 3 was absent last time (down): the quorum is enough.
    expect(certificateHasAwaited(commit([0, 1, 2]), set, keysOf([0, 1, 2]))).toBe(true);
    // Validator 2 signed last time and has not yet: keep waiting (until the grace runs out).
    expect(certificateHasAwaited(commit([0, 1, 3]), set, keysOf([0, 1, 2]))).toBe(false);
    // A previous signer that left the set is not waited for.
    const stranger = new Set([...keysOf([0, 1, 2]), addressKey(new Uint8Array(20).fill(7))]);
    expect(certificateHasAwaited(commit([0, 1, 2]), set, stranger)).toBe(true);
  });
});

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
