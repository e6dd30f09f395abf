import { describe, expect, it } from 'vitest';
import { buildCommit, commitSignatureChecks, extendCommit, verifyCommit } from '../../consensus/commit.js';
import { VOTE_PRECOMMIT, VOTE_PREVOTE } from '../../core/block.js';
import { verifySignature } from '../../core/keys.js';
import { CHAIN, hashOf, testKey, validators, vote } from './helpers.js';

const A = hashOf('A');

describe('commit certificates', () => {
  const { keys, set } = validators([1, 1, 1, 1]);
  const precommits = (indexes: number[], value = A, height = 5) =>
    indexes.map((i) => vote(keys[i], VOTE_PRECOMMIT, height, 0, value));
  const code = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return (e as { code: string }).code;
    }
  };

  it('accepts 2f+1 valid precommit signatures and returns the signed power', () => {
    const c = buildCommit(5, 0, A, precommits([3, 0, 2]));
    expect(c.signatures.map((s) => s.validator)).toEqual([keys[0].address, keys[2].address, keys[3].address]);
    expect(verifyCommit(CHAIN, c, set, { height: 5, blockHash: A })).toBe(3);
  });

  it('extends a certificate with late precommits for the same block only, sorted, without duplicates', () => {
    const first = buildCommit(5, 0, A, precommits([2, 0, 1]));
    const late = vote(keys[3], VOTE_PRECOMMIT, 5, 0, A);
    const full = extendCommit(first, [
      late,
      late, // duplicate
      vote(keys[0], VOTE_PRECOMMIT, 5, 0, A), // already in
      vote(keys[3], VOTE_PRECOMMIT, 5, 1, A), // another round
      vote(keys[3], VOTE_PRECOMMIT, 6, 0, A), // another height
      vote(keys[3], VOTE_PRECOMMIT, 5, 0, hashOf('B')), // another block
      vote(keys[3], VOTE_PRECOMMIT, 5, 0, null), // nil
      vote(keys[3], VOTE_PREVOTE, 5, 0, A), // a prevote
    ]);
    expect(full.signatures.map((s) => s.validator)).toEqual(keys.map((k) => k.address).sort(Buffer.compare));
    expect(verifyCommit(CHAIN, full, set, { height: 5, blockHash: A })).toBe(4);
    // The original is untouched (a committed block's certificate never changes) and nothing to
    // add returns it as is.
    expect(first.signatures).toHaveLength(3);
    expect(extendCommit(full, [late])).toBe(full);
    // Same input in any order, same certificate.
    const other = extendCommit(buildCommit(5, 0, A, precommits([1, 2, 0])), [late]);
    expect(other).toEqual(full);
  });

  it('a complete certificate with a spliced-in "late" signature of another round, height, block, kind or nil is invalid', () => {
    // Attack: a proposer adds a fourth signature to a valid 3-of-4 certificate that is really a
    // precommit of something else. The certificate's signatures are all checked over
    // (commit.height, commit.round, commit.blockHash), so none of them carries over.
    const first = buildCommit(5, 0, A, precommits([0, 1, 2]));
    const splice = (v: ReturnType<typeof vote>) => ({
      ...first,
      signatures: [...first.signatures, { validator: v.validator, signature: v.signature }].sort((a, b) =>
        Buffer.compare(a.validator, b.validator),
      ),
    });
    const forged = [
      vote(keys[3], VOTE_PRECOMMIT, 5, 1, A), // another round
      vote(keys[3], VOTE_PRECOMMIT, 4, 0, A), // another height
      vote(keys[3], VOTE_PRECOMMIT, 5, 0, hashOf('B')), // another block
      vote(keys[3], VOTE_PRECOMMIT, 5, 0, null), // nil
      vote(keys[3], VOTE_PREVOTE, 5, 0, A), // a prevote
    ];
    for (const v of forged) {
      expect(code(() => verifyCommit(CHAIN, splice(v), set, { height: 5, blockHash: A }))).toBe(
        'BAD_SIGNATURE',
      );
    }
    // The honest late precommit makes it complete; a second copy of it, or of an early one, does not.
    const late = vote(keys[3], VOTE_PRECOMMIT, 5, 0, A);
    const full = splice(late);
    expect(verifyCommit(CHAIN, full, set, { height: 5, blockHash: A })).toBe(4);
    const twice = { ...full, signatures: [...full.signatures, full.signatures[3]] };
    expect(code(() => verifyCommit(CHAIN, twice, set, { height: 5, blockHash: A }))).toBe('DUPLICATE_SIGNER');
    // A non-validator's precommit for the right block is refused even in a certificate that
    // already has a quorum (it would otherwise be counted as a signer).
    const stranger = vote(testKey('stranger'), VOTE_PRECOMMIT, 5, 0, A);
    expect(code(() => verifyCommit(CHAIN, splice(stranger), set, { height: 5 }))).toBe('UNKNOWN_VALIDATOR');
    // extendCommit never produces any of these from the same inputs.
    expect(extendCommit(first, [...forged, late, late])).toEqual(full);
    // extendCommit does not know the set: its caller feeds it checked votes only (validated
    // gossip, the core's tally). Had it not, the result is still refused by every receiver.
    const unchecked = extendCommit(first, [late, stranger]);
    expect(code(() => verifyCommit(CHAIN, unchecked, set, { height: 5 }))).toBe('UNKNOWN_VALIDATOR');
  });

  it('rejects insufficient power (exactly 2/3 is not enough)', () => {
    const c = buildCommit(5, 0, A, precommits([0, 1]));
    expect(code(() => verifyCommit(CHAIN, c, set, { height: 5 }))).toBe('INSUFFICIENT_POWER');
    const six = validators([1, 1, 1, 1, 1, 1]);
    const four = six.keys.slice(0, 4).map((k) => vote(k, VOTE_PRECOMMIT, 5, 0, A));
    expect(code(() => verifyCommit(CHAIN, buildCommit(5, 0, A, four), six.set, { height: 5 }))).toBe(
      'INSUFFICIENT_POWER',
    );
  });

  it('rejects a bad signature, a wrong chain, a wrong height or block, a duplicate or unknown signer', () => {
    const good = buildCommit(5, 0, A, precommits([0, 1, 2]));
    const tampered = {
      ...good,
      signatures: good.signatures.map((s, i) =>
        i === 1 ? { ...s, signature: good.signatures[0].signature } : s,
      ),
    };
    expect(code(() => verifyCommit(CHAIN, tampered, set, { height: 5 }))).toBe('BAD_SIGNATURE');
    expect(code(() => verifyCommit('other-chain', good, set, { height: 5 }))).toBe('BAD_SIGNATURE');
    expect(code(() => verifyCommit(CHAIN, good, set, { height: 6 }))).toBe('WRONG_HEIGHT');
    expect(code(() => verifyCommit(CHAIN, good, set, { height: 5, blockHash: hashOf('B') }))).toBe(
      'WRONG_BLOCK',
    );
    const dup = { ...good, signatures: [...good.signatures, good.signatures[0]] };
    expect(code(() => verifyCommit(CHAIN, dup, set, { height: 5 }))).toBe('DUPLICATE_SIGNER');
    const stranger = testKey('stranger');
    const withStranger = buildCommit(5, 0, A, [
      ...precommits([0, 1, 2]),
      vote(stranger, VOTE_PRECOMMIT, 5, 0, A),
    ]);
    expect(code(() => verifyCommit(CHAIN, withStranger, set, { height: 5 }))).toBe('UNKNOWN_VALIDATOR');
    // Signatures over another block do not carry over.
    const otherBlock = {
      ...buildCommit(5, 0, hashOf('B'), precommits([0, 1, 2], hashOf('B'))),
      blockHash: A,
    };
    expect(code(() => verifyCommit(CHAIN, otherBlock, set, { height: 5 }))).toBe('BAD_SIGNATURE');
  });

  it('skips only the signatures the caller already verified; every other one is still checked', () => {
    const good = buildCommit(5, 0, A, precommits([0, 1, 2]));
    const checks = commitSignatureChecks(CHAIN, good, set);
    expect(checks).toHaveLength(3);
    expect(checks.every((c) => verifySignature(c.publicKey, c.message, c.signature))).toBe(true);
    const key = (pk: Uint8Array, m: Uint8Array, sig: Uint8Array) =>
      Buffer.concat([pk, sig, m]).toString('latin1');
    const verified = new Set(checks.map((c) => key(c.publicKey, c.message, c.signature)));
    const asked: string[] = [];
    const already = (pk: Uint8Array, m: Uint8Array, sig: Uint8Array) => {
      asked.push(key(pk, m, sig));
      return verified.has(key(pk, m, sig));
    };
    expect(verifyCommit(CHAIN, good, set, { height: 5, blockHash: A }, already)).toBe(3);
    expect(asked).toHaveLength(3);
    // A tampered signature is not in the verified set, so it is checked, and fails.
    const tampered = {
      ...good,
      signatures: good.signatures.map((s, i) =>
        i === 1 ? { ...s, signature: good.signatures[0].signature } : s,
      ),
    };
    expect(code(() => verifyCommit(CHAIN, tampered, set, { height: 5 }, already))).toBe('BAD_SIGNATURE');
    // Checks made against another set (a wrong guess of the height's validators) do not match.
    const other = validators([1, 1, 1, 1], 'other');
    const wrongGuess = new Set(
      commitSignatureChecks(CHAIN, good, other.set).map((c) => key(c.publicKey, c.message, c.signature)),
    );
    expect(wrongGuess.size).toBe(0);
    // Structure is checked whatever the caller claims.
    expect(code(() => verifyCommit(CHAIN, good, set, { height: 6 }, () => true))).toBe('WRONG_HEIGHT');
    const short = buildCommit(5, 0, A, precommits([0, 1]));
    expect(code(() => verifyCommit(CHAIN, short, set, { height: 5 }, () => true))).toBe('INSUFFICIENT_POWER');
  });
});
