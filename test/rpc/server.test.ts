import { connect, type Socket } from 'node:net';
import jsonSchemaMeta from '@json-schema-tools/meta-schema';
import metaSchema from '@open-rpc/meta-schema';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { RPC_ERRORS, RpcError } from '../../rpc/errors.js';
import { openRpcDocument } from '../../rpc/openrpc.js';
import { address, amount, doc, int, object, opt, req, str } from '../../rpc/schema.js';
import { DEFAULT_RPC_LIMITS, type MethodDef, RpcServer, WsSession } from '../../rpc/server.js';

let release: () => void = () => {};
const methods: MethodDef[] = [
  {
    name: 'test_echo',
    summary: 'echo',
    params: [
      { name: 'text', schema: str({ maxLength: 10 }), required: true },
      { name: 'times', schema: int(1, 3), required: false },
    ],
    result: { name: 'echoed', schema: doc({ type: 'string' }) },
    handler: (p) => String(p.text).repeat((p.times as number | undefined) ?? 1),
  },
  {
    name: 'test_typed',
    summary: 'typed values',
    params: [
      { name: 'who', schema: address, required: true },
      { name: 'value', schema: amount, required: true },
      { name: 'extra', schema: object({ a: req(int(0, 9)), b: opt(str()) }), required: false },
    ],
    result: { name: 'out', schema: doc({ type: 'object' }) },
    handler: (p) => ({ who: p.who, doubled: (p.value as bigint) * 2n }),
  },
  {
    name: 'test_fail',
    summary: 'fails',
    params: [{ name: 'kind', schema: str(), required: true }],
    result: { name: 'never', schema: doc({ type: 'null' }) },
    handler: (p) => {
      if (p.kind === 'app') throw new RpcError(RPC_ERRORS.NOT_FOUND, 'thing not found', { id: 1n });
      throw new Error('boom with secrets');
    },
  },
  {
    name: 'test_slow',
    summary: 'waits until released',
    params: [],
    result: { name: 'done', schema: doc({ type: 'boolean' }) },
    handler: () => new Promise((r) => (release = () => r(true))),
  },
];

let server: RpcServer;
let url: string;

async function post(
  body: string | object,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  server = new RpcServer(
    methods,
    { ...DEFAULT_RPC_LIMITS, bodyBytesMax: 4096, batchMax: 5, concurrentMax: 2, wsMessagesPerSec: 20 },
    ['https://ok.example'],
  );
  const { port } = await server.listen('127.0.0.1', 0);
  url = `http://127.0.0.1:${port}/`;
});

afterAll(async () => {
  await server.close();
});

