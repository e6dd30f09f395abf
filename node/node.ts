import { cpus } from 'node:os';
import { JobPool } from '../attribution/pool.js';
import type { ConsensusDriver } from '../consensus/driver.js';
import { FileSignerStateStore, SignerGuard } from '../consensus/signerGuard.js';
import { MessageValidator } from '../consensus/validation.js';
import { ValidatorSet } from '../consensus/validatorSet.js';
import { FileWalBackend, Wal } from '../consensus/wal.js';
import { addressOf, formatAddress } from '../core/address.js';
import { decodeBlock, headerHash } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import { diskFullError, type StorageError } from '../core/errors.js';
import { type KeyPair, sign } from '../core/keys.js';
import { P2pHost } from '../p2p/host.js';
import { loadOrCreateNodeKey, peerIdOf } from '../p2p/nodeKey.js';
import { corruptionError } from '../state/levelRecovery.js';
import { StateDb } from '../state/stateDb.js';
import { type Genesis, genesisState, parseGenesis } from '../vm/genesis.js';
import { dueJobs } from '../vm/jobs.js';
import { chainInfo, readStores } from '../vm/readers.js';
import { AdmissionControl } from './admission.js';
import { BlockStore } from './blockStore.js';
import { Chain, type ChainFaults, type CommittedInfo, type Tip } from './chain.js';
import { hostPort, loadConfig, type NodeConfig } from './config.js';
import { ConsensusRunner, expectedProposers, REGOSSIP_MS } from './consensusRunner.js';
import { DowntimeWatch } from './downtime.js';
import { EarningsIndex } from './earnings.js';
import { equivocator } from './equivocator.js';
import { NodeError } from './errors.js';
import { fileExists } from './fsUtil.js';
import { GossipIntake } from './gossipIntake.js';
import { homePaths, readGenesisFile } from './home.js';
import { Indexer } from './indexer.js';
import { JobRunner } from './jobRunner.js';
import { createLogger, type Logger } from './logger.js';
import { Mempool } from './mempool.js';
import { NodeMetrics } from './metrics.js';
import { SigCache } from './sigCache.js';
import { SigPool } from './sigPool.js';
import { SYNC_ON_CONNECT_MS, SYNC_POLL_MS, Sync } from './sync.js';
import { encodeStatus, type Status } from './syncMessages.js';
import { floodBlocksForTest } from './testFaults.js';
import { Timers } from './timers.js';
import { TipCertificate } from './tipCertificate.js';
import { TxIntake } from './txIntake.js';
import { readValidatorKey } from './validatorKey.js';
import { ValsetStore } from './valsets.js';

/**
 * One OpenLedger node: state and blocks on LevelDB, the vm, the attribution worker pool, the
 * consensus core with its WAL and signer guard, libp2p, and (wired by `rpc/`) JSON-RPC.
 *
 * This file is the composition and the lifecycle (start-up, shutdown); each concern is in its own
 * file: transactions in (`txIntake.ts`), consensus/evidence/block gossip in (`gossipIntake.ts`),
 * the consensus driver's effects (`consensusRunner.ts`), the tip's certificate and the proposer's
 * grace (`tipCertificate.ts`), sync (`sync.ts`), timers (`timers.ts`), downtime warnings
 * (`downtime.ts`), test-only faults (`testFaults.ts`).
 *
 * Start-up order matters for crash safety: the database opens at its last committed block (one
 * atomic batch per block, so there is no partial block to repair), the jobs that block created are
 * restarted, then consensus replays its WAL for the next height before it sends anything.
 */

