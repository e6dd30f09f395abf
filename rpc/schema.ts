import { parseAddress } from '../core/address.js';
import { parseUnits } from '../core/amount.js';
import { fromHex } from '../core/bytes.js';
import { OlError } from '../core/errors.js';

/**
 * Parameter and result schemas for the JSON-RPC API: ONE source of truth. Each schema both
 * validates/converts incoming JSON (hex → bytes, decimal strings → bigint) and emits the JSON Schema
 * that goes into the OpenRPC document, so the document cannot drift from what the server accepts.
 */

export type JsonSchema = Record<string, unknown>;

export class ParamError extends OlError {
  constructor(path: string, message: string) {
    super('INVALID_PARAMS', `${path}: ${message}`, { path });
  }
}

export interface S<T> {
  readonly json: JsonSchema;
  parse(value: unknown, path: string): T;
}

export type Out<X> = X extends S<infer T> ? T : never;

const describe = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? `string ${JSON.stringify(v.slice(0, 40))}`
        : typeof v;

export function str(opts: { maxLength?: number; pattern?: RegExp; description?: string } = {}): S<string> {
  const maxLength = opts.maxLength ?? 1024;
  const json: JsonSchema = { type: 'string', maxLength };
  if (opts.pattern) json.pattern = opts.pattern.source;
  if (opts.description) json.description = opts.description;
  return {
    json,
    parse(v, path) {
      if (typeof v !== 'string') throw new ParamError(path, `expected a string, got ${describe(v)}`);
      if (v.length > maxLength) throw new ParamError(path, `longer than ${maxLength} characters`);
      if (opts.pattern && !opts.pattern.test(v))
        throw new ParamError(path, `does not match ${opts.pattern.source}`);
      return v;
    },
  };
}

export function int(min: number, max: number, description?: string): S<number> {
  return {
    json: { type: 'integer', minimum: min, maximum: max, ...(description ? { description } : {}) },
    parse(v, path) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v))
        throw new ParamError(path, `expected an integer, got ${describe(v)}`);
      if (v < min || v > max) throw new ParamError(path, `${v} is outside [${min}, ${max}]`);
      return v;
    },
  };
}

export const bool: S<boolean> = {
  json: { type: 'boolean' },
  parse(v, path) {
    if (typeof v !== 'boolean') throw new ParamError(path, `expected true or false, got ${describe(v)}`);
    return v;
  },
};

/** `0x`-prefixed hex bytes, optionally of an exact length. */
export function hex(bytes?: number, maxBytes = 4 * 1024 * 1024, description?: string): S<Uint8Array> {
  const pattern = bytes === undefined ? '^0x([0-9a-fA-F]{2})*$' : `^0x[0-9a-fA-F]{${bytes * 2}}$`;
  return {
    json: { type: 'string', pattern, ...(description ? { description } : {}) },
    parse(v, path) {
      if (typeof v !== 'string' || !v.startsWith('0x'))
        throw new ParamError(path, `expected 0x-prefixed hex, got ${describe(v)}`);
      if (v.length > 2 + maxBytes * 2) throw new ParamError(path, `more than ${maxBytes} bytes`);
      try {
        return fromHex(v, bytes);
      } catch (e) {
        throw new ParamError(path, (e as Error).message);
      }
    },
  };
}

export const hash32 = hex(32, 32, '32-byte hash, 0x hex');

export const address: S<Uint8Array> = {
  json: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', description: '20-byte address, 0x hex' },
  parse(v, path) {
    try {
      return parseAddress(v as string);
    } catch (e) {
      throw new ParamError(path, (e as Error).message);
    }
  },
};

/** Base units as a decimal string. */
export const amount: S<bigint> = {
  json: {
    type: 'string',
    pattern: '^(0|[1-9][0-9]*)$',
    description: 'amount in base units (10^-18 OPEN), decimal string',
  },
  parse(v, path) {
    try {
      return parseUnits(v as string);
    } catch (e) {
      throw new ParamError(path, (e as Error).message);
    }
  },
};

export function oneOf<const V extends string>(values: readonly V[]): S<V> {
  return {
    json: { type: 'string', enum: [...values] },
    parse(v, path) {
      if (typeof v !== 'string' || !values.includes(v as V))
        throw new ParamError(path, `expected one of ${values.join(', ')}`);
      return v as V;
    },
  };
}

export function array<T>(item: S<T>, maxItems: number): S<T[]> {
  return {
    json: { type: 'array', items: item.json, maxItems },
    parse(v, path) {
      if (!Array.isArray(v)) throw new ParamError(path, `expected an array, got ${describe(v)}`);
      if (v.length > maxItems) throw new ParamError(path, `more than ${maxItems} items`);
      return v.map((x, i) => item.parse(x, `${path}[${i}]`));
    },
  };
}

type Fields = Record<string, { s: S<unknown>; optional?: boolean }>;
type ObjOut<F extends Fields> = {
  [K in keyof F as F[K]['optional'] extends true ? never : K]: Out<F[K]['s']>;
} & {
  [K in keyof F as F[K]['optional'] extends true ? K : never]?: Out<F[K]['s']>;
};

export function object<F extends Fields>(fields: F, description?: string): S<ObjOut<F>> {
  const required = Object.entries(fields)
    .filter(([, f]) => !f.optional)
    .map(([k]) => k);
  const properties = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.s.json]));
  return {
    json: {
      type: 'object',
      properties,
      required,
      additionalProperties: false,
      ...(description ? { description } : {}),
    },
    parse(v, path) {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new ParamError(path, `expected an object, got ${describe(v)}`);
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec))
        if (!(k in fields)) throw new ParamError(`${path}.${k}`, 'unknown field');
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(fields)) {
        if (rec[k] === undefined) {
          if (!f.optional) throw new ParamError(`${path}.${k}`, 'missing');
          continue;
        }
        out[k] = f.s.parse(rec[k], `${path}.${k}`);
      }
      return out as ObjOut<F>;
    },
  };
}

export const req = <T>(s: S<T>) => ({ s: s as S<unknown> as S<T>, optional: false as const });
export const opt = <T>(s: S<T>) => ({ s: s as S<unknown> as S<T>, optional: true as const });

/** Result schemas are documentation only (the server produces them): a JSON Schema literal. */
export function doc(json: JsonSchema): S<unknown> {
  return {
    json,
    parse: (v) => v,
  };
}

/**
 * Converts handler results to JSON: bigint → decimal string, bytes → 0x hex, Map → object.
 * Handlers return domain values; the wire always sees the same conventions.
 */
export function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array)
    return `0x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value;
}
