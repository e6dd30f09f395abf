import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { OlError } from '../core/errors.js';
import { RPC_ERRORS, RpcError } from './errors.js';
import { ParamError, type S, toJson } from './schema.js';
import type { StaticSite } from './site.js';

/**
 * JSON-RPC 2.0 over HTTP (`POST /`) and WebSocket (`/ws`), per the JSON-RPC 2.0 specification:
 * batches, notifications (no response), ids of any allowed type, the standard error codes.
 * Every resource a client can consume has a named, configurable limit; exceeding one is a
 * −32005 error for that client, never a crash and never a stall for others.
 */

export interface RpcLimits {
  bodyBytesMax: number;
  batchMax: number;
  concurrentMax: number;
  subscriptionsMax: number;
  wsMessagesPerSec: number;
  wsConnectionsMax: number;
  /** Unsent bytes one WebSocket may queue (a client that does not read); beyond, it is closed. */
  wsBufferedBytesMax: number;
  /** Open TCP connections (HTTP keep-alive and WebSocket); beyond, new ones are dropped at once. */
  httpConnectionsMax: number;
}

export const DEFAULT_RPC_LIMITS: RpcLimits = {
  bodyBytesMax: 1_048_576,
  batchMax: 100,
  concurrentMax: 256,
  subscriptionsMax: 64,
  wsMessagesPerSec: 200,
  wsConnectionsMax: 1024,
  wsBufferedBytesMax: 16 * 1_048_576,
  httpConnectionsMax: 4096,
};

export interface ParamDef {
  name: string;
  schema: S<unknown>;
  required: boolean;
  description?: string;
}

export interface CallContext {
  /** Present for calls over WebSocket. */
  ws?: WsSession;
}

export interface MethodDef {
  name: string;
  summary: string;
  description?: string;
  tags?: string[];
  params: ParamDef[];
  result: { name: string; schema: S<unknown> };
  /** Example params for documentation and for the per-method tests. */
  handler(params: Record<string, unknown>, ctx: CallContext): unknown;
  /** Only callable over WebSocket (subscriptions). */
  wsOnly?: boolean;
}

type Id = string | number | null;
interface Response {
  jsonrpc: '2.0';
  id: Id;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export interface RpcLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const errorResponse = (id: Id, code: number, message: string, data?: unknown): Response => ({
  jsonrpc: '2.0',
  id,
  error: data === undefined ? { code, message } : { code, message, data },
});

function validId(id: unknown): id is Id {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

export class WsSession {
  readonly subscriptions = new Map<string, () => void>();
  private tokens: number;
  private lastMs = Date.now();

  constructor(
    readonly socket: WebSocket,
    private readonly ratePerSec: number,
    private readonly bufferedBytesMax = DEFAULT_RPC_LIMITS.wsBufferedBytesMax,
  ) {
    this.tokens = ratePerSec * 2;
  }

  /** Token bucket for incoming messages (burst 2× the rate). */
  takeToken(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.ratePerSec * 2, this.tokens + ((now - this.lastMs) * this.ratePerSec) / 1000);
    this.lastMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Sends unless the client has stopped reading: subscriptions push whether or not the client
   * keeps up, so without this bound a stalled client would grow the server's memory without limit.
   */
  send(message: unknown): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > this.bufferedBytesMax) {
      this.closeAll();
      this.socket.terminate(); // a close frame would queue behind the data it does not read
      return;
    }
    this.socket.send(JSON.stringify(message));
  }

  closeAll(): void {
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
  }
}

export class RpcServer {
  private readonly methods = new Map<string, MethodDef>();
  private inFlight = 0;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sessions = new Set<WsSession>();
  readonly stats = { requests: 0, errors: 0, limited: 0 };

  constructor(
    methods: readonly MethodDef[],
    readonly limits: RpcLimits = DEFAULT_RPC_LIMITS,
    private readonly cors: readonly string[] = [],
    private readonly log: RpcLogger = { warn() {}, debug() {} },
    /** Static files served on GET (the explorer); without it GET is refused as before. */
    private readonly site?: StaticSite,
  ) {
    for (const m of methods) this.methods.set(m.name, m);
  }

  methodList(): MethodDef[] {
    return [...this.methods.values()];
  }

  /** Handles one parsed JSON payload (single or batch). Returns undefined when nothing is owed. */
  async handlePayload(payload: unknown, ctx: CallContext): Promise<Response | Response[] | undefined> {
    if (Array.isArray(payload)) {
      if (payload.length === 0) return errorResponse(null, RPC_ERRORS.INVALID_REQUEST, 'empty batch');
      if (payload.length > this.limits.batchMax) {
        this.stats.limited++;
        return errorResponse(
          null,
          RPC_ERRORS.LIMIT_EXCEEDED,
          `batch of ${payload.length} exceeds the limit of ${this.limits.batchMax}`,
        );
      }
      const results = await Promise.all(payload.map((r) => this.handleOne(r, ctx)));
      const owed = results.filter((r): r is Response => r !== undefined);
      return owed.length > 0 ? owed : undefined;
    }
    return this.handleOne(payload, ctx);
  }

