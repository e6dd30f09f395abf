import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { loadTokenizer } from '../../attribution/tokenizer.js';
import { OpenLedgerClient } from '../../rpc/client.js';
import { MAX_TOKENS_DEFAULT, modelInput, OpenAiError, parseCompletionBody } from '../../rpc/openaiApi.js';
import { loadBuiltinModel, type ServedModel } from './builtin.js';
import { type J, PROVIDER_REFRESH_MS, readBody } from './shared.js';

/**
 * The reference model server (`openledger model-server`): the chain's built-in models (span
 * models: the n-gram generator over their pinned datanets; influence models: the chain
 * classifier) behind the same OpenAI-compatible API that llama.cpp's server, vLLM or Ollama
 * expose, so the gateway (`openledger provider --upstream …`) fronts it exactly as it fronts a
 * real model server. It knows nothing of payment: no key, no receipts. The OpenAI model name of
 * a chain model is its id (`0x…`).
 *
 * `GET /v1/models`, `POST /v1/chat/completions`, `POST /v1/completions` (with `stream`). The
 * output is cut to `max_tokens` tokens of the model's pinned tokenizer.
 */

export interface ModelServerOptions {
  rpcUrl: string;
  host?: string;
  port: number;
  /** Serve only models listing this provider address (default: every active model). */
  provider?: string;
  log?: (line: string) => void;
}

export class ModelServer {
  private readonly client: OpenLedgerClient;
  private readonly models = new Map<string, ServedModel>();
  private readonly loading = new Set<string>();
  private server: Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  url = '';

  constructor(private readonly o: ModelServerOptions) {
    this.client = new OpenLedgerClient(o.rpcUrl, 30_000);
  }

  async start(): Promise<{ url: string }> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => {}), PROVIDER_REFRESH_MS);
    this.server = createServer((req, res) => void this.handle(req, res));
    const host = this.o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
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
  }

  async refresh(): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const r = await this.client.models({ limit: 100, ...(cursor ? { cursor } : {}) });
      for (const m of r.items as J[]) {
        const v = m.latest as J | null;
        if (v === null || v.status !== 'active') continue;
        if (this.o.provider && !(v.providers as string[]).includes(this.o.provider)) continue;
        if (this.models.get(m.id)?.version === v.version) continue;
        const key = `${m.id}@${v.version}`;
        if (this.loading.has(key)) continue;
        this.loading.add(key);
        try {
          this.models.set(m.id, await loadBuiltinModel(this.client, m, v));
          this.o.log?.(`model-server: loaded ${v.method} model ${m.id} v${v.version}`);
        } catch (e) {
          this.o.log?.(`model-server: cannot load ${m.id}: ${(e as Error).message}`);
        } finally {
          this.loading.delete(key);
        }
      }
      if (!r.next) break;
      cursor = r.next;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path === '/v1/models')
        return reply(200, {
          object: 'list',
          data: [...this.models.values()].map((m) => ({
            id: m.id,
            object: 'model',
            created: 0,
            owned_by: 'openledger',
          })),
        });
      const kind =
        path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completion' : null;
      if (req.method !== 'POST' || kind === null)
        throw new OpenAiError(404, 'invalid_request_error', 'not_found', `no route ${req.method} ${path}`);
      let j: unknown;
      try {
        j = JSON.parse(await readBody(req));
      } catch (e) {
        if (e instanceof OpenAiError) throw e;
        throw new OpenAiError(400, 'invalid_request_error', 'invalid_json', `body: ${(e as Error).message}`);
      }
      const p = parseCompletionBody(kind, j);
      const model = this.models.get(p.model);
      if (model === undefined)
        throw new OpenAiError(
          404,
          'invalid_request_error',
          'model_not_found',
          `model ${p.model} is not served here`,
          'model',
        );
      const maxTokens = p.maxTokens ?? MAX_TOKENS_DEFAULT;
      const input = modelInput(p);
      const tok = await loadTokenizer(model.tokenizer);
      let text = await model.answer(input, maxTokens);
      // Words are not tokens: drop words until the pinned tokenizer counts at most maxTokens.
      let n = tok.encode(text).length;
      while (n > maxTokens) {
        const cut = text.search(/\s+\S*$/);
        text = cut <= 0 ? '' : text.slice(0, cut);
        n = tok.encode(text).length;
      }
      const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = {
        prompt_tokens: tok.encode(input).length,
        completion_tokens: n,
        total_tokens: tok.encode(input).length + n,
      };
      if (!p.stream) {
        return reply(
          200,
          kind === 'chat'
            ? {
                id,
                object: 'chat.completion',
                created,
                model: model.id,
                choices: [
                  {
                    index: 0,
                    message: { role: 'assistant', content: text },
                    finish_reason: 'stop',
                    logprobs: null,
                  },
                ],
                usage,
              }
            : {
                id,
                object: 'text_completion',
                created,
                model: model.id,
                choices: [{ index: 0, text, finish_reason: 'stop', logprobs: null }],
                usage,
              },
        );
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const pieces = text.match(/\s*\S+/g) ?? [];
      const chunk = (delta: string | null, finish: string | null) =>
        kind === 'chat'
          ? {
              id,
              object: 'chat.completion.chunk',
              created,
              model: model.id,
              choices: [
                {
                  index: 0,
                  delta: delta === null ? {} : { content: delta },
                  finish_reason: finish,
                  logprobs: null,
                },
              ],
            }
          : {
              id,
              object: 'text_completion',
              created,
              model: model.id,
              choices: [{ index: 0, text: delta ?? '', finish_reason: finish, logprobs: null }],
            };
      if (kind === 'chat')
        res.write(
          `data: ${JSON.stringify({ ...chunk('', null), choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`,
        );
      for (const piece of pieces) res.write(`data: ${JSON.stringify(chunk(piece, null))}\n\n`);
      res.write(`data: ${JSON.stringify({ ...chunk(null, 'stop'), usage })}\n\n`);
      res.end('data: [DONE]\n\n');
    } catch (e) {
      const err =
        e instanceof OpenAiError ? e : new OpenAiError(500, 'server_error', 'internal', (e as Error).message);
      if (!res.headersSent) reply(err.status, err.body());
      else res.end();
    }
  }
}

export const MODEL_SERVER_HELP = `usage: openledger model-server --rpc URL [--port 8700] [--host 127.0.0.1] [--provider ADDRESS]

The reference model server: the chain's built-in models (n-gram generator, chain classifier)
behind an OpenAI-compatible API (/v1/models, /v1/chat/completions, /v1/completions), for
\`openledger provider --upstream\` to front like any llama.cpp / vLLM / Ollama server.`;

/** `openledger model-server …` */
export async function runModelServerCli(argv: string[]): Promise<number> {
  const { parseArgs, intFlag } = await import('../../core/args.js');
  const { flags } = parseArgs(
    argv,
    { strings: ['rpc', 'port', 'host', 'provider'] },
    'openledger model-server',
  );
  if (flags.help) {
    process.stdout.write(`${MODEL_SERVER_HELP}\n`);
    return 0;
  }
  if (!flags.rpc) throw new OpenAiError(400, 'usage', 'BAD_USAGE', '--rpc URL is required');
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const s = new ModelServer({
    rpcUrl: flags.rpc,
    port: intFlag(flags, 'port', 8700, 0, 65535),
    host: flags.host,
    provider: flags.provider,
    log,
  });
  const { url } = await s.start();
  log(`model-server listening on ${url}`);
  return new Promise<number>((resolve) => {
    const stop = () => void s.close().then(() => resolve(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
