import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { StateDb } from '../../state/stateDb.js';
import { hex, referenceRoot, tempDirs, text, unhex } from './reference.js';

const dirs = tempDirs('model');
afterAll(() => dirs.cleanup());

const KEYS = 300;
const keyOf = (i: number) => text(`k/${i}`);

/** A block: writes of random keys from a small universe; null deletes. */
const blockArb = fc.array(
  fc.record({
    k: fc.nat(KEYS - 1),
    v: fc.option(fc.uint8Array({ minLength: 0, maxLength: 40 }), { freq: 4 }),
  }),
  { minLength: 0, maxLength: 80 },
);

describe('state tree against an in-memory model', () => {
  it('values, roots and old versions match a from-scratch reference after random puts, deletes and commits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(blockArb, { minLength: 1, maxLength: 10 }),
        fc.nat(),
        async (blocks, pick) => {
          const dir = dirs.make();
          let state = await StateDb.open(dir);
          const model = new Map<string, Uint8Array>();
          const history: Map<string, Uint8Array>[] = [];
          const roots: Uint8Array[] = [];
          try {
            for (let v = 0; v < blocks.length; v++) {
              const o = state.overlay();
              for (const { k, v: value } of blocks[v]) {
                if (value === null) {
                  o.delete(keyOf(k));
                  model.delete(hex(keyOf(k)));
                } else {
                  o.set(keyOf(k), value);
                  model.set(hex(keyOf(k)), value);
                }
                // The overlay reads its own writes.
                expect(o.get(keyOf(k))).toEqual(value ?? undefined);
              }
              const expected = referenceRoot(model);
              expect(hex(o.root())).toBe(hex(expected));
              expect(hex(await o.commit(v))).toBe(hex(expected));
              history.push(new Map(model));
              roots.push(expected);
              if (v === Math.floor(blocks.length / 2)) {
                // Reopening keeps the latest version and root.
                await state.close();
                state = await StateDb.open(dir);
                expect(state.latestVersion).toBe(v);
                expect(hex(state.latestRoot)).toBe(hex(expected));
              }
            }
            for (let i = 0; i < KEYS; i++) {
              expect(state.get(keyOf(i))).toEqual(model.get(hex(keyOf(i))));
            }
            // Reads at old versions, through the tree.
            const old = pick % blocks.length;
            expect(hex(state.rootAt(old))).toBe(hex(roots[old]));
            for (let i = 0; i < KEYS; i += 3) {
              expect(state.getAt(keyOf(i), old)).toEqual(history[old].get(hex(keyOf(i))));
            }
            for (const [k, value] of history[old]) expect(state.getAt(unhex(k), old)).toEqual(value);
          } finally {
            await state.close();
          }
        },
      ),
      { seed: 20261122, numRuns: 60 },
    );
  });

  it('writing a key back to its current value changes nothing', async () => {
    const state = await StateDb.open(dirs.make());
    try {
      const o = state.overlay();
      for (let i = 0; i < 50; i++) o.set(keyOf(i), text(`v${i}`));
      const r0 = await o.commit(1);
      const o2 = state.overlay();
      for (let i = 0; i < 50; i += 2) o2.set(keyOf(i), text(`v${i}`));
      o2.delete(keyOf(999)); // absent
      expect(hex(await o2.commit(2))).toBe(hex(r0));
      expect(state.getAt(keyOf(4), 1)).toEqual(text('v4'));
    } finally {
      await state.close();
    }
  });

  it('deleting everything returns to the empty root', async () => {
    const state = await StateDb.open(dirs.make());
    try {
      const o = state.overlay();
      for (let i = 0; i < 100; i++) o.set(keyOf(i), text(`v${i}`));
      await o.commit(0);
      const o2 = state.overlay();
      for (let i = 0; i < 100; i++) o2.delete(keyOf(i));
      expect(hex(await o2.commit(1))).toBe(hex(new Uint8Array(32)));
      expect(state.get(keyOf(3))).toBeUndefined();
      expect(state.getAt(keyOf(3), 0)).toEqual(text('v3'));
      expect(state.getAt(keyOf(3), 1)).toBeUndefined();
    } finally {
      await state.close();
    }
  });
});
