import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../core/bytes.js';
import { CryptoError } from '../../core/errors.js';
import {
  generateKeyPair,
  isValidPublicKey,
  PUBLIC_KEY_BYTES,
  publicKeyOf,
  SIGNATURE_BYTES,
  sign,
  signatureVerifierName,
  signerName,
  signPure,
  verifyCofactorless,
  verifySignature,
} from '../../core/keys.js';

/**
 * Ed25519: noble signs, node:crypto (OpenSSL) verifies, and `verifySignature` is the one check
 * consensus uses. These tests pin that the two libraries agree on valid signatures and on the
 * classic invalid ones, and that `verifySignature` also rejects what raw OpenSSL lets through
 * (small-order public keys) and what noble lets through (non-canonical encodings, torsion in R).
 */

const P = ed25519.Point;
const L = P.Fn.ORDER;
const SPKI_PREFIX = fromHex('302a300506032b6570032100');

/**
 * Raw OpenSSL verification, without our key checks. A key that is not 32 bytes has no SPKI form
 * (and DER parsing would silently ignore an extra trailing byte), so it is refused up front.
 */
function opensslVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    const key = createPublicKey({
      key: Buffer.from(concatBytes(SPKI_PREFIX, publicKey)),
      format: 'der',
      type: 'spki',
    });
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** noble's verify in RFC 8032 strict mode (zip215: false); a thrown length error counts as false. */
function nobleVerify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  zip215 = false,
): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215 });
  } catch {
    return false;
  }
}

/** All three verdicts, which should agree. */
const verdicts = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) => ({
  noble: nobleVerify(pk, msg, sig),
  openssl: opensslVerify(pk, msg, sig),
  ours: verifySignature(pk, msg, sig),
  pure: pk.length === PUBLIC_KEY_BYTES && sig.length === SIGNATURE_BYTES && verifyCofactorless(pk, msg, sig),
});
const allTrue = { noble: true, openssl: true, ours: true, pure: true };
const allFalse = { noble: false, openssl: false, ours: false, pure: false };

