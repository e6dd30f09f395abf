import { describe, expect, it } from 'vitest';
import { BLOCK_VERSION, type Block, commitHash, evidenceHash, txsHash } from '../../core/block.js';
import { bodyProblem } from '../../node/chain.js';

/**
 * A commit certificate signs a block's header only. A sync peer (or a gossiping one) can pair a
 * genuine header with a different body; `bodyProblem` is what refuses such a block before it can
 * take the real block's hash in the candidate table (node/README.md "Byzantine peers").
 */
function block(txs: Uint8Array[]): Block {
  return {
    header: {
      version: BLOCK_VERSION,
      chainId: 'admission',
      height: 3,
      timeMs: 1_000,
      parentHash: new Uint8Array(32).fill(1),
      lastCommitHash: commitHash(null),
      txsHash: txsHash(txs),
      evidenceHash: evidenceHash([]),
      stateRoot: new Uint8Array(32).fill(2),
      resultsHash: new Uint8Array(32).fill(3),
      validatorsHash: new Uint8Array(32).fill(4),
      nextValidatorsHash: new Uint8Array(32).fill(5),
      proposer: new Uint8Array(20).fill(6),
    },
    txs,
    lastCommit: null,
    evidence: [],
  };
}

describe('block body against its header', () => {
  it('accepts a matching body', () => {
    expect(bodyProblem(block([new Uint8Array([1, 2, 3])]))).toBeNull();
  });

  it('refuses the same header with transactions swapped, dropped or added', () => {
    const genuine = block([new Uint8Array([1]), new Uint8Array([2])]);
    expect(bodyProblem({ ...genuine, txs: [genuine.txs[1], genuine.txs[0]] })).toMatch(/txsHash/);
    expect(bodyProblem({ ...genuine, txs: [genuine.txs[0]] })).toMatch(/txsHash/);
    expect(bodyProblem({ ...genuine, txs: [...genuine.txs, new Uint8Array([9])] })).toMatch(/txsHash/);
  });

  it('refuses a last commit the header does not name', () => {
    const genuine = block([]);
    const forged = {
      ...genuine,
      lastCommit: { height: 2, round: 0, blockHash: new Uint8Array(32), signatures: [] },
    };
    expect(bodyProblem(forged)).toMatch(/lastCommitHash/);
  });
});
