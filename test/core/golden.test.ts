import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addressOf } from '../../core/address.js';
import {
  type Block,
  blockHash,
  type Commit,
  commitHash,
  decodeBlock,
  decodeCommit,
  decodeEvidence,
  decodeHeader,
  decodeProposal,
  decodeVote,
  type Evidence,
  encodeBlock,
  encodeCommit,
  encodeEvidence,
  encodeHeader,
  encodeProposal,
  encodeVote,
  evidenceHash,
  type Header,
  headerHash,
  proposalSigningBytes,
  signProposal,
  signVote,
  txsHash,
  VOTE_PRECOMMIT,
  VOTE_PREVOTE,
  voteSigningBytes,
} from '../../core/block.js';
import { fromHex, toHex } from '../../core/bytes.js';
import {
  decodeDelivery,
  deliveryFor,
  encodeDelivery,
  signAck,
  signDelivery,
  verifyAck,
  verifyDelivery,
} from '../../core/delivery.js';
import { publicKeyOf, verifySignature } from '../../core/keys.js';
import { merkleRoot } from '../../core/merkle.js';
import {
  decodeInferenceRequest,
  decodeJobResult,
  decodeTx,
  encodeInferenceRequest,
  encodeJobResult,
  encodeTx,
  type JobResult,
  requestSigningBytes,
  signRequest,
  signTx,
  TX_TYPES,
  type TxBodies,
  type TxType,
  txHash,
  txSigningBytes,
  type UnsignedTx,
} from '../../core/tx.js';

/**
 * Golden vectors: fixed keys and fixed values → the exact bytes of every encoding, hash and
 * signature, committed in golden.json. Any change to the wire format, a domain tag, a field order
 * or the hashing fails here. If the change is deliberate, regenerate and review the diff:
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/core/golden.test.ts
 */

const GOLDEN_PATH = fileURLToPath(new URL('./golden.json', import.meta.url));
const CHAIN_ID = 'ol-golden-1';

/** Hard-coded Ed25519 seeds (never use these anywhere else). */
const SEEDS = {
  alice: '1111111111111111111111111111111111111111111111111111111111111111',
  bob: '2222222222222222222222222222222222222222222222222222222222222222',
  validator: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
} as const;
const key = (name: keyof typeof SEEDS) => {
  const secretKey = fromHex(SEEDS[name]);
  return { secretKey, publicKey: publicKeyOf(secretKey) };
};
const alice = key('alice');
const bob = key('bob');
const validator = key('validator');

const fill = (length: number, byte: number) => new Uint8Array(length).fill(byte);
const h = (byte: number) => fill(32, byte);
const OPEN = 10n ** 18n;

const jobResult: JobResult = {
  job: 7,
  ok: true,
  error: '',
  scores: [
    { contribution: h(0xc1), score: 700 },
    { contribution: h(0xc2), score: -3 },
  ],
  evidence: [{ outputStart: 0, outputEnd: 12, contribution: h(0xc1), offset: 40 }],
  tokens: 12,
  weightsHash: null,
  duplicateOf: null,
};

const request = signRequest(
  {
    chainId: CHAIN_ID,
    requester: bob.publicKey,
    model: h(0x3a),
    modelVersion: 2,
    promptHash: h(0x9b),
    maxFee: 5n * OPEN,
    nonce: 1,
    expiryHeight: 1_000,
  },
  bob.secretKey,
);

/** A delivery of another output for the same request: what a fraud proof carries. */
const fraudDelivery = deliveryFor(request, 'The liver makes insulin.', 6);

