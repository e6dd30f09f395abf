import { sha256 } from '../core/hash.js';

/**
 * The OpenAI-compatible surface shared by the gateway (gateway.ts), the reference model server
 * (modelServer.ts) and the paying client (devnet/provider/openaiPay.ts): request validation, the canonical
 * prompt serialisation the chain request's `promptHash` is taken over, and the error shape.
 *
 * Shapes follow the OpenAI API reference (Chat Completions and legacy Completions, `stream: true`
 * as server-sent events `data: {chunk}\n\n` ending with `data: [DONE]\n\n`; errors as
 * `{"error": {"message", "type", "param", "code"}}`).
 *
 * Canonical prompt (what `promptHash` = SHA-256 of, UTF-8):
 * - `/v1/completions`: the `prompt` string itself, byte for byte (so a completions prompt hashes
 *   exactly like today's `POST /v1/infer` prompt);
 * - `/v1/chat/completions`: `"openledger-chat-v1\n"` followed by `JSON.stringify` of the array
 *   `[[role, content], …]` in message order, where content is the message's string content (a
 *   content array of `{type:"text"}` parts is joined with no separator; other part types are
 *   refused). `JSON.stringify` of arrays of strings is fully specified by ECMA-262 (no
 *   whitespace, fixed escapes), so every client computes the same bytes. Other message fields
 *   (`name`, tool calls) are refused rather than silently dropped from the hash.
 */

export const CHAT_PREFIX = 'openledger-chat-v1\n';
export const MESSAGES_MAX = 256;
export const PROMPT_BYTES_MAX = 32 * 1024;
export const MAX_TOKENS_MAX = 4_096;
export const MAX_TOKENS_DEFAULT = 256;
export const STOP_MAX = 4;
export const ROLES = ['system', 'developer', 'user', 'assistant'] as const;

/** The header carrying the signed chain request (`0x` + hex of `encodeInferenceRequest`). */
export const REQUEST_HEADER = 'x-openledger-request';
export const RECEIPT_HEADER = 'x-openledger-receipt';
export const TX_HEADER = 'x-openledger-tx';
export const DELIVERY_HEADER = 'x-openledger-delivery';

export interface ChatMessage {
  role: (typeof ROLES)[number];
  content: string;
}

export interface ParsedCompletion {
  kind: 'chat' | 'completion';
  model: string;
  messages: ChatMessage[];
  prompt: string;
  stream: boolean;
  maxTokens: number | undefined;
  /** Sampling fields passed through to the upstream as given (validated). */
  passthrough: Record<string, unknown>;
}

export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalid = (code: string, message: string, param: string | null = null) =>
  new OpenAiError(400, 'invalid_request_error', code, message, param);

// biome-ignore lint/suspicious/noExplicitAny: untrusted JSON, checked field by field
type J = Record<string, any>;

function messageContent(m: J, i: number): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    let s = '';
    for (const p of c) {
      if (p === null || typeof p !== 'object' || p.type !== 'text' || typeof p.text !== 'string')
        throw invalid(
          'invalid_type',
          `messages[${i}].content: only text parts are supported`,
          `messages[${i}].content`,
        );
      s += p.text;
    }
    return s;
  }
  throw invalid(
    'invalid_type',
    `messages[${i}].content must be a string or an array of text parts`,
    `messages[${i}].content`,
  );
}

const ALLOWED = {
  chat: new Set([
    'model',
    'messages',
    'stream',
    'max_tokens',
    'max_completion_tokens',
    'n',
    'temperature',
    'top_p',
    'stop',
    'seed',
    'user',
    'stream_options',
  ]),
  completion: new Set([
    'model',
    'prompt',
    'stream',
    'max_tokens',
    'n',
    'temperature',
    'top_p',
    'stop',
    'seed',
    'user',
    'stream_options',
  ]),
};

