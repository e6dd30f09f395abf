import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../core/bytes.js';
import { sha256 } from '../../core/hash.js';
import { merkleRoot } from '../../core/merkle.js';

/** RFC 6962 §2.1 written out independently: MTH(D[n]) with k the largest power of two < n. */
function reference(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return sha256(concatBytes(Uint8Array.of(0), leaves[0]));
  let k = 1;
  while (k << 1 < leaves.length) k <<= 1;
  return sha256(concatBytes(Uint8Array.of(1), reference(leaves.slice(0, k)), reference(leaves.slice(k))));
}

const leaf = (n: number) => Uint8Array.of(n);
const H = (...parts: Uint8Array[]) => sha256(concatBytes(...parts));
const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

describe('merkleRoot (RFC 6962 shape)', () => {
  it('hashes the empty list to sha256 of nothing', () => {
    expect(toHex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('prefixes leaves with 0x00 and inner nodes with 0x01', () => {
    const [a, b, c] = [leaf(0), leaf(1), leaf(2)];
    expect(merkleRoot([a])).toEqual(H(LEAF, a));
    expect(merkleRoot([a, b])).toEqual(H(NODE, H(LEAF, a), H(LEAF, b)));
    // Three leaves split 2 + 1, not 1 + 2.
    expect(merkleRoot([a, b, c])).toEqual(H(NODE, H(NODE, H(LEAF, a), H(LEAF, b)), H(LEAF, c)));
  });

  it('splits five leaves 4 + 1', () => {
    const ls = [0, 1, 2, 3, 4].map(leaf);
    expect(merkleRoot(ls)).toEqual(H(NODE, merkleRoot(ls.slice(0, 4)), H(LEAF, ls[4])));
  });

  it('matches the RFC 6962 test vector for the empty leaf', () => {
    // MTH({""}) = SHA-256(0x00), from the Certificate Transparency test suite.
    expect(toHex(merkleRoot([new Uint8Array(0)]))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
  });

  it('matches the reference for any leaves', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 40 }), (ls) => {
        expect(merkleRoot(ls)).toEqual(reference(ls));
      }),
    );
  });

  it('a leaf cannot pose as an inner node (second preimage)', () => {
    const [a, b] = [leaf(0), leaf(1)];
    const inner = concatBytes(H(LEAF, a), H(LEAF, b));
    expect(merkleRoot([inner])).not.toEqual(merkleRoot([a, b]));
  });

  it('depends on order and on every leaf', () => {
    const ls = [0, 1, 2, 3].map(leaf);
    expect(merkleRoot(ls)).not.toEqual(merkleRoot([ls[1], ls[0], ls[2], ls[3]]));
    expect(merkleRoot(ls)).not.toEqual(merkleRoot(ls.slice(0, 3)));
    expect(merkleRoot([leaf(0), leaf(0)])).not.toEqual(merkleRoot([leaf(0)]));
  });
});