const BODIES: TxBodies = {
  transfer: { to: addressOf(bob.publicKey), amount: 1_500_000_000_000_000_000n },
  'validator.create': {
    consensusKey: validator.publicKey,
    commissionBps: 500,
    selfStake: 10_000n * OPEN,
    moniker: 'validator-0',
  },
  'stake.delegate': { validator: addressOf(validator.publicKey), amount: 100n * OPEN },
  'stake.undelegate': { validator: addressOf(validator.publicKey), amount: 40n * OPEN },
  'stake.withdrawRewards': { validator: addressOf(validator.publicKey) },
  'validator.unjail': {},
  'datanet.create': {
    name: 'Medical QA',
    description: 'Question–answer pairs from open medical textbooks.',
    license: 'CC-BY-4.0',
    tags: ['medical', 'qa'],
    curation: 'curators',
    curators: [addressOf(bob.publicKey)],
    bond: OPEN,
    rejectForfeitBps: 5_000,
    contributionBytesMax: 8_192,
    labels: [],
  },
  'datanet.contribute': {
    datanet: h(0xd1),
    content: 'Q: What does the liver do? A: It filters blood and makes bile. Ünïcödé ✓ 𝄞',
    label: '',
  },
  'datanet.review': { contribution: h(0xc1), accept: false, reason: 'duplicate of an earlier entry' },
  'model.register': {
    name: 'med-lora',
    datanets: [{ datanet: h(0xd1), version: 3 }],
    method: 'span',
    params: [
      { key: 'minSpan', value: '6' },
      { key: 'tokenizer', value: 'cl100k_base@1' },
    ],
    pricePerRequest: OPEN / 100n,
    pricePerOutputToken: 1_000_000_000n,
    ownerShareBps: 3_000,
    providers: [addressOf(alice.publicKey)],
    artifact: { baseModel: 'llama-3.1-8b', adapterHash: h(0xad) },
    training: null,
  },
  'model.update': {
    model: h(0x3a),
    datanets: [{ datanet: h(0xd2), version: 1 }],
    method: 'influence',
    params: [],
    pricePerRequest: 0n,
    pricePerOutputToken: 0n,
    ownerShareBps: 0,
    providers: [],
    artifact: null,
    training: [
      { key: 'epochs', value: '3' },
      { key: 'features', value: '4096' },
    ],
  },
  'inference.receipt': {
    request,
    input: '',
    output: 'The liver filters blood and makes bile.',
    retrieved: [{ contribution: h(0xc1), weight: 1_000 }],
    inputTokens: 9,
    outputTokens: 12,
    deliverySignature: signDelivery(
      deliveryFor(request, 'The liver filters blood and makes bile.', 12),
      alice.secretKey,
    ),
    ack: signAck(deliveryFor(request, 'The liver filters blood and makes bile.', 12), bob.secretKey),
  },
  'attribution.settle': { results: [jobResult] },
  'gov.propose': {
    title: 'Raise the block gas limit',
    description: 'Blocks are full at peak hours.',
    changes: [{ key: 'block.gasMax', value: '60000000' }],
    deposit: 1_000n * OPEN,
  },
  'gov.vote': { proposal: 4, option: 'yes' },
  'provider.bond': { amount: 25n * OPEN },
  'provider.unbond': { amount: 5n * OPEN },
  'inference.challenge': {
    receipt: h(0x7c),
    delivery: fraudDelivery,
    signature: signDelivery(fraudDelivery, alice.secretKey),
  },
};

const unsignedTx = (type: TxType, nonce: number): UnsignedTx =>
  ({
    version: 1,
    chainId: CHAIN_ID,
    type,
    sender: alice.publicKey,
    nonce,
    gasLimit: 200_000,
    gasPrice: 1_000_000_000n,
    body: BODIES[type],
  }) as UnsignedTx;

const txs = TX_TYPES.map((type, i) => {
  const unsigned = unsignedTx(type, i);
  return { type, unsigned, tx: signTx(unsigned, alice.secretKey) };
});

const vote = signVote(
  CHAIN_ID,
  {
    kind: VOTE_PRECOMMIT,
    height: 41,
    round: 0,
    blockHash: h(0xb0),
    validator: addressOf(validator.publicKey),
  },
  validator.secretKey,
);
const conflicting = signVote(
  CHAIN_ID,
  { kind: VOTE_PREVOTE, height: 42, round: 1, blockHash: null, validator: addressOf(validator.publicKey) },
  validator.secretKey,
);
const conflictingB = signVote(CHAIN_ID, { ...conflicting, blockHash: h(0xbb) }, validator.secretKey);
const evidence: Evidence = { kind: 'duplicateVote', voteA: conflicting, voteB: conflictingB };
const commit: Commit = {
  height: 41,
  round: 0,
  blockHash: h(0xb0),
  signatures: [{ validator: vote.validator, signature: vote.signature }],
};
const proposal = signProposal(
  CHAIN_ID,
  { height: 42, round: 1, polRound: 0, blockHash: h(0xb1), proposer: addressOf(validator.publicKey) },
  validator.secretKey,
);
/** The same proposer, the same (height, round), another block: duplicate-proposal evidence. */
const proposalEvidence: Evidence = {
  kind: 'duplicateProposal',
  proposalA: proposal,
  proposalB: signProposal(CHAIN_ID, { ...proposal, blockHash: h(0xb2) }, validator.secretKey),
};

