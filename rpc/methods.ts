import type { ChainApi, SubscriptionKind } from './chainApi.js';
import { RPC_ERRORS, RpcError } from './errors.js';
import { RESULT_SCHEMAS } from './results.js';
import { address, bool, doc, hash32, hex, int, oneOf, type S, str, toJson } from './schema.js';
import type { MethodDef } from './server.js';

/**
 * The `ol_` methods. Parameter schemas validate requests and generate the OpenRPC document;
 * result schemas document what comes back (bytes as 0x hex, amounts as decimal strings).
 */

export const TX_HEX_BYTES_MAX = 3 * 1024 * 1024;
export const COMMIT_WAIT_MS_DEFAULT = 30_000;
export const COMMIT_WAIT_MS_MAX = 120_000;
export const EVENTS_RANGE_MAX = 1_000;
export const ATTRIBUTE_TEXT_CHARS_MAX = 16 * 1024;

type P = [name: string, schema: S<unknown>, required: boolean, description?: string];

const HEIGHT = int(0, Number.MAX_SAFE_INTEGER, 'block height');
const LIMIT = int(1, 100, 'page size (default 20)');
const CURSOR = str({ maxLength: 200, description: 'cursor from the previous page' });
const TX = hex(undefined, TX_HEX_BYTES_MAX, 'signed transaction, canonical encoding, 0x hex');

/** Result schemas (documentation, checked against live answers by the tests). */
const R = Object.fromEntries(Object.entries(RESULT_SCHEMAS).map(([k, json]) => [k, doc(json)])) as {
  [K in keyof typeof RESULT_SCHEMAS]: S<unknown>;
};

function def(
  name: string,
  tag: string,
  summary: string,
  params: P[],
  result: S<unknown>,
  handler: (p: Record<string, any>) => unknown,
  wsOnly = false,
): MethodDef {
  return {
    name,
    summary,
    tags: [tag],
    params: params.map(([n, schema, required, description]) => ({
      name: n,
      schema,
      required,
      ...(description ? { description } : {}),
    })),
    result: { name: 'result', schema: result },
    handler: (p) => handler(p),
    wsOnly,
  };
}

const notFound = (what: string) => new RpcError(RPC_ERRORS.NOT_FOUND, `${what} not found`);
const must = <T>(v: T | null, what: string): T => {
  if (v === null || v === undefined) throw notFound(what);
  return v;
};
const page = (p: Record<string, any>) => ({
  cursor: p.cursor as string | undefined,
  limit: (p.limit as number | undefined) ?? 20,
});

export const SUBSCRIPTION_KINDS = ['newHeads', 'events', 'tx', 'job'] as const;

