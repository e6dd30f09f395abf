import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { StateDb } from '../../state/stateDb.js';
import { hex, referenceRoot, tempDirs, text } from './reference.js';

const dirs = tempDirs('order');
afterAll(() => dirs.cleanup());

describe('root independence from order and batching', () => {
  it('the same final key–value set gives the same root whatever the order, batching and detours', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.nat(5000), { minLength: 1, maxLength: 150 }),
        fc.array(fc.nat(5000), { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(),
        async (keys, detours, batches, shuffleSeed) => {
          const entries = keys.map((k) => [text(`key:${k}`), text(`value:${k * 7}`)] as const);
          const model = new Map(entries.map(([k, v]) => [hex(k), v]));
          const expected = hex(referenceRoot(model));

          // One big commit, in the given order.
          const a = await StateDb.open(dirs.make());
          const oa = a.overlay();
          for (const [k, v] of entries) oa.set(k, v);
          expect(hex(await oa.commit(0))).toBe(expected);
          await a.close();

          // Shuffled, split over several commits, with detours: keys written then deleted, and
          // values written wrong first and fixed in a later block.
          let rng = shuffleSeed | 1;
          const rand = (n: number) => {
            rng = (Math.imul(rng, 1103515245) + 12345) | 0;
            return (rng >>> 8) % n;
          };
          const shuffled = [...entries];
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = rand(i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
          }
          const b = await StateDb.open(dirs.make());
          let version = 0;
          const first = b.overlay();
          for (const d of detours) first.set(text(`detour:${d}`), text('x'));
          for (const [k] of shuffled) first.set(k, text('wrong'));
          await first.commit(version++);
          const per = Math.ceil(shuffled.length / batches);
          for (let i = 0; i < shuffled.length; i += per) {
            const o = b.overlay();
            for (const [k, v] of shuffled.slice(i, i + per)) o.set(k, v);
            await o.commit(version++);
          }
          const last = b.overlay();
          for (const d of detours) last.delete(text(`detour:${d}`));
          expect(hex(await last.commit(version))).toBe(expected);
          await b.close();
        },
      ),
      { seed: 7, numRuns: 30 },
    );
  });
});