const blockTxs = txs.slice(0, 3).map((t) => encodeTx(t.tx));
const header: Header = {
  version: 1,
  chainId: CHAIN_ID,
  height: 42,
  timeMs: 1_767_225_600_000,
  parentHash: h(0xb0),
  lastCommitHash: commitHash(commit),
  txsHash: txsHash(blockTxs),
  evidenceHash: evidenceHash([evidence]),
  stateRoot: h(0x5e),
  resultsHash: h(0x2e),
  validatorsHash: h(0x7a),
  nextValidatorsHash: h(0x7b),
  proposer: addressOf(validator.publicKey),
};
const block: Block = { header, txs: blockTxs, lastCommit: commit, evidence: [evidence] };

/** Everything the fixture pins, as hex. */
function vectors(): Record<string, unknown> {
  const keys = Object.fromEntries(
    (Object.keys(SEEDS) as (keyof typeof SEEDS)[]).map((name) => {
      const k = key(name);
      return [
        name,
        { seed: SEEDS[name], publicKey: toHex(k.publicKey), address: toHex(addressOf(k.publicKey)) },
      ];
    }),
  );
  const txVectors = Object.fromEntries(
    txs.map(({ type, unsigned, tx }) => {
      const bytes = encodeTx(tx);
      return [
        type,
        {
          signingBytes: toHex(txSigningBytes(unsigned)),
          signature: toHex(tx.signature),
          encoding: toHex(bytes),
          hash: toHex(txHash(bytes)),
        },
      ];
    }),
  );
  const leaves = [0, 1, 2, 3, 4, 5, 7, 8].map((n) => Array.from({ length: n }, (_, i) => Uint8Array.of(i)));
  return {
    chainId: CHAIN_ID,
    keys,
    txs: txVectors,
    inferenceRequest: {
      signingBytes: toHex(requestSigningBytes(request)),
      signature: toHex(request.signature),
      encoding: toHex(encodeInferenceRequest(request)),
    },
    jobResult: { encoding: toHex(encodeJobResult(jobResult)) },
    delivery: {
      encoding: toHex(encodeDelivery(fraudDelivery)),
      signature: toHex(signDelivery(fraudDelivery, alice.secretKey)),
      ack: toHex(signAck(fraudDelivery, bob.secretKey)),
    },
    vote: {
      signingBytes: toHex(voteSigningBytes(CHAIN_ID, vote)),
      signature: toHex(vote.signature),
      encoding: toHex(encodeVote(vote)),
    },
    proposal: {
      signingBytes: toHex(proposalSigningBytes(CHAIN_ID, proposal)),
      signature: toHex(proposal.signature),
      encoding: toHex(encodeProposal(proposal)),
    },
    commit: { encoding: toHex(encodeCommit(commit)), hash: toHex(commitHash(commit)) },
    emptyCommitHash: toHex(commitHash(null)),
    evidence: { encoding: toHex(encodeEvidence(evidence)), listHash: toHex(evidenceHash([evidence])) },
    proposalEvidence: {
      encoding: toHex(encodeEvidence(proposalEvidence)),
      listHash: toHex(evidenceHash([evidence, proposalEvidence])),
    },
    header: { encoding: toHex(encodeHeader(header)), hash: toHex(headerHash(header)) },
    block: {
      encoding: toHex(encodeBlock(block)),
      hash: toHex(blockHash(block)),
      txsHash: toHex(header.txsHash),
    },
    merkleRoots: Object.fromEntries(leaves.map((l) => [`leaves${l.length}`, toHex(merkleRoot(l))])),
  };
}

