/**
 * The explorer's JSON-RPC client: POST `/` and WebSocket `/ws` of the origin that served the page
 * (the node's explorer port answers only public reads). Every answer is checked for the JSON-RPC
 * 2.0 envelope before use, so a stale, truncated or malformed answer becomes an `RpcFailure`
 * the page shows, never a blank page.
 */

export const RPC_TIMEOUT_MS = 10_000;

export type FailureKind = 'unreachable' | 'rpc' | 'malformed';

export class RpcFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** JSON-RPC error code for kind "rpc" (−32001 is "not found"). */
    readonly code?: number,
  ) {
    super(message);
    this.name = 'RpcFailure';
  }
  get notFound(): boolean {
    return this.kind === 'rpc' && this.code === -32001;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: JSON from the node, read field by field
export type J = Record<string, any>;

let nextId = 1;

function unwrap(reply: unknown, id: number): unknown {
  if (
    typeof reply !== 'object' ||
    reply === null ||
    (reply as J).jsonrpc !== '2.0' ||
    (reply as J).id !== id
  ) {
    throw new RpcFailure('malformed', 'the node sent an answer that is not a JSON-RPC 2.0 response');
  }
  const r = reply as J;
  if (r.error !== undefined) {
    const e = r.error;
    throw new RpcFailure('rpc', typeof e?.message === 'string' ? e.message : 'error', Number(e?.code));
  }
  if (!('result' in r)) throw new RpcFailure('malformed', 'the answer has neither result nor error');
  return r.result;
}

async function post(body: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch('/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
  } catch (e) {
    throw new RpcFailure('unreachable', `the node does not answer (${(e as Error).message})`);
  }
  const text = await res.text().catch(() => '');
  try {
    return JSON.parse(text);
  } catch {
    throw new RpcFailure(
      res.ok ? 'malformed' : 'unreachable',
      res.ok ? 'the node sent something that is not JSON' : `HTTP ${res.status} from the node`,
    );
  }
}

export async function call<T = J>(method: string, params: unknown[] = []): Promise<T> {
  const id = nextId++;
  return unwrap(await post({ jsonrpc: '2.0', id, method, params }), id) as T;
}

/** Several calls in one HTTP request; each settles on its own (a not-found does not fail the rest). */
export async function batch(
  calls: [method: string, params: unknown[]][],
): Promise<PromiseSettledResult<J>[]> {
  if (calls.length === 0) return [];
  const ids = calls.map(() => nextId++);
  const reply = await post(
    calls.map(([method, params], i) => ({ jsonrpc: '2.0', id: ids[i], method, params })),
  );
  if (!Array.isArray(reply)) {
    // A batch-level error (e.g. a limit) answers every call.
    return calls.map(() => ({ status: 'rejected', reason: failureOf(() => unwrap(reply, -1)) }));
  }
  return ids.map((id) => {
    const r = reply.find((x) => typeof x === 'object' && x !== null && (x as J).id === id);
    try {
      return { status: 'fulfilled', value: unwrap(r, id) as J };
    } catch (e) {
      return { status: 'rejected', reason: e };
    }
  });
}

function failureOf(f: () => unknown): RpcFailure {
  try {
    f();
  } catch (e) {
    if (e instanceof RpcFailure) return e;
  }
  return new RpcFailure('malformed', 'unexpected batch answer');
}

/**
 * `newHeads` over the WebSocket, reconnecting with back-off while the page is open. `onState`
 * says whether the live feed is connected, so the page can say when it is not.
 */
export function watchHeads(onHead: (head: J) => void, onState: (live: boolean) => void): () => void {
  let ws: WebSocket | null = null;
  let stopped = false;
  let delayMs = 500;
  let timer: number | undefined;
  const open = () => {
    if (stopped) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    ws = new WebSocket(url);
    const subId = nextId++;
    let sub: string | null = null;
    ws.onopen = () => {
      delayMs = 500;
      ws?.send(JSON.stringify({ jsonrpc: '2.0', id: subId, method: 'ol_subscribe', params: ['newHeads'] }));
    };
    ws.onmessage = (m) => {
      let msg: J;
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (msg.id === subId && typeof msg.result === 'string') {
        sub = msg.result;
        onState(true);
      } else if (msg.method === 'ol_subscription' && msg.params?.subscription === sub) {
        const h = msg.params.result;
        if (typeof h?.height === 'number' && typeof h?.hash === 'string') onHead(h);
      }
    };
    ws.onclose = () => {
      onState(false);
      if (stopped) return;
      timer = window.setTimeout(open, delayMs);
      delayMs = Math.min(delayMs * 2, 10_000);
    };
  };
  open();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    ws?.close();
  };
}
