import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf } from '../../core/address.js';
import { parseOpen } from '../../core/amount.js';
import { fromHex, to0x } from '../../core/bytes.js';
import { deliveryFor, signAck } from '../../core/delivery.js';
import { type KeyPair, publicKeyOf } from '../../core/keys.js';
import { encodeInferenceRequest, signRequest } from '../../core/tx.js';
import { spanModelBody } from '../../devnet/demo.js';
import { LocalNetwork } from '../../devnet/network.js';
import { freePort } from '../../devnet/ports.js';
import { CLI_ENTRY, REPO_ROOT } from '../../devnet/processes.js';
import { ACK_BODY_BYTES_MAX, Gateway } from '../../devnet/provider/gateway.js';
import { ChainPayer } from '../../devnet/provider/openaiPay.js';
import { RpcCallError } from '../../rpc/client.js';
import { canonicalChat, MAX_TOKENS_MAX, promptHashOf, REQUEST_HEADER } from '../../rpc/openaiApi.js';
import { receiptId } from '../../vm/models.js';

/**
 * The OpenAI-compatible gateway end to end: a 1-validator devnet (real node process), the
 * reference model server as a real child process (`openledger model-server`), the gateway, and
 * the real `openai` SDK paying through `ChainPayer`. A second chain model routes to a
 * misbehaving upstream (a real HTTP server in this process) for the upstream failure cases.
 */

const CORPUS = readFileSync(join(__dirname, '..', 'fixtures', 'tinyshakespeare.txt'), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: JSON
type J = Record<string, any>;

let net: LocalNetwork;
let modelServer: ChildProcess | null = null;
let evil: Server;
let evilHits = 0;
let evilPort = 0;
let evilMode: 'garbage' | 'hang' | 'midstream' | 'http500' | 'reset' | 'noContent' = 'garbage';
let gateway: Gateway;
let good = '';
let bad = '';
/** A model served by provider2 (a second gateway with a small pending limit). */
let other = '';
let requester: KeyPair;
let payer: ChainPayer;
let openai: OpenAI;
let nonce = 1;
let upstreamUrl = '';
/** The challenge window (blocks) an unacknowledged receipt waits out. */
const WINDOW = 8;
/** How long the gateway waits for an ack before posting without one. */
const ACK_WAIT_MS = 1_500;

beforeAll(async () => {
  net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 200,
    chainId: 'gw',
    accounts: { owner: '1000', alice: '1000', provider: '1000', provider2: '1000', requester: '1000' },
    genesisParams: { challengeWindowBlocks: String(WINDOW) },
    nodeConfig: { attribution: { workers: 1 }, log: { level: 'warn' } },
  });
  net.start([0]);
  await net.waitForHeight(2, [0], 120_000);
  const owner = net.wallet('owner', 0);
  const created = await owner.send(
    'datanet.create',
    {
      name: 'plays',
      description: 'plays',
      license: 'public-domain',
      tags: [],
      curation: 'open',
      curators: [],
      bond: parseOpen('1'),
      rejectForfeitBps: 5000,
      contributionBytesMax: 65536,
      labels: [],
    },
    { mode: 'commit' },
  );
  const datanet = created.events.find((e: J) => e.type === 'datanet.created').attrs.datanet as string;
  const c = await net
    .wallet('alice', 0)
    .send(
      'datanet.contribute',
      { datanet: fromHex(datanet), content: CORPUS.slice(0, 4000), label: '' },
      { mode: 'commit' },
    );
  const cid = c.events.find((e: J) => e.type === 'contribution.submitted').attrs.contribution;
  await net.waitFor(
    'accepted',
    async () => (await net.clients[0].contribution(cid)).status === 'accepted',
    60_000,
  );
  const version = (await net.clients[0].datanet(datanet)).version as number;
  const prov = fromHex(net.layout.accounts.provider.address);
  for (const name of ['bard', 'broken', 'other']) {
    const by = name === 'other' ? fromHex(net.layout.accounts.provider2.address) : prov;
    const r = await owner.send('model.register', spanModelBody(name, fromHex(datanet), version, by), {
      mode: 'commit',
    });
    const id = r.events.find((e: J) => e.type === 'model.registered').attrs.model as string;
    if (name === 'bard') good = id;
    else if (name === 'broken') bad = id;
    else other = id;
  }

  const msPort = await freePort();
  modelServer = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI_ENTRY,
      'model-server',
      '--rpc',
      net.layout.nodes[0].rpcUrl,
      '--port',
      String(msPort),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    modelServer!.stdout!.on('data', (d) => {
      out += String(d);
      if (
        out.includes(`loaded span model ${good}`) &&
        out.includes(`loaded span model ${other}`) &&
        out.includes('listening')
      )
        resolve();
    });
    modelServer!.once('exit', (code) => reject(new Error(`model-server exited ${code}: ${out}`)));
  });

  evil = createServer((req, res) => {
    evilHits++;
    req.resume();
    req.on('end', () => {
      if (evilMode === 'garbage') res.end('{"choices": [oops');
      else if (evilMode === 'noContent')
        res.end(JSON.stringify({ choices: [{ message: { role: 'assistant' } }] }));
      else if (evilMode === 'http500') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'CUDA out of memory' } }));
      } else if (evilMode === 'reset') req.socket.destroy();
      else if (evilMode === 'midstream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'half an ans' } }] })}\n\n`,
        );
        setTimeout(() => req.socket.destroy(), 50);
      }
      // 'hang': never answer
    });
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  evilPort = (evil.address() as { port: number }).port;

  const a = net.layout.accounts.provider;
  gateway = new Gateway({
    rpcUrl: net.layout.nodes[0].rpcUrl,
    key: { secretKey: a.secretKey, publicKey: a.publicKey },
    port: 0,
    defaultUpstream: (upstreamUrl = `http://127.0.0.1:${msPort}/v1`),
    routes: new Map([[bad, { url: `http://127.0.0.1:${evilPort}/v1`, model: 'lora-7' }]]),
    upstreamTimeoutMs: 3_000,
    ackWaitMs: ACK_WAIT_MS,
  });
  await gateway.start();
  const r = net.layout.accounts.requester;
  requester = { secretKey: fromHex(r.secretKey, 32), publicKey: fromHex(r.publicKey, 32) };
  payer = new ChainPayer({
    client: net.clients[0],
    key: requester,
    chainId: net.chainId,
    maxFee: parseOpen('1'),
    nonceStart: 1_000_000,
  });
  openai = new OpenAI({ baseURL: gateway.url, apiKey: 'unused', fetch: payer.fetch, maxRetries: 0 });
}, 240_000);

