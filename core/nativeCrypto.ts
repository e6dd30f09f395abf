import * as crypto from 'node:crypto';
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { useHashBackend } from './hash.js';
import { useSignatureVerifier, useSigner } from './keys.js';

/**
 * Node only: installs node:crypto behind core/hash.ts and core/keys.ts on import. Every node entry
 * point (cli/openledger.ts, the worker threads, the bench, eval and devnet runners) and the vitest
 * setup import it; the browser client never does. The native functions decide exactly as the pure
 * defaults (SHA-256 is SHA-256; OpenSSL's Ed25519 check is the cofactorless equation that
 * `verifyCofactorless` implements), which test/core/keys.test.ts pins on adversarial vectors.
 */

const digest = (d: Buffer): Uint8Array => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/**
 * node:crypto's one-shot `hash()` (Node ≥ 20.12) skips the Hash object `createHash` makes per
 * call, most of the cost on the small inputs the node hashes most (transactions, Merkle nodes).
 */
type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;
/** Parts totalling at most this many bytes are concatenated and hashed in one shot. */
export const HASH_PARTS_CONCAT_BYTES_MAX = 4096;

const sha256Streamed = (parts: readonly Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return digest(h.digest());
};

useHashBackend(
  typeof oneShot === 'function'
    ? {
        name: 'node:crypto',
        sha256: (data) => digest(oneShot('sha256', data, 'buffer')),
        sha256Parts: (parts) => {
          let n = 0;
          for (const p of parts) n += p.length;
          if (n > HASH_PARTS_CONCAT_BYTES_MAX) return sha256Streamed(parts);
          return digest(oneShot('sha256', Buffer.concat(parts, n), 'buffer'));
        },
      }
    : {
        name: 'node:crypto',
        sha256: (data) => digest(createHash('sha256').update(data).digest()),
        sha256Parts: sha256Streamed,
      },
);

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Parsed OpenSSL keys kept for reuse (same bound as core/keys.ts's verdict cache). */
export const NATIVE_KEY_CACHE_ENTRIES_MAX = 20_000;
const keyObjects = new Map<string, KeyObject>();

function keyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  let k = keyObjects.get(id);
  if (k === undefined) {
    k = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    if (keyObjects.size >= NATIVE_KEY_CACHE_ENTRIES_MAX) keyObjects.clear();
    keyObjects.set(id, k);
  }
  return k;
}

useSignatureVerifier(function openssl(publicKey, message, signature) {
  return verify(null, message, keyObject(publicKey), signature);
});

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** Parsed private keys kept for reuse: a process signs with a handful of keys (its own). */
export const NATIVE_SIGNING_KEYS_MAX = 64;
const signingKeys = new Map<string, KeyObject>();

useSigner(function openssl(message, secretKey) {
  const id = Buffer.from(secretKey.buffer, secretKey.byteOffset, secretKey.byteLength).toString('latin1');
  let k = signingKeys.get(id);
  if (k === undefined) {
    k = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    if (signingKeys.size >= NATIVE_SIGNING_KEYS_MAX) signingKeys.clear();
    signingKeys.set(id, k);
  }
  return digest(sign(null, message, k));
});
