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
}
