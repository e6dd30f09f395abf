import { OlError } from '../core/errors.js';
import { OpenLedgerClient } from '../rpc/client.js';
import type { Bench } from './run.js';

/**
 * Issue 20's figure on a running network: the share of blocks whose last commit carries the
 * precommit of every validator of the set, and each validator's missed blocks and jailing.
 *
 *   npm run devnet                       # in one terminal (the default devnet, with the demo)
 *   npm run bench -- certificates [--rpc URL] [--from H]
 *
 * It only reads (ol_status, ol_getValidators, ol_getBlockByHeight): run it after the devnet has
 * made as many blocks as you want counted. Block 1 has no last commit and block 2's is the
 * genesis set's first, so counting starts at 3 unless `--from` says otherwise.
 */
/** The default devnet's node0 JSON-RPC (base port 26650 + 1). */
const DEFAULT_RPC = 'http://127.0.0.1:26651/';
/** Goal of issue 20 for the share of blocks with every precommit. */
const FULL_SHARE_GOAL = 0.95;
/** Blocks read at once. */
const READ_CONCURRENCY = 16;

const run: Bench = async (args) => {
  let url = DEFAULT_RPC;
  let from = 3;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--rpc') url = args[++i] ?? '';
    else if (args[i] === '--from') from = Number(args[++i]);
    else
      throw new OlError(
        'BAD_USAGE',
        `certificates: unknown argument ${JSON.stringify(args[i])} (--rpc URL --from H)`,
      );
  }
  if (!Number.isSafeInteger(from) || from < 2)
    throw new OlError('BAD_USAGE', '--from must be an integer ≥ 2');
  const client = new OpenLedgerClient(url, 10_000);
  const tip = (await client.status()).height;
  const set = await client.validators();
  const size = set.validators.length;
  const signers = new Map<number, number>();
  let full = 0;
  for (let h = from; h <= tip; h += READ_CONCURRENCY) {
    const heights = Array.from({ length: Math.min(READ_CONCURRENCY, tip - h + 1) }, (_, k) => h + k);
    const blocks = await Promise.all(heights.map((x) => client.blockByHeight(x)));
    for (const b of blocks) {
      const commit = b.lastCommit as { signatures?: unknown[] } | null;
      const n = commit?.signatures?.length ?? 0;
      signers.set(n, (signers.get(n) ?? 0) + 1);
      if (n >= size) full++;
    }
  }
  const blocks = Math.max(0, tip - from + 1);
  const share = blocks === 0 ? 0 : full / blocks;
  return {
    rpc: url,
    tip,
    blocksCounted: blocks,
    validators: size,
    blocksWithEveryPrecommit: full,
    share: Number(share.toFixed(4)),
    signersPerLastCommit: Object.fromEntries([...signers].sort((a, b) => a[0] - b[0])),
    missedBlocks: set.validators.map((v) => ({
      moniker: v.moniker,
      missed: v.missedBlocks,
      jailed: v.jailed,
    })),
    downtime: set.downtime,
    goal: {
      share: FULL_SHARE_GOAL,
      met: share >= FULL_SHARE_GOAL,
      nobodyJailed: set.validators.every((v) => !v.jailed),
    },
  };
};
export default run;
