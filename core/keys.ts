import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesEqual, bytesToHex, concatBytes } from './bytes.js';
import { CryptoError } from './errors.js';

/**
 * Ed25519 keys and signatures. Signing uses @noble/curves (the same code the browser client runs).
 * Every validity check goes through `verifySignature`, and nothing else verifies signatures; in the
 * node it runs on node:crypto (OpenSSL, roughly 10× faster, installed by core/nativeCrypto.ts), in
 * a browser on `verifyCofactorless`, which decides the same way. This module imports no `node:`
 * module and no `Buffer`, so the client bundles for any platform.
 *
 * OpenSSL verifies cofactorless RFC 8032 and rejects S ≥ L and non-canonical R, but it accepts
 * public keys of small order, under which a signature can verify for messages the "owner" never
 * signed. `verifySignature` therefore checks each public key once with noble's strict decoder
 * (canonical encoding, not of small order) and caches the verdict with the parsed key.
 */

export const PUBLIC_KEY_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface KeyPair {
  /** 32-byte Ed25519 seed (RFC 8032 "private key"). */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateKeyPair(): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new CryptoError('BAD_SECRET_KEY', `a secret key is ${SECRET_KEY_BYTES} bytes`);
  }
  return ed25519.getPublicKey(secretKey);
}

/**
 * Signs `message` with a 32-byte Ed25519 seed. RFC 8032 signatures are deterministic (§5.1.6), so
 * every correct implementation returns the same 64 bytes; node processes install OpenSSL's
 * (core/nativeCrypto.ts, ~10× faster than noble), test/core/keys.test.ts pins it equal to noble's.
 */
export type Signer = (message: Uint8Array, secretKey: Uint8Array) => Uint8Array;

const nobleSign: Signer = (message, secretKey) => ed25519.sign(message, secretKey);
let signer: Signer = nobleSign;

/** Installs a faster signer that returns exactly noble's bytes (pinned by tests). */
export function useSigner(s: Signer): void {
  signer = s;
}

/** The signer in use, for tests. */
export function signerName(): string {
  return signer === nobleSign ? 'noble' : signer.name || 'installed';
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new CryptoError('BAD_SECRET_KEY', `a secret key is ${SECRET_KEY_BYTES} bytes`);
  }
  return signer(message, secretKey);
}

/** noble's signature, whatever signer is installed (the reference the tests compare against). */
export function signPure(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nobleSign(message, secretKey);
}

/** Public-key verdicts kept for reuse; validators and busy senders sign over and over. */
export const KEY_CACHE_ENTRIES_MAX = 20_000;
const keyCache = new Map<string, EdPoint | null>();
type EdPoint = InstanceType<typeof ed25519.Point>;

/** The decoded point of a canonical public key that is not of small order; null otherwise. */
function parsePublicKey(publicKey: Uint8Array): EdPoint | null {
  const id = bytesToHex(publicKey);
  const cached = keyCache.get(id);
  if (cached !== undefined) return cached;
  let parsed: EdPoint | null = null;
  try {
    const point = ed25519.Point.fromBytes(publicKey, false);
    if (!point.isSmallOrder()) parsed = point;
  } catch {
    parsed = null;
  }
  if (keyCache.size >= KEY_CACHE_ENTRIES_MAX) keyCache.clear();
  keyCache.set(id, parsed);
  return parsed;
}

/** Is this 32-byte string a canonical Ed25519 public key that is not of small order? */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  return (
    publicKey instanceof Uint8Array &&
    publicKey.length === PUBLIC_KEY_BYTES &&
    parsePublicKey(publicKey) !== null
  );
}

/**
 * Verifies a signature under a public key that `isValidPublicKey` accepted. Installed by
 * `useSignatureVerifier`: the node installs OpenSSL's (core/nativeCrypto.ts, ~10× faster); the
 * default is `verifyCofactorless`, pure JS, which decides exactly as OpenSSL does.
 */
export type SignatureVerifier = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean;

const L = ed25519.Point.Fn.ORDER;

function leBigint(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/**
 * RFC 8032 §5.1.7 verification in its cofactorless form, the way OpenSSL does it: S < L, then
 * R' = [S]B − [k]A with k = SHA-512(R ‖ A ‖ M) mod L, accepted iff the encoding of R' equals the
 * R bytes of the signature (so a non-canonical R never matches). noble's own `verify` checks the
 * cofactored equation and accepts torsion in R, which OpenSSL refuses; consensus needs one answer,
 * so this is built from noble's point arithmetic instead. Pure JS: runs in a browser too.
 */
export function verifyCofactorless(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const A = parsePublicKey(publicKey);
  if (A === null) return false;
  const s = leBigint(signature.subarray(32, 64));
  if (s >= L) return false;
  const r = signature.subarray(0, 32);
  const k = leBigint(sha512(concatBytes(r, publicKey, message))) % L;
  const rCheck = ed25519.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes();
  return bytesEqual(rCheck, r);
}

let verifier: SignatureVerifier = verifyCofactorless;

/** Installs a faster verifier that decides exactly as `verifyCofactorless` (pinned by tests). */
export function useSignatureVerifier(v: SignatureVerifier): void {
  verifier = v;
}

/** The verifier in use, for tests and the start-up log. */
export function signatureVerifierName(): string {
  return verifier === verifyCofactorless ? 'pure' : verifier.name || 'installed';
}

/**
 * THE signature check for consensus validity (strict RFC 8032, cofactorless, plus rejection of
 * non-canonical and small-order public keys). Never throws on bad input: returns false.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  if (!(message instanceof Uint8Array)) return false;
  if (parsePublicKey(publicKey) === null) return false;
  try {
    return verifier(publicKey, message, signature);
  } catch {
    return false;
  }
}