afterAll(async () => {
  await gateway?.close();
  evil?.closeAllConnections();
  evil?.close();
  if (modelServer && modelServer.exitCode === null) {
    const exited = new Promise((r) => modelServer!.once('exit', r));
    modelServer.kill('SIGTERM');
    await exited;
  }
  await net?.close();
}, 60_000);

function header(
  model: string,
  prompt: string,
  o: { maxFee?: bigint; expiry?: number; chainId?: string; key?: KeyPair; n?: number } = {},
) {
  const r = signRequest(
    {
      chainId: o.chainId ?? net.chainId,
      requester: requester.publicKey,
      model: fromHex(model, 32),
      modelVersion: 1,
      promptHash: promptHashOf(prompt),
      maxFee: o.maxFee ?? parseOpen('1'),
      nonce: o.n ?? nonce++,
      expiryHeight: o.expiry ?? 1_000_000,
    },
    (o.key ?? requester).secretKey,
  );
  return to0x(encodeInferenceRequest(r));
}

async function post(path: string, body: unknown, hdr?: string): Promise<{ status: number; j: J }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(hdr ? { [REQUEST_HEADER]: hdr } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!text.startsWith('data: ')) return { status: res.status, j: JSON.parse(text) };
  const events = text
    .split('\n')
    .filter((l) => l.startsWith('data: {'))
    .map((l) => JSON.parse(l.slice(6)) as J);
  return { status: res.status, j: events.find((e) => e.error) ?? events[0] };
}

const chat = (content: string) => [{ role: 'user' as const, content }];

