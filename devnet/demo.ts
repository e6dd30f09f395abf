import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_TOKENIZER } from '../attribution/tokenizer.js';
import { formatAddress } from '../core/address.js';
import { formatOpen, parseOpen } from '../core/amount.js';
import { fromHex } from '../core/bytes.js';
import type { TxBody } from '../core/tx.js';
import { type OpenLedgerClient, Wallet } from '../rpc/client.js';
import { ChainPayer } from '../rpc/openaiPay.js';
import { TREASURY_ADDRESS, VALIDATORS_POOL_ADDRESS } from '../vm/context.js';
import { type DashboardState, renderDashboard } from './dashboard.js';
import { DEMO_PROMPTS, DEMO_SPEAKERS, type DemoData, demoData } from './demoData.js';
import { CLI_ENTRY, REPO_ROOT } from './processes.js';
import type { DevnetLayout } from './setup.js';

/**
 * The live demo: seeds two Datanets from Shakespeare (several contributors; one tries to
 * re-upload someone else's text and is rejected as a near-duplicate), registers a span model and
 * a chain-trained influence model on them, starts the reference model server (`openledger
 * model-server`, OpenAI API) and the gateway in front of it (`openledger provider --upstream`),
 * separate processes, streams paid OpenAI calls to it (rpc/openaiPay.ts `ChainPayer`), and redraws a dashboard every
 * second: height, tx/s, receipts, settlements, and who earned what.
 */

export const DEMO_CONTRIBUTORS = ['alice', 'bob', 'carol'] as const;
export const DEMO_COPIER = 'dave';
export const DEMO_REQUESTERS = ['requester1', 'requester2', 'requester3'] as const;
/** Accounts the devnet funds for the demo: name → OPEN. */
export const DEMO_ACCOUNTS: Record<string, string> = {
  owner: '100000',
  alice: '1000',
  bob: '1000',
  carol: '1000',
  dave: '1000',
  provider: '1000',
  requester1: '100000',
  requester2: '100000',
  requester3: '100000',
};
export const DEMO_REQUEST_INTERVAL_MS = 400;

/**
 * The demo's span model over one datanet version, served by `provider`: the n-gram model the
 * provider server runs, attributed by span matching (also what the end-to-end tests register).
 */
export function spanModelBody(
  name: string,
  datanet: Uint8Array,
  version: number,
  provider: Uint8Array,
): TxBody<'model.register'> {
  return {
    name,
    datanets: [{ datanet, version }],
    method: 'span',
    params: [
      { key: 'minSpan', value: '6' },
      { key: 'tokenizer', value: DEFAULT_TOKENIZER },
    ],
    pricePerRequest: parseOpen('0.01'),
    pricePerOutputToken: parseOpen('0.001'),
    ownerShareBps: 1000,
    providers: [provider],
    artifact: { baseModel: 'ngram-demo', adapterHash: new Uint8Array(32) },
    training: null,
  };
}
const CORPUS_PATH = join(REPO_ROOT, 'devnet', 'data', 'tinyshakespeare.txt');

// biome-ignore lint/suspicious/noExplicitAny: JSON results of the RPC, read field by field
type J = Record<string, any>;

export interface DemoOptions {
  layout: DevnetLayout;
  clients: OpenLedgerClient[];
  providerPort: number;
  /** When the devnet was started (for "time to first payout"). */
  startedAtMs: number;
  firstBlockAtMs: number;
  out: NodeJS.WriteStream;
  log: (line: string) => void;
}

export class Demo {
  private stopped = false;
  private provider: { child: ChildProcess; exit: Promise<void> } | null = null;
  private modelServer: { child: ChildProcess; exit: Promise<void> } | null = null;
  private readonly payers = new Map<string, ChainPayer>();
  private readonly failureKinds = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private readonly state: DashboardState;
  private readonly names = new Map<string, string>();
  private data!: DemoData;
  private spanModel = '';
  private influenceModel = '';
  private requestSeq = 0;
  private readonly requestBase = Date.now() * 16;
  private scannedHeight = 0;
  private readonly blockTx: { height: number; txs: number; atMs: number }[] = [];
  onProviderExit: ((code: number | null) => void) | null = null;

