import { ConsensusDriver, type DriverEffects } from '../consensus/driver.js';
import type { CoreInput } from '../consensus/messages.js';
import { SignerGuard } from '../consensus/signerGuard.js';
import { type CoreState, createState } from '../consensus/stateMachine.js';
import type { TimeoutConfig } from '../consensus/timeouts.js';
import { type ConsensusMessage, encodeConsensusMessage } from '../consensus/validation.js';
import type { Wal } from '../consensus/wal.js';
import { VOTE_PRECOMMIT } from '../core/block.js';
import { encodeWire } from '../core/codec.js';
import { OlError } from '../core/errors.js';
import type { P2pHost } from '../p2p/host.js';
import type { Chain, ChainFaults } from './chain.js';
import type { NodeConfig } from './config.js';
import { NodeError } from './errors.js';
import type { Logger } from './logger.js';
import type { Timers } from './timers.js';
import type { TipCertificate } from './tipCertificate.js';
import type { ValsetStore } from './valsets.js';

/**
 * The consensus driver's wiring: the core (re)started at the height after the tip with its WAL
 * and signer guard, and the effects it asks for — broadcasts (in the sequence envelope), round
 * timeouts, proposals built by the chain after the certificate grace, validity checks, commits
 * with the pause between blocks and retries, evidence — plus the periodic re-gossip of its votes.
 */

/** Own consensus messages of the current height are re-gossiped this often (lost gossip heals). */
export const REGOSSIP_MS = 1_000;
/** A decided block that no peer can serve yet is asked for again this often, this many times. */
export const COMMIT_RETRY_MS = 2_000;
export const COMMIT_RETRIES_MAX = 300;

/**
 * Proposers whose blocks of `height` may be held before their proposal arrives (node/chain.ts
 * `receiveBlock`): those of the core's round and the next one, or of rounds 0 and 1 of the next
 * height.
 */
export function expectedProposers(
  valsets: Pick<ValsetStore, 'get'>,
  core: CoreState | undefined,
  height: number,
): Uint8Array[] {
  const set = valsets.get(height);
  if (set === undefined) return [];
  const round = core !== undefined && core.height === height ? core.round : 0;
  return [set.proposer(round).address, set.proposer(round + 1).address];
}

export interface ConsensusRunnerDeps {
  readonly chainId: string;
  /** This node's validator address (null: it never signs). */
  readonly address: Uint8Array | null;
  readonly config: NodeConfig['consensus'];
  readonly chain: Pick<Chain, 'tip' | 'prepareProposal' | 'processProposal' | 'commitBlock' | 'addEvidence'>;
  readonly valsets: Pick<ValsetStore, 'require'>;
  readonly wal: Wal;
  readonly guard: SignerGuard | null;
  readonly certificate: Pick<TipCertificate, 'decided' | 'extend' | 'settled'>;
  readonly timers: Timers;
  readonly p2p: Pick<P2pHost, 'publish'>;
  readonly faults: ChainFaults;
  /**
   * Test-only byzantine validator (fault `equivocate…`, node/equivocator.ts): the signed
   * conflicting twin of an own message, published right after it; null for honest nodes.
   */
  readonly equivocate?: ((m: ConsensusMessage) => ConsensusMessage | null) | null;
  readonly log: Logger;
  /** Validated gossip inputs of `height` and later, replayed into a restarted core. */
  replayInputs(height: number): CoreInput[];
  /** When the node was created (the first block's pause and stall are measured from it). */
  readonly createdAtMs: number;
  stopped(): boolean;
  /** True when `e` is a storage failure that stops the node (a full disk); it then says so. */
  storageFailed(e: unknown): boolean;
}

export class ConsensusRunner {
  /** The current core's driver (undefined until the first `start`). */
  driver: ConsensusDriver | undefined;
  /** When the last block was decided or applied by sync (local clock); the next pause ends
   * `blockTimeMs` after it. */
  lastDecideAt: number;
  private generation = 0;
  private gossipSeq = 0;

  constructor(private readonly deps: ConsensusRunnerDeps) {
    this.lastDecideAt = deps.createdAtMs;
  }

  /** Feeds the current core an input. */
  input(input: CoreInput): void {
    this.driver!.input(input);
  }

  /** Every effect of the current and earlier cores is dropped from now on (stop, failed commit). */
  halt(): void {
    this.generation++;
  }

  private timeouts(): TimeoutConfig {
    const c = this.deps.config;
    return {
      proposeMs: c.timeoutProposeMs,
      proposeDeltaMs: c.timeoutDeltaMs,
      prevoteMs: c.timeoutPrevoteMs,
      prevoteDeltaMs: c.timeoutDeltaMs,
      precommitMs: c.timeoutPrecommitMs,
      precommitDeltaMs: c.timeoutDeltaMs,
    };
  }

