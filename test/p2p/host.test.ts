import { connect } from 'node:net';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameError, FrameReader } from '../../p2p/frame.js';
import { P2pError, P2pHost, type Verdict } from '../../p2p/host.js';
import { PEER_BAN_MS, PENALTY_DECAY_PER_SEC, PENALTY_POINTS_MAX, PeerScores } from '../../p2p/peerScore.js';
import { RateLimiter } from '../../p2p/rateLimit.js';

const quiet = { info() {}, warn() {}, debug() {} };

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('frame', () => {
  it('reassembles a frame from any chunking', () => {
    const payload = new Uint8Array(1000).map((_, i) => i % 251);
    const framed = encodeFrame(payload);
    for (const size of [1, 3, 4, 5, 999, framed.length]) {
      const r = new FrameReader(2000);
      let out: Uint8Array | undefined;
      for (let i = 0; i < framed.length; i += size) out = r.push(framed.subarray(i, i + size));
      expect(out).toEqual(payload);
    }
  });

  it('refuses a declared length above the limit before buffering it', () => {
    const r = new FrameReader(100);
    const head = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    expect(() => r.push(head)).toThrow(FrameError);
  });

  it('accepts exactly the limit and refuses one more', () => {
    expect(new FrameReader(10).push(encodeFrame(new Uint8Array(10)))).toHaveLength(10);
    expect(() => new FrameReader(10).push(encodeFrame(new Uint8Array(11)))).toThrow(/FRAME|limit/);
  });

  it('refuses bytes after the frame', () => {
    const framed = encodeFrame(new Uint8Array(3));
    const r = new FrameReader(10);
    expect(() => r.push(new Uint8Array([...framed, 1]))).toThrow(FrameError);
  });
});

describe('rate limiter', () => {
  it('allows the burst, then the refill rate', () => {
    let now = 0;
    const rl = new RateLimiter(10, 20, () => now);
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (rl.take('p')) allowed++;
    expect(allowed).toBe(20);
    now += 1000;
    allowed = 0;
    for (let i = 0; i < 100; i++) if (rl.take('p')) allowed++;
    expect(allowed).toBe(10);
    expect(rl.take('q')).toBe(true);
  });

  it('counts bytes as cost: a peer at its byte budget is refused one byte more', () => {
    let now = 0;
    const bytes = new RateLimiter(1000, 4000, () => now);
    expect(bytes.take('p', 4000)).toBe(true);
    expect(bytes.take('p', 1)).toBe(false);
    now += 500;
    expect(bytes.take('p', 500)).toBe(true);
    expect(bytes.take('p', 1)).toBe(false);
  });

  it('past its peer limit forgets the least recently seen peer, never everyone (issue 18)', () => {
    const now = 0;
    const rl = new RateLimiter(1, 2, () => now, 3);
    for (const p of ['a', 'b', 'c']) {
      rl.take(p);
      rl.take(p);
      expect(rl.take(p)).toBe(false); // each spent its burst
    }
    rl.take('a'); // 'a' seen again: now 'b' is the least recent
    // Before: the 4th peer cleared every bucket, so 'a' and 'c' got a fresh burst.
    expect(rl.take('d')).toBe(true);
    expect(rl.size).toBe(3);
    expect(rl.take('a')).toBe(false);
    expect(rl.take('c')).toBe(false);
    expect(rl.take('b')).toBe(true); // forgotten, so new again ('d' is the one forgotten now)
  });
});

describe('peer scores', () => {
  it('bans at PENALTY_POINTS_MAX, forgives PENALTY_DECAY_PER_SEC, and lifts the ban after PEER_BAN_MS', () => {
    let now = 0;
    const s = new PeerScores(() => now);
    expect(s.charge('p', PENALTY_POINTS_MAX - 1)).toBe(false);
    expect(s.isBanned('p')).toBe(false);
    now += 1000; // decays by PENALTY_DECAY_PER_SEC
    expect(s.score('p')).toBe(PENALTY_POINTS_MAX - 1 - PENALTY_DECAY_PER_SEC);
    expect(s.charge('p', PENALTY_DECAY_PER_SEC)).toBe(false); // one below the limit again
    expect(s.charge('p', 1)).toBe(true);
    expect(s.isBanned('p')).toBe(true);
    expect(s.banned()).toEqual(['p']);
    now += PEER_BAN_MS;
    expect(s.isBanned('p')).toBe(false);
  });
});

