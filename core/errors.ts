/**
 * Typed errors. Every error that bad input can cause carries a stable, machine-readable `code`
 * (clients and tests match on it; never change one once released) and a message that says what
 * was wrong and, where it helps, what to do. Programmer errors (broken invariants) use `assert`
 * instead and are allowed to crash loudly.
 */
export class OlError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Bytes that are not a canonical encoding of the expected type. */
export class CodecError extends OlError {}

/** A value that is well-formed but breaks a rule (range, length, format). */
export class ValidationError extends OlError {}

/** A signature or key that fails cryptographic checks. */
export class CryptoError extends OlError {}

/** Something read from disk is missing, corrupt, or inconsistent. */
export class StorageError extends OlError {}

/** Bad configuration or command-line input. */
export class ConfigError extends OlError {}

export class AssertionError extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = 'AssertionError';
  }
}

/** For invariants only: a failure here is a bug in this code base, not bad input. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Exit status of the `openledger` command for damaged or full storage (sysexits EX_IOERR). */
export const EXIT_STORAGE_FAILED = 74;

/** errno codes of a full file system (ENOSPC) or a full quota (EDQUOT). */
const DISK_FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);
/** The `code` classic-level gives LevelDB's IO errors (binding.cc, HandleErrorCallback). */
const LEVEL_IO_ERROR = 'LEVEL_IO_ERROR';
/**
 * How LevelDB words a full disk in such an error (Status::ToString of an IOError):
 * "IO error: FILE: No space left on device". Anchored: the whole message is LevelDB's.
 */
const DISK_FULL_TEXT = /^IO error: (?:(.+?): )?(?:No space left on device|Disk quota exceeded)/;
/** How deep `cause` chains are followed (errors wrapped by libraries). */
export const ERROR_CAUSE_DEPTH_MAX = 4;

/** `e`, then the errors it wraps as `cause`, up to ERROR_CAUSE_DEPTH_MAX deep (a loop ends there). */
export function* causeChain(e: unknown): Generator<Error & { code?: unknown; path?: unknown }> {
  let cur: unknown = e;
  for (let depth = 0; depth <= ERROR_CAUSE_DEPTH_MAX && cur instanceof Error; depth++) {
    yield cur;
    cur = (cur as { cause?: unknown }).cause;
  }
}

export function diskFullError(e: unknown): StorageError | null {
  for (const x of causeChain(e)) {
    const text = x.code === LEVEL_IO_ERROR ? DISK_FULL_TEXT.exec(x.message) : null;
    if ((typeof x.code === 'string' && DISK_FULL_CODES.has(x.code)) || text !== null) {
      const path = typeof x.path === 'string' ? x.path : (text?.[1] ?? null);
      return new StorageError(
        'DISK_FULL',
        `the disk is full${path === null ? '' : ` (writing ${path})`}: free space on that file system and ` +
          'start the node again; what was committed is intact (each block is one atomic write)',
        { path, cause: x.message },
      );
    }
  }
  return null;
}
