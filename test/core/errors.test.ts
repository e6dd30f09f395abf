import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diskFullError, StorageError } from '../../core/errors.js';

describe('diskFullError', () => {
  it('recognises node:fs ENOSPC / EDQUOT errors and names their path', () => {
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      path: '/data/consensus/wal/12.wal',
    });
    const full = diskFullError(e);
    expect(full).toBeInstanceOf(StorageError);
    expect(full?.code).toBe('DISK_FULL');
    expect(full?.details.path).toBe('/data/consensus/wal/12.wal');
    expect(full?.message).toContain('/data/consensus/wal/12.wal');
    expect(diskFullError(Object.assign(new Error('quota'), { code: 'EDQUOT' }))?.details.path).toBeNull();
  });

  it("recognises LevelDB's IO error text, also wrapped as a cause", () => {
    const level = new Error('IO error: /data/db/000003.log: No space left on device');
    expect(diskFullError(level)?.details.path).toBe('/data/db/000003.log');
    const wrapped = new Error('commit failed', { cause: new Error('batch failed', { cause: level }) });
    expect(diskFullError(wrapped)?.details.path).toBe('/data/db/000003.log');
  });

  it('is null for anything else: other errnos, other IO errors, non-errors, cause loops beyond the depth', () => {
    expect(diskFullError(Object.assign(new Error('EACCES'), { code: 'EACCES' }))).toBeNull();
    expect(diskFullError(new Error('IO error: /data/db/LOCK: Resource temporarily unavailable'))).toBeNull();
    expect(diskFullError('No space left on device')).toBeNull();
    expect(diskFullError(null)).toBeNull();
    const loop = new Error('a') as Error & { cause?: unknown };
    loop.cause = loop;
    expect(diskFullError(loop)).toBeNull();
  });

  it.skipIf(!existsSync('/dev/full'))(
    'matches what writing to a full file system really throws (/dev/full)',
    () => {
      let thrown: unknown = null;
      try {
        writeFileSync('/dev/full', 'x');
      } catch (e) {
        thrown = e;
      }
      expect(thrown).not.toBeNull();
      expect(diskFullError(thrown)?.code).toBe('DISK_FULL');
    },
  );
});
