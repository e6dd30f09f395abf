import { afterAll, describe, expect, it } from 'vitest';
import { outputHash, signDelivery } from '../../core/delivery.js';
import { sha256 } from '../../core/hash.js';
import { TX_TYPES, type TxBody, type TxType } from '../../core/tx.js';
import { contributionId, datanetId } from '../../vm/datanets.js';
import type { BlockResult, ExecTx } from '../../vm/execute.js';
import { modelId, receiptId } from '../../vm/models.js';
import { genesisJson, key, OPEN, signedReceipt, TestChain } from './harness.js';
import { checkSupply, seededResolver } from './scenario.js';

/**
 * Golden scenario: genesis → 20 blocks touching every tx type (and evidence, downtime, unbonding,
 * governance, every job kind), executed on the LevelDB-backed StateDb. The final state root is
 * pinned: any change to encodings, gas, ordering or arithmetic shows up here. If a change is
 * intended, update GOLDEN_ROOT and say why in the commit message.
 */
const GOLDEN_ROOT = '33f7f5752bb5c5b0b10a824a749358ab394edcc5e086f66ab5e1cca01d32f2e9';

const alice = key('alice');
const bob = key('bob');
const carol = key('carol');
const dave = key('dave');
const op0 = key('op0');
const op1 = key('op1');
const val1 = key('val1');
const val2 = key('val2');
const enc = new TextEncoder();

const dnBody = (curation: 'open' | 'owner', labels: string[] = []): TxBody<'datanet.create'> => ({
  name: `golden-${curation}`,
  description: 'golden scenario',
  license: 'CC-BY-4.0',
  tags: ['golden'],
  curation,
  curators: [],
  bond: OPEN,
  rejectForfeitBps: 2500,
  contributionBytesMax: 0,
  labels,
});

