import { bytesEqual } from './bytes.js';
import { CHAIN_ID_BYTES_MAX, DOMAIN } from './chain.js';
import {
  bytesMax,
  bytesN,
  decode,
  encode,
  encodeWire,
  int,
  list,
  nullable,
  oneOf,
  type Schema,
  str,
  struct,
  uint,
  type Wire,
} from './codec.js';
import { sha256 } from './hash.js';
import { SIGNATURE_BYTES, sign, verifySignature } from './keys.js';
import { merkleRoot } from './merkle.js';
import { SETTLE_TX_BYTES_MAX } from './tx.js';

/**
 * Blocks and consensus messages (DESIGN §7). A header at height h carries the state root *after*
 * executing block h (the proposer executes before proposing), so one header and one state proof
 * let a light client check any value at h. The commit certificate of block h (its precommits)
 * travels in block h+1 as `lastCommit`.
 */

export const BLOCK_VERSION = 1;
export const BLOCK_BYTES_MAX = 8 * 1024 * 1024;
export const BLOCK_TXS_MAX = 20_000;
export const VALIDATORS_MAX = 150;
export const EVIDENCE_PER_BLOCK_MAX = 50;
export const ROUND_MAX = 10_000;
export const VOTE_BYTES_MAX = 512;
export const PROPOSAL_BYTES_MAX = 512;
export const COMMIT_BYTES_MAX = 128 * 1024;
export const HEADER_BYTES_MAX = 4096;
/** Two votes or two proposals and the kind tag. */
export const EVIDENCE_BYTES_MAX = 2 * Math.max(VOTE_BYTES_MAX, PROPOSAL_BYTES_MAX);

const hash32 = bytesN(32);
const address = bytesN(20);
const signature = bytesN(SIGNATURE_BYTES);

export const headerSchema = struct('header', [
  ['version', uint(255)],
  ['chainId', str(CHAIN_ID_BYTES_MAX)],
  ['height', uint()],
  /** Milliseconds since the epoch; strictly greater than the parent's. */
  ['timeMs', uint()],
  ['parentHash', hash32],
  ['lastCommitHash', hash32],
  ['txsHash', hash32],
  ['evidenceHash', hash32],
  /** State root after executing this block. */
  ['stateRoot', hash32],
  /** Merkle root of the encoded tx results of this block. */
  ['resultsHash', hash32],
  /** Hash of the validator set that signs this block, and of the one that signs the next. */
  ['validatorsHash', hash32],
  ['nextValidatorsHash', hash32],
  ['proposer', address],
] as const);
export type Header = ReturnType<typeof headerSchema.fromWire>;

/** 1 = prevote, 2 = precommit (the Tendermint steps that vote). */
export const VOTE_PREVOTE = 1;
export const VOTE_PRECOMMIT = 2;
export type VoteKind = typeof VOTE_PREVOTE | typeof VOTE_PRECOMMIT;

export const voteSchema = struct('vote', [
  ['kind', int(VOTE_PREVOTE, VOTE_PRECOMMIT)],
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
  /** null is a vote for nil. */
  ['blockHash', nullable(hash32)],
  ['validator', address],
  ['signature', signature],
] as const);
export type Vote = Omit<ReturnType<typeof voteSchema.fromWire>, 'kind'> & { kind: VoteKind };
export type UnsignedVote = Omit<Vote, 'signature'>;

export const proposalSchema = struct('proposal', [
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
  /** Round of the proof-of-lock this value carries, or -1 (Algorithm 1's validRound). */
  ['polRound', int(-1, ROUND_MAX)],
  ['blockHash', hash32],
  ['proposer', address],
  ['signature', signature],
] as const);
export type Proposal = ReturnType<typeof proposalSchema.fromWire>;
export type UnsignedProposal = Omit<Proposal, 'signature'>;

export const commitSigSchema = struct('commitSig', [
  ['validator', address],
  ['signature', signature],
] as const);

/** The precommits that committed `blockHash` at (height, round). */
export const commitSchema = struct('commit', [
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
  ['blockHash', hash32],
  ['signatures', list(commitSigSchema, VALIDATORS_MAX)],
] as const);
export type Commit = ReturnType<typeof commitSchema.fromWire>;

