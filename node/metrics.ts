import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics (prom-client) for one node, served at GET /metrics on their own port. */
export class NodeMetrics {
  readonly registry = new Registry();

  constructor() {
    // prom-client's process metrics: resident memory (`process_resident_memory_bytes`), CPU,
    // heap, GC and event-loop lag (`nodejs_eventloop_lag_p99_seconds`: how long an RPC answer or a
    // consensus message may wait behind synchronous work such as executing a block).
    collectDefaultMetrics({ register: this.registry });
  }
  readonly height = new Gauge({
    name: 'ol_height',
    help: 'last committed height',
    registers: [this.registry],
  });
  readonly round = new Gauge({
    name: 'ol_round',
    help: 'current consensus round',
    registers: [this.registry],
  });
  readonly blockIntervalSeconds = new Histogram({
    name: 'ol_block_interval_seconds',
    help: 'time between consecutive commits',
    buckets: [0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30],
    registers: [this.registry],
  });
  readonly txsPerBlock = new Histogram({
    name: 'ol_block_txs',
    help: 'transactions per committed block',
    buckets: [0, 1, 10, 100, 500, 1000, 2000, 5000, 10000],
    registers: [this.registry],
  });
  readonly mempoolTxs = new Gauge({
    name: 'ol_mempool_txs',
    help: 'transactions in the mempool',
    registers: [this.registry],
  });
  readonly mempoolBytes = new Gauge({
    name: 'ol_mempool_bytes',
    help: 'bytes in the mempool',
    registers: [this.registry],
  });
  readonly txsRefusedBusy = new Counter({
    name: 'ol_txs_refused_busy_total',
    help: 'RPC transactions refused for backpressure (BUSY: the mempool would take too long to commit)',
    registers: [this.registry],
  });
  readonly validatorMissedBlocks = new Gauge({
    name: 'ol_validator_missed_blocks',
    help: 'commits each validator of the current set missed in the downtime window (jailed past downtimeMissedMax)',
    labelNames: ['validator'],
    registers: [this.registry],
  });
  readonly peers = new Gauge({ name: 'ol_peers', help: 'connected peers', registers: [this.registry] });
  readonly gossipRejected = new Counter({
    name: 'ol_gossip_rejected_total',
    help: 'gossip messages rejected as invalid',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly consensusMessagesRejected = new Counter({
    name: 'ol_consensus_messages_rejected_total',
    help: 'consensus messages rejected before reaching the core',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly jobQueue = new Gauge({
    name: 'ol_job_queue',
    help: 'attribution jobs waiting or running',
    registers: [this.registry],
  });
  readonly jobSeconds = new Histogram({
    name: 'ol_job_seconds',
    help: 'attribution job latency',
    labelNames: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly attributionMismatches = new Counter({
    name: 'ol_attribution_mismatches_total',
    help: 'proposals whose settle results differed from this node’s own',
    registers: [this.registry],
  });
  readonly syncedBlocks = new Counter({
    name: 'ol_synced_blocks_total',
    help: 'blocks applied through sync',
    registers: [this.registry],
  });
  readonly peerPenalties = new Counter({
    name: 'ol_peer_penalties_total',
    help: 'misbehaviour points charged to peers, by reason (node/README.md "Byzantine peers")',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly peersBanned = new Counter({
    name: 'ol_peers_banned_total',
    help: 'peers cut off for misbehaviour past p2p PENALTY_POINTS_MAX',
    registers: [this.registry],
  });

  private server: Server | undefined;

  async listen(host: string, port: number): Promise<number> {
    const server = createServer(async (req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end('GET /metrics\n');
        return;
      }
      try {
        const body = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
      } catch {
        res.writeHead(500).end();
      }
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
