import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileSignerStateStore, SignerGuard, type SignerGuardError } from '../../consensus/signerGuard.js';
import {
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  verifyProposalSignature,
  verifyVoteSignature,
} from '../../core/block.js';
import { sign } from '../../core/keys.js';
import { CHAIN, hashOf, testKey } from './helpers.js';

const A = hashOf('A');
const B = hashOf('B');
const key = testKey('signer');

describe('signer guard', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ol-guard-'));
    path = join(dir, 'priv', 'signer-state.bin');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const guard = () => new SignerGuard(CHAIN, (m) => sign(m, key.secretKey), new FileSignerStateStore(path));
  const prevote = (round: number, blockHash: Uint8Array | null, height = 3) => ({
    kind: VOTE_PREVOTE as 1,
    height,
    round,
    blockHash,
    validator: key.address,
  });
  const refusal = (f: () => unknown): string => {
    try {
      f();
      return 'signed';
    } catch (e) {
      return (e as SignerGuardError).code;
    }
  };

  it('signs valid signatures and moves forward through proposal, prevote, precommit', () => {
    const g = guard();
    const p = g.signProposal({ height: 3, round: 0, polRound: -1, blockHash: A, proposer: key.address });
    expect(verifyProposalSignature(CHAIN, p, key.publicKey)).toBe(true);
    const v = g.signVote(prevote(0, A));
    expect(verifyVoteSignature(CHAIN, v, key.publicKey)).toBe(true);
    g.signVote({ ...prevote(0, A), kind: VOTE_PRECOMMIT });
    expect(g.lastSigned).toMatchObject({ height: 3, round: 0, step: 3 });
  });

  it('after a restart refuses anything conflicting with what it signed, and re-signs identical messages', () => {
    const first = guard().signVote(prevote(1, A));
    const g = guard(); // restart: state comes from the file
    expect(g.lastSigned).toMatchObject({ height: 3, round: 1, step: 2 });
    expect(refusal(() => g.signVote(prevote(1, B)))).toBe('CONFLICT');
    expect(refusal(() => g.signVote(prevote(1, null)))).toBe('CONFLICT');
    expect(refusal(() => g.signVote(prevote(0, A)))).toBe('ROUND_REGRESSION');
    expect(refusal(() => g.signVote(prevote(5, A, 2)))).toBe('HEIGHT_REGRESSION');
    expect(
      refusal(() =>
        g.signProposal({ height: 3, round: 1, polRound: -1, blockHash: A, proposer: key.address }),
      ),
    ).toBe('STEP_REGRESSION');
    expect(g.refusals).toBe(5);
    expect(g.signVote(prevote(1, A)).signature).toEqual(first.signature);
    expect(refusal(() => g.signVote({ ...prevote(1, A), kind: VOTE_PRECOMMIT }))).toBe('signed');
    expect(refusal(() => g.signVote(prevote(2, B)))).toBe('signed');
  });

  it('stops on a corrupt or torn state file instead of starting from nothing', () => {
    guard().signVote(prevote(1, A));
    const bytes = readFileSync(path);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] ^= 1;
    writeFileSync(path, flipped);
    expect(() => guard()).toThrow(expect.objectContaining({ code: 'SIGNER_STATE_CORRUPT' }));
    writeFileSync(path, bytes.subarray(0, 10));
    expect(() => guard()).toThrow(expect.objectContaining({ code: 'SIGNER_STATE_CORRUPT' }));
  });
});
