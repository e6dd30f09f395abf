import { OlError } from '../core/errors.js';

/**
 * JSON-RPC error codes. The standard ones come from the JSON-RPC 2.0 specification; the
 * application codes live in the −32000…−32099 server range and are documented in the OpenRPC
 * document and rpc/README.md. Never renumber one.
 */
export const RPC_ERRORS = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  NOT_FOUND: -32001,
  TX_REJECTED: -32002,
  TIMEOUT: -32003,
  UNAVAILABLE: -32004,
  LIMIT_EXCEEDED: -32005,
  BUSY: -32006,
} as const;

export const APPLICATION_ERRORS = [
  {
    code: RPC_ERRORS.NOT_FOUND,
    message: 'Not found: the block, transaction, account or object does not exist (or was pruned).',
  },
  {
    code: RPC_ERRORS.TX_REJECTED,
    message: 'Transaction rejected: data.code carries the mempool or vm error code.',
  },
  {
    code: RPC_ERRORS.TIMEOUT,
    message: 'Timed out waiting (e.g. for a transaction to commit); it may still commit later.',
  },
  {
    code: RPC_ERRORS.UNAVAILABLE,
    message: 'Unavailable right now (e.g. the node is syncing or shutting down).',
  },
  {
    code: RPC_ERRORS.LIMIT_EXCEEDED,
    message: 'A configured limit was exceeded (body, batch, concurrency, subscriptions, rate).',
  },
  {
    code: RPC_ERRORS.BUSY,
    message:
      "Busy: the transaction was not admitted (nothing was kept or gossiped; its nonce is still free) because the mempool holds more than the chain commits soon (data.code BUSY), is full (POOL_FULL) or holds this sender's maximum (SENDER_FULL); send it again after data.retryAfterMs.",
  },
];

/** Mempool refusals that mean "not now" rather than "never": answered with BUSY and a retry hint. */
export const RETRYABLE_REJECTIONS: ReadonlySet<string> = new Set(['BUSY', 'POOL_FULL', 'SENDER_FULL']);

/** Thrown by handlers to produce a specific JSON-RPC error. */
export class RpcError extends OlError {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`RPC_${rpcCode}`, message);
  }
}

export const notFound = (what: string) => new RpcError(RPC_ERRORS.NOT_FOUND, `${what} not found`);
