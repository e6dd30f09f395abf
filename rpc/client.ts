import { addressOf, formatAddress } from '../core/address.js';
import { fromHex, to0x } from '../core/bytes.js';
import { sha256 } from '../core/hash.js';
import type { KeyPair } from '../core/keys.js';
import {
  encodeTx,
  type InferenceRequest,
  signRequest,
  signTx,
  TX_VERSION,
  type Tx,
  type TxBodies,
  type TxType,
  txHash,
} from '../core/tx.js';
import { verifyProof } from '../state/proof.js';
import { KEYS } from '../state/stores/keys.js';
import { HttpTransport, RpcCallError } from './transport.js';

/** Key helpers, so a browser page needs nothing but this module. */
export { generateKeyPair, publicKeyOf } from '../core/keys.js';
/**
 * Result types: every method below returns the type generated from its OpenRPC result schema
 * (`OlMethodResults` in rpc/resultTypes.ts; a test fails when the file and the schemas differ).
 */
export type * from './resultTypes.js';

import type { BlockResult, OlMethodResults, SubmittedResult, TransactionResult } from './resultTypes.js';

/** A committed transaction as `ol_getTransaction` and `ol_sendTransaction` (commit mode) return it. */
export type CommittedTx = Extract<TransactionResult, { status: 'committed' }>;
/** A decoded transaction (blocks asked with `full`). */
export type DecodedTx = CommittedTx['tx'];
/** A block whose `txs` are hashes, or decoded transactions when asked with `full`. */
export type BlockOf<F extends boolean> = Omit<BlockResult, 'txs'> & {
  txs: F extends true ? DecodedTx[] : string[];
};
/** What `ol_sendTransaction` answers in each mode. */
export type SubmittedOf<M extends 'sync' | 'commit'> = M extends 'commit'
  ? CommittedTx
  : Extract<SubmittedResult, { status: 'pending' }>;
/** The state-proof verifier (pure, @noble/hashes) and the raw state keys it is used with. */
export { KEYS, verifyProof };

/**
 * The TypeScript client: typed calls for every `ol_` method, transaction builders that sign with
 * @noble/curves, `waitForInclusion`, and a `Wallet` that tracks its nonce. Results come back as
 * the server's JSON (0x hex bytes, decimal-string amounts); `units()` and `bytes()` convert.
 */

export { RpcCallError };

export const DEFAULT_GAS_LIMIT: Readonly<Record<TxType, number>> = {
  transfer: 100_000,
  'validator.create': 200_000,
  'stake.delegate': 200_000,
  'stake.undelegate': 200_000,
  'stake.withdrawRewards': 200_000,
  'validator.unjail': 200_000,
  'datanet.create': 500_000,
  'datanet.contribute': 3_000_000,
  'datanet.review': 200_000,
  'model.register': 20_000_000,
  'model.update': 20_000_000,
  'inference.receipt': 2_000_000,
  'attribution.settle': 0,
  'gov.propose': 500_000,
  'gov.vote': 200_000,
  'provider.bond': 200_000,
  'provider.unbond': 200_000,
  'inference.challenge': 300_000,
};

export const units = (s: string): bigint => BigInt(s);
export const bytes = (h: string): Uint8Array => fromHex(h);
/** `0x` hex of bytes (state keys for `stateProof`, …). */
export const toHex0x = (b: Uint8Array): string => to0x(b);

export interface BuiltTx {
  tx: Tx;
  bytes: Uint8Array;
  hash: Uint8Array;
  hex: string;
}

export interface TxOptions {
  chainId: string;
  nonce: number;
  gasLimit?: number;
  gasPrice?: bigint;
}

/** Builds and signs any transaction type. */
export function buildTx<K extends TxType>(type: K, body: TxBodies[K], key: KeyPair, o: TxOptions): BuiltTx {
  const tx = signTx(
    {
      version: TX_VERSION,
      chainId: o.chainId,
      type,
      sender: key.publicKey,
      nonce: o.nonce,
      gasLimit: o.gasLimit ?? DEFAULT_GAS_LIMIT[type],
      gasPrice: o.gasPrice ?? 1n,
      body,
    },
    key.secretKey,
  ) as Tx;
  const encoded = encodeTx(tx);
  return { tx, bytes: encoded, hash: txHash(encoded), hex: to0x(encoded) };
}

