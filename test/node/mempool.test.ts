import { describe, expect, it } from 'vitest';
import { toHex } from '../../core/bytes.js';
import { generateKeyPair, type KeyPair } from '../../core/keys.js';
import { encodeTx, signTx, type Tx, txHash, txSender } from '../../core/tx.js';
import { DEFAULT_MEMPOOL_LIMITS, Mempool, MempoolError, type NonceView } from '../../node/mempool.js';

const to = new Uint8Array(20).fill(9);

function transfer(kp: KeyPair, nonce: number, gasPrice: bigint, amount = 1n) {
  const tx = signTx(
    {
      version: 1,
      chainId: 'mp',
      type: 'transfer',
      sender: kp.publicKey,
      nonce,
      gasLimit: 21_000,
      gasPrice,
      body: { to, amount },
    },
    kp.secretKey,
  ) as Tx;
  const bytes = encodeTx(tx);
  return { tx, bytes, hash: txHash(bytes) };
}

function view(nonces: Record<string, number> = {}): NonceView {
  return { nextNonce: (s) => nonces[s] ?? 0 };
}

const addr = (kp: KeyPair) => toHex(txSender({ sender: kp.publicKey } as Tx));

function expectCode(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MempoolError);
    expect((e as MempoolError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('mempool', () => {
  const alice = generateKeyPair();
  const bob = generateKeyPair();

  it('orders by gas price across senders and by nonce within a lane', () => {
    const mp = new Mempool();
    const v = view();
    for (const t of [
      transfer(alice, 1, 50n),
      transfer(alice, 0, 10n),
      transfer(bob, 0, 30n),
      transfer(bob, 1, 5n),
    ]) {
      mp.add(t.tx, t.bytes, t.hash, v, 1);
    }
    const order = mp
      .select(v, 1e9, 1e9)
      .map((e) => [e.sender === addr(alice) ? 'a' : 'b', e.tx.nonce, e.tx.gasPrice]);
    // bob's head pays 30 > alice's head 10; alice's nonce 1 (50) only after her nonce 0.
    expect(order).toEqual([
      ['b', 0, 30n],
      ['a', 0, 10n],
      ['a', 1, 50n],
      ['b', 1, 5n],
    ]);
  });

  it('stops a lane at a nonce gap and starts at the account nonce', () => {
    const mp = new Mempool();
    for (const n of [3, 4, 6]) {
      const t = transfer(alice, n, 1n);
      mp.add(t.tx, t.bytes, t.hash, view({ [addr(alice)]: 3 }), 1);
    }
    expect(mp.select(view({ [addr(alice)]: 3 }), 1e9, 1e9).map((e) => e.tx.nonce)).toEqual([3, 4]);
    expect(mp.select(view({ [addr(alice)]: 0 }), 1e9, 1e9)).toEqual([]);
  });

  it('respects gas and byte budgets', () => {
    const mp = new Mempool();
    const v = view();
    for (let n = 0; n < 10; n++) {
      const t = transfer(alice, n, 1n);
      mp.add(t.tx, t.bytes, t.hash, v, 1);
    }
    expect(mp.select(v, 21_000 * 3, 1e9)).toHaveLength(3);
    const one = mp.select(v, 1e9, 1e9)[0].bytes.length;
    expect(mp.select(v, 1e9, one * 2 + 1)).toHaveLength(2);
  });

  it('rejects duplicates, low and far nonces', () => {
    const mp = new Mempool();
    const t = transfer(alice, 5, 1n);
    mp.add(t.tx, t.bytes, t.hash, view({ [addr(alice)]: 5 }), 1);
    expectCode(() => mp.add(t.tx, t.bytes, t.hash, view({ [addr(alice)]: 5 }), 1), 'ALREADY_KNOWN');
    const low = transfer(alice, 4, 1n);
    expectCode(() => mp.add(low.tx, low.bytes, low.hash, view({ [addr(alice)]: 5 }), 1), 'NONCE_TOO_LOW');
    const far = transfer(alice, 5 + DEFAULT_MEMPOOL_LIMITS.nonceGapMax + 1, 1n);
    expectCode(() => mp.add(far.tx, far.bytes, far.hash, view({ [addr(alice)]: 5 }), 1), 'NONCE_TOO_HIGH');
    const edge = transfer(alice, 5 + DEFAULT_MEMPOOL_LIMITS.nonceGapMax, 1n);
    expect(mp.add(edge.tx, edge.bytes, edge.hash, view({ [addr(alice)]: 5 }), 1)).toBe('added');
  });

  it('replaces by fee only with the minimum bump', () => {
    const mp = new Mempool();
    const v = view();
    const first = transfer(alice, 0, 100n);
    mp.add(first.tx, first.bytes, first.hash, v, 1);
    const low = transfer(alice, 0, 109n, 2n);
    expectCode(() => mp.add(low.tx, low.bytes, low.hash, v, 1), 'REPLACEMENT_UNDERPRICED');
    const ok = transfer(alice, 0, 110n, 3n);
    expect(mp.add(ok.tx, ok.bytes, ok.hash, v, 1)).toBe('replaced');
    expect(mp.size).toBe(1);
    expect(mp.has(toHex(first.hash))).toBe(false);
    expect(mp.has(toHex(ok.hash))).toBe(true);
  });

  it('caps entries per sender at the limit', () => {
    const mp = new Mempool({ ...DEFAULT_MEMPOOL_LIMITS, perSenderMax: 3 });
    const v = view();
    for (let n = 0; n < 3; n++) {
      const t = transfer(alice, n, 1n);
      mp.add(t.tx, t.bytes, t.hash, v, 1);
    }
    const t = transfer(alice, 3, 1n);
    expectCode(() => mp.add(t.tx, t.bytes, t.hash, v, 1), 'SENDER_FULL');
  });

  it('when full, evicts the cheapest lane tail for a better-paying tx, else refuses', () => {
    const mp = new Mempool({ ...DEFAULT_MEMPOOL_LIMITS, txsMax: 2 });
    const v = view();
    const a0 = transfer(alice, 0, 5n);
    const a1 = transfer(alice, 1, 5n);
    mp.add(a0.tx, a0.bytes, a0.hash, v, 1);
    mp.add(a1.tx, a1.bytes, a1.hash, v, 1);
    const cheap = transfer(bob, 0, 5n);
    expectCode(() => mp.add(cheap.tx, cheap.bytes, cheap.hash, v, 1), 'POOL_FULL');
    const rich = transfer(bob, 0, 6n, 9n);
    expect(mp.add(rich.tx, rich.bytes, rich.hash, v, 1)).toBe('added');
    // alice's tail (nonce 1) went, never her head, so her lane has no gap.
    expect(mp.has(toHex(a1.hash))).toBe(false);
    expect(mp.has(toHex(a0.hash))).toBe(true);
  });

  it('enforces the byte cap', () => {
    const t = transfer(alice, 0, 1n);
    const mp = new Mempool({ ...DEFAULT_MEMPOOL_LIMITS, bytesMax: t.bytes.length });
    mp.add(t.tx, t.bytes, t.hash, view(), 1);
    const u = transfer(bob, 0, 1n);
    expectCode(() => mp.add(u.tx, u.bytes, u.hash, view(), 1), 'POOL_FULL');
    expect(mp.bytes).toBe(t.bytes.length);
  });

  it('re-check drops committed nonces and expired entries', () => {
    const mp = new Mempool({ ...DEFAULT_MEMPOOL_LIMITS, expiryBlocks: 10 });
    for (let n = 0; n < 4; n++) {
      const t = transfer(alice, n, 1n);
      mp.add(t.tx, t.bytes, t.hash, view(), 1);
    }
    const b = transfer(bob, 0, 1n);
    mp.add(b.tx, b.bytes, b.hash, view(), 5);
    expect(mp.recheck(view({ [addr(alice)]: 2 }), 2)).toBe(2);
    expect(mp.size).toBe(3);
    expect(mp.recheck(view({ [addr(alice)]: 2 }), 12)).toBe(2); // alice's (added at 1) expire
    expect(mp.size).toBe(1);
  });

  it('remembers what it has seen so gossip loops die', () => {
    const mp = new Mempool({ ...DEFAULT_MEMPOOL_LIMITS, seenCacheMax: 4 });
    for (let i = 0; i < 10; i++) mp.markSeen(`h${i}`);
    expect(mp.seenRecently('h9')).toBe(true);
    expect(mp.seenRecently('h0')).toBe(false);
  });
});
