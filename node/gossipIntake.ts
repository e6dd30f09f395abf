import type { ConsensusDriver } from '../consensus/driver.js';
import type { CoreInput } from '../consensus/messages.js';
import { CONSENSUS_MESSAGE_BYTES_MAX, type MessageValidator } from '../consensus/validation.js';
import { decodeWire } from '../core/codec.js';
import type { Verdict } from '../p2p/host.js';
import type { BlockVerdict, Chain } from './chain.js';
import { FutureGate } from './futureGate.js';
import type { Logger } from './logger.js';
import type { NodeMetrics } from './metrics.js';
import type { TipCertificate } from './tipCertificate.js';
import type { ValsetStore } from './valsets.js';

/**
 * Gossip coming in on the `consensus`, `evidence` and `block` topics (transactions:
 * node/txIntake.ts): the sequence envelope, validation before the core, late precommits for the
 * tip's certificate, the evidence pool, the next-height gate, proposals' block references, and the
 * recent inputs kept for replay into a restarted core. The verdict returned is gossipsub's.
 */

/** Validated consensus inputs kept for replay after a restart of the core. */
export const RECENT_INPUTS_MAX = 4_096;

function inputHeight(i: CoreInput): number {
  if (i.type === 'proposal') return i.proposal.height;
  if (i.type === 'vote') return i.vote.height;
  return 'height' in i ? (i as { height: number }).height : 0;
}

export interface GossipIntakeDeps {
  readonly chainId: string;
  readonly validator: MessageValidator;
  readonly valsets: Pick<ValsetStore, 'get'>;
  readonly chain: Pick<Chain, 'addEvidence' | 'reference' | 'receiveBlock'>;
  readonly certificate: Pick<TipCertificate, 'height' | 'extend'>;
  /** The current core's driver (undefined before consensus starts: gossip is ignored). */
  driver(): ConsensusDriver | undefined;
  /** True while sync replaces the core's height: inputs are only remembered (node/sync.ts). */
  syncing(): boolean;
  readonly metrics: Pick<NodeMetrics, 'consensusMessagesRejected' | 'gossipRejected'>;
  readonly log: Logger;
}

export class GossipIntake {
  private recentInputs: CoreInput[] = [];
  /** Bounds next-height messages per validator before the core buffers them. */
  private readonly futureGate = new FutureGate();

  constructor(private readonly deps: GossipIntakeDeps) {}

  /** The `block` topic: admission is the chain's (node/chain.ts `receiveBlock`). */
  onBlock(data: Uint8Array, from: string): BlockVerdict {
    const verdict = this.deps.chain.receiveBlock(data, { from });
    if (verdict === 'reject') this.deps.metrics.gossipRejected.inc({ topic: 'block' });
    return verdict;
  }

  /** The `consensus` and `evidence` topics. */
  onConsensusMessage(envelope: Uint8Array): Verdict {
    const { chainId, validator, valsets, chain, certificate, metrics, log } = this.deps;
    const driver = this.deps.driver();
    if (driver === undefined) return 'ignore';
    let data: Uint8Array;
    try {
      const w = decodeWire(envelope, CONSENSUS_MESSAGE_BYTES_MAX + 32);
      if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== 'number' || !(w[1] instanceof Uint8Array))
        throw new Error('bad envelope');
      data = new Uint8Array(w[1]);
      log.trace({ seq: w[0] }, 'consensus gossip received');
    } catch {
      metrics.consensusMessagesRejected.inc({ reason: 'DECODE' });
      return 'reject';
    }
    const height = driver.state.height;
    const r = validator.validateBytes(data, {
      chainId,
      height,
      validatorsAt: (h) => valsets.get(h) ?? null,
    });
    if (!r.ok && r.reason === 'HEIGHT_TOO_OLD' && certificate.height === height - 1) {
      // A late precommit for the block just committed: not for the core any more, but it belongs
      // in the next block's last commit. Checked like any vote of that height (signature, signer).
      const late = validator.validateBytes(data, {
        chainId,
        height: height - 1,
        validatorsAt: (h) => valsets.get(h) ?? null,
      });
      if (late.ok && late.message.type === 'vote') {
        return certificate.extend([late.message.vote]) ? 'accept' : 'ignore';
      }
    }
    if (!r.ok) {
      log.trace({ reason: r.reason, detail: r.detail }, 'consensus message rejected');
      metrics.consensusMessagesRejected.inc({ reason: r.reason });
      if (r.action === 'reject') metrics.gossipRejected.inc({ topic: 'consensus' });
      return r.action;
    }
    if (r.message.type === 'evidence') {
      // Forwarded only when new to the pool (node/evidencePool.ts): duplicates, second pieces
      // against one offender and pieces too old to slash are dropped quietly.
      return chain.addEvidence(r.message.evidence) ? 'accept' : 'ignore';
    }
    if (!this.futureGate.admit(r.message, height)) return 'ignore';
    if (r.message.type === 'proposal') {
      const p = r.message.proposal;
      chain.reference(p.height, p.round, p.blockHash);
    }
    const syncing = this.deps.syncing();
    if (r.input !== null && !syncing) {
      const m = r.message;
      log.trace(
        m.type === 'vote'
          ? { vote: m.vote.kind, height: m.vote.height, round: m.vote.round, nil: m.vote.blockHash === null }
          : { proposal: true, height: (m as { proposal: { height: number } }).proposal.height },
        'consensus input',
      );
      this.remember(r.input as CoreInput);
      driver.input(r.input as CoreInput);
    } else if (syncing) this.remember(r.input as CoreInput);
    return 'accept';
  }

  /**
   * The remembered inputs of `height` and later, for a core restarted at `height` (older ones
   * are forgotten): a restart does not lose proposals and votes of the new height that arrived.
   */
  replayFrom(height: number): CoreInput[] {
    const replay = this.recentInputs.filter((i) => inputHeight(i) >= height);
    this.recentInputs = replay;
    return replay;
  }

  /**
   * Recent validated network inputs, replayed into a restarted core (after sync) so that a
   * restart does not forget proposals and votes of the new height that already arrived.
   */
  private remember(input: CoreInput): void {
    this.recentInputs.push(input);
    if (this.recentInputs.length > RECENT_INPUTS_MAX)
      this.recentInputs.splice(0, this.recentInputs.length >> 1);
  }
}
