import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { CryptoError } from './errors.js';

/**
 * Ed25519 keys and signatures. Signing uses @noble/curves (the same code the browser client runs);
 * verification uses node:crypto (OpenSSL), roughly 10× faster. Every validity check in the node
 * goes through `verifySignature`, and nothing else verifies signatures.
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

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    throw new CryptoError('BAD_SECRET_KEY', `a secret key is ${SECRET_KEY_BYTES} bytes`);
  }
  return ed25519.sign(message, secretKey);
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Parsed keys kept for reuse; validators and busy senders sign over and over. */
export const KEY_CACHE_ENTRIES_MAX = 20_000;
const keyCache = new Map<string, KeyObject | null>();

function parsePublicKey(publicKey: Uint8Array): KeyObject | null {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  const cached = keyCache.get(id);
  if (cached !== undefined) return cached;
  let parsed: KeyObject | null = null;
  try {
    const point = ed25519.Point.fromBytes(publicKey, false);
    if (!point.isSmallOrder()) {
      parsed = createPublicKey({
        key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
        format: 'der',
        type: 'spki',
      });
    }
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
 * THE signature check for consensus validity (strict RFC 8032 through OpenSSL, plus rejection of
 * non-canonical and small-order public keys). Never throws on bad input: returns false.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  const key = parsePublicKey(publicKey);
  if (key === null) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
