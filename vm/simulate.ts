import type { StateOverlay } from '../state/types.js';
import { BlockCtx } from './context.js';
import { blockError } from './errors.js';
import { type ExecTx, executeTx, type TxResult } from './execute.js';
import { paramsFromList } from './params.js';
import { readStores } from './readers.js';

/**
 * Dry run of one user transaction on top of `state` (for `ol_simulateTransaction` and gas
 * estimation): the same admission, gas metering and handler as in a block, with the signature
 * checked, in a block context at `height` / `timeMs`. The caller discards the overlay; nothing of
 * it is ever committed. Begin- and end-block steps do not run.
 */
export function simulateTx(state: StateOverlay, t: ExecTx, at: { height: number; timeMs: number }): TxResult {
  const s = readStores(state);
  const chain = s.chain();
  if (chain === undefined) throw blockError('NOT_INITIALISED', 'the state has no genesis');
  if (t.tx.type === 'attribution.settle')
    throw blockError('UNEXPECTED_SETTLE', 'settle transactions are built by proposers');
  const params = paramsFromList(s.paramValues() ?? []);
  const ctx = new BlockCtx(state, params, chain.chainId, at.height, at.timeMs, new Uint8Array(20));
  return executeTx(ctx, 0, t, true);
}