export { NodeError };

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
  private pool!: JobPool;
  private sigPool!: SigPool;
  jobs!: JobRunner;
  earnings!: EarningsIndex;
  state!: StateDb;
  blocks!: BlockStore;
  valsets!: ValsetStore;
  indexer!: Indexer;
  private certificate!: TipCertificate;
  private txs!: TxIntake;
  private sync!: Sync;
  private consensus!: ConsensusRunner;
  private readonly timers = new Timers();
  private stopped = false;
  private readonly createdAtMs = Date.now();
  readonly listeners = new Set<(info: CommittedInfo) => void>();
  /** Told once when storage fails in a way the node cannot work around (`storageFailed`). */
  private readonly fatalListeners = new Set<(e: StorageError) => void>();
  private fatal: StorageError | null = null;
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

  /** The current consensus core's driver (undefined until consensus starts). */
  get driver(): ConsensusDriver | undefined {
    return this.consensus?.driver;
  }

  static async start(opts: NodeOptions): Promise<OpenLedgerNode> {
    const paths = homePaths(opts.home);
    const config = await loadConfig(paths.config, opts.flags ?? {});
    const log = opts.logger ?? createLogger(config.log.level, config.moniker);
    const genesis = parseGenesis(await readGenesisFile(paths.genesis));
    const validatorKey = (await fileExists(paths.validatorKey))
      ? await readValidatorKey(paths.validatorKey)
      : null;
    const faults = opts.faults ?? {};
    // A stray OPENLEDGER_TEST_FAULTS (a copied test script, a unit file) must not go unnoticed:
    // `equivocate` gets this validator slashed and tombstoned for good.
    const active = Object.entries(faults)
      .filter(([, v]) => v !== undefined && v !== false && v !== 0)
      .map(([k]) => k);
    if (active.length > 0)
      log.warn(
        { faults: active },
        'TEST FAULTS ACTIVE (OPENLEDGER_TEST_FAULTS): this node misbehaves on purpose' +
          (faults.equivocate ? ' and double-signs: its stake will be slashed and it is jailed forever' : ''),
      );
    const node = new OpenLedgerNode(paths, config, genesis, validatorKey, faults, log);
    try {
      await node.open();
    } catch (e) {
      await node.stop();
      throw diskFullError(e) ?? corruptionError(e, paths.db) ?? e;
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
    this.certificate = new TipCertificate({
      valsets: this.valsets,
      tipHeight: () => this.chain.tip.height,
      graceMs: config.consensus.certificateGraceMs,
    });
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
        fetchBlock: (hash, prefer) => this.sync.fetchBlock(hash, prefer),
        penalize: (peer, points, reason) => this.p2p?.penalize(peer, points, reason),
        expectedProposers: (height) => expectedProposers(this.valsets, this.consensus?.driver?.state, height),
        bestCommit: (height) => this.certificate.best(height),
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
    this.txs = new TxIntake({
      chainId: this.chainId,
      mempool: this.mempool,
      admission: this.admission,
      sigs: this.sigs,
      sigPool: this.sigPool,
      state: this.state,
      chain: this.chain,
      metrics: this.metrics,
      publish: (batch) => void this.p2p.publish('tx', batch),
    });
    const reloaded = await this.chain.loadPending();
    if (reloaded > 0) this.log.info({ blocks: reloaded }, 'candidate blocks of the next height reloaded');
    this.onCommitted((info) => this.admission.observeCommit(Date.now(), info.block.txs.length));
    const downtime = new DowntimeWatch({
      state: this.state,
      valsets: this.valsets,
      metrics: this.metrics,
      log: this.log,
      address: this.address,
    });
    this.onCommitted((info) => downtime.committed(info.height));
    if (this.faults.floodBlocks) {
      this.onCommitted((info) =>
        floodBlocksForTest(
          info.block,
          info.hash,
          this.valsets,
          (bytes) => void this.p2p.publish('block', bytes),
        ),
      );
    }
    // Index each datanet's newest version as soon as it exists (one per datanet per block).
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
    const intake = new GossipIntake({
      chainId: this.chainId,
      validator: this.validator,
      valsets: this.valsets,
      chain: this.chain,
      certificate: this.certificate,
      driver: () => this.consensus?.driver,
      syncing: () => this.sync.isSyncing,
      metrics: this.metrics,
      log: this.log,
    });
    this.sync = new Sync({
      chainId: this.chainId,
      p2p: this.p2p,
      chain: this.chain,
      blocks: this.blocks,
      valsets: this.valsets,
      sigPool: this.sigPool,
      // The runner is created below, before the first poll.
      consensus: {
        lastDecideAt: () => this.consensus.lastDecideAt,
        caughtUp: (ms) => {
          this.consensus.lastDecideAt = ms;
        },
        input: (i) => this.consensus.input(i),
        restart: () => this.consensus.start(),
      },
      log: this.log,
      peerStatus: this.peerStatus,
      stopped: () => this.stopped,
      storageFailed: (e) => this.storageFailed(e),
    });
    this.p2p.subscribe('tx', (data) => this.txs.onGossip(data));
    this.p2p.subscribe('consensus', (data) => intake.onConsensusMessage(data));
    this.p2p.subscribe('evidence', (data) => intake.onConsensusMessage(data));
    this.p2p.onPenalty((peer, points, reason, banned) => {
      this.metrics.peerPenalties.inc({ reason }, points);
      if (banned) this.metrics.peersBanned.inc();
      this.log.debug({ peer, points, reason, banned }, 'peer penalised');
    });
    this.p2p.subscribe('block', (data, from) => intake.onBlock(data, from));
    await this.p2p.handle('status', async () => encodeStatus(this.status()));
    await this.p2p.handle('blocks', async (req) => this.sync.serveBlocks(req));

    const wal = new Wal(new FileWalBackend(paths.wal));
    let guard: SignerGuard | null = null;
    if (this.validatorKey !== null) {
      const sk = this.validatorKey.secretKey;
      guard = new SignerGuard(this.chainId, (m) => sign(m, sk), new FileSignerStateStore(paths.signerState));
    }
    this.consensus = new ConsensusRunner({
      chainId: this.chainId,
      address: this.address,
      config: config.consensus,
      chain: this.chain,
      valsets: this.valsets,
      wal,
      guard,
      certificate: this.certificate,
      timers: this.timers,
      p2p: this.p2p,
      faults: this.faults,
      equivocate: equivocator(this.chainId, this.faults.equivocate, this.validatorKey),
      log: this.log,
      replayInputs: (height) => intake.replayFrom(height),
      createdAtMs: this.createdAtMs,
      stopped: () => this.stopped,
      storageFailed: (e) => this.storageFailed(e),
    });
    this.consensus.start();
    this.timers.every(SYNC_POLL_MS, () => void this.sync.tick());
    // A node that starts behind should not wait for the next poll to learn it: ask a peer as soon
    // as it connects (its protocol handlers are registered by then, identify may still be running).
    this.p2p.onPeerConnect(() => this.timers.later(SYNC_ON_CONNECT_MS, () => void this.sync.tick()));
    this.timers.every(REGOSSIP_MS, () => this.consensus.regossip());
    this.timers.every(1_000, () => {
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

  /** `cb` hears of a fatal storage failure (the `start` command stops the node and exits 74). */
  onFatal(cb: (e: StorageError) => void): void {
    this.fatalListeners.add(cb);
    if (this.fatal !== null) cb(this.fatal);
  }

  /**
   * True when `e` is a full disk (or a damaged database table): logged once as fatal and passed to the `onFatal` listeners.
   * Retrying would only spin (every write fails the same way) and a half-working validator is
   * worse than a stopped one, so the node stops; each block is one atomic batch, so nothing
   * committed is damaged and it starts cleanly once space is freed.
   */
  storageFailed(e: unknown): boolean {
    const full = diskFullError(e) ?? corruptionError(e, this.paths.db);
    if (full === null) return false;
    if (this.fatal === null) {
      this.fatal = full;
      this.log.fatal({ code: full.code, path: full.details.path, err: full.details.cause }, full.message);
      for (const cb of this.fatalListeners) cb(full);
    }
    return true;
  }

  status(): Status {
    return {
      chainId: this.chainId,
      height: this.chain.tip.height,
      latestHash: this.chain.tip.hash,
      earliestHeight: 1,
    };
  }

  // ---- transactions (node/txIntake.ts) -----------------------------------------------------

  /**
   * Admission: decode strictly, check chain, signature (cached) and mempool rules. Returns the tx
   * hash, or throws a typed error (CodecError, MempoolError, NodeError) saying why.
   */
  admitTx(bytes: Uint8Array, hash?: Uint8Array, local = false): { hash: Uint8Array; outcome: string } {
    return this.txs.admit(bytes, hash, local);
  }

  /** Admits and gossips a transaction submitted locally (RPC). */
  async submitTx(bytes: Uint8Array): Promise<Uint8Array> {
    return this.txs.submit(bytes);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  onCommitted(listener: (info: CommittedInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.consensus?.halt();
    this.txs?.close();
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
