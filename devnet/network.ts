import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenLedgerClient, Wallet } from '../rpc/client.js';
import { freePorts } from './ports.js';
import { NodeProcess, stopAll } from './processes.js';
import { type DevnetLayout, LAYOUT_FILE, setupDevnet } from './setup.js';

/**
 * A local network of real node processes on 127.0.0.1, for tests, the devnet command and chaos
 * scenarios: set up homes and genesis, start processes, talk to them over JSON-RPC, wait for
 * conditions, and tear everything down (processes first, then the temporary directory).
 */

export interface NetworkOptions {
  validators: number;
  followers?: number;
  blockTimeMs?: number;
  chainId?: string;
  /** Keep data here (not removed on close); default a fresh temporary directory. */
  dir?: string;
  nodeConfig?: Record<string, unknown>;
  /** Extra environment per node index (e.g. test-only faults). */
  env?: Record<number, Record<string, string>>;
  accounts?: Record<string, string>;
  genesisParams?: Record<string, string>;
  /** Serve the explorer from node 0 (default false: most tests do not need it; `npm run devnet` does). */
  explorer?: boolean;
}

export class LocalNetwork {
  readonly procs: NodeProcess[];
  readonly clients: OpenLedgerClient[];

  private constructor(
    readonly layout: DevnetLayout,
    private readonly ownsDir: boolean,
    env: Record<number, Record<string, string>>,
  ) {
    this.procs = layout.nodes.map((n) => new NodeProcess(n, env[n.index] ?? {}));
    this.clients = layout.nodes.map((n) => new OpenLedgerClient(n.rpcUrl, 10_000));
  }

  static async create(o: NetworkOptions): Promise<LocalNetwork> {
    const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'ol-net-')));
    const total = o.validators + (o.followers ?? 0);
    const ports = await freePorts(total * 3 + 1);
    const explorer = o.explorer ?? false;
    const layout = await setupDevnet({
      dir,
      chainId: o.chainId ?? 'ol-local',
      validators: o.validators,
      followers: o.followers,
      blockTimeMs: o.blockTimeMs ?? 500,
      ports: Array.from({ length: total }, (_, i) => ({
        p2p: ports[i * 3],
        rpc: ports[i * 3 + 1],
        metrics: ports[i * 3 + 2],
        ...(explorer && i === 0 ? { explorer: ports[total * 3] } : {}),
      })),
      nodeConfig: o.nodeConfig,
      accounts: o.accounts,
      genesisParams: o.genesisParams,
    });
    return new LocalNetwork(layout, o.dir === undefined, o.env ?? {});
  }

  /** A network set up earlier in `dir` (its `devnet.json`), e.g. a chain kept for re-runs; the directory is not removed on close. */
  static async open(dir: string, env: Record<number, Record<string, string>> = {}): Promise<LocalNetwork> {
    const layout = JSON.parse(await readFile(join(dir, LAYOUT_FILE), 'utf8')) as DevnetLayout;
    return new LocalNetwork(layout, false, env);
  }

  get chainId(): string {
    return this.layout.chainId;
  }

  start(indexes: readonly number[] = this.procs.map((_, i) => i)): void {
    for (const i of indexes) this.procs[i].start();
  }

  wallet(name: string, node = 0): Wallet {
    const a = this.layout.accounts[name];
    return Wallet.fromSecretHex(this.clients[node], a.secretKey, a.publicKey, this.chainId);
  }

  /** Heights reported by each node (null when it does not answer). */
  async heights(indexes: readonly number[] = this.procs.map((_, i) => i)): Promise<(number | null)[]> {
    return Promise.all(
      indexes.map((i) =>
        this.clients[i].status().then(
          (s) => s.height as number,
          () => null,
        ),
      ),
    );
  }

  async waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    timeoutMs = 60_000,
    pollMs = 250,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined && v !== false) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Waits until every listed node has committed at least `height`. */
  async waitForHeight(
    height: number,
    indexes: readonly number[] = this.procs.map((_, i) => i),
    timeoutMs = 60_000,
  ): Promise<void> {
    await this.waitFor(
      `height ${height} on nodes ${indexes.join(',')}`,
      async () => (await this.heights(indexes)).every((h) => h !== null && h >= height),
      timeoutMs,
    );
  }

  /** Block hashes and state roots of heights 1..upTo as seen by `node`. */
  async chainView(node: number, upTo: number): Promise<{ hash: string; stateRoot: string }[]> {
    const out: { hash: string; stateRoot: string }[] = [];
    for (let h = 1; h <= upTo; h++) {
      const b = await this.clients[node].blockByHeight(h);
      out.push({ hash: b.hash, stateRoot: b.header.stateRoot });
    }
    return out;
  }

  async close(): Promise<void> {
    await stopAll(this.procs);
    if (this.ownsDir) await rm(this.layout.dir, { recursive: true, force: true });
  }
}
