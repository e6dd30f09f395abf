import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import { DEFAULT_TOKENIZER } from '../attribution/tokenizer.js';
import { formatAddress } from '../core/address.js';
import { formatOpen, parseOpen } from '../core/amount.js';
import { fromHex } from '../core/bytes.js';
import type { TxBody } from '../core/tx.js';
import { type OpenLedgerClient, Wallet } from '../rpc/client.js';
import { TREASURY_ADDRESS, VALIDATORS_POOL_ADDRESS } from '../vm/context.js';
import { type DashboardState, renderDashboard } from './dashboard.js';
import { DEMO_PROMPTS, DEMO_SPEAKERS, type DemoData, demoData } from './demoData.js';
import { CLI_ENTRY, CLI_EXEC_ARGV, REPO_ROOT } from './processes.js';
import { ChainPayer } from './provider/openaiPay.js';
import type { DevnetLayout } from './setup.js';

/**
 * The live demo: seeds two Datanets from Shakespeare (several contributors; one tries to
 * re-upload someone else's text and is rejected as a near-duplicate), registers a span model and
 * a chain-trained influence model on them, and serves them exactly as a real deployment would:
 * the reference model server (`openledger model-server`, the built-in models behind the OpenAI
 * API, like llama.cpp's server or vLLM) and in front of it the gateway (`openledger provider
 * --upstream …`), two separate processes. Requesters call the gateway with the official `openai`
 * SDK paying through the chain (`ChainPayer`: signs each request, checks the provider's signed
 * delivery, acknowledges it so the receipt settles in the next block). A dashboard is redrawn
 * every second: height, tx/s, receipts, settlements, and who earned what.
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
/** Tokens a demo span answer may have (the n-gram model's words, metered by the pinned tokenizer). */
export const DEMO_MAX_TOKENS = 60;

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
  /** The gateway's port (`openledger provider --upstream`): what requesters call. */
  gatewayPort: number;
  /** The reference model server's port (`openledger model-server`): the gateway's upstream. */
  modelServerPort: number;
  /** When the devnet was started (for "time to first payout"). */
  startedAtMs: number;
  firstBlockAtMs: number;
  out: NodeJS.WriteStream;
  log: (line: string) => void;
}

export class Demo {
  private stopped = false;
  private readonly children = new Map<'gateway' | 'model-server', ChildProcess>();
  private readonly exits: Promise<void>[] = [];
  private readonly payers = new Map<string, { payer: ChainPayer; openai: OpenAI }>();
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
  /** Called when the gateway or the model server exits while the demo runs (name, log file, code). */
  onServiceExit: ((name: string, log: string, code: number | null) => void) | null = null;

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
      explorer: o.layout.nodes.find((n) => n.explorerUrl)?.explorerUrl ?? null,
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
    this.startServices();
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

  private startServices(): void {
    const keyFile = join(this.o.layout.dir, 'provider-key.json');
    const a = this.o.layout.accounts.provider;
    const rpc = this.o.layout.nodes[0].rpcUrl;
    void writeFile(keyFile, JSON.stringify({ secretKey: a.secretKey, publicKey: a.publicKey }), {
      mode: 0o600,
    }).then(() => {
      this.spawnService('model-server', [
        'model-server',
        '--rpc',
        rpc,
        '--port',
        String(this.o.modelServerPort),
        '--provider',
        a.address,
      ]);
      this.spawnService('gateway', [
        'provider',
        '--rpc',
        rpc,
        '--key',
        keyFile,
        '--port',
        String(this.o.gatewayPort),
        '--upstream',
        this.modelServerUrl,
      ]);
    });
  }

  private spawnService(name: 'gateway' | 'model-server', args: string[]): void {
    if (this.stopped) return;
    const log = join(this.o.layout.dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, [...CLI_EXEC_ARGV, CLI_ENTRY, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', fd, fd],
      env: process.env,
    });
    closeSync(fd);
    this.children.set(name, child);
    this.exits.push(
      new Promise((resolve) =>
        child.once('exit', (code) => {
          this.children.delete(name);
          if (!this.stopped) this.onServiceExit?.(name, log, code);
          resolve();
        }),
      ),
    );
  }

  get gatewayPid(): number | undefined {
    return this.children.get('gateway')?.pid;
  }

  get modelServerPid(): number | undefined {
    return this.children.get('model-server')?.pid;
  }

  /** The OpenAI base URL requesters use. */
  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.o.gatewayPort}/v1`;
  }

  get modelServerUrl(): string {
    return `http://127.0.0.1:${this.o.modelServerPort}/v1`;
  }

  /** One `openai` client per requester, paying through the chain. */
  private sdkFor(requester: string): { payer: ChainPayer; openai: OpenAI } {
    let p = this.payers.get(requester);
    if (p === undefined) {
      const a = this.o.layout.accounts[requester];
      const payer = new ChainPayer({
        client: this.c,
        key: { secretKey: fromHex(a.secretKey, 32), publicKey: fromHex(a.publicKey, 32) },
        chainId: this.o.layout.chainId,
        maxFee: parseOpen('1'),
        expiryBlocks: 200,
        nonceStart: this.requestBase + DEMO_REQUESTERS.indexOf(requester as never) * 1_000_000_000,
      });
      const openai = new OpenAI({
        baseURL: this.gatewayUrl,
        apiKey: 'unused',
        fetch: payer.fetch,
        maxRetries: 0,
        timeout: 20_000,
      });
      p = { payer, openai };
      this.payers.set(requester, p);
    }
    return p;
  }

  private async sendRequest(): Promise<void> {
    if (this.stopped || this.spanModel === '') return;
    const k = this.requestSeq++;
    const requester = DEMO_REQUESTERS[k % DEMO_REQUESTERS.length];
    const influence = k % 3 === 2;
    const prompt = influence
      ? this.data.heldOut[k % this.data.heldOut.length].text
      : `${DEMO_PROMPTS[k % DEMO_PROMPTS.length]} #${k}`;
    try {
      const { openai } = this.sdkFor(requester);
      // The payer signs the chain request, checks the provider's signed delivery against the
      // output and acknowledges it: the receipt goes out with the ack and settles in the next block.
      const r = await openai.chat.completions.create({
        model: influence ? this.influenceModel : this.spanModel,
        messages: [{ role: 'user', content: prompt }],
        max_tokens: influence ? 16 : DEMO_MAX_TOKENS,
      });
      this.state.requestsSent++;
      this.pendingAnswers.set((r as unknown as J).openledger.receipt as string, {
        model: influence ? 'who-speaks-lr' : 'bard-ngram',
        prompt,
        output: r.choices[0]?.message?.content ?? '',
        requester,
      });
    } catch (e) {
      this.state.requestErrors++;
      const msg = `${(e as { code?: string }).code ?? ''}: ${(e as Error).message}`;
      // Until the gateway and the model server have loaded the new models, calls are refused.
      if (!/model_not_found|not served|Connection error|ECONNREFUSED|fetch failed/.test(msg))
        this.note(`request failed: ${msg}`);
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
    // The gateway first: it posts the receipts of answers already delivered on SIGTERM.
    for (const name of ['gateway', 'model-server'] as const) {
      const child = this.children.get(name);
      if (child === undefined) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
    await Promise.all(this.exits);
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
