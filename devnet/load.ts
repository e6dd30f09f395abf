import { DEFAULT_TOKENIZER } from '../attribution/tokenizer.js';
import { addressOf, formatAddress } from '../core/address.js';
import { parseOpen } from '../core/amount.js';
import { fromHex } from '../core/bytes.js';
import { receiptDelivery, signAck, signReceiptBody } from '../core/delivery.js';
import { generateKeyPair, type KeyPair } from '../core/keys.js';
import type { TxType } from '../core/tx.js';
import {
  buildRequest,
  busyRetryAfterMs,
  type OpenLedgerClient,
  RpcCallError,
  Wallet,
} from '../rpc/client.js';

/**
 * Load generation for devnets and chaos scenarios: transfers, contributions and inference
 * receipts at a target rate and mix, from N funded accounts spread over the nodes.
 *
 * Transactions are submitted in "sync" mode (admission) and their commits are observed by
 * scanning new blocks, so commit latency is measured without holding a request open per tx, and
 * each account keeps at most one submission in flight (its nonces stay sequential). A tx counts as
 * *acknowledged committed* once a node has served it inside a committed block; the chaos checker
 * later requires every such tx in every node's final chain.
 */

export const LOAD_KINDS = ['transfer', 'contribute', 'receipt'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];
export type LoadMix = Record<LoadKind, number>;

export const LOAD_ACCOUNTS_MAX = 10_000;
export const LOAD_RATE_MAX = 100_000;
/** Accounts that also act as inference providers (a model lists at most 16). */
export const LOAD_PROVIDERS_MAX = 4;
/** An account that saw a reject rests this long before its next submission. */
export const REJECT_COOLDOWN_MS = 2_000;

export interface LoadOptions {
  rate: number;
  mix: LoadMix;
  accounts: number;
  seed?: number;
}

export interface LoadReport {
  durationSec: number;
  targetRate: number;
  achievedRate: number;
  submitted: number;
  admitted: number;
  committed: number;
  pendingAtEnd: number;
  byKind: Record<string, { admitted: number; committed: number }>;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
  rejects: Record<string, number>;
}

/** "transfer=8,contribute=1,receipt=1" → weights; errors name the entry. */
export function parseMix(text: string): LoadMix {
  const mix: LoadMix = { transfer: 0, contribute: 0, receipt: 0 };
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (m === null) throw new Error(`--mix: expected kind=weight, got ${JSON.stringify(part)}`);
    if (!(LOAD_KINDS as readonly string[]).includes(m[1]))
      throw new Error(`--mix: unknown kind ${JSON.stringify(m[1])} (${LOAD_KINDS.join(', ')})`);
    mix[m[1] as LoadKind] = Number(m[2]);
  }
  if (LOAD_KINDS.every((k) => mix[k] === 0)) throw new Error('--mix: at least one weight must be positive');
  return mix;
}

