import { Packr } from 'msgpackr';
import { bytesEqual, utf8Length } from './bytes.js';
import { CodecError } from './errors.js';

/**
 * The canonical codec (DESIGN §2): msgpack of fixed-order tuples, never maps.
 *
 * Canonical form comes from one rule: a decoder accepts bytes only if re-encoding the decoded value
 * reproduces them exactly. msgpackr's encoder is a function of the value, so each value has exactly
 * one accepted encoding. Its options are pinned below because some defaults are not canonical:
 * - records (`useRecords`) and structured cloning would add shared-structure extensions;
 * - integers outside 32 bits are written as float64 and JS bigints as int64/uint64, and 64-bit
 *   integers decode as `number` or `bigint` depending on size. We therefore never put a bigint
 *   through msgpack: amounts travel as minimal big-endian byte strings (`amount` below), and
 *   integers are JS safe integers, which msgpackr writes as the smallest int form up to 32 bits
 *   and as float64 beyond. A pre-scan rejects int64/uint64/float32/map/ext outright.
 *
 * Size limits are checked before decoding, and a structural pre-scan checks that every declared
 * length fits in the bytes that remain, so a tiny input claiming a huge array allocates nothing.
 */

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  int64AsType: 'bigint',
  useFloat32: 0,
  variableMapSize: false,
  encodeUndefinedAsNil: false,
  largeBigIntToFloat: false,
  largeBigIntToString: false,
  useBigIntExtension: false,
  copyBuffers: false,
});

/** Deepest nesting any of our types uses is well below this; deeper input is hostile. */
export const CODEC_DEPTH_MAX = 32;

/** Wire values: what msgpack carries for our tuples. */
export type Wire = null | boolean | number | string | Uint8Array | readonly Wire[];

/**
 * Encodes a wire value (tuples of primitives) to canonical msgpack bytes, in a buffer of their own.
 * msgpackr packs into a shared slab (8 KiB, or as large as the largest value packed so far); a
 * view into it would pin the whole slab for as long as any encoding lives, and transferring its
 * `.buffer` to a worker would detach the slab under the encoder.
 */
export function encodeWire(value: Wire): Uint8Array {
  return new Uint8Array(packr.pack(value));
}

/** A transient view of the encoding, for comparing and hashing only: never keep or transfer it. */
function packView(value: Wire): Uint8Array {
  return packr.pack(value);
}

/**
 * Walks msgpack bytes without building values: rejects types we never use and any declared length
 * that cannot fit in the remaining input. Returns normally only for one complete value spanning
 * exactly `bytes`.
 */
