import { cpus } from 'node:os';
import { JobPool } from '../attribution/pool.js';
import {
  commitSignatureChecks,
  extendCommit,
  type SignatureCheck,
  verifyCommit,
} from '../consensus/commit.js';
import { ConsensusDriver, type DriverEffects } from '../consensus/driver.js';
import type { CoreInput } from '../consensus/messages.js';
import { FileSignerStateStore, SignerGuard } from '../consensus/signerGuard.js';
import { createState } from '../consensus/stateMachine.js';
import type { TimeoutConfig } from '../consensus/timeouts.js';
import {
  CONSENSUS_MESSAGE_BYTES_MAX,
  encodeConsensusMessage,
  MessageValidator,
} from '../consensus/validation.js';
import { ValidatorSet } from '../consensus/validatorSet.js';
import { FileWalBackend, Wal } from '../consensus/wal.js';
import { addressOf, formatAddress } from '../core/address.js';
import {
  type Block,
  type Commit,
  decodeBlock,
  decodeCommit,
  encodeBlock,
  headerHash,
  VOTE_PRECOMMIT,
  type Vote,
} from '../core/block.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import { decodeWire, encodeWire } from '../core/codec.js';
import { OlError } from '../core/errors.js';
import { type KeyPair, sign } from '../core/keys.js';
import { decodeTx, TX_BYTES_MAX, txHash, txSender } from '../core/tx.js';
import { P2pHost, type Verdict } from '../p2p/host.js';
import { loadOrCreateNodeKey, peerIdOf } from '../p2p/nodeKey.js';
import { StateDb } from '../state/stateDb.js';
import { checkTx } from '../vm/execute.js';
import { type Genesis, genesisState, parseGenesis } from '../vm/genesis.js';
import { dueJobs } from '../vm/jobs.js';
import { chainInfo, currentParams, readStores } from '../vm/readers.js';
import { AdmissionControl } from './admission.js';
import { BlockStore } from './blockStore.js';
import { Chain, type ChainFaults, type CommittedInfo, type Tip } from './chain.js';
import { hostPort, loadConfig, type NodeConfig } from './config.js';
import { EarningsIndex } from './earnings.js';
import { fileExists } from './fsUtil.js';
import { FutureGate } from './futureGate.js';
import { homePaths, readGenesisFile } from './home.js';
import { Indexer } from './indexer.js';
import { JobRunner } from './jobRunner.js';
import { createLogger, type Logger } from './logger.js';
import { Mempool, MempoolError } from './mempool.js';
import { NodeMetrics } from './metrics.js';
import { SigCache } from './sigCache.js';
import { SigPool } from './sigPool.js';
import {
  BLOCKS_PER_REQUEST_MAX,
  type BlockWithCommit,
  decodeBlocksRequest,
  decodeBlocksResponse,
  decodeStatus,
  encodeBlocksRequest,
  encodeBlocksResponse,
  encodeStatus,
  type Status,
} from './syncMessages.js';
import { readValidatorKey } from './validatorKey.js';
import { ValsetStore } from './valsets.js';

/**
 * One OpenLedger node: state and blocks on LevelDB, the vm, the attribution worker pool, the
 * consensus core with its WAL and signer guard, libp2p, and (wired by `rpc/`) JSON-RPC.
 *
 * Start-up order matters for crash safety: the database opens at its last committed block (one
 * atomic batch per block, so there is no partial block to repair), the jobs that block created are
 * restarted, then consensus replays its WAL for the next height before it sends anything.
 */

export class NodeError extends OlError {}

/** Sync asks peers for their status this often, and catches up when one is ahead. */
export const SYNC_POLL_MS = 1_000;
/** A sync range request gives up after this long (a peer that never answers is charged). */
export const SYNC_RANGE_TIMEOUT_MS = 15_000;
/** Points charged to a peer whose sync answer does not back its status (p2p/peerScore.ts). */
export const SYNC_BAD_ANSWER_PENALTY = 25;

/** Points charged to a peer whose sync request failed or timed out (it may just be busy). */
export const SYNC_NO_ANSWER_PENALTY = 10;

/** A sync answer that failed, with the peer that gave it. */
class SyncPeerError extends Error {
  constructor(
    readonly peer: string,
    override readonly cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }
}

/**
 * What a failed sync answer costs its peer: provably bad answers (undecodable, out of range, a
 * certificate that does not verify, a body not matching its header, nothing served for a claimed
 * height) the full `SYNC_BAD_ANSWER_PENALTY`; no answer in time `SYNC_NO_ANSWER_PENALTY`; a block
 * that does not execute here nothing (it may be this node's fault, e.g. a transient job error).
 */
function syncPenalty(cause: unknown): number {
  const code = cause instanceof OlError ? cause.code : undefined;
  if (code === 'SYNC_BLOCK_INVALID' || code === 'STALE_HEIGHT' || code === 'COMMIT_FAILED') return 0;
  if (code === 'REQUEST_FAILED' || code === 'FRAME_TRUNCATED') return SYNC_NO_ANSWER_PENALTY;
  return SYNC_BAD_ANSWER_PENALTY;
}

/** A block range fetched by sync, with the commit signatures already checked in worker threads. */
interface FetchedRange {
  readonly peer: string;
  readonly blocks: BlockWithCommit[];
  readonly verified: Set<string>;
}

/** Identity of one signature check: public key, signature and message. */
function signatureKey(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return Buffer.concat([publicKey, signature, message]).toString('latin1');
}

