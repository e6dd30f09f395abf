import { describe, expect, it } from 'vitest';
import { StorageError } from '../../core/errors.js';
import { sha256 } from '../../core/hash.js';
import { KEYS } from '../../state/stores/keys.js';
import { Stores } from '../../state/stores/stores.js';
import { MemState } from './memState.js';

const a20 = (n: number) => new Uint8Array(20).fill(n);
const h32 = (n: number) => sha256(new Uint8Array([n]));

describe('typed stores', () => {
  it('round-trip records through the canonical codec; absent reads are undefined or empty', () => {
    const s = new Stores(new MemState());
    expect(s.account(a20(1))).toEqual({ nonce: 0, balance: 0n });
    s.setAccount(a20(1), { nonce: 3, balance: 10n ** 30n });
    expect(s.account(a20(1))).toEqual({ nonce: 3, balance: 10n ** 30n });
    expect(s.validator(a20(2))).toBeUndefined();
    const job = {
      id: 7,
      kind: 'attribution' as const,
      height: 4,
      subject: h32(1),
      version: 2,
      thresholdBps: 0,
    };
    s.setJob(job);
    expect(s.job(7)).toEqual(job);
    s.setJobsAt(4, { first: 7, count: 1 });
    expect(s.jobsAt(4)).toEqual({ first: 7, count: 1 });
    s.setAcceptedAt(h32(2), 1, h32(3));
    expect(s.acceptedAt(h32(2), 1)).toEqual(h32(3));
    expect(s.acceptedAt(h32(2), 2)).toBeUndefined();
    s.setContent(h32(3), 'héllo wörld');
    expect(s.content(h32(3))).toBe('héllo wörld');
    s.setUnbondingQueue(9, [1, 2]);
    expect(s.unbondingQueue(9)).toEqual([1, 2]);
    s.setUnbondingQueue(9, []);
    expect(s.state.get(KEYS.unbondingQueue(9))).toBeUndefined();
    expect(s.requestNonceUsed(a20(1), 5)).toBe(false);
    s.markRequestNonce(a20(1), 5);
    expect(s.requestNonceUsed(a20(1), 5)).toBe(true);
    s.setProposalVote(1, a20(4), 'abstain');
    expect(s.proposalVote(1, a20(4))).toBe('abstain');
  });

  it('keys of different kinds never collide', () => {
    const keys = [
      KEYS.account(a20(1)),
      KEYS.validator(a20(1)),
      KEYS.delegation(a20(1), a20(1)),
      KEYS.datanet(h32(1)),
      KEYS.contribution(h32(1)),
      KEYS.content(h32(1)),
      KEYS.model(h32(1)),
      KEYS.modelVersion(h32(1), 1),
      KEYS.receipt(h32(1)),
      KEYS.attribution(h32(1)),
      KEYS.job(1),
      KEYS.jobsAt(1),
      KEYS.proposal(1),
      KEYS.validatorSet(1),
    ].map((k) => Buffer.from(k).toString('hex'));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('a corrupt record is a typed StorageError, never a wrong value', () => {
    const state = new MemState();
    const s = new Stores(state);
    state.set(KEYS.account(a20(1)), new Uint8Array([0x92, 0x01]));
    expect(() => s.account(a20(1))).toThrow(StorageError);
    state.set(KEYS.job(1), new Uint8Array([0xc1]));
    expect(() => s.job(1)).toThrow(expect.objectContaining({ code: 'CORRUPT_RECORD' }));
  });
});
