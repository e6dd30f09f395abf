import { sha256Parts } from '../../core/hash.js';
import type { StateOverlay } from '../../state/types.js';

/**
 * A small in-memory StateOverlay for vm tests and the vm bench: a Map of key → value. The root is
 * sha256 of the XOR of sha256(len(key) ‖ key ‖ value) over all entries (keys are unique, so no
 * entry cancels another), kept up to date incrementally for the keys written since the last
 * root(): a function of the contents only, whatever the write order, which is what the vm's
 * determinism needs. It is a test double, not a commitment scheme; the real Merkle root is
 * state/'s job. `clone()` gives an independent copy.
 */
export class MemState implements StateOverlay {
  private readonly map: Map<string, { key: Uint8Array; value: Uint8Array }>;
  /** Entry hashes as of the last root(), and the keys written since. */
  private readonly hashes: Map<string, Uint8Array>;
  private readonly dirty = new Set<string>();
  private readonly acc = new Uint8Array(32);

  constructor(from?: MemState) {
    this.map = new Map(from?.map);
    this.hashes = new Map(from?.hashes);
    if (from) {
      this.acc.set(from.acc);
      for (const k of from.dirty) this.dirty.add(k);
    }
  }

  private static id(key: Uint8Array): string {
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(MemState.id(key))?.value;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    const id = MemState.id(key);
    this.map.set(id, { key, value });
    this.dirty.add(id);
  }

  delete(key: Uint8Array): void {
    const id = MemState.id(key);
    this.map.delete(id);
    this.dirty.add(id);
  }

  get size(): number {
    return this.map.size;
  }

  root(): Uint8Array {
    const acc = this.acc;
    for (const id of this.dirty) {
      const old = this.hashes.get(id);
      if (old !== undefined) for (let i = 0; i < 32; i++) acc[i] ^= old[i];
      const e = this.map.get(id);
      if (e === undefined) {
        this.hashes.delete(id);
        continue;
      }
      const h = sha256Parts([u32(e.key.length), e.key, e.value]);
      for (let i = 0; i < 32; i++) acc[i] ^= h[i];
      this.hashes.set(id, h);
    }
    this.dirty.clear();
    return sha256Parts([acc]);
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