  private async handleOne(request: unknown, ctx: CallContext): Promise<Response | undefined> {
    this.stats.requests++;
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return errorResponse(null, RPC_ERRORS.INVALID_REQUEST, 'a request must be an object');
    }
    const r = request as Record<string, unknown>;
    const hasId = 'id' in r;
    const id: Id = hasId && validId(r.id) ? (r.id as Id) : null;
    if (r.jsonrpc !== '2.0')
      return errorResponse(id, RPC_ERRORS.INVALID_REQUEST, 'jsonrpc must be exactly "2.0"');
    if (hasId && !validId(r.id))
      return errorResponse(null, RPC_ERRORS.INVALID_REQUEST, 'id must be a string, a number or null');
    if (typeof r.method !== 'string')
      return errorResponse(id, RPC_ERRORS.INVALID_REQUEST, 'method must be a string');
    if (r.params !== undefined && (typeof r.params !== 'object' || r.params === null)) {
      return errorResponse(id, RPC_ERRORS.INVALID_REQUEST, 'params must be an array or an object');
    }
    for (const k of Object.keys(r)) {
      if (k !== 'jsonrpc' && k !== 'id' && k !== 'method' && k !== 'params') {
        return errorResponse(id, RPC_ERRORS.INVALID_REQUEST, `unexpected member ${JSON.stringify(k)}`);
      }
    }
    const response = await this.call(
      r.method,
      r.params as unknown[] | Record<string, unknown> | undefined,
      id,
      ctx,
    );
    return hasId ? response : undefined;
  }

  private async call(
    name: string,
    rawParams: unknown[] | Record<string, unknown> | undefined,
    id: Id,
    ctx: CallContext,
  ): Promise<Response> {
    const method = this.methods.get(name);
    if (method === undefined || (method.wsOnly && ctx.ws === undefined)) {
      return errorResponse(
        id,
        RPC_ERRORS.METHOD_NOT_FOUND,
        method
          ? `${name} is only available over WebSocket (/ws)`
          : `method ${JSON.stringify(name.slice(0, 80))} does not exist`,
      );
    }
    if (this.inFlight >= this.limits.concurrentMax) {
      this.stats.limited++;
      return errorResponse(
        id,
        RPC_ERRORS.LIMIT_EXCEEDED,
        `server busy: ${this.limits.concurrentMax} requests in flight`,
      );
    }
    let params: Record<string, unknown>;
    try {
      params = parseParams(method, rawParams);
    } catch (e) {
      return errorResponse(id, RPC_ERRORS.INVALID_PARAMS, (e as Error).message);
    }
    this.inFlight++;
    try {
      const result = await method.handler(params, ctx);
      return { jsonrpc: '2.0', id, result: toJson(result ?? null) };
    } catch (e) {
      this.stats.errors++;
      if (e instanceof RpcError) return errorResponse(id, e.rpcCode, e.message, toJson(e.data));
      if (e instanceof ParamError) return errorResponse(id, RPC_ERRORS.INVALID_PARAMS, e.message);
      if (e instanceof OlError)
        return errorResponse(id, RPC_ERRORS.INVALID_PARAMS, e.message, { code: e.code });
      this.log.warn({ method: name, err: (e as Error).stack ?? String(e) }, 'rpc handler failed');
      return errorResponse(id, RPC_ERRORS.INTERNAL_ERROR, 'internal error');
    } finally {
      this.inFlight--;
    }
  }

  /** Starts HTTP + WebSocket on host:port (port 0 picks a free one). */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const http = createServer((req, res) => void this.onHttp(req, res));
    http.headersTimeout = 10_000;
    http.requestTimeout = 30_000;
    http.keepAliveTimeout = 5_000;
    http.maxConnections = this.limits.httpConnectionsMax;
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.bodyBytesMax });
    http.on('upgrade', (req, socket, head) => {
      if (req.url !== '/ws' || this.sessions.size >= this.limits.wsConnectionsMax) {
        socket.write(
          req.url !== '/ws' ? 'HTTP/1.1 404 Not Found\r\n\r\n' : 'HTTP/1.1 503 Service Unavailable\r\n\r\n',
        );
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.onWs(ws));
    });
    http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      else socket.destroy();
    });
    this.http = http;
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const addr = http.address() as AddressInfo;
    return { host: addr.address, port: addr.port };
  }

  async close(): Promise<void> {
    for (const s of this.sessions) {
      s.closeAll();
      s.socket.terminate();
    }
    this.sessions.clear();
    this.wss?.close();
    const http = this.http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }

  private setCors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin === undefined || this.cors.length === 0) return;
    if (this.cors.includes('*')) res.setHeader('access-control-allow-origin', '*');
    else if (this.cors.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
    } else return;
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'content-type');
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body?: unknown) => {
      if (body === undefined) {
        res.writeHead(status).end();
        return;
      }
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    try {
      this.setCors(req, res);
      if (req.method === 'OPTIONS') return send(204);
      if (req.url === '/health' && req.method === 'GET') return send(200, { ok: true });
      if (this.site && (req.method === 'GET' || req.method === 'HEAD')) return this.site.serve(req, res);
      if (req.url !== '/' || req.method !== 'POST') {
        return send(
          req.url === '/' ? 405 : 404,
          errorResponse(null, RPC_ERRORS.INVALID_REQUEST, 'POST JSON-RPC to / (or use /ws)'),
        );
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > this.limits.bodyBytesMax) {
        this.stats.limited++;
        res.setHeader('connection', 'close');
        send(
          413,
          errorResponse(null, RPC_ERRORS.LIMIT_EXCEEDED, `body exceeds ${this.limits.bodyBytesMax} bytes`),
        );
        req.destroy();
        return;
      }
      const body = await readBody(req, this.limits.bodyBytesMax);
      if (body === undefined) {
        this.stats.limited++;
        res.setHeader('connection', 'close');
        send(
          413,
          errorResponse(null, RPC_ERRORS.LIMIT_EXCEEDED, `body exceeds ${this.limits.bodyBytesMax} bytes`),
        );
        return;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        return send(200, errorResponse(null, RPC_ERRORS.PARSE_ERROR, 'parse error: body is not valid JSON'));
      }
      const response = await this.handlePayload(payload, {});
      if (response === undefined) return send(204);
      send(200, response);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'http request failed');
      if (!res.headersSent) send(500, errorResponse(null, RPC_ERRORS.INTERNAL_ERROR, 'internal error'));
      else res.destroy();
    }
  }

  private onWs(ws: WebSocket): void {
    const session = new WsSession(ws, this.limits.wsMessagesPerSec, this.limits.wsBufferedBytesMax);
    this.sessions.add(session);
    let strikes = 0;
    ws.on('message', (data, isBinary) => {
      if (!session.takeToken()) {
        this.stats.limited++;
        // Tell the client once per excess message; persistent flooding closes the socket.
        if (++strikes > this.limits.wsMessagesPerSec) {
          ws.close(1008, 'message rate exceeded');
          return;
        }
        session.send(
          errorResponse(
            null,
            RPC_ERRORS.LIMIT_EXCEEDED,
            `more than ${this.limits.wsMessagesPerSec} messages per second`,
          ),
        );
        return;
      }
      strikes = 0;
      if (isBinary) {
        session.send(errorResponse(null, RPC_ERRORS.PARSE_ERROR, 'send JSON text frames'));
        return;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(data.toString());
      } catch {
        session.send(errorResponse(null, RPC_ERRORS.PARSE_ERROR, 'parse error: message is not valid JSON'));
        return;
      }
      void this.handlePayload(payload, { ws: session }).then(
        (response) => {
          if (response !== undefined) session.send(response);
        },
        (e) => this.log.warn({ err: (e as Error).message }, 'ws request failed'),
      );
    });
    ws.on('close', () => {
      session.closeAll();
      this.sessions.delete(session);
    });
    ws.on('error', () => ws.terminate());
  }
}

function parseParams(
  method: MethodDef,
  raw: unknown[] | Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const defs = method.params;
  if (raw === undefined) raw = [];
  if (Array.isArray(raw)) {
    if (raw.length > defs.length)
      throw new ParamError('params', `${method.name} takes at most ${defs.length} parameters`);
    defs.forEach((d, i) => {
      const v = raw[i];
      if (v === undefined || v === null) {
        if (d.required) throw new ParamError(d.name, 'missing');
        return;
      }
      out[d.name] = d.schema.parse(v, d.name);
    });
    return out;
  }
  for (const k of Object.keys(raw)) {
    if (!defs.some((d) => d.name === k)) throw new ParamError(k, `unknown parameter of ${method.name}`);
  }
  for (const d of defs) {
    const v = raw[d.name];
    if (v === undefined || v === null) {
      if (d.required) throw new ParamError(d.name, 'missing');
      continue;
    }
    out[d.name] = d.schema.parse(v, d.name);
  }
  return out;
}

/** Reads a request body, giving up (undefined) as soon as it passes `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}
