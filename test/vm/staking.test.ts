import { describe, expect, it } from 'vitest';
import { addressOf } from '../../core/address.js';
import { Stores } from '../../state/stores/stores.js';
import { BlockError } from '../../vm/errors.js';
import { validatorSetAt } from '../../vm/readers.js';
import { REWARD_PRECISION } from '../../vm/staking.js';
import { codeOf, genesisJson, key, OPEN, TestChain } from './harness.js';

const alice = key('alice');
const bob = key('bob');
const carol = key('carol');
const op0 = key('op0');
const op1 = key('op1');
const val0 = key('val0');
const val1 = key('val1');
const val2 = key('val2');

const params = {
  unbondingBlocks: '3',
  downtimeWindow: '4',
  downtimeMissedMax: '2',
  downtimeJailBlocks: '5',
  blockIssuance: (10n * OPEN).toString(),
};
const chain = () => TestChain.mem({ ...genesisJson(), params });
const create = (
  c: TestChain,
  who: ReturnType<typeof key>,
  consensusKey: Uint8Array,
  selfStake = 500n * OPEN,
) => c.tx(who, 'validator.create', { consensusKey, commissionBps: 500, selfStake, moniker: who.name });

describe('validators and delegation', () => {
  it('validator.create bonds self-stake; the set changes two blocks later', () => {
    const c = chain();
    const r = c.block([create(c, alice, val2.publicKey)]);
    expect(codeOf(r)).toBe('ok');
    expect(r.txResults[0].events.map((e) => e.type)).toEqual(['validator.created', 'delegated', 'fee']);
    const v = c.stores.validator(val2.address)!;
    expect(v.operator).toEqual(alice.address);
    expect(v.tokens).toBe(500n * OPEN);
    // Decided at the end of block 1, effective at height 3.
    expect(r.validatorUpdates).toEqual([{ address: val2.address, publicKey: val2.publicKey, power: 500 }]);
    expect(c.stores.validatorSet(2)!.length).toBe(2);
    expect(c.stores.validatorSet(3)!.map((e) => e.power)).toEqual([2000, 1000, 500]);
  });

  it('the state keeps the sets of heights h−1 … h+2', () => {
    const c = chain();
    for (let i = 0; i < 5; i++) c.block([]);
    const h = c.height;
    for (const x of [h - 1, h, h + 1, h + 2]) expect(validatorSetAt(c.state, x)?.length).toBe(2);
    expect(validatorSetAt(c.state, h - 2)).toBeUndefined();
    expect(validatorSetAt(c.state, h + 3)).toBeUndefined();
  });

  it('validator.create errors', () => {
    const c = chain();
    c.block([create(c, alice, val2.publicKey)]);
    const codes = c
      .block([
        create(c, bob, new Uint8Array(32)),
        create(c, bob, val2.publicKey),
        create(c, alice, key('val3').publicKey),
        create(c, bob, key('val4').publicKey, 0n),
        create(c, bob, key('val4').publicKey, 10n ** 30n),
      ])
      .txResults.map((x) => x.code);
    expect(codes).toEqual([
      'BAD_CONSENSUS_KEY',
      'VALIDATOR_EXISTS',
      'OPERATOR_HAS_VALIDATOR',
      'SELF_STAKE_TOO_LOW',
      'INSUFFICIENT_FUNDS',
    ]);
    const s = new Stores(c.state);
    s.setValidatorList(Array.from({ length: 1000 }, (_, i) => addressOf(new Uint8Array([i & 255, i >> 8]))));
    expect(codeOf(c.block([create(c, carol, key('val5').publicKey)]))).toBe('TOO_MANY_VALIDATORS');
  });

  it('delegate and undelegate through the unbonding queue', () => {
    const c = chain();
    const b0 = c.balance(bob);
    const r1 = c.block([c.tx(bob, 'stake.delegate', { validator: val1.address, amount: 100n * OPEN })]);
    expect(codeOf(r1)).toBe('ok');
    expect(c.stores.validator(val1.address)!.tokens).toBe(1100n * OPEN);
    expect(c.stores.totals().bonded).toBe(3100n * OPEN);
    const r2 = c.block([c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 40n * OPEN })]);
    expect(codeOf(r2)).toBe('ok');
    const ev = r2.txResults[0].events.find((e) => e.type === 'undelegated')!;
    expect(ev.attrs.completionHeight).toBe(5);
    expect(c.stores.totals().unbonding).toBe(40n * OPEN);
    c.block([]);
    c.block([]);
    const before = c.balance(bob);
    const r5 = c.block([]);
    expect(r5.events.some((e) => e.type === 'unbonded')).toBe(true);
    expect(c.balance(bob)).toBe(before + 40n * OPEN);
    expect(c.stores.totals().unbonding).toBe(0n);
    expect(c.balance(bob) < b0).toBe(true);
    // Undelegating everything removes the delegation.
    const rest = c.stores.delegation(val1.address, bob.address)!;
    expect(rest.shares).toBe(60n * OPEN);
    expect(
      codeOf(c.block([c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 60n * OPEN })])),
    ).toBe('ok');
    expect(c.stores.delegation(val1.address, bob.address)).toBeUndefined();
    expect(c.stores.delegatorValidators(bob.address)).toEqual([]);
  });

  it('delegation errors', () => {
    const c = chain();
    const codes = c
      .block([
        c.tx(bob, 'stake.delegate', { validator: val1.address, amount: 0n }),
        c.tx(bob, 'stake.delegate', { validator: alice.address, amount: 1n }),
        c.tx(bob, 'stake.delegate', { validator: val1.address, amount: 10n ** 30n }),
        c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 0n }),
        c.tx(bob, 'stake.undelegate', { validator: alice.address, amount: 1n }),
        c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 1n }),
        c.tx(bob, 'stake.withdrawRewards', { validator: val1.address }),
        c.tx(bob, 'stake.withdrawRewards', { validator: alice.address }),
        c.tx(bob, 'stake.delegate', { validator: val1.address, amount: 5n }),
        c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 6n }),
      ])
      .txResults.map((x) => x.code);
    expect(codes).toEqual([
      'ZERO_AMOUNT',
      'VALIDATOR_NOT_FOUND',
      'INSUFFICIENT_FUNDS',
      'ZERO_AMOUNT',
      'VALIDATOR_NOT_FOUND',
      'NO_DELEGATION',
      'NO_DELEGATION',
      'VALIDATOR_NOT_FOUND',
      'ok',
      'INSUFFICIENT_DELEGATION',
    ]);
    const s = new Stores(c.state);
    s.setDelegatorValidators(
      carol.address,
      Array.from({ length: 32 }, (_, i) => addressOf(new Uint8Array([i]))),
    );
    expect(codeOf(c.block([c.tx(carol, 'stake.delegate', { validator: val1.address, amount: OPEN })]))).toBe(
      'TOO_MANY_DELEGATIONS',
    );
    s.setValidatorUnbondings(
      val1.address,
      Array.from({ length: 10_000 }, (_, i) => 1_000_000 + i),
    );
    expect(codeOf(c.block([c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 1n })]))).toBe(
      'UNBONDING_QUEUE_FULL',
    );
  });

  it('block rewards: commission to the operator, the rest per share to delegators', () => {
    const c = chain();
    c.block([c.tx(bob, 'stake.delegate', { validator: val0.address, amount: 2000n * OPEN })]); // h1
    c.block([]); // h2: set of h2 is still 2000:1000; issuance 10 OPEN → val0 20/3 OPEN
    const op0Before = c.balance(op0);
    c.block([]); // h3: bob's stake counts now (4000:1000) → val0 8 OPEN, 10% commission
    expect(c.balance(op0) - op0Before).toBe((8n * OPEN * 1000n) / 10_000n);
    const v = c.stores.validator(val0.address)!;
    const d = c.stores.delegation(val0.address, bob.address)!;
    const due = (d.shares * v.rewardPerShare - d.rewardDebt) / REWARD_PRECISION;
    // Bob holds half of val0's shares from h1 on: half of the delegators' part of h1 and h2
    // (6 OPEN each) and of h3 (7.2 OPEN), plus a little from h1's fees, minus rounding.
    const exact = (6n * OPEN + 6n * OPEN + (72n * OPEN) / 10n) / 2n;
    expect(due >= exact - 3n && due <= exact + 10n ** 6n).toBe(true);
    const bob0 = c.balance(bob);
    const r = c.block([c.tx(bob, 'stake.withdrawRewards', { validator: val0.address })]);
    const paid = r.txResults[0].events.find((e) => e.type === 'rewards.withdrawn')!.attrs.amount as bigint;
    expect(paid).toBe(due);
    expect(c.balance(bob)).toBe(bob0 + paid - r.txResults[0].fee);
  });
});

