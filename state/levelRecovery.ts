/**
 * LevelDB repairs a damaged write-ahead log at open by dropping what fails its checksum — and
 * says so only in its info log ("(ignoring error) FILE: dropping N bytes; Corruption: …"), then
 * rewrites the survivors into a table and deletes the damaged file. Opened that way, the state
 * would silently miss the writes of some blocks (nodes of the state tree, stored blocks). So
 * after each open the info log of that open is read, and a drop is a fatal verdict: recorded in
 * a marker file, so the next open refuses too (the evidence is gone from LevelDB by then). The
 * remedy is the operator's: restore `db/` from a backup, or remove it and re-sync from peers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { causeChain, StorageError } from '../core/errors.js';

/** LevelDB's info log of the current open (the previous one becomes LOG.old). */
export const LEVEL_INFO_LOG = 'LOG';
/** Written into the database directory when an open found lost writes; its presence refuses. */
export const CORRUPTION_MARKER = 'CORRUPTED.json';
/** How much of the info log is read (LevelDB writes a few lines per open and compaction). */
export const LEVEL_INFO_LOG_READ_MAX = 1 << 20;

const DROPPED = /\(ignoring error\) (.+?): dropping (\d+) bytes; (.+)$/;

export interface LostWrites {
  readonly file: string;
  readonly droppedBytes: number;
  readonly reason: string;
}

function refusal(location: string, lost: readonly LostWrites[]): StorageError {
  const files = [...new Set(lost.map((l) => l.file))].join(', ');
  const bytes = lost.reduce((n, l) => n + l.droppedBytes, 0);
  return new StorageError(
    'STATE_DB_CORRUPT',
    `the database at ${location} lost ${bytes} bytes of committed writes from ${files} ` +
      `(${lost[0].reason}) when it was opened; it cannot be trusted. Stop the node, then restore ` +
      `${location} from a backup, or delete it and start again to re-sync the chain from peers ` +
      `(the keys and consensus/ stay). ${join(location, CORRUPTION_MARKER)} records this.`,
    { location, lost },
  );
}

/** Refuses a database an earlier open found damaged. */
export function refuseIfMarked(location: string): void {
  const marker = join(location, CORRUPTION_MARKER);
  if (!existsSync(marker)) return;
  let lost: LostWrites[] = [];
  try {
    lost = (JSON.parse(readFileSync(marker, 'utf8')) as { lost: LostWrites[] }).lost;
  } catch {
    // An unreadable marker refuses as well.
  }
  if (!Array.isArray(lost) || lost.length === 0)
    lost = [{ file: marker, droppedBytes: 0, reason: 'marker present' }];
  throw refusal(location, lost);
}

/** What LevelDB dropped during the open that wrote `infoLog`. */
export function lostWrites(infoLog: string): LostWrites[] {
  const out: LostWrites[] = [];
  for (const line of infoLog.split('\n')) {
    const m = DROPPED.exec(line);
    if (m !== null) out.push({ file: m[1], droppedBytes: Number(m[2]), reason: m[3] });
  }
  return out;
}

/** After an open: throws (and leaves the marker) when LevelDB dropped writes to open it. */
export function checkRecovery(location: string): void {
  let text: string;
  try {
    const raw = readFileSync(join(location, LEVEL_INFO_LOG));
    text = raw.subarray(0, LEVEL_INFO_LOG_READ_MAX).toString('utf8');
  } catch {
    return; // no info log (a custom env, or none written yet): nothing was reported dropped
  }
  const lost = lostWrites(text);
  if (lost.length === 0) return;
  writeFileSync(join(location, CORRUPTION_MARKER), `${JSON.stringify({ lost }, null, 2)}\n`);
  throw refusal(location, lost);
}

/**
 * A read that LevelDB refused because a table's bytes fail their checksum (code
 * LEVEL_CORRUPTION, also when wrapped as `cause`): a STATE_DB_CORRUPT error saying what to do,
 * else null. LevelDB does not say which table; the directory is named.
 */
export function corruptionError(e: unknown, location: string): StorageError | null {
  for (const cur of causeChain(e)) {
    // classic-level's code only: "Corruption:" in any other error's text may be a peer's words.
    if (cur.code === 'LEVEL_CORRUPTION') {
      return new StorageError(
        'STATE_DB_CORRUPT',
        `the database at ${location} is damaged (${cur.message}): a table's bytes fail their ` +
          `checksum. Stop the node, then restore ${location} from a backup, or delete it and ` +
          'start again to re-sync the chain from peers (the keys and consensus/ stay).',
        { location, cause: cur.message },
      );
    }
  }
  return null;
}
