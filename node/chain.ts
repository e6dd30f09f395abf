import '../core/nativeCrypto.js';
import type { Application } from '../consensus/application.js';
import { type SignatureVerified, verifyCommit } from '../consensus/commit.js';
import { evidenceProblem } from '../consensus/validation.js';
import type { ValidatorSet, ValidatorUpdate } from '../consensus/validatorSet.js';
import { addressOf } from '../core/address.js';
import {
  BLOCK_BYTES_MAX,
  BLOCK_VERSION,
  type Block,
  type Commit,
  commitHash,
  decodeBlock,
  decodeCommit,
  type Evidence,
  encodeBlock,
  encodeCommit,
  evidenceHash,
  evidenceHeight,
  evidenceOffender,
  type Header,
  headerHash,
  txsHash,
  txsHashOf,
} from '../core/block.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import { encode } from '../core/codec.js';
import { OlError } from '../core/errors.js';
import type { KeyPair } from '../core/keys.js';
import {
  encodeTx,
  type JobResult,
  jobResultSchema,
  SETTLE_TX_BYTES_MAX,
  signTx,
  TX_VERSION,
  type Tx,
  txHash,
  txSigningBytes,
} from '../core/tx.js';
import type { Overlay } from '../state/overlay.js';
import type { BinarySublevel, ExtraOp, StateDb } from '../state/stateDb.js';
import {
  type BlockResult,
  type ExecBlock,
  type ExecTx,
  execBlockFromBlock,
  executeBlock,
} from '../vm/execute.js';
import { dueJobs } from '../vm/jobs.js';
import { paramsFromList } from '../vm/params.js';
import { readStores } from '../vm/readers.js';
import { evidenceMaxAge } from '../vm/staking.js';
import type { BlockStore } from './blockStore.js';
import type { EarningsIndex } from './earnings.js';
import type { Equivocation } from './equivocator.js';
import { EvidencePool } from './evidencePool.js';
import type { Indexer } from './indexer.js';
import type { JobRunner } from './jobRunner.js';
import type { Logger } from './logger.js';
import type { Mempool, NonceView } from './mempool.js';
import type { NodeMetrics } from './metrics.js';
import { encodeResults } from './results.js';
import type { SigCache } from './sigCache.js';
import type { SigPool } from './sigPool.js';
import type { ValsetStore } from './valsets.js';

/**
 * The application pipeline between consensus and the vm (DESIGN §4, §7), i.e. the node's
 * `Application`:
 *
 * - prepare: settle the due jobs first (this node's own results, awaited from its workers), then
 *   mempool transactions within the gas and byte limits; execute; put the state root in the header.
 * - process: check the header against the chain, every signature, the last commit, the evidence and
 *   the settle results (against this node's own, awaited), execute, compare root and results.
 * - commit: block, state, indexes and the validator set for h+2 in ONE atomic batch; then re-check
 *   the mempool and start the jobs the block created.
 *
 * Every executed proposal keeps its overlay until the height is decided, so commit never
 * re-executes a block this node already validated.
 */

export class ChainError extends OlError {}

/** A proposal's time may run ahead of this node's clock by at most this much (liveness only). */
export const CLOCK_DRIFT_MS_MAX = 30_000;
/** Room left in a block for its header, commit and evidence. */
export const BLOCK_OVERHEAD_BYTES = 256 * 1024;
/**
 * Referenced candidate blocks kept per height (named by a validated proposal or a certificate, or
 * built here). A block the core asked about is admitted even past it (the core bounds those).
 */
export const PROPOSALS_KEPT_MAX = 64;
/**
 * Unreferenced blocks (no validated proposal names them yet) held per (height, proposer), for the
 * proposers of the rounds the node is in or about to enter only: a proposer's block usually
 * arrives a few milliseconds before its signed proposal.
 */
export const UNREFERENCED_PER_PROPOSER_MAX = 2;
/** An unreferenced block is dropped (and its sender charged) if no proposal names it by then. */
export const BLOCK_REFERENCE_WAIT_MS = 2_000;
/** Hashes of blocks dropped unreferenced, remembered so a later proposal fetches them at once. */
export const DROPPED_BLOCKS_KEPT_MAX = 1_024;
/** Hashes named by validated proposals, per (height, round) (one honest proposal, plus one). */
export const REFERENCES_PER_ROUND_MAX = 2;
/** Points charged to a peer for a block no proposal or certificate ever named. */
export const UNREFERENCED_BLOCK_PENALTY = 2;
/** Points charged to a peer for a block whose body does not match its header, or similar. */
export const BAD_BLOCK_PENALTY = 20;
/** Block fetches from peers per (height, proposer) for proposals (see `Chain.candidate`). */
export const FETCHES_PER_PROPOSER_MAX = 4;
/** How long `process` waits for a proposal's block to arrive by gossip before fetching it. */
export const BLOCK_WAIT_MS = 1_500;
/** Evidence older than this many heights is dropped rather than proposed. */
export const EVIDENCE_HEIGHTS_KEPT = 100;

export interface Tip {
  height: number;
  hash: Uint8Array;
  timeMs: number;
  stateRoot: Uint8Array;
}

export interface CommittedInfo {
  height: number;
  hash: Uint8Array;
  block: Block;
  result: BlockResult;
  commit: Commit;
}

