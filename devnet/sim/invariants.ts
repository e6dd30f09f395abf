/**
 * The simulator's checker: the properties a BFT consensus must keep, checked as events happen.
 * - agreement: no two different blocks decided at one height, by any two nodes (honest ones;
 *   byzantine nodes run an honest core too, so their decisions are checked as well);
 * - validity: every decided block was built by a proposer and is valid for its height;
 * - no honest double-sign: no honest node ever broadcasts two different signed messages for one
 *   (height, round, step), across crashes and restarts;
 * - liveness (checked by the simulation loop): after faults stop, every honest node commits again
 *   within a bounded window.
 */

import type { ConsensusMessage } from '../../consensus/validation.js';
import { valueKey } from '../../consensus/voteSet.js';
import type { Proposal, Vote } from '../../core/block.js';
import { toHex } from '../../core/bytes.js';

export type ViolationKind = 'agreement' | 'validity' | 'doubleSign' | 'liveness' | 'memory' | 'exception';

export interface Violation {
  readonly kind: ViolationKind;
  readonly timeMs: number;
  readonly detail: string;
}

export interface BlockInfo {
  readonly height: number;
  readonly valid: boolean;
  /** The round it was built for and the node that built it (validity: the round's proposer). */
  readonly round?: number;
  readonly builder?: number;
  /** Built by a byzantine node dated at the drift edge: some honest clocks refuse it for now. */
  readonly driftEdge?: boolean;
  /** Virtual time it was built. */
  readonly builtMs?: number;
}

export class Invariants {
  readonly violations: Violation[] = [];
  private readonly decided = new Map<number, { key: string; node: number }>();
  private readonly signed = new Map<string, string>();

  onDecide(
    node: number,
    height: number,
    blockHash: Uint8Array,
    timeMs: number,
    block: BlockInfo | undefined,
    proposerOfRound?: (round: number) => number,
  ): void {
    const key = valueKey(blockHash);
    const prior = this.decided.get(height);
    if (prior === undefined) this.decided.set(height, { key, node });
    else if (prior.key !== key) {
      this.fail(
        'agreement',
        timeMs,
        `height ${height}: node ${prior.node} and node ${node} decided different blocks`,
      );
    }
    if (block === undefined || !block.valid || block.height !== height) {
      this.fail(
        'validity',
        timeMs,
        `height ${height}: node ${node} decided 0x${toHex(blockHash).slice(0, 16)}…, which is not a valid block of this height`,
      );
    } else if (
      proposerOfRound !== undefined &&
      block.round !== undefined &&
      proposerOfRound(block.round) !== block.builder
    ) {
      this.fail(
        'validity',
        timeMs,
        `height ${height}: node ${node} decided a block built by node ${block.builder} out of turn (round ${block.round})`,
      );
    }
  }

  /** Every message an honest node broadcasts passes here. */
  onHonestSign(node: number, m: ConsensusMessage, timeMs: number): void {
    let where: string;
    let value: string;
    if (m.type === 'vote') {
      const v: Vote = m.vote;
      where = `${node}/${v.height}/${v.round}/${v.kind === 1 ? 'prevote' : 'precommit'}`;
      value = valueKey(v.blockHash);
    } else if (m.type === 'proposal') {
      const p: Proposal = m.proposal;
      where = `${node}/${p.height}/${p.round}/proposal`;
      value = `${valueKey(p.blockHash)}/${p.polRound}`;
    } else return;
    const prior = this.signed.get(where);
    if (prior === undefined) this.signed.set(where, value);
    else if (prior !== value)
      this.fail('doubleSign', timeMs, `honest node ${node} signed two different messages at ${where}`);
  }

  fail(kind: ViolationKind, timeMs: number, detail: string): void {
    this.violations.push({ kind, timeMs, detail });
  }

  decidedHeights(): number {
    return this.decided.size;
  }
}
