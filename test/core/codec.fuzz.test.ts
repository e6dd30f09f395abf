import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { bytesEqual, concatBytes } from '../../core/bytes.js';
import { encodeWire, type Wire } from '../../core/codec.js';
import { CodecError, OlError } from '../../core/errors.js';
import { CODECS, DECODERS } from './codecTable.js';

/**
 * Fuzzing every decoder with 100,000 seeded inputs: mutated valid encodings (of every type, so
 * each decoder also sees the others' bytes), splices of two encodings, random msgpack trees, and
 * raw random bytes. Each input goes through every decoder. The only acceptable outcomes: a typed
 * error (a CodecError, which is an OlError), or a value that re-encodes to exactly the input.
 * Seeded so a failure replays: the message names the seed, the iteration and the input.
 */

const SEED = 0x0e1ed6e5;
const INPUTS = 100_000;
const SAMPLES_PER_TYPE = 24;

/** mulberry32: a tiny, fast, seedable PRNG; plenty for choosing mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Type bytes and lengths that sit on msgpack's boundaries, where decoders go wrong. */
const INTERESTING = [
  0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x91, 0x99, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
  0xe0, 0xff,
];

describe('decoder fuzzing', () => {
  it(`survives ${INPUTS} random and mutated inputs through every decoder with typed errors only`, () => {
    const rand = prng(SEED);
    const int = (n: number) => Math.floor(rand() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

    const corpus: Uint8Array[] = [];
    for (const c of CODECS) {
      for (const v of fc.sample(c.arbitrary, { seed: SEED, numRuns: SAMPLES_PER_TYPE })) {
        corpus.push(c.encode(v));
      }
    }

    const randomBytes = (max: number) => {
      const out = new Uint8Array(int(max + 1));
      for (let i = 0; i < out.length; i++) out[i] = int(256);
      return out;
    };

    const randomWire = (depth: number): Wire => {
      const r = int(10);
      if (depth > 0 && r < 3) return Array.from({ length: int(10) }, () => randomWire(depth - 1));
      switch (r) {
        case 3:
          return null;
        case 4:
          return rand() < 0.5;
        case 5:
          return pick([0, 1, -1, 127, 128, 255, 256, 65_536, 2 ** 32, 2 ** 53 - 1, -(2 ** 31) - 1, 0.5]);
        case 6:
          return int(1000);
        case 7:
          return pick([
            '',
            'transfer',
            'duplicateVote',
            'yes',
            'open',
            'span',
            'ol-devnet-1',
            'é',
            '\u{1f600}',
          ]);
        default:
          return randomBytes(pick([0, 20, 32, 64, 3]) === 3 ? 3 : pick([0, 20, 32, 64]));
      }
    };

    const mutate = (input: Uint8Array): Uint8Array => {
      let b: Uint8Array = Uint8Array.from(input);
      const rounds = 1 + int(3);
      for (let r = 0; r < rounds; r++) {
        const at = b.length === 0 ? 0 : int(b.length);
        switch (int(8)) {
          case 0:
            if (b.length) b[at] = int(256);
            break;
          case 1:
            if (b.length) b[at] ^= 1 << int(8);
            break;
          case 2:
            if (b.length) b[at] = pick(INTERESTING);
            break;
          case 3:
            b = b.subarray(0, at);
            break;
          case 4:
            b = concatBytes(b, randomBytes(8));
            break;
          case 5:
            b = concatBytes(b.subarray(0, at), Uint8Array.of(pick(INTERESTING)), b.subarray(at));
            break;
          case 6:
            b = concatBytes(b.subarray(0, at), b.subarray(at + 1 + int(4)));
            break;
          default:
            // a length field blown up: 0xff over the next bytes
            for (let i = at; i < Math.min(b.length, at + 1 + int(4)); i++) b[i] = 0xff;
        }
      }
      return b;
    };

    const splice = (a: Uint8Array, b: Uint8Array): Uint8Array =>
      concatBytes(a.subarray(0, int(a.length + 1)), b.subarray(int(b.length + 1)));

    // ~900,000 rejections: capturing a stack trace for each would dominate the run time.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    onTestFinished(() => {
      Error.stackTraceLimit = stackTraceLimit;
    });
    const accepted = new Map<string, number>();
    const codes = new Map<string, number>();
    for (let i = 0; i < INPUTS; i++) {
      const r = rand();
      let input: Uint8Array;
      if (r < 0.5) input = mutate(pick(corpus));
      else if (r < 0.6) input = splice(pick(corpus), pick(corpus));
      else if (r < 0.8) input = encodeWire(randomWire(4));
      else if (r < 0.9) input = mutate(encodeWire(randomWire(3)));
      else input = randomBytes(64);

      for (const d of DECODERS) {
        let value: unknown;
        try {
          value = d.decode(input);
        } catch (e) {
          if (!(e instanceof CodecError)) {
            throw new Error(
              `${d.name} threw ${e instanceof OlError ? 'a non-codec OlError' : 'an untyped error'} ` +
                `on input #${i} (seed ${SEED}) ${Buffer.from(input).toString('hex')}: ${String(e)}`,
            );
          }
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
          continue;
        }
        accepted.set(d.name, (accepted.get(d.name) ?? 0) + 1);
        if (!bytesEqual(d.encode(value), input)) {
          throw new Error(
            `${d.name} accepted a non-canonical input #${i}: ${Buffer.from(input).toString('hex')}`,
          );
        }
      }
    }
    // The fuzzer must reach past the pre-scan into schema validation and the canonical check,
    // and some mutated inputs must still be valid (e.g. a changed byte inside a hash).
    for (const code of ['TRUNCATED', 'TRAILING_BYTES', 'UNSUPPORTED_TYPE', 'BAD_FIELD', 'NOT_CANONICAL']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    for (const d of DECODERS) expect(accepted.get(d.name) ?? 0, d.name).toBeGreaterThan(0);
  });
});