export interface ChainFaults {
  /** Test-only: the proposer corrupts the first settle score, so honest validators must refuse it. */
  wrongSettle?: boolean;
  /**
   * Test-only attacker: after every commit this node gossips `BLOCK_FLOOD_COUNT` distinct junk
   * blocks for the next height, naming every validator (and strangers) as proposer.
   */
  floodBlocks?: boolean;
  /** Test-only: this validator broadcasts its precommits this many ms late (a slow validator). */
  slowPrecommitMs?: number;
  /** Test-only byzantine validator: it double-signs votes and/or proposals (node/equivocator.ts). */
  equivocate?: Equivocation;
}

interface Candidate {
  block: Block;
  bytes: Uint8Array;
  hash: Uint8Array;
  execTxs?: ExecTx[];
  overlay?: Overlay;
  result?: BlockResult;
  verdict?: Promise<boolean>;
  /**
   * Arrived by sync with a verified commit certificate: more than 2/3 of the stake checked its
   * transactions' signatures before voting, so they are not checked again (execution, state root
   * and results are still checked).
   */
  certified?: boolean;
  /**
   * The body was checked against the header (`bodyProblem`) on admission, and these are its
   * transactions' hashes (computed once: the Merkle root, the signature cache and the index use them).
   */
  txHashes?: Uint8Array[];
  /** Named by a validated proposal or a certificate, asked about by the core, or built here. */
  referenced: boolean;
  /** The peer it came from (charged if nothing ever names it). */
  from?: string;
  /** An unreferenced block's gossip verdict, settled when it is named or dropped. */
  hold?: { settle(v: 'accept' | 'ignore'): void; timer: NodeJS.Timeout };
}

/** Someone waiting for a block of `height` to arrive (see `Chain.candidate`). */
interface Waiter {
  height: number;
  finish(c: Candidate): void;
  fail(e: Error): void;
}

/** What the gossip layer should do with a received block (see `Chain.receiveBlock`). */
export type BlockVerdict = 'accept' | 'ignore' | 'reject' | Promise<'accept' | 'ignore'>;

export interface ChainDeps {
  chainId: string;
  state: StateDb;
  blocks: BlockStore;
  valsets: ValsetStore;
  /** Candidate blocks this node built or validated for the next height (sublevel 'pending'). */
  pending: BinarySublevel;
  indexer: Indexer;
  earnings: EarningsIndex;
  mempool: Mempool;
  jobs: JobRunner;
  sigs: SigCache;
  sigPool: SigPool;
  /** The validator key (signs settle txs); null for a non-validating node. */
  validatorKey: KeyPair | null;
  log: Logger;
  metrics: NodeMetrics;
  publishBlock(bytes: Uint8Array): void;
  /** Asks peers for a block by hash, `prefer` first (the peer that sent it before, if any). */
  fetchBlock(hash: Uint8Array, prefer?: string): Promise<Uint8Array | undefined>;
  /** Charges a peer misbehaviour points (p2p/peerScore.ts). */
  penalize?(peer: string, points: number, reason: string): void;
  /**
   * Addresses whose unreferenced blocks of `height` may be held: the proposers of the rounds the
   * node is in or about to enter. Default: every validator of that height.
   */
  expectedProposers?(height: number): readonly Uint8Array[];
  onCommitted(info: CommittedInfo): void;
  /**
   * The most complete certificate this node holds for `height` (the stored one plus precommits
   * that arrived after the decision), if it has one beyond the stored; the next proposal carries it.
   */
  bestCommit?(height: number): Commit | undefined;
  faults?: ChainFaults;
}

