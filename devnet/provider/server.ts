import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { predictLabel } from '../../attribution/jobs.js';
import { DEFAULT_TOKENIZER, loadTokenizer } from '../../attribution/tokenizer.js';
import { addressOf, formatAddress } from '../../core/address.js';
import { bytesEqual, fromHex, to0x, toHex } from '../../core/bytes.js';
import {
  type Delivery,
  encodeDelivery,
  receiptDelivery,
  signDelivery,
  signReceiptBody,
  type UnsignedReceiptBody,
  verifyAck,
} from '../../core/delivery.js';
import { OlError } from '../../core/errors.js';
import { sha256 } from '../../core/hash.js';
import { decodeInferenceRequest, type InferenceRequest, verifyRequestSignature } from '../../core/tx.js';
import { OpenLedgerClient, Wallet } from '../../rpc/client.js';
import { receiptId } from '../../vm/models.js';
import { ensureProviderBond } from './bond.js';
import { NgramModel } from './ngram.js';

/**
 * The reference inference provider (`openledger provider`): serves every active model that lists
 * its account as a provider, over HTTP, and posts an `inference.receipt` for each answer.
 *
 * - span models: a word n-gram generator trained from the accepted contributions of the model's
 *   pinned datanet versions (read over JSON-RPC), so answers quote the data that paid for them;
 * - influence models: the chain's own classifier, `predictLabel` (the exact function validators
 *   re-run, so the receipt's output always matches their prediction).
 *
 * HTTP: `GET /health`, `GET /v1/models`, `POST /v1/infer` with
 * `{"request": "0x<encodeInferenceRequest>", "prompt": "…", "words"?: n}` → `{model, version,
 * output, outputTokens, price, receipt, provider, providerKey, delivery, deliverySignature}`. The
 * request is the requester's signed `InferenceRequest` (rpc/client.ts `buildRequest`); its
 * promptHash must be sha256(prompt). `delivery` is `encodeDelivery` of (request hash, output hash,
 * output tokens) and `deliverySignature` the provider's signature over it (core/delivery.ts):
 * the requester keeps both (a fraud proof if the receipt ever claims another output).
 *
 * The receipt is posted once the requester acknowledges: `POST /v1/ack` with `{"receipt":
 * "0x…", "ack": "0x<signAck>"}` → `{receipt, tx}` (the receipt carries the ack and settles in
 * the next block). Without an ack within `PROVIDER_ACK_WAIT_MS` the receipt is posted without one
 * and settles after the chain's challenge window. On start the provider bonds up to
 * `providerBondMin` if its bond is lower.
 */

export const PROVIDER_BODY_BYTES_MAX = 64 * 1024;
export const PROVIDER_REFRESH_MS = 1_000;
export const PROMPT_CHARS_MAX = 4_096;
/** How long a delivered answer waits for the requester's ack before its receipt goes out without. */
export const PROVIDER_ACK_WAIT_MS = 5_000;
/** Answers awaiting an ack at once (each holds a timer and its receipt body). */
export const PENDING_ACKS_MAX = 10_000;

interface PendingAck {
  body: UnsignedReceiptBody;
  delivery: Delivery;
  timer: NodeJS.Timeout;
  /** Settles with the posted receipt's tx result. */
  posted: Promise<J> | null;
}

export interface ServedModel {
  id: string;
  version: number;
  name: string;
  method: string;
  tokenizer: string;
  pricePerRequest: bigint;
  pricePerOutputToken: bigint;
  answer: (prompt: string, words: number) => Promise<string>;
}

export class ProviderError extends OlError {}

// biome-ignore lint/suspicious/noExplicitAny: JSON results of the RPC, read field by field
export type J = Record<string, any>;

export interface ProviderOptions {
  rpcUrl: string;
  key: { secretKey: string; publicKey: string };
  host?: string;
  port: number;
  log?: (line: string) => void;
}

