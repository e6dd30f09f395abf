import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8 } from '../../core/bytes.js';
import { HASH_BYTES, sha256, sha256Parts } from '../../core/hash.js';
import { HASH_PARTS_CONCAT_BYTES_MAX } from '../../core/nativeCrypto.js';

describe('sha256', () => {
  it('matches the FIPS 180-2 vectors', () => {
    expect(toHex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(toHex(sha256(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('agrees with @noble/hashes (what the browser client uses), in one piece or in parts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }), (parts) => {
        const whole = concatBytes(...parts);
        expect(sha256(whole)).toEqual(nobleSha256(whole));
        expect(sha256Parts(parts)).toEqual(sha256(whole));
        expect(sha256(whole).length).toBe(HASH_BYTES);
      }),
    );
  });

  it('agrees in parts on both sides of the one-shot threshold (HASH_PARTS_CONCAT_BYTES_MAX)', () => {
    const at = HASH_PARTS_CONCAT_BYTES_MAX;
    for (const total of [at - 1, at, at + 1, 3 * at]) {
      const whole = Uint8Array.from({ length: total }, (_, i) => (i * 31) & 0xff);
      const parts = [whole.subarray(0, 7), whole.subarray(7, total >> 1), whole.subarray(total >> 1)];
      expect(sha256Parts(parts)).toEqual(nobleSha256(whole));
    }
  });
});
