import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/**
 * SHA-256. Pure JS (@noble/hashes) by default, so this module and the client that imports it run
 * in a browser; the node installs node:crypto's native one (core/nativeCrypto.ts, ~4× faster on
 * 1 KiB). Both compute the same function; which one runs never changes a result.
 */

export interface HashBackend {
  name: string;
  sha256(data: Uint8Array): Uint8Array;
  /** SHA-256 over several parts without concatenating them first. */
  sha256Parts(parts: readonly Uint8Array[]): Uint8Array;
}

const NOBLE: HashBackend = {
  name: 'noble',
  sha256: (data) => nobleSha256(data),
  sha256Parts: (parts) => {
    const h = nobleSha256.create();
    for (const p of parts) h.update(p);
    return h.digest();
  },
};

let backend: HashBackend = NOBLE;

export function useHashBackend(b: HashBackend): void {
  backend = b;
}

export function hashBackendName(): string {
  return backend.name;
}

export function sha256(data: Uint8Array): Uint8Array {
  return backend.sha256(data);
}

/** SHA-256 over several parts without concatenating them first. */
export function sha256Parts(parts: readonly Uint8Array[]): Uint8Array {
  return backend.sha256Parts(parts);
}

export const HASH_BYTES = 32;
