/**
 * The core's inputs and outputs (see consensus/README.md for what the driver does with each).
 * Plain data, so a run can be logged, replayed from the WAL, and compared byte for byte.
 */

import type { Commit, Evidence, Proposal, UnsignedProposal, UnsignedVote, Vote } from '../core/block.js';
import type { TimeoutKind } from './timeouts.js';
import type { ValidatorUpdate } from './validatorSet.js';

export type CoreInput =
  /** Begin the current height at round 0 (after creating or restoring the state). */
  | { readonly type: 'start' }
  /** A validated proposal from the network, or our own signed proposal fed back. */
  | { readonly type: 'proposal'; readonly proposal: Proposal }
  /** A validated vote from the network, or our own signed vote fed back. */
  | { readonly type: 'vote'; readonly vote: Vote }
  /** A timeout the core asked for has expired. */
  | { readonly type: 'timeout'; readonly kind: TimeoutKind; readonly height: number; readonly round: number }
  /** Application answer to `buildProposal`: the id (block hash) of the block it prepared. */
  | {
      readonly type: 'proposalBuilt';
      readonly height: number;
      readonly round: number;
      readonly blockHash: Uint8Array;
    }
  /**
   * Application answer to `validateValue`: whether the block with this hash is valid. `transient`
   * (only with `valid: false`) marks a refusal that depends on the local clock or a passing
   * condition (a timestamp beyond the drift bound, a job-runner error, a stale height after an
   * await): the core treats the value as invalid for the current round only, asks again in the
   * next round, and the driver never writes such an answer to the WAL.
   */
  | {
      readonly type: 'valueValidity';
      readonly height: number;
      readonly blockHash: Uint8Array;
      readonly valid: boolean;
      readonly transient?: boolean;
    }
  /**
   * A commit certificate for the current height, from block sync or a peer that is ahead, whose
   * signatures the driver checked with `verifyCommit`. Decides like L49 (2f+1 precommits for
   * id(v), valid(v)); needed because a node that missed a round's precommits, or saw an
   * equivocator's other precommit first, cannot rebuild the quorum from single votes.
   */
  | { readonly type: 'commitCertificate'; readonly commit: Commit }
  /** Application answer to `decide`: the block is durably committed; updates take effect at height + 2. */
  | {
      readonly type: 'committed';
      readonly height: number;
      readonly validatorUpdates: readonly ValidatorUpdate[];
    };

export type CoreOutput =
  /** Sign (through the signer guard), log with fsync, broadcast, and feed back as a `proposal` input. */
  | { readonly type: 'castProposal'; readonly proposal: UnsignedProposal }
  /** Sign (through the signer guard), log with fsync, broadcast, and feed back as a `vote` input. */
  | { readonly type: 'castVote'; readonly vote: UnsignedVote }
  /** Deliver a `timeout` input after `durationMs` of local time. */
  | {
      readonly type: 'scheduleTimeout';
      readonly kind: TimeoutKind;
      readonly height: number;
      readonly round: number;
      readonly durationMs: number;
    }
  /** Ask the application for a block (prepare); answer with `proposalBuilt`. */
  | { readonly type: 'buildProposal'; readonly height: number; readonly round: number }
  /**
   * Ask the application to check the block with this hash (process); answer with `valueValidity`.
   * `decided`: the value holds 2f+1 precommits or a checked certificate, so more than 1/3 honest
   * stake already accepted its timestamp: the application must not refuse it for clock reasons.
   */
  | {
      readonly type: 'validateValue';
      readonly height: number;
      readonly round: number;
      readonly blockHash: Uint8Array;
      readonly decided: boolean;
    }
  /** The height is decided: commit the block with this certificate, then answer with `committed`. */
  | {
      readonly type: 'decide';
      readonly height: number;
      readonly round: number;
      readonly blockHash: Uint8Array;
      readonly commit: Commit;
    }
  /** A validator signed two different votes for one (height, round, kind): gossip and include it. */
  | { readonly type: 'evidence'; readonly evidence: Evidence };
