import { describe, expect, it } from 'vitest';
import { checkLivenessAfterGst, GST_ROUND_TIMEOUTS, type GstTimeouts } from '../../devnet/checker.js';

/**
 * The liveness-after-GST computation of the chaos checker on synthetic timelines: the bound is
 * GST_ROUND_TIMEOUTS × (propose + prevote + precommit timeouts of the round in progress at GST);
 * a commit exactly at the bound passes, 1 ms later fails, a node that never commits fails.
 */

// The node's defaults (node/config.ts): 1000 / 500 / 500 ms, +250 ms each per round.
const T: GstTimeouts = {
  proposeMs: 1000,
  prevoteMs: 500,
  precommitMs: 500,
  proposeDeltaMs: 250,
  prevoteDeltaMs: 250,
  precommitDeltaMs: 250,
};
const GST = Date.UTC(2026, 11, 4, 4, 0, 0);

describe('liveness after GST', () => {
  it('round 0: a commit exactly at 3 × 2000 ms passes, 1 ms over fails', () => {
    expect(GST_ROUND_TIMEOUTS).toBe(3);
    const at = (d: number) => ({
      gstMs: GST,
      timeouts: T,
      roundAtGst: 0,
      watchedMs: 60_000,
      firstCommitMs: { a: GST + 10, b: GST + d },
    });
    const pass = checkLivenessAfterGst(at(6000));
    expect(pass.report).toMatchObject({
      boundBasis: 'round-0',
      roundTimeoutSumMs: 2000,
      boundMs: 6000,
      maxDelayMs: 6000,
      ok: true,
    });
    expect(pass.report.nodes.b).toEqual({ firstCommit: new Date(GST + 6000).toISOString(), delayMs: 6000 });
    expect(pass.violations).toEqual([]);
    const fail = checkLivenessAfterGst(at(6001));
    expect(fail.report.ok).toBe(false);
    expect(fail.report.maxDelayMs).toBe(6001);
    expect(fail.violations).toEqual([
      {
        check: 'liveness-after-gst',
        detail: expect.stringMatching(
          /bound 6000 ms = 3 × 2000 ms .*round 0, round-0.*: b first committed 6001 ms after GST$/,
        ),
      },
    ]);
  });

  it('a node in round 4 at GST gets the timeouts of round 4: 3 × (2000 + 3 × 250 × 4)', () => {
    const input = (d: number) => ({
      gstMs: GST,
      timeouts: T,
      roundAtGst: 4,
      watchedMs: 60_000,
      firstCommitMs: { a: GST + d },
    });
    const pass = checkLivenessAfterGst(input(15_000));
    expect(pass.report).toMatchObject({
      boundBasis: 'round-in-progress',
      roundTimeoutSumMs: 5000,
      boundMs: 15_000,
      ok: true,
    });
    const fail = checkLivenessAfterGst(input(15_001));
    expect(fail.violations.map((v) => v.check)).toEqual(['liveness-after-gst']);
    expect(fail.violations[0].detail).toContain('round 4, round-in-progress');
  });

  it('a node that never commits in the watched window is a violation', () => {
    const r = checkLivenessAfterGst({
      gstMs: GST,
      timeouts: T,
      roundAtGst: 0,
      watchedMs: 60_000,
      firstCommitMs: { a: GST + 5, c: null },
    });
    expect(r.report.nodes.c).toEqual({ firstCommit: null, delayMs: null });
    expect(r.report.maxDelayMs).toBe(5);
    expect(r.violations[0].detail).toContain('c did not commit within the 60000 ms watched');
  });
});
