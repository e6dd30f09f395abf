import { hexToBytes as nobleFromHex, bytesToHex as nobleToHex } from '@noble/hashes/utils.js';
import { CodecError } from './errors.js';

/**
 * Byte helpers over plain `Uint8Array` (a `Buffer` passed in is treated as one). No `node:` module
 * and no `Buffer` here: the client and its imports bundle for a browser.
 */

const HEX_RE = /^(?:0x)?([0-9a-fA-F]*)$/;

export function toHex(bytes: Uint8Array): string {
  return nobleToHex(asPlain(bytes));
}

/** Lowercase hex without `0x` (an alias of `toHex`, named as in @noble). */
export const bytesToHex = toHex;

/** `0x`-prefixed lowercase hex, the form used on the wire (JSON-RPC) and in logs. */
export function to0x(bytes: Uint8Array): string {
  return `0x${toHex(bytes)}`;
}

/** Parses hex with or without `0x`; rejects odd lengths and non-hex characters. */
export function fromHex(hex: string, expectedLength?: number): Uint8Array {
  const m = typeof hex === 'string' ? HEX_RE.exec(hex) : null;
  if (!m || m[1].length % 2 !== 0) {
    throw new CodecError(
      'BAD_HEX',
      `not an even-length hex string: ${JSON.stringify(String(hex).slice(0, 80))}`,
    );
  }
  const out = nobleFromHex(m[1]);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new CodecError('BAD_LENGTH', `expected ${expectedLength} bytes of hex, got ${out.length}`);
  }
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Total order on byte strings: lexicographic, a proper prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 length of a string without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Decodes UTF-8, rejecting invalid sequences instead of substituting U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new CodecError('BAD_UTF8', 'bytes are not valid UTF-8');
  }
}

/** A plain `Uint8Array` view (not a `Buffer`), so equality checks and encodings see one type. */
export function asPlain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Big-endian unsigned encoding of a non-negative safe integer in exactly `width` bytes. */
export function uintToBytes(value: number, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}
