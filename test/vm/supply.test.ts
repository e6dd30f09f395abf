import fc from 'fast-check';
import { describe, it } from 'vitest';
import { TestChain } from './harness.js';
import {
  checkSupply,
  OP_KINDS,
  type Op,
  opTx,
  scenarioGenesis,
  seededResolver,
  VALIDATOR_KEYS,
} from './scenario.js';

const op = fc.record({
  kind: fc.integer({ min: 0, max: OP_KINDS - 1 }),
  actor: fc.integer({ min: 0, max: 5 }),
  other: fc.integer({ min: 0, max: 5 }),
  amount: fc.integer({ min: 0, max: 5000 }),
  flag: fc.boolean(),
});
const blocks = fc.array(
  fc.record({
    ops: fc.array(op, { maxLength: 8 }),
    miss: fc.boolean(),
    evidence: fc.integer({ min: 0, max: 15 }),
  }),
  { minLength: 1, maxLength: 10 },
);

async function run(chain: TestChain, plan: { ops: Op[]; miss: boolean; evidence: number }[]): Promise<void> {
  chain.resolver = seededResolver;
  const requestNonce = { n: 1 };
  checkSupply(chain.state);
  for (const b of plan) {
    const txs = b.ops.map((o) => opTx(chain, o, requestNonce));
    const evidence =
      // An offence at the last height (always within the evidence age), while it can still punish.
      b.evidence === 0 && chain.height >= 2 && !chain.stores.validator(VALIDATOR_KEYS[1].address)?.tombstoned
        ? [
            {
              kind: 'duplicateVote' as const,
              voteA: chain.vote(VALIDATOR_KEYS[1], chain.height, new Uint8Array(32).fill(1)),
              voteB: chain.vote(VALIDATOR_KEYS[1], chain.height, null),
            },
          ]
        : [];
    chain.block(txs, {
      evidence,
      signers: b.miss && chain.height >= 1 ? [VALIDATOR_KEYS[0].address] : undefined,
    });
    checkSupply(chain.state);
    await chain.commit();
  }
}

describe('total supply is conserved (property, random tx sequences)', () => {
  it('in-memory state', async () => {
    await fc.assert(
      fc.asyncProperty(blocks, async (plan) => {
        await run(TestChain.mem(scenarioGenesis()), plan);
      }),
      { numRuns: 60 },
    );
  });

  it('on the LevelDB-backed StateDb', async () => {
    await fc.assert(
      fc.asyncProperty(blocks, async (plan) => {
        const chain = await TestChain.onDisk(scenarioGenesis());
        try {
          await run(chain, plan);
        } finally {
          await chain.close();
        }
      }),
      { numRuns: 12 },
    );
  });
});
