import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8 } from '../../core/bytes.js';
import { HASH_BYTES, sha256, sha256Parts } from '../../core/hash.js';

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
});
