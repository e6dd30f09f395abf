import { readFile } from 'node:fs/promises';
import {
  Agent,
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DEFAULT_TOKENIZER, loadTokenizer } from '../../attribution/tokenizer.js';
import { addressOf, formatAddress } from '../../core/address.js';
import { bytesEqual, fromHex, to0x, toHex } from '../../core/bytes.js';
import {
  type Delivery,
  deliveryFor,
  signDelivery,
  type UnsignedReceiptBody,
  verifyAck,
} from '../../core/delivery.js';
import {
  decodeInferenceRequest,
  INFERENCE_OUTPUT_BYTES_MAX,
  type InferenceRequest,
  type TxBody,
  verifyRequestSignature,
} from '../../core/tx.js';
import { buildTx, busyRetryAfterMs, OpenLedgerClient, RpcCallError, Wallet } from '../../rpc/client.js';
import {
  DELIVERY_HEADER,
  MAX_TOKENS_DEFAULT,
  modelInput,
  OpenAiError,
  type ParsedCompletion,
  parseCompletionBody,
  promptHashOf,
  RECEIPT_HEADER,
  REQUEST_HEADER,
  sseData,
} from '../../rpc/openaiApi.js';
import { receiptId } from '../../vm/models.js';
import { ensureProviderBond } from './bond.js';
import { type J, PROVIDER_BODY_BYTES_MAX, PROVIDER_REFRESH_MS, ProviderError, readBody } from './shared.js';

/**
 * The OpenAI-compatible gateway (`openledger provider --upstream URL`): fronts any
 * OpenAI-compatible model server (llama.cpp server, vLLM, Ollama, TGI, or the reference
 * `openledger model-server`) for the chain models that list this provider, and is paid through
 * the chain.
 *
 * Per call, BEFORE the upstream is asked: the body is validated (rpc/openaiApi.ts), the signed
 * chain request in the `x-openledger-request` header is decoded and its signature, chain id,
 * expiry (with `EXPIRY_MARGIN_BLOCKS` for inclusion), model and version, prompt hash (over the
 * canonical prompt) and max fee (which must cover `max_tokens` at the model's price) are checked.
 * After the upstream answered, the output is metered with the model's pinned tokenizer, the
 * delivery (request hash, output hash, output tokens) is signed, and the answer goes to the
 * client with an `openledger` field (receipt id, tx hash, provider key, signed delivery) — on the
 * body for non-streaming calls, on the last chunk before `[DONE]` for streams.
 *
 * Acknowledgments (issue 15): the receipt is held until the answer has been fully written to the
 * client socket, then for up to `ackWaitMs` for the requester's ack (`POST /v1/ack` with
 * `{"receipt", "ack"}`, the requester's signature of the same delivery, checked here exactly as
 * the vm checks it). With a valid ack the receipt is posted at once and settles in the next
 * block; without one it is posted when the wait is over and settles after the chain's challenge
 * window. An answer the client did not receive in full gets no receipt at all. Receipt txs are
 * signed when posted (nonces in posting order) and go to the node in JSON-RPC batches
 * (`ReceiptPoster`), off the request path.
 */

export const UPSTREAM_TIMEOUT_MS_DEFAULT = 30_000;
/** The receipt lands at the earliest in the next block; refuse requests expiring before that. */
export const EXPIRY_MARGIN_BLOCKS = 2;
/** Bytes of a non-streaming upstream body / of one SSE event we read at most. */
export const UPSTREAM_BODY_BYTES_MAX = 256 * 1024;
/** How long a receipt submission waits out the node's backpressure before it is given up. */
export const RECEIPT_BUSY_DEADLINE_MS = 10 * 60_000;
/** Pause before re-sending a receipt batch the node could not be reached for. */
export const RECEIPT_RETRY_UNREACHABLE_MS = 1_000;
/** Receipt ids remembered to refuse a replayed request (oldest forgotten first). */
export const SEEN_RECEIPTS_MAX = 100_000;
/** How long a delivered answer's receipt waits for the requester's ack before it goes out without. */
export const ACK_WAIT_MS_DEFAULT = 5_000;
/** Answers being delivered or awaiting their ack at once; more are refused (503) before the upstream. */
export const PENDING_ACKS_MAX = 10_000;
/**
 * Calls being answered by the upstream at once; more are refused (503 busy) before the upstream
 * is asked, so an overloaded or hung upstream cannot pile up unbounded sockets and memory here.
 */
export const UPSTREAM_INFLIGHT_MAX = 1024;
/** Receipt txs per JSON-RPC batch (the node's `rpc.batchMax` defaults to 100). */
export const RECEIPT_BATCH_MAX = 100;
/** Idle keep-alive connections kept per upstream (calls beyond reuse or open more). */
export const UPSTREAM_SOCKETS_IDLE_MAX = 256;
const HTTP_AGENT = new Agent({ keepAlive: true, maxFreeSockets: UPSTREAM_SOCKETS_IDLE_MAX });
const HTTPS_AGENT = new HttpsAgent({ keepAlive: true, maxFreeSockets: UPSTREAM_SOCKETS_IDLE_MAX });
/** Bytes of a `POST /v1/ack` body. */
export const ACK_BODY_BYTES_MAX = 1024;