async function runGolden(chain: TestChain): Promise<BlockResult[]> {
  chain.resolver = seededResolver;
  const out: BlockResult[] = [];
  const step = async (txs: ExecTx[], opts: Parameters<TestChain['block']>[1] = {}) => {
    out.push(chain.block(txs, opts));
    checkSupply(chain.state);
    await chain.commit();
  };
  const openDn = datanetId(alice.address, 0);
  const ownerDn = datanetId(alice.address, 1);
  const cid = (dn: Uint8Array, text: string) => contributionId(dn, sha256(enc.encode(text)));
  const span = modelId(alice.address, 5); // alice nonces: 0–2 block 1, 3–4 reviews, 5–6 models
  const influence = modelId(alice.address, 6);
  // Receipts 1 and 2 (block 5) wait out the challenge window (no ack); the later ones carry bob's ack.
  const receipt = (model: Uint8Array, nonce: number, output: string): ExecTx =>
    chain.tx(
      carol,
      'inference.receipt',
      signedReceipt(
        {
          request: chain.request(bob, model, 1, 100_000n, nonce, 100),
          input: model === influence ? 'is this spam' : '',
          output,
          retrieved: [],
          inputTokens: 4,
          outputTokens: 12,
        },
        carol,
        nonce >= 3 ? bob : null,
      ),
    );
  /** A delivery carol signed for request `nonce` (of the span model) with `output`. */
  const challenge = (from: typeof bob, nonce: number, output: string): ExecTx => {
    const rid = receiptId(bob.address, nonce);
    const delivery = {
      requestHash: chain.stores.receipt(rid)!.requestHash,
      outputHash: outputHash(output),
      outputTokens: 12,
    };
    return chain.tx(from, 'inference.challenge', {
      receipt: rid,
      delivery,
      signature: signDelivery(delivery, carol.secretKey),
    });
  };
  const model = (
    name: string,
    dn: Uint8Array,
    version: number,
    training: boolean,
  ): TxBody<'model.register'> => ({
    name,
    datanets: [{ datanet: dn, version }],
    method: training ? 'influence' : 'span',
    params: [{ key: 'minSpan', value: '3' }],
    pricePerRequest: 1000n,
    pricePerOutputToken: 250n,
    ownerShareBps: 1500,
    providers: [carol.address],
    artifact: training ? null : { baseModel: 'tiny-llama', adapterHash: sha256(enc.encode('lora')) },
    training: training ? [{ key: 'epochs', value: '3' }] : null,
  });

  // 1: datanets, a transfer, a new validator.
  await step([
    chain.tx(alice, 'datanet.create', dnBody('open')),
    chain.tx(alice, 'datanet.create', dnBody('owner', ['ham', 'spam'])),
    chain.tx(alice, 'transfer', { to: dave.address, amount: 123n * OPEN }),
    chain.tx(carol, 'validator.create', {
      consensusKey: val2.publicKey,
      commissionBps: 700,
      selfStake: 900n * OPEN,
      moniker: 'carol',
    }),
    chain.tx(carol, 'provider.bond', { amount: 20n * OPEN }),
  ]);
  // 2: contributions (near-duplicate jobs), a delegation.
  await step([
    chain.tx(bob, 'datanet.contribute', {
      datanet: openDn,
      content: 'the quick brown fox jumps over the lazy dog',
      label: '',
    }),
    chain.tx(dave, 'datanet.contribute', {
      datanet: openDn,
      content: 'all that glitters is not gold',
      label: '',
    }),
    chain.tx(dave, 'datanet.contribute', {
      datanet: ownerDn,
      content: 'win a free prize now',
      label: 'spam',
    }),
    chain.tx(bob, 'datanet.contribute', {
      datanet: ownerDn,
      content: 'meeting at noon tomorrow',
      label: 'ham',
    }),
    chain.tx(dave, 'stake.delegate', { validator: val2.address, amount: 50n * OPEN }),
  ]);
  // 3: settle; the owner reviews.
  await step([
    chain.tx(alice, 'datanet.review', {
      contribution: cid(ownerDn, 'win a free prize now'),
      accept: true,
      reason: '',
    }),
    chain.tx(alice, 'datanet.review', {
      contribution: cid(ownerDn, 'meeting at noon tomorrow'),
      accept: true,
      reason: 'ok',
    }),
  ]);
  // 4: models: a span model on the open datanet, a trained one on the labeled datanet.
  const dnVersion = chain.stores.datanet(openDn)!.version;
  await step([
    chain.tx(alice, 'model.register', model('span-model', openDn, dnVersion, false)),
    chain.tx(alice, 'model.register', model('spam-filter', ownerDn, 2, true)),
  ]);
  // 5: training settles; receipts for the span model.
  await step([receipt(span, 1, 'the quick brown fox is not gold'), receipt(span, 2, 'nothing in common')]);
  // 6: attribution settles; receipt for the trained model; model update; governance proposal.
  const { name: _n, ...fields } = model('span-model', openDn, dnVersion, false);
  await step([
    receipt(influence, 3, 'spam'),
    chain.tx(alice, 'model.update', { model: span, ...fields, pricePerOutputToken: 300n }),
    chain.tx(dave, 'gov.propose', {
      title: 'issue 2 OPEN per block',
      description: '',
      changes: [{ key: 'blockIssuance', value: (2n * OPEN).toString() }],
      deposit: 10n * OPEN,
    }),
  ]);
  // 7: votes; an undelegation.
  await step([
    chain.tx(op0, 'gov.vote', { proposal: 1, option: 'yes' }),
    chain.tx(op1, 'gov.vote', { proposal: 1, option: 'abstain' }),
    chain.tx(dave, 'stake.undelegate', { validator: val2.address, amount: 20n * OPEN }),
    chain.tx(carol, 'provider.unbond', { amount: OPEN }),
  ]);
  // 8: double-sign evidence against val1 (at height 5).
  await step([], {
    evidence: [
      {
        kind: 'duplicateVote',
        voteA: chain.vote(val1, 5, new Uint8Array(32).fill(7)),
        voteB: chain.vote(val1, 5, null),
      },
    ],
  });
  // 9: rewards withdrawn; a failing tx (pays its fee); an admission failure (charged nothing).
  await step([
    chain.tx(dave, 'stake.withdrawRewards', { validator: val2.address }),
    chain.tx(bob, 'transfer', { to: alice.address, amount: 10n ** 30n }),
    chain.tx(bob, 'transfer', { to: alice.address, amount: 1n }, { nonce: 99 }),
    // Receipt 1 (block 5, no ack, still held): bob proves carol delivered another output.
    challenge(bob, 1, 'the quick brown fox jumps'),
    // A second submission is refused (RECEIPT_ALREADY_CHALLENGED, fee charged): slashed once.
    challenge(dave, 1, 'the quick brown fox is not gold'),
  ]);
  // 10–13: val2 (carol) misses commits → downtime jail; val1 is tombstoned.
  const notVal2 = () =>
    (chain.stores.validatorSet(chain.height)! ?? [])
      .map((e) => e.address)
      .filter((a) => !a.every((x, i) => x === val2.address[i]));
  for (let i = 0; i < 4; i++)
    await step([chain.tx(alice, 'transfer', { to: bob.address, amount: BigInt(i + 1) * OPEN })], {
      signers: notVal2(),
    });
  // 14–15: more blocks; the jail ends.
  await step([chain.tx(op1, 'validator.unjail', {})]);
  await step([
    chain.tx(dave, 'datanet.contribute', {
      datanet: openDn,
      content: 'the quick brown fox jumps over the lazy dog!',
      label: '',
    }),
  ]);
  // 16: carol unjails; near-duplicate settles.
  await step([chain.tx(carol, 'validator.unjail', {})]);
  // 17–18: more receipts, one settled as failed by the seeded resolver or not.
  await step([receipt(span, 4, 'lazy dog jumps'), receipt(span, 5, 'gold glitters')]);
  await step([chain.tx(bob, 'stake.delegate', { validator: val2.address, amount: 5n * OPEN })]);
  // 19–20: wind down.
  await step([chain.tx(dave, 'transfer', { to: carol.address, amount: OPEN })]);
  await step([]);
  return out;
}