export class Chain implements Application {
  tip: Tip;
  private readonly candidates = new Map<string, Candidate>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Block fetches started per `height:proposer` (see `candidate`). */
  private readonly fetches = new Map<string, number>();
  /** Hashes named by validated proposals: hash → height, and the count per `height:round`. */
  private readonly references = new Map<string, number>();
  private readonly referencesPerRound = new Map<string, number>();
  /** Blocks dropped unreferenced: hash → height and sender (insertion order is age). */
  private readonly dropped = new Map<string, { height: number; from?: string }>();
  private readonly evidencePool = new EvidencePool();
  private lastCommitAt = 0;
  /** Serialises commits (sync and consensus never commit concurrently). */
  private commitChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly d: ChainDeps,
    tip: Tip,
  ) {
    this.tip = tip;
  }

  get chainId(): string {
    return this.d.chainId;
  }

  nonceView(): NonceView {
    const s = readStores(this.d.state);
    return { nextNonce: (senderHex) => s.account(Buffer.from(senderHex, 'hex')).nonce };
  }

  /** Equivocation seen by consensus, to include in the next block this node proposes. */
  addEvidence(e: Evidence): boolean {
    if (evidenceHeight(e) <= this.tip.height - EVIDENCE_HEIGHTS_KEPT) return false;
    // A tombstoned validator cannot be punished again (the vm refuses the block,
    // EVIDENCE_ALREADY_PUNISHED): not kept, not forwarded.
    if (readStores(this.d.state).validator(evidenceOffender(e))?.tombstoned === true) return false;
    return this.evidencePool.add(e);
  }

  /** Resolves when no commit is in flight (the state can be read through a new overlay). */
  async idle(): Promise<void> {
    while (this.d.state.committing) await this.commitChain;
  }

  /** Candidate blocks stored before the node voted for them (see `validate`), after a restart. */
  async loadPending(): Promise<number> {
    let n = 0;
    const stale: Buffer[] = [];
    for await (const [k, v] of this.d.pending.iterator()) {
      // Our own store: blocks this node built or validated, so referenced by definition.
      const verdict = this.receiveBlock(new Uint8Array(v), { trusted: true });
      if (verdict === 'accept') n++;
      else if (verdict === 'reject' || this.heightOf(v) <= this.tip.height) stale.push(k);
    }
    for (const k of stale) await this.d.pending.del(k);
    return n;
  }

  private heightOf(bytes: Uint8Array): number {
    try {
      return decodeBlock(bytes).header.height;
    } catch {
      return -1;
    }
  }

  /**
   * A block received by gossip (or fetched), remembered until its height is decided. Admission
   * (issue 18, hole 1: 64 junk blocks used to fill the table and halt the chain for good):
   *
   * - decodable, this chain, height in (tip, tip + 2], body matching its header (tx, evidence and
   *   last-commit hashes) and a proposer in that height's set — else `reject` (gossipsub scores
   *   the sender down) and `BAD_BLOCK_PENALTY`;
   * - named by a validated proposal, asked about by the core, or from our own store → admitted
   *   and forwarded (`accept`), up to `PROPOSALS_KEPT_MAX` per height (the core's asks always);
   * - otherwise held, at most `UNREFERENCED_PER_PROPOSER_MAX` per (height, proposer) of the rounds
   *   in reach (`expectedProposers`): the verdict is a promise that resolves `accept` when a
   *   proposal names the block within `BLOCK_REFERENCE_WAIT_MS`, else the block is dropped, the
   *   sender charged `UNREFERENCED_BLOCK_PENALTY` and the verdict is `ignore` (not forwarded, so
   *   honest relays never carry junk and are never charged for it);
   * - no slot free → `ignore`; the hash is remembered (`DROPPED_BLOCKS_KEPT_MAX`) so that if a
   *   proposal names it after all, it is fetched at once, and if the height is decided without
   *   anything naming it, the sender is charged.
   */
  receiveBlock(bytes: Uint8Array, opts: { from?: string; trusted?: boolean } = {}): BlockVerdict {
    let block: Block;
    try {
      block = decodeBlock(bytes);
    } catch {
      return this.badBlock(opts.from, 'BLOCK_UNDECODABLE');
    }
    const h = block.header;
    if (h.chainId !== this.d.chainId) return this.badBlock(opts.from, 'BLOCK_WRONG_CHAIN');
    // A proposer outside its height's set is provably junk whenever the set is known (also for a
    // stale height), so the relaying peer is rejected, not just ignored.
    const set = this.d.valsets.get(h.height);
    if (set !== undefined && set.indexOf(h.proposer) < 0)
      return this.badBlock(opts.from, 'BLOCK_BAD_PROPOSER');
    if (h.height <= this.tip.height || h.height > this.tip.height + 2 || set === undefined) return 'ignore';
    const txHashes = block.txs.map(txHash);
    if (bodyProblem(block, txHashes) !== null) return this.badBlock(opts.from, 'BLOCK_BODY_MISMATCH');
    const hash = headerHash(h);
    const key = toHex(hash);
    const known = this.candidates.get(key);
    if (known !== undefined) return 'ignore';
    const requested = this.waiters.has(key);
    const referenced = opts.trusted === true || requested || this.references.has(key);
    if (referenced) {
      if (!requested && this.countAt(h.height, (c) => c.referenced) >= PROPOSALS_KEPT_MAX) return 'ignore';
      this.dropped.delete(key);
      this.admit({ block, bytes, hash, referenced: true, from: opts.from, txHashes });
      return 'accept';
    }
    const expected = this.d.expectedProposers?.(h.height) ?? set.validators.map((v) => v.address);
    const slots = this.countAt(
      h.height,
      (c) => !c.referenced && bytesEqual(c.block.header.proposer, h.proposer),
    );
    if (!expected.some((a) => bytesEqual(a, h.proposer)) || slots >= UNREFERENCED_PER_PROPOSER_MAX) {
      this.rememberDropped(key, h.height, opts.from);
      return 'ignore';
    }
    const c: Candidate = { block, bytes, hash, referenced: false, from: opts.from, txHashes };
    this.admit(c);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.candidates.get(key) !== c || c.referenced) return;
        this.candidates.delete(key);
        this.rememberDropped(key, h.height, undefined);
        if (c.from !== undefined) this.d.penalize?.(c.from, UNREFERENCED_BLOCK_PENALTY, 'UNREFERENCED_BLOCK');
        c.hold = undefined;
        resolve('ignore');
      }, BLOCK_REFERENCE_WAIT_MS);
      timer.unref();
      c.hold = {
        timer,
        settle: (v) => {
          clearTimeout(timer);
          c.hold = undefined;
          resolve(v);
        },
      };
    });
  }

  /**
   * A validated proposal (right proposer, good signature; consensus/validation.ts) names `hash` at
   * (height, round): its block is admitted when it arrives, and a held copy is released to gossip.
   * At most `REFERENCES_PER_ROUND_MAX` hashes per (height, round) are remembered.
   */
  reference(height: number, round: number, hash: Uint8Array): void {
    if (height <= this.tip.height || height > this.tip.height + 2) return;
    const key = toHex(hash);
    if (!this.references.has(key)) {
      const slot = `${height}:${round}`;
      const n = this.referencesPerRound.get(slot) ?? 0;
      if (n >= REFERENCES_PER_ROUND_MAX) return;
      this.referencesPerRound.set(slot, n + 1);
      this.references.set(key, height);
    }
    this.markReferenced(key);
  }

  private markReferenced(key: string): void {
    const c = this.candidates.get(key);
    if (c === undefined || c.referenced) return;
    c.referenced = true;
    c.hold?.settle('accept');
  }

  private admit(c: Candidate): void {
    const key = toHex(c.hash);
    this.candidates.set(key, c);
    const list = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of list) w.finish(c);
  }

  private countAt(height: number, pred: (c: Candidate) => boolean): number {
    let n = 0;
    for (const c of this.candidates.values()) if (c.block.header.height === height && pred(c)) n++;
    return n;
  }

  private rememberDropped(key: string, height: number, from: string | undefined): void {
    const prev = this.dropped.get(key);
    this.dropped.delete(key);
    if (this.dropped.size >= DROPPED_BLOCKS_KEPT_MAX) {
      const oldest = this.dropped.keys().next().value;
      if (oldest !== undefined) this.dropped.delete(oldest);
    }
    this.dropped.set(key, { height, from: from ?? prev?.from });
  }

  private badBlock(from: string | undefined, reason: string): 'reject' {
    if (from !== undefined) this.d.penalize?.(from, BAD_BLOCK_PENALTY, reason);
    return 'reject';
  }

  /** Releases held gossip verdicts and timers (node shutdown). */
  close(): void {
    for (const c of this.candidates.values()) c.hold?.settle('ignore');
  }

  /** A proposed or committed block by hash, for peers that ask. */
  blockBytesByHash(hash: Uint8Array): Uint8Array | undefined {
    const c = this.candidates.get(toHex(hash));
    if (c) return c.bytes;
    const h = this.d.blocks.heightOf(hash);
    return h === undefined ? undefined : this.d.blocks.getBlock(h);
  }

  // ---- Application ----------------------------------------------------------------------

  async prepareProposal(req: { height: number; round: number; proposer: Uint8Array }): Promise<Uint8Array> {
    const { height } = req;
    const t0 = performance.now();
    this.assertNext(height);
    const key = this.d.validatorKey;
    if (key === null) throw new ChainError('NOT_A_VALIDATOR', 'this node has no validator key');
    const set = this.d.valsets.require(height);
    const nextSet = this.d.valsets.require(height + 1);
    const txs: Uint8Array[] = [];
    const execTxs: ExecTx[] = [];

    // 1. Settle the due jobs with this node's own results.
    const due = dueJobs(this.d.state, height);
    if (due.length > 0) {
      const results = await this.d.jobs.results(height, due);
      const settled = this.d.faults?.wrongSettle ? corruptForTest(results) : results;
      const settle = signTx(
        {
          version: TX_VERSION,
          chainId: this.d.chainId,
          type: 'attribution.settle',
          sender: key.publicKey,
          nonce: height,
          gasLimit: 0,
          gasPrice: 0n,
          body: { results: settled },
        },
        key.secretKey,
      ) as Tx;
      const bytes = encodeTx(settle);
      if (bytes.length > SETTLE_TX_BYTES_MAX)
        throw new ChainError('SETTLE_TOO_LARGE', 'settle tx exceeds its size limit');
      txs.push(bytes);
      execTxs.push({ tx: settle, bytes });
    }
    this.assertNext(height); // the tip may have moved while awaiting

    // 2. Mempool transactions within the block's gas and byte budgets.
    const gasMax = Number(paramsFromList(readStores(this.d.state).paramValues() ?? []).blockGasLimit);
    let bytesLeft = BLOCK_BYTES_MAX - BLOCK_OVERHEAD_BYTES - (txs[0]?.length ?? 0);
    for (const e of this.d.mempool.select(this.nonceView(), gasMax, bytesLeft)) {
      txs.push(e.bytes);
      execTxs.push({ tx: e.tx, bytes: e.bytes, hash: e.hash });
      bytesLeft -= e.bytes.length;
    }

    // 3. Evidence the vm will accept (vm/staking.ts processEvidence): from an earlier height within
    //    the evidence age, valid for that height's set, one per validator, not yet tombstoned.
    const stores = readStores(this.d.state);
    const maxAge = evidenceMaxAge(paramsFromList(stores.paramValues() ?? []));
    const offenders = new Set<string>();
    const evidence = this.evidencePool.list().filter((e) => {
      const h = evidenceHeight(e);
      if (h >= height || height - h > maxAge) return false;
      const evSet = this.d.valsets.get(h);
      if (evSet === undefined || evidenceProblem(this.d.chainId, e, evSet) !== null) return false;
      const offender = evidenceOffender(e);
      if (stores.validator(offender)?.tombstoned === true) return false;
      const who = toHex(offender);
      if (offenders.has(who)) return false;
      offenders.add(who);
      return true;
    });

    const lastCommit = height === 1 ? null : this.lastCommitFor(height - 1);
    const timeMs = Math.max(Date.now(), this.tip.timeMs + 1);
    const exec: ExecBlock = {
      chainId: this.d.chainId,
      height,
      timeMs,
      proposer: addressOf(key.publicKey),
      txs: execTxs,
      lastCommitSigners: lastCommit === null ? null : lastCommit.signatures.map((s) => s.validator),
      evidence,
    };
    const overlay = this.d.state.overlay();
    let result: BlockResult;
    try {
      result = executeBlock(overlay, exec);
    } catch (e) {
      overlay.discard();
      throw e;
    }
    const header: Header = {
      version: BLOCK_VERSION,
      chainId: this.d.chainId,
      height,
      timeMs,
      parentHash: this.tip.hash,
      lastCommitHash: commitHash(lastCommit),
      txsHash: txsHash(txs),
      evidenceHash: evidenceHash(evidence),
      stateRoot: result.stateRoot,
      resultsHash: result.resultsHash,
      validatorsHash: setHash(set),
      nextValidatorsHash: setHash(nextSet),
      proposer: addressOf(key.publicKey),
    };
    const block: Block = { header, txs, lastCommit, evidence };
    const bytes = encodeBlock(block);
    const hash = headerHash(header);
    await this.d.pending.put(hash32(hash), hash32(bytes));
    this.assertNext(height);
    this.candidates.set(toHex(hash), {
      block,
      bytes,
      hash,
      referenced: true,
      execTxs,
      overlay,
      result,
      verdict: Promise.resolve(true),
    });
    this.d.publishBlock(bytes);
    this.d.log.debug(
      {
        height,
        round: req.round,
        txs: txs.length,
        hash: toHex(hash),
        ms: Math.round(performance.now() - t0),
      },
      'proposal built',
    );
    return hash;
  }

  /**
   * `valid(v)` for consensus. Resolves true, or false for a final refusal (a deterministic rule
   * broken: `INVALID_BLOCK`), and caches that on the candidate. Anything else — a timestamp beyond
   * `CLOCK_DRIFT_MS_MAX` of the local clock, a job-runner error, the tip moving during an await,
   * a block not fetched — REJECTS and is not cached: consensus treats it as a transient refusal
   * (invalid this round, asked again next round), sync retries it. `decided`: the block holds
   * 2f+1 precommits, so its time is not checked against the local clock.
   */
  processProposal(req: {
    height: number;
    round: number;
    blockHash: Uint8Array;
    decided?: boolean;
  }): Promise<boolean> {
    const key = toHex(req.blockHash);
    // The core asks only about proposals it accepted (right proposer, first of its round) and
    // values with a quorum or a certificate: the block is referenced from now on.
    if (req.height > this.tip.height && req.height <= this.tip.height + 2)
      this.references.set(key, req.height);
    this.markReferenced(key);
    const existing = this.candidates.get(key);
    if (existing?.verdict) return existing.verdict;
    const verdict = this.validate(req.height, req.blockHash, req.decided === true, req.round).catch((e) => {
      const final = e instanceof ChainError && e.code === 'INVALID_BLOCK';
      this.d.log.warn(
        { height: req.height, hash: key, err: (e as Error).message, final },
        final ? 'proposal invalid' : 'proposal refused for now',
      );
      if (final) return false;
      throw e;
    });
    const c = this.candidates.get(key);
    if (c) {
      c.verdict = verdict;
      // A transient refusal must not stick: forget it so the next ask validates again.
      verdict.catch(() => {
        if (c.verdict === verdict) c.verdict = undefined;
      });
    }
    return verdict;
  }

  commitBlock(req: { height: number; round: number; blockHash: Uint8Array; commit: Commit }): Promise<{
    validatorUpdates: ValidatorUpdate[];
  }> {
    const run = this.commitChain.then(() => this.commitDecided(req.height, req.blockHash, req.commit));
    this.commitChain = run.catch(() => {});
    return run;
  }

  // ---- validation and execution ------------------------------------------------------------

  private async validate(
    height: number,
    blockHash: Uint8Array,
    decided = false,
    round?: number,
  ): Promise<boolean> {
    this.assertNext(height);
    const c = await this.candidate(blockHash, height, round);
    const t0 = performance.now();
    const { block } = c;
    const h = block.header;
    const fail = (why: string): never => {
      throw new ChainError('INVALID_BLOCK', `block ${height}: ${why}`);
    };
    if (h.version !== BLOCK_VERSION) fail(`unknown version ${h.version}`);
    if (h.chainId !== this.d.chainId) fail('wrong chain');
    if (h.height !== height) fail(`header says height ${h.height}`);
    if (!bytesEqual(h.parentHash, this.tip.hash)) fail('parent hash is not the tip');
    if (h.timeMs <= this.tip.timeMs) fail('time does not increase');
    // Clock-dependent, hence transient (BLOCK_TIME_AHEAD, never cached); skipped for a block that
    // 2f+1 already precommitted or certified: their clocks accepted it, ours may just lag.
    if (!decided && !c.certified && h.timeMs > Date.now() + CLOCK_DRIFT_MS_MAX) {
      throw new ChainError('BLOCK_TIME_AHEAD', `block ${height}: time is too far ahead of this node's clock`);
    }
    const set = this.d.valsets.require(height);
    if (set.indexOf(h.proposer) < 0) fail('proposer is not a validator');
    if (!bytesEqual(h.validatorsHash, setHash(set))) fail('validatorsHash mismatch');
    if (!bytesEqual(h.nextValidatorsHash, setHash(this.d.valsets.require(height + 1))))
      fail('nextValidatorsHash mismatch');
    // Every admitted block had its body checked on arrival (`receiveBlock`, `applySynced`); the
    // check stays here for any other way in.
    const hashes = c.txHashes ?? block.txs.map(txHash);
    if (c.txHashes === undefined) {
      const problem = bodyProblem(block, hashes);
      if (problem !== null) fail(problem);
    }
    if (height === 1) {
      if (block.lastCommit !== null) fail('block 1 carries no last commit');
    } else {
      if (block.lastCommit === null) fail('missing last commit');
      // Structure and power always; the signatures not for a certified block: more than 2/3 of
      // the stake checked them before precommitting it, as they did its transactions' (the same
      // trust the certificate already carries; the header commits to the last commit's hash).
      verifyCommit(
        this.d.chainId,
        block.lastCommit!,
        this.d.valsets.require(height - 1),
        { height: height - 1, blockHash: this.tip.hash },
        c.certified ? CERTIFIED : undefined,
      );
    }
    for (const e of block.evidence) {
      const evSet = this.d.valsets.get(evidenceHeight(e));
      if (evSet === undefined) fail('evidence for an unknown height');
      const problem = evidenceProblem(this.d.chainId, e, evSet!);
      if (problem !== null) fail(`bad evidence: ${problem}`);
    }
    const exec = execBlockFromBlock(block);
    const unchecked: { index: number; key: string }[] = [];
    exec.txs.forEach((t, i) => {
      const hash = hashes[i];
      (t as ExecTx).hash = hash;
      if (i > 0 && t.tx.type === 'attribution.settle') fail(`tx ${i}: settle must come first`);
      const key = toHex(hash);
      if (!c.certified && !this.d.sigs.has(key)) unchecked.push({ index: i, key });
    });
    // Signatures not seen at admission: verified in worker threads when there are many.
    const verdicts = await this.d.sigPool.verifyMany(
      unchecked.map(({ index }) => {
        const tx = exec.txs[index].tx;
        return { publicKey: tx.sender, message: txSigningBytes(tx), signature: tx.signature };
      }),
    );
    verdicts.forEach((ok, j) => {
      if (!ok) fail(`tx ${unchecked[j].index} has a bad signature`);
      this.d.sigs.add(unchecked[j].key);
    });
    // Settle results must equal this node's own, computed by its own workers.
    const due = dueJobs(this.d.state, height);
    if (due.length > 0) {
      const first = exec.txs[0]?.tx;
      if (first?.type !== 'attribution.settle') fail('due jobs are not settled');
      const mine = await this.d.jobs.results(height, due);
      this.assertNext(height);
      const theirs = (first as Extract<Tx, { type: 'attribution.settle' }>).body.results;
      if (theirs.length !== mine.length || theirs.some((r, i) => !sameResult(r, mine[i]))) {
        this.d.metrics.attributionMismatches.inc();
        fail('settle results differ from this node’s own attribution');
      }
    }
    const overlay = this.d.state.overlay();
    let result: BlockResult;
    try {
      result = executeBlock(overlay, exec);
    } catch (e) {
      overlay.discard();
      throw e;
    }
    if (!bytesEqual(result.stateRoot, h.stateRoot)) {
      overlay.discard();
      fail('state root differs after execution');
    }
    if (!bytesEqual(result.resultsHash, h.resultsHash)) {
      overlay.discard();
      fail('results hash differs after execution');
    }
    c.execTxs = exec.txs as ExecTx[];
    c.overlay = overlay;
    c.result = result;
    // Durable before we vote for it: if every node restarts after precommitting, the WAL decides
    // this block again and it must still be here to commit. (A certified block from sync is
    // committed right away and never voted for.)
    if (!c.certified) await this.d.pending.put(hash32(blockHash), hash32(c.bytes));
    this.d.log.debug(
      { height, txs: block.txs.length, ms: Math.round(performance.now() - t0) },
      'proposal validated',
    );
    return true;
  }

  private async commitDecided(
    height: number,
    blockHash: Uint8Array,
    commit: Commit,
  ): Promise<{ validatorUpdates: ValidatorUpdate[] }> {
    this.assertNext(height);
    const key = toHex(blockHash);
    let c = this.candidates.get(key);
    if (c?.overlay === undefined || c.result === undefined) {
      // Decided without our validation (we joined late or the verdict is still running): check now.
      // A verdict still running may have checked the clock; a decided block is not held to it.
      const ok = await (c?.verdict ?? this.validate(height, blockHash, true)).catch(() =>
        this.validate(height, blockHash, true),
      );
      c = this.candidates.get(key);
      if (!ok || c?.overlay === undefined) {
        throw new ChainError(
          'COMMIT_FAILED',
          `the decided block ${key} at height ${height} does not validate here`,
        );
      }
    }
    return this.persist(c, commit);
  }

  /** Applies a block obtained by sync, whose certificate proves it was decided. */
  async applySynced(
    bytes: Uint8Array,
    commit: Commit,
    alreadyVerified?: SignatureVerified,
    /** `bytes` decoded already (sync decodes each block to check its height). */
    decoded?: Block,
  ): Promise<void> {
    const run = this.commitChain.then(async () => {
      const block = decoded ?? decodeBlock(bytes);
      const height = block.header.height;
      if (height !== this.tip.height + 1) return; // already have it
      const hash = headerHash(block.header);
      verifyCommit(
        this.d.chainId,
        commit,
        this.d.valsets.require(height),
        { height, blockHash: hash },
        alreadyVerified,
      );
      const key = toHex(hash);
      const known = this.candidates.get(key);
      if (known) {
        known.certified = true;
        this.markReferenced(key);
      } else {
        // The certificate signs the header only: a body that does not match it is not this block.
        const txHashes = block.txs.map(txHash);
        const problem = bodyProblem(block, txHashes);
        if (problem !== null)
          throw new ChainError('SYNC_BODY_MISMATCH', `block ${height} from sync: ${problem}`);
        this.admit({ block, bytes, hash, certified: true, referenced: true, txHashes });
      }
      const req = { height, round: commit.round, blockHash: hash, decided: true };
      let ok = await this.processProposal(req);
      if (!ok) {
        // A refusal cached before the block was certified never blocks sync: validate it afresh
        // (signatures are now vouched for by the certificate, the clock is not consulted).
        const stale = this.candidates.get(key);
        if (stale) stale.verdict = undefined;
        ok = await this.processProposal(req);
      }
      const c = this.candidates.get(key);
      if (!ok || c?.overlay === undefined) {
        throw new ChainError(
          'SYNC_BLOCK_INVALID',
          `block ${height} from sync does not execute to its header here`,
        );
      }
      await this.persist(c, commit);
      this.d.metrics.syncedBlocks.inc();
    });
    this.commitChain = run.catch(() => {});
    return run;
  }

  private async persist(c: Candidate, commit: Commit): Promise<{ validatorUpdates: ValidatorUpdate[] }> {
    const { block, hash } = c;
    const height = block.header.height;
    const result = c.result!;
    const next = this.d.valsets.require(height + 1);
    const nextNext = next.next(result.validatorUpdates);
    inheritSetHash(nextNext, next);
    const ops = [
      ...this.d.blocks.commitOps(
        height,
        hash,
        c.bytes,
        encodeCommit(commit),
        c.execTxs!.map((t) => t.hash ?? txHash(t.bytes)),
        encodeResults(result),
      ),
      this.d.valsets.putOp(height + 2, nextNext),
      ...this.d.indexer.ops(height, result.events),
      ...this.d.earnings.ops(result.events, c.overlay!),
      // Candidate blocks of this height are no longer needed once one is committed.
      ...[...this.candidates.values()]
        .filter((x) => x.block.header.height <= height)
        .map((x) => ({ type: 'del', sublevel: this.d.pending, key: hash32(x.hash) }) as ExtraOp),
    ];
    const t0 = performance.now();
    const root = await c.overlay!.commit(height, ops);
    this.d.log.debug(
      { height, txs: block.txs.length, ms: Math.round(performance.now() - t0) },
      'block persisted',
    );
    if (!bytesEqual(root, block.header.stateRoot)) {
      // Cannot happen unless the state layer is broken: stop rather than diverge.
      throw new ChainError('ROOT_MISMATCH', `committed root differs from the header at ${height}`);
    }
    this.d.valsets.remember(height + 2, nextNext);
    for (const [k, other] of this.candidates) {
      if (other.block.header.height <= height) {
        if (other !== c) other.overlay?.discard();
        if (other.hold !== undefined) {
          other.hold.settle('ignore');
          if (other.from !== undefined)
            this.d.penalize?.(other.from, UNREFERENCED_BLOCK_PENALTY, 'UNREFERENCED_BLOCK');
        }
        this.candidates.delete(k);
      }
    }
    for (const [k, h] of this.references) if (h <= height) this.references.delete(k);
    for (const k of this.fetches.keys()) {
      if (Number(k.slice(0, k.indexOf(':'))) <= height) this.fetches.delete(k);
    }
    for (const list of [...this.waiters.values()]) {
      for (const w of list) {
        if (w.height <= height) w.fail(new ChainError('STALE_HEIGHT', `height ${w.height} is decided`));
      }
    }
    for (const slot of this.referencesPerRound.keys()) {
      if (Number(slot.slice(0, slot.indexOf(':'))) <= height) this.referencesPerRound.delete(slot);
    }
    // Blocks dropped unreferenced whose height is now decided and that nothing ever named: junk.
    for (const [k, e] of this.dropped) {
      if (e.height > height) continue;
      this.dropped.delete(k);
      if (e.from !== undefined) this.d.penalize?.(e.from, UNREFERENCED_BLOCK_PENALTY, 'UNREFERENCED_BLOCK');
    }
    this.evidencePool.prune(block.evidence, height - EVIDENCE_HEIGHTS_KEPT);
    this.tip = { height, hash, timeMs: block.header.timeMs, stateRoot: root };
    for (const t of c.execTxs!) {
      if (t.hash) this.d.mempool.removeByHash(toHex(t.hash));
    }
    this.d.mempool.recheck(this.nonceView(), height);
    const now = Date.now();
    if (this.lastCommitAt > 0) this.d.metrics.blockIntervalSeconds.observe((now - this.lastCommitAt) / 1000);
    this.lastCommitAt = now;
    this.d.metrics.height.set(height);
    this.d.metrics.txsPerBlock.observe(block.txs.length);
    this.d.metrics.mempoolTxs.set(this.d.mempool.size);
    this.d.metrics.mempoolBytes.set(this.d.mempool.bytes);
    // Start the jobs this block created; they are due in the next block.
    const due = dueJobs(this.d.state, height + 1);
    if (due.length > 0) void this.d.jobs.start(height + 1, due).catch(() => {});
    this.d.onCommitted({ height, hash, block, result, commit });
    return { validatorUpdates: result.validatorUpdates };
  }

  private lastCommitFor(height: number): Commit {
    const best = this.d.bestCommit?.(height);
    if (best !== undefined) return best;
    const bytes = this.d.blocks.getCommit(height);
    if (bytes === undefined) throw new ChainError('NO_COMMIT', `no commit stored for height ${height}`);
    // Our own stored bytes: a decode failure means a corrupt database, and it throws a typed error.
    return decodeCommit(bytes);
  }

  /**
   * The block of `hash`, from the table, by gossip, or fetched from peers after `BLOCK_WAIT_MS`
   * (at once if it was dropped unreferenced). For a proposal (`round` given), fetches are limited
   * to `FETCHES_PER_PROPOSER_MAX` per (height, proposer of that round): a byzantine proposer
   * signing proposals of unknown blocks for thousands of rounds can no longer make the node ask
   * every peer for each; past the budget the block can still arrive by gossip until the height is
   * decided. A decided block (`round` undefined) is always fetched.
   */
  private candidate(hash: Uint8Array, height: number, round?: number): Promise<Candidate> {
    const key = toHex(hash);
    const have = this.candidates.get(key);
    if (have) return Promise.resolve(have);
    let budgetKey: string | null = null;
    if (round !== undefined) {
      const set = this.d.valsets.get(height);
      if (set !== undefined) budgetKey = `${height}:${toHex(set.proposer(round).address)}`;
    }
    const used = budgetKey === null ? 0 : (this.fetches.get(budgetKey) ?? 0);
    const mayFetch = used < FETCHES_PER_PROPOSER_MAX;
    if (budgetKey !== null && mayFetch) this.fetches.set(budgetKey, used + 1);
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        height,
        finish: (c: Candidate) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(c);
        },
        fail: (e: Error) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.unwait(key, waiter);
          reject(e);
        },
      };
      list.push(waiter);
      this.waiters.set(key, list);
      if (!mayFetch) return; // gossip only; failed when the height is decided
      // Seen and dropped before anything named it (a flood held the slots): gossip will not bring
      // it again, so ask at once, the peer that sent it first.
      const dropped = this.dropped.get(key);
      timer = setTimeout(
        () => {
          void this.d.fetchBlock(hash, dropped?.from).then(
            (bytes) => {
              if (done) return;
              if (bytes !== undefined && this.receiveBlock(bytes) !== 'reject') {
                const c = this.candidates.get(key);
                if (c) return waiter.finish(c);
              }
              waiter.fail(new ChainError('BLOCK_UNAVAILABLE', `block ${key} did not arrive`));
            },
            (e) => waiter.fail(e as Error),
          );
        },
        dropped === undefined ? BLOCK_WAIT_MS : 0,
      );
    });
  }

  private unwait(key: string, w: Waiter): void {
    const list = this.waiters.get(key)?.filter((x) => x !== w) ?? [];
    if (list.length > 0) this.waiters.set(key, list);
    else this.waiters.delete(key);
  }

  private assertNext(height: number): void {
    if (height !== this.tip.height + 1) {
      throw new ChainError('STALE_HEIGHT', `height ${height} is not next after the tip ${this.tip.height}`);
    }
  }

  /** Validator set of a height, for RPC and sync. */
  validatorSet(height: number): ValidatorSet | undefined {
    return this.d.valsets.get(height);
  }
}