export function chainMethods(api: ChainApi): MethodDef[] {
  return [
    // ---- chain
    def(
      'ol_status',
      'chain',
      'Chain id, height, latest hash, sync state, peers, and whether this node validates.',
      [],
      R.status,
      () => api.status(),
    ),
    def(
      'ol_getBlockByHeight',
      'chain',
      'A committed block by height; `full` includes decoded transactions.',
      [
        ['height', HEIGHT, true],
        ['full', bool, false],
      ],
      R.block,
      (p) => must(api.block({ height: p.height }, p.full ?? false), 'block'),
    ),
    def(
      'ol_getBlockByHash',
      'chain',
      'A committed block by hash; `full` includes decoded transactions.',
      [
        ['hash', hash32, true],
        ['full', bool, false],
      ],
      R.block,
      (p) => must(api.block({ hash: p.hash }, p.full ?? false), 'block'),
    ),
    def(
      'ol_getTransaction',
      'chain',
      'A transaction by hash with its result (code, gas, fee) and events, or its pending status.',
      [['hash', hash32, true]],
      R.transaction,
      (p) => must(api.transaction(p.hash), 'transaction'),
    ),
    def(
      'ol_getAccount',
      'chain',
      'Balance, nonce, stake, delegations and pending rewards of an address.',
      [['address', address, true]],
      R.account,
      (p) => api.account(p.address),
    ),
    def(
      'ol_getValidators',
      'chain',
      'The validator set that signs `height` (default: the next height), with powers and priorities.',
      [['height', HEIGHT, false]],
      R.validators,
      (p) => must(api.validators(p.height), 'validator set'),
    ),
    def(
      'ol_getStateProof',
      'chain',
      'A Merkle proof of a raw state key at a height (default latest), with the root and the header that commits to it.',
      [
        ['key', hex(undefined, 1024, 'raw state key, 0x hex'), true],
        ['height', HEIGHT, false],
      ],
      R.stateProof,
      (p) => must(api.stateProof(p.key, p.height), 'state at that height'),
    ),
    // ---- transactions
    def(
      'ol_sendTransaction',
      'transactions',
      'Submits a signed transaction. mode "sync" (default) returns after admission; "commit" waits until it is in a committed block (or timeoutMs).',
      [
        ['tx', TX, true],
        ['mode', oneOf(['sync', 'commit'] as const), false],
        ['timeoutMs', int(1, COMMIT_WAIT_MS_MAX), false],
      ],
      R.submitted,
      (p) => api.submitTransaction(p.tx, p.mode ?? 'sync', p.timeoutMs ?? COMMIT_WAIT_MS_DEFAULT),
    ),
    def(
      'ol_simulateTransaction',
      'transactions',
      'Dry-runs a signed transaction on the latest state: result code, events and gas used. Nothing is kept.',
      [['tx', TX, true]],
      R.simulated,
      (p) => api.simulateTransaction(p.tx),
    ),
    def(
      'ol_estimateGas',
      'transactions',
      'Gas a signed transaction would use on the latest state (a dry run).',
      [['tx', TX, true]],
      R.gas,
      async (p) => {
        const r = (await api.simulateTransaction(p.tx)) as { gasUsed: number; code: string };
        return { gasUsed: r.gasUsed, code: r.code };
      },
    ),
    // ---- datanets
    def('ol_getDatanet', 'datanets', 'A datanet by id.', [['id', hash32, true]], R.datanet, (p) =>
      must(api.datanet(p.id), 'datanet'),
    ),
    def(
      'ol_listDatanets',
      'datanets',
      'Datanets, newest first, optionally by owner or tag.',
      [
        ['owner', address, false],
        ['tag', str({ maxLength: 32 }), false],
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.datanets,
      (p) => api.datanets({ owner: p.owner, tag: p.tag }, page(p)),
    ),
    def(
      'ol_listContributions',
      'datanets',
      'Contributions, newest first, by datanet, contributor and/or status.',
      [
        ['datanet', hash32, false],
        ['contributor', address, false],
        ['status', str({ maxLength: 32 }), false],
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.contributions,
      (p) => api.contributions({ datanet: p.datanet, contributor: p.contributor, status: p.status }, page(p)),
    ),
    def(
      'ol_getContribution',
      'datanets',
      'A contribution by id; `content` includes its text.',
      [
        ['id', hash32, true],
        ['content', bool, false],
      ],
      R.contribution,
      (p) => must(api.contribution(p.id, p.content ?? false), 'contribution'),
    ),
    // ---- models
    def(
      'ol_getModel',
      'models',
      'A model by id with its latest version.',
      [['id', hash32, true]],
      R.model,
      (p) => must(api.model(p.id), 'model'),
    ),
    def(
      'ol_listModels',
      'models',
      'Models, newest first, optionally by owner.',
      [
        ['owner', address, false],
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.models,
      (p) => api.models({ owner: p.owner }, page(p)),
    ),
    def(
      'ol_getModelVersion',
      'models',
      'One version of a model: pinned datanets, method, parameters, prices, status.',
      [
        ['id', hash32, true],
        ['version', int(1, Number.MAX_SAFE_INTEGER), true],
      ],
      R.modelVersion,
      (p) => must(api.modelVersion(p.id, p.version), 'model version'),
    ),
    // ---- inference and attribution
    def(
      'ol_getReceipt',
      'attribution',
      'An inference receipt by id.',
      [['id', hash32, true]],
      R.receipt,
      (p) => must(api.receipt(p.id), 'receipt'),
    ),
    def(
      'ol_getProvider',
      'attribution',
      'An inference provider: its signing key, bond, unbonding part and proven frauds.',
      [['address', address, true]],
      R.provider,
      (p) => must(api.provider(p.address), 'provider'),
    ),
    def(
      'ol_getAttribution',
      'attribution',
      'The attribution record of a settled receipt: scores, evidence spans, fee, refund and payouts.',
      [['receipt', hash32, true]],
      R.attribution,
      (p) => must(api.attribution(p.receipt), 'attribution record'),
    ),
    def(
      'ol_getEarnings',
      'attribution',
      'What an address earned from payouts: totals (per model, per datanet, per role) and paginated history.',
      [
        ['address', address, true],
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.earnings,
      (p) => api.earnings(p.address, page(p)),
    ),
    def(
      'ol_getJob',
      'attribution',
      'A deferred job (attribution, training, near-duplicate check) and its status.',
      [['id', int(1, Number.MAX_SAFE_INTEGER), true]],
      R.job,
      (p) => must(api.job(p.id), 'job'),
    ),
    def(
      'ol_attribute',
      'attribution',
      "Dry-run attribution of arbitrary text against a model's pinned data: who would be paid, with evidence.",
      [
        ['model', hash32, true],
        ['text', str({ maxLength: ATTRIBUTE_TEXT_CHARS_MAX }), true],
      ],
      R.attribute,
      (p) => api.attribute(p.model, p.text),
    ),
    // ---- governance
    def(
      'ol_getProposal',
      'governance',
      'A governance proposal with its tally.',
      [['id', int(1, Number.MAX_SAFE_INTEGER), true]],
      R.proposal,
      (p) => must(api.proposal(p.id), 'proposal'),
    ),
    def(
      'ol_listProposals',
      'governance',
      'Governance proposals, newest first.',
      [
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.proposals,
      (p) => api.proposals(page(p)),
    ),
    def('ol_getParams', 'governance', 'Current chain parameters (decimal strings).', [], R.params, () =>
      api.params(),
    ),
    // ---- explorer queries (indexed, paginated)
    def(
      'ol_listBlocks',
      'chain',
      'Block summaries (height, hash, time, proposer, tx count, last-commit signers), newest first; the cursor is a height.',
      [
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.blocks,
      (p) => api.blocks(page(p)),
    ),
    def(
      'ol_listReceipts',
      'attribution',
      'Inference receipts newest first, optionally of one model, with the fee once settled.',
      [
        ['model', hash32, false],
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.receipts,
      (p) => api.receipts({ model: p.model }, page(p)),
    ),
    def(
      'ol_listAddressEvents',
      'events',
      'Events that name an address (transfers, stake, contributions, receipts, payouts…), newest first, each with its transaction hash.',
      [
        ['address', address, true],
        ['cursor', CURSOR, false],
        ['limit', LIMIT, false],
      ],
      R.addressEvents,
      (p) => api.addressEvents(p.address, page(p)),
    ),
    def(
      'ol_getEvidenceText',
      'attribution',
      "A settled receipt's evidence spans as UTF-16 character ranges of its output (start..end) and of the cited contribution (contributionStart..contributionEnd, with that text), for highlighting; null ranges where a span does not fit.",
      [['receipt', hash32, true]],
      R.evidenceText,
      async (p) => must(await api.evidenceText(p.receipt), 'attribution record'),
    ),
    // ---- events
    def(
      'ol_getEvents',
      'events',
      `Events in a height range (at most ${EVENTS_RANGE_MAX} blocks), optionally by type and address.`,
      [
        ['fromHeight', HEIGHT, true],
        ['toHeight', HEIGHT, true],
        ['type', str({ maxLength: 64 }), false],
        ['address', address, false],
      ],
      R.events,
      (p) => {
        if (p.toHeight < p.fromHeight)
          throw new RpcError(RPC_ERRORS.INVALID_PARAMS, 'toHeight is below fromHeight');
        if (p.toHeight - p.fromHeight >= EVENTS_RANGE_MAX) {
          throw new RpcError(RPC_ERRORS.LIMIT_EXCEEDED, `at most ${EVENTS_RANGE_MAX} blocks per call`);
        }
        return api.events({
          fromHeight: p.fromHeight,
          toHeight: p.toHeight,
          type: p.type,
          address: p.address,
        });
      },
    ),
  ];
}

/**
 * Subscriptions over WebSocket: `ol_subscribe(kind, filter)` returns an id; notifications arrive as
 * `{"jsonrpc":"2.0","method":"ol_subscription","params":{"subscription":id,"result":…}}`.
 */
export function subscriptionMethods(api: ChainApi, subscriptionsMax: number): MethodDef[] {
  let nextId = 1;
  return [
    def(
      'ol_subscribe',
      'subscriptions',
      'Subscribes (WebSocket only): newHeads; events {type?, address?}; tx {hash}; job {job}. Returns the subscription id.',
      [
        ['kind', oneOf(SUBSCRIPTION_KINDS), true],
        [
          'filter',
          doc({
            type: 'object',
            properties: {
              type: { type: 'string' },
              address: { type: 'string' },
              hash: { type: 'string' },
              job: { type: 'integer' },
            },
          }),
          false,
        ],
      ],
      doc({ type: 'string', description: 'subscription id' }),
      () => {
        throw new RpcError(RPC_ERRORS.INTERNAL_ERROR, 'bound per connection');
      },
      true,
    ),
    def(
      'ol_unsubscribe',
      'subscriptions',
      'Cancels a subscription (WebSocket only).',
      [['subscription', str({ maxLength: 64 }), true]],
      doc({ type: 'boolean' }),
      () => false,
      true,
    ),
  ].map((m) => {
    if (m.name === 'ol_subscribe') {
      m.handler = (p, ctx) => {
        const ws = ctx.ws!;
        if (ws.subscriptions.size >= subscriptionsMax) {
          throw new RpcError(
            RPC_ERRORS.LIMIT_EXCEEDED,
            `at most ${subscriptionsMax} subscriptions per connection`,
          );
        }
        const filter = parseFilter(p.kind as SubscriptionKind, (p.filter ?? {}) as Record<string, unknown>);
        const id = `0x${(nextId++).toString(16)}`;
        const off = api.subscribe(p.kind as SubscriptionKind, filter, (result) => {
          ws.send({
            jsonrpc: '2.0',
            method: 'ol_subscription',
            params: { subscription: id, result: toJson(result) },
          });
        });
        ws.subscriptions.set(id, off);
        return id;
      };
    } else {
      m.handler = (p, ctx) => {
        const off = ctx.ws!.subscriptions.get(p.subscription as string);
        if (!off) return false;
        off();
        ctx.ws!.subscriptions.delete(p.subscription as string);
        return true;
      };
    }
    return m;
  });
}

function parseFilter(kind: SubscriptionKind, f: Record<string, unknown>): Record<string, unknown> {
  const known: Record<SubscriptionKind, string[]> = {
    newHeads: [],
    events: ['type', 'address'],
    tx: ['hash'],
    job: ['job'],
  };
  for (const k of Object.keys(f)) {
    if (!known[kind].includes(k))
      throw new RpcError(RPC_ERRORS.INVALID_PARAMS, `filter.${k} is not a filter of ${kind}`);
  }
  const out: Record<string, unknown> = {};
  if (f.type !== undefined) out.type = str({ maxLength: 64 }).parse(f.type, 'filter.type');
  if (f.address !== undefined) out.address = address.parse(f.address, 'filter.address');
  if (kind === 'tx') out.hash = hash32.parse(f.hash, 'filter.hash');
  if (kind === 'job') out.job = int(1, Number.MAX_SAFE_INTEGER).parse(f.job, 'filter.job');
  return out;
}