describe('JSON-RPC 2.0 semantics over HTTP', () => {
  it('answers a call by position and by name, with any id type', async () => {
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['ab', 2] })).json).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: 'abab',
    });
    expect(
      (await post({ jsonrpc: '2.0', id: 'x', method: 'test_echo', params: { text: 'a' } })).json.result,
    ).toBe('a');
    expect((await post({ jsonrpc: '2.0', id: null, method: 'test_echo', params: ['a'] })).json.id).toBeNull();
    expect((await post({ jsonrpc: '2.0', id: 1.5, method: 'test_echo', params: ['a'] })).json.id).toBe(1.5);
  });

  it('converts bytes and amounts', async () => {
    const r = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'test_typed',
      params: [`0x${'ab'.repeat(20)}`, '12345678901234567890'],
    });
    expect(r.json.result).toEqual({ who: `0x${'ab'.repeat(20)}`, doubled: '24691357802469135780' });
  });

  it('parse error for malformed JSON', async () => {
    const r = await post('{"jsonrpc": "2.0", "method": ');
    expect(r.json).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: expect.any(String) },
    });
  });

  it('invalid request for wrong version, bad method, bad id, bad params, extra members', async () => {
    for (const body of [
      { jsonrpc: '1.0', id: 1, method: 'test_echo' },
      { id: 1, method: 'test_echo' },
      { jsonrpc: '2.0', id: 1, method: 5 },
      { jsonrpc: '2.0', id: { a: 1 }, method: 'test_echo' },
      { jsonrpc: '2.0', id: 1, method: 'test_echo', params: 'abc' },
      { jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['a'], extra: true },
      'not an object',
    ]) {
      const r = await post(JSON.stringify(body));
      expect(r.json.error.code, JSON.stringify(body)).toBe(-32600);
    }
  });

  it('method not found', async () => {
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'nope' })).json.error.code).toBe(-32601);
  });

  it('invalid params: missing, extra, mistyped, out of range', async () => {
    for (const params of [[], ['a', 1, 2], [5], ['a', 9], { text: 'a', what: 1 }, ['far too long text']]) {
      const r = await post({ jsonrpc: '2.0', id: 1, method: 'test_echo', params });
      expect(r.json.error.code, JSON.stringify(params)).toBe(-32602);
    }
    const typed = await post({ jsonrpc: '2.0', id: 1, method: 'test_typed', params: ['0x12', '1'] });
    expect(typed.json.error.code).toBe(-32602);
    const nested = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'test_typed',
      params: [`0x${'ab'.repeat(20)}`, '1', { a: 1, c: 2 }],
    });
    expect(nested.json.error.message).toMatch(/extra\.c/);
  });

  it('application errors carry their code and data; internal errors leak nothing', async () => {
    const app = await post({ jsonrpc: '2.0', id: 1, method: 'test_fail', params: ['app'] });
    expect(app.json.error).toEqual({ code: -32001, message: 'thing not found', data: { id: '1' } });
    const internal = await post({ jsonrpc: '2.0', id: 2, method: 'test_fail', params: ['x'] });
    expect(internal.json.error).toEqual({ code: -32603, message: 'internal error' });
  });

  it('notifications get no response; batches answer only the calls', async () => {
    const note = await post({ jsonrpc: '2.0', method: 'test_echo', params: ['a'] });
    expect(note.status).toBe(204);
    const onlyNotes = await post([{ jsonrpc: '2.0', method: 'test_echo', params: ['a'] }]);
    expect(onlyNotes.status).toBe(204);
    const mixed = await post([
      { jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['a'] },
      { jsonrpc: '2.0', method: 'test_echo', params: ['b'] },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      1,
    ]);
    expect(mixed.json).toEqual([
      { jsonrpc: '2.0', id: 1, result: 'a' },
      { jsonrpc: '2.0', id: 2, error: { code: -32601, message: expect.any(String) } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) } },
    ]);
  });

  it('empty batch is an invalid request; a batch over the limit is refused whole', async () => {
    expect((await post([])).json.error.code).toBe(-32600);
    const call = { jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['a'] };
    expect((await post(Array(5).fill(call))).json).toHaveLength(5);
    expect((await post(Array(6).fill(call))).json.error.code).toBe(-32005);
  });

  it('refuses bodies over the limit and stays up', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['x'.repeat(5000)] });
    const r = await post(big);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe(-32005);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['a'] })).json.result).toBe('a');
  });

  it('limits concurrent requests', async () => {
    const a = post({ jsonrpc: '2.0', id: 1, method: 'test_slow' });
    await new Promise((r) => setTimeout(r, 50));
    const releaseFirst = release;
    const b = post({ jsonrpc: '2.0', id: 2, method: 'test_slow' });
    await new Promise((r) => setTimeout(r, 50));
    const releaseSecond = release;
    const c = await post({ jsonrpc: '2.0', id: 3, method: 'test_echo', params: ['a'] });
    expect(c.json.error.code).toBe(-32005);
    releaseFirst();
    releaseSecond();
    expect((await a).json.result).toBe(true);
    expect((await b).json.result).toBe(true);
  });

  it('only POST / is served; CORS only for configured origins', async () => {
    expect((await fetch(url.replace(/\/$/, '/other'), { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(url)).status).toBe(405);
    const allowed = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://ok.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ok.example');
    const denied = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('WebSocket', () => {
  function open(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url.replace('http', 'ws') + 'ws');
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  it('answers calls and survives garbage', async () => {
    const ws = await open();
    const replies: any[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
    ws.send('{{{');
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'test_echo', params: ['hi'] }));
    await new Promise((r) => setTimeout(r, 200));
    expect(replies).toContainEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: expect.any(String) },
    });
    expect(replies).toContainEqual({ jsonrpc: '2.0', id: 7, result: 'hi' });
    ws.close();
  });

  it('rate-limits a flood and closes a persistent flooder, while HTTP stays responsive', async () => {
    const ws = await open();
    const replies: any[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    for (let i = 0; i < 200; i++)
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'test_echo', params: ['a'] }));
    expect(await closed).toBe(1008);
    expect(replies.some((r) => r.error?.code === -32005)).toBe(true);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['a'] })).json.result).toBe('a');
  });
});

