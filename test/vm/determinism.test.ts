import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../vm/events.js';
import { encodeTxResult } from '../../vm/execute.js';
import { TestChain } from './harness.js';
import { digest, type Op, opTx, scenarioGenesis, seededResolver } from './scenario.js';

/** Runs a fixed plan on a chain and returns, per block, everything a peer would compare. */
async function run(chain: TestChain, plan: Op[][]): Promise<unknown[]> {
  chain.resolver = seededResolver;
  const requestNonce = { n: 1 };
  const out: unknown[] = [];
  for (const ops of plan) {
    const r = chain.block(ops.map((o) => opTx(chain, o, requestNonce)));
    out.push({
      ...(digest(r) as object),
      txResults: r.txResults.map((t) => Buffer.from(encodeTxResult(t)).toString('hex')),
      events: r.events.map((e) => Buffer.from(encodeEvent(e)).toString('hex')),
    });
    await chain.commit();
  }
  return out;
}

const opArb = fc.record({
  kind: fc.integer({ min: 0, max: 13 }),
  actor: fc.integer({ min: 0, max: 5 }),
  other: fc.integer({ min: 0, max: 5 }),
  amount: fc.integer({ min: 0, max: 5000 }),
  flag: fc.boolean(),
});

describe('determinism', () => {
  it('the same blocks in two fresh StateDbs give identical roots, results and events', async () => {
    const plan = fc.sample(fc.array(opArb, { minLength: 6, maxLength: 6 }), {
      numRuns: 12,
      seed: 20_261_122,
    });
    const a = await TestChain.onDisk(scenarioGenesis());
    const b = await TestChain.onDisk(scenarioGenesis());
    try {
      const ra = await run(a, plan);
      const rb = await run(b, plan);
      expect(rb).toEqual(ra);
      expect(Buffer.from(a.genesisRoot).toString('hex')).toBe(Buffer.from(b.genesisRoot).toString('hex'));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an overlay that proposes and one that validates agree; the proposal root survives the commit', async () => {
    const plan = fc.sample(fc.array(opArb, { minLength: 5, maxLength: 5 }), { numRuns: 6, seed: 7 });
    const chain = await TestChain.onDisk(scenarioGenesis());
    try {
      chain.resolver = seededResolver;
      const requestNonce = { n: 1 };
      for (const ops of plan) {
        const txs = ops.map((o) => opTx(chain, o, requestNonce));
        const validator = chain.db!.overlay();
        const proposer = chain.state;
        const proposed = chain.block(txs);
        // The validating overlay executes the same block (same height and time) independently.
        const copy = Object.assign(Object.create(Object.getPrototypeOf(chain)), chain, {
          state: validator,
          height: chain.height - 1,
          timeMs: chain.timeMs - 1000,
        }) as TestChain;
        const validated = copy.block(txs);
        expect(digest(validated)).toEqual(digest(proposed));
        validator.discard();
        const committed = await chain.commit();
        expect(Buffer.from(committed).toString('hex')).toBe(Buffer.from(proposed.stateRoot).toString('hex'));
        expect(proposer).not.toBe(chain.state);
      }
    } finally {
      await chain.close();
    }
  });
});