/** Delay between a peer connecting and the status poll it triggers. */
export const SYNC_ON_CONNECT_MS = 100;
/** Own consensus messages of the current height are re-gossiped this often (lost gossip heals). */
export const REGOSSIP_MS = 1_000;
/** Validated consensus inputs kept for replay after a restart of the core. */
export const RECENT_INPUTS_MAX = 4_096;
/** Junk blocks per height sent by the test-only `floodBlocks` attacker (above PROPOSALS_KEPT_MAX). */
const BLOCK_FLOOD_COUNT = 80;
/** The near-downtime warning repeats at most this often (blocks). */
const DOWNTIME_WARN_EVERY = 100;
/** One block behind with no decision for this long: fetch the decided block and its certificate. */
export const STALL_MS = 2_000;
/** A decided block that no peer can serve yet is asked for again this often, this many times. */
export const COMMIT_RETRY_MS = 2_000;
export const COMMIT_RETRIES_MAX = 300;
/** Transactions per gossip batch, bytes per batch, and how long a batch waits to fill. */
export const TX_BATCH_MAX = 512;
export const TX_BATCH_BYTES_MAX = 1024 * 1024;
export const TX_BATCH_DELAY_MS = 20;

export interface NodeOptions {
  home: string;
  flags?: Record<string, string>;
  faults?: ChainFaults;
  logger?: Logger;
}

export interface NodeEvents {
  onCommitted?(info: CommittedInfo): void;
}

export class OpenLedgerNode {
  readonly log: Logger;
  readonly metrics = new NodeMetrics();
  readonly mempool: Mempool;
  /** Backpressure on RPC submissions (node/admission.ts). */
  readonly admission: AdmissionControl;
  readonly sigs = new SigCache();
  readonly validator = new MessageValidator();
  chain!: Chain;
  p2p!: P2pHost;
  driver!: ConsensusDriver;
  private pool!: JobPool;
  private sigPool!: SigPool;
  jobs!: JobRunner;
  earnings!: EarningsIndex;
  state!: StateDb;
  blocks!: BlockStore;
  valsets!: ValsetStore;
  indexer!: Indexer;
  private wal!: Wal;
  private guard: SignerGuard | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private generation = 0;
  private gossipSeq = 0;
  private syncing = false;
  private polling = false;
  private recentInputs: CoreInput[] = [];
  /** Bounds next-height messages per validator before the core buffers them. */
  private readonly futureGate = new FutureGate();
  private downtimeWarnedAt = -DOWNTIME_WARN_EVERY;
  /** The most complete certificate known for the tip (extended with late precommits). */
  private tipCertificate: Commit | null = null;
  private tipDecidedAt = 0;
  private readonly certificateWaiters: (() => void)[] = [];
  private txOutbox: Uint8Array[] = [];
  private txOutboxBytes = 0;
  private txFlushTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastDecideAt = Date.now();
  readonly listeners = new Set<(info: CommittedInfo) => void>();
  readonly peerStatus = new Map<string, Status>();

  private constructor(
    readonly paths: ReturnType<typeof homePaths>,
    readonly config: NodeConfig,
    readonly genesis: Genesis,
    readonly validatorKey: KeyPair | null,
    private readonly faults: ChainFaults,
    log: Logger,
  ) {
    this.log = log;
    this.mempool = new Mempool({
      txsMax: config.mempool.txsMax,
      bytesMax: config.mempool.bytesMax,
      perSenderMax: config.mempool.perSenderMax,
      replaceBumpPct: 10,
      expiryBlocks: 600,
      nonceGapMax: 256,
      seenCacheMax: 200_000,
    });
    this.admission = new AdmissionControl({
      waitMaxMs: config.mempool.admissionWaitMs,
      backlogMin: config.mempool.admissionBacklogMin,
    });
  }

  get chainId(): string {
    return this.genesis.chainId;
  }

  get address(): Uint8Array | null {
    return this.validatorKey === null ? null : addressOf(this.validatorKey.publicKey);
  }

