/**
 * Canonical encoding of the core inputs the WAL keeps (DESIGN §2 rules: msgpack tuples, strict
 * canonical decode). `start` and `committed` are not logged: the first is implied by opening a
 * height's log, the second by rotating to the next one.
 */

import { type Proposal, proposalSchema, ROUND_MAX, type Vote, voteSchema } from '../core/block.js';
import { bool, bytesN, decode, decodeWire, encode, int, oneOf, struct, uint } from '../core/codec.js';
import { CodecError } from '../core/errors.js';
import type { CoreInput } from './messages.js';

/** Larger than any record below (a proposal or vote is under 200 bytes). */
export const WAL_RECORD_BYTES_MAX = 1024;

export type WalInput = Exclude<
  CoreInput,
  { type: 'start' } | { type: 'committed' } | { type: 'commitCertificate' }
>;

const TAG_PROPOSAL = 1;
const TAG_VOTE = 2;
const TAG_TIMEOUT = 3;
const TAG_BUILT = 4;
const TAG_VALIDITY = 5;

const proposalRecord = struct('walProposal', [
  ['tag', int(TAG_PROPOSAL, TAG_PROPOSAL)],
  ['proposal', proposalSchema],
] as const);
const voteRecord = struct('walVote', [
  ['tag', int(TAG_VOTE, TAG_VOTE)],
  ['vote', voteSchema],
] as const);
const timeoutRecord = struct('walTimeout', [
  ['tag', int(TAG_TIMEOUT, TAG_TIMEOUT)],
  ['kind', oneOf(['propose', 'prevote', 'precommit'] as const)],
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
] as const);
const builtRecord = struct('walProposalBuilt', [
  ['tag', int(TAG_BUILT, TAG_BUILT)],
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
  ['blockHash', bytesN(32)],
] as const);
const validityRecord = struct('walValidity', [
  ['tag', int(TAG_VALIDITY, TAG_VALIDITY)],
  ['height', uint()],
  ['blockHash', bytesN(32)],
  ['valid', bool],
] as const);

export function encodeWalInput(input: WalInput): Uint8Array {
  switch (input.type) {
    case 'proposal':
      return encode(proposalRecord, { tag: TAG_PROPOSAL, proposal: input.proposal });
    case 'vote':
      return encode(voteRecord, { tag: TAG_VOTE, vote: input.vote });
    case 'timeout':
      return encode(timeoutRecord, {
        tag: TAG_TIMEOUT,
        kind: input.kind,
        height: input.height,
        round: input.round,
      });
    case 'proposalBuilt':
      return encode(builtRecord, {
        tag: TAG_BUILT,
        height: input.height,
        round: input.round,
        blockHash: input.blockHash,
      });
    case 'valueValidity':
      return encode(validityRecord, {
        tag: TAG_VALIDITY,
        height: input.height,
        blockHash: input.blockHash,
        valid: input.valid,
      });
  }
}

/** Strict decode of one record payload; throws `CodecError`. */
export function decodeWalInput(bytes: Uint8Array): WalInput {
  const wire = decodeWire(bytes, WAL_RECORD_BYTES_MAX);
  const tag = Array.isArray(wire) ? wire[0] : undefined;
  switch (tag) {
    case TAG_PROPOSAL:
      return {
        type: 'proposal',
        proposal: decode(proposalRecord, bytes, WAL_RECORD_BYTES_MAX).proposal as Proposal,
      };
    case TAG_VOTE:
      return { type: 'vote', vote: decode(voteRecord, bytes, WAL_RECORD_BYTES_MAX).vote as Vote };
    case TAG_TIMEOUT: {
      const r = decode(timeoutRecord, bytes, WAL_RECORD_BYTES_MAX);
      return { type: 'timeout', kind: r.kind, height: r.height, round: r.round };
    }
    case TAG_BUILT: {
      const r = decode(builtRecord, bytes, WAL_RECORD_BYTES_MAX);
      return { type: 'proposalBuilt', height: r.height, round: r.round, blockHash: r.blockHash };
    }
    case TAG_VALIDITY: {
      const r = decode(validityRecord, bytes, WAL_RECORD_BYTES_MAX);
      return { type: 'valueValidity', height: r.height, blockHash: r.blockHash, valid: r.valid };
    }
    default:
      throw new CodecError('BAD_WAL_RECORD', `unknown WAL record tag ${JSON.stringify(tag)}`);
  }
}
