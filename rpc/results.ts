import type { JsonSchema } from './schema.js';

/**
 * Result shapes: the JSON Schemas that go into the OpenRPC document (methods.ts). The schemas are
 * checked against live answers of a real node in test/rpc/methods.test.ts, so the document cannot
 * drift from what the server sends; the client's TypeScript result types (rpc/resultTypes.ts) are
 * generated from them by rpc/tools/genResultTypes.ts, and test/rpc/resultTypes.test.ts fails when
 * the committed file is not what the generator prints.
 */

const HEX: JsonSchema = { type: 'string', pattern: '^0x([0-9a-f]{2})*$' };
const ADDRESS: JsonSchema = { type: 'string', pattern: '^0x[0-9a-f]{40}$', description: 'address' };
const HASH: JsonSchema = { type: 'string', pattern: '^0x[0-9a-f]{64}$' };
const UNITS: JsonSchema = {
  type: 'string',
  pattern: '^(0|[1-9][0-9]*)$',
  description: 'base units (10^-18 OPEN)',
};
const INT: JsonSchema = { type: 'integer' };
const STR: JsonSchema = { type: 'string' };
const BOOL: JsonSchema = { type: 'boolean' };
const OBJECT: JsonSchema = { type: 'object' };
const orNull = (s: JsonSchema): JsonSchema => ({ oneOf: [s, { type: 'null' }] });
const arr = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
/** An object whose listed properties are all required (others may appear). */
const obj = (description: string, properties: Record<string, JsonSchema>, optional: string[] = []) => ({
  type: 'object',
  description,
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});

const HEADER = obj('block header', {
  version: INT,
  chainId: STR,
  height: INT,
  timeMs: INT,
  parentHash: HEX,
  lastCommitHash: HEX,
  txsHash: HEX,
  evidenceHash: HEX,
  stateRoot: HASH,
  resultsHash: HEX,
  validatorsHash: HEX,
  nextValidatorsHash: HEX,
  proposer: ADDRESS,
});
const EVENT = obj('event', { type: STR, height: INT, txIndex: INT, addresses: arr(ADDRESS), attrs: OBJECT }, [
  'height',
]);
const TX = obj('decoded transaction', {
  hash: HASH,
  type: STR,
  chainId: STR,
  sender: ADDRESS,
  senderPublicKey: HEX,
  nonce: INT,
  gasLimit: INT,
  gasPrice: UNITS,
  body: OBJECT,
});
const TX_RESULT = obj('execution result', {
  code: STR,
  message: STR,
  charged: BOOL,
  gasUsed: INT,
  fee: UNITS,
});
const COMMITTED_TX = obj('committed transaction', {
  status: { const: 'committed' },
  height: INT,
  index: INT,
  blockHash: HASH,
  tx: TX,
  result: TX_RESULT,
  events: arr(EVENT),
});
const PENDING_TX = obj('pending transaction', { status: { const: 'pending' }, tx: TX });
const PARAM = obj('parameter', { key: STR, value: STR });
const SCORE = obj('attribution score', { contribution: HASH, score: INT });
const EVIDENCE = obj('evidence span', { outputStart: INT, outputEnd: INT, contribution: HASH, offset: INT });
const page = (description: string, item: JsonSchema) =>
  obj(description, { items: arr(item), next: orNull(STR) });

