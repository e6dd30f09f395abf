import { OlError } from '../core/errors.js';

/**
 * Request/response framing: one message per direction, a 4-byte big-endian length then the bytes.
 * The reader refuses a declared length above the limit before buffering anything more, so a peer
 * cannot make us hold more than `sizeMax` bytes for one message.
 */
export class FrameError extends OlError {}

export const FRAME_HEADER_BYTES = 4;

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Incremental frame reader: push chunks, get the payload once complete. */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private received = 0;
  private expected = -1;

  constructor(private readonly sizeMax: number) {}

  /** Returns the payload when the frame is complete, else undefined. Throws on oversize or excess. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.expected < 0 && this.received >= FRAME_HEADER_BYTES) {
      const head = this.flatten();
      this.expected = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0);
      if (this.expected > this.sizeMax) {
        throw new FrameError(
          'FRAME_TOO_LARGE',
          `peer announced ${this.expected} bytes; the limit is ${this.sizeMax}`,
        );
      }
    }
    if (this.expected < 0) return undefined;
    const total = FRAME_HEADER_BYTES + this.expected;
    if (this.received > total) throw new FrameError('FRAME_TRAILING', 'bytes after the end of the frame');
    if (this.received < total) return undefined;
    return this.flatten().subarray(FRAME_HEADER_BYTES);
  }

  private flatten(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.received);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    this.chunks = [out];
    return out;
  }
}
