import type { ChainInfo, ValidatorSetEntry } from '../state/stores/records.js';
import { Stores } from '../state/stores/stores.js';
import type { StateReader, StateWriter } from '../state/types.js';
import { type Params, paramsFromList } from './params.js';

/**
 * Read-only views of the vm's state for the node and RPC. Everything here reads through the
 * typed stores; nothing writes.
 */

function readOnly(reader: StateReader): StateWriter {
  return {
    get: (k) => reader.get(k),
    set: () => {
      throw new Error('read-only state');
    },
    delete: () => {
      throw new Error('read-only state');
    },
  };
}

/** A read-only typed view of the state (accounts, validators, datanets, models, receipts, …). */
export function readStores(state: StateReader): Stores {
  return new Stores(readOnly(state));
}

/** Chain id, last executed height and time, genesis time; undefined before genesis. */
export function chainInfo(state: StateReader): ChainInfo | undefined {
  return readStores(state).chain();
}

/** The parameters in force. */
export function currentParams(state: StateReader): Params {
  return paramsFromList(readStores(state).paramValues() ?? []);
}

/**
 * The validator set that signs block `height`, sorted by power (descending) then address. After
 * block h executed, the state holds the sets of heights h−1, h, h+1 and h+2 (the set decided at
 * the end of h takes effect at h+2); older sets are dropped, so read them from block headers
 * (validatorsHash) or from the state at an older version. Returns undefined outside that window.
 */
export function validatorSetAt(state: StateReader, height: number): ValidatorSetEntry[] | undefined {
  return readStores(state).validatorSet(height);
}