const DATANET = obj('datanet', {
  id: HASH,
  owner: ADDRESS,
  name: STR,
  description: STR,
  license: STR,
  tags: arr(STR),
  curation: { type: 'string', enum: ['open', 'owner', 'curators'] },
  curators: arr(ADDRESS),
  bond: UNITS,
  rejectForfeitBps: INT,
  contributionBytesMax: INT,
  labels: arr(STR),
  version: INT,
  submitted: INT,
  createdHeight: INT,
});
const CONTRIBUTION = obj(
  'contribution',
  {
    id: HASH,
    datanet: HASH,
    contributor: ADDRESS,
    contentHash: HASH,
    label: STR,
    sizeBytes: INT,
    bond: UNITS,
    status: STR,
    seq: INT,
    submittedHeight: INT,
    decidedHeight: INT,
    job: INT,
    duplicateOf: orNull(HASH),
    coveredBps: INT,
    note: STR,
    content: STR,
  },
  ['content'],
);
const MODEL_VERSION = obj('model version', {
  model: HASH,
  version: INT,
  datanets: arr(obj('pinned datanet', { datanet: HASH, version: INT })),
  method: { type: 'string', enum: ['span', 'retrieval', 'influence'] },
  params: arr(PARAM),
  pricePerRequest: UNITS,
  pricePerOutputToken: UNITS,
  ownerShareBps: INT,
  providers: arr(ADDRESS),
  artifact: orNull(obj('artifact', { baseModel: STR, adapterHash: HASH })),
  training: orNull(arr(PARAM)),
  status: STR,
  weightsHash: orNull(HASH),
  job: orNull(INT),
  createdHeight: INT,
});
const MODEL = obj('model', {
  id: HASH,
  owner: ADDRESS,
  name: STR,
  latestVersion: INT,
  createdHeight: INT,
  latest: orNull(MODEL_VERSION),
});
const PROPOSAL = obj('governance proposal', {
  id: INT,
  proposer: ADDRESS,
  title: STR,
  description: STR,
  changes: arr(PARAM),
  deposit: UNITS,
  submitHeight: INT,
  votingEndHeight: INT,
  status: STR,
  voters: INT,
  yes: UNITS,
  no: UNITS,
  abstain: UNITS,
});