export interface UpstreamRoute {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:8080/v1`. */
  url: string;
  /** The upstream's model name (a LoRA adapter name on vLLM, a tag on Ollama, …). */
  model: string;
}

export interface GatewayOptions {
  rpcUrl: string;
  key: { secretKey: string; publicKey: string };
  host?: string;
  port: number;
  /** Upstream for chain models without a route; the upstream model name is the chain model id. */
  defaultUpstream?: string;
  /** Chain model id (0x…) → upstream. */
  routes?: Map<string, UpstreamRoute>;
  upstreamTimeoutMs?: number;
  /** How long a delivered answer waits for the requester's ack (default `ACK_WAIT_MS_DEFAULT`). */
  ackWaitMs?: number;
  /** Answers awaiting their receipt at once (default `PENDING_ACKS_MAX`). */
  pendingAcksMax?: number;
  /** Calls with the upstream at once (default `UPSTREAM_INFLIGHT_MAX`); more are refused 503. */
  inflightMax?: number;
  log?: (line: string) => void;
}

/** A delivered (or being delivered) answer whose receipt is not posted yet. */
interface PendingReceipt {
  body: UnsignedReceiptBody;
  delivery: Delivery;
  /** The provider's delivery signature: the receipt carries the same bytes. */
  signature: Uint8Array;
  requesterKey: Uint8Array;
  requester: string;
  maxFee: bigint;
  ack: Uint8Array | null;
  delivered: boolean;
  timer: NodeJS.Timeout | null;
  /** Resolves with the receipt tx hash once posted; rejects if the answer was not delivered. */
  tx: Promise<string>;
  resolveTx: (hash: string) => void;
  rejectTx: (e: Error) => void;
  posting: boolean;
}

interface ChainModel {
  id: string;
  version: number;
  name: string;
  method: string;
  tokenizer: string;
  pricePerRequest: bigint;
  pricePerOutputToken: bigint;
}

const oaErr = (
  status: number,
  code: string,
  message: string,
  param: string | null = null,
  type = 'invalid_request_error',
) => new OpenAiError(status, type, code, message, param);
const upstreamErr = (code: string, message: string, status = 502) =>
  new OpenAiError(status, 'upstream_error', code, message);

interface Signed {
  hex: string;
  nonce: number;
  /** The receipt body (absent for a filler), to sign again if its nonce was taken. */
  body?: TxBody<'inference.receipt'>;
  filler: boolean;
}

/**
 * Posts receipts: each body is signed the moment it is posted (consecutive nonces from a counter
 * read once from the node; never moved back while our txs may be pending), then the signed txs
 * go to the node in JSON-RPC batches of up to `RECEIPT_BATCH_MAX`, one batch at a time.
 * Backpressure (BUSY, SENDER_FULL, POOL_FULL, NONCE_TOO_HIGH) and an unreachable node are waited
 * out by re-sending the same bytes (an admitted one answers ALREADY_KNOWN); a receipt whose nonce
 * another tx of this key took is signed again with a fresh nonce; a tx refused for any other
 * reason has its nonce filled with a 1-unit self-transfer so the receipts after it still execute.
 */
export class ReceiptPoster {
  private next: number | null = null;
  private readonly queue: Signed[] = [];
  private running: Promise<void> | null = null;
  private sending = 0;
  posted = 0;
  fillers = 0;
  failed = 0;
  resigned = 0;
  batches = 0;

  constructor(
    private readonly wallet: Wallet,
    private readonly log?: (line: string) => void,
  ) {}

  /** Reads the account nonce once; call before `post`. */
  async start(): Promise<void> {
    this.next = (await this.wallet.client.account(this.wallet.address)).nonce as number;
  }

  /** Receipts signed but not yet admitted by the node. */
  get backlog(): number {
    return this.queue.length + this.sending;
  }

  /** Signs the receipt now and queues it for submission; returns its tx hash. */
  post(body: TxBody<'inference.receipt'>): string {
    if (this.next === null) throw new ProviderError('NOT_STARTED', 'ReceiptPoster.start() first');
    const nonce = this.next++;
    const tx = buildTx('inference.receipt', body, this.wallet.key, { chainId: this.wallet.chainId, nonce });
    this.queue.push({ hex: tx.hex, nonce, body, filler: false });
    if (this.running === null)
      this.running = this.run().finally(() => {
        this.running = null;
      });
    return to0x(tx.hash);
  }

  private async run(): Promise<void> {
    // Let the receipts of one burst of answers gather into one batch.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, RECEIPT_BATCH_MAX);
      this.sending = batch.length;
      try {
        await this.submit(batch);
      } finally {
        this.sending = 0;
      }
    }
  }

  private async submit(txs: Signed[]): Promise<void> {
    const deadline = Date.now() + RECEIPT_BUSY_DEADLINE_MS;
    let todo = txs;
    while (todo.length > 0) {
      this.batches++;
      let results: unknown[];
      try {
        results = await this.wallet.client.sendRawBatch(todo.map((t) => t.hex));
      } catch (e) {
        // Unreachable or timed out: the whole batch is sent again (an admitted one is ALREADY_KNOWN).
        results = todo.map(() => e);
      }
      const again: Signed[] = [];
      const resign: TxBody<'inference.receipt'>[] = [];
      let wait = 0;
      for (const [i, t] of todo.entries()) {
        const r = results[i];
        const code = r instanceof RpcCallError ? (r.data as { code?: string } | undefined)?.code : undefined;
        if (!(r instanceof Error) || code === 'ALREADY_KNOWN') {
          if (t.filler) this.fillers++;
          else this.posted++;
          continue;
        }
        // Not now: backpressure, the node out of reach, or too far ahead of the committed nonce.
        const hint =
          busyRetryAfterMs(r) ??
          ((r as RpcCallError).rpcCode === -1 || code === 'NONCE_TOO_HIGH'
            ? RECEIPT_RETRY_UNREACHABLE_MS
            : null);
        if (hint !== null && Date.now() + hint <= deadline) {
          wait = Math.max(wait, hint);
          again.push(t);
          continue;
        }
        if (code === 'NONCE_TOO_LOW' || code === 'REPLACEMENT_UNDERPRICED') {
          // The nonce went to another tx of this key (used elsewhere too): sign the receipt again.
          if (t.body !== undefined) resign.push(t.body);
          continue;
        }
        this.failed++;
        this.log?.(`receipt tx (nonce ${t.nonce}) refused: ${r.message}`);
        if (!t.filler) {
          const o = { chainId: this.wallet.chainId, nonce: t.nonce };
          const to = addressOf(this.wallet.key.publicKey);
          again.push({
            hex: buildTx('transfer', { to, amount: 1n }, this.wallet.key, o).hex,
            nonce: t.nonce,
            filler: true,
          });
        }
      }
      if (resign.length > 0) {
        const chain = await this.wallet.client.account(this.wallet.address).then(
          (a) => a.nonce as number,
          () => 0,
        );
        if (this.next !== null && chain > this.next) this.next = chain;
        for (const body of resign) {
          this.resigned++;
          this.post(body);
        }
      }
      todo = again;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Resolves once every posted receipt has been submitted (or given up). */
  async drain(): Promise<void> {
    while (this.running !== null) await this.running;
  }
}

export class Gateway {
  private readonly client: OpenLedgerClient;
  private wallet!: Wallet;
  poster!: ReceiptPoster;
  readonly address: string;
  private readonly secretKey: Uint8Array;
  private readonly publicKeyHex: string;
  private readonly models = new Map<string, ChainModel>();
  private readonly seen = new Set<string>();
  /** maxFee of the calls being answered now, per requester (their receipts are not escrowed yet). */
  private readonly escrowInFlight = new Map<string, bigint>();
  private readonly balances = new Map<string, { height: number; balance: Promise<bigint> }>();
  /** Answers whose receipt is not posted yet, by receipt id. */
  private readonly pending = new Map<string, PendingReceipt>();
  /** Served calls whose maxFee is still held (receipt not yet visible in the balance). */
  private readonly heldServed: [string, bigint][] = [];
  private heldServedMark = 0;
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chainId = '';
  private height = 0;
  url = '';
  served = 0;
  refused = 0;
  /** Calls with the upstream now. */
  private inflight = 0;
  /** Receipts posted with the requester's ack / without one (the wait ran out). */
  acked = 0;
  unacked = 0;
  /** `POST /v1/ack` calls refused (bad signature, unknown receipt, malformed). */
  acksRefused = 0;

  constructor(private readonly o: GatewayOptions) {
    this.client = new OpenLedgerClient(o.rpcUrl, 30_000);
    this.address = formatAddress(addressOf(fromHex(o.key.publicKey, 32)));
    this.secretKey = fromHex(o.key.secretKey, 32);
    this.publicKeyHex = to0x(fromHex(o.key.publicKey, 32));
    if (!o.defaultUpstream && (o.routes?.size ?? 0) === 0)
      throw new ProviderError('BAD_USAGE', 'the gateway needs --upstream URL or an upstream map');
  }

  async start(): Promise<{ url: string }> {
    const status = await this.client.status();
    this.chainId = status.chainId as string;
    this.wallet = Wallet.fromSecretHex(this.client, this.o.key.secretKey, this.o.key.publicKey, this.chainId);
    this.poster = new ReceiptPoster(this.wallet, this.o.log);
    // Receipts need a provider bond (issue 15): bond up to providerBondMin first.
    await ensureProviderBond(this.client, this.wallet, this.wallet.address, this.o.log);
    await this.poster.start();
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => {}), PROVIDER_REFRESH_MS);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 10_000;
    const host = this.o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new ProviderError(
            'PORT_IN_USE',
            e.code === 'EADDRINUSE' ? `port ${this.o.port} is already in use` : e.message,
          ),
        ),
      );
      this.server!.listen(this.o.port, host, () => resolve());
    });
    const addr = this.server.address();
    this.url = `http://${host}:${typeof addr === 'object' && addr ? addr.port : this.o.port}/v1`;
    return { url: this.url };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    // Answers already delivered still get their receipt (with the ack if it came).
    for (const [id, p] of this.pending) {
      if (p.delivered) this.postPending(id);
      else this.drop(id);
    }
    await this.poster?.drain();
  }

  /** Resolves once every answer delivered so far has had its receipt posted (after its ack or wait). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending.values()].map((p) => p.tx));
    await this.poster.drain();
  }

  /** The chain's active models naming this provider (price and tokenizer), and the height. */
  async refresh(): Promise<void> {
    const height = (await this.client.status()).height as number;
    if (height > this.height + 1) {
      // Two blocks on, the receipts of served calls are committed (or refused): balances show them.
      for (const [who, fee] of this.heldServed.splice(0, this.heldServedMark)) {
        const left = (this.escrowInFlight.get(who) ?? 0n) - fee;
        if (left > 0n) this.escrowInFlight.set(who, left);
        else this.escrowInFlight.delete(who);
      }
      this.heldServedMark = this.heldServed.length;
      this.height = height;
    } else if (this.height === 0) this.height = height;
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const r = await this.client.models({ limit: 100, ...(cursor ? { cursor } : {}) });
      for (const m of r.items as J[]) {
        const v = m.latest as J | null;
        if (v === null || v.status !== 'active' || !(v.providers as string[]).includes(this.address)) {
          this.models.delete(m.id);
          continue;
        }
        if (!this.routeOf(m.id)) continue;
        const params = new Map<string, string>((v.params as J[]).map((p) => [p.key, p.value]));
        const training = (v.training as J[] | null) ?? [];
        const tokenizer =
          v.method === 'influence'
            ? (training.find((p) => p.key === 'tokenizer')?.value ?? DEFAULT_TOKENIZER)
            : (params.get('tokenizer') ?? DEFAULT_TOKENIZER);
        await loadTokenizer(tokenizer);
        if (this.models.get(m.id)?.version !== v.version)
          this.o.log?.(`gateway: serving ${m.id} v${v.version} via ${this.routeOf(m.id)!.url}`);
        this.models.set(m.id, {
          id: m.id,
          version: v.version,
          name: m.name,
          method: v.method,
          tokenizer,
          pricePerRequest: BigInt(v.pricePerRequest),
          pricePerOutputToken: BigInt(v.pricePerOutputToken),
        });
      }
      if (!r.next) break;
      cursor = r.next;
    }
  }

  private routeOf(id: string): UpstreamRoute | undefined {
    return (
      this.o.routes?.get(id) ??
      (this.o.defaultUpstream ? { url: this.o.defaultUpstream, model: id } : undefined)
    );
  }

  listModels(): J {
    return {
      object: 'list',
      data: [...this.models.values()].map((m) => ({
        id: m.id,
        object: 'model',
        created: 0,
        owned_by: this.address,
        openledger: {
          name: m.name,
          version: m.version,
          method: m.method,
          tokenizer: m.tokenizer,
          pricePerRequest: m.pricePerRequest.toString(),
          pricePerOutputToken: m.pricePerOutputToken.toString(),
        },
      })),
    };
  }

  /** Every check that needs no upstream; returns what the call needs next. */
  check(p: ParsedCompletion, header: string | string[] | undefined) {
    if (typeof header !== 'string' || header.length === 0)
      throw oaErr(
        401,
        'missing_chain_request',
        `header ${REQUEST_HEADER} (the signed chain inference request, 0x hex) is required`,
      );
    let request: InferenceRequest;
    try {
      request = decodeInferenceRequest(fromHex(header));
    } catch (e) {
      throw oaErr(400, 'invalid_chain_request', `${REQUEST_HEADER}: ${(e as Error).message}`);
    }
    if (!verifyRequestSignature(request))
      throw oaErr(401, 'bad_signature', 'the chain request signature does not verify');
    if (request.chainId !== this.chainId)
      throw oaErr(
        400,
        'wrong_chain',
        `the chain request is for chain "${request.chainId}", this gateway serves "${this.chainId}"`,
      );
    if (request.expiryHeight < this.height + EXPIRY_MARGIN_BLOCKS)
      throw oaErr(
        400,
        'request_expired',
        `the chain request expires at height ${request.expiryHeight}; the chain is at ${this.height} and a receipt needs ${EXPIRY_MARGIN_BLOCKS} blocks`,
      );
    const modelId = `0x${toHex(request.model)}`;
    if (p.model !== modelId)
      throw oaErr(
        400,
        'model_mismatch',
        `body model "${p.model}" is not the chain request's model ${modelId}`,
        'model',
      );
    const model = this.models.get(modelId);
    if (model === undefined)
      throw oaErr(404, 'model_not_found', `model ${modelId} is not served by this gateway`, 'model');
    if (model.version !== request.modelVersion)
      throw oaErr(
        400,
        'model_version',
        `serving version ${model.version}, the chain request is for ${request.modelVersion}`,
        'model',
      );
    if (!bytesEqual(request.promptHash, promptHashOf(p.prompt)))
      throw oaErr(
        400,
        'prompt_hash_mismatch',
        'the chain request promptHash is not SHA-256 of the canonical prompt (see rpc/openaiApi.ts)',
        p.kind === 'chat' ? 'messages' : 'prompt',
      );
    if (model.pricePerRequest > request.maxFee)
      throw oaErr(
        402,
        'max_fee_too_low',
        `maxFee ${request.maxFee} is below the price per request ${model.pricePerRequest}`,
      );
    const perTok = model.pricePerOutputToken;
    const affordable =
      perTok === 0n ? BigInt(MAX_TOKENS_DEFAULT) : (request.maxFee - model.pricePerRequest) / perTok;
    let maxTokens =
      p.maxTokens ??
      Number(affordable < BigInt(MAX_TOKENS_DEFAULT) ? affordable : BigInt(MAX_TOKENS_DEFAULT));
    if (maxTokens < 1)
      throw oaErr(402, 'max_fee_too_low', `maxFee ${request.maxFee} does not pay for one output token`);
    if (model.pricePerRequest + perTok * BigInt(maxTokens) > request.maxFee)
      throw oaErr(
        402,
        'max_fee_too_low',
        `maxFee ${request.maxFee} does not cover max_tokens ${maxTokens} at ${perTok} per token plus ${model.pricePerRequest}`,
        'max_tokens',
      );
    maxTokens = Math.min(maxTokens, MAX_TOKENS_DEFAULT * 16);
    const receipt = to0x(receiptId(addressOf(request.requester), request.nonce));
    if (this.seen.has(receipt)) throw oaErr(409, 'request_replayed', `receipt ${receipt} was already served`);
    return { request, model, maxTokens, receipt, route: this.routeOf(modelId)! };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    try {
      if (req.method === 'GET' && path === '/health')
        return json(res, 200, {
          ok: true,
          served: this.served,
          posted: this.poster.posted,
          acked: this.acked,
          unacked: this.unacked,
          pendingAcks: this.pending.size,
          backlog: this.poster.backlog,
          failed: this.poster.failed,
        });
      if (req.method === 'GET' && path === '/v1/models') return json(res, 200, this.listModels());
      if (req.method === 'POST' && path === '/v1/ack') return await this.handleAck(req, res);
      const kind =
        path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completion' : null;
      if (req.method !== 'POST' || kind === null)
        throw oaErr(404, 'not_found', `no route ${req.method} ${path}`);
      let j: unknown;
      try {
        j = JSON.parse(await readBody(req));
      } catch (e) {
        if ((e as ProviderError).code === 'BODY_TOO_LARGE')
          throw oaErr(413, 'body_too_large', `body over ${PROVIDER_BODY_BYTES_MAX} bytes`);
        throw oaErr(400, 'invalid_json', `the body is not JSON: ${(e as Error).message}`);
      }
      const p = parseCompletionBody(kind, j);
      const c = this.check(p, req.headers[REQUEST_HEADER]);
      const pendingMax = this.o.pendingAcksMax ?? PENDING_ACKS_MAX;
      if (this.pending.size >= pendingMax)
        throw new OpenAiError(
          503,
          'server_error',
          'busy',
          `${pendingMax} answers await their acknowledgment; retry shortly`,
        );
      const inflightMax = this.o.inflightMax ?? UPSTREAM_INFLIGHT_MAX;
      if (this.inflight >= inflightMax)
        throw new OpenAiError(
          503,
          'server_error',
          'busy',
          `${inflightMax} calls are with the upstream already; retry shortly`,
        );
      this.remember(c.receipt);
      const requester = formatAddress(addressOf(c.request.requester));
      let held = false;
      this.inflight++;
      try {
        // The receipt escrows maxFee from the requester: an account that cannot pay gets nothing.
        const balance = await this.balanceOf(requester);
        const inFlight = this.escrowInFlight.get(requester) ?? 0n;
        if (balance < inFlight + c.request.maxFee)
          throw oaErr(
            402,
            'insufficient_funds',
            `requester ${requester} holds ${balance}, less than maxFee ${c.request.maxFee} plus ${inFlight} in flight`,
          );
        this.escrowInFlight.set(requester, inFlight + c.request.maxFee);
        held = true;
        await this.serve(p, c, res);
      } catch (e) {
        this.seen.delete(c.receipt);
        throw e;
      } finally {
        this.inflight--;
        // Once an answer is pending its receipt owns the hold (released when posted or dropped).
        if (this.pending.has(c.receipt)) held = false;
        if (held) {
          const left = (this.escrowInFlight.get(requester) ?? 0n) - c.request.maxFee;
          if (left > 0n) this.escrowInFlight.set(requester, left);
          else this.escrowInFlight.delete(requester);
        }
      }
    } catch (e) {
      this.refused++;
      const err =
        e instanceof OpenAiError
          ? e
          : (e as Error).name === 'TimeoutError'
            ? upstreamErr(
                'upstream_timeout',
                `the upstream did not answer within ${this.o.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS_DEFAULT} ms`,
                504,
              )
            : (e as Error).name === 'AbortError'
              ? upstreamErr('client_closed', 'the client closed the connection', 499)
              : oaErr(500, 'internal', (e as Error).message, null, 'server_error');
      if (!res.headersSent) json(res, err.status, err.body());
      else if (!res.writableEnded) {
        // Mid-stream: an error event (the openai SDK raises it), then close. No receipt.
        res.end(`data: ${JSON.stringify(err.body())}\n\n`);
      }
    }
  }

  /** The requester's balance at the current height (one read per height, shared by concurrent calls). */
  private balanceOf(address: string): Promise<bigint> {
    const cached = this.balances.get(address);
    if (cached !== undefined && cached.height === this.height) return cached.balance;
    const balance = this.client.account(address).then(
      (a) => BigInt(a.balance),
      () => 0n,
    );
    this.balances.delete(address);
    this.balances.set(address, { height: this.height, balance });
    if (this.balances.size > SEEN_RECEIPTS_MAX)
      this.balances.delete(this.balances.keys().next().value as string);
    return balance;
  }

  /** `POST /v1/ack {"receipt": "0x…", "ack": "0x…"}`: the requester's ack of a delivered answer. */
  private async handleAck(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let j: J;
    try {
      j = JSON.parse(await readBody(req, ACK_BODY_BYTES_MAX));
    } catch (e) {
      this.acksRefused++;
      if ((e as ProviderError).code === 'BODY_TOO_LARGE')
        throw oaErr(413, 'body_too_large', `the ack body is over ${ACK_BODY_BYTES_MAX} bytes`);
      throw oaErr(400, 'invalid_json', `the ack body is not JSON: ${(e as Error).message}`);
    }
    const receipt = typeof j?.receipt === 'string' ? j.receipt.toLowerCase() : '';
    if (!/^0x[0-9a-f]{64}$/.test(receipt)) {
      this.acksRefused++;
      throw oaErr(400, 'invalid_value', '"receipt" must be the 0x receipt id of the answer', 'receipt');
    }
    let ack: Uint8Array;
    try {
      ack = fromHex(String(j.ack), 64);
    } catch (e) {
      this.acksRefused++;
      throw oaErr(400, 'invalid_ack', `"ack" must be a 0x Ed25519 signature: ${(e as Error).message}`, 'ack');
    }
    const p = this.pending.get(receipt);
    if (p === undefined || p.posting) {
      this.acksRefused++;
      throw oaErr(
        404,
        'unknown_receipt',
        `no answer awaits an ack under ${receipt}: never served here, or its receipt already went out without an ack (after ${this.ackWaitMs} ms) and settles after the challenge window`,
        'receipt',
      );
    }
    if (!verifyAck(p.delivery, p.requesterKey, ack)) {
      this.acksRefused++;
      throw oaErr(
        400,
        'bad_ack',
        "the ack is not the requester's signature of this delivery (request hash, output hash, output tokens)",
        'ack',
      );
    }
    p.ack = ack;
    if (p.delivered) this.postPending(receipt);
    const tx = await p.tx;
    return json(res, 200, { receipt, tx, acknowledged: true });
  }

  private get ackWaitMs(): number {
    return this.o.ackWaitMs ?? ACK_WAIT_MS_DEFAULT;
  }

  /** Posts a pending receipt (once): with the ack if one came, else without. */
  private postPending(receipt: string): void {
    const p = this.pending.get(receipt);
    if (p === undefined || p.posting) return;
    p.posting = true;
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(receipt);
    if (p.ack !== null) this.acked++;
    else this.unacked++;
    const tx = this.poster.post({ ...p.body, deliverySignature: p.signature, ack: p.ack });
    p.resolveTx(tx);
    // Its maxFee stays held until the balance is read again two heights on.
    this.heldServed.push([p.requester, p.maxFee]);
  }

  /** Forgets an answer that was not delivered in full: no receipt, its hold released. */
  private drop(receipt: string): void {
    const p = this.pending.get(receipt);
    if (p === undefined || p.posting) return;
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(receipt);
    this.release(p.requester, p.maxFee);
    p.rejectTx(new Error('the answer was not delivered; no receipt'));
  }

  private release(requester: string, fee: bigint): void {
    const left = (this.escrowInFlight.get(requester) ?? 0n) - fee;
    if (left > 0n) this.escrowInFlight.set(requester, left);
    else this.escrowInFlight.delete(requester);
  }

  private remember(receipt: string): void {
    if (this.seen.size >= SEEN_RECEIPTS_MAX) this.seen.delete(this.seen.values().next().value as string);
    this.seen.add(receipt);
  }

  private async serve(
    p: ParsedCompletion,
    c: ReturnType<Gateway['check']>,
    res: ServerResponse,
  ): Promise<void> {
    const upstreamBody = JSON.stringify({
      ...p.passthrough,
      model: c.route.model,
      ...(p.kind === 'chat' ? { messages: p.messages } : { prompt: p.prompt }),
      max_tokens: c.maxTokens,
      stream: p.stream,
    });
    // node:http with a keep-alive agent rather than fetch: about half the CPU per call (bench).
    const url = new URL(`${c.route.url}/${p.kind === 'chat' ? 'chat/completions' : 'completions'}`);
    let why: 'timeout' | 'client' | null = null;
    let req!: ClientRequest;
    const stop = (reason: 'timeout' | 'client') => {
      why ??= reason;
      req.destroy(new Error(reason));
    };
    const onClose = () => stop('client');
    const timeoutMs = this.o.upstreamTimeoutMs ?? UPSTREAM_TIMEOUT_MS_DEFAULT;
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    res.once('close', onClose);
    const named = (e: Error) =>
      why === 'timeout'
        ? Object.assign(new Error(e.message), { name: 'TimeoutError' })
        : why === 'client'
          ? Object.assign(new Error(e.message), { name: 'AbortError' })
          : e;
    try {
      let up: IncomingMessage;
      try {
        up = await new Promise<IncomingMessage>((resolve, reject) => {
          const secure = url.protocol === 'https:';
          req = (secure ? httpsRequest : httpRequest)(
            url,
            {
              method: 'POST',
              agent: secure ? HTTPS_AGENT : HTTP_AGENT,
              headers: {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(upstreamBody),
              },
            },
            resolve,
          );
          req.once('error', reject);
          req.end(upstreamBody);
        });
      } catch (e) {
        if (why !== null) throw named(e as Error);
        throw upstreamErr(
          'upstream_unavailable',
          `the upstream ${c.route.url} is unreachable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      up.once('error', () => {}); // surfaced by the reads below
      if ((up.statusCode ?? 0) < 200 || (up.statusCode ?? 0) > 299) {
        const text = await readLimited(up, UPSTREAM_BODY_BYTES_MAX).catch(() => '');
        let msg = text.slice(0, 300);
        try {
          msg = JSON.parse(text).error?.message ?? msg;
        } catch {}
        throw upstreamErr('upstream_error', `the upstream answered HTTP ${up.statusCode}: ${msg}`);
      }
      try {
        await this.relay(p, c, up, res, onClose);
      } catch (e) {
        if (e instanceof OpenAiError) throw e;
        if (why !== null || (e as Error).name === 'AbortError') throw named(e as Error);
        throw upstreamErr(
          'upstream_closed',
          `the upstream connection failed before the answer was complete (${(e as Error).message}); no receipt is posted`,
        );
      }
    } finally {
      clearTimeout(timer);
      res.off('close', onClose);
    }
  }

  private async relay(
    p: ParsedCompletion,
    c: ReturnType<Gateway['check']>,
    up: IncomingMessage,
    res: ServerResponse,
    onClose: () => void,
  ): Promise<void> {
    const receiptHeaders = { [RECEIPT_HEADER]: c.receipt };
    if (!p.stream) {
      const text = await readLimited(up, UPSTREAM_BODY_BYTES_MAX);
      let u: J;
      try {
        u = JSON.parse(text);
      } catch {
        throw upstreamErr('upstream_garbage', 'the upstream answer is not JSON');
      }
      const choice = u?.choices?.[0];
      const output = p.kind === 'chat' ? choice?.message?.content : choice?.text;
      if (typeof output !== 'string')
        throw upstreamErr(
          'upstream_garbage',
          `the upstream answer has no choices[0].${p.kind === 'chat' ? 'message.content' : 'text'} string`,
        );
      const paid = await this.settleTerms(p, c, output);
      const body = {
        id:
          typeof u.id === 'string'
            ? u.id
            : `${p.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${c.receipt.slice(2, 26)}`,
        object: p.kind === 'chat' ? 'chat.completion' : 'text_completion',
        created: typeof u.created === 'number' ? u.created : Math.floor(Date.now() / 1000),
        model: p.model,
        choices: [
          p.kind === 'chat'
            ? {
                index: 0,
                message: { role: 'assistant', content: output },
                finish_reason: choice.finish_reason ?? 'stop',
                logprobs: null,
              }
            : { index: 0, text: output, finish_reason: choice.finish_reason ?? 'stop', logprobs: null },
        ],
        usage: paid.usage,
        openledger: paid.extra,
      };
      res.off('close', onClose);
      this.deliverThenPost(res, c.receipt);
      res.writeHead(200, {
        'content-type': 'application/json',
        ...receiptHeaders,
        [DELIVERY_HEADER]: paid.extra.delivery.signature,
      });
      res.end(JSON.stringify(body));
      return;
    }
    // Streaming: forward chunks as they come (model renamed), keep the text, settle at [DONE].
    let output = '';
    let done = false;
    let last: J | null = null;
    for await (const data of sseData(up, UPSTREAM_BODY_BYTES_MAX)) {
      if (data === '[DONE]') {
        done = true;
        break;
      }
      let ch: J;
      try {
        ch = JSON.parse(data);
      } catch {
        throw upstreamErr('upstream_garbage', 'the upstream sent an SSE event that is not JSON');
      }
      if (ch.error)
        throw upstreamErr(
          'upstream_error',
          `the upstream failed mid-stream: ${ch.error.message ?? 'unknown error'}`,
        );
      const choice = ch.choices?.[0];
      if (choice === undefined) continue; // e.g. a usage-only chunk
      const piece = p.kind === 'chat' ? (choice.delta?.content ?? '') : (choice.text ?? '');
      if (typeof piece !== 'string')
        throw upstreamErr('upstream_garbage', 'an upstream chunk has non-string content');
      output += piece;
      if (Buffer.byteLength(output) > INFERENCE_OUTPUT_BYTES_MAX)
        throw upstreamErr(
          'output_too_long',
          `the upstream output is over ${INFERENCE_OUTPUT_BYTES_MAX} bytes, more than a receipt can carry`,
        );
      last = ch;
      if (!res.headersSent)
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          ...receiptHeaders,
        });
      if (choice.finish_reason) continue; // re-sent on the final chunk with the openledger field
      res.write(`data: ${JSON.stringify({ ...ch, model: p.model })}\n\n`);
    }
    if (!done)
      throw upstreamErr(
        'upstream_closed',
        'the upstream closed the stream before [DONE]; no receipt is posted',
      );
    const paid = await this.settleTerms(p, c, output);
    if (!res.headersSent)
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        ...receiptHeaders,
      });
    const finalChunk = {
      id: last?.id ?? `chatcmpl-${c.receipt.slice(2, 26)}`,
      object: p.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: last?.created ?? Math.floor(Date.now() / 1000),
      model: p.model,
      choices: [
        p.kind === 'chat'
          ? {
              index: 0,
              delta: {},
              finish_reason: last?.choices?.[0]?.finish_reason ?? 'stop',
              logprobs: null,
            }
          : {
              index: 0,
              text: '',
              finish_reason: last?.choices?.[0]?.finish_reason ?? 'stop',
              logprobs: null,
            },
      ],
      usage: paid.usage,
      openledger: paid.extra,
    };
    res.off('close', onClose);
    if (res.destroyed) {
      this.drop(c.receipt);
      throw Object.assign(new Error('client closed'), { name: 'AbortError' });
    }
    this.deliverThenPost(res, c.receipt);
    res.write(`data: ${JSON.stringify(finalChunk)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  /** Meters, prices, signs the delivery and reserves the receipt tx. */
  private async settleTerms(p: ParsedCompletion, c: ReturnType<Gateway['check']>, output: string) {
    if (Buffer.byteLength(output) > INFERENCE_OUTPUT_BYTES_MAX)
      throw upstreamErr(
        'output_too_long',
        `the upstream output is over ${INFERENCE_OUTPUT_BYTES_MAX} bytes, more than a receipt can carry`,
      );
    const tok = await loadTokenizer(c.model.tokenizer);
    const outputTokens = tok.encode(output).length;
    const input = modelInput(p);
    const inputTokens = tok.encode(p.prompt).length;
    const price = c.model.pricePerRequest + c.model.pricePerOutputToken * BigInt(outputTokens);
    if (price > c.request.maxFee)
      throw upstreamErr(
        'over_max_fee',
        `the upstream answer meters ${outputTokens} tokens (${c.model.tokenizer}), price ${price} over maxFee ${c.request.maxFee}; not delivered, no receipt`,
      );
    const d = deliveryFor(c.request, output, outputTokens);
    const signature = signDelivery(d, this.secretKey);
    // The receipt will carry this same signed delivery (and the ack, if it comes in time).
    let resolveTx!: (hash: string) => void;
    let rejectTx!: (e: Error) => void;
    const tx = new Promise<string>((res, rej) => {
      resolveTx = res;
      rejectTx = rej;
    });
    tx.catch(() => {});
    this.pending.set(c.receipt, {
      body: {
        request: c.request,
        input: c.model.method === 'influence' ? input : '',
        output,
        retrieved: [],
        inputTokens,
        outputTokens,
      },
      delivery: d,
      signature,
      requesterKey: c.request.requester,
      requester: formatAddress(addressOf(c.request.requester)),
      maxFee: c.request.maxFee,
      ack: null,
      delivered: false,
      timer: null,
      tx,
      resolveTx,
      rejectTx,
      posting: false,
    });
    return {
      usage: {
        prompt_tokens: inputTokens,
        completion_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
      },
      extra: {
        receipt: c.receipt,
        provider: this.publicKeyHex,
        price: price.toString(),
        delivery: {
          requestHash: to0x(d.requestHash),
          outputHash: to0x(d.outputHash),
          outputTokens,
          signature: to0x(signature),
        },
        /** Where the requester sends its ack, and how long the receipt waits for it. */
        ack: { path: '/v1/ack', waitMs: this.ackWaitMs },
      },
    };
  }

  /**
   * Once `res` is fully written the answer counts as delivered: its receipt is posted when the
   * ack arrives (at once if it already did) or when `ackWaitMs` runs out. A response that is not
   * fully written gets no receipt.
   */
  private deliverThenPost(res: ServerResponse, receipt: string): void {
    res.once('finish', () => {
      const p = this.pending.get(receipt);
      if (p === undefined) return;
      p.delivered = true;
      this.served++;
      if (p.ack !== null) this.postPending(receipt);
      else {
        p.timer = setTimeout(() => this.postPending(receipt), this.ackWaitMs);
        p.timer.unref?.();
      }
    });
    res.once('close', () => {
      if (!res.writableFinished) this.drop(receipt);
    });
  }
}
function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readLimited(r: AsyncIterable<Buffer>, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of r) {
    size += c.length;
    if (size > max) throw upstreamErr('upstream_garbage', `the upstream answer is over ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses `--upstream` values and an optional `--upstream-map FILE` (JSON
 * `{"0x<model id>": {"url": "http://…/v1", "model": "upstream-name"}}`). An `--upstream` value
 * is either `URL` (the default upstream) or `0x<model id>=URL[#upstream-model]`.
 */
export async function parseUpstreams(
  values: string[],
  mapFile?: string,
): Promise<{ defaultUpstream?: string; routes: Map<string, UpstreamRoute> }> {
  const routes = new Map<string, UpstreamRoute>();
  let defaultUpstream: string | undefined;
  const checkUrl = (u: string) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ProviderError('BAD_USAGE', `upstream "${u}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ProviderError('BAD_USAGE', `upstream "${u}" is not http(s)`);
    return u.replace(/\/+$/, '');
  };
  for (const v of values) {
    const m = /^(0x[0-9a-fA-F]{64})=(.+?)(?:#(.+))?$/.exec(v);
    if (m) routes.set(m[1].toLowerCase(), { url: checkUrl(m[2]), model: m[3] ?? m[1].toLowerCase() });
    else if (defaultUpstream !== undefined)
      throw new ProviderError('BAD_USAGE', 'only one --upstream may be a bare URL (the default)');
    else defaultUpstream = checkUrl(v);
  }
  if (mapFile) {
    let j: J;
    try {
      j = JSON.parse(await readFile(mapFile, 'utf8'));
    } catch (e) {
      throw new ProviderError('BAD_USAGE', `--upstream-map ${mapFile}: ${(e as Error).message}`);
    }
    for (const [id, r] of Object.entries(j)) {
      if (!/^0x[0-9a-fA-F]{64}$/.test(id) || typeof r?.url !== 'string' || typeof r?.model !== 'string')
        throw new ProviderError(
          'BAD_USAGE',
          `--upstream-map ${mapFile}: entry "${id}" must be "0x<model id>": {"url", "model"}`,
        );
      routes.set(id.toLowerCase(), { url: checkUrl(r.url), model: r.model });
    }
  }
  return { defaultUpstream, routes };
}
