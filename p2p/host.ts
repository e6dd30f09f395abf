import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub, StrictNoSign, TopicValidatorResult } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { asPlain } from '../core/bytes.js';
import { OlError } from '../core/errors.js';
import { encodeFrame, FrameReader } from './frame.js';
import { PeerScores } from './peerScore.js';
import { RateLimiter } from './rateLimit.js';

/**
 * The libp2p host (DESIGN §8): tcp + noise + yamux, identify, ping, gossipsub with StrictNoSign
 * and content-hash message ids (our payloads carry their own signatures), request/response
 * protocols framed by `frame.ts`, per-peer rate limits, and a connection gater whose block list
 * lets an operator (or the chaos tooling) really cut a peer off.
 */

/** Gossip topics; 'block' carries proposed blocks, which are far larger than votes (see p2p/README.md). */
export type Topic = 'tx' | 'consensus' | 'evidence' | 'block';
export type Protocol = 'status' | 'blocks';
export type Verdict = 'accept' | 'reject' | 'ignore';

export const GOSSIP_BYTES_MAX = 10 * 1024 * 1024;
export const REQUEST_BYTES_MAX = 64 * 1024;
export const RESPONSE_BYTES_MAX = 32 * 1024 * 1024;
export const REQUEST_TIMEOUT_MS = 10_000;
/** Gossip bytes per second accepted from one peer (burst: 4× that), whatever the message count. */
export const PEER_GOSSIP_BYTES_PER_SEC = 16 * 1024 * 1024;
/** Response bytes per second served to one peer (burst: 4× that), whatever the request count. */
export const PEER_RESPONSE_BYTES_PER_SEC = 16 * 1024 * 1024;

export interface P2pLimits {
  gossipBytesMax: number;
  requestBytesMax: number;
  responseBytesMax: number;
  /** Gossip messages per second accepted from one peer (burst: 4× that). */
  peerGossipPerSec: number;
  /** Requests per second served to one peer (burst: 4× that). */
  peerRequestsPerSec: number;
  /** Gossip bytes per second accepted from one peer (burst: 4× that). */
  peerGossipBytesPerSec: number;
  /** Response bytes per second served to one peer (burst: 4× that). */
  peerResponseBytesPerSec: number;
  connectionsMax: number;
}

export const DEFAULT_P2P_LIMITS: P2pLimits = {
  gossipBytesMax: GOSSIP_BYTES_MAX,
  requestBytesMax: REQUEST_BYTES_MAX,
  responseBytesMax: RESPONSE_BYTES_MAX,
  peerGossipPerSec: 5_000,
  peerRequestsPerSec: 50,
  peerGossipBytesPerSec: PEER_GOSSIP_BYTES_PER_SEC,
  peerResponseBytesPerSec: PEER_RESPONSE_BYTES_PER_SEC,
  connectionsMax: 64,
};

export interface P2pConfig {
  chainId: string;
  privateKey: PrivateKey;
  /** e.g. `/ip4/127.0.0.1/tcp/26656` */
  listen: string[];
  /** Multiaddrs with `/p2p/<peer id>`; redialled whenever the connection drops. */
  bootstrap: string[];
  limits?: Partial<P2pLimits>;
  bootstrapRedialMs?: number;
}

export interface P2pLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export type GossipHandler = (data: Uint8Array, from: string) => Verdict | Promise<Verdict>;
export type RequestHandler = (request: Uint8Array, from: string) => Promise<Uint8Array>;

export class P2pError extends OlError {}

export interface P2pStats {
  gossipAccepted: number;
  gossipRejected: number;
  gossipIgnored: number;
  gossipOversize: number;
  rateLimited: number;
  requestsServed: number;
  requestsFailed: number;
}

export function topicName(chainId: string, topic: Topic): string {
  return `/ol/${chainId}/${topic}/1`;
}

export function protocolName(chainId: string, proto: Protocol): string {
  return `/ol/${chainId}/${proto}/1`;
}

export class P2pHost {
  readonly stats: P2pStats = {
    gossipAccepted: 0,
    gossipRejected: 0,
    gossipIgnored: 0,
    gossipOversize: 0,
    rateLimited: 0,
    requestsServed: 0,
    requestsFailed: 0,
  };
  private readonly gossipLimiter: RateLimiter;
  private readonly requestLimiter: RateLimiter;
  private readonly gossipBytesLimiter: RateLimiter;
  private readonly responseBytesLimiter: RateLimiter;
  private redialTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly penaltyListeners: ((
    peer: string,
    points: number,
    reason: string,
    banned: boolean,
  ) => void)[] = [];