/** A small deterministic PRNG (xorshift32) for the mix and the generated texts. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const WORDS = (
  'amber basil cedar delta ember fjord grove harbor iris juniper kelp lumen meadow nectar ' +
  'orchid pebble quartz river saffron tundra umber violet willow xenon yarrow zephyr anchor ' +
  'beacon canyon dune estuary falcon glacier heron island jasper kestrel lagoon marble'
).split(' ');

interface Account {
  name: string;
  key: KeyPair;
  wallet: Wallet;
  node: number;
  busy: boolean;
  requestNonce: number;
}

interface Pending {
  kind: LoadKind;
  sentAtMs: number;
}

type J = Record<string, unknown> & { events?: { type: string; attrs: Record<string, string> }[] };

export class LoadGenerator {
  private accounts: Account[] = [];
  private providers: Account[] = [];
  private readonly random: () => number;
  private datanet: Uint8Array | null = null;
  private model: Uint8Array | null = null;
  private seedText = '';
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private scanned = 0;
  private startedAtMs = 0;
  private stoppedAtMs = 0;
  private credit = 0;
  private lastTickMs = 0;
  readonly pending = new Map<string, Pending>();
  /** tx hash (0x hex) → height at which some node served it committed. */
  readonly committed = new Map<string, number>();
  private readonly latencies: number[] = [];
  private readonly rejects: Record<string, number> = {};
  private readonly byKind: Record<string, { admitted: number; committed: number }> = {};
  private submitted = 0;
  private admitted = 0;
  private nextNode = 0;

  constructor(
    private readonly clients: OpenLedgerClient[],
    private readonly chainId: string,
    readonly o: LoadOptions,
    /** Which nodes answer right now (chaos marks killed / paused ones down). */
    private readonly isUp: (node: number) => boolean = () => true,
  ) {
    this.random = prng(o.seed ?? 1);
    for (const k of LOAD_KINDS) this.byKind[k] = { admitted: 0, committed: 0 };
  }

  private client(i: number): OpenLedgerClient {
    return this.clients[i % this.clients.length];
  }

  private upNode(preferred: number): number {
    for (let k = 0; k < this.clients.length; k++) {
      const i = (preferred + k) % this.clients.length;
      if (this.isUp(i)) return i;
    }
    return preferred % this.clients.length;
  }

  /**
   * Funds fresh accounts from `faucet`, and when the mix has contributions or receipts, creates a
   * datanet (open curation) with one accepted seed text and a span model whose providers are the
   * first accounts.
   */
  async prepare(faucet: Wallet): Promise<void> {
    const amount = parseOpen('1000');
    const hashes: string[] = [];
    for (let i = 0; i < this.o.accounts; i++) {
      const key = generateKeyPair();
      const node = i % this.clients.length;
      const wallet = new Wallet(this.client(node), key, this.chainId);
      this.accounts.push({
        name: `load${i}`,
        key,
        wallet,
        node,
        busy: false,
        requestNonce: Date.now() * 16,
      });
      const r = await faucet.send('transfer', { to: addressOf(key.publicKey), amount });
      hashes.push(r.hash as string);
    }
    await faucet.client.waitForInclusion(hashes[hashes.length - 1], 120_000);
    this.providers = this.accounts.slice(0, Math.min(LOAD_PROVIDERS_MAX, this.accounts.length));
    if (this.o.mix.contribute === 0 && this.o.mix.receipt === 0) return;
    const owner = this.accounts[0].wallet;
    const created = await this.commit(owner, 'datanet.create', {
      name: 'load',
      description: 'load generator',
      license: 'public-domain',
      tags: ['load'],
      curation: 'open',
      curators: [],
      bond: 1000n,
      rejectForfeitBps: 0,
      contributionBytesMax: 4096,
      labels: [],
    });
    this.datanet = fromHex(eventAttr(created, 'datanet.created', 'datanet'));
    this.seedText = this.text(120);
    const contributed = await this.commit(owner, 'datanet.contribute', {
      datanet: this.datanet,
      content: this.seedText,
      label: '',
    });
    const cid = eventAttr(contributed, 'contribution.submitted', 'contribution');
    const deadline = Date.now() + 120_000;
    for (;;) {
      const c = (await owner.client.contribution(cid)) as unknown as { status: string };
      if (c.status === 'accepted') break;
      if (c.status !== 'checking') throw new Error(`load seed contribution ${c.status}`);
      if (Date.now() > deadline) throw new Error('load seed contribution not decided within 120 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    const registered = await this.commit(owner, 'model.register', {
      name: 'load-span',
      datanets: [{ datanet: this.datanet, version: 1 }],
      method: 'span',
      params: [
        { key: 'minSpan', value: '4' },
        { key: 'tokenizer', value: DEFAULT_TOKENIZER },
      ],
      pricePerRequest: 1000n,
      pricePerOutputToken: 10n,
      ownerShareBps: 1000,
      providers: this.providers.map((p) => addressOf(p.key.publicKey)),
      artifact: { baseModel: 'load', adapterHash: new Uint8Array(32) },
      training: null,
    });
    this.model = fromHex(eventAttr(registered, 'model.registered', 'model'));
    // Providers post receipts only with a bond (providerBondMin, 10 OPEN by default).
    const bonds = await Promise.all(
      this.providers.map((p) => p.wallet.send('provider.bond', { amount: parseOpen('10') })),
    );
    for (const b of bonds) {
      const tx = (await owner.client.waitForInclusion(b.hash as string, 120_000)) as unknown as {
        result: { code: string };
      };
      if (tx.result.code !== 'ok') throw new Error(`load setup: provider.bond failed with ${tx.result.code}`);
    }
  }

  private async commit(w: Wallet, type: TxType, body: unknown): Promise<J> {
    // biome-ignore lint/suspicious/noExplicitAny: body typed by the caller's literal
    const sent = await w.send(type, body as any);
    const tx = (await w.client.waitForInclusion(sent.hash as string, 120_000)) as unknown as J & {
      result: { code: string };
    };
    if (tx.result.code !== 'ok') throw new Error(`load setup: ${type} failed with ${tx.result.code}`);
    return tx;
  }

  private text(words: number): string {
    const out: string[] = [];
    for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(this.random() * WORDS.length)]);
    return out.join(' ');
  }

  private pickKind(): LoadKind {
    const { mix } = this.o;
    const total = mix.transfer + mix.contribute + mix.receipt;
    let r = this.random() * total;
    for (const k of LOAD_KINDS) {
      r -= mix[k];
      if (r < 0) return k;
    }
    return 'transfer';
  }

  start(): void {
    this.running = true;
    this.startedAtMs = Date.now();
    this.lastTickMs = this.startedAtMs;
    this.timer = setInterval(() => this.tick(), 20);
    this.scanTimer = setInterval(() => void this.scan(), 250);
    void this.initScan();
  }

  private async initScan(): Promise<void> {
    for (let i = 0; i < this.clients.length; i++) {
      try {
        this.scanned = (await this.client(this.upNode(i)).status()).height as number;
        return;
      } catch {
        // try the next node
      }
    }
  }

  private tick(): void {
    if (!this.running) return;
    const now = Date.now();
    this.credit += ((now - this.lastTickMs) * this.o.rate) / 1000;
    this.lastTickMs = now;
    // Never bank more than a second of credit (a stall must not turn into a burst).
    this.credit = Math.min(this.credit, Math.max(1, this.o.rate));
    let idle = this.accounts.filter((a) => !a.busy);
    while (this.credit >= 1 && idle.length > 0) {
      const kind = this.pickKind();
      const pool = kind === 'receipt' ? idle.filter((a) => this.providers.includes(a)) : idle;
      const from = pool.length > 0 ? pool[Math.floor(this.random() * pool.length)] : idle[0];
      const k = pool.length > 0 ? kind : 'transfer';
      this.credit -= 1;
      from.busy = true;
      idle = idle.filter((a) => a !== from);
      void this.submit(from, k).then((restMs) => {
        // After a reject the wallet re-reads its nonce from the node: give the account's pending
        // transactions a moment to commit first, or the next one would collide with them. A BUSY
        // refusal (backpressure) rests as long as the node's retry hint says.
        if (restMs === 0) from.busy = false;
        else setTimeout(() => (from.busy = false), restMs);
      });
    }
  }

  private body(kind: LoadKind, from: Account): { type: TxType; body: unknown } {
    if (kind === 'contribute' && this.datanet !== null) {
      return {
        type: 'datanet.contribute',
        body: { datanet: this.datanet, content: this.text(24), label: '' },
      };
    }
    if (kind === 'receipt' && this.model !== null) {
      const requester = this.accounts[Math.floor(this.random() * this.accounts.length)];
      const output = `${this.seedText.split(' ').slice(10, 30).join(' ')} ${this.text(6)}`;
      const request = buildRequest(requester.key, {
        chainId: this.chainId,
        model: this.model,
        modelVersion: 1,
        prompt: 'load',
        maxFee: 1_000_000n,
        nonce: requester.requestNonce++,
        expiryHeight: this.scanned + 10_000,
      });
      // The provider signs its delivery; the requester acknowledges it (settles in the next block).
      const unsigned = { request, input: '', output, retrieved: [], inputTokens: 1, outputTokens: 40 };
      const ack = signAck(receiptDelivery(unsigned), requester.key.secretKey);
      return { type: 'inference.receipt', body: signReceiptBody(unsigned, from.key.secretKey, ack) };
    }
    const to = this.accounts[Math.floor(this.random() * this.accounts.length)];
    return { type: 'transfer', body: { to: addressOf(to.key.publicKey), amount: 1n } };
  }

  /** Submits one tx; resolves to how long the account should rest before the next (0 = none). */
  private async submit(from: Account, kind: LoadKind): Promise<number> {
    const node = this.upNode(from.node);
    if (node !== from.node) {
      from.node = node;
      from.wallet = new Wallet(this.client(node), from.key, this.chainId);
    }
    const { type, body } = this.body(kind, from);
    this.submitted++;
    const sentAtMs = Date.now();
    try {
      // biome-ignore lint/suspicious/noExplicitAny: body built above for `type`
      const r = await from.wallet.send(type, body as any, { mode: 'sync', busyDeadlineMs: 0 });
      const hash = String(r.hash).toLowerCase();
      this.admitted++;
      this.byKind[kind].admitted++;
      if (!this.committed.has(hash)) this.pending.set(hash, { kind, sentAtMs });
      return 0;
    } catch (e) {
      const code = rejectCode(e);
      this.rejects[code] = (this.rejects[code] ?? 0) + 1;
      // An unreachable node: move this account to the next one.
      if (code === 'UNREACHABLE') from.node = (from.node + 1) % this.clients.length;
      return busyRetryAfterMs(e) ?? REJECT_COOLDOWN_MS;
    }
  }

  /** Observes commits: new blocks' tx hashes from any node that answers. */
  private scanning = false;
  private async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const node = this.upNode(this.nextNode++);
      const c = this.client(node);
      const tip = (await c.status()).height as number;
      for (let h = this.scanned + 1; h <= tip; h++) {
        const b = (await c.blockByHeight(h)) as unknown as { txs: string[] };
        const now = Date.now();
        for (const t of b.txs) {
          const hash = t.toLowerCase();
          this.committed.set(hash, h);
          const p = this.pending.get(hash);
          if (p !== undefined) {
            this.pending.delete(hash);
            this.latencies.push(now - p.sentAtMs);
            this.byKind[p.kind].committed++;
          }
        }
        this.scanned = h;
      }
    } catch {
      // node down or busy: the next scan asks another
    } finally {
      this.scanning = false;
    }
  }

  /** Stops sending; waits up to `drainMs` for pending txs to commit. */
  async stop(drainMs = 15_000): Promise<void> {
    this.running = false;
    this.stoppedAtMs = Date.now();
    if (this.timer) clearInterval(this.timer);
    const deadline = Date.now() + drainMs;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    if (this.scanTimer) clearInterval(this.scanTimer);
    while (this.scanning) await new Promise((r) => setTimeout(r, 50));
  }

  /** Hashes acknowledged committed by the generator's observations (tx hash → height). */
  acknowledgedCommitted(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [h, height] of this.committed) out.set(h, height);
    return out;
  }

  /** Hashes of every load account's address (for supply accounting). */
  addresses(): string[] {
    return this.accounts.map((a) => formatAddress(addressOf(a.key.publicKey)));
  }

  report(): LoadReport {
    const durationSec = ((this.stoppedAtMs || Date.now()) - this.startedAtMs) / 1000;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    const committed = LOAD_KINDS.reduce((s, k) => s + this.byKind[k].committed, 0);
    return {
      durationSec,
      targetRate: this.o.rate,
      achievedRate: durationSec > 0 ? Math.round((committed / durationSec) * 10) / 10 : 0,
      submitted: this.submitted,
      admitted: this.admitted,
      committed,
      pendingAtEnd: this.pending.size,
      byKind: this.byKind,
      latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: sorted.at(-1) ?? null },
      rejects: { ...this.rejects },
    };
  }
}

function eventAttr(tx: J, type: string, attr: string): string {
  const e = tx.events?.find((x) => x.type === type);
  if (e === undefined) throw new Error(`no ${type} event`);
  return e.attrs[attr];
}

function rejectCode(e: unknown): string {
  if (e instanceof RpcCallError) {
    if (e.rpcCode === -1) return 'UNREACHABLE';
    const data = e.data as { code?: string } | undefined;
    return data?.code ?? `RPC_${e.rpcCode}`;
  }
  return (e as { code?: string }).code ?? 'ERROR';
}
