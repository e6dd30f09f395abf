import { describe, expect, it } from 'vitest';
import { GenesisError } from '../../vm/errors.js';
import { genesisState, parseGenesis } from '../../vm/genesis.js';
import { PARAM_SPECS } from '../../vm/params.js';
import { readStores } from '../../vm/readers.js';
import { genesisJson, key, OPEN } from './harness.js';
import { MemState } from './memState.js';

function expectGenesisError(json: unknown, code: string, path: string): void {
  try {
    parseGenesis(json);
  } catch (e) {
    expect(e).toBeInstanceOf(GenesisError);
    expect((e as GenesisError).code).toBe(code);
    expect((e as GenesisError).details.path).toBe(path);
    expect((e as GenesisError).message.startsWith(`${path}:`)).toBe(true);
    return;
  }
  throw new Error('expected a genesis error');
}

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary JSON.
const mutate = (f: (g: Record<string, any>) => void) => {
  const g = JSON.parse(JSON.stringify(genesisJson()));
  f(g);
  return g;
};

describe('genesis', () => {
  it('builds accounts, bonded validators, sets for heights 1 and 2, and the supply', () => {
    const state = new MemState();
    const root = genesisState(state, genesisJson());
    expect(root).toHaveLength(32);
    const s = readStores(state);
    expect(s.account(key('alice').address).balance).toBe(1_000_000n * OPEN);
    const set1 = s.validatorSet(1)!;
    expect(set1.map((e) => e.power)).toEqual([2000, 1000]);
    expect(s.validatorSet(2)).toEqual(set1);
    const t = s.totals();
    expect(t.bonded).toBe(3000n * OPEN);
    expect(t.genesis).toBe(6n * 1_000_000n * OPEN + 3000n * OPEN);
    expect(s.chain()).toMatchObject({ chainId: 'ol-test', height: 0 });
  });

  it('is deterministic', () => {
    expect(genesisState(new MemState(), genesisJson())).toEqual(genesisState(new MemState(), genesisJson()));
  });

  it('names the offending field', () => {
    expectGenesisError(
      mutate((g) => (g.chainID = 'x')),
      'UNKNOWN_FIELD',
      'chainID',
    );
    expectGenesisError(
      mutate((g) => delete g.accounts),
      'MISSING_FIELD',
      'accounts',
    );
    expectGenesisError(
      mutate((g) => (g.chainId = 'Bad Id')),
      'BAD_FIELD',
      'chainId',
    );
    expectGenesisError(
      mutate((g) => (g.genesisTimeMs = -1)),
      'BAD_FIELD',
      'genesisTimeMs',
    );
    expectGenesisError(
      mutate((g) => (g.accounts[2].balance = '1.5')),
      'BAD_FIELD',
      'accounts[2].balance',
    );
    expectGenesisError(
      mutate((g) => (g.accounts[1].address = '0x12')),
      'BAD_FIELD',
      'accounts[1].address',
    );
    expectGenesisError(
      mutate((g) => (g.accounts[1].extra = 1)),
      'UNKNOWN_FIELD',
      'accounts[1].extra',
    );
    expectGenesisError(
      mutate((g) => g.accounts.push(g.accounts[0])),
      'DUPLICATE',
      'accounts[6].address',
    );
    expectGenesisError(
      mutate((g) => (g.validators[1].consensusKey = '0x00')),
      'BAD_FIELD',
      'validators[1].consensusKey',
    );
    expectGenesisError(
      mutate((g) => (g.validators[0].commissionBps = 10_001)),
      'BAD_FIELD',
      'validators[0].commissionBps',
    );
    expectGenesisError(
      mutate((g) => (g.validators[0].selfStake = '1')),
      'BAD_FIELD',
      'validators[0].selfStake',
    );
    expectGenesisError(
      mutate((g) => (g.validators[1].operator = g.validators[0].operator)),
      'DUPLICATE',
      'validators[1].operator',
    );
    expectGenesisError(
      mutate((g) => (g.validators = [])),
      'NO_VALIDATORS',
      'validators',
    );
    expectGenesisError(
      mutate((g) => (g.params = { nope: '1' })),
      'UNKNOWN_FIELD',
      'params.nope',
    );
    expectGenesisError(
      mutate((g) => (g.params = { maxValidators: 5 })),
      'BAD_FIELD',
      'params.maxValidators',
    );
    expectGenesisError(
      mutate((g) => (g.params = { maxValidators: '1e3' })),
      'BAD_PARAM_VALUE',
      'params.maxValidators',
    );
    expectGenesisError(
      mutate(
        (g) => (g.params = { feeTreasuryBps: '6000', feeValidatorsBps: '3000', ownerShareMaxBps: '3000' }),
      ),
      'PARAMS_INCONSISTENT',
      'params',
    );
    expectGenesisError(
      mutate((g) => (g.params = { downtimeWindow: '10', downtimeMissedMax: '10' })),
      'PARAMS_INCONSISTENT',
      'params',
    );
    // A provider bond must outlive the challenge window (else fraud could be withdrawn unpunished).
    expectGenesisError(
      mutate((g) => (g.params = { challengeWindowBlocks: '20', providerUnbondingBlocks: '20' })),
      'PARAMS_INCONSISTENT',
      'params',
    );
  });

  it('refuses every parameter just outside its bounds', () => {
    for (const spec of PARAM_SPECS) {
      expectGenesisError(
        mutate((g) => (g.params = { [spec.key]: (spec.max + 1n).toString() })),
        'PARAM_OUT_OF_BOUNDS',
        `params.${spec.key}`,
      );
      if (spec.min > 0n) {
        expectGenesisError(
          mutate((g) => (g.params = { [spec.key]: (spec.min - 1n).toString() })),
          'PARAM_OUT_OF_BOUNDS',
          `params.${spec.key}`,
        );
      }
    }
  });
});

describe('genesis in an old or foreign format', () => {
  it('names the field and says what to write instead', () => {
    const g = mutate((x) => {
      x.chain_id = x.chainId;
      delete x.chainId;
    });
    expectGenesisError(g, 'OLD_GENESIS_FORMAT', 'chain_id');
    expect(() => parseGenesis(g)).toThrow(/chain_id: is the old name of "chainId": rename it/);
    const v = mutate((x) => {
      x.validators[0].pub_key = x.validators[0].consensusKey;
      delete x.validators[0].consensusKey;
    });
    expect(() => parseGenesis(v)).toThrow(/pub_key: is the old name of "consensusKey"/);
    const t = mutate((x) => {
      x.genesis_time = '2026-01-01T00:00:00Z';
    });
    expectGenesisError(t, 'OLD_GENESIS_FORMAT', 'genesis_time');
    expect(() => parseGenesis(t)).toThrow(/write "genesisTimeMs" instead \(integer milliseconds/);
  });

  it('a field of no known format is still UNKNOWN_FIELD with the expected fields', () => {
    expectGenesisError(
      mutate((x) => {
        x.chainIdd = 1;
      }),
      'UNKNOWN_FIELD',
      'chainIdd',
    );
  });
});
