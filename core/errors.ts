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