  constructor(private readonly o: DemoOptions) {
    for (const [name, a] of Object.entries(o.layout.accounts)) this.names.set(a.address, name);
    for (const n of o.layout.nodes) this.names.set(n.address, n.name);
    this.names.set(formatAddress(TREASURY_ADDRESS), 'treasury');
    this.names.set(formatAddress(VALIDATORS_POOL_ADDRESS), 'validators');
    this.state = {
      chainId: o.layout.chainId,
      height: 0,
      txPerSec: 0,
      receipts: 0,
      settlements: 0,
      requestsSent: 0,
      requestErrors: 0,
      firstBlockSec: (o.firstBlockAtMs - o.startedAtMs) / 1000,
      firstPayoutSec: null,
      phase: 'starting',
      earners: [],
      lastAnswer: null,
      nodes: o.layout.nodes.map((n) => ({ name: n.name, rpc: n.rpcUrl, height: null })),
      notes: [],
    };
  }

  private wallet(name: string, node = 0): Wallet {
    const a = this.o.layout.accounts[name];
    const client = this.o.clients[node % this.o.clients.length];
    return Wallet.fromSecretHex(client, a.secretKey, a.publicKey, this.o.layout.chainId);
  }

  private note(line: string): void {
    this.state.notes.push(line);
    if (this.state.notes.length > 8) this.state.notes.shift();
    this.o.log(line);
  }

  private get c(): OpenLedgerClient {
    return this.o.clients[0];
  }

  /** Starts the provider, seeds the chain, then streams requests; returns once seeding is done. */
  async run(): Promise<void> {
    this.startProvider();
    this.timers.push(setInterval(() => void this.tick(), 1000));
    this.data = demoData(await readFile(CORPUS_PATH, 'utf8'), DEMO_CONTRIBUTORS, DEMO_COPIER);
    await this.seed();
    if (this.stopped) return;
    this.state.phase = 'streaming inference requests';
    this.timers.push(setInterval(() => void this.sendRequest(), DEMO_REQUEST_INTERVAL_MS));
  }