describe('golden scenario', () => {
  let chain: TestChain;
  afterAll(async () => chain?.close());

  it('genesis → 20 blocks touching every tx type gives the pinned state root', async () => {
    chain = await TestChain.onDisk(
      genesisJson({
        validators: 2,
        params: {
          downtimeWindow: '4',
          downtimeMissedMax: '2',
          downtimeJailBlocks: '2',
          govVotingBlocks: '2',
          unbondingBlocks: '3',
          challengeWindowBlocks: '4',
          providerUnbondingBlocks: '5',
        },
      }),
    );
    const results = await runGolden(chain);
    expect(results).toHaveLength(20);
    const okTypes = new Set<TxType>();
    for (const r of results) for (const t of r.txResults) if (t.code === 'ok') okTypes.add(t.type);
    // Every native type (core/tx.test.ts pins that list) succeeds at least once.
    expect([...okTypes].sort()).toEqual([...TX_TYPES].sort());
    const events = new Set(results.flatMap((r) => r.events.map((e) => e.type)));
    for (const t of [
      'validator.slashed',
      'validator.jailed',
      'unbonded',
      'payout',
      'model.activated',
      'params.changed',
      'contribution.accepted',
      'inference.held',
      'inference.released',
      'inference.challenged',
      'provider.slashed',
      'provider.unbonded',
    ]) {
      expect(events.has(t as never)).toBe(true);
    }
    const root = Buffer.from(results[19].stateRoot).toString('hex');
    expect(root).toBe(GOLDEN_ROOT);
  });
});
