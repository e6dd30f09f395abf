import { toHex, uintToBytes } from '../core/bytes.js';
import { StorageError } from '../core/errors.js';
import type { BinarySublevel, ExtraOp, StateDb } from '../state/stateDb.js';

/**
 * Blocks, commits and indexes in sublevels of the node's LevelDB. Nothing here writes by itself:
 * `commitOps` returns the operations, which the node passes to the state commit so that block,
 * state and indexes land in ONE atomic batch (DESIGN §9) — after a crash either all of height h is
 * there or none of it is.
 *
 * Layout (keys big-endian so heights sort numerically):
 * - blocks:   height(8)        → block bytes
 * - hashes:   block hash(32)   → height(8)
 * - commits:  height(8)        → the commit certificate this node saw for that block
 * - txs:      tx hash(32)      → height(8) ‖ index(4)
 * - results:  height(8)        → encoded tx results and events of the block
 */

export interface TxLocation {
  height: number;
  index: number;
}

export class BlockStore {
  private constructor(
    private readonly blocks: BinarySublevel,
    private readonly hashes: BinarySublevel,
    private readonly commits: BinarySublevel,
    private readonly txs: BinarySublevel,
    private readonly results: BinarySublevel,
  ) {}

  static async open(state: StateDb): Promise<BlockStore> {
    return new BlockStore(
      await state.sublevel('blocks'),
      await state.sublevel('hashes'),
      await state.sublevel('commits'),
      await state.sublevel('txs'),
      await state.sublevel('results'),
    );
  }

  /** Operations that store block `height` with its seen commit, tx index and results. */
  commitOps(
    height: number,
    blockHash: Uint8Array,
    blockBytes: Uint8Array,
    commitBytes: Uint8Array,
    txHashes: readonly Uint8Array[],
    resultsBytes: Uint8Array,
  ): ExtraOp[] {
    const h = heightKey(height);
    const ops: ExtraOp[] = [
      { type: 'put', sublevel: this.blocks, key: h, value: blockBytes },
      { type: 'put', sublevel: this.hashes, key: blockHash, value: h },
      { type: 'put', sublevel: this.commits, key: h, value: commitBytes },
      { type: 'put', sublevel: this.results, key: h, value: resultsBytes },
    ] as ExtraOp[];
    txHashes.forEach((txh, i) => {
      const loc = new Uint8Array(12);
      loc.set(h, 0);
      loc.set(uintToBytes(i, 4), 8);
      ops.push({ type: 'put', sublevel: this.txs, key: txh, value: loc } as ExtraOp);
    });
    return ops;
  }

  /** Replaces the stored commit of `height` (e.g. with the fuller one carried by block h+1). */
  async putCommit(height: number, commitBytes: Uint8Array): Promise<void> {
    await this.commits.put(Buffer.from(heightKey(height)), Buffer.from(commitBytes));
  }

  getBlock(height: number): Uint8Array | undefined {
    return plain(this.blocks.getSync(Buffer.from(heightKey(height))));
  }

  getCommit(height: number): Uint8Array | undefined {
    return plain(this.commits.getSync(Buffer.from(heightKey(height))));
  }

  getResults(height: number): Uint8Array | undefined {
    return plain(this.results.getSync(Buffer.from(heightKey(height))));
  }

  heightOf(blockHash: Uint8Array): number | undefined {
    const v = this.hashes.getSync(Buffer.from(blockHash));
    if (v === undefined) return undefined;
    if (v.length !== 8)
      throw new StorageError(
        'CORRUPT_INDEX',
        `hash index entry for ${toHex(blockHash)} has ${v.length} bytes`,
      );
    return readHeight(v, 0);
  }

  txLocation(txHash: Uint8Array): TxLocation | undefined {
    const v = this.txs.getSync(Buffer.from(txHash));
    if (v === undefined) return undefined;
    if (v.length !== 12)
      throw new StorageError('CORRUPT_INDEX', `tx index entry for ${toHex(txHash)} has ${v.length} bytes`);
    return { height: readHeight(v, 0), index: v.readUInt32BE(8) };
  }
}

export function heightKey(height: number): Uint8Array {
  return uintToBytes(height, 8);
}

function readHeight(b: Uint8Array, offset: number): number {
  let v = 0;
  for (let i = 0; i < 8; i++) v = v * 256 + b[offset + i];
  return v;
}

function plain(b: Buffer | undefined): Uint8Array | undefined {
  return b === undefined ? undefined : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