/** Validates a Chat Completions / Completions body; throws `OpenAiError` (400) on anything off. */
export function parseCompletionBody(kind: 'chat' | 'completion', j: unknown): ParsedCompletion {
  if (j === null || typeof j !== 'object' || Array.isArray(j))
    throw invalid('invalid_body', 'the body must be a JSON object');
  const b = j as J;
  for (const k of Object.keys(b))
    if (!ALLOWED[kind].has(k))
      throw invalid('unsupported_parameter', `parameter "${k}" is not supported by this gateway`, k);
  if (typeof b.model !== 'string' || b.model.length === 0)
    throw invalid('invalid_type', '"model" must be a non-empty string', 'model');
  if (b.n !== undefined && b.n !== null && b.n !== 1)
    throw invalid('unsupported_value', '"n" must be 1: one chain request pays for one answer', 'n');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean')
    throw invalid('invalid_type', '"stream" must be a boolean', 'stream');
  const mt = b.max_completion_tokens ?? b.max_tokens;
  const mtParam = b.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
  if (mt !== undefined && mt !== null && (!Number.isSafeInteger(mt) || mt < 1 || mt > MAX_TOKENS_MAX))
    throw invalid('invalid_value', `"${mtParam}" must be an integer from 1 to ${MAX_TOKENS_MAX}`, mtParam);
  const passthrough: Record<string, unknown> = {};
  for (const k of ['temperature', 'top_p'] as const) {
    if (b[k] === undefined || b[k] === null) continue;
    if (typeof b[k] !== 'number' || !Number.isFinite(b[k]) || b[k] < 0 || b[k] > 2)
      throw invalid('invalid_value', `"${k}" must be a number from 0 to 2`, k);
    passthrough[k] = b[k];
  }
  if (b.seed !== undefined && b.seed !== null) {
    if (!Number.isSafeInteger(b.seed)) throw invalid('invalid_type', '"seed" must be an integer', 'seed');
    passthrough.seed = b.seed;
  }
  if (b.stop !== undefined && b.stop !== null) {
    const stops = typeof b.stop === 'string' ? [b.stop] : b.stop;
    if (!Array.isArray(stops) || stops.length > STOP_MAX || stops.some((s) => typeof s !== 'string'))
      throw invalid('invalid_type', `"stop" must be a string or up to ${STOP_MAX} strings`, 'stop');
    passthrough.stop = stops;
  }
  let messages: ChatMessage[] = [];
  let prompt: string;
  if (kind === 'chat') {
    if (!Array.isArray(b.messages) || b.messages.length === 0)
      throw invalid('invalid_type', '"messages" must be a non-empty array', 'messages');
    if (b.messages.length > MESSAGES_MAX)
      throw invalid('invalid_value', `at most ${MESSAGES_MAX} messages`, 'messages');
    messages = b.messages.map((m: unknown, i: number) => {
      if (m === null || typeof m !== 'object')
        throw invalid('invalid_type', `messages[${i}] must be an object`, `messages[${i}]`);
      const mm = m as J;
      for (const k of Object.keys(mm))
        if (k !== 'role' && k !== 'content')
          throw invalid(
            'unsupported_parameter',
            `messages[${i}].${k} is not supported`,
            `messages[${i}].${k}`,
          );
      if (!ROLES.includes(mm.role))
        throw invalid(
          'invalid_value',
          `messages[${i}].role must be one of ${ROLES.join(', ')}`,
          `messages[${i}].role`,
        );
      return { role: mm.role, content: messageContent(mm, i) };
    });
    prompt = canonicalChat(messages);
  } else {
    if (typeof b.prompt !== 'string')
      throw invalid('invalid_type', '"prompt" must be a string (one prompt per request)', 'prompt');
    prompt = b.prompt;
  }
  if (Buffer.byteLength(prompt) > PROMPT_BYTES_MAX)
    throw invalid(
      'prompt_too_long',
      `prompt over ${PROMPT_BYTES_MAX} bytes`,
      kind === 'chat' ? 'messages' : 'prompt',
    );
  return {
    kind,
    model: b.model,
    messages,
    prompt,
    stream: b.stream === true,
    maxTokens: mt ?? undefined,
    passthrough,
  };
}

/** The canonical serialisation of chat messages (see the module comment). */
export function canonicalChat(messages: readonly { role: string; content: string }[]): string {
  return CHAT_PREFIX + JSON.stringify(messages.map((m) => [m.role, m.content]));
}

/** `promptHash` of a parsed body: SHA-256 of the canonical prompt's UTF-8 bytes. */
export function promptHashOf(canonicalPrompt: string): Uint8Array {
  return sha256(new TextEncoder().encode(canonicalPrompt));
}

/** The text a model classifies / continues: the last user message, or the completions prompt. */
export function modelInput(p: Pick<ParsedCompletion, 'kind' | 'messages' | 'prompt'>): string {
  if (p.kind === 'completion') return p.prompt;
  for (let i = p.messages.length - 1; i >= 0; i--)
    if (p.messages[i].role === 'user') return p.messages[i].content;
  return p.messages[p.messages.length - 1].content;
}

/** Splits an SSE byte stream into `data:` payloads (one per event). */
export async function* sseData(
  body: AsyncIterable<Uint8Array>,
  eventBytesMax: number,
): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += dec.decode(chunk, { stream: true });
    for (;;) {
      const end = buf.search(/\r?\n\r?\n/);
      if (end < 0) break;
      const event = buf.slice(0, end);
      buf = buf.slice(end).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data.length > 0) yield data;
    }
    if (buf.length > eventBytesMax)
      throw new OpenAiError(
        502,
        'upstream_error',
        'upstream_garbage',
        `upstream sent an SSE event over ${eventBytesMax} bytes`,
      );
  }
}
