import { commitSignatureChecks, type SignatureCheck, verifyCommit } from '../consensus/commit.js';
import type { CoreInput } from '../consensus/messages.js';
import { type Commit, decodeBlock, decodeCommit, headerHash } from '../core/block.js';
import { bytesEqual } from '../core/bytes.js';
import { OlError } from '../core/errors.js';
import type { P2pHost } from '../p2p/host.js';
import type { BlockStore } from './blockStore.js';
import type { Chain } from './chain.js';
import type { Logger } from './logger.js';
import type { SigPool } from './sigPool.js';
import {
  BLOCKS_PER_REQUEST_MAX,
  type BlockWithCommit,
  decodeBlocksRequest,
  decodeBlocksResponse,
  decodeStatus,
  encodeBlocksRequest,
  encodeBlocksResponse,
  type Status,
} from './syncMessages.js';
import type { ValsetStore } from './valsets.js';

/**
 * Sync: serving blocks to peers, fetching single blocks by hash (for proposals whose block did
 * not arrive by gossip), and catching up — polling peers' status, fetching ranges of certified
 * blocks when two or more behind, or the decided block's certificate when one behind and stalled.
 * A peer's claimed height alone never touches consensus (node/README.md "Byzantine peers").
 */

/** Sync asks peers for their status this often, and catches up when one is ahead. */
export const SYNC_POLL_MS = 1_000;
/** Delay between a peer connecting and the status poll it triggers. */
export const SYNC_ON_CONNECT_MS = 100;
/** A sync range request gives up after this long (a peer that never answers is charged). */
export const SYNC_RANGE_TIMEOUT_MS = 15_000;
/** Points charged to a peer whose sync answer does not back its status (p2p/peerScore.ts). */
export const SYNC_BAD_ANSWER_PENALTY = 25;
/** Points charged to a peer whose sync request failed or timed out (it may just be busy). */
export const SYNC_NO_ANSWER_PENALTY = 10;
/** One block behind with no decision for this long: fetch the decided block and its certificate. */
export const STALL_MS = 2_000;

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

/** What sync needs of the consensus driver wiring (node/consensusWiring.ts). */
export interface SyncConsensus {
  /** When the last block was decided or applied (local clock): a stall is measured from it. */
  lastDecideAt(): number;
  /** Sync applied blocks at `ms` (local clock): the stall and the next pause count from then. */
  caughtUp(ms: number): void;
  /** Feeds the core an input (a fetched certificate for the next height). */
  input(input: CoreInput): void;
  /** Restarts the core at the height after the tip. */
  restart(): void;
}

export interface SyncDeps {
  readonly chainId: string;
  readonly p2p: Pick<P2pHost, 'peers' | 'request' | 'penalize'>;
  readonly chain: Pick<Chain, 'tip' | 'applySynced' | 'receiveBlock' | 'blockBytesByHash'>;
  readonly blocks: Pick<BlockStore, 'getBlock' | 'getCommit'>;
  readonly valsets: Pick<ValsetStore, 'get' | 'require'>;
  readonly sigPool: Pick<SigPool, 'verifyMany'>;
  readonly consensus: SyncConsensus;
  readonly log: Logger;
  /** Peers' last status answers (kept by the node: RPC reports the best height seen). */
  readonly peerStatus: Map<string, Status>;
  stopped(): boolean;
  /** True when `e` is a storage failure that stops the node (a full disk): not the peer's fault. */
  storageFailed(e: unknown): boolean;
}

export class Sync {
  private syncing = false;
  private polling = false;

  constructor(private readonly deps: SyncDeps) {}

  /**
   * True from the first certified block applied by a catch-up until consensus restarts: the
   * core's height is being replaced, so gossiped inputs are only remembered for the restart.
   */
  get isSyncing(): boolean {
    return this.syncing;
  }

  /** The `blocks` protocol: a block by hash, or a range of blocks with their certificates. */
  async serveBlocks(reqBytes: Uint8Array): Promise<Uint8Array> {
    const { chain, blocks } = this.deps;
    const req = decodeBlocksRequest(reqBytes);
    const out: BlockWithCommit[] = [];
    if (req.kind === 'hash') {
      if (req.hash !== null) {
        const bytes = chain.blockBytesByHash(req.hash);
        if (bytes !== undefined) out.push({ block: bytes, commit: new Uint8Array(0) });
      }
      return encodeBlocksResponse(out);
    }
    const to = Math.min(req.to, req.from + BLOCKS_PER_REQUEST_MAX - 1, chain.tip.height);
    let size = 0;
    for (let h = Math.max(1, req.from); h <= to; h++) {
      const block = blocks.getBlock(h);
      const commit = blocks.getCommit(h);
      if (block === undefined || commit === undefined) break;
      size += block.length + commit.length;
      if (out.length > 0 && size > 16 * 1024 * 1024) break;
      out.push({ block, commit });
    }
    return encodeBlocksResponse(out);
  }

