import { type Block, encodeBlock } from '../core/block.js';
import type { ValsetStore } from './valsets.js';

/** Junk blocks per height sent by the test-only `floodBlocks` attacker (above PROPOSALS_KEPT_MAX). */
export const BLOCK_FLOOD_COUNT = 80;

/**
 * Test-only attacker (fault `floodBlocks`, node/chain.ts `ChainFaults`): junk blocks at the next
 * height that decode and name a proposer — each validator of that height in turn, and strangers —
 * as a non-validator peer would send to fill every honest node's candidate table.
 */
export function floodBlocksForTest(
  tipBlock: Block,
  tipHash: Uint8Array,
  valsets: Pick<ValsetStore, 'get'>,
  publishBlock: (bytes: Uint8Array) => void,
): void {
  const height = tipBlock.header.height + 1;
  const set = valsets.get(height);
  const names = [...(set?.validators.map((v) => v.address) ?? []), new Uint8Array(20).fill(7)];
  for (let i = 0; i < BLOCK_FLOOD_COUNT; i++) {
    const junk: Block = {
      header: {
        ...tipBlock.header,
        height,
        timeMs: tipBlock.header.timeMs + 1 + i,
        parentHash: tipHash,
        proposer: names[i % names.length],
      },
      txs: [],
      lastCommit: null,
      evidence: [],
    };
    publishBlock(encodeBlock(junk));
  }
}
