/**
 * The gate between the network and the core. Every consensus message from a peer is decoded and
 * checked here (wire format, chain, height window, signer membership, proposer, signature) before
 * the core sees it; a bad message becomes a typed reason and a count, never an exception that
 * escapes, so a hostile peer can neither crash nor stall the node. The verdict maps onto
 * gossipsub: `reject` (provably bad, score the peer down) or `ignore` (stale or early, drop).
 */

import {
  type Evidence,
  evidenceHeight,
  evidenceSchema,
  type Proposal,
  proposalSchema,
  proposalsDiffer,
  VOTE_BYTES_MAX,
  type Vote,
  verifyProposalSignature,
  verifyVoteSignature,
  voteSchema,
} from '../core/block.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import { CHAIN_ID_BYTES_MAX } from '../core/chain.js';
import { decode, decodeWire, encode, int, str, struct } from '../core/codec.js';
import type { CoreInput } from './messages.js';
import type { ValidatorSet } from './validatorSet.js';

/** Generous bound on an encoded consensus message (a vote is ~170 bytes, evidence ~350). */
export const CONSENSUS_MESSAGE_BYTES_MAX = 4 * VOTE_BYTES_MAX;

export type ConsensusMessage =
  | { readonly type: 'proposal'; readonly proposal: Proposal }
  | { readonly type: 'vote'; readonly vote: Vote }
  | { readonly type: 'evidence'; readonly evidence: Evidence };

const TAG = { proposal: 1, vote: 2, evidence: 3 } as const;

const proposalMessage = struct('proposalMessage', [
  ['chainId', str(CHAIN_ID_BYTES_MAX)],
  ['tag', int(TAG.proposal, TAG.proposal)],
  ['proposal', proposalSchema],
] as const);
const voteMessage = struct('voteMessage', [
  ['chainId', str(CHAIN_ID_BYTES_MAX)],
  ['tag', int(TAG.vote, TAG.vote)],
  ['vote', voteSchema],
] as const);
const evidenceMessage = struct('evidenceMessage', [
  ['chainId', str(CHAIN_ID_BYTES_MAX)],
  ['tag', int(TAG.evidence, TAG.evidence)],
  ['evidence', evidenceSchema],
] as const);

/** The bytes gossiped on `/ol/<chainId>/consensus/1` (evidence also on `/evidence/1`). */
export function encodeConsensusMessage(chainId: string, m: ConsensusMessage): Uint8Array {
  switch (m.type) {
    case 'proposal':
      return encode(proposalMessage, { chainId, tag: TAG.proposal, proposal: m.proposal });
    case 'vote':
      return encode(voteMessage, { chainId, tag: TAG.vote, vote: m.vote });
    case 'evidence':
      return encode(evidenceMessage, { chainId, tag: TAG.evidence, evidence: m.evidence });
  }
}

/** Strict decode; throws `CodecError`. Returns the chain id the sender claims. */
export function decodeConsensusMessage(bytes: Uint8Array): { chainId: string; message: ConsensusMessage } {
  const wire = decodeWire(bytes, CONSENSUS_MESSAGE_BYTES_MAX);
  const tag = Array.isArray(wire) ? wire[1] : undefined;
  if (tag === TAG.proposal) {
    const m = decode(proposalMessage, bytes, CONSENSUS_MESSAGE_BYTES_MAX);
    return { chainId: m.chainId, message: { type: 'proposal', proposal: m.proposal } };
  }
  if (tag === TAG.vote) {
    const m = decode(voteMessage, bytes, CONSENSUS_MESSAGE_BYTES_MAX);
    return { chainId: m.chainId, message: { type: 'vote', vote: m.vote as Vote } };
  }
  const m = decode(evidenceMessage, bytes, CONSENSUS_MESSAGE_BYTES_MAX);
  return { chainId: m.chainId, message: { type: 'evidence', evidence: m.evidence as Evidence } };
}