describe('the OpenAI gateway with the openai SDK', () => {
  it('bonded on start; lists the chain models it serves, with their price', async () => {
    const bonded = await net.clients[0].provider(net.layout.accounts.provider.address);
    expect(BigInt(bonded.bond)).toBeGreaterThanOrEqual(
      BigInt((await net.clients[0].params()).providerBondMin),
    );
    const list = await openai.models.list();
    const m = list.data.find((x) => x.id === good) as unknown as J;
    expect(m.owned_by).toBe(net.layout.accounts.provider.address);
    expect(m.openledger.pricePerRequest).toBe(parseOpen('0.01').toString());
  });

  it('non-streaming chat: answers, verifies and acks the delivery, posts the receipt, settles with attribution', async () => {
    const r = await openai.chat.completions.create({
      model: good,
      messages: chat('Speak of the citizens and the corn'),
      max_tokens: 60,
    });
    const text = r.choices[0].message.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    const call = payer.last!;
    expect(call.output).toBe(text);
    expect((r as unknown as J).openledger.receipt).toBe(call.receipt);
    expect(call.ack).toMatch(/^0x[0-9a-f]{128}$/);
    const s = await payer.settled(call.receipt);
    expect(s.matchesDelivery).toBe(true);
    expect(s.receipt.outputTokens).toBe(call.outputTokens);
    const tx = await net.clients[0].transaction(call.tx!);
    expect(tx.status).toBe('committed');
    // Acknowledged through the gateway: settled in the very next block, not after the window.
    expect(call.acked).toBe(true);
    expect(s.receipt).toMatchObject({ acknowledged: true, releaseHeight: 0 });
    expect(s.attribution.height).toBe(s.receipt.height + 1);
    expect(s.attribution.payouts.some((p: J) => p.address === net.layout.accounts.alice.address)).toBe(true);
  }, 90_000);

  it('streaming chat: the deltas are the delivered output; the receipt is posted after the stream', async () => {
    const stream = await openai.chat.completions.create({
      model: good,
      messages: chat('What says the senate'),
      max_tokens: 40,
      stream: true,
    });
    let text = '';
    let extra: J | undefined;
    for await (const ch of stream) {
      text += ch.choices[0]?.delta?.content ?? '';
      if ((ch as unknown as J).openledger) extra = (ch as unknown as J).openledger;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(payer.last!.output).toBe(text);
    expect(extra!.receipt).toBe(payer.last!.receipt);
    expect(payer.last!.acked).toBe(true);
    const s = await payer.settled(payer.last!.receipt);
    expect(s.receipt.output).toBe(text);
    expect(s.receipt).toMatchObject({ acknowledged: true, releaseHeight: 0 });
    expect(s.attribution.height).toBe(s.receipt.height + 1);
  }, 90_000);

  it('concurrent calls each get their own receipt tx nonce: all receipts land (attack: two reservations reading one nonce)', async () => {
    const before = { posted: gateway.poster.posted, failed: gateway.poster.failed };
    const n0 = payer.calls.length;
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        openai.chat.completions.create({
          model: good,
          messages: chat(`citizen ${i}, speak`),
          max_tokens: 12,
        }),
      ),
    );
    const calls = payer.calls.slice(n0);
    expect(calls.length).toBe(8);
    await gateway.drain();
    expect({
      posted: gateway.poster.posted - before.posted,
      failed: gateway.poster.failed - before.failed,
    }).toEqual({ posted: 8, failed: 0 });
    for (const c of calls) expect((await payer.settled(c.receipt)).matchesDelivery).toBe(true);
  }, 90_000);

  it('a receipt whose nonce another tx of the provider key took is signed again and lands (attack: the key used elsewhere)', async () => {
    await gateway.drain();
    // The gateway has its next nonce cached; the operator spends that nonce from another process.
    const other = await net
      .wallet('provider', 0)
      .send('transfer', { to: fromHex(net.layout.accounts.owner.address), amount: 1n });
    const r = await openai.chat.completions.create({
      model: good,
      messages: chat('after the operator paid someone'),
      max_tokens: 12,
    });
    const s = await payer.settled((r as unknown as J).openledger.receipt, 20_000);
    expect(s.matchesDelivery).toBe(true);
    expect(s.receipt.acknowledged).toBe(true);
    expect((await net.clients[0].waitForInclusion(other.hash, 30_000)).result.code).toBe('ok');
  }, 90_000);

  it('completions, streaming and not', async () => {
    const r = await openai.completions.create({ model: good, prompt: 'First Citizen', max_tokens: 30 });
    expect(payer.last!.output).toBe(r.choices[0].text);
    const s = await openai.completions.create({
      model: good,
      prompt: 'Second Citizen',
      max_tokens: 30,
      stream: true,
    });
    let t = '';
    for await (const ch of s) t += ch.choices[0]?.text ?? '';
    expect(payer.last!.output).toBe(t);
    await payer.settled(payer.last!.receipt);
  }, 90_000);
});

