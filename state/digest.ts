import * as crypto from 'node:crypto';

/**
 * SHA-256 for the node's hot paths (the tree hashes several times per written key). node:crypto's
 * one-shot `hash()` (Node ≥ 20.12) skips creating a Hash object per call, which is most of the
 * cost on inputs this small; older runtimes fall back to `createHash`. Same function as
 * core/hash.ts's sha256, only faster here; the browser verifier uses @noble/hashes.
 */
type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

export const sha256: (data: Uint8Array) => Buffer =
  typeof oneShot === 'function'
    ? (data) => oneShot('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();
