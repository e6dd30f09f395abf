import { OlError } from '../core/errors.js';

/**
 * JSON-RPC 2.0 transport for the client: plain `fetch` over HTTP, so it runs in Node and in
 * browsers alike. Errors from the server become `RpcCallError` with the JSON-RPC code and data.
 */
export class RpcCallError extends OlError {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`RPC_${rpcCode}`, message, data === undefined ? {} : { data });
  }
}

export const CLIENT_TIMEOUT_MS = 30_000;

export class HttpTransport {
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly timeoutMs = CLIENT_TIMEOUT_MS,
  ) {}

  async call<T = unknown>(method: string, params: unknown[] | Record<string, unknown> = []): Promise<T> {
    const id = this.nextId++;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new RpcCallError(-1, `cannot reach ${this.url}: ${(e as Error).message} (is the node running?)`);
    }
    const text = await res.text();
    let body: { result?: T; error?: { code: number; message: string; data?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new RpcCallError(
        -32700,
        `server answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`,
      );
    }
    if (body.error) throw new RpcCallError(body.error.code, body.error.message, body.error.data);
    return body.result as T;
  }

  /**
   * One JSON-RPC 2.0 batch (one HTTP request): each call's result, or its error as an
   * `RpcCallError` in its slot (a failed call does not fail the others). A transport failure or
   * an error for the whole batch (e.g. over the server's `rpc.batchMax`) throws.
   */
  async batch(calls: { method: string; params: unknown[] | Record<string, unknown> }[]): Promise<unknown[]> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(calls.map((c, i) => ({ jsonrpc: '2.0', id: first + i, ...c }))),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new RpcCallError(-1, `cannot reach ${this.url}: ${(e as Error).message} (is the node running?)`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RpcCallError(
        -32700,
        `server answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!Array.isArray(body)) {
      const e = (body as { error?: { code: number; message: string; data?: unknown } }).error;
      throw new RpcCallError(e?.code ?? -32603, e?.message ?? 'the batch got no array answer', e?.data);
    }
    const out: unknown[] = calls.map(
      () => new RpcCallError(-32603, 'the server answered no response for this call of the batch'),
    );
    for (const r of body as {
      id?: unknown;
      result?: unknown;
      error?: { code: number; message: string; data?: unknown };
    }[]) {
      const i = typeof r?.id === 'number' ? r.id - first : -1;
      if (i < 0 || i >= calls.length) continue;
      out[i] = r.error ? new RpcCallError(r.error.code, r.error.message, r.error.data) : r.result;
    }
    return out;
  }
}
