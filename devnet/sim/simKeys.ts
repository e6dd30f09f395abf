/**
 * Validator keys for the simulator: real Ed25519 keys derived from the node index, signed with
 * node:crypto (native, deterministic RFC 8032 signatures, so runs replay exactly).
 *
 * The simulator signs every message for real but does NOT re-verify signatures on delivery:
 * messages travel as objects inside one process, and a node can only sign with its own key, so
 * authenticity holds by construction. What the simulator tests is the state machine, the WAL and
 * the signer guard; signature verification is tested in test/consensus/validation.test.ts and
 * commit.test.ts with real keys.
 */

import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { addressOf } from '../../core/address.js';
import { encodeWire } from '../../core/codec.js';
import { sha256 } from '../../core/hash.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SimKey {
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  readonly sign: (message: Uint8Array) => Uint8Array;
}

const cache = new Map<number, SimKey>();

export function simKey(index: number): SimKey {
  const cached = cache.get(index);
  if (cached) return cached;
  const seed = sha256(encodeWire(['ol/sim/key/1', index]));
  const privateKey: KeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  const key: SimKey = {
    publicKey,
    address: addressOf(publicKey),
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
  cache.set(index, key);
  return key;
}
