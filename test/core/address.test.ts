import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADDRESS_BYTES, addressOf, formatAddress, parseAddress } from '../../core/address.js';
import { fromHex } from '../../core/bytes.js';
import { ValidationError } from '../../core/errors.js';
import { sha256 } from '../../core/hash.js';

describe('addresses', () => {
  it('are the first 20 bytes of sha256(public key)', () => {
    // RFC 8032 TEST 1 public key; sha256 computed independently.
    const pk = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const addr = addressOf(pk);
    expect(addr.length).toBe(ADDRESS_BYTES);
    expect(addr).toEqual(sha256(pk).subarray(0, 20));
    expect(formatAddress(addr)).toBe('0x21fe31dfa154a261626bf854046fd2271b7bed4b');
  });

  it('own their bytes (not a view into the hash)', () => {
    const addr = addressOf(new Uint8Array(32));
    expect(addr.byteOffset).toBe(0);
    expect(addr.buffer.byteLength).toBe(20);
  });

  it('format as lowercase 0x hex and parse back, in either case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (a) => {
        const text = formatAddress(a);
        expect(text).toMatch(/^0x[0-9a-f]{40}$/);
        expect(parseAddress(text)).toEqual(a);
        expect(parseAddress(`0x${text.slice(2).toUpperCase()}`)).toEqual(a);
      }),
    );
  });

  it.each([
    '',
    '0x',
    '21fe31dfa154a261626bf854046fd2271b7bed4b',
    '0X21fe31dfa154a261626bf854046fd2271b7bed4b',
    '0x21fe31dfa154a261626bf854046fd2271b7bed4',
    '0x21fe31dfa154a261626bf854046fd2271b7bed4b00',
    '0x21fe31dfa154a261626bf854046fd2271b7bed4g',
    ' 0x21fe31dfa154a261626bf854046fd2271b7bed4b',
    '0x21fe31dfa154a261626bf854046fd2271b7bed4b\n',
  ])('rejects %j with BAD_ADDRESS', (text) => {
    try {
      parseAddress(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).code).toBe('BAD_ADDRESS');
    }
  });

  it('rejects non-strings and wrong-length bytes', () => {
    expect(() => parseAddress(42 as unknown as string)).toThrow(ValidationError);
    expect(() => parseAddress(null as unknown as string)).toThrow(ValidationError);
    expect(() => formatAddress(new Uint8Array(19))).toThrow(ValidationError);
    expect(() => formatAddress(new Uint8Array(32))).toThrow(ValidationError);
  });
});
