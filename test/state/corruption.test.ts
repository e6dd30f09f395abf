import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../core/errors.js';
import { popcount16 } from '../../state/hashSpec.js';
import { rootRecordKey, SUBLEVEL_LATEST, SUBLEVEL_META, SUBLEVEL_NODES } from '../../state/layout.js';
import { CORRUPTION_MARKER, corruptionError, lostWrites } from '../../state/levelRecovery.js';
import { StateDb } from '../../state/stateDb.js';
import { hex, tempDirs, text } from './reference.js';

const dirs = tempDirs('corrupt');
afterEach(() => dirs.cleanup());

const keyOf = (i: number) => text(`item/${i}`);
const bin = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

/** A db with two versions, closed, so a test can damage its files' contents through LevelDB. */
async function prepared(): Promise<string> {
  const dir = dirs.make();
  const s = await StateDb.open(dir);
  let o = s.overlay();
  for (let i = 0; i < 300; i++) o.set(keyOf(i), text(`value ${i}`));
  await o.commit(1);
  o = s.overlay();
  for (let i = 0; i < 300; i += 2) o.set(keyOf(i), text(`value ${i} v2`));
  await o.commit(2);
  await s.close();
  return dir;
}

/** Applies `damage` to every entry of a sublevel (through a fresh handle), then reopens the state. */
async function damaged(
  dir: string,
  sublevel: string,
  damage: (v: Buffer) => Buffer | null,
): Promise<StateDb> {
  const s = await StateDb.open(dir);
  const sub = s.db.sublevel<Buffer, Buffer>(sublevel, bin);
  const entries: [Buffer, Buffer][] = [];
  for await (const [k, v] of sub.iterator()) entries.push([k, v]);
  for (const [k, v] of entries) {
    const d = damage(Buffer.from(v));
    if (d === null) await sub.del(k);
    else await sub.put(k, d);
  }
  await s.close();
  return StateDb.open(dir);
}

function flipLast(v: Buffer): Buffer {
  v[v.length - 1] ^= 0x01;
  return v;
}

