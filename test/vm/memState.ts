import { compareBytes } from '../../core/bytes.js';
import { sha256Parts } from '../../core/hash.js';
import type { StateOverlay } from '../../state/types.js';

/**
 * A small in-memory StateOverlay for vm tests and the vm bench: a Map of key → value. The root is
 * sha256 over the sorted (key, value) pairs, each length-prefixed; it is not the real Merkle root
 * (that is state/'s job) but it is a function of the contents only, which is what the vm's
 * determinism needs. `clone()` gives an independent copy (a fresh overlay for a second proposal).
 */
export class MemState implements StateOverlay {
  private readonly map: Map<string, { key: Uint8Array; value: Uint8Array }>;

  constructor(from?: MemState) {
    this.map = new Map(from?.map);
  }

  private static id(key: Uint8Array): string {
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(MemState.id(key))?.value;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.map.set(MemState.id(key), { key: key.slice(), value: value.slice() });
  }

  delete(key: Uint8Array): void {
    this.map.delete(MemState.id(key));
  }

  get size(): number {
    return this.map.size;
  }

  root(): Uint8Array {
    const entries = [...this.map.values()].sort((a, b) => compareBytes(a.key, b.key));
    const parts: Uint8Array[] = [];
    for (const e of entries) {
      parts.push(u32(e.key.length), e.key, u32(e.value.length), e.value);
    }
    return sha256Parts(parts);
  }

  clone(): MemState {
    return new MemState(this);
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