describe('acknowledgments through the gateway', () => {
  const quiet = () =>
    new ChainPayer({
      client: net.clients[0],
      key: requester,
      chainId: net.chainId,
      maxFee: parseOpen('1'),
      nonceStart: 7_000_000 + nonce++ * 1000,
      ack: false,
    });
  const sdk = (p: ChainPayer) =>
    new OpenAI({ baseURL: gateway.url, apiKey: 'unused', fetch: p.fetch, maxRetries: 0 });

  it('without an ack (streaming and not) the receipt goes out after the wait and settles only after the challenge window', async () => {
    const p = quiet();
    const o = sdk(p);
    await o.chat.completions.create({ model: good, messages: chat('no thanks'), max_tokens: 20 });
    const s = await o.chat.completions.create({
      model: good,
      messages: chat('no thanks, streamed'),
      max_tokens: 20,
      stream: true,
    });
    for await (const _ of s) {
    }
    expect(p.calls.map((c) => c.acked)).toEqual([false, false]);
    for (const c of p.calls) {
      const r = await p.settled(c.receipt, 90_000);
      expect(r.matchesDelivery).toBe(true);
      expect(r.receipt.acknowledged).toBe(false);
      expect(r.receipt.releaseHeight).toBe(r.receipt.height + WINDOW);
      // Attributed with its job in the next block, but paid only once the window is over.
      expect(r.receipt.status).toBe('settled');
      expect(r.attribution.height).toBe(r.receipt.height + 1);
      expect((await net.clients[0].status()).height).toBeGreaterThanOrEqual(r.receipt.releaseHeight);
    }
  }, 120_000);

  it('forged, wrong, malformed and late acks are refused with typed errors; the real ack then settles it next block', async () => {
    const p = quiet();
    await sdk(p).chat.completions.create({ model: good, messages: chat('ack me later'), max_tokens: 20 });
    const call = p.last!;
    const ackPost = async (body: unknown) => {
      const res = await fetch(`${gateway.url}/ack`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, j: (await res.json()) as J };
    };
    const d = deliveryFor(call.request, call.output, call.outputTokens);
    const stranger = new Uint8Array(32).fill(21);
    const refusedBefore = gateway.acksRefused;
    const cases: [string, unknown, number, string][] = [
      ['not json', '{ack', 400, 'invalid_json'],
      ['bad receipt id', { receipt: '0x12', ack: call.ack }, 400, 'invalid_value'],
      ['ack not hex', { receipt: call.receipt, ack: 'zz' }, 400, 'invalid_ack'],
      // Attack: someone else acknowledges in the requester's name.
      ['signed by a stranger', { receipt: call.receipt, ack: to0x(signAck(d, stranger)) }, 400, 'bad_ack'],
      // Attack: the requester's real signature, but over another output (e.g. one it would prefer).
      [
        'the requester acks another output',
        {
          receipt: call.receipt,
          ack: to0x(signAck(deliveryFor(call.request, 'another answer', 2), requester.secretKey)),
        },
        400,
        'bad_ack',
      ],
      // Attack: an ack of this delivery replayed onto another receipt.
      [
        'an ack for another receipt',
        { receipt: to0x(receiptId(addressOf(requester.publicKey), 424_242)), ack: call.ack },
        404,
        'unknown_receipt',
      ],
    ];
    // ACK_BODY_BYTES_MAX: a body of exactly the limit is read, one byte more is refused.
    const sized = (n: number) => {
      const base = JSON.stringify({ receipt: to0x(new Uint8Array(32).fill(3)), ack: call.ack, pad: '' });
      return base.replace('"pad":""', `"pad":"${'x'.repeat(n - base.length)}"`);
    };
    expect(sized(ACK_BODY_BYTES_MAX).length).toBe(ACK_BODY_BYTES_MAX);
    cases.push(['a body at the size limit', sized(ACK_BODY_BYTES_MAX), 404, 'unknown_receipt']);
    cases.push(['a body over the size limit', sized(ACK_BODY_BYTES_MAX + 1), 413, 'body_too_large']);
    for (const [what, body, status, code] of cases) {
      const r = await ackPost(body);
      expect({ what, status: r.status, code: r.j.error?.code }).toEqual({ what, status, code });
    }
    expect(gateway.acksRefused - refusedBefore).toBe(cases.length);
    // Still up, and the real ack is taken: the receipt is posted with it.
    const ok = await ackPost({ receipt: call.receipt, ack: call.ack });
    expect(ok.status).toBe(200);
    expect(ok.j).toMatchObject({ receipt: call.receipt, acknowledged: true });
    const s = await p.settled(call.receipt);
    expect(s.receipt).toMatchObject({ acknowledged: true, releaseHeight: 0 });
    expect(s.attribution.height).toBe(s.receipt.height + 1);
    // Once posted, a second ack finds nothing to acknowledge.
    expect((await ackPost({ receipt: call.receipt, ack: call.ack })).j.error.code).toBe('unknown_receipt');
  }, 90_000);
});

