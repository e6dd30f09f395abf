import { createHash } from 'node:crypto';

/** SHA-256 through node:crypto (native). The browser-side client uses @noble/hashes instead. */
export function sha256(data: Uint8Array): Uint8Array {
  const d = createHash('sha256').update(data).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** SHA-256 over several parts without concatenating them first. */
export function sha256Parts(parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

export const HASH_BYTES = 32;