describe('the signer in use', () => {
  it("is OpenSSL in node processes and returns exactly noble's bytes (RFC 8032 signatures are deterministic)", () => {
    expect(signerName()).toBe('openssl');
    // RFC 8032 §7.1 test 2 (one-byte message), then random keys and messages of every small size.
    const seed = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', 32);
    expect(toHex(sign(fromHex('72'), seed))).toBe(
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        (sk, msg) => {
          expect(toHex(sign(msg, sk))).toBe(toHex(signPure(msg, sk)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('the verifier in use', () => {
  it('is OpenSSL in node processes (core/nativeCrypto.ts, imported by the test setup as by every entry point)', () => {
    expect(signatureVerifierName()).toBe('openssl');
  });
});

const leToBigint = (b: Uint8Array) => {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
};
const bigintToLe = (x: bigint, length = 32) => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
};
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array) =>
  leToBigint(sha512(concatBytes(r, a, m))) % L;

/** RFC 8032 §7.1, TEST 1–3. */
const RFC8032 = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

describe('RFC 8032 test vectors', () => {
  it.each(RFC8032.map((v, i) => [i + 1, v] as const))('TEST %i: key, signature and verification', (_n, v) => {
    const secret = fromHex(v.secret);
    const message = fromHex(v.message);
    expect(toHex(publicKeyOf(secret))).toBe(v.publicKey);
    expect(toHex(sign(message, secret))).toBe(v.signature);
    expect(verdicts(fromHex(v.publicKey), message, fromHex(v.signature))).toEqual(allTrue);
  });
});

describe('noble and node:crypto agree', () => {
  const keyPairs = [0, 1, 2, 3].map((i) => {
    const secretKey = new Uint8Array(32).fill(0x40 + i);
    return { secretKey, publicKey: publicKeyOf(secretKey) };
  });
  const cases = fc.record({
    kp: fc.constantFrom(...keyPairs),
    other: fc.constantFrom(...keyPairs),
    message: fc.uint8Array({ maxLength: 200 }),
    bit: fc.nat(255),
  });

  it('on valid signatures, a wrong key, a wrong message, and a flipped bit in R or in S', () => {
    fc.assert(
      fc.property(cases, ({ kp, other, message, bit }) => {
        const sig = sign(message, kp.secretKey);
        expect(verdicts(kp.publicKey, message, sig)).toEqual(allTrue);
        if (other !== kp) expect(verdicts(other.publicKey, message, sig)).toEqual(allFalse);
        expect(verdicts(kp.publicKey, concatBytes(message, Uint8Array.of(0)), sig)).toEqual(allFalse);
        const flippedR = Uint8Array.from(sig);
        flippedR[bit >> 3 >= 32 ? (bit >> 3) - 32 : bit >> 3] ^= 1 << (bit & 7);
        expect(verdicts(kp.publicKey, message, flippedR)).toEqual(allFalse);
        const flippedS = Uint8Array.from(sig);
        flippedS[32 + ((bit >> 3) % 32)] ^= 1 << (bit & 7);
        expect(verdicts(kp.publicKey, message, flippedS)).toEqual(allFalse);
      }),
      { numRuns: 60 },
    );
  });

  it('on S ≥ L: S + L verifies the same equation but is rejected (no malleability)', () => {
    for (const kp of keyPairs) {
      const message = Uint8Array.of(1, 2, 3);
      const sig = sign(message, kp.secretKey);
      const s = leToBigint(sig.subarray(32));
      const malleated = concatBytes(sig.subarray(0, 32), bigintToLe(s + L));
      expect(verdicts(kp.publicKey, message, malleated)).toEqual(allFalse);
      // Even noble's permissive ZIP-215 mode refuses S ≥ L.
      expect(nobleVerify(kp.publicKey, message, malleated, true)).toBe(false);
      const maxS = concatBytes(sig.subarray(0, 32), new Uint8Array(32).fill(0xff));
      expect(verdicts(kp.publicKey, message, maxS)).toEqual(allFalse);
    }
  });

  it('on truncated or extended signatures and keys (false, never a throw from ours)', () => {
    const kp = keyPairs[0];
    const message = Uint8Array.of(9);
    const sig = sign(message, kp.secretKey);
    for (const badSig of [sig.subarray(0, 63), concatBytes(sig, Uint8Array.of(0)), new Uint8Array(0)]) {
      expect(verdicts(kp.publicKey, message, badSig)).toEqual(allFalse);
    }
    for (const badKey of [
      kp.publicKey.subarray(0, 31),
      concatBytes(kp.publicKey, Uint8Array.of(0)),
      new Uint8Array(0),
    ]) {
      expect(verdicts(badKey, message, sig)).toEqual(allFalse);
      expect(isValidPublicKey(badKey)).toBe(false);
    }
    for (const junk of [null, undefined, 'ab', [1, 2], 42]) {
      expect(verifySignature(junk as unknown as Uint8Array, message, sig)).toBe(false);
      expect(verifySignature(kp.publicKey, message, junk as unknown as Uint8Array)).toBe(false);
      expect(verifySignature(kp.publicKey, junk as unknown as Uint8Array, sig)).toBe(false);
      expect(isValidPublicKey(junk as unknown as Uint8Array)).toBe(false);
    }
  });
});

describe('small-order public keys (the 8 torsion points)', () => {
  /**
   * Under a small-order key A, [k]A takes at most 8 values, so R = [s]B − [j]A verifies whenever
   * the challenge k ≡ j (mod ord A): a forgery for a message its "owner" never signed, found by
   * trying a few messages. Raw OpenSSL accepts it; so does noble in ZIP-215 mode.
   */
  function forge(publicKey: Uint8Array): { message: Uint8Array; signature: Uint8Array } {
    const A = P.fromBytes(publicKey, true);
    for (let attempt = 0; attempt < 4096; attempt++) {
      const message = Uint8Array.of(attempt & 0xff, attempt >> 8);
      const s = BigInt(attempt + 1);
      for (let j = 0n; j < 8n; j++) {
        const R = j === 0n ? P.BASE.multiply(s) : P.BASE.multiply(s).subtract(A.multiplyUnsafe(j));
        const r = R.toBytes();
        if (!A.multiplyUnsafe(challenge(r, publicKey, message)).equals(A.multiplyUnsafe(j))) continue;
        return { message, signature: concatBytes(r, bigintToLe(s)) };
      }
    }
    throw new Error('no forgery found');
  }

  it.each([...ED25519_TORSION_SUBGROUP])('%s: OpenSSL accepts a forgery, verifySignature does not', (h) => {
    const publicKey = fromHex(h);
    expect(P.fromBytes(publicKey, true).isSmallOrder()).toBe(true);
    const { message, signature } = forge(publicKey);
    expect(opensslVerify(publicKey, message, signature)).toBe(true);
    expect(nobleVerify(publicKey, message, signature, true)).toBe(true);
    expect(nobleVerify(publicKey, message, signature, false)).toBe(false);
    expect(verifySignature(publicKey, message, signature)).toBe(false);
    expect(verifyCofactorless(publicKey, message, signature)).toBe(false);
    expect(isValidPublicKey(publicKey)).toBe(false);
  });
});

describe('non-canonical public key encodings', () => {
  /** y + p for small y, with either sign bit: the same point as y, written with y ≥ p. */
  const P_FIELD = 2n ** 255n - 19n;
  const nonCanonical: Uint8Array[] = [];
  for (let y = 0n; y < 19n; y++) {
    for (const sign of [0n, 1n]) {
      const bytes = bigintToLe(P_FIELD + y + (sign << 255n));
      try {
        P.fromBytes(bytes, true); // on the curve, in ZIP-215's permissive reading
        nonCanonical.push(bytes);
      } catch {
        // y is not the coordinate of any point: not interesting here
      }
    }
  }

  it('some exist, and every one is rejected', () => {
    expect(nonCanonical.length).toBeGreaterThan(2);
    const message = Uint8Array.of(1);
    const signature = sign(message, new Uint8Array(32).fill(5));
    for (const pk of nonCanonical) {
      expect(() => P.fromBytes(pk, false)).toThrow();
      expect(isValidPublicKey(pk)).toBe(false);
      expect(verifySignature(pk, message, signature)).toBe(false);
    }
  });

  it('x = 0 with the sign bit set (the "negative zero" of the identity) is rejected', () => {
    const negZero = fromHex('0100000000000000000000000000000000000000000000000000000000000080');
    expect(isValidPublicKey(negZero)).toBe(false);
  });

  it('a y that is on no point is rejected', () => {
    let found = 0;
    for (let y = 2; y < 40 && found < 3; y++) {
      const bytes = bigintToLe(BigInt(y));
      let onCurve = true;
      try {
        P.fromBytes(bytes, true);
      } catch {
        onCurve = false;
      }
      if (onCurve) continue;
      found++;
      expect(isValidPublicKey(bytes)).toBe(false);
      expect(verifySignature(bytes, Uint8Array.of(1), new Uint8Array(64))).toBe(false);
    }
    expect(found).toBeGreaterThan(0);
  });
});

describe('a known divergence: torsion in R', () => {
  /**
   * noble checks the cofactored equation [8][S]B = [8]R + [8][k]A; OpenSSL the cofactorless one
   * [S]B = R + [k]A. A signer who adds a small-order point to R produces a signature only the
   * first accepts. Consensus calls only `verifySignature` (cofactorless, via OpenSSL), so every
   * node decides the same way; this test pins which way.
   */
  it('noble accepts R + T, OpenSSL and verifySignature reject it', () => {
    const secretKey = new Uint8Array(32).fill(0x77);
    const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(secretKey);
    const T = P.fromBytes(fromHex(ED25519_TORSION_SUBGROUP[1]), false);
    const message = Uint8Array.of(0xab);
    const r = 123_456_789n;
    const R = P.BASE.multiply(r).add(T).toBytes();
    const s = (r + challenge(R, pointBytes, message) * scalar) % L;
    const signature = concatBytes(R, bigintToLe(s));
    expect(nobleVerify(pointBytes, message, signature)).toBe(true);
    expect(opensslVerify(pointBytes, message, signature)).toBe(false);
    expect(verifySignature(pointBytes, message, signature)).toBe(false);
    // The pure verifier a browser (or a process without node:crypto) runs decides as OpenSSL does.
    expect(verifyCofactorless(pointBytes, message, signature)).toBe(false);
  });
});

describe('keys', () => {
  it('generates distinct valid key pairs whose public key derives from the secret', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.secretKey.length).toBe(32);
    expect(a.publicKey.length).toBe(PUBLIC_KEY_BYTES);
    expect(toHex(a.secretKey)).not.toBe(toHex(b.secretKey));
    expect(publicKeyOf(a.secretKey)).toEqual(a.publicKey);
    expect(isValidPublicKey(a.publicKey)).toBe(true);
    const sig = sign(Uint8Array.of(1), a.secretKey);
    expect(sig.length).toBe(SIGNATURE_BYTES);
    expect(verifySignature(a.publicKey, Uint8Array.of(1), sig)).toBe(true);
  });

  it('is deterministic: same key and message, same signature', () => {
    const sk = new Uint8Array(32).fill(3);
    expect(sign(Uint8Array.of(1, 2), sk)).toEqual(sign(Uint8Array.of(1, 2), sk));
  });

  it('accepts Buffers as well as plain Uint8Arrays, and gives the same verdict twice (cache)', () => {
    const kp = generateKeyPair();
    const msg = Buffer.from('hello');
    const sig = sign(msg, kp.secretKey);
    for (let i = 0; i < 2; i++) {
      expect(verifySignature(Buffer.from(kp.publicKey), msg, Buffer.from(sig))).toBe(true);
      expect(verifySignature(kp.publicKey, Buffer.from('hellO'), sig)).toBe(false);
    }
  });

  it.each([
    ['31 bytes', new Uint8Array(31)],
    ['33 bytes', new Uint8Array(33)],
    ['a 64-byte expanded key', new Uint8Array(64)],
    ['a hex string', '11'.repeat(32)],
  ])('rejects a secret key of %s with BAD_SECRET_KEY', (_name, sk) => {
    for (const fn of [() => sign(Uint8Array.of(1), sk as Uint8Array), () => publicKeyOf(sk as Uint8Array)]) {
      try {
        fn();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(CryptoError);
        expect((e as CryptoError).code).toBe('BAD_SECRET_KEY');
      }
    }
  });
});
