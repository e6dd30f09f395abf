import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diskFullError, StorageError } from '../../core/errors.js';
import { NodeError } from '../../node/errors.js';
import { P2pError } from '../../p2p/host.js';

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
    // As classic-level's binding makes it (HandleErrorCallback: code LEVEL_IO_ERROR).
    const level = Object.assign(new Error('IO error: /data/db/000003.log: No space left on device'), {
      code: 'LEVEL_IO_ERROR',
    });
    expect(diskFullError(level)?.details.path).toBe('/data/db/000003.log');
    const wrapped = new Error('commit failed', { cause: new Error('batch failed', { cause: level }) });
    expect(diskFullError(wrapped)?.details.path).toBe('/data/db/000003.log');
  });

  it('is null for anything else: other errnos, other IO errors, non-errors, cause loops beyond the depth', () => {
    expect(diskFullError(Object.assign(new Error('EACCES'), { code: 'EACCES' }))).toBeNull();
    expect(
      diskFullError(
        Object.assign(new Error('IO error: /data/db/LOCK: Resource temporarily unavailable'), {
          code: 'LEVEL_IO_ERROR',
        }),
      ),
    ).toBeNull();
    expect(diskFullError('No space left on device')).toBeNull();
    expect(diskFullError(null)).toBeNull();
    const loop = new Error('a') as Error & { cause?: unknown };
    loop.cause = loop;
    expect(diskFullError(loop)).toBeNull();
  });

  // Attack (review): a peer's or a user's words in an error are not a local disk. Before, any
  // error whose text contained "No space left on device" stopped the node (exit 74) when it reached
  // `storageFailed` (sync, proposal building, commit, the process's uncaught handlers), e.g. a
  // transaction whose chain id is that sentence is refused with the id in the message.
  it('is null for the words alone: errors that quote remote text, LevelDB wording without its code', () => {
    const chainId = 'No space left on device';
    expect(diskFullError(new NodeError('WRONG_CHAIN', `transaction is for chain ${chainId}`))).toBeNull();
    expect(diskFullError(new Error('IO error: /data/db/000003.log: No space left on device'))).toBeNull();
    expect(
      diskFullError(new P2pError('REQUEST_FAILED', `blocks request to 12D3 failed: ${chainId}`)),
    ).toBeNull();
    // LevelDB's code with the sentence anywhere but where LevelDB writes it.
    const quoted = Object.assign(new Error(`IO error: x; peer said ${chainId}`), { code: 'LEVEL_IO_ERROR' });
    expect(diskFullError(quoted)).toBeNull();
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