/** A requester's signed inference request (the provider puts it in its receipt). */
export function buildRequest(
  key: KeyPair,
  r: {
    chainId: string;
    model: Uint8Array;
    modelVersion: number;
    prompt: string;
    maxFee: bigint;
    nonce: number;
    expiryHeight: number;
  },
): InferenceRequest {
  return signRequest(
    {
      chainId: r.chainId,
      requester: key.publicKey,
      model: r.model,
      modelVersion: r.modelVersion,
      promptHash: sha256(new TextEncoder().encode(r.prompt)),
      maxFee: r.maxFee,
      nonce: r.nonce,
      expiryHeight: r.expiryHeight,
    },
    key.secretKey,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: JSON results, read field by field
type J = Record<string, any>;

/** The JSON-RPC code of a backpressure refusal (rpc/errors.ts `RPC_ERRORS.BUSY`). */
export const RPC_BUSY = -32006;
/** How long `sendRawRetrying` and `Wallet.send` keep retrying a BUSY refusal by default. */
export const BUSY_RETRY_DEADLINE_MS = 30_000;

/** The node's retry hint when `e` is a BUSY refusal, else null. */
export function busyRetryAfterMs(e: unknown): number | null {
  if (!(e instanceof RpcCallError) || e.rpcCode !== RPC_BUSY) return null;
  const hint = (e.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof hint === 'number' && hint >= 0 && hint <= 60_000 ? hint : 1_000;
}

export class OpenLedgerClient {
  readonly transport: HttpTransport;

  constructor(
    readonly url: string,
    timeoutMs?: number,
  ) {
    this.transport = new HttpTransport(url, timeoutMs);
  }

  call<T = J>(method: string, params: unknown[] | Record<string, unknown> = []): Promise<T> {
    return this.transport.call<T>(method, params);
  }

  /** An `ol_` method with its result typed from the OpenRPC schema (rpc/resultTypes.ts, generated). */
  ol<M extends keyof OlMethodResults>(
    method: M,
    params: unknown[] | Record<string, unknown>,
  ): Promise<OlMethodResults[M]> {
    return this.transport.call<OlMethodResults[M]>(method, params);
  }

  // chain
  status = () => this.ol('ol_status', []);
  blockByHeight<F extends boolean = false>(height: number, full?: F): Promise<BlockOf<F>> {
    return this.ol('ol_getBlockByHeight', [height, full ?? false]) as Promise<BlockOf<F>>;
  }
  blockByHash<F extends boolean = false>(hash: string, full?: F): Promise<BlockOf<F>> {
    return this.ol('ol_getBlockByHash', [hash, full ?? false]) as Promise<BlockOf<F>>;
  }
  transaction = (hash: string) => this.ol('ol_getTransaction', [hash]);
  account = (address: string) => this.ol('ol_getAccount', [address]);
  validators = (height?: number) => this.ol('ol_getValidators', height === undefined ? [] : [height]);
  stateProof = (keyHex: string, height?: number) =>
    this.ol('ol_getStateProof', height === undefined ? [keyHex] : [keyHex, height]);
  // transactions
  /** Mode 'sync' (default): `{hash, status: 'pending'}` after admission; 'commit': the committed tx. */
  sendRaw<M extends 'sync' | 'commit' = 'sync'>(
    txHex: string,
    mode?: M,
    timeoutMs?: number,
  ): Promise<SubmittedOf<M>> {
    const m = mode ?? 'sync';
    return this.ol(
      'ol_sendTransaction',
      timeoutMs === undefined ? [txHex, m] : [txHex, m, timeoutMs],
    ) as Promise<SubmittedOf<M>>;
  }
  /**
   * `sendRaw` that backs off and sends the same bytes again while the node answers BUSY (−32006:
   * not admitted, nothing kept, nonce still free), waiting the node's `retryAfterMs` hint (with
   * jitter, so refused clients do not return in lockstep) until `deadlineMs` has passed.
   */
  async sendRawRetrying<M extends 'sync' | 'commit' = 'sync'>(
    txHex: string,
    mode?: M,
    o: { timeoutMs?: number; deadlineMs?: number } = {},
  ): Promise<SubmittedOf<M>> {
    const deadline = Date.now() + (o.deadlineMs ?? BUSY_RETRY_DEADLINE_MS);
    for (;;) {
      try {
        return await this.sendRaw(txHex, mode, o.timeoutMs);
      } catch (e) {
        const hint = busyRetryAfterMs(e);
        if (hint === null || Date.now() + hint > deadline) throw e;
        await new Promise((r) => setTimeout(r, hint + Math.floor(Math.random() * (hint / 2 + 1))));
      }
    }
  }
  /**
   * Submits signed txs in ONE HTTP request (a JSON-RPC batch of `ol_sendTransaction`, mode
   * 'sync'): each slot is `{hash, status}` or the `RpcCallError` that refused that tx.
   */
  async sendRawBatch(txHexes: string[]): Promise<(SubmittedOf<'sync'> | RpcCallError)[]> {
    return (await this.transport.batch(
      txHexes.map((h) => ({ method: 'ol_sendTransaction', params: [h, 'sync'] })),
    )) as (SubmittedOf<'sync'> | RpcCallError)[];
  }
  simulate = (txHex: string) => this.ol('ol_simulateTransaction', [txHex]);
  estimateGas = (txHex: string) => this.ol('ol_estimateGas', [txHex]);
  // datanets
  datanet = (id: string) => this.ol('ol_getDatanet', [id]);
  datanets = (q: { owner?: string; tag?: string; cursor?: string; limit?: number } = {}) =>
    this.ol('ol_listDatanets', q);
  contributions = (
    q: { datanet?: string; contributor?: string; status?: string; cursor?: string; limit?: number } = {},
  ) => this.ol('ol_listContributions', q);
  contribution = (id: string, content = false) => this.ol('ol_getContribution', [id, content]);
  // models
  model = (id: string) => this.ol('ol_getModel', [id]);
  models = (q: { owner?: string; cursor?: string; limit?: number } = {}) => this.ol('ol_listModels', q);
  modelVersion = (id: string, version: number) => this.ol('ol_getModelVersion', [id, version]);
  // inference and attribution
  receipt = (id: string) => this.ol('ol_getReceipt', [id]);
  provider = (address: string) => this.ol('ol_getProvider', [address]);
  attribution = (receipt: string) => this.ol('ol_getAttribution', [receipt]);
  earnings = (address: string, q: { cursor?: string; limit?: number } = {}) =>
    this.ol('ol_getEarnings', { address, ...q });
  job = (id: number) => this.ol('ol_getJob', [id]);
  attribute = (model: string, text: string) => this.ol('ol_attribute', [model, text]);
  // governance
  proposal = (id: number) => this.ol('ol_getProposal', [id]);
  proposals = (q: { cursor?: string; limit?: number } = {}) => this.ol('ol_listProposals', q);
  params = () => this.ol('ol_getParams', []);
  events = (q: { fromHeight: number; toHeight: number; type?: string; address?: string }) =>
    this.ol('ol_getEvents', q);
  discover = () => this.call('rpc.discover');

  /**
   * Fetches a proof of a raw state key (see `KEYS`) and checks it here: the proof against the
   * returned root, and the root against the header of that height. Trust in the header itself
   * (e.g. its commit signatures) is the caller's to establish.
   */
  async verifiedState(
    key: Uint8Array,
    height?: number,
  ): Promise<{ value: Uint8Array | undefined; height: number; verified: boolean }> {
    const p = await this.stateProof(to0x(key), height);
    const value = p.value === null ? undefined : fromHex(p.value);
    const rootMatchesHeader = p.header === null || p.header.stateRoot === p.root;
    const verified = rootMatchesHeader && verifyProof(fromHex(p.root), key, value, fromHex(p.proof));
    return { value, height: p.height, verified };
  }

  /** Polls until the transaction is committed (returns it) or `timeoutMs` passes (throws). */
  async waitForInclusion(hashHex: string, timeoutMs = 30_000, pollMs = 200): Promise<J> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const t = await this.transaction(hashHex);
        if (t.status === 'committed') return t;
      } catch (e) {
        if (!(e instanceof RpcCallError) || e.rpcCode !== -32001) throw e;
      }
      if (Date.now() > deadline)
        throw new RpcCallError(-32003, `transaction ${hashHex} not committed within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

/** An account that signs and sends, tracking its next nonce locally. */
export class Wallet {
  readonly address: string;
  private nonce: number | undefined;

  constructor(
    readonly client: OpenLedgerClient,
    readonly key: KeyPair,
    readonly chainId: string,
  ) {
    this.address = formatAddress(addressOf(key.publicKey));
  }

  static fromSecretHex(
    client: OpenLedgerClient,
    secretHex: string,
    publicHex: string,
    chainId: string,
  ): Wallet {
    return new Wallet(
      client,
      { secretKey: fromHex(secretHex, 32), publicKey: fromHex(publicHex, 32) },
      chainId,
    );
  }

  async nextNonce(): Promise<number> {
    if (this.nonce === undefined) this.nonce = (await this.client.account(this.address)).nonce as number;
    return this.nonce;
  }

  /** Forget the local nonce (after a rejected tx) so the next send asks the node. */
  resync(): void {
    this.nonce = undefined;
  }

  async build<K extends TxType>(
    type: K,
    body: TxBodies[K],
    opts: { gasLimit?: number; gasPrice?: bigint } = {},
  ): Promise<BuiltTx> {
    const nonce = await this.nextNonce();
    this.nonce = nonce + 1;
    return buildTx(type, body, this.key, { chainId: this.chainId, nonce, ...opts });
  }

  /** Builds, signs and submits; mode 'commit' waits for the block and returns the committed tx. */
  async send<K extends TxType>(
    type: K,
    body: TxBodies[K],
    opts: {
      gasLimit?: number;
      gasPrice?: bigint;
      mode?: 'sync' | 'commit';
      timeoutMs?: number;
      /** How long to keep retrying while the node answers BUSY (0 = do not retry). */
      busyDeadlineMs?: number;
    } = {},
  ): Promise<J> {
    const built = await this.build(type, body, opts);
    try {
      return await this.client.sendRawRetrying(built.hex, opts.mode ?? 'sync', {
        timeoutMs: opts.timeoutMs,
        deadlineMs: opts.busyDeadlineMs,
      });
    } catch (e) {
      this.resync();
      throw e;
    }
  }
}

/** The WebSocket surface the subscriber needs: the browser's `WebSocket` and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: (event: unknown) => void): void;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;

export type SubscriptionKind = 'newHeads' | 'events' | 'tx' | 'job';

/**
 * Subscriptions over `/ws`: `ol_subscribe` / `ol_unsubscribe`, with each notification handed to
 * the callback given at subscribe time. Pass the WebSocket class (`WebSocket` in a browser, the
 * `ws` package's default export in Node 20, which has no global WebSocket).
 */
export class OpenLedgerSubscriber {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void; onResult?: (v: unknown) => void }
  >();
  private readonly handlers = new Map<string, (item: J) => void>();

  private constructor(private readonly socket: WebSocketLike) {
    socket.addEventListener('message', (event) => this.onMessage(String(event.data)));
    socket.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new RpcCallError(-1, 'WebSocket closed'));
      this.pending.clear();
    });
  }

  /** Opens `ws://host:port/ws` (derived from an http(s) RPC URL if given one). */
  static connect(url: string, WebSocketImpl: WebSocketFactory): Promise<OpenLedgerSubscriber> {
    const wsUrl = url.startsWith('http') ? `${url.replace(/^http/, 'ws').replace(/\/?$/, '/')}ws` : url;
    return new Promise((resolve, reject) => {
      const socket = new WebSocketImpl(wsUrl);
      socket.addEventListener('open', () => resolve(new OpenLedgerSubscriber(socket)));
      socket.addEventListener('error', () => reject(new RpcCallError(-1, `cannot open ${wsUrl}`)));
    });
  }

  call<T = J>(
    method: string,
    params: unknown[] | Record<string, unknown> = [],
    onResult?: (result: unknown) => void,
  ): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onResult });
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Subscribes; `onItem` gets every notification's result. Returns the subscription id. */
  subscribe(kind: SubscriptionKind, filter: J | undefined, onItem: (item: J) => void): Promise<string> {
    // The handler is registered while the reply is processed, not after an await: a notification
    // in the same network read as the reply (e.g. a tx already committed) would otherwise be lost.
    return this.call<string>('ol_subscribe', filter === undefined ? [kind] : [kind, filter], (id) =>
      this.handlers.set(id as string, onItem),
    );
  }

  async unsubscribe(id: string): Promise<boolean> {
    this.handlers.delete(id);
    return this.call<boolean>('ol_unsubscribe', [id]);
  }

  close(): void {
    this.socket.close();
  }

  private onMessage(text: string): void {
    let m: J;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.method === 'ol_subscription') {
      this.handlers.get(m.params?.subscription)?.(m.params.result);
      return;
    }
    const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.error) p.reject(new RpcCallError(m.error.code, m.error.message, m.error.data));
    else {
      p.onResult?.(m.result);
      p.resolve(m.result);
    }
  }
}
