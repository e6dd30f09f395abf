import '../core/nativeCrypto.js';
import { verifySignature } from '../core/keys.js';

/**
 * Worker side of `SigPool`: verifies a batch of Ed25519 signatures with the one verification
 * function. Input and output are flat so structured cloning stays cheap.
 */
export interface SigBatch {
  publicKeys: Uint8Array[];
  messages: Uint8Array[];
  signatures: Uint8Array[];
}

export default function verifyBatch(batch: SigBatch): boolean[] {
  const out = new Array<boolean>(batch.publicKeys.length);
  for (let i = 0; i < out.length; i++)
    out[i] = verifySignature(batch.publicKeys[i], batch.messages[i], batch.signatures[i]);
  return out;
}
