/**
 * Commit certificates: the precommits that decided block h, carried in block h+1 as
 * `lastCommit` (DESIGN §7), and the one function that checks them (for block validation, block
 * sync and light clients alike).
 */

import { type Commit, commitVote, VOTE_PRECOMMIT, type Vote, voteSigningBytes } from '../core/block.js';
import { compareBytes, toHex } from '../core/bytes.js';
import { ValidationError } from '../core/errors.js';
import { verifySignature } from '../core/keys.js';
import { addressKey, type ValidatorSet } from './validatorSet.js';

/** Builds a certificate from precommits for `blockHash`, signatures sorted by validator address. */
export function buildCommit(
  height: number,
  round: number,
  blockHash: Uint8Array,
  precommits: readonly Vote[],
): Commit {
  const signatures = precommits
    .map((v) => ({ validator: v.validator, signature: v.signature }))
    .sort((a, b) => compareBytes(a.validator, b.validator));
  return { height, round, blockHash, signatures };
}

/**
 * The certificate `commit` with every precommit of `votes` that is for the same height, round and
 * block and from a validator not yet in it added (signatures again sorted by validator address).
 * Used to carry late precommits into the next block's last commit (consensus/README.md, "Complete
 * certificates"): the votes must come from a checked source (validated gossip or the core); the
 * result is checked by everyone who receives it with `verifyCommit` anyway. Returns `commit`
 * itself when nothing was added.
 */
export function extendCommit(commit: Commit, votes: readonly Vote[]): Commit {
  const have = new Set(commit.signatures.map((s) => toHex(s.validator)));
  const added: { validator: Uint8Array; signature: Uint8Array }[] = [];
  for (const v of votes) {
    if (v.kind !== VOTE_PRECOMMIT || v.height !== commit.height || v.round !== commit.round) continue;
    if (v.blockHash === null || compareBytes(v.blockHash, commit.blockHash) !== 0) continue;
    const key = toHex(v.validator);
    if (have.has(key)) continue;
    have.add(key);
    added.push({ validator: v.validator, signature: v.signature });
  }
  if (added.length === 0) return commit;
  const signatures = [...commit.signatures, ...added].sort((a, b) => compareBytes(a.validator, b.validator));
  return { ...commit, signatures };
}

/** One signature check: `verifySignature(publicKey, message, signature)`. */
export interface SignatureCheck {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/** Tells whether a signature was already checked with `verifySignature` (and passed). */
export type SignatureVerified = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

export interface CommitExpectation {
  readonly height: number;
  /** When given, the certificate must be for this block. */
  readonly blockHash?: Uint8Array;
}

/**
 * Checks that `commit` proves `expected` was decided by `validators` (the set of commit.height):
 * right height and block, each signer a distinct member of the set with a valid precommit
 * signature (through the one verification function, `verifySignature`), and more than 2/3 of the
 * total power signing. Throws a `ValidationError` whose code names the first failure:
 * WRONG_HEIGHT, WRONG_BLOCK, DUPLICATE_SIGNER, UNKNOWN_VALIDATOR, BAD_SIGNATURE,
 * INSUFFICIENT_POWER. Returns the signed power.
 *
 * `alreadyVerified`, when given, names signatures the caller has already checked with
 * `verifySignature` (block sync checks a whole range's certificates in worker threads ahead of
 * applying them); every other signature is checked here.
 */
export function verifyCommit(
  chainId: string,
  commit: Commit,
  validators: ValidatorSet,
  expected: CommitExpectation,
  alreadyVerified?: SignatureVerified,
): number {
  if (commit.height !== expected.height) {
    throw new ValidationError(
      'WRONG_HEIGHT',
      `commit is for height ${commit.height}, expected ${expected.height}`,
    );
  }
  if (expected.blockHash !== undefined && compareBytes(commit.blockHash, expected.blockHash) !== 0) {
    throw new ValidationError(
      'WRONG_BLOCK',
      `commit is for block 0x${toHex(commit.blockHash)}, expected 0x${toHex(expected.blockHash)}`,
    );
  }
  // Structure first (cheap), signatures last (expensive).
  const seen = new Set<string>();
  let power = 0;
  const indexes: number[] = [];
  for (const s of commit.signatures) {
    const key = addressKey(s.validator);
    if (seen.has(key)) {
      throw new ValidationError(
        'DUPLICATE_SIGNER',
        `validator 0x${toHex(s.validator)} signs the commit twice`,
      );
    }
    seen.add(key);
    const index = validators.indexOf(s.validator);
    if (index < 0) {
      throw new ValidationError(
        'UNKNOWN_VALIDATOR',
        `0x${toHex(s.validator)} is not a validator at this height`,
      );
    }
    indexes.push(index);
    power += validators.validators[index].power;
  }
  if (!validators.isQuorum(power)) {
    throw new ValidationError(
      'INSUFFICIENT_POWER',
      `commit carries ${power} of ${validators.totalPower} voting power; more than 2/3 is needed`,
    );
  }
  for (let i = 0; i < commit.signatures.length; i++) {
    const v = validators.validators[indexes[i]];
    const message = voteSigningBytes(chainId, commitVote(commit, i));
    const signature = commit.signatures[i].signature;
    if (alreadyVerified?.(v.publicKey, message, signature)) continue;
    if (!verifySignature(v.publicKey, message, signature)) {
      throw new ValidationError('BAD_SIGNATURE', `bad precommit signature from 0x${toHex(v.address)}`);
    }
  }
  return power;
}

/**
 * The signature checks `verifyCommit` would make for `commit` against `validators`, for signers
 * that are members of the set (the rest fail there anyway), so they can run elsewhere first.
 */
export function commitSignatureChecks(
  chainId: string,
  commit: Commit,
  validators: ValidatorSet,
): SignatureCheck[] {
  const out: SignatureCheck[] = [];
  for (let i = 0; i < commit.signatures.length; i++) {
    const index = validators.indexOf(commit.signatures[i].validator);
    if (index < 0) continue;
    out.push({
      publicKey: validators.validators[index].publicKey,
      message: voteSigningBytes(chainId, commitVote(commit, i)),
      signature: commit.signatures[i].signature,
    });
  }
  return out;
}