  private async seed(): Promise<void> {
    const owner = this.wallet('owner');
    this.state.phase = 'creating datanets';
    const datanetBody = (name: string, description: string, labels: string[]) => ({
      name,
      description,
      license: 'public-domain',
      tags: ['shakespeare'],
      curation: 'open' as const,
      curators: [],
      bond: parseOpen('0.1'),
      rejectForfeitBps: 5000,
      contributionBytesMax: 65536,
      labels,
    });
    const [s1, s2] = [
      await owner.send('datanet.create', datanetBody('shakespeare', 'plays, free text', [])),
      await owner.send(
        'datanet.create',
        datanetBody('who-speaks', 'speeches labeled by speaker', [...DEMO_SPEAKERS]),
      ),
    ];
    const created = await Promise.all([s1, s2].map((s) => this.c.waitForInclusion(s.hash, 60_000)));
    const [textNet, labelNet] = created.map((t) => eventAttr(t, 'datanet.created', 'datanet'));
    this.note(`datanets: shakespeare ${short(textNet)}, who-speaks ${short(labelNet)}`);

    this.state.phase = 'contributors uploading';
    const pending: string[] = [];
    for (const [i, name] of DEMO_CONTRIBUTORS.entries()) {
      const w = this.wallet(name, i + 1);
      const r = await w.send('datanet.contribute', {
        datanet: fromHex(textNet),
        content: this.data.chunks[name],
        label: '',
      });
      pending.push(r.hash);
      for (const l of this.data.labeled.filter((x) => x.contributor === name)) {
        const q = await w.send('datanet.contribute', {
          datanet: fromHex(labelNet),
          content: l.text,
          label: l.speaker,
        });
        pending.push(q.hash);
      }
    }
    const txs = await Promise.all(pending.map((h) => this.c.waitForInclusion(h, 60_000)));
    const ids = txs.map((t) => eventAttr(t, 'contribution.submitted', 'contribution'));
    this.note(
      `${ids.length} contributions submitted by ${DEMO_CONTRIBUTORS.join(', ')}; near-duplicate checks running`,
    );
    // Two cheap queries per poll (no contribution of either datanet still being checked), not one
    // per contribution: the nodes are busy enough.
    await this.until('contributions decided', async () => {
      const checking = await Promise.all(
        [textNet, labelNet].map((datanet) => this.c.contributions({ datanet, status: 'checking', limit: 1 })),
      );
      return checking.every((page) => (page.items as unknown[]).length === 0);
    });
    const textVersion = (await this.c.datanet(textNet)).version as number;
    const labelVersion = (await this.c.datanet(labelNet)).version as number;
    this.note(`accepted: shakespeare v${textVersion}, who-speaks v${labelVersion}`);

    this.state.phase = "registering models; dave re-uploads alice's text";
    const provider = fromHex(this.o.layout.accounts.provider.address);
    const copyTx = await this.wallet(DEMO_COPIER, 1).send('datanet.contribute', {
      datanet: fromHex(textNet),
      content: this.data.copy.text,
      label: '',
    });
    const span = await owner.send(
      'model.register',
      spanModelBody('bard-ngram', fromHex(textNet), textVersion, provider),
    );
    const influence = await owner.send('model.register', {
      name: 'who-speaks-lr',
      datanets: [{ datanet: fromHex(labelNet), version: labelVersion }],
      method: 'influence',
      params: [],
      pricePerRequest: parseOpen('0.02'),
      pricePerOutputToken: 0n,
      ownerShareBps: 1000,
      providers: [provider],
      artifact: null,
      training: [
        { key: 'epochs', value: '5' },
        { key: 'features', value: '4096' },
        { key: 'ngram', value: '2' },
        { key: 'seed', value: 'devnet' },
        { key: 'tokenizer', value: DEFAULT_TOKENIZER },
      ],
    });
    const [spanTx, inflTx, copy] = await Promise.all(
      [span, influence, copyTx].map((s) => this.c.waitForInclusion(s.hash, 60_000)),
    );
    this.spanModel = eventAttr(spanTx, 'model.registered', 'model');
    this.influenceModel = eventAttr(inflTx, 'model.registered', 'model');
    this.note(
      `models: bard-ngram (span) ${short(this.spanModel)}, who-speaks-lr (influence) ${short(this.influenceModel)}`,
    );
    const copyId = eventAttr(copy, 'contribution.submitted', 'contribution');
    void this.until('copy decided', async () => {
      const c = await this.c.contribution(copyId);
      if (c.status === 'checking') return false;
      this.note(
        `dave's re-upload of alice's text: ${c.status}${c.note ? ` (${c.note})` : ''}, covered ${c.coveredBps / 100}%`,
      );
      return true;
    }).catch(() => {});
  }

