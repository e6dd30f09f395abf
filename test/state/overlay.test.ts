import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError, ValidationError } from '../../core/errors.js';
import { EMPTY_ROOT } from '../../state/hashSpec.js';
import { STATE_KEY_BYTES_MAX, STATE_VALUE_BYTES_MAX } from '../../state/overlay.js';
import { StateDb } from '../../state/stateDb.js';
import { hex, referenceRoot, tempDirs, text } from './reference.js';

const dirs = tempDirs('overlay');
afterAll(() => dirs.cleanup());

async function withState(fn: (s: StateDb, dir: string) => Promise<void>): Promise<void> {
  const dir = dirs.make();
  const s = await StateDb.open(dir);
  try {
    await fn(s, dir);
  } finally {
    await s.close();
  }
}

async function seed(s: StateDb): Promise<void> {
  const o = s.overlay();
  o.set(text('a'), text('1'));
  o.set(text('b'), text('2'));
  await o.commit(10);
}

describe('overlays', () => {
  it('start empty: version undefined, empty root', async () => {
    await withState(async (s) => {
      expect(s.latestVersion).toBeUndefined();
      expect(s.oldestVersion).toBeUndefined();
      expect(s.latestRoot).toEqual(EMPTY_ROOT);
      expect(s.overlay().root()).toEqual(EMPTY_ROOT);
      expect(() => s.getAt(text('a'), 0)).toThrow(
        expect.objectContaining({ code: 'STATE_VERSION_NOT_RETAINED' }),
      );
    });
  });

  it('read their own writes first, then the committed state', async () => {
    await withState(async (s) => {
      await seed(s);
      const o = s.overlay();
      expect(o.get(text('a'))).toEqual(text('1'));
      o.set(text('a'), text('changed'));
      o.delete(text('b'));
      o.set(text('c'), text('3'));
      expect(o.get(text('a'))).toEqual(text('changed'));
      expect(o.get(text('b'))).toBeUndefined();
      expect(o.get(text('c'))).toEqual(text('3'));
      // The committed state is untouched until commit.
      expect(s.get(text('a'))).toEqual(text('1'));
      expect(s.get(text('b'))).toEqual(text('2'));
      o.discard();
      expect(s.get(text('a'))).toEqual(text('1'));
    });
  });

  it('copy keys and values in and out, so callers may reuse or mutate their buffers', async () => {
    await withState(async (s) => {
      const o = s.overlay();
      const k = text('key');
      const v = text('value');
      o.set(k, v);
      k[0] = 0;
      v[0] = 0;
      const read = o.get(text('key'));
      if (read) read[0] = 0;
      expect(o.get(text('key'))).toEqual(text('value'));
      await o.commit(0);
      expect(s.get(text('key'))).toEqual(text('value'));
    });
  });

  it('copy Buffers too (whose own slice() is a view, not a copy)', async () => {
    await withState(async (s) => {
      const o = s.overlay();
      const k = Buffer.from('key');
      const v = Buffer.from('value');
      o.set(k, v);
      k[0] = 0;
      v[0] = 0;
      expect(o.get(text('key'))).toEqual(text('value'));
      const root = o.root();
      root[0] ^= 1;
      expect(o.root()).not.toEqual(root);
      await o.commit(0);
      expect(s.get(text('key'))).toEqual(text('value'));
    });
  });

  it('several coexist over one base; committing one makes the others stale', async () => {
    await withState(async (s) => {
      await seed(s);
      const round0 = s.overlay();
      const round1 = s.overlay();
      round0.set(text('x'), text('round 0'));
      round1.set(text('x'), text('round 1'));
      round1.delete(text('a'));
      const r0 = round0.root();
      const r1 = round1.root();
      expect(hex(r0)).toBe(
        hex(
          referenceRoot(
            new Map([
              [hex(text('a')), text('1')],
              [hex(text('b')), text('2')],
              [hex(text('x')), text('round 0')],
            ]),
          ),
        ),
      );
      expect(hex(r1)).toBe(
        hex(
          referenceRoot(
            new Map([
              [hex(text('b')), text('2')],
              [hex(text('x')), text('round 1')],
            ]),
          ),
        ),
      );
      expect(round0.get(text('a'))).toEqual(text('1'));
      expect(hex(await round1.commit(11))).toBe(hex(r1));
      expect(s.latestVersion).toBe(11);
      for (const use of [
        () => round0.get(text('a')),
        () => round0.set(text('a'), text('z')),
        () => round0.root(),
      ]) {
        expect(use).toThrow(expect.objectContaining({ code: 'STATE_OVERLAY_STALE' }));
      }
      await expect(round0.commit(11)).rejects.toMatchObject({ code: 'STATE_OVERLAY_STALE' });
      await expect(round1.commit(12)).rejects.toMatchObject({ code: 'STATE_OVERLAY_CLOSED' });
      expect(s.getAt(text('x'), 11)).toEqual(text('round 1'));
      expect(s.getAt(text('a'), 10)).toEqual(text('1'));
      expect(s.getAt(text('a'), 11)).toBeUndefined();
    });
  });

  it('one commit at a time: a second commit while one is in flight is refused', async () => {
    await withState(async (s) => {
      await seed(s);
      const a = s.overlay();
      const b = s.overlay();
      a.set(text('a'), text('from a'));
      b.set(text('a'), text('from b'));
      const pending = a.commit(11);
      await expect(b.commit(11)).rejects.toMatchObject({ code: 'STATE_COMMIT_BUSY' });
      await pending;
      expect(s.get(text('a'))).toEqual(text('from a'));
    });
  });

  it('commit writes extra operations in the same batch, and a failing batch changes nothing', async () => {
    await withState(async (s, dir) => {
      await seed(s);
      const blocks = await s.sublevel('blocks');
      const o = s.overlay();
      o.set(text('a'), text('new'));
      await o.commit(11, [
        { type: 'put', sublevel: blocks, key: Buffer.from('h11'), value: Buffer.from('block 11') },
      ]);
      expect((await blocks.get(Buffer.from('h11')))?.toString()).toBe('block 11');

      const bad = s.overlay();
      bad.set(text('a'), text('never'));
      await expect(
        bad.commit(12, [
          { type: 'put', sublevel: blocks, key: null as unknown as Buffer, value: Buffer.from('x') },
        ]),
      ).rejects.toThrow();
      expect(s.latestVersion).toBe(11);
      expect(s.get(text('a'))).toEqual(text('new'));

      await s.close();
      const again = await StateDb.open(dir);
      try {
        expect(again.latestVersion).toBe(11);
        expect(again.get(text('a'))).toEqual(text('new'));
        expect((await (await again.sublevel('blocks')).get(Buffer.from('h11')))?.toString()).toBe('block 11');
      } finally {
        await again.close();
      }
      // withState closes `s` again: closing twice is harmless.
    });
  });

  it('versions go up by one after the first commit', async () => {
    await withState(async (s) => {
      await seed(s);
      for (const bad of [10, 12, -1, 1.5]) {
        const o = s.overlay();
        o.set(text('q'), text('q'));
        await expect(o.commit(bad)).rejects.toBeInstanceOf(ValidationError);
      }
      expect(s.latestVersion).toBe(10);
    });
  });

  it('limits keys and values, just above the named maximum', async () => {
    await withState(async (s) => {
      const o = s.overlay();
      expect(() => o.set(new Uint8Array(0), text('v'))).toThrow(
        expect.objectContaining({ code: 'STATE_KEY_BAD_LENGTH' }),
      );
      expect(() => o.set(new Uint8Array(STATE_KEY_BYTES_MAX + 1), text('v'))).toThrow(
        expect.objectContaining({ code: 'STATE_KEY_BAD_LENGTH' }),
      );
      expect(() => o.delete(new Uint8Array(STATE_KEY_BYTES_MAX + 1))).toThrow(ValidationError);
      expect(() => o.set(text('big'), new Uint8Array(STATE_VALUE_BYTES_MAX + 1))).toThrow(
        expect.objectContaining({ code: 'STATE_VALUE_TOO_LARGE' }),
      );
      o.set(new Uint8Array(STATE_KEY_BYTES_MAX).fill(7), new Uint8Array(STATE_VALUE_BYTES_MAX).fill(9));
      await o.commit(0);
      expect(s.get(new Uint8Array(STATE_KEY_BYTES_MAX).fill(7))?.length).toBe(STATE_VALUE_BYTES_MAX);
    });
  });

  it('reserves state- sublevel names', async () => {
    await withState(async (s) => {
      await expect(s.sublevel('state-node')).rejects.toMatchObject({ code: 'RESERVED_SUBLEVEL' });
    });
  });

  it('attaches to a database the node opened, and leaves it open on close', async () => {
    const db = new ClassicLevel<Buffer, Buffer>(dirs.make(), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
    });
    await db.open();
    try {
      const s = await StateDb.attach(db);
      const o = s.overlay();
      o.set(text('k'), text('v'));
      await o.commit(1);
      await s.close();
      expect(db.status).toBe('open');
      const again = await StateDb.attach(db);
      expect(again.latestVersion).toBe(1);
      expect(again.get(text('k'))).toEqual(text('v'));
    } finally {
      await db.close();
    }
  });

  it('warmUp loads the latest tree after a reopen, and reads and commits still agree', async () => {
    const dir = dirs.make();
    const s = await StateDb.open(dir);
    const o = s.overlay();
    for (let i = 0; i < 2000; i++) o.set(text(`w${i}`), text(`v${i}`));
    const root = await o.commit(0);
    await s.close();
    const again = await StateDb.open(dir);
    try {
      expect(await again.warmUp()).toBeGreaterThan(16);
      expect(again.getAt(text('w7'), 0)).toEqual(text('v7'));
      const o2 = again.overlay();
      o2.set(text('w7'), text('v7'));
      expect(await o2.commit(1)).toEqual(root);
    } finally {
      await again.close();
    }
  });

  it('a discarded overlay refuses further use', async () => {
    await withState(async (s) => {
      const o = s.overlay();
      o.discard();
      expect(() => o.set(text('a'), text('b'))).toThrow(StorageError);
    });
  });
});