describe('the pending-answers limit (PENDING_ACKS_MAX, here 2)', () => {
  it('answers up to the limit await their ack; one more is refused 503 before the upstream; an ack frees a slot', async () => {
    const a = net.layout.accounts.provider2;
    const g2 = new Gateway({
      rpcUrl: net.layout.nodes[0].rpcUrl,
      key: { secretKey: a.secretKey, publicKey: a.publicKey },
      port: 0,
      defaultUpstream: upstreamUrl,
      ackWaitMs: 60_000,
      pendingAcksMax: 2,
    });
    await g2.start();
    try {
      const p = new ChainPayer({
        client: net.clients[0],
        key: requester,
        chainId: net.chainId,
        maxFee: parseOpen('1'),
        nonceStart: 9_000_000,
        ack: false,
      });
      const o = new OpenAI({ baseURL: g2.url, apiKey: 'unused', fetch: p.fetch, maxRetries: 0 });
      const ask = (q: string) =>
        o.chat.completions.create({ model: other, messages: chat(q), max_tokens: 8 });
      await ask('one');
      await ask('two');
      const err = (await ask('three').catch((e) => e)) as { status: number; code: string };
      expect([err.status, err.code]).toEqual([503, 'busy']);
      // The requester acknowledges the first: it is posted, and there is room again.
      const ack = await fetch(`${g2.url}/ack`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ receipt: p.calls[0].receipt, ack: p.calls[0].ack }),
      });
      expect(ack.status).toBe(200);
      await ask('four');
      expect(p.calls.length).toBe(3);
    } finally {
      await g2.close();
    }
  }, 90_000);
});

