import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  asPlain,
  bytesEqual,
  compareBytes,
  concatBytes,
  fromHex,
  fromUtf8,
  to0x,
  toHex,
  uintToBytes,
  utf8,
} from '../../core/bytes.js';
import { CodecError } from '../../core/errors.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return (e as CodecError).code;
  }
  throw new Error('expected a CodecError');
};

describe('hex', () => {
  it('round-trips any bytes, with or without 0x, in either case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b);
        expect(fromHex(to0x(b))).toEqual(b);
        expect(fromHex(toHex(b).toUpperCase())).toEqual(b);
        expect(toHex(b)).toMatch(/^[0-9a-f]*$/);
      }),
    );
  });

  it('encodes a view by its own bytes, not its whole buffer', () => {
    const whole = Uint8Array.of(1, 2, 3, 4);
    expect(toHex(whole.subarray(1, 3))).toBe('0203');
    expect(to0x(new Uint8Array(0))).toBe('0x');
  });

  it.each(['0', 'abc', '0x0', 'zz', '0xgg', '12 34', ' 00', '0x0x00', '-1'])(
    'rejects %j with BAD_HEX',
    (h) => {
      expect(codeOf(() => fromHex(h))).toBe('BAD_HEX');
    },
  );

  it('rejects non-strings with BAD_HEX and wrong lengths with BAD_LENGTH', () => {
    expect(codeOf(() => fromHex(12 as unknown as string))).toBe('BAD_HEX');
    expect(codeOf(() => fromHex(null as unknown as string))).toBe('BAD_HEX');
    expect(codeOf(() => fromHex('0011', 3))).toBe('BAD_LENGTH');
    expect(fromHex('001122', 3)).toEqual(Uint8Array.of(0, 0x11, 0x22));
  });

  it('returns a plain Uint8Array', () => {
    expect(Object.getPrototypeOf(fromHex('00'))).toBe(Uint8Array.prototype);
  });
});

describe('byte helpers', () => {
  it('concatenates', () => {
    expect(concatBytes()).toEqual(new Uint8Array(0));
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3))).toEqual(
      Uint8Array.of(1, 2, 3),
    );
  });

  it('compares as a total order: lexicographic, prefix first, consistent with equality', () => {
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(2), Uint8Array.of(1, 9))).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        const c = compareBytes(a, b);
        expect(Math.sign(c)).toBe(0 - Math.sign(compareBytes(b, a)));
        expect(c === 0).toBe(bytesEqual(a, b));
        expect(Math.sign(c)).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
  });

  it('decodes UTF-8 strictly', () => {
    expect(fromUtf8(utf8('héllo 𝄞'))).toBe('héllo 𝄞');
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      expect(codeOf(() => fromUtf8(Uint8Array.from(bad)))).toBe('BAD_UTF8');
    }
  });

  it('views a Buffer as a plain Uint8Array over the same memory', () => {
    const buf = Buffer.from([1, 2, 3]);
    const plain = asPlain(buf);
    expect(Object.getPrototypeOf(plain)).toBe(Uint8Array.prototype);
    expect(plain.buffer).toBe(buf.buffer);
    expect(plain).toEqual(Uint8Array.of(1, 2, 3));
    const u = Uint8Array.of(1);
    expect(asPlain(u)).toBe(u);
  });

  it('writes big-endian fixed-width integers', () => {
    expect(uintToBytes(0x0102, 4)).toEqual(Uint8Array.of(0, 0, 1, 2));
    expect(uintToBytes(2 ** 53 - 1, 8)).toEqual(
      Uint8Array.of(0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    );
    expect(uintToBytes(0, 0)).toEqual(new Uint8Array(0));
  });
});
