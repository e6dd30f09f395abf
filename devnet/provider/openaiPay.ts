import { DEFAULT_TOKENIZER, loadTokenizer } from '../../attribution/tokenizer.js';
import { addressOf, formatAddress } from '../../core/address.js';
import { bytesEqual, fromHex, to0x } from '../../core/bytes.js';
import { deliveryFor, signAck, verifyDelivery } from '../../core/delivery.js';
import { OlError } from '../../core/errors.js';
import type { KeyPair } from '../../core/keys.js';
import { encodeInferenceRequest, type InferenceRequest, signRequest } from '../../core/tx.js';
import { type OpenLedgerClient, RpcCallError } from '../../rpc/client.js';
import { parseCompletionBody, promptHashOf, REQUEST_HEADER, sseData } from '../../rpc/openaiApi.js';

/**
 * Makes the official `openai` SDK pay through the chain:
 *
 * ```ts
 * const payer = new ChainPayer({ client, key, chainId, maxFee: parseOpen('1') });
 * const openai = new OpenAI({ baseURL: 'http://127.0.0.1:8600/v1', apiKey: 'unused', fetch: payer.fetch });
 * const r = await openai.chat.completions.create({ model: '0x<model id>', messages });
 * payer.last  // receipt id, tx hash, provider, verified delivery, the requester's ack
 * await payer.settled(payer.last.receipt)  // the receipt and its attribution, once settled
 * ```
 *
 * For each call `fetch` reads the SDK's JSON body, signs a chain inference request for it (prompt
 * hash over the canonical prompt, model version from the chain, expiry `expiryBlocks` ahead, a
 * fresh nonce) and sends it in `x-openledger-request`. On the answer it checks the gateway's
 * signed delivery: the request hash is this request's, the output hash is the text the SDK will
 * hand the app, the token count is what the model's pinned tokenizer counts, the signature is by
 * a provider the chain lists for the model. Then it signs the acknowledgment and sends it to the
 * gateway (`POST …/v1/ack`), which posts the receipt with it: the receipt settles in the next
 * block instead of after the challenge window. The ack is sent before the SDK gets the answer
 * (non-streaming) or before the stream ends, so once a call returns its receipt is on its way. A
 * delivery that does not check out is never acknowledged and turns into an error the SDK raises
 * (non-streaming: HTTP 502 with the OpenAI error shape; streaming: the stream fails). A failed ack
 * does not fail the call (the answer was delivered; the receipt then settles after the window):
 * it is recorded in `PaidCall.ackError`. The SDK is not imported here: this is a `fetch`.
 */

export const EXPIRY_BLOCKS_DEFAULT = 100;
/** How long the payer reuses the chain height it read (for expiries). */
export const HEIGHT_CACHE_MS = 1_000;

export interface PaidCall {
  receipt: string;
  /** The receipt tx hash, as the gateway answered the ack; null when not acknowledged. */
  tx: string | null;
  provider: string;
  output: string;
  outputTokens: number;
  price: string;
  request: InferenceRequest;
  /** The provider's delivery signature (0x) — the requester's evidence if the receipt differs. */
  deliverySignature: string;
  /** The requester's acknowledgment signature over the same delivery (0x). */
  ack: string;
  /** Whether the gateway accepted the ack (the receipt then settles in the next block). */
  acked: boolean;
  /** Why the ack was not accepted, when it was sent and refused or could not be sent. */
  ackError?: string;
}

export class DeliveryError extends Error {
  readonly code = 'BAD_DELIVERY';
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field
type J = Record<string, any>;

export interface ChainPayerOptions {
  client: OpenLedgerClient;
  key: KeyPair;
  chainId: string;
  /** Most the requester pays per call (escrowed on the receipt). */
  maxFee: bigint;
  expiryBlocks?: number;
  /** First request nonce (default: derived from the clock, so restarts do not reuse nonces). */
  nonceStart?: number;
  /** The fetch used underneath (default: the global one). */
  fetch?: typeof fetch;
  /** Send the ack to the gateway (default true); false keeps it (the receipt waits the window). */
  ack?: boolean;
}

/** How long the payer waits for the gateway to accept an ack. */
export const ACK_TIMEOUT_MS = 10_000;

export class ChainPayer {
  private nonce: number;
  private readonly inner: typeof fetch;
  private readonly modelInfo = new Map<
    string,
    Promise<{ version: number; tokenizer: string; providers: string[] }>
  >();
  readonly calls: PaidCall[] = [];

