import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesEqual } from '../../core/bytes.js';
import { CodecError } from '../../core/errors.js';
import { CODECS } from './codecTable.js';

/**
 * The two codec properties of DESIGN §2 for every type: a value round-trips to itself and to the
 * same bytes; and any corruption of an encoding is either rejected with a CodecError or is itself
 * a canonical encoding (decodes to a value that re-encodes to exactly those bytes).
 */

const RUNS = 100;

type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; tail: Uint8Array }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);

function applyMutation(input: Uint8Array, m: Mutation): Uint8Array {
  const n = input.length;
  const at = n === 0 ? 0 : ('at' in m ? m.at : 0) % n;
  const out = Uint8Array.from(input);
  switch (m.kind) {
    case 'set':
      out[at] = m.byte;
      return out;
    case 'flip':
      out[at] ^= 1 << m.bit;
      return out;
    case 'truncate':
      return out.subarray(0, at);
    case 'extend':
      return Uint8Array.from([...input, ...m.tail]);
    case 'insert':
      return Uint8Array.from([...input.subarray(0, at), m.byte, ...input.subarray(at)]);
    case 'delete':
      return Uint8Array.from([...input.subarray(0, at), ...input.subarray(at + 1)]);
  }
}

/** Values a buggy client might put in any field. */
const JUNK: readonly unknown[] = [
  -1,
  1.5,
  2 ** 53,
  Number.NaN,
  -0,
  '',
  'x'.repeat(70),
  '\ud800',
  new Uint8Array(0),
  new Uint8Array(33),
  null,
  undefined,
  0n,
  -1n,
  1n << 256n,
  [],
  {},
  true,
];

/** Paths to every field, list item and nested field of a value (byte strings are leaves). */
function leafPaths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return [prefix];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  const inner = keys.flatMap((k) => leafPaths((v as Record<string | number, unknown>)[k], [...prefix, k]));
  return prefix.length === 0 ? inner : [prefix, ...inner];
}

function patched(v: unknown, path: (string | number)[], junk: unknown): unknown {
  if (path.length === 0) return junk;
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[head] = patched(copy[head], rest, junk);
  return copy;
}

describe.each(CODECS)('$name codec', ({ arbitrary, encode, decode }) => {
  it('encode refuses (CodecError) any value decode would refuse: never writes undecodable bytes', () => {
    fc.assert(
      fc.property(arbitrary, fc.nat(), fc.constantFrom(...JUNK), (value, at, junk) => {
        const paths = leafPaths(value);
        const bad = patched(value, paths[at % paths.length], junk);
        let bytes: Uint8Array;
        try {
          bytes = encode(bad);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
          return;
        }
        const back = decode(bytes);
        expect(bytesEqual(encode(back), bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips: decode(encode(x)) equals x and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(arbitrary, (value) => {
        const bytes = encode(value);
        const back = decode(bytes);
        expect(back).toEqual(value);
        expect(bytesEqual(encode(back), bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('encodes deterministically (same value, same bytes, whatever else was encoded before)', () => {
    fc.assert(
      fc.property(arbitrary, arbitrary, (a, b) => {
        const first = encode(a);
        encode(b);
        expect(bytesEqual(encode(a), first)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects a corrupted encoding with a CodecError, or accepts it only as canonical', () => {
    fc.assert(
      fc.property(arbitrary, fc.array(mutation, { minLength: 1, maxLength: 3 }), (value, mutations) => {
        let bytes = encode(value);
        for (const m of mutations) bytes = applyMutation(bytes, m);
        let decoded: unknown;
        try {
          decoded = decode(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
          return;
        }
        expect(bytesEqual(encode(decoded), bytes)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('rejects every strict prefix and every extension by one byte', () => {
    fc.assert(
      fc.property(arbitrary, fc.nat(255), (value, extra) => {
        const bytes = encode(value);
        for (let cut = 0; cut < bytes.length; cut++) {
          expect(() => decode(bytes.subarray(0, cut))).toThrow(CodecError);
        }
        expect(() => decode(Uint8Array.from([...bytes, extra]))).toThrow(CodecError);
      }),
      { numRuns: 20 },
    );
  });
});
