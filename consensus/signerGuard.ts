/**
 * The double-sign guard: the only way the node signs consensus messages. It persists the last
 * (height, round, step) it signed, durably, *before* returning a signature, and after any restart
 * refuses to sign anything at or below that point that differs from what it signed. Re-signing
 * the very same message returns the stored signature (Ed25519 is deterministic anyway), which lets
 * a restarted node replay its WAL and re-broadcast its own votes.
 *
 * Steps order messages within a round like CometBFT's privval: proposal (1) < prevote (2) <
 * precommit (3). The WAL can lose unsynced records; this guard cannot lose anything it answered,
 * so together they keep an honest validator from equivocating whatever the crash.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  type Proposal,
  proposalSigningBytes,
  ROUND_MAX,
  type UnsignedProposal,
  type UnsignedVote,
  VOTE_PRECOMMIT,
  type Vote,
  voteSigningBytes,
} from '../core/block.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import { bytesN, decode, encode, int, struct, uint } from '../core/codec.js';
import { CodecError, OlError, StorageError } from '../core/errors.js';
import { sha256 } from '../core/hash.js';
import { SIGNATURE_BYTES } from '../core/keys.js';

export const SIGN_STEP_PROPOSAL = 1;
export const SIGN_STEP_PREVOTE = 2;
export const SIGN_STEP_PRECOMMIT = 3;

export interface SignerState {
  readonly height: number;
  readonly round: number;
  readonly step: number;
  /** sha256 of the signing bytes of the last signed message. */
  readonly signBytesHash: Uint8Array;
  readonly signature: Uint8Array;
}

/** Durable storage of the guard's state: `save` returns only once the state is on disk. */
export interface SignerStateStore {
  load(): SignerState | null;
  save(state: SignerState): void;
}

/** Produces a signature over `message` with the validator's key (e.g. core/keys.ts `sign`). */
export type SignFn = (message: Uint8Array) => Uint8Array;

/** A refusal to sign. Codes: HEIGHT_REGRESSION, ROUND_REGRESSION, STEP_REGRESSION, CONFLICT. */
export class SignerGuardError extends OlError {}

export class SignerGuard {
  private readonly chainId: string;
  private readonly signFn: SignFn;
  private readonly store: SignerStateStore;
  private state: SignerState | null;
  /** Signing requests refused since start. */
  refusals = 0;

  constructor(chainId: string, signFn: SignFn, store: SignerStateStore) {
    this.chainId = chainId;
    this.signFn = signFn;
    this.store = store;
    this.state = store.load();
  }

  get lastSigned(): SignerState | null {
    return this.state;
  }

  signVote(v: UnsignedVote): Vote {
    const step = v.kind === VOTE_PRECOMMIT ? SIGN_STEP_PRECOMMIT : SIGN_STEP_PREVOTE;
    const signature = this.signAt(v.height, v.round, step, voteSigningBytes(this.chainId, v));
    return { ...v, signature };
  }

  signProposal(p: UnsignedProposal): Proposal {
    const signature = this.signAt(
      p.height,
      p.round,
      SIGN_STEP_PROPOSAL,
      proposalSigningBytes(this.chainId, p),
    );
    return { ...p, signature };
  }

  private signAt(height: number, round: number, step: number, signBytes: Uint8Array): Uint8Array {
    const hash = sha256(signBytes);
    const last = this.state;
    if (last !== null) {
      const where = `(${height}/${round}/${step}); last signed (${last.height}/${last.round}/${last.step})`;
      if (height < last.height) return this.refuse('HEIGHT_REGRESSION', `refusing to sign at ${where}`);
      if (height === last.height && round < last.round) {
        return this.refuse('ROUND_REGRESSION', `refusing to sign at ${where}`);
      }
      if (height === last.height && round === last.round) {
        if (step < last.step) return this.refuse('STEP_REGRESSION', `refusing to sign at ${where}`);
        if (step === last.step) {
          if (bytesEqual(hash, last.signBytesHash)) return last.signature;
          return this.refuse('CONFLICT', `refusing a conflicting signature at ${where}`);
        }
      }
    }
    const signature = this.signFn(signBytes);
    const next: SignerState = { height, round, step, signBytesHash: hash, signature };
    this.store.save(next); // durable before the signature exists anywhere else
    this.state = next;
    return signature;
  }

  private refuse(code: string, message: string): never {
    this.refusals++;
    throw new SignerGuardError(code, message);
  }
}

// ---- storage ------------------------------------------------------------------------------------

const signerStateSchema = struct('signerState', [
  ['version', int(1, 1)],
  ['height', uint()],
  ['round', uint(ROUND_MAX)],
  ['step', int(SIGN_STEP_PROPOSAL, SIGN_STEP_PRECOMMIT)],
  ['signBytesHash', bytesN(32)],
  ['signature', bytesN(SIGNATURE_BYTES)],
] as const);

const SIGNER_STATE_BYTES_MAX = 256;

/** 4-byte crc32 then the canonical encoding: a torn or rotted file is detected, never trusted. */
export function encodeSignerState(s: SignerState): Uint8Array {
  const body = encode(signerStateSchema, { version: 1, ...s });
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, crc32(body));
  out.set(body, 4);
  return out;
}

export function decodeSignerState(bytes: Uint8Array): SignerState {
  if (bytes.length < 5) throw new CodecError('TRUNCATED', 'signer state is truncated');
  const body = bytes.subarray(4);
  if (new DataView(bytes.buffer, bytes.byteOffset).getUint32(0) !== crc32(body)) {
    throw new CodecError('BAD_CHECKSUM', 'signer state checksum mismatch');
  }
  const { version: _v, ...s } = decode(signerStateSchema, body, SIGNER_STATE_BYTES_MAX);
  return s;
}

/**
 * The guard's state in one file, replaced atomically (write a temporary file, fsync, rename,
 * fsync the directory). A corrupt file stops the node with STORAGE error SIGNER_STATE_CORRUPT:
 * silently starting from nothing could sign a conflicting vote; an operator must decide.
 */
export class FileSignerStateStore implements SignerStateStore {
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  load(): SignerState | null {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(this.path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StorageError('SIGNER_STATE_READ', `cannot read ${this.path}: ${(e as Error).message}`);
    }
    try {
      return decodeSignerState(bytes);
    } catch (e) {
      throw new StorageError(
        'SIGNER_STATE_CORRUPT',
        `signer state ${this.path} is corrupt (${(e as Error).message}); refusing to start. ` +
          'Restore it from a backup, or after making sure this key signed nothing above the chain tip, remove it.',
        { bytes: toHex(bytes.subarray(0, 16)) },
      );
    }
  }

  save(state: SignerState): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, encodeSignerState(state));
      fsyncSync(fd);
    } catch (e) {
      // fs errors of write/fsync carry no file name (a full disk must say which file).
      if (e instanceof Error && (e as { path?: unknown }).path === undefined) Object.assign(e, { path: tmp });
      throw e;
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dfd = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

/** For the simulator and tests: "durable" means it survives the simulated crash of its node. */
export class MemorySignerStateStore implements SignerStateStore {
  state: SignerState | null = null;
  saves = 0;

  load(): SignerState | null {
    return this.state;
  }

  save(state: SignerState): void {
    this.state = state;
    this.saves++;
  }
}