describe('p2p host on loopback', () => {
  const hosts: P2pHost[] = [];
  const received: Record<string, Uint8Array[]> = { a: [], b: [], c: [] };

  beforeAll(async () => {
    const mk = async (bootstrap: string[]) =>
      P2pHost.start(
        {
          chainId: 'p2p-test',
          privateKey: await generateKeyPair('Ed25519'),
          listen: ['/ip4/127.0.0.1/tcp/0'],
          bootstrap,
          bootstrapRedialMs: 200,
          limits: { gossipBytesMax: 4096, responseBytesMax: 1 << 20 },
        },
        quiet,
      );
    const b = await mk([]);
    const bAddr = `${b.multiaddrs()[0]}`;
    const a = await mk([bAddr]);
    const c = await mk([bAddr]);
    hosts.push(a, b, c);
    const names = ['a', 'b', 'c'];
    hosts.forEach((h, i) => {
      h.subscribe('tx', (data): Verdict => {
        if (data[0] === 0) return 'reject';
        if (data[0] === 1) return 'ignore';
        received[names[i]].push(data);
        return 'accept';
      });
    });
    await b.handle('status', async (req) => new Uint8Array([...req].reverse()));
    await b.handle('blocks', async () => new Uint8Array(2 << 20));
    await waitFor(() => a.peers().length >= 1 && c.peers().length >= 1, 'bootstrap connections');
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });

  it('gossips accepted messages across the mesh and drops rejected ones', async () => {
    const [a] = hosts;
    // Subscriptions propagate asynchronously, and gossipsub remembers what it has published,
    // so publish once the mesh is there.
    await waitFor(
      () => a.topicPeers('tx').length > 0 && hosts[2].topicPeers('tx').length > 0,
      'subscriptions',
    );
    const good = new Uint8Array([7, 7, 7]);
    await a.publish('tx', good);
    await waitFor(() => received.c.length > 0, 'gossip to reach c through b');
    expect(received.b[0]).toEqual(good);
    expect(received.c[0]).toEqual(good);
    await a.publish('tx', new Uint8Array([0, 1]));
    await new Promise((r) => setTimeout(r, 500));
    expect(received.b.some((d) => d[0] === 0)).toBe(false);
    expect(hosts[1].stats.gossipRejected).toBeGreaterThan(0);
  });

  it('refuses to publish oversize messages', async () => {
    await expect(hosts[0].publish('tx', new Uint8Array(5000))).rejects.toThrow(P2pError);
  });

  it('serves request/response and enforces the response limit', async () => {
    const [a, b] = hosts;
    const res = await a.request(b.peerId, 'status', new Uint8Array([1, 2, 3]));
    expect(res).toEqual(new Uint8Array([3, 2, 1]));
    await expect(a.request(b.peerId, 'blocks', new Uint8Array([1]))).rejects.toThrow(/limit|FRAME|failed/);
  });

  it('survives garbage on its TCP port', async () => {
    const b = hosts[1];
    const m = /\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(b.multiaddrs()[0])!;
    await new Promise<void>((resolve) => {
      const sock = connect(Number(m[2]), m[1], () => {
        sock.write(Buffer.alloc(64 * 1024, 0x5a));
        setTimeout(() => sock.destroy(), 300);
      });
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
    });
    const res = await hosts[0].request(b.peerId, 'status', new Uint8Array([9]));
    expect(res).toEqual(new Uint8Array([9]));
  });

  it('blocks and unblocks a peer through the connection gater', async () => {
    const [a, b] = hosts;
    await b.blockPeer(a.peerId);
    await waitFor(() => !a.peers().includes(b.peerId), 'disconnect');
    await expect(a.request(b.peerId, 'status', new Uint8Array([1]), 2000)).rejects.toThrow(P2pError);
    b.unblockPeer(a.peerId);
    await waitFor(() => a.peers().includes(b.peerId), 'reconnect through bootstrap redial');
  });
});