export function scanWire(bytes: Uint8Array, depthMax = CODEC_DEPTH_MAX): void {
  const n = bytes.length;
  // Helpers are module-level functions, not closures: a scan allocates nothing but `pending`.
  // Iterative walk: `pending` counts the values still to read at each open array level.
  const pending: number[] = [1];
  let pos = 0;
  while (pending.length > 0) {
    if (pending[pending.length - 1] === 0) {
      pending.pop();
      continue;
    }
    pending[pending.length - 1]--;
    needBytes(n, pos, 1);
    const t = bytes[pos++];
    let arrayLen = -1;
    if (t <= 0x7f || t >= 0xe0) continue; // fixint
    if (t >= 0xa0 && t <= 0xbf) {
      needBytes(n, pos, t - 0xa0);
      pos += t - 0xa0;
      continue;
    }
    if (t >= 0x90 && t <= 0x9f) arrayLen = t - 0x90;
    else {
      switch (t) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          continue;
        case 0xcc:
        case 0xd0:
          needBytes(n, pos, 1);
          pos += 1;
          continue;
        case 0xcd:
        case 0xd1:
          needBytes(n, pos, 2);
          pos += 2;
          continue;
        case 0xce:
        case 0xd2:
          needBytes(n, pos, 4);
          pos += 4;
          continue;
        case 0xcb:
          needBytes(n, pos, 8);
          pos += 8;
          continue;
        case 0xd9:
        case 0xc4: {
          const len = readLength(bytes, pos, 1);
          pos += 1;
          needBytes(n, pos, len);
          pos += len;
          continue;
        }
        case 0xda:
        case 0xc5: {
          const len = readLength(bytes, pos, 2);
          pos += 2;
          needBytes(n, pos, len);
          pos += len;
          continue;
        }
        case 0xdb:
        case 0xc6: {
          const len = readLength(bytes, pos, 4);
          pos += 4;
          needBytes(n, pos, len);
          pos += len;
          continue;
        }
        case 0xdc:
          arrayLen = readLength(bytes, pos, 2);
          pos += 2;
          break;
        case 0xdd:
          arrayLen = readLength(bytes, pos, 4);
          pos += 4;
          break;
        default:
          fail(
            'UNSUPPORTED_TYPE',
            `msgpack type 0x${t.toString(16)} at byte ${pos - 1} is not used by this codec`,
          );
      }
    }
    // Every element takes at least one byte, so a count beyond the remaining bytes is a lie.
    if (arrayLen > n - pos) fail('TRUNCATED', `array at byte ${pos} claims ${arrayLen} items`);
    // `pending` holds the root slot plus one entry per open array: this array is at depth `length`.
    if (pending.length > depthMax) fail('TOO_DEEP', `arrays nested deeper than ${depthMax}`);
    pending.push(arrayLen);
  }
  if (pos !== n) fail('TRAILING_BYTES', `${n - pos} bytes after the end of the value`);
}

function fail(code: string, msg: string): never {
  throw new CodecError(code, msg);
}

function needBytes(n: number, pos: number, count: number): void {
  if (count > n - pos) fail('TRUNCATED', `input ends inside a value at byte ${pos}`);
}

function readLength(bytes: Uint8Array, pos: number, width: number): number {
  needBytes(bytes.length, pos, width);
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + bytes[pos + i];
  return v;
}

