import { StateDb } from '../../state/stateDb.js';
import { blockRecordKey, CRASH_BLOCKS_SUBLEVEL, crashBlock, crashKey } from './crashPlan.js';

/**
 * Child process of crash.test.ts: commits blocks forever (until SIGKILLed), each with an extra
 * block record in another sublevel of the same batch, and prints "v roothex" after each commit
 * resolves. Pruning is on, so kills also land in the middle of pruning deletions.
 */
const dir = process.argv[2];
const state = await StateDb.open(dir, { versionsKept: 4 });
const blocks = await state.sublevel(CRASH_BLOCKS_SUBLEVEL);
process.stdout.write('ready\n');
for (let v = (state.latestVersion ?? -1) + 1; ; v++) {
  const o = state.overlay();
  for (const [k, value] of crashBlock(v)) value === null ? o.delete(crashKey(k)) : o.set(crashKey(k), value);
  const root = await o.commit(v, [
    { type: 'put', sublevel: blocks, key: blockRecordKey(v), value: Buffer.from(`block ${v}`) },
  ]);
  process.stdout.write(`${v} ${Buffer.from(root).toString('hex')}\n`);
}
