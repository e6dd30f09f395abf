import type { ConsensusMessage } from '../consensus/validation.js';
import { signProposal, signVote } from '../core/block.js';
import { encodeWire } from '../core/codec.js';
import { sha256 } from '../core/hash.js';
import type { KeyPair } from '../core/keys.js';

/**
 * Test-only byzantine validator (issue 18; faults `equivocate`, `equivocateVotes`,
 * `equivocateProposals` in OPENLEDGER_TEST_FAULTS). For each vote or proposal the node broadcasts,
 * `conflictingMessage` signs a second one for the same (height, round, step) with the validator
 * key directly, past the signer guard (which would refuse it, `CONFLICT`): a vote for a block
 * becomes a vote for nil and a nil vote a vote for a block nobody has; a proposal names a block
 * nobody has. Real processes, real keys, real gossip: honest nodes must turn it into evidence
 * (duplicate vote, duplicate proposal), commit it, slash and tombstone this validator, and keep
 * committing without forking. Nothing here runs unless the environment asks for it.
 */

export const EQUIVOCATION_FAULTS = ['equivocate', 'equivocateVotes', 'equivocateProposals'] as const;
export type EquivocationFault = (typeof EQUIVOCATION_FAULTS)[number];

/** What the fault makes this validator double-sign. */
export interface Equivocation {
  votes: boolean;
  proposals: boolean;
}

/** The equivocation a list of fault names asks for, or null. */
export function equivocationFrom(faults: readonly string[]): Equivocation | null {
  const both = faults.includes('equivocate');
  const votes = both || faults.includes('equivocateVotes');
  const proposals = both || faults.includes('equivocateProposals');
  return votes || proposals ? { votes, proposals } : null;
}

/** A block hash no node can fetch, distinct per (height, round, what). */
function phantomHash(height: number, round: number, what: number): Uint8Array {
  return sha256(encodeWire(['ol/test/equivocate/1', height, round, what]));
}

/** The conflicting twin of `m` signed with `secretKey`, or null if `m` is not to be doubled. */
export function conflictingMessage(
  chainId: string,
  m: ConsensusMessage,
  secretKey: Uint8Array,
  mode: Equivocation,
): ConsensusMessage | null {
  if (m.type === 'vote' && mode.votes) {
    const v = m.vote;
    const blockHash = v.blockHash === null ? phantomHash(v.height, v.round, v.kind) : null;
    const { signature: _, ...unsigned } = v;
    return { type: 'vote', vote: signVote(chainId, { ...unsigned, blockHash }, secretKey) };
  }
  if (m.type === 'proposal' && mode.proposals) {
    const p = m.proposal;
    const { signature: _, ...unsigned } = p;
    return {
      type: 'proposal',
      proposal: signProposal(
        chainId,
        { ...unsigned, blockHash: phantomHash(p.height, p.round, 0) },
        secretKey,
      ),
    };
  }
  return null;
}

/** The twin maker the consensus runner calls on each own message, or null (honest, or no key). */
export function equivocator(
  chainId: string,
  mode: Equivocation | undefined,
  key: KeyPair | null,
): ((m: ConsensusMessage) => ConsensusMessage | null) | null {
  if (mode === undefined || key === null) return null;
  return (m) => conflictingMessage(chainId, m, key.secretKey, mode);
}
