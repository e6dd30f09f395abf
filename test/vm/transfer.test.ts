import { describe, expect, it } from 'vitest';
import type { Block } from '../../core/block.js';
import { encodeTx, signTx, type Tx } from '../../core/tx.js';
import { BlockError } from '../../vm/errors.js';
import { checkTx, execBlockFromBlock, executeBlock } from '../../vm/execute.js';
import { GAS_PER_TX_BYTE, GAS_TX_BASE, intrinsicGas } from '../../vm/gas.js';
import { CHAIN_ID, codeOf, datanetBody, genesisJson, key, OPEN, TestChain } from './harness.js';

const alice = key('alice');
const bob = key('bob');

describe('transfer and fees', () => {
  it('moves OPEN, charges gasUsed × gasPrice, emits transfer and fee events', () => {
    const c = TestChain.mem();
    const a0 = c.balance(alice);
    const b0 = c.balance(bob);
    const t = c.tx(alice, 'transfer', { to: bob.address, amount: 5n * OPEN }, { gasPrice: 3n });
    const r = c.block([t]);
    const res = r.txResults[0];
    expect(res.code).toBe('ok');
    expect(res.gasUsed).toBe(intrinsicGas('transfer', t.bytes.length));
    expect(res.gasUsed).toBe(GAS_TX_BASE + GAS_PER_TX_BYTE * t.bytes.length);
    expect(res.fee).toBe(BigInt(res.gasUsed) * 3n);
    expect(c.balance(bob)).toBe(b0 + 5n * OPEN);
    expect(c.balance(alice)).toBe(a0 - 5n * OPEN - res.fee);
    expect(res.events.map((e) => e.type)).toEqual(['transfer', 'fee']);
    expect(c.stores.account(alice.address).nonce).toBe(1);
  });

  it('a failing body still pays its fee and uses its nonce; writes are discarded', () => {
    const c = TestChain.mem();
    const a0 = c.balance(alice);
    const r = c.block([c.tx(alice, 'transfer', { to: bob.address, amount: a0 * 2n })]);
    expect(codeOf(r)).toBe('INSUFFICIENT_FUNDS');
    expect(r.txResults[0].charged).toBe(true);
    expect(c.balance(alice)).toBe(a0 - r.txResults[0].fee);
    expect(c.stores.account(alice.address).nonce).toBe(1);
    expect(r.txResults[0].events.map((e) => e.type)).toEqual(['fee']);
    expect(codeOf(c.block([c.tx(alice, 'transfer', { to: bob.address, amount: 0n })]))).toBe('ZERO_AMOUNT');
  });

  it('out of gas charges the whole gas limit', () => {
    const c = TestChain.mem();
    const probe = c.tx(alice, 'datanet.create', datanetBody({ name: 'n', description: 'd', license: 'l' }), {
      nonce: 0,
    });
    const limit = intrinsicGas('datanet.create', probe.bytes.length) + 1;
    const t = c.tx(alice, 'datanet.create', probe.tx.body as never, { gasLimit: limit, nonce: 0 });
    const r = c.block([t]);
    expect(codeOf(r)).toBe('OUT_OF_GAS');
    expect(r.txResults[0].gasUsed).toBe(limit);
    expect(r.txResults[0].fee).toBe(BigInt(limit));
  });

  it('admission errors change nothing and charge nothing', () => {
    const c = TestChain.mem({ ...genesisJson(), params: { minGasPrice: '2' } });
    const poor = key('poor');
    const a0 = c.balance(alice);
    const cases: [string, ReturnType<TestChain['tx']>][] = [
      [
        'GAS_PRICE_TOO_LOW',
        c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { gasPrice: 1n, nonce: 0 }),
      ],
      ['BAD_NONCE', c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { gasPrice: 2n, nonce: 5 })],
      [
        'GAS_LIMIT_TOO_LOW',
        c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { gasPrice: 2n, gasLimit: 100, nonce: 0 }),
      ],
      [
        'INSUFFICIENT_FEE_FUNDS',
        c.tx(poor, 'transfer', { to: bob.address, amount: 1n }, { gasPrice: 2n, nonce: 0 }),
      ],
      [
        'WRONG_CHAIN',
        c.tx(
          alice,
          'transfer',
          { to: bob.address, amount: 1n },
          { gasPrice: 2n, chainId: 'other', nonce: 0 },
        ),
      ],
      [
        'BAD_VERSION',
        c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { gasPrice: 2n, version: 2, nonce: 0 }),
      ],
    ];
    for (const [code, t] of cases) expect(checkTx(c.state, t)?.code).toBe(code);
    const r = c.block(cases.map((x) => x[1]));
    expect(r.txResults.map((x) => x.code)).toEqual(cases.map((x) => x[0]));
    for (const x of r.txResults) {
      expect(x.charged).toBe(false);
      expect(x.fee).toBe(0n);
    }
    expect(c.balance(alice)).toBe(a0);
    expect(c.stores.account(alice.address).nonce).toBe(0);
  });

  it('verifies envelope signatures only when asked', () => {
    const c = TestChain.mem();
    const t = c.tx(alice, 'transfer', { to: bob.address, amount: 1n });
    const forged = { ...t.tx, signature: new Uint8Array(64) } as Tx;
    const block = (verify: boolean) =>
      executeBlock(
        c.state,
        {
          chainId: CHAIN_ID,
          height: c.height + 1,
          timeMs: c.timeMs + 1,
          proposer: c.validatorKeys[0].address,
          txs: [{ tx: forged, bytes: encodeTx(forged) }],
          lastCommitSigners: null,
          evidence: [],
        },
        { verifyTxSignatures: verify },
      );
    expect(block(true).txResults[0].code).toBe('BAD_SIGNATURE');
  });

  it('nonces are strictly sequential within a block', () => {
    const c = TestChain.mem();
    const r = c.block([
      c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { nonce: 0 }),
      c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { nonce: 2 }),
      c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { nonce: 1 }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['ok', 'BAD_NONCE', 'ok']);
  });

  it('rejects blocks with the wrong chain, height, time, gas or a stray settle', () => {
    const c = TestChain.mem();
    const base = {
      chainId: CHAIN_ID,
      height: 1,
      timeMs: c.timeMs + 1,
      proposer: c.validatorKeys[0].address,
      txs: [],
      lastCommitSigners: null,
      evidence: [],
    };
    const code = (b: Partial<typeof base> & Record<string, unknown>) => {
      try {
        executeBlock(c.state, { ...base, ...b } as never);
      } catch (e) {
        expect(e).toBeInstanceOf(BlockError);
        return (e as BlockError).code;
      }
      return 'none';
    };
    expect(code({ chainId: 'other' })).toBe('WRONG_CHAIN');
    expect(code({ height: 2 })).toBe('WRONG_HEIGHT');
    expect(code({ timeMs: c.timeMs })).toBe('TIME_NOT_INCREASING');
    const big = c.tx(alice, 'transfer', { to: bob.address, amount: 1n }, { gasLimit: 999_999_999 });
    const many = Array.from({ length: 11 }, () => big);
    expect(code({ txs: many as never })).toBe('BLOCK_GAS_EXCEEDED');
    const settle = c.settleTx(c.validatorKeys[0], []);
    expect(code({ txs: [settle] as never })).toBe('UNEXPECTED_SETTLE');
    const t = signTx(
      {
        version: 1,
        chainId: CHAIN_ID,
        type: 'transfer',
        sender: alice.publicKey,
        nonce: 0,
        gasLimit: 1,
        gasPrice: 1n,
        body: { to: bob.address, amount: 1n },
      },
      alice.secretKey,
    );
    expect(code({ txs: [{ tx: t, bytes: encodeTx(t) }, settle] as never })).toBe('UNEXPECTED_SETTLE');
  });

  it('execBlockFromBlock decodes a core Block into the same execution', () => {
    const a = TestChain.mem();
    const b = TestChain.mem();
    const txs = [
      a.tx(alice, 'transfer', { to: bob.address, amount: 7n }),
      a.tx(alice, 'transfer', { to: bob.address, amount: 9n }),
    ];
    const ra = a.block(txs);
    const zero = new Uint8Array(32);
    const block: Block = {
      header: {
        version: 1,
        chainId: CHAIN_ID,
        height: 1,
        timeMs: b.timeMs + 1000,
        parentHash: zero,
        lastCommitHash: zero,
        txsHash: zero,
        evidenceHash: zero,
        stateRoot: zero,
        resultsHash: zero,
        validatorsHash: zero,
        nextValidatorsHash: zero,
        proposer: b.validatorKeys[0].address,
      },
      txs: txs.map((t) => t.bytes),
      lastCommit: null,
      evidence: [],
    };
    const rb = executeBlock(b.state, execBlockFromBlock(block));
    expect(rb.stateRoot).toEqual(ra.stateRoot);
    expect(rb.resultsHash).toEqual(ra.resultsHash);
  });

  it('a user tx cannot be a settle: SETTLE_NOT_ALLOWED at admission', () => {
    const c = TestChain.mem();
    expect(checkTx(c.state, c.settleTx(alice, []))?.code).toBe('SETTLE_NOT_ALLOWED');
  });
});
