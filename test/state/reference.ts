import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';

/**
 * An independent, deliberately naive reference for the state root: rebuilds the whole tree from
 * the key–value set with its own hashing code (pure-JS sha256, no code shared with state/). If the
 * real tree's incremental updates, collapses or splits go wrong, its root stops matching this one.
 *
 * Rules (state/README.md): leaf = H(00 ‖ H(key) ‖ H(value)); internal = H(01 ‖ bitmap u16 BE ‖
 * leaf mask u16 BE ‖ present children); one leaf alone in a subtree is that subtree; empty tree =
 * 32 zero bytes.
 */
export function referenceRoot(entries: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const leaves = [...entries].map(([hexKey, value]) => ({
    path: sha256(Buffer.from(hexKey, 'hex')),
    valueHash: sha256(value),
  }));
  if (leaves.length === 0) return new Uint8Array(32);
  return subtree(leaves, 0);
}

type RefLeaf = { path: Uint8Array; valueHash: Uint8Array };

function subtree(leaves: RefLeaf[], depth: number): Uint8Array {
  if (leaves.length === 1) {
    return sha256(Uint8Array.from([0, ...leaves[0].path, ...leaves[0].valueHash]));
  }
  const groups = new Map<number, RefLeaf[]>();
  for (const l of leaves) {
    const byte = l.path[Math.floor(depth / 2)];
    const nib = depth % 2 === 0 ? byte >> 4 : byte & 15;
    groups.set(nib, [...(groups.get(nib) ?? []), l]);
  }
  let bitmap = 0;
  let leafMask = 0;
  const parts: number[] = [];
  for (let nib = 0; nib < 16; nib++) {
    const g = groups.get(nib);
    if (!g) continue;
    bitmap |= 1 << nib;
    if (g.length === 1) leafMask |= 1 << nib;
    parts.push(...subtree(g, depth + 1));
  }
  return sha256(Uint8Array.from([1, bitmap >> 8, bitmap & 255, leafMask >> 8, leafMask & 255, ...parts]));
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
export const text = (s: string) => new TextEncoder().encode(s);

/** Temp directories for one test file; `cleanup` in afterAll removes them even after failures. */
export function tempDirs(label: string) {
  const made: string[] = [];
  return {
    make(): string {
      const d = mkdtempSync(join(tmpdir(), `ol-state-${label}-`));
      made.push(d);
      return d;
    },
    cleanup(): void {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