export const REJECT_REASONS = [
  'DECODE',
  'WRONG_CHAIN',
  'HEIGHT_TOO_OLD',
  'HEIGHT_TOO_NEW',
  'UNKNOWN_VALIDATOR',
  'WRONG_PROPOSER',
  'BAD_POL_ROUND',
  'BAD_SIGNATURE',
  'BAD_EVIDENCE',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type ValidationResult =
  | { readonly ok: true; readonly message: ConsensusMessage; readonly input: CoreInput | null }
  | {
      readonly ok: false;
      readonly reason: RejectReason;
      /** gossipsub: `reject` penalises the peer, `ignore` just drops (stale, early). */
      readonly action: 'reject' | 'ignore';
      readonly detail: string;
    };

export interface ValidationContext {
  readonly chainId: string;
  /** The core's current height: messages of `height` and `height + 1` are accepted. */
  readonly height: number;
  /** Validator set of a height the node knows (at least `height` and `height + 1`), else null. */
  validatorsAt(height: number): ValidatorSet | null;
}

/**
 * Counts of accepted and rejected messages by reason, for metrics. One instance per node.
 */
export class MessageValidator {
  readonly rejected: Record<RejectReason, number> = Object.fromEntries(
    REJECT_REASONS.map((r) => [r, 0]),
  ) as Record<RejectReason, number>;
  accepted = 0;

  /** Decodes and checks gossip bytes. Never throws. */
  validateBytes(bytes: Uint8Array, ctx: ValidationContext): ValidationResult {
    let decoded: { chainId: string; message: ConsensusMessage };
    try {
      decoded = decodeConsensusMessage(bytes);
    } catch (e) {
      return this.fail('DECODE', 'reject', (e as Error).message);
    }
    if (decoded.chainId !== ctx.chainId) {
      return this.fail('WRONG_CHAIN', 'reject', `message for chain ${JSON.stringify(decoded.chainId)}`);
    }
    return this.validate(decoded.message, ctx);
  }

  /** Checks an already decoded message (e.g. from a local source or a test). Never throws. */
  validate(message: ConsensusMessage, ctx: ValidationContext): ValidationResult {
    try {
      return this.check(message, ctx);
    } catch (e) {
      return this.fail('DECODE', 'reject', `malformed message: ${(e as Error).message}`);
    }
  }

  private check(message: ConsensusMessage, ctx: ValidationContext): ValidationResult {
    if (message.type === 'evidence') {
      const set = ctx.validatorsAt(evidenceHeight(message.evidence));
      if (set === null)
        return this.fail('HEIGHT_TOO_OLD', 'ignore', 'evidence for a height without a known set');
      const problem = evidenceProblem(ctx.chainId, message.evidence, set);
      if (problem !== null) return this.fail('BAD_EVIDENCE', 'reject', problem);
      this.accepted++;
      return { ok: true, message, input: null };
    }
    const height = message.type === 'proposal' ? message.proposal.height : message.vote.height;
    if (height < ctx.height) return this.fail('HEIGHT_TOO_OLD', 'ignore', `height ${height} < ${ctx.height}`);
    if (height > ctx.height + 1)
      return this.fail('HEIGHT_TOO_NEW', 'ignore', `height ${height} > ${ctx.height + 1}`);
    const set = ctx.validatorsAt(height);
    if (set === null) return this.fail('HEIGHT_TOO_NEW', 'ignore', `no validator set for height ${height}`);
    if (message.type === 'proposal') {
      const p = message.proposal;
      const index = set.indexOf(p.proposer);
      if (index < 0)
        return this.fail('UNKNOWN_VALIDATOR', 'reject', `0x${toHex(p.proposer)} is not a validator`);
      if (!bytesEqual(set.proposer(p.round).address, p.proposer)) {
        return this.fail(
          'WRONG_PROPOSER',
          'reject',
          `0x${toHex(p.proposer)} is not the proposer of round ${p.round}`,
        );
      }
      if (p.polRound >= p.round) {
        return this.fail('BAD_POL_ROUND', 'reject', `polRound ${p.polRound} is not below round ${p.round}`);
      }
      if (!verifyProposalSignature(ctx.chainId, p, set.validators[index].publicKey)) {
        return this.fail('BAD_SIGNATURE', 'reject', 'bad proposal signature');
      }
      this.accepted++;
      return { ok: true, message, input: { type: 'proposal', proposal: p } };
    }
    const v = message.vote;
    const index = set.indexOf(v.validator);
    if (index < 0)
      return this.fail('UNKNOWN_VALIDATOR', 'reject', `0x${toHex(v.validator)} is not a validator`);
    if (!verifyVoteSignature(ctx.chainId, v, set.validators[index].publicKey)) {
      return this.fail('BAD_SIGNATURE', 'reject', 'bad vote signature');
    }
    this.accepted++;
    return { ok: true, message, input: { type: 'vote', vote: v } };
  }

  private fail(reason: RejectReason, action: 'reject' | 'ignore', detail: string): ValidationResult {
    this.rejected[reason]++;
    return { ok: false, reason, action, detail };
  }
}

/**
 * Why `e` is not valid evidence against `set` (the set of the offence's height), or null when it
 * is. Duplicate votes: two votes by one member at one (height, round, kind) for different values,
 * both correctly signed. Duplicate proposals: two proposals by the proposer of one (height, round)
 * that sign different bytes (another block or another polRound), both correctly signed.
 */
export function evidenceProblem(chainId: string, e: Evidence, set: ValidatorSet): string | null {
  if (e.kind === 'duplicateProposal') return duplicateProposalProblem(chainId, e.proposalA, e.proposalB, set);
  const a = e.voteA;
  const b = e.voteB;
  if (a.height !== b.height || a.round !== b.round || a.kind !== b.kind)
    return 'votes are not at one height/round/step';
  if (!bytesEqual(a.validator, b.validator)) return 'votes are from different validators';
  const same =
    a.blockHash === null || b.blockHash === null
      ? a.blockHash === b.blockHash
      : bytesEqual(a.blockHash, b.blockHash);
  if (same) return 'votes are for the same value';
  const index = set.indexOf(a.validator);
  if (index < 0) return 'signer is not a validator at that height';
  const key = set.validators[index].publicKey;
  if (!verifyVoteSignature(chainId, a, key) || !verifyVoteSignature(chainId, b, key))
    return 'bad vote signature';
  return null;
}

function duplicateProposalProblem(
  chainId: string,
  a: Proposal,
  b: Proposal,
  set: ValidatorSet,
): string | null {
  if (a.height !== b.height || a.round !== b.round) return 'proposals are not at one height/round';
  if (!bytesEqual(a.proposer, b.proposer)) return 'proposals are from different proposers';
  if (!proposalsDiffer(a, b)) return 'proposals are the same';
  const index = set.indexOf(a.proposer);
  if (index < 0) return 'signer is not a validator at that height';
  if (!bytesEqual(set.proposer(a.round).address, a.proposer))
    return `signer is not the proposer of round ${a.round}`;
  const key = set.validators[index].publicKey;
  if (!verifyProposalSignature(chainId, a, key) || !verifyProposalSignature(chainId, b, key))
    return 'bad proposal signature';
  return null;
}
