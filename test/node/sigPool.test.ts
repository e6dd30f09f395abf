import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPair, sign } from '../../core/keys.js';
import { SIG_BATCH_MIN, SigPool } from '../../node/sigPool.js';

const pool = new SigPool(2);
afterAll(() => pool.close());

function items(n: number, badAt: number[]) {
  const kp = generateKeyPair();
  return Array.from({ length: n }, (_, i) => {
    const message = new Uint8Array([i & 255, i >> 8, 7]);
    const signature = sign(message, kp.secretKey);
    if (badAt.includes(i)) signature[5] ^= 1;
    return { publicKey: kp.publicKey, message, signature };
  });
}

describe('signature pool', () => {
  it('verifies small batches inline and flags the bad one', async () => {
    const r = await pool.verifyMany(items(SIG_BATCH_MIN - 1, [3]));
    expect(r.filter((x) => !x)).toHaveLength(1);
    expect(r[3]).toBe(false);
  });

  it('verifies large batches across workers, in order', async () => {
    const n = 600;
    const bad = [0, 255, 256, 599];
    const r = await pool.verifyMany(items(n, bad));
    expect(r).toHaveLength(n);
    expect(r.map((ok, i) => (ok ? -1 : i)).filter((i) => i >= 0)).toEqual(bad);
  });
});