const hash32 = (h: Uint8Array): Buffer => Buffer.from(h.buffer, h.byteOffset, h.byteLength);

/** Signatures of a certified block's last commit: vouched for by its certificate (see validate). */
const CERTIFIED: SignatureVerified = () => true;

/** Validator-set hashes, computed once per set (a set never changes once built). */
const setHashes = new WeakMap<ValidatorSet, Uint8Array>();
function setHash(set: ValidatorSet): Uint8Array {
  let h = setHashes.get(set);
  if (h === undefined) {
    h = set.hash();
    setHashes.set(set, h);
  }
  return h;
}

/**
 * The set of the next height is a new object (its proposer priorities move) but usually has the
 * same members: then it has the same hash, which covers only addresses, keys and powers.
 */
function inheritSetHash(set: ValidatorSet, from: ValidatorSet): void {
  const known = setHashes.get(from);
  if (known === undefined || setHashes.has(set) || set.validators.length !== from.validators.length) return;
  for (let i = 0; i < set.validators.length; i++) {
    const a = set.validators[i];
    const b = from.validators[i];
    if (a.power !== b.power || !bytesEqual(a.address, b.address) || !bytesEqual(a.publicKey, b.publicKey))
      return;
  }
  setHashes.set(set, known);
}

/** Why a block's body does not match its header (tx, evidence, last-commit hashes), or null. */
export function bodyProblem(
  block: Block,
  txHashes: readonly Uint8Array[] = block.txs.map(txHash),
): string | null {
  const h = block.header;
  if (!bytesEqual(h.txsHash, txsHashOf(txHashes))) return 'txsHash mismatch';
  if (!bytesEqual(h.evidenceHash, evidenceHash(block.evidence))) return 'evidenceHash mismatch';
  if (!bytesEqual(h.lastCommitHash, commitHash(block.lastCommit))) return 'lastCommitHash mismatch';
  return null;
}

function sameResult(a: JobResult, b: JobResult): boolean {
  return bytesEqual(encode(jobResultSchema, a), encode(jobResultSchema, b));
}

/** Test-only fault: bumps one score, as a dishonest proposer inflating a contributor would. */
function corruptForTest(results: JobResult[]): JobResult[] {
  return results.map((r, i) =>
    i === 0 && r.scores.length > 0
      ? { ...r, scores: r.scores.map((s, j) => (j === 0 ? { ...s, score: s.score + 1 } : s)) }
      : r,
  );
}