describe('slashing and jailing', () => {
  it('double-sign evidence slashes bonded stake and later unbonding entries, tombstones and jails', () => {
    const c = chain();
    c.block([c.tx(bob, 'stake.delegate', { validator: val1.address, amount: 100n * OPEN })]); // h1
    c.block([c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 10n * OPEN })]); // h2: before offence at 3
    c.block([]); // h3
    c.block([c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 20n * OPEN })]); // h4: after offence
    const a = c.vote(val1, 3, new Uint8Array(32).fill(1));
    const b = c.vote(val1, 3, new Uint8Array(32).fill(2));
    const tokens = c.stores.validator(val1.address)!.tokens;
    const burned0 = c.stores.totals().burned;
    const r = c.block([], { evidence: [{ kind: 'duplicateVote', voteA: a, voteB: b }] }); // h5
    const v = c.stores.validator(val1.address)!;
    expect(v.tombstoned).toBe(true);
    expect(v.jailed).toBe(true);
    expect(v.tokens).toBe(tokens - (tokens * 500n) / 10_000n);
    const slashEv = r.events.find((e) => e.type === 'validator.slashed')!;
    // 5% of bonded + 5% of the 20 OPEN entry created after the offence; the 10 OPEN entry is untouched.
    expect(slashEv.attrs.amount).toBe((tokens * 500n) / 10_000n + OPEN);
    expect(c.stores.totals().burned - burned0).toBe(slashEv.attrs.amount);
    expect(r.validatorUpdates).toEqual([{ address: val1.address, publicKey: val1.publicKey, power: 0 }]);
    // The same evidence again would slash nothing: the block carrying it is invalid (a proposer
    // must not pad blocks with spent evidence; the node drops it from its pool).
    expect(c.tryEvidence([{ kind: 'duplicateVote', voteA: a, voteB: b }])).toBe('EVIDENCE_ALREADY_PUNISHED');
    expect(codeOf(c.block([c.tx(op1, 'validator.unjail', {})]))).toBe('TOMBSTONED');
  });

  it('invalid evidence invalidates the block', () => {
    const c = chain();
    c.block([]);
    c.block([]);
    const h = (x: number) => new Uint8Array(32).fill(x);
    const bad = [
      { kind: 'duplicateVote', voteA: c.vote(val1, 1, h(1)), voteB: c.vote(val1, 1, h(1)) },
      { kind: 'duplicateVote', voteA: c.vote(val1, 1, h(1)), voteB: c.vote(val0, 1, h(2)) },
      {
        kind: 'duplicateVote',
        voteA: c.vote(val1, 1, h(1)),
        voteB: { ...c.vote(val1, 1, h(2)), signature: new Uint8Array(64) },
      },
      { kind: 'duplicateVote', voteA: c.vote(val1, 5, h(1)), voteB: c.vote(val1, 5, h(2)) },
      { kind: 'duplicateVote', voteA: c.vote(alice, 1, h(1)), voteB: c.vote(alice, 1, h(2)) },
    ];
    for (const e of bad) {
      const fresh = (c.state as unknown as { clone(): never }).clone();
      const copy = Object.assign(Object.create(Object.getPrototypeOf(c)), c, { state: fresh });
      expect(() => copy.block([], { evidence: [e as never] })).toThrow(BlockError);
    }
  });

  it('downtime: missing more than X of the last Y commits slashes a little and jails for a period', () => {
    const c = chain();
    c.block([]); // h1
    const onlyVal0 = [val0.address];
    c.block([], { signers: onlyVal0 }); // h2: val1 missed h1
    c.block([], { signers: onlyVal0 }); // h3
    const tokens = c.stores.validator(val1.address)!.tokens;
    const r = c.block([], { signers: onlyVal0 }); // h4: third miss > 2
    const v = c.stores.validator(val1.address)!;
    expect(v.jailed).toBe(true);
    expect(v.jailedUntil).toBe(4 + 5);
    expect(v.tokens).toBe(tokens - (tokens * 10n) / 10_000n);
    expect(r.events.find((e) => e.type === 'validator.jailed')?.attrs.reason).toBe('downtime');
    expect(codeOf(c.block([c.tx(op1, 'validator.unjail', {})]))).toBe('JAIL_NOT_EXPIRED');
    for (let i = 0; i < 3; i++) c.block([]);
    const r2 = c.block([c.tx(op1, 'validator.unjail', {})]);
    expect(codeOf(r2)).toBe('ok');
    expect(c.stores.validator(val1.address)!.jailed).toBe(false);
    expect(r2.validatorUpdates.map((u) => u.address)).toEqual([val1.address]);
    expect(codeOf(c.block([c.tx(op1, 'validator.unjail', {})]))).toBe('NOT_JAILED');
    expect(codeOf(c.block([c.tx(bob, 'validator.unjail', {})]))).toBe('NOT_OPERATOR');
  });

  it('an operator whose self-stake falls below the minimum is jailed and cannot unjail', () => {
    const c = chain();
    const r = c.block([
      c.tx(op1, 'stake.undelegate', { validator: val1.address, amount: 1000n * OPEN - 1n }),
    ]);
    expect(codeOf(r)).toBe('ok');
    expect(c.stores.validator(val1.address)!.jailed).toBe(true);
    expect(codeOf(c.block([c.tx(op1, 'validator.unjail', {})]))).toBe('SELF_STAKE_TOO_LOW');
  });

  it('a validator slashed to zero cannot take delegations', () => {
    const c = TestChain.mem({ ...genesisJson(), params: { ...params, slashDoubleSignBps: '10000' } });
    c.block([]);
    c.block([]);
    const h = (x: number) => new Uint8Array(32).fill(x);
    c.block([], {
      evidence: [{ kind: 'duplicateVote', voteA: c.vote(val1, 1, h(1)), voteB: c.vote(val1, 1, null) }],
    });
    expect(c.stores.validator(val1.address)!.tokens).toBe(0n);
    expect(codeOf(c.block([c.tx(bob, 'stake.delegate', { validator: val1.address, amount: OPEN })]))).toBe(
      'VALIDATOR_WIPED',
    );
  });

  it('double-proposal evidence (two signed proposals for one height and round) slashes, tombstones and jails', () => {
    const c = chain();
    c.block([]); // h1
    c.block([]); // h2: the offence
    c.block([c.tx(bob, 'stake.delegate', { validator: val1.address, amount: 100n * OPEN })]); // h3
    const h = (x: number) => new Uint8Array(32).fill(x);
    const e = {
      kind: 'duplicateProposal' as const,
      proposalA: c.proposal(val1, 2, h(1)),
      proposalB: c.proposal(val1, 2, h(2)),
    };
    const tokens = c.stores.validator(val1.address)!.tokens;
    const burned0 = c.stores.totals().burned;
    const r = c.block([], { evidence: [e] }); // h4
    const v = c.stores.validator(val1.address)!;
    expect([v.tombstoned, v.jailed, v.jailedUntil]).toEqual([true, true, Number.MAX_SAFE_INTEGER]);
    const slashed = r.events.find((x) => x.type === 'validator.slashed')!;
    expect(slashed.attrs).toMatchObject({ amount: (tokens * 500n) / 10_000n, reason: 'doubleProposal' });
    expect(r.events.find((x) => x.type === 'validator.jailed')?.attrs.reason).toBe('doubleProposal');
    expect(c.stores.totals().burned - burned0).toBe((tokens * 500n) / 10_000n);
    expect(r.validatorUpdates).toEqual([{ address: val1.address, publicKey: val1.publicKey, power: 0 }]);
    // Already punished (by this piece, or by a duplicate vote): a typed error, no second slash.
    expect(c.tryEvidence([e])).toBe('EVIDENCE_ALREADY_PUNISHED');
    expect(
      c.tryEvidence([{ kind: 'duplicateVote', voteA: c.vote(val1, 3, h(1)), voteB: c.vote(val1, 3, h(2)) }]),
    ).toBe('EVIDENCE_ALREADY_PUNISHED');
  });

  it('bad double-proposal evidence is a typed block error and slashes nothing', () => {
    const c = chain();
    c.block([]);
    c.block([]);
    c.block([]);
    const h = (x: number) => new Uint8Array(32).fill(x);
    const dp = (
      proposalA: ReturnType<TestChain['proposal']>,
      proposalB: ReturnType<TestChain['proposal']>,
    ) => ({
      kind: 'duplicateProposal' as const,
      proposalA,
      proposalB,
    });
    const a = c.proposal(val1, 2, h(1));
    const cases: [string, unknown, string][] = [
      [
        'forged signature',
        dp(a, { ...c.proposal(val1, 2, h(2)), signature: new Uint8Array(64) }),
        'BAD_EVIDENCE',
      ],
      [
        'signed by another key',
        dp(a, { ...c.proposal(val0, 2, h(2)), proposer: val1.address }),
        'BAD_EVIDENCE',
      ],
      ['the same proposal twice', dp(a, a), 'BAD_EVIDENCE'],
      ['different heights', dp(a, c.proposal(val1, 1, h(2))), 'BAD_EVIDENCE'],
      ['different rounds', dp(a, c.proposal(val1, 2, h(2), 1)), 'BAD_EVIDENCE'],
      ['different proposers', dp(a, c.proposal(val0, 2, h(2))), 'BAD_EVIDENCE'],
      ['non-validator', dp(c.proposal(alice, 2, h(1)), c.proposal(alice, 2, h(2))), 'BAD_EVIDENCE'],
      ['future height', dp(c.proposal(val1, 4, h(1)), c.proposal(val1, 4, h(2))), 'BAD_EVIDENCE'],
    ];
    for (const [what, e, code] of cases) expect([what, c.tryEvidence([e as never])]).toEqual([what, code]);
    expect(c.tryEvidence([dp(a, c.proposal(val1, 2, h(1), 0, 1))])).toBe('ok'); // another polRound conflicts
    expect(c.stores.validator(val1.address)!.tombstoned).toBe(false);
  });

  it('evidence age: exactly unbondingBlocks old is accepted, one block older is EVIDENCE_TOO_OLD', () => {
    // unbondingBlocks 3 (below evidenceMaxAgeBlocks, 1000): the unbonding period is the limit.
    const c = chain();
    c.block([]); // h1: the offence
    c.block([]); // h2
    c.block([]); // h3
    const h = (x: number) => new Uint8Array(32).fill(x);
    const vote = [
      { kind: 'duplicateVote' as const, voteA: c.vote(val1, 1, h(1)), voteB: c.vote(val1, 1, h(2)) },
    ];
    const prop = [
      {
        kind: 'duplicateProposal' as const,
        proposalA: c.proposal(val1, 1, h(1)),
        proposalB: c.proposal(val1, 1, h(2)),
      },
    ];
    // The next block is h4: age 3 = unbondingBlocks.
    expect([c.tryEvidence(vote), c.tryEvidence(prop)]).toEqual(['ok', 'ok']);
    c.block([]); // h4
    expect([c.tryEvidence(vote), c.tryEvidence(prop)]).toEqual(['EVIDENCE_TOO_OLD', 'EVIDENCE_TOO_OLD']);
    // evidenceMaxAgeBlocks below the unbonding period governs instead.
    const d = TestChain.mem({
      ...genesisJson(),
      params: { ...params, unbondingBlocks: '10', evidenceMaxAgeBlocks: '2' },
    });
    d.block([]); // h1: the offence
    d.block([]); // h2
    const ev = [
      { kind: 'duplicateVote' as const, voteA: d.vote(val1, 1, h(1)), voteB: d.vote(val1, 1, h(2)) },
    ];
    expect(d.tryEvidence(ev)).toBe('ok'); // h3: age 2
    d.block([]);
    expect(d.tryEvidence(ev)).toBe('EVIDENCE_TOO_OLD'); // h4: age 3
  });

  it('stake unbonded after the offence is still slashed at the age limit, and only once', () => {
    const c = chain();
    c.block([c.tx(bob, 'stake.delegate', { validator: val1.address, amount: 100n * OPEN })]); // h1
    c.block([]); // h2: the offence
    c.block([c.tx(bob, 'stake.undelegate', { validator: val1.address, amount: 100n * OPEN })]); // h3: leaves, completes at h6
    c.block([]); // h4
    const h = (x: number) => new Uint8Array(32).fill(x);
    const ev = { kind: 'duplicateVote' as const, voteA: c.vote(val1, 2, h(1)), voteB: c.vote(val1, 2, h(2)) };
    const r = c.block([], { evidence: [ev] }); // h5: age 3 = unbondingBlocks, the entry is still queued
    const slashed = r.events.find((x) => x.type === 'validator.slashed')!;
    const tokens = c.stores.validator(val1.address)!.tokens;
    // 5 % of what stayed bonded plus 5 % of bob's 100 OPEN that left after the offence.
    expect(slashed.attrs.amount).toBe((tokens * 500n) / 9_500n + 5n * OPEN);
    const before = c.balance(bob);
    const paid = c.block([]); // h6: the entry matures with its slashed balance
    expect(paid.events.find((x) => x.type === 'unbonded')?.attrs.amount).toBe(95n * OPEN);
    expect(c.balance(bob) - before).toBe(95n * OPEN);
    // A second piece (a double proposal at the same height) cannot slash it again.
    const prop = {
      kind: 'duplicateProposal' as const,
      proposalA: c.proposal(val1, 4, h(1)),
      proposalB: c.proposal(val1, 4, h(2)),
    };
    expect(c.tryEvidence([prop])).toBe('EVIDENCE_ALREADY_PUNISHED');
  });
});
