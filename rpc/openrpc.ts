import { APPLICATION_ERRORS } from './errors.js';
import type { MethodDef } from './server.js';

/**
 * Builds the OpenRPC 1.2 document (served by `rpc.discover`) from the same method definitions
 * and schemas the server validates with: one source of truth.
 */
export const OPENRPC_VERSION = '1.2.6';

export function openRpcDocument(methods: readonly MethodDef[], version: string): Record<string, unknown> {
  return {
    openrpc: OPENRPC_VERSION,
    info: {
      title: 'OpenLedger node JSON-RPC',
      version,
      description:
        'JSON-RPC 2.0 over HTTP (POST /) and WebSocket (/ws). Bytes are 0x hex, amounts are decimal strings of base units (10^-18 OPEN). Application error codes: ' +
        APPLICATION_ERRORS.map((e) => `${e.code} ${e.message}`).join(' '),
    },
    methods: methods.map((m) => ({
      name: m.name,
      summary: m.summary,
      ...(m.description ? { description: m.description } : {}),
      ...(m.tags?.length ? { tags: m.tags.map((name) => ({ name })) } : {}),
      paramStructure: 'either',
      params: m.params.map((p) => ({
        name: p.name,
        required: p.required,
        ...(p.description ? { description: p.description } : {}),
        schema: p.schema.json,
      })),
      result: { name: m.result.name, schema: m.result.schema.json },
      errors: APPLICATION_ERRORS.map((e) => ({ code: e.code, message: e.message })),
    })),
  };
}