describe('the in-flight limit (UPSTREAM_INFLIGHT_MAX, here 1)', () => {
  it('a call past the limit is refused 503 before the upstream; once the hung call times out, calls go through again', async () => {
    const a = net.layout.accounts.provider2;
    const g3 = new Gateway({
      rpcUrl: net.layout.nodes[0].rpcUrl,
      key: { secretKey: a.secretKey, publicKey: a.publicKey },
      port: 0,
      routes: new Map([[other, { url: `http://127.0.0.1:${evilPort}/v1`, model: 'x' }]]),
      upstreamTimeoutMs: 2_000,
      inflightMax: 1,
    });
    await g3.start();
    try {
      const msgs = chat('hold on');
      const call = async () => {
        const res = await fetch(`${g3.url}/chat/completions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [REQUEST_HEADER]: header(other, canonicalChat(msgs)),
          },
          body: JSON.stringify({ model: other, messages: msgs }),
        });
        return { status: res.status, code: ((await res.json()) as J).error?.code };
      };
      evilMode = 'hang';
      const hits = evilHits;
      const first = call();
      await net.waitFor('the upstream holds the first call', async () => evilHits > hits, 10_000, 20);
      expect(await call()).toEqual({ status: 503, code: 'busy' });
      expect(evilHits).toBe(hits + 1); // the refused call never reached the upstream
      expect(await first).toEqual({ status: 504, code: 'upstream_timeout' });
      evilMode = 'garbage';
      expect(await call()).toEqual({ status: 502, code: 'upstream_garbage' });
    } finally {
      await g3.close();
    }
  }, 60_000);
});

describe('bad input gets the OpenAI error shape, no receipt, and the gateway stays up', () => {
  it('refuses malformed bodies and bad chain requests before calling the upstream', async () => {
    const posted = gateway.poster.posted;
    const msgs = chat('hello there');
    const ok = canonicalChat(msgs);
    const other = fromHex(to0x(new Uint8Array(32).fill(7)));
    // Signed by someone else in the requester's name.
    const stranger = { secretKey: new Uint8Array(32).fill(9), publicKey: requester.publicKey };
    const cases: [string, unknown, string | undefined, number, string][] = [
      ['not json', '{nope', header(good, ok), 400, 'invalid_json'],
      ['messages missing', { model: good }, header(good, ok), 400, 'invalid_type'],
      ['messages wrong type', { model: good, messages: 'hi' }, header(good, ok), 400, 'invalid_type'],
      [
        'content wrong type',
        { model: good, messages: [{ role: 'user', content: 5 }] },
        header(good, ok),
        400,
        'invalid_type',
      ],
      [
        'bad role',
        { model: good, messages: [{ role: 'wizard', content: 'x' }] },
        header(good, ok),
        400,
        'invalid_value',
      ],
      ['n > 1', { model: good, messages: msgs, n: 2 }, header(good, ok), 400, 'unsupported_value'],
      [
        'huge max_tokens',
        { model: good, messages: msgs, max_tokens: MAX_TOKENS_MAX + 1 },
        header(good, ok),
        400,
        'invalid_value',
      ],
      [
        'max_tokens at the limit but above maxFee',
        { model: good, messages: msgs, max_tokens: MAX_TOKENS_MAX },
        header(good, ok),
        402,
        'max_fee_too_low',
      ],
      [
        'unknown parameter',
        { model: good, messages: msgs, tools: [] },
        header(good, ok),
        400,
        'unsupported_parameter',
      ],
      ['missing header', { model: good, messages: msgs }, undefined, 401, 'missing_chain_request'],
      ['garbage header', { model: good, messages: msgs }, '0x1234', 400, 'invalid_chain_request'],
      [
        'forged signature',
        { model: good, messages: msgs },
        header(good, ok, { key: stranger }),
        401,
        'bad_signature',
      ],
      [
        'wrong chain',
        { model: good, messages: msgs },
        header(good, ok, { chainId: 'other' }),
        400,
        'wrong_chain',
      ],
      ['expired', { model: good, messages: msgs }, header(good, ok, { expiry: 1 }), 400, 'request_expired'],
      [
        'prompt not matching hash',
        { model: good, messages: chat('something else') },
        header(good, ok),
        400,
        'prompt_hash_mismatch',
      ],
      [
        'unknown model',
        { model: to0x(other), messages: msgs },
        header(to0x(other), ok),
        404,
        'model_not_found',
      ],
      [
        'body model differs from the request',
        { model: bad, messages: msgs },
        header(good, ok),
        400,
        'model_mismatch',
      ],
      [
        'maxFee below price',
        { model: good, messages: msgs },
        header(good, ok, { maxFee: 1n }),
        402,
        'max_fee_too_low',
      ],
    ];
    // A requester with no funds (a fresh key) cannot have the receipt escrow its maxFee.
    const broke = {
      secretKey: new Uint8Array(32).fill(11),
      publicKey: publicKeyOf(new Uint8Array(32).fill(11)),
    };
    const brokeHeader = to0x(
      encodeInferenceRequest(
        signRequest(
          {
            chainId: net.chainId,
            requester: broke.publicKey,
            model: fromHex(good, 32),
            modelVersion: 1,
            promptHash: promptHashOf(ok),
            maxFee: parseOpen('1'),
            nonce: 1,
            expiryHeight: 1_000_000,
          },
          broke.secretKey,
        ),
      ),
    );
    cases.push([
      'requester cannot pay',
      { model: good, messages: msgs },
      brokeHeader,
      402,
      'insufficient_funds',
    ]);
    for (const [what, body, hdr, status, code] of cases) {
      const r = await post('/chat/completions', body, hdr);
      expect({ what, status: r.status, code: r.j.error?.code }).toEqual({ what, status, code });
      expect(typeof r.j.error.message).toBe('string');
    }
    // A replayed request (same requester nonce) is refused.
    const h = header(good, ok);
    expect((await post('/chat/completions', { model: good, messages: msgs, max_tokens: 5 }, h)).status).toBe(
      200,
    );
    const again = await post('/chat/completions', { model: good, messages: msgs, max_tokens: 5 }, h);
    expect([again.status, again.j.error.code]).toEqual([409, 'request_replayed']);
    await gateway.drain();
    expect(gateway.poster.posted).toBe(posted + 1);
  });

  it('upstream garbage, errors, resets, hangs and mid-stream closes: 502/504, no receipt', async () => {
    const before = { posted: gateway.poster.posted, fillers: gateway.poster.fillers };
    const msgs = chat('tell me');
    const ok = canonicalChat(msgs);
    const cases: [typeof evilMode, boolean, number, string][] = [
      ['garbage', false, 502, 'upstream_garbage'],
      ['noContent', false, 502, 'upstream_garbage'],
      ['http500', false, 502, 'upstream_error'],
      ['reset', false, 502, 'upstream_unavailable'],
      ['hang', false, 504, 'upstream_timeout'],
      ['midstream', true, 200, 'upstream_closed'],
    ];
    for (const [mode, stream, status, code] of cases) {
      evilMode = mode;
      const n = nonce;
      const r = await post('/chat/completions', { model: bad, messages: msgs, stream }, header(bad, ok));
      expect({ mode, status: r.status, code: r.j.error?.code }).toEqual({ mode, status, code });
      const id = to0x(receiptId(addressOf(requester.publicKey), n));
      await expect(net.clients[0].receipt(id)).rejects.toBeInstanceOf(RpcCallError);
    }
    // The SDK raises the mid-stream error.
    await expect(
      (async () => {
        for await (const _ of await openai.chat.completions.create({
          model: bad,
          messages: msgs,
          stream: true,
        })) {
        }
      })(),
    ).rejects.toThrow(/upstream connection failed before the answer was complete/);
    await gateway.drain();
    expect({ posted: gateway.poster.posted, fillers: gateway.poster.fillers }).toEqual(before);
    // Still up.
    const r = await openai.chat.completions.create({
      model: good,
      messages: chat('still there?'),
      max_tokens: 10,
    });
    expect(payer.last!.output).toBe(r.choices[0].message.content);
  }, 60_000);

  it('the client refuses a delivery whose output was altered in transit (attack: swap the text)', async () => {
    const tamper: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const j = (await res.json()) as J;
      j.choices[0].message.content = 'a different answer';
      return new Response(JSON.stringify(j), { status: res.status, headers: res.headers });
    };
    const p2 = new ChainPayer({
      client: net.clients[0],
      key: requester,
      chainId: net.chainId,
      maxFee: parseOpen('1'),
      nonceStart: 5_000_000,
      fetch: tamper,
    });
    const o2 = new OpenAI({ baseURL: gateway.url, apiKey: 'unused', fetch: p2.fetch, maxRetries: 0 });
    await expect(
      o2.chat.completions.create({ model: good, messages: chat('swap me'), max_tokens: 10 }),
    ).rejects.toThrow(/output hash/);
    expect(p2.calls.length).toBe(0);
    // Never acknowledged: the gateway posts its (honest) receipt without an ack; it waits the window.
    const id = to0x(receiptId(addressOf(requester.publicKey), 5_000_000));
    await gateway.drain();
    const r = await net.waitFor(
      'the unacknowledged receipt',
      async () => net.clients[0].receipt(id).catch(() => undefined),
      30_000,
    );
    expect(r).toMatchObject({ acknowledged: false, releaseHeight: r.height + WINDOW });
    expect(r.output).not.toBe('a different answer');
  });
});
