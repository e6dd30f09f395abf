import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 as nodeSha256 } from '../../core/hash.js';
import { EMPTY_ROOT } from '../../state/hashSpec.js';
import { PROOF_BYTES_MAX, verifyProof } from '../../state/proof.js';
import { StateDb } from '../../state/stateDb.js';
import { tempDirs, text } from './reference.js';

const dirs = tempDirs('proof');
let state: StateDb;
const N = 400;
const keyOf = (i: number) => text(`acct/${i}`);
const valueFor = (i: number, v: number) => text(`balance:${i * 31 + v}`);

beforeAll(async () => {
  state = await StateDb.open(dirs.make());
  // v0: keys 0..N-1; v1: every third deleted, every fifth changed; v2: a new range added.
  let o = state.overlay();
  for (let i = 0; i < N; i++) o.set(keyOf(i), valueFor(i, 0));
  await o.commit(0);
  o = state.overlay();
  for (let i = 0; i < N; i += 3) o.delete(keyOf(i));
  for (let i = 0; i < N; i += 5) o.set(keyOf(i), valueFor(i, 1));
  await o.commit(1);
  o = state.overlay();
  for (let i = N; i < N + 100; i++) o.set(keyOf(i), valueFor(i, 2));
  await o.commit(2);
});
afterAll(async () => {
  await state?.close();
  dirs.cleanup();
});

function expectedAt(i: number, version: number): Uint8Array | undefined {
  if (i >= N) return version >= 2 && i < N + 100 ? valueFor(i, 2) : undefined;
  if (version === 0) return valueFor(i, 0);
  if (i % 5 === 0) return valueFor(i, 1);
  return i % 3 === 0 ? undefined : valueFor(i, 0);
}

describe('state proofs', () => {
  it('every inclusion and exclusion proof verifies, at every retained version, with either sha256', () => {
    for (let version = 0; version <= 2; version++) {
      const root = state.rootAt(version);
      for (let i = 0; i < N + 150; i++) {
        const { value, proof } = state.prove(keyOf(i), version);
        expect(value).toEqual(expectedAt(i, version));
        expect(proof.length).toBeLessThanOrEqual(PROOF_BYTES_MAX);
        expect(verifyProof(root, keyOf(i), value, proof)).toBe(true);
        expect(verifyProof(root, keyOf(i), value, proof, nodeSha256)).toBe(true);
      }
    }
  });

  it('a proof of the wrong claim is rejected: absent claimed present, present claimed absent or different', () => {
    const root = state.latestRoot;
    for (let i = 0; i < N + 150; i += 7) {
      const { value, proof } = state.prove(keyOf(i));
      if (value === undefined) expect(verifyProof(root, keyOf(i), text('anything'), proof)).toBe(false);
      else {
        expect(verifyProof(root, keyOf(i), undefined, proof)).toBe(false);
        expect(verifyProof(root, keyOf(i), text('other'), proof)).toBe(false);
        expect(verifyProof(root, keyOf(i), value.subarray(1), proof)).toBe(false);
      }
    }
  });

  it('rejects every single flipped bit anywhere in a proof', () => {
    const root = state.latestRoot;
    for (const i of [1, 3, 10, N + 5, N + 120]) {
      const { value, proof } = state.prove(keyOf(i));
      for (let byte = 0; byte < proof.length; byte++) {
        for (const bit of [0, 3, 7]) {
          const bad = proof.slice();
          bad[byte] ^= 1 << bit;
          expect(verifyProof(root, keyOf(i), value, bad)).toBe(false);
        }
      }
    }
  });

  it('rejects a proof checked against another key, another root, or cut short / extended', () => {
    fc.assert(
      fc.property(fc.nat(N + 149), fc.nat(N + 149), fc.nat(), (i, j, cut) => {
        fc.pre(i !== j);
        const { value, proof } = state.prove(keyOf(i));
        expect(verifyProof(state.latestRoot, keyOf(j), value, proof)).toBe(false);
        const otherRoot = state.rootAt(0);
        if (
          expectedAt(i, 0) === undefined ||
          value === undefined ||
          expectedAt(i, 0)?.join() !== value.join()
        ) {
          expect(verifyProof(otherRoot, keyOf(i), value, proof)).toBe(false);
        }
        const flippedRoot = state.latestRoot.slice();
        flippedRoot[cut % 32] ^= 0x80;
        expect(verifyProof(flippedRoot, keyOf(i), value, proof)).toBe(false);
        expect(verifyProof(state.latestRoot, keyOf(i), value, proof.subarray(0, cut % proof.length))).toBe(
          false,
        );
        const longer = new Uint8Array(proof.length + 1 + (cut % 40));
        longer.set(proof);
        expect(verifyProof(state.latestRoot, keyOf(i), value, longer)).toBe(false);
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it('rejects random bytes as a proof and roots of the wrong length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(N), (junk, i) => {
        expect(verifyProof(state.latestRoot, keyOf(i), undefined, junk)).toBe(false);
        expect(verifyProof(state.latestRoot, keyOf(i), valueFor(i, 0), junk)).toBe(false);
      }),
      { seed: 4, numRuns: 500 },
    );
    const { value, proof } = state.prove(keyOf(1));
    expect(verifyProof(state.latestRoot.subarray(1), keyOf(1), value, proof)).toBe(false);
  });

  it('the verifier is browser-safe: proof.ts and what it imports use no node: module or LevelDB', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const m of source.matchAll(/from '([^']+)'/g)) {
        const spec = m[1];
        expect(spec.startsWith('node:') || spec.includes('level') || spec.startsWith('../core')).toBe(false);
        if (spec.startsWith('./')) visit(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(join(here, '..', '..', 'state', 'proof.ts'));
    expect(seen.size).toBeGreaterThanOrEqual(2);
  });

  it('proves absence in an empty tree and presence in a one-key tree', async () => {
    const s = await StateDb.open(dirs.make());
    try {
      const empty = s.prove(text('nothing'));
      expect(empty.value).toBeUndefined();
      expect(verifyProof(EMPTY_ROOT, text('nothing'), undefined, empty.proof)).toBe(true);
      const o = s.overlay();
      o.set(text('only'), text('one'));
      const root = await o.commit(5);
      const one = s.prove(text('only'));
      expect(verifyProof(root, text('only'), text('one'), one.proof)).toBe(true);
      expect(verifyProof(root, text('only'), text('two'), one.proof)).toBe(false);
      const other = s.prove(text('nothing'));
      expect(verifyProof(root, text('nothing'), undefined, other.proof)).toBe(true);
      expect(verifyProof(EMPTY_ROOT, text('nothing'), undefined, other.proof)).toBe(false);
    } finally {
      await s.close();
    }
  });
});