  static async start(opts: NodeOptions): Promise<OpenLedgerNode> {
    const paths = homePaths(opts.home);
    const config = await loadConfig(paths.config, opts.flags ?? {});
    const log = opts.logger ?? createLogger(config.log.level, config.moniker);
    const genesis = parseGenesis(await readGenesisFile(paths.genesis));
    const validatorKey = (await fileExists(paths.validatorKey))
      ? await readValidatorKey(paths.validatorKey)
      : null;
    const node = new OpenLedgerNode(paths, config, genesis, validatorKey, opts.faults ?? {}, log);
    try {
      await node.open();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  private async open(): Promise<void> {
    const { config, paths } = this;
    this.state = await StateDb.open(paths.db, { versionsKept: config.state.pruneWindow });
    // Load the tree's internal nodes once, so the first blocks after a restart are not slow.
    await this.state.warmUp();
    this.blocks = await BlockStore.open(this.state);
    this.valsets = await ValsetStore.open(this.state);
    this.indexer = await Indexer.open(this.state);
    this.earnings = await EarningsIndex.open(this.state);
    if (this.state.latestVersion === undefined) await this.initGenesis();
    const tip = this.readTip();
    this.log.info({ height: tip.height, hash: toHex(tip.hash) }, 'state opened');

    const threads =
      config.attribution.workers > 0 ? config.attribution.workers : Math.max(1, cpus().length - 1);
    this.pool = new JobPool({ cacheDir: paths.cache, threads });
    this.sigPool = new SigPool(threads);
    this.jobs = new JobRunner(this.pool, this.state, {
      onQueue: (n) => this.metrics.jobQueue.set(n),
      onJobDone: (kind, s) => this.metrics.jobSeconds.observe({ kind }, s),
    });

    this.chain = new Chain(
      {
        chainId: this.chainId,
        state: this.state,
        blocks: this.blocks,
        valsets: this.valsets,
        pending: await this.state.sublevel('pending'),
        indexer: this.indexer,
        earnings: this.earnings,
        mempool: this.mempool,
        jobs: this.jobs,
        sigs: this.sigs,
        sigPool: this.sigPool,
        validatorKey: this.validatorKey,
        log: this.log,
        metrics: this.metrics,
        publishBlock: (bytes) => void this.p2p?.publish('block', bytes),
        fetchBlock: (hash, prefer) => this.fetchBlock(hash, prefer),
        penalize: (peer, points, reason) => this.p2p?.penalize(peer, points, reason),
        expectedProposers: (height) => this.expectedProposers(height),
        bestCommit: (height) =>
          this.tipCertificate !== null && this.tipCertificate.height === height
            ? this.tipCertificate
            : undefined,
        onCommitted: (info) => {
          for (const l of this.listeners) {
            try {
              l(info);
            } catch (e) {
              this.log.warn({ err: (e as Error).message }, 'commit listener failed');
            }
          }
        },
        faults: this.faults,
      },
      tip,
    );
    const reloaded = await this.chain.loadPending();
    if (reloaded > 0) this.log.info({ blocks: reloaded }, 'candidate blocks of the next height reloaded');
    // Index each datanet's newest version as soon as it exists (one per datanet per block).
    this.onCommitted((info) => this.admission.observeCommit(Date.now(), info.block.txs.length));
    this.onCommitted((info) => this.watchDowntime(info.height));
    if (this.faults.floodBlocks) this.onCommitted((info) => this.floodBlocksForTest(info.block, info.hash));
    this.onCommitted((info) => {
      const newest = new Map<string, { datanet: Uint8Array; version: number }>();
      for (const e of info.result.events) {
        if (e.type !== 'contribution.accepted') continue;
        const datanet = e.attrs.datanet as Uint8Array;
        newest.set(toHex(datanet), { datanet, version: Number(e.attrs.version) });
      }
      for (const pinned of newest.values()) this.jobs.warm(pinned);
    });
    // Jobs of the last committed block were lost with the process: start them again.
    const due = dueJobs(this.state, tip.height + 1);
    if (due.length > 0) void this.jobs.start(tip.height + 1, due).catch(() => {});

    const nodeKey = await loadOrCreateNodeKey(paths.nodeKey);
    this.p2p = await P2pHost.start(
      {
        chainId: this.chainId,
        privateKey: nodeKey,
        listen: [config.p2p.listen],
        bootstrap: config.p2p.bootstrap.filter((a) => !a.endsWith(`/p2p/${peerIdOf(nodeKey)}`)),
        limits: {
          peerGossipPerSec: config.p2p.peerGossipPerSec,
          peerRequestsPerSec: config.p2p.peerRequestsPerSec,
          connectionsMax: config.p2p.connectionsMax,
        },
      },
      this.log.child({ mod: 'p2p' }),
    );
    this.p2p.subscribe('tx', (data) => this.onGossipTx(data));
    this.p2p.subscribe('consensus', (data) => this.onConsensusMessage(data));
    this.p2p.subscribe('evidence', (data) => this.onConsensusMessage(data));
    this.p2p.onPenalty((peer, points, reason, banned) => {
      this.metrics.peerPenalties.inc({ reason }, points);
      if (banned) this.metrics.peersBanned.inc();
      this.log.debug({ peer, points, reason, banned }, 'peer penalised');
    });
    this.p2p.subscribe('block', (data, from) => {
      const verdict = this.chain.receiveBlock(data, { from });
      if (verdict === 'reject') this.metrics.gossipRejected.inc({ topic: 'block' });
      return verdict;
    });
    await this.p2p.handle('status', async () => encodeStatus(this.status()));
    await this.p2p.handle('blocks', async (req) => this.serveBlocks(req));

    this.wal = new Wal(new FileWalBackend(paths.wal));
    if (this.validatorKey !== null) {
      const sk = this.validatorKey.secretKey;
      this.guard = new SignerGuard(
        this.chainId,
        (m) => sign(m, sk),
        new FileSignerStateStore(paths.signerState),
      );
    }
    this.startConsensus();
    this.every(SYNC_POLL_MS, () => void this.syncTick());
    // A node that starts behind should not wait for the next poll to learn it: ask a peer as soon
    // as it connects (its protocol handlers are registered by then, identify may still be running).
    this.p2p.onPeerConnect(() => this.later(SYNC_ON_CONNECT_MS, () => void this.syncTick()));
    this.every(REGOSSIP_MS, () => this.regossip());
    this.every(1_000, () => {
      this.metrics.peers.set(this.p2p.peers().length);
      this.metrics.round.set(this.driver?.state.round ?? 0);
    });
    if (config.metrics.listen !== '') {
      const { host, port } = hostPort(config.metrics.listen);
      await this.metrics.listen(host, port);
    }
    this.log.info(
      {
        peerId: this.p2p.peerId,
        p2p: this.p2p.multiaddrs(),
        validator: this.address ? formatAddress(this.address) : null,
      },
      'node started',
    );
  }

  private async initGenesis(): Promise<void> {
    const overlay = this.state.overlay();
    genesisState(overlay, this.genesis);
    const entries = readStores(overlay).validatorSet(1);
    if (entries === undefined || entries.length === 0)
      throw new NodeError('NO_VALIDATORS', 'genesis has no validators');
    const set1 = ValidatorSet.genesis(entries.map((e) => ({ publicKey: e.publicKey, power: e.power })));
    const set2 = set1.next([]);
    await overlay.commit(0, [this.valsets.putOp(1, set1), this.valsets.putOp(2, set2)]);
    this.log.info({ chainId: this.chainId, validators: entries.length }, 'genesis state written');
  }

  private readTip(): Tip {
    const height = this.state.latestVersion ?? 0;
    const info = chainInfo(this.state);
    if (info === undefined)
      throw new NodeError('NO_CHAIN', 'the database has no chain info; is it from another program?');
    if (info.chainId !== this.chainId) {
      throw new NodeError(
        'WRONG_CHAIN',
        `the database holds chain ${info.chainId}, genesis says ${this.chainId}`,
      );
    }
    if (height === 0)
      return { height, hash: this.state.rootAt(0), timeMs: info.timeMs, stateRoot: this.state.latestRoot };
    const bytes = this.blocks.getBlock(height);
    if (bytes === undefined)
      throw new NodeError('NO_TIP_BLOCK', `block ${height} is missing from the block store`);
    const block = decodeBlock(bytes);
    return {
      height,
      hash: headerHash(block.header),
      timeMs: block.header.timeMs,
      stateRoot: this.state.latestRoot,
    };
  }

  status(): Status {
    return {
      chainId: this.chainId,
      height: this.chain.tip.height,
      latestHash: this.chain.tip.hash,
      earliestHeight: 1,
    };
  }

  // ---- consensus ------------------------------------------------------------------------------

  /**
   * Proposers whose blocks of `height` may be held before their proposal arrives (node/chain.ts
   * `receiveBlock`): those of the core's round and the next one, or of rounds 0 and 1 of the next
   * height.
   */
  private expectedProposers(height: number): Uint8Array[] {
    const set = this.valsets.get(height);
    if (set === undefined) return [];
    const core = this.driver?.state;
    const round = core !== undefined && core.height === height ? core.round : 0;
    return [set.proposer(round).address, set.proposer(round + 1).address];
  }

  private timeouts(): TimeoutConfig {
    const c = this.config.consensus;
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
  private startConsensus(): void {
    const gen = ++this.generation;
    const height = this.chain.tip.height + 1;
    const state = createState({
      chainId: this.chainId,
      self: this.address,
      height,
      validators: this.valsets.require(height),
      nextValidators: this.valsets.require(height + 1),
      timeouts: this.timeouts(),
    });
    const live = () => gen === this.generation && !this.stopped;
    const effects: DriverEffects = {
      broadcast: (m) => {
        if (!live()) return;
        // In the [seq, message] envelope that onConsensusMessage expects (a bare message is
        // rejected as DECODE, and only the 1 s re-gossip got through).
        const send = () =>
          this.publishConsensus(
            m.type === 'evidence' ? 'evidence' : 'consensus',
            encodeConsensusMessage(this.chainId, m),
          );
        const slowMs = this.faults.slowPrecommitMs ?? 0;
        if (slowMs > 0 && m.type === 'vote' && m.vote.kind === VOTE_PRECOMMIT) this.later(slowMs, send);
        else send();
      },
      scheduleTimeout: (t) => {
        this.log.debug(
          { kind: t.kind, height: t.height, round: t.round, ms: t.durationMs },
          'timeout scheduled',
        );
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (live()) this.driver.input({ type: 'timeout', kind: t.kind, height: t.height, round: t.round });
        }, t.durationMs);
        this.timers.add(timer);
      },
      buildProposal: (h, round) => {
        this.certificateSettled(h - 1)
          .then(() => this.chain.prepareProposal({ height: h, round, proposer: this.address! }))
          .then(
            (blockHash) =>
              live() && this.driver.input({ type: 'proposalBuilt', height: h, round, blockHash }),
            (e) =>
              this.log.warn({ height: h, round, err: (e as Error).message }, 'could not build a proposal'),
          );
      },
      validateValue: (h, round, blockHash) => {
        this.chain.processProposal({ height: h, round, blockHash }).then((valid) => {
          this.log.debug({ height: h, round, valid }, 'proposal checked');
          if (live()) this.driver.input({ type: 'valueValidity', height: h, blockHash, valid });
        });
      },
      decide: (d) => {
        const attempt = (tries: number): void => {
          this.chain
            .commitBlock({ height: d.height, round: d.round, blockHash: d.blockHash, commit: d.commit })
            .then(
              ({ validatorUpdates }) => {
                if (!live()) return;
                this.log.info({ height: d.height, round: d.round }, 'block committed');
                this.tipCertificate = d.commit;
                this.tipDecidedAt = Date.now();
                // Pause between blocks (like CometBFT's timeout_commit) so blocks come at a steady pace.
                const now = Date.now();
                const wait = Math.max(0, this.config.consensus.blockTimeMs - (now - this.lastDecideAt));
                this.lastDecideAt = now + wait;
                this.later(wait, () => {
                  if (!live()) return;
                  // Complete the certificate with the precommits that arrived after the quorum,
                  // during the pause: the next proposal carries every one of them.
                  this.extendTipCertificate(this.driver.precommitsFor(d.height, d.round, d.blockHash));
                  this.driver.committed(d.height, validatorUpdates);
                });
              },
              (e) => {
                if (!live()) return;
                if (this.chain.tip.height >= d.height) {
                  // Sync got there first; just move consensus on.
                  this.startConsensus();
                  return;
                }
                if (e instanceof OlError && e.code === 'BLOCK_UNAVAILABLE' && tries < COMMIT_RETRIES_MAX) {
                  // Decided, but nobody we reached has the block yet (e.g. every node restarted
                  // mid-height): it is decided, so it exists somewhere; keep asking.
                  this.log.warn({ height: d.height, tries }, 'decided block not available yet; retrying');
                  this.later(COMMIT_RETRY_MS, () => live() && attempt(tries + 1));
                  return;
                }
                this.log.error(
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
        this.chain.addEvidence(e);
        this.publishConsensus(
          'evidence',
          encodeConsensusMessage(this.chainId, { type: 'evidence', evidence: e }),
        );
      },
      refused: (e) => this.log.warn({ err: e.message, code: e.code }, 'signer guard refused to sign'),
    };
    this.driver = new ConsensusDriver(state, this.wal, this.guard ?? refusingGuard(this.chainId), effects);
    const opened = this.driver.start();
    const replay = this.recentInputs.filter((i) => inputHeight(i) >= height);
    this.recentInputs = replay;
    for (const i of replay) this.driver.input(i);
    if (opened.droppedBytes > 0)
      this.log.warn({ height, dropped: opened.droppedBytes }, 'WAL had a damaged tail; cut it');
    this.log.debug({ height, replayed: opened.inputs.length }, 'consensus started');
  }

  /**
   * Consensus gossip travels in a small envelope `[sequence, message]`. gossipsub identifies
   * messages by content hash and remembers them for minutes, so re-sending the same signed vote
   * would be dropped as a duplicate; a fresh sequence number lets a node re-gossip its votes of
   * the current height until peers that missed them (late start, partition) have them.
   */
  private publishConsensus(topic: 'consensus' | 'evidence', message: Uint8Array): void {
    const seq = this.gossipSeq++;
    void this.p2p
      .publish(topic, encodeWire([seq, message]))
      .then((n) => this.log.trace({ seq, peers: n }, 'consensus gossip sent'));
  }

  private onConsensusMessage(envelope: Uint8Array): Verdict {
    if (this.driver === undefined) return 'ignore';
    let data: Uint8Array;
    try {
      const w = decodeWire(envelope, CONSENSUS_MESSAGE_BYTES_MAX + 32);
      if (!Array.isArray(w) || w.length !== 2 || typeof w[0] !== 'number' || !(w[1] instanceof Uint8Array))
        throw new Error('bad envelope');
      data = new Uint8Array(w[1]);
      this.log.trace({ seq: w[0] }, 'consensus gossip received');
    } catch {
      this.metrics.consensusMessagesRejected.inc({ reason: 'DECODE' });
      return 'reject';
    }
    const height = this.driver.state.height;
    const r = this.validator.validateBytes(data, {
      chainId: this.chainId,
      height,
      validatorsAt: (h) => this.valsets.get(h) ?? null,
    });
    if (!r.ok && r.reason === 'HEIGHT_TOO_OLD' && this.tipCertificate?.height === height - 1) {
      // A late precommit for the block just committed: not for the core any more, but it belongs
      // in the next block's last commit. Checked like any vote of that height (signature, signer).
      const late = this.validator.validateBytes(data, {
        chainId: this.chainId,
        height: height - 1,
        validatorsAt: (h) => this.valsets.get(h) ?? null,
      });
      if (late.ok && late.message.type === 'vote') {
        return this.extendTipCertificate([late.message.vote]) ? 'accept' : 'ignore';
      }
    }
    if (!r.ok) {
      this.log.trace({ reason: r.reason, detail: r.detail }, 'consensus message rejected');
      this.metrics.consensusMessagesRejected.inc({ reason: r.reason });
      if (r.action === 'reject') this.metrics.gossipRejected.inc({ topic: 'consensus' });
      return r.action;
    }
    if (r.message.type === 'evidence') {
      // Forwarded only when new to the pool (node/evidencePool.ts): duplicates, second pieces
      // against one offender and pieces too old to slash are dropped quietly.
      return this.chain.addEvidence(r.message.evidence) ? 'accept' : 'ignore';
    }
    if (!this.futureGate.admit(r.message, height)) return 'ignore';
    if (r.message.type === 'proposal') {
      const p = r.message.proposal;
      this.chain.reference(p.height, p.round, p.blockHash);
    }
    if (r.input !== null && !this.syncing) {
      const m = r.message;
      this.log.trace(
        m.type === 'vote'
          ? { vote: m.vote.kind, height: m.vote.height, round: m.vote.round, nil: m.vote.blockHash === null }
          : { proposal: true, height: (m as { proposal: { height: number } }).proposal.height },
        'consensus input',
      );
      this.remember(r.input as CoreInput);
      this.driver.input(r.input as CoreInput);
    } else if (this.syncing) this.remember(r.input as CoreInput);
    return 'accept';
  }

  /**
   * Test-only attacker (fault `floodBlocks`): junk blocks at the next height that decode and name
   * a proposer — each validator of that height in turn, and strangers — as a non-validator peer
   * would send to fill every honest node's candidate table.
   */
  private floodBlocksForTest(tipBlock: Block, tipHash: Uint8Array): void {
    const height = tipBlock.header.height + 1;
    const set = this.valsets.get(height);
    const names = [...(set?.validators.map((v) => v.address) ?? []), new Uint8Array(20).fill(7)];
    for (let i = 0; i < BLOCK_FLOOD_COUNT; i++) {
      const junk: Block = {
        header: {
          ...tipBlock.header,
          height,
          timeMs: tipBlock.header.timeMs + 1 + i,
          parentHash: tipHash,
          proposer: names[i % names.length],
        },
        txs: [],
        lastCommit: null,
        evidence: [],
      };
      void this.p2p.publish('block', encodeBlock(junk));
    }
  }

  /**
   * After each commit: every validator's missed commits in the downtime window as a metric, and a
   * warning (at most every `DOWNTIME_WARN_EVERY` blocks) while this node's validator has missed
   * at least half of what jails it.
   */
  private watchDowntime(height: number): void {
    const set = this.valsets.get(height + 1);
    if (set === undefined) return;
    const stores = readStores(this.state);
    const p = currentParams(this.state);
    const window = Number(p.downtimeWindow);
    const max = Number(p.downtimeMissedMax);
    this.metrics.validatorMissedBlocks.reset();
    for (const v of set.validators) {
      const m = stores.missed(v.address);
      const count = m !== undefined && m.windowSize === window ? m.count : 0;
      const label = formatAddress(v.address);
      this.metrics.validatorMissedBlocks.set({ validator: label }, count);
      const own = this.address !== null && bytesEqual(v.address, this.address);
      if (own && count * 2 >= max && height - this.downtimeWarnedAt >= DOWNTIME_WARN_EVERY) {
        this.downtimeWarnedAt = height;
        this.log.warn(
          { missed: count, missedMax: max, window },
          `this validator missed ${count} of the last ${window} commits; more than ${max} jails it for downtime (check its clock, network and disk)`,
        );
      }
    }
  }

  /**
   * Adds checked precommits for the tip's block to its certificate (consensus/commit.ts
   * `extendCommit`). True when one was added (then worth forwarding: the next proposer needs it).
   * The committed block and its stored certificate never change; only the next proposal's last
   * commit grows.
   */
  private extendTipCertificate(votes: readonly Vote[]): boolean {
    const c = this.tipCertificate;
    if (c === null || c.height !== this.chain.tip.height) return false;
    const extended = extendCommit(c, votes);
    if (extended === c) return false;
    this.tipCertificate = extended;
    if (extended.signatures.length >= (this.valsets.get(extended.height)?.validators.length ?? 0)) {
      for (const wake of this.certificateWaiters.splice(0)) wake();
    }
    return true;
  }

  /**
   * Before proposing h+1: wait until the certificate of h holds every validator's precommit, or
   * until `consensus.certificateGraceMs` after the decision — whichever comes first. The pause
   * between blocks usually covers it (then there is no wait at all); when rounds take longer than
   * the block time, this grace is what lets a validator that voted a little after the quorum still
   * be counted as present (CometBFT waits `timeout_commit` for the same reason).
   */
  private certificateSettled(height: number): Promise<void> {
    const c = this.tipCertificate;
    const set = this.valsets.get(height);
    if (c === null || c.height !== height || set === undefined) return Promise.resolve();
    if (c.signatures.length >= set.validators.length) return Promise.resolve();
    const left = this.tipDecidedAt + this.config.consensus.certificateGraceMs - Date.now();
    if (left <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, left);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.certificateWaiters.push(done);
    });
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

  private regossip(): void {
    if (this.driver === undefined) return;
    // Own messages, plus others' votes when this node has not moved since the last tick (a peer
    // that missed a round's votes can only get them relayed; see consensus/README.md).
    for (const m of this.driver.gossipSet()) {
      this.publishConsensus('consensus', encodeConsensusMessage(this.chainId, m));
    }
  }

  // ---- transactions ---------------------------------------------------------------------------

  /**
   * Admission: decode strictly, check chain, signature (cached) and mempool rules. Returns the tx
   * hash, or throws a typed error (CodecError, MempoolError, NodeError) saying why.
   */
  admitTx(
    bytes: Uint8Array,
    hash: Uint8Array = txHash(bytes),
    local = false,
  ): { hash: Uint8Array; outcome: string } {
    const tx = decodeTx(bytes, TX_BYTES_MAX);
    if (tx.chainId !== this.chainId)
      throw new NodeError('WRONG_CHAIN', `transaction is for chain ${tx.chainId}`);
    // Backpressure before any costly check, so a refusal is cheap; a tx already held is not new.
    if (local && !this.mempool.has(toHex(hash))) {
      try {
        this.admission.check(this.mempool.size, Date.now(), this.mempool.pendingOf(toHex(txSender(tx))));
      } catch (e) {
        this.metrics.txsRefusedBusy.inc();
        throw e;
      }
    }
    if (tx.type === 'attribution.settle')
      throw new NodeError('SYSTEM_TX', 'attribution.settle is built by proposers only');
    if (!this.sigs.check(tx, hash))
      throw new NodeError('BAD_SIGNATURE', 'transaction signature does not verify');
    // The vm's own admission rules (fee affordable, gas price, limits) for the sender's next tx.
    // Later nonces pass on the mempool's rules alone: if the vm refuses one when its turn comes,
    // it fails admission in the block (charged nothing, changes nothing) and the re-check drops it.
    const view = this.chain.nonceView();
    if (tx.nonce === view.nextNonce(toHex(addressOf(tx.sender)))) {
      const problem = checkTx(this.state, { tx, bytes, hash });
      if (problem !== null) throw new NodeError(problem.code, problem.message);
    }
    const outcome = this.mempool.add(tx, bytes, hash, view, this.chain.tip.height);
    this.metrics.mempoolTxs.set(this.mempool.size);
    this.metrics.mempoolBytes.set(this.mempool.bytes);
    return { hash, outcome };
  }

  /** Admits and gossips a transaction submitted locally (RPC). */
  async submitTx(bytes: Uint8Array): Promise<Uint8Array> {
    const { hash } = this.admitTx(bytes, txHash(bytes), true);
    this.txOutbox.push(bytes);
    this.txOutboxBytes += bytes.length;
    if (this.txOutbox.length >= TX_BATCH_MAX || this.txOutboxBytes >= TX_BATCH_BYTES_MAX) this.flushTxs();
    else if (this.txFlushTimer === undefined) {
      this.txFlushTimer = setTimeout(() => this.flushTxs(), TX_BATCH_DELAY_MS);
    }
    return hash;
  }

  /**
   * Transactions are gossiped in batches (a list of signed encodings): per-message gossip costs
   * (framing, encryption, ids, scoring) dominate for 200-byte transactions, so a few
   * milliseconds of batching buys most of the throughput.
   */
  private flushTxs(): void {
    if (this.txFlushTimer !== undefined) clearTimeout(this.txFlushTimer);
    this.txFlushTimer = undefined;
    if (this.txOutbox.length === 0 || this.stopped) return;
    const batch = this.txOutbox;
    this.txOutbox = [];
    this.txOutboxBytes = 0;
    void this.p2p.publish('tx', encodeWire(batch));
  }

  private onGossipTx(data: Uint8Array): Verdict {
    let batch: Uint8Array[];
    try {
      const w = decodeWire(data, TX_BATCH_BYTES_MAX + 64 * 1024);
      if (
        !Array.isArray(w) ||
        w.length === 0 ||
        w.length > TX_BATCH_MAX ||
        !w.every((b) => b instanceof Uint8Array)
      ) {
        throw new Error('not a transaction batch');
      }
      batch = w as Uint8Array[];
    } catch {
      this.metrics.gossipRejected.inc({ topic: 'tx' });
      return 'reject';
    }
    let admitted = 0;
    for (const raw of batch) {
      const bytes = new Uint8Array(raw);
      const hash = txHash(bytes);
      const hashHex = toHex(hash);
      if (this.mempool.seenRecently(hashHex)) continue;
      try {
        this.admitTx(bytes, hash);
        admitted++;
      } catch (e) {
        if (e instanceof MempoolError) continue;
        // Malformed or badly signed: whoever relays it is at fault.
        this.metrics.gossipRejected.inc({ topic: 'tx' });
        this.mempool.markSeen(hashHex);
        return 'reject';
      }
    }
    return admitted > 0 ? 'accept' : 'ignore';
  }

  // ---- sync -----------------------------------------------------------------------------------

  private async serveBlocks(reqBytes: Uint8Array): Promise<Uint8Array> {
    const req = decodeBlocksRequest(reqBytes);
    const out: BlockWithCommit[] = [];
    if (req.kind === 'hash') {
      if (req.hash !== null) {
        const bytes = this.chain.blockBytesByHash(req.hash);
        if (bytes !== undefined) out.push({ block: bytes, commit: new Uint8Array(0) });
      }
      return encodeBlocksResponse(out);
    }
    const to = Math.min(req.to, req.from + BLOCKS_PER_REQUEST_MAX - 1, this.chain.tip.height);
    let size = 0;
    for (let h = Math.max(1, req.from); h <= to; h++) {
      const block = this.blocks.getBlock(h);
      const commit = this.blocks.getCommit(h);
      if (block === undefined || commit === undefined) break;
      size += block.length + commit.length;
      if (out.length > 0 && size > 16 * 1024 * 1024) break;
      out.push({ block, commit });
    }
    return encodeBlocksResponse(out);
  }

  private async fetchBlock(hash: Uint8Array, prefer?: string): Promise<Uint8Array | undefined> {
    const peers = this.p2p.peers();
    if (prefer !== undefined && peers.includes(prefer))
      peers.unshift(...peers.splice(peers.indexOf(prefer), 1));
    for (const peer of peers) {
      try {
        const res = decodeBlocksResponse(
          await this.p2p.request(
            peer,
            'blocks',
            encodeBlocksRequest({ kind: 'hash', from: 0, to: 0, hash }),
            5_000,
          ),
        );
        const found = res.find((r) => bytesEqual(headerHash(decodeBlock(r.block).header), hash));
        if (found) return found.block;
      } catch (e) {
        this.log.debug({ peer, err: (e as Error).message }, 'block fetch failed');
      }
    }
    return undefined;
  }

  /**
   * Checks the commit signatures of a fetched range in worker threads, while the previous range is
   * being applied on the main thread. Each certificate is checked against its height's validator
   * set if known yet, else the newest known one (sets rarely change); `verifyCommit` later checks
   * the rest of each certificate against the real set and re-checks any signature not in the
   * returned set, so a guess that turns out wrong costs time, never safety.
   */
  private async preverifyCommits(blocks: readonly BlockWithCommit[]): Promise<Set<string>> {
    const newest = this.valsets.get(this.chain.tip.height + 2) ?? this.valsets.get(this.chain.tip.height + 1);
    const items: SignatureCheck[] = [];
    for (const r of blocks) {
      let commit: Commit;
      try {
        commit = decodeCommit(r.commit);
      } catch {
        continue; // applySynced reports it
      }
      const set = this.valsets.get(commit.height) ?? newest;
      if (set !== undefined) items.push(...commitSignatureChecks(this.chainId, commit, set));
    }
    const verdicts = await this.sigPool.verifyMany(items);
    const verified = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      if (verdicts[i]) verified.add(signatureKey(items[i].publicKey, items[i].message, items[i].signature));
    }
    return verified;
  }

  /** Polls peers; when one is ahead by more than a block, fetches and applies blocks with commits. */
  private async syncTick(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    let applied = 0;
    try {
      const peers = this.p2p.peers();
      await Promise.all(
        peers.map(async (peer) => {
          try {
            const s = decodeStatus(await this.p2p.request(peer, 'status', new Uint8Array(0), 2_000));
            if (s.chainId === this.chainId) this.peerStatus.set(peer, s);
          } catch {
            this.peerStatus.delete(peer);
          }
        }),
      );
      for (;;) {
        const tip = this.chain.tip.height;
        const statuses = [...this.peerStatus.entries()];
        const far = statuses.filter(([, st]) => st.height >= tip + 2);
        if (far.length > 0) {
          // Two or more blocks behind: apply decided blocks with their certificates, then restart.
          // The next range is requested while this one is applied, so the network round trip and
          // the peer's reads overlap our execution instead of adding to it.
          const fetchRange = (from: number, turn: number): Promise<FetchedRange> => {
            const [peer, st] = far[turn % far.length];
            const p = this.p2p
              .request(
                peer,
                'blocks',
                encodeBlocksRequest({ kind: 'range', from, to: st.height, hash: null }),
                SYNC_RANGE_TIMEOUT_MS,
              )
              .then(decodeBlocksResponse)
              .then(async (blocks) => ({ peer, blocks, verified: await this.preverifyCommits(blocks) }))
              .catch((e) => {
                throw new SyncPeerError(peer, e);
              });
            p.catch(() => {}); // awaited below; a prefetch abandoned by an error must not go unhandled
            return p;
          };
          const top = Math.max(...far.map(([, st]) => st.height));
          let turn = tip;
          let next: Promise<FetchedRange> | undefined = fetchRange(tip + 1, turn++);
          let from = tip + 1;
          try {
            while (next !== undefined) {
              const { peer, blocks, verified } = await next;
              // A peer whose status says it is ahead must prove it: an empty answer, a block of
              // another height or one whose certificate does not verify is a lie (issue 18, hole 4).
              if (blocks.length === 0) throw new SyncPeerError(peer, new Error('claimed height not served'));
              const at = from;
              from += blocks.length;
              next = from <= top ? fetchRange(from, turn++) : undefined;
              for (const [i, r] of blocks.entries()) {
                if (this.stopped) return;
                try {
                  if (decodeBlock(r.block).header.height !== at + i) throw new Error('block out of range');
                  await this.chain.applySynced(r.block, decodeCommit(r.commit), (pk, msg, sig) =>
                    verified.has(signatureKey(pk, msg, sig)),
                  );
                } catch (e) {
                  if (this.chain.tip.height >= at + i) continue; // consensus committed it meanwhile
                  throw new SyncPeerError(peer, e);
                }
                // Only now, with a certified block applied, is the core's height stale: from here
                // until consensus restarts, its inputs are for a height being replaced. A claim
                // alone never restarts it, so its round timeouts run on.
                this.syncing = true;
                applied++;
              }
            }
          } catch (e) {
            if (!(e instanceof SyncPeerError)) throw e;
            this.peerStatus.delete(e.peer);
            const points = syncPenalty(e.cause);
            if (points > 0) this.p2p.penalize(e.peer, points, 'SYNC_BAD_ANSWER');
            this.log.debug({ peer: e.peer, err: e.message }, 'sync peer did not back its status');
            if (this.stopped) return;
            continue; // try the other peers ahead, if any
          }
          if (this.chain.tip.height === tip) break; // no progress: leave it to the next poll
          continue;
        }
        const near = statuses.filter(([, st]) => st.height === tip + 1);
        if (near.length > 0 && Date.now() - this.lastDecideAt > STALL_MS && !this.syncing) {
          // One block behind and stuck: the others decided without us. Their precommits are gone
          // from gossip, so take the block and its certificate and let the core decide with it.
          const [peer] = near[tip % near.length];
          const res = decodeBlocksResponse(
            await this.p2p.request(
              peer,
              'blocks',
              encodeBlocksRequest({ kind: 'range', from: tip + 1, to: tip + 1, hash: null }),
              10_000,
            ),
          );
          const first = res[0];
          if (first !== undefined && this.chain.tip.height === tip) {
            let commit: Commit;
            try {
              commit = decodeCommit(first.commit);
              const blockHash = headerHash(decodeBlock(first.block).header);
              verifyCommit(this.chainId, commit, this.valsets.require(tip + 1), {
                height: tip + 1,
                blockHash,
              });
            } catch (e) {
              this.peerStatus.delete(peer);
              this.p2p.penalize(peer, SYNC_BAD_ANSWER_PENALTY, 'SYNC_BAD_ANSWER');
              throw e;
            }
            // Certified: admitted whatever the gossip slots hold (its body is checked on admission).
            this.chain.receiveBlock(first.block, { trusted: true });
            this.driver.input({ type: 'commitCertificate', commit });
          } else if (first === undefined) {
            this.peerStatus.delete(peer);
            this.p2p.penalize(peer, SYNC_BAD_ANSWER_PENALTY, 'SYNC_BAD_ANSWER');
          }
        }
        break;
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'sync step failed');
    } finally {
      this.polling = false;
    }
    if (this.syncing && !this.stopped) {
      this.syncing = false;
      this.startConsensus();
    }
    if (applied > 0 && !this.stopped) {
      this.lastDecideAt = Date.now();
      this.log.info({ applied, height: this.chain.tip.height }, 'caught up by sync');
    }
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  onCommitted(listener: (info: CommittedInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    this.timers.add(t);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    if (this.txFlushTimer !== undefined) clearTimeout(this.txFlushTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.chain?.close();
    const step = async (what: string, fn: () => Promise<unknown> | undefined) => {
      try {
        await fn();
      } catch (e) {
        this.log.warn({ what, err: (e as Error).message }, 'error while stopping');
      }
    };
    await step('p2p', () => this.p2p?.stop());
    await step('metrics', () => this.metrics.close());
    await step('pool', () => this.pool?.close());
    await step('sigPool', () => this.sigPool?.close());
    await step('state', () => this.state?.close());
    this.log.info({}, 'node stopped');
  }
}

function inputHeight(i: CoreInput): number {
  if (i.type === 'proposal') return i.proposal.height;
  if (i.type === 'vote') return i.vote.height;
  return 'height' in i ? (i as { height: number }).height : 0;
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
