/**
 * The application seen from consensus, in the ABCI++ spirit (DESIGN §1): consensus orders opaque
 * blocks identified by their hash and never looks inside. The node implements this interface
 * over the vm, the attribution pool and the block store.
 *
 * | core output      | Application call   | ABCI++                         | answer fed back        |
 * |------------------|--------------------|--------------------------------|------------------------|
 * | `buildProposal`  | `prepareProposal`  | PrepareProposal                | `proposalBuilt`        |
 * | `validateValue`  | `processProposal`  | ProcessProposal                | `valueValidity`        |
 * | `decide`         | `commitBlock`      | FinalizeBlock + Commit         | `driver.committed(…)`  |
 *
 * All three may be slow (execution, attribution jobs in workers) and are asynchronous; the core
 * never waits on them: it keeps processing votes and its timeouts keep running, so a slow or
 * hung application costs rounds, never safety.
 */

import type { Commit } from '../core/block.js';
import type { ConsensusDriver, DecideOutput } from './driver.js';
import type { ValidatorUpdate } from './validatorSet.js';

export interface Application {
  /**
   * Build, execute and keep a block for (height, round) with us as proposer (header carries the
   * state root after execution, DESIGN §7). Returns its hash; the block itself is gossiped by the
   * node as block data, outside consensus. Must be deterministic enough that a crash and replay
   * need not rebuild: the WAL remembers the hash it returned.
   */
  prepareProposal(req: { height: number; round: number; proposer: Uint8Array }): Promise<Uint8Array>;
  /**
   * Obtain the block with this hash (from gossip or a peer), check it and execute it; true if it
   * is valid (state root, results, settle results all match). False makes us prevote nil.
   * A resolved answer is final and must be the same for the same block every time. A refusal that
   * depends on the local clock or a passing condition (timestamp beyond the drift bound, a job
   * runner error, the tip moved during an await, the block not fetched yet) must REJECT the
   * promise instead: it is fed back as a transient refusal, never cached or logged. `decided`:
   * the block holds 2f+1 precommits or a checked certificate; never refuse it for clock reasons.
   */
  processProposal(req: {
    height: number;
    round: number;
    blockHash: Uint8Array;
    decided?: boolean;
  }): Promise<boolean>;
  /**
   * Durably commit the decided block with its certificate (block, state, indexes in ONE batch,
   * DESIGN §9) and return the validator updates it decided, effective at height + 2.
   */
  commitBlock(req: { height: number; round: number; blockHash: Uint8Array; commit: Commit }): Promise<{
    validatorUpdates: ValidatorUpdate[];
  }>;
}

/**
 * The application part of `DriverEffects`: calls the application and feeds each answer back into
 * the driver. A failure of `commitBlock` is fatal (reported to `onFatal`): the node must stop
 * rather than continue without the block; a failed prepare counts as "no answer" (the round's
 * timeouts move on); a failed process is a transient refusal (invalid this round, asked again).
 */
export function applicationEffects(
  app: Application,
  driver: () => ConsensusDriver,
  onError: (stage: 'prepare' | 'process' | 'commit', error: unknown) => void,
): {
  buildProposal(height: number, round: number): void;
  validateValue(height: number, round: number, blockHash: Uint8Array, decided: boolean): void;
  decide(d: DecideOutput): void;
} {
  return {
    buildProposal(height, round) {
      const proposer = driver().state.self;
      if (proposer === null) return;
      app.prepareProposal({ height, round, proposer }).then(
        (blockHash) => driver().input({ type: 'proposalBuilt', height, round, blockHash }),
        (e) => onError('prepare', e),
      );
    },
    validateValue(height, round, blockHash, decided) {
      app.processProposal({ height, round, blockHash, decided }).then(
        (valid) => driver().input({ type: 'valueValidity', height, blockHash, valid }),
        (e) => {
          onError('process', e);
          driver().input({ type: 'valueValidity', height, blockHash, valid: false, transient: true });
        },
      );
    },
    decide(d) {
      app.commitBlock({ height: d.height, round: d.round, blockHash: d.blockHash, commit: d.commit }).then(
        ({ validatorUpdates }) => driver().committed(d.height, validatorUpdates),
        (e) => onError('commit', e),
      );
    },
  };
}