  /** (Re)starts the consensus core at the height after the tip, replaying that height's WAL. */
  start(): void {
    const { chainId, address, chain, valsets, certificate, timers, faults, log } = this.deps;
    const gen = ++this.generation;
    const height = chain.tip.height + 1;
    const state = createState({
      chainId,
      self: address,
      height,
      validators: valsets.require(height),
      nextValidators: valsets.require(height + 1),
      timeouts: this.timeouts(),
    });
    const live = () => gen === this.generation && !this.deps.stopped();
    const effects: DriverEffects = {
      broadcast: (m) => {
        if (!live()) return;
        // In the [seq, message] envelope that the gossip intake expects (a bare message is
        // rejected as DECODE, and only the 1 s re-gossip got through).
        const send = () =>
          this.publish(m.type === 'evidence' ? 'evidence' : 'consensus', encodeConsensusMessage(chainId, m));
        const slowMs = faults.slowPrecommitMs ?? 0;
        if (slowMs > 0 && m.type === 'vote' && m.vote.kind === VOTE_PRECOMMIT) timers.later(slowMs, send);
        else send();
        const twin = this.deps.equivocate?.(m) ?? null;
        if (twin !== null) this.publish('consensus', encodeConsensusMessage(chainId, twin));
      },
      scheduleTimeout: (t) => {
        log.debug({ kind: t.kind, height: t.height, round: t.round, ms: t.durationMs }, 'timeout scheduled');
        timers.later(t.durationMs, () => {
          if (live()) this.input({ type: 'timeout', kind: t.kind, height: t.height, round: t.round });
        });
      },
      buildProposal: (h, round) => {
        certificate
          .settled(h - 1)
          .then(() => chain.prepareProposal({ height: h, round, proposer: address! }))
          .then(
            (blockHash) => live() && this.input({ type: 'proposalBuilt', height: h, round, blockHash }),
            (e) =>
              this.deps.storageFailed(e) ||
              log.warn({ height: h, round, err: (e as Error).message }, 'could not build a proposal'),
          );
      },
      validateValue: (h, round, blockHash, decided) => {
        chain.processProposal({ height: h, round, blockHash, decided }).then(
          (valid) => {
            log.debug({ height: h, round, valid }, 'proposal checked');
            if (live()) this.input({ type: 'valueValidity', height: h, blockHash, valid });
          },
          // Clock, job runner, stale tip: invalid for this round only, asked again (never logged).
          () => {
            if (live())
              this.input({
                type: 'valueValidity',
                height: h,
                blockHash,
                valid: false,
                transient: true,
              });
          },
        );
      },
      decide: (d) => {
        const attempt = (tries: number): void => {
          chain
            .commitBlock({ height: d.height, round: d.round, blockHash: d.blockHash, commit: d.commit })
            .then(
              ({ validatorUpdates }) => {
                if (!live()) return;
                log.info({ height: d.height, round: d.round }, 'block committed');
                certificate.decided(d.height, d.commit);
                // Pause between blocks (like CometBFT's timeout_commit) so blocks come at a steady pace.
                const now = Date.now();
                const wait = Math.max(0, this.deps.config.blockTimeMs - (now - this.lastDecideAt));
                this.lastDecideAt = now + wait;
                timers.later(wait, () => {
                  if (!live()) return;
                  // Complete the certificate with the precommits that arrived after the quorum,
                  // during the pause: the next proposal carries every one of them.
                  certificate.extend(this.driver!.precommitsFor(d.height, d.round, d.blockHash));
                  this.driver!.committed(d.height, validatorUpdates);
                });
              },
              (e) => {
                if (!live() || this.deps.storageFailed(e)) return;
                if (chain.tip.height >= d.height) {
                  // Sync got there first; just move consensus on.
                  this.start();
                  return;
                }
                if (e instanceof OlError && e.code === 'BLOCK_UNAVAILABLE' && tries < COMMIT_RETRIES_MAX) {
                  // Decided, but nobody we reached has the block yet (e.g. every node restarted
                  // mid-height): it is decided, so it exists somewhere; keep asking.
                  log.warn({ height: d.height, tries }, 'decided block not available yet; retrying');
                  timers.later(COMMIT_RETRY_MS, () => live() && attempt(tries + 1));
                  return;
                }
                log.error(
                  { height: d.height, err: (e as Error).message },
                  'commit failed; stopping consensus',
                );
                this.generation++;
              },
            );
        };
        attempt(1);
      },
      evidence: (e) => {
        chain.addEvidence(e);
        this.publish('evidence', encodeConsensusMessage(chainId, { type: 'evidence', evidence: e }));
      },
      refused: (e) => log.warn({ err: e.message, code: e.code }, 'signer guard refused to sign'),
    };
    this.driver = new ConsensusDriver(
      state,
      this.deps.wal,
      this.deps.guard ?? refusingGuard(chainId),
      effects,
    );
    const opened = this.driver.start();
    for (const i of this.deps.replayInputs(height)) this.driver.input(i);
    if (opened.droppedBytes > 0)
      log.warn({ height, dropped: opened.droppedBytes }, 'WAL had a damaged tail; cut it');
    log.debug({ height, replayed: opened.inputs.length }, 'consensus started');
  }

  /**
   * Consensus gossip travels in a small envelope `[sequence, message]`. gossipsub identifies
   * messages by content hash and remembers them for minutes, so re-sending the same signed vote
   * would be dropped as a duplicate; a fresh sequence number lets a node re-gossip its votes of
   * the current height until peers that missed them (late start, partition) have them.
   */
  private publish(topic: 'consensus' | 'evidence', message: Uint8Array): void {
    const seq = this.gossipSeq++;
    void this.deps.p2p
      .publish(topic, encodeWire([seq, message]))
      .then((n) => this.deps.log.trace({ seq, peers: n }, 'consensus gossip sent'));
  }

  /** Every `REGOSSIP_MS`: the driver's gossip set goes out again. */
  regossip(): void {
    if (this.driver === undefined) return;
    // Own messages, plus others' votes when this node has not moved since the last tick (a peer
    // that missed a round's votes can only get them relayed; see consensus/README.md).
    for (const m of this.driver.gossipSet()) {
      this.publish('consensus', encodeConsensusMessage(this.deps.chainId, m));
    }
  }
}

/** A guard for a node without a validator key: the core never asks it to sign (self = null). */
function refusingGuard(chainId: string): SignerGuard {
  return new SignerGuard(
    chainId,
    () => {
      throw new NodeError('NOT_A_VALIDATOR', 'this node has no validator key');
    },
    { load: () => null, save: () => {} },
  );
}