  constructor(private readonly o: ChainPayerOptions) {
    this.nonce = o.nonceStart ?? Date.now() * 1000;
    this.inner = o.fetch ?? fetch;
  }

  get last(): PaidCall | undefined {
    return this.calls[this.calls.length - 1];
  }

  private info(model: string) {
    let p = this.modelInfo.get(model);
    if (p === undefined) {
      p = this.o.client.model(model).then((m) => {
        const v = m.latest;
        if (v === null) throw new OlError('MODEL_NOT_FOUND', `model ${model} has no version`);
        const params = new Map<string, string>((v.params as J[]).map((x) => [x.key, x.value]));
        const training = (v.training as J[] | null) ?? [];
        const tokenizer =
          (v.method === 'influence'
            ? training.find((x) => x.key === 'tokenizer')?.value
            : params.get('tokenizer')) ?? DEFAULT_TOKENIZER;
        return { version: v.version as number, tokenizer, providers: v.providers as string[] };
      });
      p.catch(() => this.modelInfo.delete(model));
      this.modelInfo.set(model, p);
    }
    return p;
  }

  private heightAt: { height: number; atMs: number; pending: Promise<number> | null } = {
    height: 0,
    atMs: 0,
    pending: null,
  };

  /**
   * The chain height for the request's expiry, read at most once per `HEIGHT_CACHE_MS` (shared by
   * concurrent calls): one status call per call would load the node more than the calls do, and
   * an expiry `expiryBlocks` ahead of a height a second old is still far ahead.
   */
  private async height(): Promise<number> {
    const h = this.heightAt;
    if (Date.now() - h.atMs < HEIGHT_CACHE_MS) return h.height;
    h.pending ??= this.o.client
      .status()
      .then((s) => {
        h.height = s.height as number;
        h.atMs = Date.now();
        return h.height;
      })
      .finally(() => {
        h.pending = null;
      });
    return h.pending;
  }