describe('golden vectors', () => {
  const actual = vectors();

  if (process.env.UPDATE_GOLDEN === '1') {
    it('regenerates golden.json (UPDATE_GOLDEN=1)', () => {
      writeFileSync(GOLDEN_PATH, `${JSON.stringify(actual, null, 2)}\n`);
    });
    return;
  }

  const golden = JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as ReturnType<typeof vectors> & {
    txs: Record<string, { encoding: string }>;
  };

  it('covers every transaction type', () => {
    expect(Object.keys(golden.txs).sort()).toEqual([...TX_TYPES].sort());
  });

  it.each(Object.keys(actual))('%s matches the committed bytes', (name) => {
    expect(actual[name]).toEqual((golden as Record<string, unknown>)[name]);
  });

  it('the committed encodings decode to the fixed values', () => {
    for (const { type, tx } of txs) expect(decodeTx(fromHex(golden.txs[type].encoding))).toEqual(tx);
    const g = golden as unknown as Record<string, { encoding: string }>;
    expect(decodeHeader(fromHex(g.header.encoding))).toEqual(header);
    expect(decodeBlock(fromHex(g.block.encoding))).toEqual(block);
    expect(decodeVote(fromHex(g.vote.encoding))).toEqual(vote);
    expect(decodeProposal(fromHex(g.proposal.encoding))).toEqual(proposal);
    expect(decodeCommit(fromHex(g.commit.encoding))).toEqual(commit);
    expect(decodeEvidence(fromHex(g.evidence.encoding))).toEqual(evidence);
    expect(decodeEvidence(fromHex(g.proposalEvidence.encoding))).toEqual(proposalEvidence);
    expect(decodeInferenceRequest(fromHex(g.inferenceRequest.encoding))).toEqual(request);
    expect(decodeJobResult(fromHex(g.jobResult.encoding))).toEqual(jobResult);
    expect(decodeDelivery(fromHex(g.delivery.encoding))).toEqual(fraudDelivery);
  });

  it('the committed signatures verify under the fixed keys, and only over their own bytes', () => {
    for (const { type } of txs) {
      const v = golden.txs[type] as unknown as { signingBytes: string; signature: string };
      expect(verifySignature(alice.publicKey, fromHex(v.signingBytes), fromHex(v.signature))).toBe(true);
      expect(verifySignature(bob.publicKey, fromHex(v.signingBytes), fromHex(v.signature))).toBe(false);
    }
    const g = golden as unknown as Record<string, { signingBytes: string; signature: string }>;
    expect(
      verifySignature(validator.publicKey, fromHex(g.vote.signingBytes), fromHex(g.vote.signature)),
    ).toBe(true);
    expect(
      verifySignature(validator.publicKey, fromHex(g.proposal.signingBytes), fromHex(g.proposal.signature)),
    ).toBe(true);
    expect(
      verifySignature(
        bob.publicKey,
        fromHex(g.inferenceRequest.signingBytes),
        fromHex(g.inferenceRequest.signature),
      ),
    ).toBe(true);
    const d = (golden as unknown as Record<string, { signature: string; ack: string }>).delivery;
    expect(verifyDelivery(fraudDelivery, alice.publicKey, fromHex(d.signature))).toBe(true);
    expect(verifyAck(fraudDelivery, bob.publicKey, fromHex(d.ack))).toBe(true);
    // A delivery signature is not an acknowledgment (domain tags differ).
    expect(verifyAck(fraudDelivery, alice.publicKey, fromHex(d.signature))).toBe(false);
    // A vote signature is not a proposal signature (domain tags differ).
    expect(
      verifySignature(validator.publicKey, fromHex(g.proposal.signingBytes), fromHex(g.vote.signature)),
    ).toBe(false);
  });

  it('signing bytes start with the domain tag and then the chain id', () => {
    const g = golden as unknown as Record<string, { signingBytes: string }>;
    const tagged = (tag: string) =>
      toHex(
        Buffer.concat([
          Buffer.of(0xa0 | tag.length),
          Buffer.from(tag),
          Buffer.of(0xa0 | CHAIN_ID.length),
          Buffer.from(CHAIN_ID),
        ]),
      );
    expect(g.vote.signingBytes.slice(2)).toMatch(new RegExp(`^${tagged('ol/vote/1')}`));
    expect(g.proposal.signingBytes.slice(2)).toMatch(new RegExp(`^${tagged('ol/proposal/1')}`));
    expect(g.inferenceRequest.signingBytes.slice(2)).toMatch(new RegExp(`^${tagged('ol/request/1')}`));
    const t = golden.txs.transfer as unknown as { signingBytes: string };
    expect(t.signingBytes.slice(2)).toMatch(new RegExp(`^${tagged('ol/tx/1')}`));
  });
});
