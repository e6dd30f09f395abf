import type { IncomingMessage } from 'node:http';
import { OlError } from '../../core/errors.js';

/** What the gateway (gateway.ts) and the reference model server (modelServer.ts) share. */

export const PROVIDER_BODY_BYTES_MAX = 64 * 1024;
/** How often the gateway and the model server re-read the chain's models. */
export const PROVIDER_REFRESH_MS = 1_000;

export class ProviderError extends OlError {}

// biome-ignore lint/suspicious/noExplicitAny: JSON results of the RPC, read field by field
export type J = Record<string, any>;

/** The request body as text; over `max` bytes is a `BODY_TOO_LARGE` ProviderError. */
export async function readBody(req: IncomingMessage, max = PROVIDER_BODY_BYTES_MAX): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new ProviderError('BODY_TOO_LARGE', `body over ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