export const RESULT_SCHEMAS = {
  status: obj('node status', {
    chainId: STR,
    moniker: STR,
    height: INT,
    latestHash: HEX,
    latestTimeMs: INT,
    stateRoot: HEX,
    syncing: BOOL,
    peers: INT,
    peerId: STR,
    validator: orNull(ADDRESS),
    isValidator: BOOL,
    mempool: obj('mempool', { txs: INT, bytes: INT }),
    consensus: OBJECT,
  }),
  block: obj('block', {
    hash: HASH,
    header: HEADER,
    txCount: INT,
    txs: { type: 'array', items: { oneOf: [HASH, TX] }, description: 'hashes, or decoded with full' },
    lastCommit: orNull(OBJECT),
    evidence: arr(OBJECT),
  }),
  transaction: { oneOf: [COMMITTED_TX, PENDING_TX] },
  account: obj('account', {
    address: ADDRESS,
    balance: UNITS,
    nonce: INT,
    staked: UNITS,
    pendingRewards: UNITS,
    delegations: arr(
      obj('delegation', { validator: ADDRESS, shares: UNITS, stake: UNITS, pendingRewards: UNITS }),
    ),
    validator: orNull(OBJECT),
  }),
  validators: obj('validator set', {
    height: INT,
    totalPower: INT,
    hash: HEX,
    downtime: obj('downtime window', { window: INT, missedMax: INT }),
    validators: arr(
      obj('validator', {
        address: ADDRESS,
        publicKey: HEX,
        power: INT,
        proposerPriority: INT,
        moniker: STR,
        operator: orNull(ADDRESS),
        commissionBps: INT,
        tokens: UNITS,
        jailed: BOOL,
        missedBlocks: INT,
      }),
    ),
  }),
  stateProof: obj('state proof', {
    height: INT,
    key: HEX,
    value: orNull(HEX),
    proof: HEX,
    root: HASH,
    header: orNull(HEADER),
  }),
  submitted: {
    description:
      'sync mode: {hash, status: "pending"} after admission; commit mode: the committed transaction',
    oneOf: [obj('admitted', { hash: HASH, status: { const: 'pending' } }), COMMITTED_TX],
  },
  simulated: obj('simulated result', {
    code: STR,
    message: STR,
    charged: BOOL,
    gasUsed: INT,
    fee: UNITS,
    events: arr(EVENT),
  }),
  gas: obj('gas estimate', { gasUsed: INT, code: STR }),
  datanet: DATANET,
  datanets: page('page of datanets', DATANET),
  contribution: CONTRIBUTION,
  contributions: page('page of contributions', CONTRIBUTION),
  model: MODEL,
  models: page('page of models', MODEL),
  modelVersion: MODEL_VERSION,
  receipt: obj('inference receipt', {
    id: HASH,
    requester: ADDRESS,
    requestNonce: INT,
    model: HASH,
    modelVersion: INT,
    promptHash: HASH,
    maxFee: UNITS,
    provider: ADDRESS,
    input: STR,
    output: STR,
    retrieved: arr(obj('retrieved', { contribution: HASH, weight: INT })),
    inputTokens: INT,
    outputTokens: INT,
    escrow: UNITS,
    job: INT,
    height: INT,
    status: STR,
    requestHash: HASH,
    acknowledged: BOOL,
    releaseHeight: INT,
  }),
  provider: obj('inference provider', {
    address: ADDRESS,
    publicKey: HEX,
    bond: UNITS,
    unbonding: UNITS,
    unbondingHeight: INT,
    slashed: UNITS,
    frauds: INT,
    createdHeight: INT,
  }),
  attribution: obj('attribution record', {
    receipt: HASH,
    job: INT,
    ok: BOOL,
    error: STR,
    scores: arr(SCORE),
    evidence: arr(EVIDENCE),
    tokens: INT,
    fee: UNITS,
    refund: UNITS,
    payouts: arr(obj('payout', { address: ADDRESS, amount: UNITS })),
    height: INT,
  }),
  earnings: obj('earnings', {
    address: ADDRESS,
    total: UNITS,
    payouts: INT,
    byModel: { type: 'object', additionalProperties: UNITS },
    byDatanet: { type: 'object', additionalProperties: UNITS },
    byRole: { type: 'object', additionalProperties: UNITS },
    history: arr(
      obj('payout', { height: INT, receipt: HASH, model: orNull(HASH), amount: UNITS, role: STR }),
    ),
    next: orNull(STR),
  }),
  job: obj('job', { id: INT, kind: STR, height: INT, dueHeight: INT, status: STR }),
  attribute: obj('dry-run attribution', {
    model: HASH,
    version: INT,
    method: STR,
    output: STR,
    ok: BOOL,
    error: STR,
    tokens: INT,
    scores: arr(obj('score', { contribution: HASH, score: INT, contributor: orNull(ADDRESS) })),
    evidence: arr(EVIDENCE),
  }),
  proposal: PROPOSAL,
  proposals: page('page of proposals', PROPOSAL),
  params: {
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'parameter → decimal string',
  },
  events: arr(EVENT),
  blocks: page(
    'page of block summaries, newest first',
    obj('block summary', {
      height: INT,
      hash: HASH,
      timeMs: INT,
      proposer: ADDRESS,
      txCount: INT,
      round: orNull(INT),
      signers: {
        ...arr(ADDRESS),
        description: 'validators whose precommits for height − 1 this block carries',
      },
    }),
  ),
  receipts: page(
    'page of receipts, newest first',
    obj('receipt summary', {
      id: HASH,
      model: HASH,
      modelVersion: INT,
      requester: ADDRESS,
      provider: ADDRESS,
      height: INT,
      status: STR,
      outputTokens: INT,
      fee: orNull(UNITS),
      settledHeight: orNull(INT),
    }),
  ),
  addressEvents: page(
    'page of events that name an address, newest first',
    obj('event with its transaction', {
      type: STR,
      height: INT,
      txIndex: INT,
      tx: orNull(HASH),
      addresses: arr(ADDRESS),
      attrs: OBJECT,
    }),
  ),
  evidenceText: obj('evidence spans as text ranges', {
    receipt: HASH,
    model: HASH,
    modelVersion: INT,
    method: STR,
    output: STR,
    spans: arr(
      obj('span', {
        outputStart: INT,
        outputEnd: INT,
        start: orNull(INT),
        end: orNull(INT),
        contribution: HASH,
        contributor: orNull(ADDRESS),
        datanet: orNull(HASH),
        offset: INT,
        contributionStart: orNull(INT),
        contributionEnd: orNull(INT),
        contributionText: orNull(STR),
      }),
    ),
  }),
} satisfies Record<string, JsonSchema>;
