/**
 * What the crash-test child commits: block `v` is a pure function of `v`, so the parent can
 * recompute the exact state of any version the child may have reached.
 */
export const CRASH_KEYS = 3000;
const WRITES_PER_BLOCK = 1500;

export const crashKey = (i: number) => new TextEncoder().encode(`crash/${i}`);

/** [key index, value or null for delete] for block `v`. */
export function crashBlock(v: number): [number, Uint8Array | null][] {
  const out: [number, Uint8Array | null][] = [];
  let x = (v + 1) * 2654435761;
  for (let j = 0; j < WRITES_PER_BLOCK; j++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const k = x % CRASH_KEYS;
    out.push([k, x % 7 === 0 ? null : new TextEncoder().encode(`v${v}/${j}/${x}`)]);
  }
  return out;
}

/** The sublevel the child writes one record per block into, in the same batch as the state. */
export const CRASH_BLOCKS_SUBLEVEL = 'blocks';

export function blockRecordKey(v: number): Buffer {
  const k = Buffer.alloc(8);
  k.writeUIntBE(v, 2, 6);
  return k;
}
