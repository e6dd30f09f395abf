import { describe, expect, it } from 'vitest';
import {
  type Block,
  blockHash,
  type Commit,
  commitHash,
  commitVote,
  encodeCommit,
  encodeHeader,
  evidenceHash,
  type Header,
  headerHash,
  proposalSigningBytes,
  signProposal,
  signVote,
  txsHash,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  type Vote,
  verifyProposalSignature,
  verifyVoteSignature,
  voteSigningBytes,
} from '../../core/block.js';
import { CodecError } from '../../core/errors.js';
import { sha256 } from '../../core/hash.js';
import { publicKeyOf } from '../../core/keys.js';
import { merkleRoot } from '../../core/merkle.js';

const CHAIN = 'ol-test';
const sk = new Uint8Array(32).fill(0x61);
const pk = publicKeyOf(sk);
const h = (b: number) => new Uint8Array(32).fill(b);
const validator = new Uint8Array(20).fill(7);

describe('votes', () => {
  const unsigned = { kind: VOTE_PREVOTE, height: 10, round: 2, blockHash: h(1), validator } as const;
  const vote = signVote(CHAIN, unsigned, sk);

  it('verify under the signer key and chain only', () => {
    expect(verifyVoteSignature(CHAIN, vote, pk)).toBe(true);
    expect(verifyVoteSignature('ol-other', vote, pk)).toBe(false);
    expect(verifyVoteSignature(CHAIN, vote, publicKeyOf(h(2)))).toBe(false);
  });

  it.each<[string, Partial<Vote>]>([
    ['kind', { kind: VOTE_PRECOMMIT }],
    ['height', { height: 11 }],
    ['round', { round: 3 }],
    ['block hash', { blockHash: h(2) }],
    ['block hash → nil', { blockHash: null }],
  ])('break when the %s changes', (_name, patch) => {
    expect(verifyVoteSignature(CHAIN, { ...vote, ...patch }, pk)).toBe(false);
  });

  it('do not sign the validator address (the verifying key says who signed)', () => {
    expect(verifyVoteSignature(CHAIN, { ...vote, validator: new Uint8Array(20) }, pk)).toBe(true);
  });

  it('a vote signature is not a proposal signature', () => {
    const p = { height: 10, round: 2, polRound: -1, blockHash: h(1), proposer: validator };
    expect(verifyProposalSignature(CHAIN, { ...p, signature: vote.signature }, pk)).toBe(false);
    expect(voteSigningBytes(CHAIN, unsigned)).not.toEqual(proposalSigningBytes(CHAIN, p));
  });

  it('refuse to sign out-of-range values', () => {
    expect(() => signVote(CHAIN, { ...unsigned, round: -1 }, sk)).toThrow(CodecError);
    expect(() => signVote(CHAIN, { ...unsigned, kind: 3 as never }, sk)).toThrow(CodecError);
    expect(() => signVote('x'.repeat(65), unsigned, sk)).toThrow(CodecError);
  });
});

describe('proposals', () => {
  const p = signProposal(
    CHAIN,
    { height: 5, round: 1, polRound: 0, blockHash: h(9), proposer: validator },
    sk,
  );
  it('verify, and break when polRound or the block changes', () => {
    expect(verifyProposalSignature(CHAIN, p, pk)).toBe(true);
    expect(verifyProposalSignature(CHAIN, { ...p, polRound: -1 }, pk)).toBe(false);
    expect(verifyProposalSignature(CHAIN, { ...p, blockHash: h(8) }, pk)).toBe(false);
    expect(verifyProposalSignature('ol-other', p, pk)).toBe(false);
  });
});

describe('commits', () => {
  it('each signature is a precommit that verifies with verifyVoteSignature', () => {
    const keys = [0x71, 0x72, 0x73].map((b) => new Uint8Array(32).fill(b));
    const sigs = keys.map((k, i) => {
      const v = signVote(
        CHAIN,
        { kind: VOTE_PRECOMMIT, height: 9, round: 0, blockHash: h(4), validator: new Uint8Array(20).fill(i) },
        k,
      );
      return { validator: v.validator, signature: v.signature };
    });
    const commit: Commit = { height: 9, round: 0, blockHash: h(4), signatures: sigs };
    keys.forEach((k, i) => {
      const v = commitVote(commit, i);
      expect(v.kind).toBe(VOTE_PRECOMMIT);
      expect(verifyVoteSignature(CHAIN, v, publicKeyOf(k))).toBe(true);
      expect(verifyVoteSignature(CHAIN, commitVote({ ...commit, round: 1 }, i), publicKeyOf(k))).toBe(false);
    });
    expect(commitHash(commit)).toEqual(sha256(encodeCommit(commit)));
    expect(commitHash(null)).toEqual(sha256(new Uint8Array(0)));
  });
});

describe('block identity', () => {
  const header: Header = {
    version: 1,
    chainId: CHAIN,
    height: 1,
    timeMs: 1_700_000_000_000,
    parentHash: h(0),
    lastCommitHash: commitHash(null),
    txsHash: txsHash([]),
    evidenceHash: evidenceHash([]),
    stateRoot: h(5),
    resultsHash: h(6),
    validatorsHash: h(7),
    nextValidatorsHash: h(7),
    proposer: validator,
  };

  it('a block is identified by the sha256 of its header encoding', () => {
    const block: Block = { header, txs: [], lastCommit: null, evidence: [] };
    expect(blockHash(block)).toEqual(sha256(encodeHeader(header)));
    expect(headerHash(header)).toEqual(blockHash(block));
    expect(headerHash({ ...header, timeMs: header.timeMs + 1 })).not.toEqual(headerHash(header));
  });

  it('txsHash is the Merkle root of the tx hashes; empty lists hash to sha256 of nothing', () => {
    const txs = [Uint8Array.of(1), Uint8Array.of(2, 3)];
    expect(txsHash(txs)).toEqual(merkleRoot(txs.map((t) => sha256(t))));
    expect(txsHash([])).toEqual(sha256(new Uint8Array(0)));
    expect(evidenceHash([])).toEqual(sha256(new Uint8Array(0)));
  });
});