/** Decodes msgpack after the structural pre-scan. Not canonical by itself: see `Schema.decode`. */
export function decodeWire(bytes: Uint8Array, sizeMax: number): unknown {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('NOT_BYTES', 'input is not a byte array');
  if (bytes.length > sizeMax) {
    throw new CodecError('TOO_LARGE', `input of ${bytes.length} bytes exceeds the limit of ${sizeMax}`);
  }
  if (bytes.length === 0) throw new CodecError('EMPTY', 'input is empty');
  scanWire(bytes);
  try {
    return packr.unpack(bytes);
  } catch (e) {
    throw new CodecError('MALFORMED', `malformed msgpack: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Schemas: typed values <-> wire tuples, with validation that names the offending field.

export interface Schema<T> {
  /** Short description used in error messages, e.g. "uint", "bytes32". */
  readonly kind: string;
  toWire(value: T): Wire;
  /** Validates a decoded wire value; `path` names the field for error messages. */
  fromWire(wire: unknown, path: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function bad(path: string, expected: string, got: unknown): never {
  throw new CodecError('BAD_FIELD', `${path}: expected ${expected}, got ${describe(got)}`, { path });
}

/**
 * A value that cannot be encoded: encoding checks what decoding checks, so `encode` never produces
 * bytes that `decode` would reject (a client learns of a bad field when it builds the tx, not when
 * a node rejects it). The path is filled in by the enclosing structs and lists as the error rises.
 */
function badValue(expected: string, got: unknown): never {
  throw valueError('', expected, describe(got));
}

function valueError(path: string, expected: string, got: string): CodecError {
  const where = path === '' ? 'value' : path;
  return new CodecError('BAD_VALUE', `cannot encode ${where}: expected ${expected}, got ${got}`, {
    path,
    expected,
    got,
  });
}

/**
 * For hand-written container schemas: re-raises an encoding error from inside a container with the
 * field name (or `[index]`) prefixed to its path. Other errors pass through unchanged.
 */
export function withPath(e: unknown, step: string): unknown {
  if (!(e instanceof CodecError) || e.code !== 'BAD_VALUE') return e;
  const inner = String(e.details.path ?? '');
  const path = inner === '' ? step : inner.startsWith('[') ? `${step}${inner}` : `${step}.${inner}`;
  return valueError(path, String(e.details.expected), String(e.details.got));
}

/**
 * Well-formed UTF-16 (no lone surrogates): only such strings have a UTF-8 encoding. msgpackr would
 * write a lone surrogate as invalid UTF-8 (short strings) or as U+FFFD (long ones), so neither
 * round-trips. `isWellFormed` is in Node 20 (V8 11.3) but not in the ES2023 lib typings.
 */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** UTF-8 length without encoding when the UTF-16 length already proves it small enough. */
function utf8LengthAtMost(s: string, maxBytes: number): boolean {
  return s.length * 3 <= maxBytes || utf8Length(s) <= maxBytes;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return `array of ${v.length}`;
  if (typeof v === 'string') return `string of ${utf8Length(v)} UTF-8 bytes`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `non-integer number`;
  if (typeof v === 'bigint') return `bigint ${v}`;
  return typeof v;
}

/** A safe integer in [min, max]. */
export function int(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Schema<number> {
  const kind = `integer in [${min}, ${max}]`;
  return {
    kind,
    toWire(v) {
      // -0 is accepted here: msgpackr writes it as 0, which decodes to 0.
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) badValue(kind, v);
      return v;
    },
    fromWire(w, path) {
      if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < min || w > max || Object.is(w, -0)) {
        bad(path, kind, w);
      }
      return w as number;
    },
  };
}

/** A non-negative safe integer, at most `max`. */
export const uint = (max = Number.MAX_SAFE_INTEGER): Schema<number> => int(0, max);

export const bool: Schema<boolean> = {
  kind: 'boolean',
  toWire(v) {
    if (typeof v !== 'boolean') badValue('boolean', v);
    return v;
  },
  fromWire(w, path) {
    if (typeof w !== 'boolean') bad(path, 'boolean', w);
    return w as boolean;
  },
};

function copyBytes(w: Uint8Array): Uint8Array {
  return new Uint8Array(w);
}

/** Exactly `length` bytes. */
export function bytesN(length: number): Schema<Uint8Array> {
  const kind = `${length} bytes`;
  return {
    kind,
    toWire(v) {
      if (!(v instanceof Uint8Array) || v.length !== length) badValue(kind, v);
      return v;
    },
    fromWire(w, path) {
      if (!(w instanceof Uint8Array) || w.length !== length) bad(path, kind, w);
      return copyBytes(w as Uint8Array);
    },
  };
}

/** At most `max` bytes. */
export function bytesMax(max: number): Schema<Uint8Array> {
  const kind = `at most ${max} bytes`;
  return {
    kind,
    toWire(v) {
      if (!(v instanceof Uint8Array) || v.length > max) badValue(kind, v);
      return v;
    },
    fromWire(w, path) {
      if (!(w instanceof Uint8Array) || w.length > max) bad(path, kind, w);
      return copyBytes(w as Uint8Array);
    },
  };
}

/** A UTF-8 string of at most `maxBytes` bytes. Strings with lone surrogates are not UTF-8: rejected. */
export function str(maxBytes: number): Schema<string> {
  const kind = `string of at most ${maxBytes} UTF-8 bytes`;
  return {
    kind,
    toWire(v) {
      if (typeof v !== 'string' || !utf8LengthAtMost(v, maxBytes)) badValue(kind, v);
      if (!isWellFormed(v)) badValue('well-formed Unicode (no lone surrogates)', v);
      return v;
    },
    fromWire(w, path) {
      if (typeof w !== 'string' || !utf8LengthAtMost(w, maxBytes)) bad(path, kind, w);
      if (!isWellFormed(w as string)) bad(path, 'valid UTF-8', w);
      return w as string;
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const V extends string>(values: readonly V[]): Schema<V> {
  const kind = `one of ${values.join(' | ')}`;
  const set = new Set<string>(values);
  return {
    kind,
    toWire(v) {
      if (typeof v !== 'string' || !set.has(v)) badValue(kind, v);
      return v;
    },
    fromWire(w, path) {
      if (typeof w !== 'string' || !set.has(w)) bad(path, kind, w);
      return w as V;
    },
  };
}

/** Largest amount representable: 32 bytes, far beyond any supply. */
export const AMOUNT_BYTES_MAX = 32;

/**
 * A non-negative bigint as minimal big-endian bytes: zero is the empty string, and a leading zero
 * byte is rejected so each amount has one encoding.
 */
export const amount: Schema<bigint> = {
  kind: 'amount',
  toWire(v) {
    if (typeof v !== 'bigint') badValue('amount (a bigint)', v);
    if (v < 0n) throw new CodecError('NEGATIVE_AMOUNT', 'amounts cannot be negative');
    if (v > AMOUNT_VALUE_MAX) throw new CodecError('AMOUNT_TOO_LARGE', 'amount exceeds 256 bits');
    return amountToBytes(v);
  },
  fromWire(w, path) {
    if (!(w instanceof Uint8Array) || w.length > AMOUNT_BYTES_MAX) bad(path, 'amount (≤ 32 bytes)', w);
    const b = w as Uint8Array;
    if (b.length === 0) return 0n;
    if (b[0] === 0) bad(path, 'minimal amount bytes (no leading zero)', w);
    return bytesToAmount(b);
  },
};

const AMOUNT_VALUE_MAX = (1n << BigInt(8 * AMOUNT_BYTES_MAX)) - 1n;

/**
 * Minimal big-endian bytes of 0 ≤ v < 2^256, 32 bits at a time (amounts are encoded and decoded
 * for every tx; going through hex strings cost a third of a transfer's decode time).
 */
function amountToBytes(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const words: number[] = []; // little-endian 32-bit words
  for (let x = v; x > 0n; x >>= 32n) words.push(Number(x & 0xffffffffn));
  const top = words[words.length - 1];
  const topBytes = top >= 0x1000000 ? 4 : top >= 0x10000 ? 3 : top >= 0x100 ? 2 : 1;
  const out = new Uint8Array((words.length - 1) * 4 + topBytes);
  let pos = out.length;
  for (let i = 0; i < words.length; i++) {
    let word = words[i];
    for (let k = i === words.length - 1 ? topBytes : 4; k > 0; k--) {
      out[--pos] = word & 0xff;
      word >>>= 8;
    }
  }
  return out;
}

function bytesToAmount(b: Uint8Array): bigint {
  const head = b.length % 4;
  let first = 0;
  for (let i = 0; i < head; i++) first = first * 256 + b[i];
  let v = BigInt(first);
  for (let i = head; i < b.length; i += 4) {
    v = (v << 32n) | BigInt(b[i] * 0x1000000 + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]));
  }
  return v;
}

/** An array of at most `max` items. */
export function list<T>(item: Schema<T>, max: number): Schema<T[]> {
  const kind = `list of at most ${max} × ${item.kind}`;
  return {
    kind,
    toWire(v) {
      if (!Array.isArray(v) || v.length > max) badValue(kind, v);
      const out = new Array<Wire>(v.length);
      let i = 0;
      try {
        for (; i < v.length; i++) out[i] = item.toWire(v[i]);
      } catch (e) {
        throw withPath(e, `[${i}]`);
      }
      return out;
    },
    fromWire(w, path) {
      if (!Array.isArray(w) || w.length > max) bad(path, kind, w);
      const arr = w as unknown[];
      const out = new Array<T>(arr.length);
      for (let i = 0; i < arr.length; i++) out[i] = item.fromWire(arr[i], `${path}[${i}]`);
      return out;
    },
  };
}

/** `null` or a value. */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    kind: `${inner.kind} | null`,
    toWire: (v) => (v === null ? null : inner.toWire(v)),
    fromWire: (w, path) => (w === null ? null : inner.fromWire(w, path)),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: Schema<T> is invariant in T; any lets fields of every type share one list.
type FieldList = readonly (readonly [string, Schema<any>])[];
type StructOf<F extends FieldList> = {
  -readonly [E in F[number] as E[0]]: E[1] extends Schema<infer V> ? V : never;
};

/** A record encoded as a fixed-order tuple of its fields. */
export interface StructSchema<T> extends Schema<T> {
  readonly fields: FieldList;
}

export function struct<const F extends FieldList>(name: string, fields: F): StructSchema<StructOf<F>> {
  const keys = fields.map((f) => f[0]);
  const schemas = fields.map((f) => f[1]);
  const n = fields.length;
  return {
    kind: name,
    fields,
    toWire(v) {
      if (typeof v !== 'object' || v === null) badValue(name, v);
      const rec = v as Record<string, unknown>;
      const out = new Array<Wire>(n);
      let i = 0;
      try {
        for (; i < n; i++) out[i] = schemas[i].toWire(rec[keys[i]]);
      } catch (e) {
        throw withPath(e, keys[i]);
      }
      return out;
    },
    fromWire(w, path) {
      if (!Array.isArray(w) || w.length !== n) bad(path, `${name} tuple of ${n}`, w);
      const arr = w as unknown[];
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[keys[i]] = schemas[i].fromWire(arr[i], `${path}.${keys[i]}`);
      return out as StructOf<F>;
    },
  };
}

/** A fixed-length tuple of heterogeneous schemas. */
// biome-ignore lint/suspicious/noExplicitAny: as for FieldList.
export function tuple<const S extends readonly Schema<any>[]>(
  ...items: S
): Schema<{ -readonly [K in keyof S]: Infer<S[K]> }> {
  const n = items.length;
  const kind = `tuple of ${n}`;
  return {
    kind,
    toWire(v) {
      if (!Array.isArray(v) || v.length !== n) badValue(kind, v);
      const out = new Array<Wire>(n);
      let i = 0;
      try {
        for (; i < n; i++) out[i] = items[i].toWire((v as unknown[])[i]);
      } catch (e) {
        throw withPath(e, `[${i}]`);
      }
      return out;
    },
    fromWire(w, path) {
      if (!Array.isArray(w) || w.length !== n) bad(path, kind, w);
      return (w as unknown[]).map((x, i) => items[i].fromWire(x, `${path}[${i}]`)) as never;
    },
  };
}

/**
 * Canonical encoding of a typed value. Throws `CodecError` (`BAD_VALUE`, `NEGATIVE_AMOUNT`,
 * `AMOUNT_TOO_LARGE`) for a value that `decode` would reject, naming the field.
 */
export function encode<T>(schema: Schema<T>, value: T): Uint8Array {
  return encodeWire(schema.toWire(value));
}

/**
 * Strict decode: size limit, structural pre-scan, schema validation, and the canonical check
 * (`encode(decode(bytes))` must equal `bytes`). Throws only `CodecError`.
 */
export function decode<T>(schema: Schema<T>, bytes: Uint8Array, sizeMax: number, what = schema.kind): T {
  const wire = decodeWire(bytes, sizeMax);
  const value = schema.fromWire(wire, what);
  let again: Uint8Array;
  try {
    again = packView(schema.toWire(value));
  } catch (e) {
    throw new CodecError('NOT_CANONICAL', `${what}: value cannot be re-encoded: ${(e as Error).message}`);
  }
  if (!bytesEqual(again, bytes)) {
    throw new CodecError('NOT_CANONICAL', `${what}: encoding is not canonical`);
  }
  return value;
}