export const EVIDENCE_KINDS = ['duplicateVote', 'duplicateProposal'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** Two conflicting signed votes by one validator at one (height, round, kind). */
export interface DuplicateVoteEvidence {
  kind: 'duplicateVote';
  voteA: Vote;
  voteB: Vote;
}
/**
 * Two different signed proposals by one proposer for one (height, round) (issue 18). An honest
 * proposer signs one proposal per round (its signer guard refuses a second, `CONFLICT`).
 */
export interface DuplicateProposalEvidence {
  kind: 'duplicateProposal';
  proposalA: Proposal;
  proposalB: Proposal;
}
export type Evidence = DuplicateVoteEvidence | DuplicateProposalEvidence;

const evidenceKind = oneOf(EVIDENCE_KINDS);
const duplicateVoteSchema = struct('duplicateVote', [
  ['kind', evidenceKind],
  ['voteA', voteSchema],
  ['voteB', voteSchema],
] as const);
const duplicateProposalSchema = struct('duplicateProposal', [
  ['kind', evidenceKind],
  ['proposalA', proposalSchema],
  ['proposalB', proposalSchema],
] as const);

/**
 * `[kind, a, b]`: the kind string chooses the schema of the pair (votes or proposals). The
 * duplicate-vote encoding is the one of the first version (one kind only), so older blocks decode.
 */
export const evidenceSchema: Schema<Evidence> = {
  kind: 'evidence',
  toWire(e) {
    if (typeof e === 'object' && e !== null && e.kind === 'duplicateProposal')
      return duplicateProposalSchema.toWire(e);
    return duplicateVoteSchema.toWire(e as DuplicateVoteEvidence);
  },
  fromWire(w, path) {
    const kind = Array.isArray(w) ? evidenceKind.fromWire(w[0], `${path}.kind`) : 'duplicateVote';
    if (kind === 'duplicateProposal')
      return duplicateProposalSchema.fromWire(w, path) as DuplicateProposalEvidence;
    return duplicateVoteSchema.fromWire(w, path) as DuplicateVoteEvidence;
  },
};

/** The height of the offence. */
export const evidenceHeight = (e: Evidence): number =>
  e.kind === 'duplicateProposal' ? e.proposalA.height : e.voteA.height;
/** The address of the validator that signed both messages. */
export const evidenceOffender = (e: Evidence): Uint8Array =>
  e.kind === 'duplicateProposal' ? e.proposalA.proposer : e.voteA.validator;
/** The two signatures: they identify one piece of evidence. */
export const evidenceSignatures = (e: Evidence): [Uint8Array, Uint8Array] =>
  e.kind === 'duplicateProposal'
    ? [e.proposalA.signature, e.proposalB.signature]
    : [e.voteA.signature, e.voteB.signature];

/** True when two proposals sign different bytes (another block or another polRound). */
export const proposalsDiffer = (a: UnsignedProposal, b: UnsignedProposal): boolean =>
  a.polRound !== b.polRound || !bytesEqual(a.blockHash, b.blockHash);

export const blockSchema = struct('block', [
  ['header', headerSchema],
  /** Signed transaction encodings; a settle tx, when present, is first. */
  ['txs', list(bytesMax(SETTLE_TX_BYTES_MAX), BLOCK_TXS_MAX)],
  ['lastCommit', nullable(commitSchema)],
  ['evidence', list(evidenceSchema, EVIDENCE_PER_BLOCK_MAX)],
] as const);
export type Block = ReturnType<typeof blockSchema.fromWire>;

// ---- encode / decode / hash ----------------------------------------------------------------

export const encodeHeader = (h: Header): Uint8Array => encode(headerSchema, h);
export const decodeHeader = (b: Uint8Array): Header => decode(headerSchema, b, HEADER_BYTES_MAX, 'header');
export const headerHash = (h: Header): Uint8Array => sha256(encodeHeader(h));

export const encodeBlock = (b: Block): Uint8Array => encode(blockSchema, b);
export const decodeBlock = (b: Uint8Array): Block =>
  decode(blockSchema, b, BLOCK_BYTES_MAX, 'block') as Block;
/** A block is identified by its header hash. */
export const blockHash = (b: Block): Uint8Array => headerHash(b.header);

export const encodeVote = (v: Vote): Uint8Array => encode(voteSchema, v);
export const decodeVote = (b: Uint8Array): Vote => decode(voteSchema, b, VOTE_BYTES_MAX, 'vote') as Vote;

export const encodeProposal = (p: Proposal): Uint8Array => encode(proposalSchema, p);
export const decodeProposal = (b: Uint8Array): Proposal =>
  decode(proposalSchema, b, PROPOSAL_BYTES_MAX, 'proposal');

export const encodeCommit = (c: Commit): Uint8Array => encode(commitSchema, c);
export const decodeCommit = (b: Uint8Array): Commit => decode(commitSchema, b, COMMIT_BYTES_MAX, 'commit');
export const commitHash = (c: Commit | null): Uint8Array =>
  sha256(c === null ? new Uint8Array(0) : encodeCommit(c));

export const encodeEvidence = (e: Evidence): Uint8Array => encode(evidenceSchema, e);
export const decodeEvidence = (b: Uint8Array): Evidence =>
  decode(evidenceSchema, b, EVIDENCE_BYTES_MAX, 'evidence');
export const evidenceHash = (list: readonly Evidence[]): Uint8Array => merkleRoot(list.map(encodeEvidence));

/** Merkle root over the tx hashes of a block. */
export const txsHash = (txs: readonly Uint8Array[]): Uint8Array => merkleRoot(txs.map((t) => sha256(t)));
/** `txsHash` from the transactions' hashes (`txHash`, sha256 of the signed bytes) already computed. */
export const txsHashOf = (txHashes: readonly Uint8Array[]): Uint8Array => merkleRoot(txHashes);

// ---- signing bytes -------------------------------------------------------------------------

/** What a vote signs: the validator is not in it (the key that verifies it says who signed). */
const voteSigningFields = struct('vote', [
  ['kind', int(VOTE_PREVOTE, VOTE_PRECOMMIT)],
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
  ['blockHash', nullable(hash32)],
] as const);
const chainIdField = str(CHAIN_ID_BYTES_MAX);

export function voteSigningBytes(chainId: string, v: UnsignedVote): Uint8Array {
  return encodeWire([DOMAIN.vote, chainIdField.toWire(chainId), ...(voteSigningFields.toWire(v) as Wire[])]);
}

export function signVote(chainId: string, v: UnsignedVote, secretKey: Uint8Array): Vote {
  return { ...v, signature: sign(voteSigningBytes(chainId, v), secretKey) };
}

export function verifyVoteSignature(chainId: string, v: Vote, publicKey: Uint8Array): boolean {
  return verifySignature(publicKey, voteSigningBytes(chainId, v), v.signature);
}

const proposalSigningFields = struct('proposal', [
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
  ['polRound', int(-1, ROUND_MAX)],
  ['blockHash', hash32],
] as const);

export function proposalSigningBytes(chainId: string, p: UnsignedProposal): Uint8Array {
  return encodeWire([
    DOMAIN.proposal,
    chainIdField.toWire(chainId),
    ...(proposalSigningFields.toWire(p) as Wire[]),
  ]);
}

export function signProposal(chainId: string, p: UnsignedProposal, secretKey: Uint8Array): Proposal {
  return { ...p, signature: sign(proposalSigningBytes(chainId, p), secretKey) };
}

export function verifyProposalSignature(chainId: string, p: Proposal, publicKey: Uint8Array): boolean {
  return verifySignature(publicKey, proposalSigningBytes(chainId, p), p.signature);
}

/** The precommit a commit signature stands for, so it can be checked with `verifyVoteSignature`. */
export function commitVote(c: Commit, index: number): Vote {
  const s = c.signatures[index];
  return {
    kind: VOTE_PRECOMMIT,
    height: c.height,
    round: c.round,
    blockHash: c.blockHash,
    validator: s.validator,
    signature: s.signature,
  };
}