describe('connection limit', () => {
  it('httpConnectionsMax: a connection over the limit is dropped; freeing one lets the next in', async () => {
    const small = new RpcServer(methods, { ...DEFAULT_RPC_LIMITS, httpConnectionsMax: 2 });
    const { port } = await small.listen('127.0.0.1', 0);
    const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'test_echo', params: ['a'] });
    const request = `POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${call.length}\r\n\r\n${call}`;
    /** A keep-alive connection that has been served once (so the server has counted it). */
    const served = () =>
      new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => s.write(request));
        s.once('data', (d) =>
          d.toString().includes('"result":"a"') ? resolve(s) : reject(new Error('no answer')),
        );
        s.once('error', reject);
      });
    try {
      const a = await served();
      const b = await served();
      const c = connect(port, '127.0.0.1', () => c.write(request));
      const answered = await new Promise<boolean>((resolve) => {
        c.once('data', () => resolve(true));
        c.once('close', () => resolve(false));
        c.once('error', () => resolve(false));
      });
      expect(answered).toBe(false);
      a.destroy();
      await new Promise((r) => setTimeout(r, 50));
      const d = await served();
      d.destroy();
      b.destroy();
    } finally {
      await small.close();
    }
  });
});

describe('WebSocket limits', () => {
  it('wsConnectionsMax: one connection over the limit is refused with 503; others keep working', async () => {
    const small = new RpcServer(methods, { ...DEFAULT_RPC_LIMITS, wsConnectionsMax: 2 });
    const { port } = await small.listen('127.0.0.1', 0);
    const connect = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    try {
      const a = await connect();
      const b = await connect();
      await expect(connect()).rejects.toThrow(/503/);
      a.close();
      await new Promise((r) => a.once('close', r));
      await new Promise((r) => setTimeout(r, 50));
      const c = await connect();
      b.close();
      c.close();
    } finally {
      await small.close();
    }
  });

  it('wsBufferedBytesMax: a client that stops reading is cut off, its subscriptions dropped', () => {
    const socket = { readyState: 1, OPEN: 1, bufferedAmount: 0, send: vi.fn(), terminate: vi.fn() };
    const session = new WsSession(socket as unknown as WebSocket, 10, 1000);
    const off = vi.fn();
    session.subscriptions.set('0x1', off);
    session.send({ a: 1 });
    expect(socket.send).toHaveBeenCalledTimes(1);
    socket.bufferedAmount = 1001;
    session.send({ a: 2 });
    expect(socket.send).toHaveBeenCalledTimes(1);
    expect(socket.terminate).toHaveBeenCalledTimes(1);
    expect(off).toHaveBeenCalledTimes(1);
    expect(session.subscriptions.size).toBe(0);
  });
});

describe('OpenRPC document', () => {
  it('validates against the OpenRPC meta-schema', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false });
    // The OpenRPC meta-schema refers to the JSON Schema meta-schema by two spellings of one URL.
    const { $id: _id, ...jsonMeta } = jsonSchemaMeta as Record<string, unknown>;
    ajv.addSchema(jsonMeta, 'https://meta.json-schema.tools/');
    ajv.addSchema(jsonMeta, 'https://meta.json-schema.tools');
    const validate = ajv.compile(metaSchema as object);
    const document = openRpcDocument(methods, '0.1.0');
    const ok = validate(document);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The validator is not vacuous: a broken document fails.
    expect(validate({ ...document, methods: [{ name: 5 }] })).toBe(false);
  });
});