  private constructor(
    private readonly node: Libp2p<{ pubsub: GossipSub }>,
    private readonly cfg: P2pConfig,
    readonly limits: P2pLimits,
    private readonly log: P2pLogger,
    /** Shared with the connection gater, which was built before this instance. */
    private readonly blocked: Set<string>,
    /** Misbehaviour points and bans (p2p/peerScore.ts), also consulted by the gater. */
    private readonly scores: PeerScores,
  ) {
    this.gossipLimiter = new RateLimiter(limits.peerGossipPerSec, limits.peerGossipPerSec * 4);
    this.requestLimiter = new RateLimiter(limits.peerRequestsPerSec, limits.peerRequestsPerSec * 4);
    // The burst must admit one message or answer of the largest size, or it could never pass.
    this.gossipBytesLimiter = new RateLimiter(
      limits.peerGossipBytesPerSec,
      Math.max(limits.peerGossipBytesPerSec * 4, limits.gossipBytesMax),
    );
    this.responseBytesLimiter = new RateLimiter(
      limits.peerResponseBytesPerSec,
      Math.max(limits.peerResponseBytesPerSec * 4, limits.responseBytesMax),
    );
  }

  static async start(cfg: P2pConfig, log: P2pLogger): Promise<P2pHost> {
    const limits = { ...DEFAULT_P2P_LIMITS, ...cfg.limits };
    const blocked = new Set<string>();
    const scores = new PeerScores();
    const deny = (peer: PeerId) => blocked.has(peer.toString()) || scores.isBanned(peer.toString());
    const node = await createLibp2p({
      privateKey: cfg.privateKey,
      addresses: { listen: cfg.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: deny,
        denyInboundEncryptedConnection: deny,
        denyOutboundEncryptedConnection: deny,
        // Loopback and private addresses are where devnets live; do not filter them out.
        denyDialMultiaddr: () => false,
      },
      connectionManager: { maxConnections: limits.connectionsMax },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictNoSign,
          emitSelf: false,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          maxInboundDataLength: limits.gossipBytesMax + 64 * 1024,
          msgIdFn: (m) => new Uint8Array(createHash('sha256').update(m.data).digest()),
          allowedTopics: (['tx', 'consensus', 'evidence', 'block'] as Topic[]).map((t) =>
            topicName(cfg.chainId, t),
          ),
        }),
      },
    });
    const host = new P2pHost(node, cfg, limits, log, blocked, scores);
    node.addEventListener('peer:connect', (e) => log.debug({ peer: e.detail.toString() }, 'peer connected'));
    node.addEventListener('peer:disconnect', (e) =>
      log.debug({ peer: e.detail.toString() }, 'peer disconnected'),
    );
    host.scheduleRedial(cfg.bootstrapRedialMs ?? 2_000);
    void host.dialBootstrap();
    return host;
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map((m) => m.toString());
  }

  peers(): string[] {
    return this.node.getPeers().map((p) => p.toString());
  }

  /** Calls `listener` with the peer id whenever a connection to a new peer opens. */
  onPeerConnect(listener: (peer: string) => void): void {
    this.node.addEventListener('peer:connect', (e) => listener(e.detail.toString()));
  }

  /** Peers known to be subscribed to `topic`. */
  topicPeers(topic: Topic): string[] {
    return this.node.services.pubsub
      .getSubscribers(topicName(this.cfg.chainId, topic))
      .map((p) => p.toString());
  }

  /**
   * Subscribes to a topic. The handler validates AND processes each message (one decode), and its
   * verdict steers gossipsub: accept → deliver and forward; reject → drop and score the peer
   * down; ignore → drop quietly (stale or duplicate). Oversize and over-rate messages never reach
   * the handler.
   */
  subscribe(topic: Topic, handler: GossipHandler): void {
    const name = topicName(this.cfg.chainId, topic);
    const pubsub = this.node.services.pubsub;
    pubsub.topicValidators.set(name, async (peer, msg) => {
      const from = peer.toString();
      if (msg.data.length > this.limits.gossipBytesMax) {
        this.stats.gossipOversize++;
        this.stats.gossipRejected++;
        return TopicValidatorResult.Reject;
      }
      if (!this.gossipLimiter.take(from) || !this.gossipBytesLimiter.take(from, msg.data.length)) {
        this.stats.rateLimited++;
        this.stats.gossipIgnored++;
        return TopicValidatorResult.Ignore;
      }
      let verdict: Verdict;
      try {
        verdict = await handler(asPlain(msg.data), from);
      } catch (e) {
        this.log.warn({ topic, peer: from, err: (e as Error).message }, 'gossip handler failed');
        verdict = 'ignore';
      }
      if (verdict === 'accept') {
        this.stats.gossipAccepted++;
        return TopicValidatorResult.Accept;
      }
      if (verdict === 'reject') {
        this.stats.gossipRejected++;
        return TopicValidatorResult.Reject;
      }
      this.stats.gossipIgnored++;
      return TopicValidatorResult.Ignore;
    });
    pubsub.subscribe(name);
  }

  /** Publishes to a topic; returns how many peers it was sent to. Never throws on "no peers". */
  async publish(topic: Topic, data: Uint8Array): Promise<number> {
    if (data.length > this.limits.gossipBytesMax) {
      throw new P2pError(
        'GOSSIP_TOO_LARGE',
        `gossip message of ${data.length} bytes exceeds ${this.limits.gossipBytesMax}`,
      );
    }
    try {
      const r = await this.node.services.pubsub.publish(topicName(this.cfg.chainId, topic), data);
      return r.recipients.length;
    } catch (e) {
      this.log.debug({ topic, err: (e as Error).message }, 'publish failed');
      return 0;
    }
  }

  /** Serves a request/response protocol: one framed request in, one framed response out. */
  async handle(proto: Protocol, handler: RequestHandler): Promise<void> {
    await this.node.handle(protocolName(this.cfg.chainId, proto), async (stream: Stream, connection) => {
      const from = connection.remotePeer.toString();
      try {
        if (!this.requestLimiter.take(from)) {
          this.stats.rateLimited++;
          stream.abort(new P2pError('RATE_LIMITED', 'too many requests'));
          return;
        }
        const request = await readFrame(stream, this.limits.requestBytesMax);
        const response = await handler(request, from);
        if (!this.responseBytesLimiter.take(from, response.length)) {
          this.stats.rateLimited++;
          stream.abort(new P2pError('RATE_LIMITED', 'too many response bytes'));
          return;
        }
        await writeFrame(stream, response);
        await stream.close();
        this.stats.requestsServed++;
      } catch (e) {
        this.stats.requestsFailed++;
        this.log.debug({ proto, peer: from, err: (e as Error).message }, 'request failed');
        stream.abort(e as Error);
      }
    });
  }

  /** Sends one request to `peer` and returns its response, or throws a typed `P2pError`. */
  async request(
    peer: string,
    proto: Protocol,
    request: Uint8Array,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<Uint8Array> {
    const signal = AbortSignal.timeout(timeoutMs);
    let stream: Stream | undefined;
    try {
      stream = await this.node.dialProtocol(peerIdFromString(peer), protocolName(this.cfg.chainId, proto), {
        signal,
      });
      await writeFrame(stream, request);
      await stream.close({ signal });
      return await readFrame(stream, this.limits.responseBytesMax, signal);
    } catch (e) {
      stream?.abort(e as Error);
      if (e instanceof OlError) throw e;
      throw new P2pError('REQUEST_FAILED', `${proto} request to ${peer} failed: ${(e as Error).message}`);
    }
  }

  /**
   * Charges a peer misbehaviour points (p2p/peerScore.ts). Past `PENALTY_POINTS_MAX` it is banned
   * for `PEER_BAN_MS`: its connections close and new ones are refused both ways. Returns true
   * when this charge banned it.
   */
  penalize(peer: string, points: number, reason: string): boolean {
    const banned = this.scores.charge(peer, points);
    for (const l of this.penaltyListeners) l(peer, points, reason, banned);
    if (banned) {
      this.log.warn({ peer, reason }, 'peer banned for misbehaviour');
      void this.node.hangUp(peerIdFromString(peer)).catch(() => {});
    }
    return banned;
  }

  /** Calls `listener` on every penalty (for metrics and logs). */
  onPenalty(listener: (peer: string, points: number, reason: string, banned: boolean) => void): void {
    this.penaltyListeners.push(listener);
  }

  isBanned(peer: string): boolean {
    return this.scores.isBanned(peer);
  }

  /** Cuts a peer off: existing connections close and new ones are refused, both ways. */
  async blockPeer(peer: string): Promise<void> {
    this.blocked.add(peer);
    try {
      await this.node.hangUp(peerIdFromString(peer));
    } catch {
      // already gone
    }
  }

  unblockPeer(peer: string): void {
    this.blocked.delete(peer);
  }

  blockedPeers(): string[] {
    return [...this.blocked].sort();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.redialTimer) clearInterval(this.redialTimer);
    await this.node.stop();
  }

  private scheduleRedial(everyMs: number): void {
    this.redialTimer = setInterval(() => void this.dialBootstrap(), everyMs);
    this.redialTimer.unref();
  }

  private async dialBootstrap(): Promise<void> {
    if (this.stopped) return;
    const connected = new Set(this.peers());
    await Promise.all(
      this.cfg.bootstrap.map(async (addr) => {
        try {
          const ma = multiaddr(addr);
          const target = ma.getComponents().find((c) => c.name === 'p2p')?.value;
          if (target === undefined || target === this.peerId) return;
          if (connected.has(target) || this.blocked.has(target) || this.scores.isBanned(target)) return;
          await this.node.dial(ma, { signal: AbortSignal.timeout(5_000) });
        } catch (e) {
          this.log.debug({ addr, err: (e as Error).message }, 'bootstrap dial failed');
        }
      }),
    );
  }
}

async function writeFrame(stream: Stream, payload: Uint8Array): Promise<void> {
  if (!stream.send(encodeFrame(payload))) await stream.onDrain();
}

async function readFrame(stream: Stream, sizeMax: number, signal?: AbortSignal): Promise<Uint8Array> {
  const reader = new FrameReader(sizeMax);
  for await (const chunk of stream) {
    signal?.throwIfAborted();
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    const done = reader.push(bytes);
    if (done !== undefined) return new Uint8Array(done);
  }
  throw new P2pError('FRAME_TRUNCATED', 'stream ended before a whole message arrived');
}