export class Provider {
  private readonly client: OpenLedgerClient;
  private wallet!: Wallet;
  readonly address: string;
  private readonly secretKey: Uint8Array;
  private readonly models = new Map<string, ServedModel>();
  private readonly loading = new Set<string>();
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sendQueue: Promise<unknown> = Promise.resolve();
  private chainId = '';
  private readonly pendingAcks = new Map<string, PendingAck>();
  served = 0;

  constructor(private readonly o: ProviderOptions) {
    this.client = new OpenLedgerClient(o.rpcUrl, 30_000);
    this.address = formatAddress(addressOf(fromHex(o.key.publicKey, 32)));
    this.secretKey = fromHex(o.key.secretKey, 32);
  }

  async start(): Promise<{ url: string }> {
    const status = await this.client.status();
    this.chainId = status.chainId as string;
    this.wallet = Wallet.fromSecretHex(this.client, this.o.key.secretKey, this.o.key.publicKey, this.chainId);
    await this.ensureBond();
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => {}), PROVIDER_REFRESH_MS);
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new ProviderError(
            'PORT_IN_USE',
            e.code === 'EADDRINUSE' ? `port ${this.o.port} is already in use` : e.message,
          ),
        ),
      );
      this.server!.listen(this.o.port, this.o.host ?? '127.0.0.1', () => resolve());
    });
    return { url: `http://${this.o.host ?? '127.0.0.1'}:${this.o.port}/` };
  }

  private async ensureBond(): Promise<void> {
    await ensureProviderBond(this.client, this.wallet, this.address, this.o.log);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // Answers already delivered still get their receipt (without ack).
    await Promise.allSettled([...this.pendingAcks.keys()].map((id) => this.post(id, null)));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Finds active models naming this provider; loads the new ones. */
  async refresh(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const r = await this.client.models({ limit: 100, ...(cursor ? { cursor } : {}) });
      for (const m of r.items as J[]) {
        const v = m.latest as J | null;
        if (v === null || v.status !== 'active') continue;
        if (!(v.providers as string[]).includes(this.address)) continue;
        const key = `${m.id}@${v.version}`;
        if (this.models.has(m.id) && this.models.get(m.id)!.version === v.version) continue;
        if (this.loading.has(key)) continue;
        this.loading.add(key);
        try {
          const served = await loadBuiltinModel(this.client, m, v);
          this.models.set(m.id, served);
          this.o.log?.(`serving ${served.method} model "${served.name}" ${m.id} v${v.version}`);
        } catch (e) {
          this.o.log?.(`cannot serve model ${m.id}: ${(e as Error).message}`);
        } finally {
          this.loading.delete(key);
        }
      }
      if (!r.next) break;
      cursor = r.next;
    }
  }

  listModels(): J[] {
    return [...this.models.values()].map((m) => ({
      id: m.id,
      version: m.version,
      name: m.name,
      method: m.method,
      pricePerRequest: m.pricePerRequest.toString(),
      pricePerOutputToken: m.pricePerOutputToken.toString(),
    }));
  }

  /** Answers one signed request and posts its receipt. */
  async infer(requestHex: string, prompt: string, words = 60): Promise<J> {
    let request: InferenceRequest;
    try {
      request = decodeInferenceRequest(fromHex(requestHex));
    } catch (e) {
      throw new ProviderError('BAD_REQUEST', `request: ${(e as Error).message}`);
    }
    if (!verifyRequestSignature(request))
      throw new ProviderError('BAD_SIGNATURE', 'request signature does not verify');
    if (request.chainId !== this.chainId)
      throw new ProviderError('WRONG_CHAIN', `request is for chain ${request.chainId}, not ${this.chainId}`);
    if (prompt.length > PROMPT_CHARS_MAX)
      throw new ProviderError('PROMPT_TOO_LONG', `prompt over ${PROMPT_CHARS_MAX} chars`);
    if (!bytesEqual(request.promptHash, sha256(new TextEncoder().encode(prompt))))
      throw new ProviderError('PROMPT_MISMATCH', 'promptHash is not sha256(prompt)');
    const modelId = `0x${toHex(request.model)}`;
    const model = this.models.get(modelId);
    if (model === undefined)
      throw new ProviderError('MODEL_NOT_SERVED', `model ${modelId} is not served here`);
    if (model.version !== request.modelVersion)
      throw new ProviderError(
        'MODEL_VERSION',
        `serving version ${model.version}, request wants ${request.modelVersion}`,
      );
    const output = await model.answer(prompt, words);
    const tok = await loadTokenizer(model.tokenizer);
    const outputTokens = tok.encode(output).length;
    const inputTokens = tok.encode(prompt).length;
    const price = model.pricePerRequest + model.pricePerOutputToken * BigInt(outputTokens);
    if (price > request.maxFee)
      throw new ProviderError(
        'FEE_ABOVE_MAX',
        `price ${price} exceeds the request's maxFee ${request.maxFee}`,
      );
    const body: UnsignedReceiptBody = {
      request,
      input: model.method === 'influence' ? prompt : '',
      output,
      retrieved: [],
      inputTokens,
      outputTokens,
    };
    const receipt = `0x${toHex(receiptId(addressOf(request.requester), request.nonce))}`;
    if (this.pendingAcks.has(receipt))
      throw new ProviderError('REQUEST_NONCE_USED', 'this request was already answered');
    if (this.pendingAcks.size >= PENDING_ACKS_MAX)
      throw new ProviderError('BUSY', 'too many answers await their acknowledgment; retry later');
    const delivery = receiptDelivery(body);
    const deliverySignature = signDelivery(delivery, this.secretKey);
    const timer = setTimeout(() => void this.post(receipt, null).catch(() => {}), PROVIDER_ACK_WAIT_MS);
    this.pendingAcks.set(receipt, { body, delivery, timer, posted: null });
    this.served++;
    return {
      model: modelId,
      version: model.version,
      method: model.method,
      output,
      outputTokens,
      price: price.toString(),
      receipt,
      provider: this.address,
      providerKey: to0x(fromHex(this.o.key.publicKey, 32)),
      delivery: to0x(encodeDelivery(delivery)),
      deliverySignature: to0x(deliverySignature),
    };
  }

  /** The requester's ack of a delivered answer: checked, then the receipt is posted with it. */
  async ack(receipt: string, ackHex: string): Promise<J> {
    const p = this.pendingAcks.get(receipt);
    if (p === undefined)
      throw new ProviderError(
        'UNKNOWN_RECEIPT',
        `no answer awaits an ack under ${receipt} (posted already?)`,
      );
    let ack: Uint8Array;
    try {
      ack = fromHex(ackHex, 64);
    } catch (e) {
      throw new ProviderError('BAD_ACK', `ack: ${(e as Error).message}`);
    }
    if (!verifyAck(p.delivery, p.body.request.requester, ack))
      throw new ProviderError('BAD_ACK', "the ack is not the requester's signature of this delivery");
    const r = await this.post(receipt, ack);
    return { receipt, tx: r.hash };
  }

  /** Posts the receipt of a delivered answer (once), with or without the requester's ack. */
  private post(receipt: string, ack: Uint8Array | null): Promise<J> {
    const p = this.pendingAcks.get(receipt);
    if (p === undefined) return Promise.reject(new ProviderError('UNKNOWN_RECEIPT', receipt));
    if (p.posted !== null) return p.posted;
    clearTimeout(p.timer);
    const body = signReceiptBody(p.body, this.secretKey, ack);
    // One sender, sequential nonces: submissions go out one at a time.
    const sent = (this.sendQueue = this.sendQueue
      .catch(() => {})
      .then(() => this.wallet.send('inference.receipt', body))) as Promise<J>;
    p.posted = sent;
    const drop = () => this.pendingAcks.delete(receipt);
    sent.then(drop, drop);
    return sent;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'GET' && req.url === '/health') return reply(200, { ok: true, served: this.served });
      if (req.method === 'GET' && req.url === '/v1/models') return reply(200, this.listModels());
      if (req.method === 'POST' && req.url === '/v1/infer') {
        const text = await readBody(req);
        let j: J;
        try {
          j = JSON.parse(text);
        } catch {
          return reply(400, { error: { code: 'BAD_JSON', message: 'body is not JSON' } });
        }
        if (typeof j.request !== 'string' || typeof j.prompt !== 'string')
          return reply(400, {
            error: { code: 'BAD_BODY', message: 'expected {"request": "0x…", "prompt": "…"}' },
          });
        const words = typeof j.words === 'number' ? Math.max(1, Math.min(400, j.words)) : 60;
        return reply(200, await this.infer(j.request, j.prompt, words));
      }
      if (req.method === 'POST' && req.url === '/v1/ack') {
        let j: J;
        try {
          j = JSON.parse(await readBody(req));
        } catch {
          return reply(400, { error: { code: 'BAD_JSON', message: 'body is not JSON' } });
        }
        if (typeof j.receipt !== 'string' || typeof j.ack !== 'string')
          return reply(400, {
            error: { code: 'BAD_BODY', message: 'expected {"receipt": "0x…", "ack": "0x…"}' },
          });
        return reply(200, await this.ack(j.receipt.toLowerCase(), j.ack));
      }
      return reply(404, { error: { code: 'NOT_FOUND', message: `${req.method} ${req.url}` } });
    } catch (e) {
      const code = e instanceof OlError ? e.code : 'INTERNAL';
      const status = e instanceof ProviderError ? 400 : 500;
      return reply(status, { error: { code, message: (e as Error).message } });
    }
  }
}

