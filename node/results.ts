import { amount, decodeWire, encodeWire, type Wire } from '../core/codec.js';
import { StorageError } from '../core/errors.js';
import type { TxType } from '../core/tx.js';
import type { EventValue, VmEvent } from '../vm/events.js';
import { eventToWire } from '../vm/events.js';
import type { BlockResult } from '../vm/execute.js';

/**
 * What the node stores of a block's execution for clients: each tx's result and every event.
 * Encoded with the canonical codec; decoded only by this node (RPC), never consensus input.
 */

export interface StoredTxResult {
  hash: Uint8Array;
  type: TxType;
  sender: Uint8Array;
  code: string;
  message: string;
  charged: boolean;
  gasUsed: number;
  fee: bigint;
}

export interface StoredResults {
  txs: StoredTxResult[];
  events: VmEvent[];
}

export const RESULTS_BYTES_MAX = 64 * 1024 * 1024;

export function encodeResults(r: BlockResult): Uint8Array {
  return encodeWire([
    r.txResults.map((t) => [
      t.hash,
      t.type,
      t.sender,
      t.code,
      t.message,
      t.charged,
      t.gasUsed,
      amount.toWire(t.fee),
    ]),
    r.events.map(eventToWire),
  ]);
}

function valueFromWire(w: unknown): EventValue {
  if (Array.isArray(w) && w.length === 2 && w[0] === 'n' && w[1] instanceof Uint8Array) {
    return amount.fromWire(w[1], 'event');
  }
  if (w instanceof Uint8Array) return new Uint8Array(w);
  return w as EventValue;
}

export function eventFromWire(w: unknown): VmEvent {
  const [type, txIndex, addresses, attrs] = w as [string, number, Uint8Array[], [string, unknown][]];
  return {
    type: type as VmEvent['type'],
    txIndex,
    addresses: addresses.map((a) => new Uint8Array(a)),
    attrs: Object.fromEntries(attrs.map(([k, v]) => [k, valueFromWire(v)])),
  };
}

export function decodeResults(bytes: Uint8Array): StoredResults {
  try {
    const [txs, events] = decodeWire(bytes, RESULTS_BYTES_MAX) as [Wire[][], Wire[]];
    return {
      txs: txs.map((t) => ({
        hash: new Uint8Array(t[0] as Uint8Array),
        type: t[1] as TxType,
        sender: new Uint8Array(t[2] as Uint8Array),
        code: t[3] as string,
        message: t[4] as string,
        charged: t[5] as boolean,
        gasUsed: t[6] as number,
        fee: amount.fromWire(t[7], 'fee'),
      })),
      events: events.map(eventFromWire),
    };
  } catch (e) {
    throw new StorageError('CORRUPT_RESULTS', `stored block results are unreadable: ${(e as Error).message}`);
  }
}
