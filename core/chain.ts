import { ValidationError } from './errors.js';

/**
 * Domain tags: every signed payload starts with one of these and then the chain id, so a signature
 * made for one purpose or one chain is useless for any other.
 */
export const DOMAIN = {
  tx: 'ol/tx/1',
  vote: 'ol/vote/1',
  proposal: 'ol/proposal/1',
  request: 'ol/request/1',
  delivery: 'ol/delivery/1',
  ack: 'ol/ack/1',
} as const;

/**
 * The chain protocol this code speaks: bumped whenever blocks, transactions, signed payloads, state
 * layout or gossip change in a way older nodes would reject or compute differently. Printed by
 * `openledger --version`; the block and transaction envelopes carry their own version fields too.
 */
export const PROTOCOL_VERSION = 1;

export const CHAIN_ID_BYTES_MAX = 64;
const CHAIN_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function checkChainId(chainId: string): string {
  if (typeof chainId !== 'string' || !CHAIN_ID_RE.test(chainId)) {
    throw new ValidationError(
      'BAD_CHAIN_ID',
      `chain id ${JSON.stringify(String(chainId).slice(0, 80))} must be 1–64 of [a-z0-9._-], starting with a letter or digit`,
    );
  }
  return chainId;
}
