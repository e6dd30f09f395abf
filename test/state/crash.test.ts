import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { StateDb } from '../../state/stateDb.js';
import { blockRecordKey, CRASH_BLOCKS_SUBLEVEL, CRASH_KEYS, crashBlock, crashKey } from './crashPlan.js';
import { hex, referenceRoot, tempDirs } from './reference.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const dirs = tempDirs('crash');
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  dirs.cleanup();
});

const KILLS = 24;

/**
 * Runs the child until it has acknowledged its first commit (so every run makes progress however
 * loaded the machine is), then kills it `delayMs` later; returns its output lines.
 */
function runAndKill(dir: string, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'crashChild.ts'), dir], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d) => {
      out += d;
      if (timer === undefined && /^\d+ /m.test(out)) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      children.delete(child);
      clearTimeout(timer);
      if (signal !== 'SIGKILL')
        reject(new Error(`child exited on its own (code ${code}): ${err.slice(-2000)}`));
      else resolve(out.split('\n').filter((l) => l.length > 0 && l !== 'ready'));
    });
  });
}

describe('crash safety', () => {
  it(`after ${KILLS} SIGKILLs at random moments the state reopens at exactly a committed version, complete`, async () => {
    const dir = dirs.make();
    // Expected state per version, computed here from the same deterministic blocks.
    const models: Map<string, Uint8Array>[] = [];
    const expectedRoot: string[] = [];
    const modelAt = (v: number) => {
      while (models.length <= v) {
        const m = new Map(models.length === 0 ? [] : models[models.length - 1]);
        for (const [k, value] of crashBlock(models.length)) {
          if (value === null) m.delete(hex(crashKey(k)));
          else m.set(hex(crashKey(k)), value);
        }
        models.push(m);
        expectedRoot.push(hex(referenceRoot(m)));
      }
      return models[v];
    };
    let rng = 0x5eed;
    let lastAcknowledged = -1;
    for (let kill = 0; kill < KILLS; kill++) {
      rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
      const delayMs = rng % 300;
      const lines = await runAndKill(dir, delayMs);
      for (const line of lines) {
        const [v, root] = line.split(' ');
        modelAt(Number(v));
        // What the child reported as committed is exactly the reference root of that version.
        expect(root).toBe(expectedRoot[Number(v)]);
        lastAcknowledged = Math.max(lastAcknowledged, Number(v));
      }

      const state = await StateDb.open(dir, { versionsKept: 4 });
      try {
        const latest = state.latestVersion;
        if (latest === undefined) {
          expect(lastAcknowledged).toBe(-1);
          continue;
        }
        // Never behind an acknowledged commit; at most the one in flight ahead of it.
        expect(latest).toBeGreaterThanOrEqual(lastAcknowledged);
        expect(latest).toBeLessThanOrEqual(lastAcknowledged + 1);
        const model = modelAt(latest);
        expect(hex(state.latestRoot)).toBe(expectedRoot[latest]);
        for (let i = 0; i < CRASH_KEYS; i++) {
          expect(state.get(crashKey(i))).toEqual(model.get(hex(crashKey(i))));
        }
        for (let i = 0; i < CRASH_KEYS; i += 97) {
          expect(state.getAt(crashKey(i), latest)).toEqual(model.get(hex(crashKey(i))));
        }
        // The extra operations of each commit landed with it, and nothing of the next one did.
        const blocks = await state.sublevel(CRASH_BLOCKS_SUBLEVEL);
        expect((await blocks.get(blockRecordKey(latest)))?.toString()).toBe(`block ${latest}`);
        expect(await blocks.get(blockRecordKey(latest + 1))).toBeUndefined();
        lastAcknowledged = latest;
      } finally {
        await state.close();
      }
    }
    expect(lastAcknowledged).toBeGreaterThanOrEqual(KILLS);
  }, 240_000);
});
