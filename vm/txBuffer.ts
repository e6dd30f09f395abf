import type { StateWriter } from '../state/types.js';

/**
 * A transaction's writes, held back until it succeeds: reads see the buffer first, then the
 * block overlay. `flush` applies them in write order (the root does not depend on the order);
 * `reset` drops them when the body fails. One buffer is reused for every tx of a block.
 * Consensus-critical only in what it stores: the Map is a lookup table, and the resulting state
 * (hence the root) does not depend on its iteration order.
 */
export class TxBuffer implements StateWriter {
  private readonly writes = new Map<string, { key: Uint8Array; value: Uint8Array | undefined }>();

  constructor(private readonly base: StateWriter) {}

  private static id(key: Uint8Array): string {
    return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  }

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.writes.size > 0) {
      const w = this.writes.get(TxBuffer.id(key));
      if (w !== undefined) return w.value;
    }
    return this.base.get(key);
  }

  set(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(TxBuffer.id(key), { key, value });
  }

  delete(key: Uint8Array): void {
    this.writes.set(TxBuffer.id(key), { key, value: undefined });
  }

  flush(): void {
    for (const w of this.writes.values()) {
      if (w.value === undefined) this.base.delete(w.key);
      else this.base.set(w.key, w.value);
    }
    this.writes.clear();
  }

  reset(): void {
    this.writes.clear();
  }
}