describe('corruption on disk', () => {
  it('a damaged LevelDB log is refused at open with STATE_DB_CORRUPT naming the file, and stays refused (LevelDB itself drops the records silently)', async () => {
    const dir = await prepared();
    const log = readdirSync(dir).find((f) => /^\d+\.log$/.test(f));
    expect(log).toBeDefined();
    const path = join(dir, log as string);
    const bytes = readFileSync(path);
    for (let i = bytes.length >> 2; i < (bytes.length >> 2) + 64; i++) bytes[i] ^= 0xff;
    writeFileSync(path, bytes);
    const refused = StateDb.open(dir);
    await expect(refused).rejects.toMatchObject({ code: 'STATE_DB_CORRUPT' });
    await expect(refused).rejects.toThrow(
      new RegExp(`lost \\d+ bytes of committed writes from ${path}.*re-sync`),
    );
    expect(existsSync(join(dir, CORRUPTION_MARKER))).toBe(true);
    // LevelDB has meanwhile rewritten the survivors and deleted the damaged file: only the
    // marker still knows, and it refuses again.
    expect(existsSync(path)).toBe(false);
    await expect(StateDb.open(dir)).rejects.toMatchObject({ code: 'STATE_DB_CORRUPT' });
  });

  it("a damaged table (LevelDB's LEVEL_CORRUPTION on a read) becomes STATE_DB_CORRUPT naming the directory", () => {
    const level = Object.assign(new Error('Corruption: corrupted compressed block contents'), {
      code: 'LEVEL_CORRUPTION',
    });
    const typed = corruptionError(new Error('read failed', { cause: level }), '/d/db');
    expect(typed).toBeInstanceOf(StorageError);
    expect(typed?.code).toBe('STATE_DB_CORRUPT');
    expect(typed?.message).toMatch(/\/d\/db is damaged .*restore \/d\/db from a backup/);
    expect(corruptionError(new Error('IO error: LOCK: busy'), '/d/db')).toBeNull();
    // Attack (review): the word alone, in an error LevelDB did not make (a peer's text quoted in
    // a message, a wrapped answer), is not a damaged table; before, it stopped the node (exit 74).
    expect(corruptionError(new Error('Corruption: the peer says so'), '/d/db')).toBeNull();
    expect(corruptionError(new Error('x', { cause: new Error('Corruption: bad') }), '/d/db')).toBeNull();
  });

  it('recognises what classic-level really throws for a damaged table (get, getSync, iterator)', async () => {
    const dir = dirs.make();
    let db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    for (let i = 0; i < 2000; i++) await db.put(`k${i}`, `${'v'.repeat(100)}${i}`);
    await db.compactRange('k', 'l');
    await db.close();
    const table = join(dir, readdirSync(dir).find((f) => f.endsWith('.ldb')) as string);
    const bytes = readFileSync(table);
    for (let i = 100; i < 400; i++) bytes[i] ^= 0xff;
    writeFileSync(table, bytes);
    db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    const thrown: unknown[] = [];
    await db.get('k1').catch((e: unknown) => thrown.push(e));
    try {
      db.getSync('k1');
    } catch (e) {
      thrown.push(e);
    }
    try {
      for await (const _ of db.iterator());
    } catch (e) {
      thrown.push(e);
    }
    await db.close();
    expect(thrown).toHaveLength(3);
    for (const e of thrown) expect(corruptionError(e, dir)?.code).toBe('STATE_DB_CORRUPT');
  });

  it('lostWrites reads LevelDB info-log drop lines and nothing else', () => {
    const text = [
      '2026/12/04-02:51:53.895636 7f87 Recovering log #3',
      '2026/12/04-02:51:53.895863 7f87 (ignoring error) /d/db/000003.log: dropping 3439 bytes; Corruption: checksum mismatch',
      '2026/12/04-02:51:53.896259 7f87 Level-0 table #5: 91031 bytes OK',
    ].join('\n');
    expect(lostWrites(text)).toEqual([
      { file: '/d/db/000003.log', droppedBytes: 3439, reason: 'Corruption: checksum mismatch' },
    ]);
    expect(lostWrites('Recovering log #3\nDelete type=0 #3')).toEqual([]);
  });

  it('a flipped byte in a leaf value is a STATE_NODE_CORRUPT error naming key and version, never a wrong value', async () => {
    const s = await damaged(await prepared(), SUBLEVEL_NODES, (v) => (v[0] === 0x02 ? flipLast(v) : v));
    try {
      let err: unknown;
      try {
        s.getAt(keyOf(1), 1);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('STATE_NODE_CORRUPT');
      expect((err as StorageError).message).toContain(hex(keyOf(1)));
      expect((err as StorageError).message).toContain('version 1');
      expect((err as StorageError).details).toMatchObject({ key: hex(keyOf(1)), version: 1 });
      expect(() => s.prove(keyOf(1), 2)).toThrow(expect.objectContaining({ code: 'STATE_NODE_CORRUPT' }));
    } finally {
      await s.close();
    }
  });

  it('a flipped byte in an internal node (bitmap, leaf mask, child version, child hash, leaf key hash or CRC) is detected', async () => {
    // Format 3: tag ‖ 0x01 ‖ bitmap ‖ leaf mask ‖ child hashes ‖ leaf key hashes ‖ versions ‖ CRC.
    // Offsets: the hashed tag, the bitmap, the leaf mask, a child hash, the first leaf key hash
    // byte (every node at the bottom has leaf children), the last version byte, the CRC.
    const offsets: ((v: Buffer) => number)[] = [
      () => 1,
      () => 2,
      () => 5,
      () => 10,
      (v) => 6 + 32 * popcount16(v.readUInt16BE(2)),
      (v) => v.length - 5,
      (v) => v.length - 1,
    ];
    for (const offset of offsets) {
      const s = await damaged(await prepared(), SUBLEVEL_NODES, (v) => {
        if (v[0] !== 0x04) return v;
        v[offset(v)] ^= 0x10;
        return v;
      });
      try {
        for (const version of [1, 2]) {
          let failed = 0;
          for (let i = 0; i < 300; i += 10) {
            try {
              s.getAt(keyOf(i), version);
            } catch (e) {
              expect(e).toBeInstanceOf(StorageError);
              expect((e as StorageError).code).toMatch(/^STATE_NODE_(CORRUPT|MISSING)$/);
              failed++;
            }
          }
          expect(failed).toBeGreaterThan(0);
        }
        // Writing on top of a corrupt tree fails too instead of building on bad data.
        const o = s.overlay();
        o.set(keyOf(5), text('new'));
        expect(() => o.root()).toThrow(StorageError);
      } finally {
        await s.close();
      }
    }
  });

  it('a database in another on-disk format is refused at open with STATE_FORMAT_UNSUPPORTED', async () => {
    const dir = await prepared();
    const raw = await StateDb.open(dir);
    const meta = raw.db.sublevel<Buffer, Buffer>(SUBLEVEL_META, bin);
    await meta.put(Buffer.from('format'), Buffer.from([1]));
    await raw.close();
    await expect(StateDb.open(dir)).rejects.toMatchObject({ code: 'STATE_FORMAT_UNSUPPORTED' });
    await expect(StateDb.open(dir)).rejects.toThrow(/format 1.*reads format 3/);
  });

  it('a missing node is a STATE_NODE_MISSING error', async () => {
    const s = await damaged(await prepared(), SUBLEVEL_NODES, (v) => (v[0] === 0x02 ? null : v));
    try {
      expect(() => s.getAt(keyOf(3), 2)).toThrow(expect.objectContaining({ code: 'STATE_NODE_MISSING' }));
    } finally {
      await s.close();
    }
  });

  it('a flipped byte in the latest-value table (value or its hash) is STATE_VALUE_CORRUPT naming the key', async () => {
    const flipFirst = (v: Buffer) => {
      v[0] ^= 0x01;
      return v;
    };
    for (const damage of [flipLast, flipFirst]) {
      const s = await damaged(await prepared(), SUBLEVEL_LATEST, damage);
      try {
        expect(() => s.get(keyOf(7))).toThrow(expect.objectContaining({ code: 'STATE_VALUE_CORRUPT' }));
        expect(() => s.get(keyOf(7))).toThrow(hex(keyOf(7)));
        expect(() => s.overlay().get(keyOf(7))).toThrow(StorageError);
        // The tree itself is intact: reads through it still work.
        expect(s.getAt(keyOf(7), 2)).toEqual(text('value 7'));
      } finally {
        await s.close();
      }
    }
  });

  it('a damaged root record is reported when the database opens', async () => {
    const dir = await prepared();
    const s = await StateDb.open(dir);
    await s.db.sublevel<Buffer, Buffer>(SUBLEVEL_META, bin).put(rootRecordKey(2), Buffer.from([9, 9, 9]));
    await s.close();
    await expect(StateDb.open(dir)).rejects.toMatchObject({ code: 'STATE_ROOT_CORRUPT' });
  });
});