  /** A block by hash from any peer (`prefer` first), or undefined when none has it. */
  async fetchBlock(hash: Uint8Array, prefer?: string): Promise<Uint8Array | undefined> {
    const { p2p, log } = this.deps;
    const peers = p2p.peers();
    if (prefer !== undefined && peers.includes(prefer))
      peers.unshift(...peers.splice(peers.indexOf(prefer), 1));
    for (const peer of peers) {
      try {
        const res = decodeBlocksResponse(
          await p2p.request(
            peer,
            'blocks',
            encodeBlocksRequest({ kind: 'hash', from: 0, to: 0, hash }),
            5_000,
          ),
        );
        const found = res.find((r) => bytesEqual(headerHash(decodeBlock(r.block).header), hash));
        if (found) return found.block;
      } catch (e) {
        log.debug({ peer, err: (e as Error).message }, 'block fetch failed');
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
    const { chain, valsets, chainId, sigPool } = this.deps;
    const newest = valsets.get(chain.tip.height + 2) ?? valsets.get(chain.tip.height + 1);
    const items: SignatureCheck[] = [];
    for (const r of blocks) {
      let commit: Commit;
      try {
        commit = decodeCommit(r.commit);
      } catch {
        continue; // applySynced reports it
      }
      const set = valsets.get(commit.height) ?? newest;
      if (set !== undefined) items.push(...commitSignatureChecks(chainId, commit, set));
    }
    const verdicts = await sigPool.verifyMany(items);
    const verified = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      if (verdicts[i]) verified.add(signatureKey(items[i].publicKey, items[i].message, items[i].signature));
    }
    return verified;
  }

  /** Polls peers; when one is ahead by more than a block, fetches and applies blocks with commits. */
  async tick(): Promise<void> {
    const { p2p, chain, chainId, valsets, consensus, log, peerStatus } = this.deps;
    const stopped = () => this.deps.stopped();
    if (this.polling || stopped()) return;
    this.polling = true;
    let applied = 0;
    try {
      const peers = p2p.peers();
      await Promise.all(
        peers.map(async (peer) => {
          try {
            const s = decodeStatus(await p2p.request(peer, 'status', new Uint8Array(0), 2_000));
            if (s.chainId === chainId) peerStatus.set(peer, s);
          } catch {
            peerStatus.delete(peer);
          }
        }),
      );
      for (;;) {
        const tip = chain.tip.height;
        const statuses = [...peerStatus.entries()];
        const far = statuses.filter(([, st]) => st.height >= tip + 2);
        if (far.length > 0) {
          // Two or more blocks behind: apply decided blocks with their certificates, then restart.
          // The next range is requested while this one is applied, so the network round trip and
          // the peer's reads overlap our execution instead of adding to it.
          const fetchRange = (from: number, turn: number): Promise<FetchedRange> => {
            const [peer, st] = far[turn % far.length];
            const p = p2p
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
                if (stopped()) return;
                try {
                  if (decodeBlock(r.block).header.height !== at + i) throw new Error('block out of range');
                  await chain.applySynced(r.block, decodeCommit(r.commit), (pk, msg, sig) =>
                    verified.has(signatureKey(pk, msg, sig)),
                  );
                } catch (e) {
                  if (chain.tip.height >= at + i) continue; // consensus committed it meanwhile
                  if (this.deps.storageFailed(e)) return;
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
            peerStatus.delete(e.peer);
            const points = syncPenalty(e.cause);
            if (points > 0) p2p.penalize(e.peer, points, 'SYNC_BAD_ANSWER');
            log.debug({ peer: e.peer, err: e.message }, 'sync peer did not back its status');
            if (stopped()) return;
            continue; // try the other peers ahead, if any
          }
          if (chain.tip.height === tip) break; // no progress: leave it to the next poll
          continue;
        }
        const near = statuses.filter(([, st]) => st.height === tip + 1);
        if (near.length > 0 && Date.now() - consensus.lastDecideAt() > STALL_MS && !this.syncing) {
          // One block behind and stuck: the others decided without us. Their precommits are gone
          // from gossip, so take the block and its certificate and let the core decide with it.
          const [peer] = near[tip % near.length];
          const res = decodeBlocksResponse(
            await p2p.request(
              peer,
              'blocks',
              encodeBlocksRequest({ kind: 'range', from: tip + 1, to: tip + 1, hash: null }),
              10_000,
            ),
          );
          const first = res[0];
          if (first !== undefined && chain.tip.height === tip) {
            let commit: Commit;
            try {
              commit = decodeCommit(first.commit);
              const blockHash = headerHash(decodeBlock(first.block).header);
              verifyCommit(chainId, commit, valsets.require(tip + 1), {
                height: tip + 1,
                blockHash,
              });
            } catch (e) {
              peerStatus.delete(peer);
              p2p.penalize(peer, SYNC_BAD_ANSWER_PENALTY, 'SYNC_BAD_ANSWER');
              throw e;
            }
            // Certified: admitted whatever the gossip slots hold (its body is checked on admission).
            chain.receiveBlock(first.block, { trusted: true });
            consensus.input({ type: 'commitCertificate', commit });
          } else if (first === undefined) {
            peerStatus.delete(peer);
            p2p.penalize(peer, SYNC_BAD_ANSWER_PENALTY, 'SYNC_BAD_ANSWER');
          }
        }
        break;
      }
    } catch (e) {
      if (!this.deps.storageFailed(e)) log.warn({ err: (e as Error).message }, 'sync step failed');
    } finally {
      this.polling = false;
    }
    if (this.syncing && !stopped()) {
      this.syncing = false;
      consensus.restart();
    }
    if (applied > 0 && !stopped()) {
      consensus.caughtUp(Date.now());
      log.info({ applied, height: chain.tip.height }, 'caught up by sync');
    }
  }
}