/** Accepted contributions of (datanet, version), with content. */
export async function corpusOf(client: OpenLedgerClient, datanet: string, version: number) {
  const out: { id: Uint8Array; idHex: string; content: string; label: string }[] = [];
  let cursor: string | undefined;
  for (;;) {
    const r = await client.contributions({
      datanet,
      status: 'accepted',
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    for (const c of r.items as J[]) {
      if ((c.seq as number) > version) continue;
      const full = await client.contribution(c.id, true);
      out.push({
        id: fromHex(c.id),
        idHex: c.id,
        content: full.content as string,
        label: c.label as string,
      });
    }
    if (!r.next) break;
    cursor = r.next;
  }
  return out;
}

/** Builds the built-in model (n-gram generator or chain classifier) for a model version read over RPC. */
export async function loadBuiltinModel(client: OpenLedgerClient, m: J, v: J): Promise<ServedModel> {
  const params = new Map<string, string>((v.params as J[]).map((p) => [p.key, p.value]));
  const training = (v.training as J[] | null) ?? [];
  const tokenizerName =
    v.method === 'influence'
      ? (training.find((p) => p.key === 'tokenizer')?.value ?? DEFAULT_TOKENIZER)
      : (params.get('tokenizer') ?? DEFAULT_TOKENIZER);
  const pinned = v.datanets as { datanet: string; version: number }[];
  const corpora = await Promise.all(pinned.map((p) => corpusOf(client, p.datanet, p.version)));
  const base = {
    id: m.id as string,
    version: v.version as number,
    name: m.name as string,
    method: v.method as string,
    tokenizer: tokenizerName,
    pricePerRequest: BigInt(v.pricePerRequest),
    pricePerOutputToken: BigInt(v.pricePerOutputToken),
  };
  if (v.method === 'span') {
    const ngram = new NgramModel(corpora.flat().map((c) => ({ id: c.idHex, content: c.content })));
    return { ...base, answer: async (prompt, words) => ngram.generate(prompt, words) };
  }
  if (v.method === 'influence') {
    const trainingParams = training.map((p) => ({ key: p.key as string, value: p.value as string }));
    const inputs = pinned.map((p, i) => ({
      datanet: fromHex(p.datanet),
      version: p.version,
      contributions: corpora[i].map((c) => ({ id: c.id, content: c.content, label: c.label })),
    }));
    return {
      ...base,
      answer: async (prompt) => (await predictLabel(trainingParams, inputs, prompt)).label,
    };
  }
  throw new ProviderError('METHOD_UNSUPPORTED', `method ${v.method} is not served by this provider`);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > PROVIDER_BODY_BYTES_MAX)
      throw new ProviderError('BODY_TOO_LARGE', `body over ${PROVIDER_BODY_BYTES_MAX} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