  /** A `fetch` for `new OpenAI({ fetch })`. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const path = new URL(url).pathname;
    const kind = path.endsWith('/chat/completions')
      ? 'chat'
      : path.endsWith('/completions')
        ? 'completion'
        : null;
    if (kind === null || typeof init?.body !== 'string') return this.inner(input, init);
    const p = parseCompletionBody(kind, JSON.parse(init.body));
    const info = await this.info(p.model);
    const height = await this.height();
    const request = signRequest(
      {
        chainId: this.o.chainId,
        requester: this.o.key.publicKey,
        model: fromHex(p.model, 32),
        modelVersion: info.version,
        promptHash: promptHashOf(p.prompt),
        maxFee: this.o.maxFee,
        nonce: this.nonce++,
        expiryHeight: height + (this.o.expiryBlocks ?? EXPIRY_BLOCKS_DEFAULT),
      },
      this.o.key.secretKey,
    );
    const headers = new Headers(init.headers);
    headers.set(REQUEST_HEADER, to0x(encodeInferenceRequest(request)));
    const res = await this.inner(input, { ...init, headers });
    if (!res.ok) return res;
    if (!p.stream) {
      const text = await res.text();
      const j = JSON.parse(text) as J;
      const output = kind === 'chat' ? j.choices?.[0]?.message?.content : j.choices?.[0]?.text;
      try {
        await this.accept(request, info, String(output), j.openledger, url);
      } catch (e) {
        return errorResponse(e as Error);
      }
      return new Response(text, { status: res.status, headers: res.headers });
    }
    // Streaming: pass every byte through; check the delivery on the last chunk before [DONE].
    const body = res.body;
    if (body === null) return res;
    let output = '';
    let extra: J | undefined;
    const self = this;
    const [forApp, forCheck] = body.tee();
    const checked = (async () => {
      for await (const data of sseData(forCheck as unknown as AsyncIterable<Uint8Array>, 1 << 20)) {
        if (data === '[DONE]') return self.accept(request, info, output, extra, url);
        const ch = JSON.parse(data) as J;
        if (ch.error) return;
        const c = ch.choices?.[0];
        output += (kind === 'chat' ? c?.delta?.content : c?.text) ?? '';
        if (ch.openledger) extra = ch.openledger;
      }
    })();
    checked.catch(() => {});
    const reader = forApp.getReader();
    const stream = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        const { done, value } = await reader.read();
        if (!done) return ctl.enqueue(value);
        try {
          await checked;
          ctl.close();
        } catch (e) {
          ctl.error(e);
        }
      },
      cancel: (r) => reader.cancel(r),
    });
    return new Response(stream, { status: res.status, headers: res.headers });
  };

  private async accept(
    request: InferenceRequest,
    info: { tokenizer: string; providers: string[] },
    output: string,
    extra: J | undefined,
    url: string,
  ): Promise<void> {
    if (extra === undefined || extra === null || typeof extra.delivery !== 'object')
      throw new DeliveryError('the gateway sent no openledger delivery with the answer');
    const d = deliveryFor(request, output, (await loadTokenizer(info.tokenizer)).encode(output).length);
    const got = extra.delivery as J;
    if (!bytesEqual(fromHex(got.requestHash), d.requestHash))
      throw new DeliveryError('the delivery is for another request');
    if (!bytesEqual(fromHex(got.outputHash), d.outputHash))
      throw new DeliveryError('the delivery output hash is not the text received');
    if (got.outputTokens !== d.outputTokens)
      throw new DeliveryError(
        `the delivery counts ${got.outputTokens} tokens; the pinned tokenizer counts ${d.outputTokens}`,
      );
    const providerKey = fromHex(extra.provider, 32);
    if (!info.providers.includes(formatAddress(addressOf(providerKey))))
      throw new DeliveryError(
        'the delivery is signed by a key the chain does not list as a provider of the model',
      );
    const sig = fromHex(got.signature, 64);
    if (!verifyDelivery(d, providerKey, sig))
      throw new DeliveryError('the delivery signature does not verify');
    const call: PaidCall = {
      receipt: String(extra.receipt),
      tx: null,
      provider: to0x(providerKey),
      output,
      outputTokens: d.outputTokens,
      price: String(extra.price),
      request,
      deliverySignature: to0x(sig),
      ack: to0x(signAck(d, this.o.key.secretKey)),
      acked: false,
    };
    this.calls.push(call);
    if (this.calls.length > 1000) this.calls.shift();
    if (this.o.ack !== false) await this.sendAck(call, url);
  }

  /** Sends the ack to the gateway that answered (`…/v1/ack` next to `…/v1/chat/completions`). */
  private async sendAck(call: PaidCall, url: string): Promise<void> {
    const ackUrl = url.replace(/\/(chat\/)?completions(\?.*)?$/, '/ack');
    try {
      const res = await this.inner(ackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ receipt: call.receipt, ack: call.ack }),
        signal: AbortSignal.timeout(ACK_TIMEOUT_MS),
      });
      const j = (await res.json().catch(() => ({}))) as J;
      if (res.ok && j.acknowledged === true) {
        call.acked = true;
        call.tx = typeof j.tx === 'string' ? j.tx : null;
      } else call.ackError = `${j.error?.code ?? res.status}: ${j.error?.message ?? 'ack refused'}`;
    } catch (e) {
      call.ackError = (e as Error).message;
    }
  }

  /**
   * Waits until the receipt is settled (or refunded): an acknowledged one in the block after it,
   * an unacknowledged one once the challenge window is over. Returns it with its attribution (who
   * was paid, the scores and evidence spans). Also checks the posted output is the delivered one.
   */
  async settled(
    receipt: string,
    timeoutMs = 60_000,
    pollMs = 250,
  ): Promise<{ receipt: J; attribution: J; matchesDelivery: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await this.o.client.receipt(receipt);
        // 'held': attributed, its payout waiting out the challenge window (no ack).
        if (r.status !== 'pending' && r.status !== 'held') {
          const attribution = await this.o.client.attribution(receipt);
          const call = this.calls.find((c) => c.receipt === receipt);
          return { receipt: r, attribution, matchesDelivery: call === undefined || r.output === call.output };
        }
      } catch (e) {
        if (!(e instanceof RpcCallError) || e.rpcCode !== -32001) throw e;
      }
      if (Date.now() > deadline)
        throw new RpcCallError(-32003, `receipt ${receipt} not settled within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

function errorResponse(e: Error): Response {
  return new Response(
    JSON.stringify({
      error: { message: e.message, type: 'delivery_error', param: null, code: 'bad_delivery' },
    }),
    {
      status: 502,
      headers: { 'content-type': 'application/json' },
    },
  );
}
