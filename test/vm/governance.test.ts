import { describe, expect, it } from 'vitest';
import type { TxBody } from '../../core/tx.js';
import { PROPOSAL_VOTERS_MAX, PROPOSALS_PER_HEIGHT_MAX } from '../../state/stores/records.js';
import { Stores } from '../../state/stores/stores.js';
import { codeOf, genesisJson, key, OPEN, TestChain } from './harness.js';

const alice = key('alice');
const bob = key('bob');
const op0 = key('op0');
const op1 = key('op1');
const val0 = key('val0');

const params = {
  govVotingBlocks: '3',
  govDepositMin: (5n * OPEN).toString(),
  govQuorumBps: '5000',
  govThresholdBps: '5000',
};
const chain = () => TestChain.mem({ ...genesisJson(), params });
const propose = (changes: { key: string; value: string }[], deposit = 5n * OPEN): TxBody<'gov.propose'> => ({
  title: 'raise the validator count',
  description: 'more validators',
  changes,
  deposit,
});

describe('governance', () => {
  it('a passed proposal changes parameters at the end block of its last voting height', () => {
    const c = chain();
    const r = c.block([c.tx(alice, 'gov.propose', propose([{ key: 'maxValidators', value: '1' }]))]);
    expect(codeOf(r)).toBe('ok');
    expect(c.stores.proposal(1)).toMatchObject({ status: 'voting', votingEndHeight: 4, deposit: 5n * OPEN });
    expect(c.stores.totals().escrow).toBe(5n * OPEN);
    // op0 holds 2000 of 3000 bonded: yes passes with quorum.
    const r2 = c.block([
      c.tx(op0, 'gov.vote', { proposal: 1, option: 'no' }),
      c.tx(op0, 'gov.vote', { proposal: 1, option: 'yes' }),
    ]);
    expect(r2.txResults.map((x) => x.code)).toEqual(['ok', 'ok']);
    expect(c.stores.proposal(1)!.voters).toBe(1);
    c.block([c.tx(op1, 'gov.vote', { proposal: 1, option: 'no' })]);
    const a0 = c.balance(alice);
    const r4 = c.block([]);
    expect(c.stores.proposal(1)).toMatchObject({ status: 'passed', yes: 2000n * OPEN, no: 1000n * OPEN });
    expect(r4.events.some((e) => e.type === 'params.changed')).toBe(true);
    expect(c.balance(alice) - a0).toBe(5n * OPEN);
    // maxValidators = 1 → the set for height 6 keeps only val0.
    expect(r4.validatorUpdates.map((u) => u.power)).toEqual([0]);
    expect(c.stores.validatorSet(6)!.map((e) => e.address)).toEqual([val0.address]);
    expect(codeOf(c.block([c.tx(op0, 'gov.vote', { proposal: 1, option: 'yes' })]))).toBe('VOTING_CLOSED');
  });

  it('without quorum the proposal is rejected and the deposit goes to the treasury', () => {
    const c = chain();
    c.block([c.tx(alice, 'gov.propose', propose([{ key: 'minGasPrice', value: '2' }]))]);
    c.block([c.tx(op1, 'gov.vote', { proposal: 1, option: 'yes' })]); // 1000 of 3000 < 50%
    c.block([]);
    const t0 = c.stores.totals().treasury;
    c.block([]);
    expect(c.stores.proposal(1)!.status).toBe('rejected');
    expect(c.stores.totals().treasury - t0 >= 5n * OPEN).toBe(true);
    expect(c.stores.totals().escrow).toBe(0n);
  });

  it('propose and vote errors', () => {
    const c = chain();
    const codes = c
      .block([
        c.tx(alice, 'gov.propose', propose([{ key: 'maxValidators', value: '10' }], OPEN)),
        c.tx(alice, 'gov.propose', propose([])),
        c.tx(alice, 'gov.propose', propose([{ key: 'nope', value: '1' }])),
        c.tx(
          alice,
          'gov.propose',
          propose([
            { key: 'maxValidators', value: '10' },
            { key: 'maxValidators', value: '11' },
          ]),
        ),
        c.tx(alice, 'gov.propose', propose([{ key: 'maxValidators', value: '0x10' }])),
        c.tx(alice, 'gov.propose', propose([{ key: 'maxValidators', value: '151' }])),
        c.tx(alice, 'gov.propose', propose([{ key: 'feeTreasuryBps', value: '9000' }])),
        c.tx(alice, 'gov.propose', propose([{ key: 'maxValidators', value: '10' }], 10n ** 30n)),
        c.tx(bob, 'gov.vote', { proposal: 9, option: 'yes' }),
        c.tx(alice, 'gov.propose', propose([{ key: 'maxValidators', value: '10' }])),
        c.tx(bob, 'gov.vote', { proposal: 1, option: 'yes' }),
      ])
      .txResults.map((x) => x.code);
    expect(codes).toEqual([
      'DEPOSIT_TOO_LOW',
      'NO_CHANGES',
      'UNKNOWN_PARAM',
      'DUPLICATE_PARAM',
      'BAD_PARAM_VALUE',
      'PARAM_OUT_OF_BOUNDS',
      'PARAMS_INCONSISTENT',
      'INSUFFICIENT_FUNDS',
      'PROPOSAL_NOT_FOUND',
      'ok',
      'NO_STAKE',
    ]);
  });

  it('a proposal that no longer fits the parameters when it passes fails without applying', () => {
    const c = chain();
    c.block([
      c.tx(alice, 'gov.propose', propose([{ key: 'feeTreasuryBps', value: '6000' }])),
      c.tx(bob, 'gov.propose', propose([{ key: 'feeValidatorsBps', value: '2000' }])),
    ]);
    c.block([
      c.tx(op0, 'gov.vote', { proposal: 1, option: 'yes' }),
      c.tx(op0, 'gov.vote', { proposal: 2, option: 'yes' }),
    ]);
    c.block([]);
    c.block([]);
    expect(c.stores.proposal(1)!.status).toBe('passed');
    expect(c.stores.proposal(2)!.status).toBe('failed'); // 6000 + 2000 + 3000 > 10000
  });

  it('a proposal takes at most PROPOSAL_VOTERS_MAX distinct voters', () => {
    const c = chain();
    c.block([c.tx(alice, 'gov.propose', propose([{ key: 'minGasPrice', value: '1' }]))]);
    c.block([c.tx(op1, 'gov.vote', { proposal: 1, option: 'no' })]);
    const s = new Stores(c.state);
    s.setProposal({ ...s.proposal(1)!, voters: PROPOSAL_VOTERS_MAX });
    const r = c.block([
      c.tx(op0, 'gov.vote', { proposal: 1, option: 'yes' }),
      c.tx(op1, 'gov.vote', { proposal: 1, option: 'yes' }),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['TOO_MANY_VOTERS', 'ok']);
  });

  it('too many proposals ending at one height', () => {
    const c = chain();
    const txs = Array.from({ length: PROPOSALS_PER_HEIGHT_MAX + 1 }, () =>
      c.tx(alice, 'gov.propose', propose([{ key: 'minGasPrice', value: '1' }])),
    );
    const r = c.block(txs);
    expect(r.txResults[PROPOSALS_PER_HEIGHT_MAX].code).toBe('PROPOSAL_QUEUE_FULL');
  });
});
