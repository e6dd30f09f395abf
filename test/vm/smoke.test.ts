import { describe, expect, it } from 'vitest';
import { codeOf, key, OPEN, TestChain } from './harness.js';

describe('smoke', () => {
  it('transfers and charges gas', () => {
    const c = TestChain.mem();
    const alice = key('alice');
    const bob = key('bob');
    const before = c.balance(bob);
    const r = c.block([c.tx(alice, 'transfer', { to: bob.address, amount: 5n * OPEN })]);
    expect(codeOf(r)).toBe('ok');
    expect(c.balance(bob)).toBe(before + 5n * OPEN);
    expect(r.txResults[0].gasUsed).toBeGreaterThan(1000);
    const r2 = c.block([]);
    expect(r2.txResults).toHaveLength(0);
  });
});