  private async until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stopped) {
      try {
        if (await probe()) return;
      } catch {
        // node busy or restarting: try again
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Starts the reference model server (`openledger model-server`, the built-in models behind
   * the OpenAI API) and, in front of it, the gateway (`openledger provider --upstream`): the
   * same two processes a real deployment runs with llama.cpp / vLLM in place of the first.
   */
  private startProvider(): void {
    const keyFile = join(this.o.layout.dir, 'provider-key.json');
    const a = this.o.layout.accounts.provider;
    const rpc = this.o.layout.nodes[0].rpcUrl;
    void writeFile(keyFile, JSON.stringify({ secretKey: a.secretKey, publicKey: a.publicKey }), {
      mode: 0o600,
    }).then(() => {
      if (this.stopped) return;
      this.modelServer = this.spawnChild('model-server.log', [
        'model-server',
        '--rpc',
        rpc,
        '--port',
        String(this.modelServerPort),
        '--provider',
        a.address,
      ]);
      this.provider = this.spawnChild('provider.log', [
        'provider',
        '--rpc',
        rpc,
        '--key',
        keyFile,
        '--port',
        String(this.o.providerPort),
        '--upstream',
        `http://127.0.0.1:${this.modelServerPort}/v1`,
      ]);
    });
  }

  /** The model server listens next to the gateway. */
  get modelServerPort(): number {
    return this.o.providerPort + 1;
  }

  private spawnChild(logName: string, args: string[]): { child: ChildProcess; exit: Promise<void> } {
    const fd = openSync(join(this.o.layout.dir, logName), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', fd, fd],
      env: process.env,
    });
    closeSync(fd);
    const exit = new Promise<void>((resolve) =>
      child.once('exit', (code) => {
        if (!this.stopped) this.onProviderExit?.(code);
        resolve();
      }),
    );
    return { child, exit };
  }

  get providerPid(): number | undefined {
    return this.provider?.child.pid;
  }

  get providerUrl(): string {
    return `http://127.0.0.1:${this.o.providerPort}/`;
  }

  private async sendRequest(): Promise<void> {
    if (this.stopped || this.spanModel === '') return;
    const k = this.requestSeq++;
    const requester = DEMO_REQUESTERS[k % DEMO_REQUESTERS.length];
    const influence = k % 3 === 2;
    const prompt = influence
      ? this.data.heldOut[k % this.data.heldOut.length].text
      : `${DEMO_PROMPTS[k % DEMO_PROMPTS.length]} #${k}`;
    const a = this.o.layout.accounts[requester];
    try {
      let payer = this.payers.get(requester);
      if (payer === undefined) {
        payer = new ChainPayer({
          client: this.o.clients[0],
          key: { secretKey: fromHex(a.secretKey, 32), publicKey: fromHex(a.publicKey, 32) },
          chainId: this.o.layout.chainId,
          maxFee: parseOpen('1'),
          expiryBlocks: 200,
          nonceStart: this.requestBase,
        });
        this.payers.set(requester, payer);
      }
      const model = influence ? this.influenceModel : this.spanModel;
      // The classifier answers a completions prompt; the generator is chatted with.
      const res = await payer.fetch(
        `${this.providerUrl}v1/${influence ? 'completions' : 'chat/completions'}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(
            influence
              ? { model, prompt, max_tokens: 8 }
              : { model, messages: [{ role: 'user', content: prompt }], max_tokens: 60 },
          ),
          signal: AbortSignal.timeout(20_000),
        },
      );
      const j = (await res.json()) as J;
      if (!res.ok) throw new Error(`${j.error?.code}: ${j.error?.message}`);
      this.state.requestsSent++;
      this.pendingAnswers.set(j.openledger.receipt, {
        model: influence ? 'who-speaks-lr' : 'bard-ngram',
        prompt,
        output: influence ? j.choices[0].text : j.choices[0].message.content,
        requester,
      });
    } catch (e) {
      this.state.requestErrors++;
      const msg = (e as Error).message;
      // Each kind of failure once (models still loading, gateway starting, …).
      const kind = msg.split(':')[0];
      if (!this.failureKinds.has(kind)) {
        this.failureKinds.add(kind);
        this.note(`request failed: ${msg}`);
      }
    }
  }

  private readonly pendingAnswers = new Map<
    string,
    { model: string; prompt: string; output: string; requester: string }
  >();

  /** Once a second: scan new blocks and events, refresh earners, redraw. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const heights = await Promise.all(
        this.o.clients.map((c) =>
          c.status().then(
            (s) => s.height as number,
            () => null,
          ),
        ),
      );
      for (const [i, n] of this.state.nodes.entries()) n.height = heights[i];
      const tip = Math.max(0, ...heights.filter((h): h is number => h !== null));
      const src = this.o.clients[heights.indexOf(tip)] ?? this.c;
      const from = this.scannedHeight + 1;
      const to = Math.min(tip, from + 200);
      if (to >= from) {
        for (let h = from; h <= to; h++) {
          const b = await src.blockByHeight(h);
          this.blockTx.push({ height: h, txs: b.txCount as number, atMs: b.header.timeMs as number });
        }
        const events = await src.events({ fromHeight: from, toHeight: to });
        for (const e of events) {
          if (e.type === 'inference.receipt') this.state.receipts++;
          if (e.type === 'job.settled' && e.attrs.kind === 'attribution') this.state.settlements++;
          if (e.type === 'payout' && this.state.firstPayoutSec === null)
            this.state.firstPayoutSec = (Date.now() - this.o.startedAtMs) / 1000;
        }
        const settled = events.filter((e) => e.type === 'payout').map((e) => e.attrs.receipt as string);
        const last = settled.at(-1);
        if (last !== undefined) await this.showAnswer(src, last);
        this.scannedHeight = to;
        this.state.height = tip;
        while (this.blockTx.length > 0 && this.blockTx[0].height < tip - 20) this.blockTx.shift();
        const first = this.blockTx[0];
        const lastB = this.blockTx.at(-1)!;
        const spanMs = lastB.atMs - first.atMs;
        const txs = this.blockTx.slice(1).reduce((s, b) => s + b.txs, 0);
        this.state.txPerSec = spanMs > 0 ? (txs * 1000) / spanMs : 0;
      }
      const people = [...DEMO_CONTRIBUTORS, DEMO_COPIER, 'owner'];
      this.state.earners = (
        await Promise.all(
          people.map(async (name) => {
            const addr = this.o.layout.accounts[name].address;
            const [earn, acct] = await Promise.all([src.earnings(addr), src.account(addr)]);
            return {
              name,
              address: addr,
              earned: BigInt(earn.total ?? '0'),
              payouts: Number(earn.payouts ?? 0),
              balance: BigInt(acct.balance),
            };
          }),
        )
      ).sort((x, y) => (y.earned > x.earned ? 1 : y.earned < x.earned ? -1 : x.name < y.name ? -1 : 1));
    } catch (e) {
      this.state.notes.push(`dashboard: ${(e as Error).message}`);
      if (this.state.notes.length > 8) this.state.notes.shift();
    }
    this.draw();
  }

  private async showAnswer(src: OpenLedgerClient, receipt: string): Promise<void> {
    const rec = await src.attribution(receipt);
    const asked = this.pendingAnswers.get(receipt);
    this.state.lastAnswer = {
      receipt,
      model: asked?.model ?? '?',
      output: asked?.output ?? '',
      fee: BigInt(rec.fee),
      payouts: (rec.payouts as J[]).map((p) => ({
        to: this.names.get(p.address) ?? short(p.address),
        amount: BigInt(p.amount),
      })),
    };
    for (const k of [...this.pendingAnswers.keys()].slice(0, Math.max(0, this.pendingAnswers.size - 200)))
      this.pendingAnswers.delete(k);
  }

  private lastPlainMs = 0;

  private draw(): void {
    const out = this.o.out;
    const text = renderDashboard(this.state, { formatAmount: formatOpen });
    if (out.isTTY) {
      out.write(`\x1b[H\x1b[2J${text}\n`);
      return;
    }
    // Not a terminal (a log file, CI): a compact line every 5 s instead of redraws.
    if (Date.now() - this.lastPlainMs < 5_000) return;
    this.lastPlainMs = Date.now();
    const lines = text.split('\n');
    const top = this.state.earners
      .slice(0, 3)
      .map((e) => `${e.name} ${formatOpen(e.earned)}`)
      .join(', ');
    out.write(`${lines.slice(0, 3).join(' | ')} | top: ${top}\n`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const p of [this.provider, this.modelServer]) {
      if (p === null || p.child.exitCode !== null) continue;
      p.child.kill('SIGTERM');
      const t = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
      await p.exit;
      clearTimeout(t);
    }
  }

  get stats(): DashboardState {
    return this.state;
  }
}

/** An attribute of the first event of `type` in a committed transaction (RPC JSON). */
function eventAttr(tx: unknown, type: string, attr: string): string {
  const e = ((tx as J).events as J[] | undefined)?.find((x) => x.type === type);
  if (e === undefined) throw new Error(`the transaction has no ${type} event`);
  return String(e.attrs[attr]);
}

function short(hex: string): string {
  return `${hex.slice(0, 10)}…`;
}
