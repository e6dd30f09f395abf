import { fromHex, toHex } from './bytes.js';
import { ValidationError } from './errors.js';
import { sha256 } from './hash.js';

/** An address is the first 20 bytes of sha256(public key), written as lowercase `0x` hex. */
export const ADDRESS_BYTES = 20;

export function addressOf(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, ADDRESS_BYTES).slice();
}

export function formatAddress(address: Uint8Array): string {
  if (address.length !== ADDRESS_BYTES) throw new ValidationError('BAD_ADDRESS', 'an address is 20 bytes');
  return `0x${toHex(address)}`;
}

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** Parses `0x` + 40 hex digits (either case); anything else is a `BAD_ADDRESS` error. */
export function parseAddress(text: string): Uint8Array {
  if (typeof text !== 'string' || !ADDRESS_RE.test(text)) {
    throw new ValidationError(
      'BAD_ADDRESS',
      `not an address: ${JSON.stringify(String(text).slice(0, 60))} (expected 0x followed by 40 hex digits)`,
    );
  }
  return fromHex(text);
}
