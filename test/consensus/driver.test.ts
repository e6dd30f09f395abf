import { describe, expect, it } from 'vitest';
import { type Application, applicationEffects } from '../../consensus/application.js';
import { ConsensusDriver } from '../../consensus/driver.js';
import { MemorySignerStateStore, SignerGuard } from '../../consensus/signerGuard.js';
import { createState } from '../../consensus/stateMachine.js';
import type { ConsensusMessage } from '../../consensus/validation.js';
import { MemoryWalBackend, scanWal, Wal } from '../../consensus/wal.js';
import { VOTE_PREVOTE } from '../../core/block.js';
import { sign } from '../../core/keys.js';
import { CHAIN, hashOf, observerDriver, TIMEOUTS, validators, vote } from './helpers.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('driver with an application', () => {
  it('a single validator commits height after height through prepare / process / commit', async () => {
    const { keys, set } = validators([5]);
    const committed: number[] = [];
    const app: Application = {
      // Each answer takes a macrotask, like real I/O; after height 5 the application goes quiet.
      prepareProposal: async ({ height, round }) => {
        await tick();
        if (height > 5) await new Promise(() => {});
        return hashOf(`block ${height}/${round}`);
      },
      processProposal: async () => true,
      commitBlock: async ({ height, commit }) => {
        await tick();
        expect(commit.signatures).toHaveLength(1);
        committed.push(height);
        return { validatorUpdates: [] };
      },
    };
    const sent: ConsensusMessage[] = [];
    const backend = new MemoryWalBackend();
    const store = new MemorySignerStateStore();
    let driver: ConsensusDriver;
    const errors: unknown[] = [];
    driver = new ConsensusDriver(
      createState({
        chainId: CHAIN,
        self: keys[0].address,
        height: 1,
        validators: set,
        nextValidators: set.next([]),
        timeouts: TIMEOUTS,
      }),
      new Wal(backend),
      new SignerGuard(CHAIN, (m) => sign(m, keys[0].secretKey), store),
      {
        broadcast: (m) => sent.push(m),
        scheduleTimeout: () => {},
        evidence: () => {},
        ...applicationEffects(
          app,
          () => driver,
          (_stage, e) => errors.push(e),
        ),
      },
    );
    driver.start();
    for (let i = 0; i < 200 && committed.length < 5; i++) await tick();
    expect(errors).toEqual([]);
    expect(committed.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    // Per height: a proposal, a prevote and a precommit, each signed once through the guard.
    expect(sent.slice(0, 3).map((m) => (m.type === 'vote' ? `vote${m.vote.kind}` : m.type))).toEqual([
      'proposal',
      'vote1',
      'vote2',
    ]);
    expect(store.state?.height).toBeGreaterThanOrEqual(5);
    // The WAL was rotated: only recent heights remain, each a clean log.
    const heights = backend.heights();
    expect(heights.length).toBeLessThanOrEqual(2);
    for (const h of heights) expect(scanWal(backend.read(h)).tail).toBe('clean');
  });

  it('when the guard refuses, nothing is broadcast and the refusal is reported', () => {
    const { keys, set } = validators([1, 1, 1, 1]);
    const store = new MemorySignerStateStore();
    // The key already signed at height 9: anything at height 1 is refused.
    new SignerGuard(CHAIN, (m) => sign(m, keys[0].secretKey), store).signVote({
      kind: VOTE_PREVOTE,
      height: 9,
      round: 0,
      blockHash: null,
      validator: keys[0].address,
    });
    const sent: ConsensusMessage[] = [];
    const refused: string[] = [];
    const driver = new ConsensusDriver(
      createState({
        chainId: CHAIN,
        self: keys[0].address,
        height: 1,
        validators: set,
        nextValidators: set.next([]),
        timeouts: TIMEOUTS,
      }),
      new Wal(new MemoryWalBackend()),
      new SignerGuard(CHAIN, (m) => sign(m, keys[0].secretKey), store),
      {
        broadcast: (m) => sent.push(m),
        scheduleTimeout: () => {},
        buildProposal: () => {},
        validateValue: () => {},
        decide: () => {},
        evidence: () => {},
        refused: (e) => refused.push(e.code),
      },
    );
    driver.start();
    driver.input({ type: 'timeout', kind: 'propose', height: 1, round: 0 });
    expect(sent.filter((m) => m.type === 'vote')).toEqual([]);
    expect(refused).toContain('HEIGHT_REGRESSION');
  });

  it('gossipSet holds our recent messages and the proof of lock for our valid value', () => {
    const { keys, set } = validators([1, 1, 1, 1]);
    const self = [0, 1, 2, 3].find((i) => set.proposerIndex(0) !== i && set.proposerIndex(1) !== i) as number;
    const rest = [0, 1, 2, 3].filter((i) => i !== self);
    const A = hashOf('A');
    const driver = new ConsensusDriver(
      createState({
        chainId: CHAIN,
        self: keys[self].address,
        height: 1,
        validators: set,
        nextValidators: set.next([]),
        timeouts: TIMEOUTS,
      }),
      new Wal(new MemoryWalBackend()),
      new SignerGuard(CHAIN, (m) => sign(m, keys[self].secretKey), new MemorySignerStateStore()),
      {
        broadcast: () => {},
        scheduleTimeout: () => {},
        buildProposal: () => {},
        validateValue: () => {},
        decide: () => {},
        evidence: () => {},
      },
    );
    driver.start();
    const proposer = keys[set.proposerIndex(0)];
    driver.input({
      type: 'proposal',
      proposal: {
        ...{ height: 1, round: 0, polRound: -1, blockHash: A, proposer: proposer.address },
        signature: sign(new Uint8Array(0), proposer.secretKey),
      },
    });
    driver.input({ type: 'valueValidity', height: 1, blockHash: A, valid: true });
    for (const i of rest.slice(0, 2))
      driver.input({ type: 'vote', vote: vote(keys[i], VOTE_PREVOTE, 1, 0, A) });
    expect(driver.state.validRound).toBe(0);
    const g = driver.gossipSet();
    const own = g.filter((m) => driver.isOwn(m));
    expect(own.map((m) => (m.type === 'vote' ? m.vote.kind : 0))).toEqual([1, 2]);
    expect(g.filter((m) => !driver.isOwn(m))).toHaveLength(2); // the two peers' prevotes for A
    // Stuck at the same point on the next call: every vote of this round is relayed as well.
    driver.input({ type: 'vote', vote: vote(keys[rest[2]], VOTE_PREVOTE, 1, 0, null) });
    const stalled = driver.gossipSet().filter((m) => !driver.isOwn(m));
    expect(stalled).toHaveLength(3);
  });

  it('drops repeated gossip before the WAL', () => {
    const { keys, set } = validators([1, 1, 1, 1]);
    const backend = new MemoryWalBackend();
    const driver = observerDriver(set, backend);
    driver.start();
    const v = vote(keys[1], VOTE_PREVOTE, 1, 0, hashOf('A'));
    for (let i = 0; i < 5; i++) driver.input({ type: 'vote', vote: v });
    expect(driver.redundant).toBe(4);
    expect(scanWal(backend.read(1)).inputs).toEqual([{ type: 'vote', vote: v }]);
  });
});
