import { describe, expect, it } from 'vitest';
import { runJob } from '../../attribution/jobs.js';
import { type Delivery, deliveryFor, outputHash, signAck, signDelivery } from '../../core/delivery.js';
import { sha256 } from '../../core/hash.js';
import type { InferenceRequest, JobResult } from '../../core/tx.js';
import { RELEASES_PER_HEIGHT_MAX } from '../../state/stores/records.js';
import { Stores } from '../../state/stores/stores.js';
import { datanetId } from '../../vm/datanets.js';
import type { BlockResult } from '../../vm/execute.js';
import { acceptedContributions, dueJobs, jobInputs } from '../../vm/jobs.js';
import { modelId, receiptId } from '../../vm/models.js';
import {
  codeOf,
  datanetBody,
  defaultResolver,
  genesisJson,
  type Key,
  key,
  PROVIDER_BOND,
  signedReceipt,
  TestChain,
} from './harness.js';
import { checkSupply } from './scenario.js';

/**
 * Issue 15, part 1: the paid output is the delivered output. A provider signs every delivery
 * (request hash, output hash, output tokens); a receipt carries that signature and optionally the
 * requester's ack. Unacknowledged receipts wait `challengeWindowBlocks` before their payout is
 * released; a delivery the provider signed that differs from the receipt is a fraud proof.
 *
 * Attack first: on main before this change, `inference.receipt` took any `output` for a signed
 * request, the job attributed it and paid in the next block; a provider colluding with a
 * contributor could post, for every request, an output copying the accomplice's contribution and
 * the requester had no recourse. The collusion test below is that attack; it now ends with the
 * requester refunded, the accomplice unpaid and the provider slashed.
 *
 * Attribution results here are computed by the real engine (`attribution/jobs.ts runJob`) from
 * the job's pinned inputs, as a validator does.
 */

const alice = key('alice'); // datanet + model owner
const bob = key('bob'); // honest contributor
const carol = key('carol'); // the provider's accomplice: a contributor
const dave = key('dave'); // requester
const op0 = key('op0'); // the provider
const op1 = key('op1'); // a bystander
const enc = new TextEncoder();

const WINDOW = 3;
const HONEST_TEXT =
  'the rain in spain falls mainly on the plain and the farmers of the valley are glad of it every spring';
const ACCOMPLICE_TEXT =
  'buy the golden widget today from the finest shop in the kingdom where every widget shines brighter';
const DELIVERED = 'the rain in spain falls mainly on the plain and the farmers of the valley are glad';
const POSTED = 'buy the golden widget today from the finest shop in the kingdom where every widget shines';
const TOKENS = 20;

/** The due jobs of the next block, attribution results from the real engine. */
async function realResolver(c: TestChain): Promise<(job: { id: number }) => JobResult> {
  const results = new Map<number, JobResult>();
  for (const job of dueJobs(c.state, c.height + 1)) {
    const inputs = jobInputs(c.state, job);
    if (inputs.kind !== 'attribution') {
      results.set(job.id, defaultResolver(job, c.state));
      continue;
    }
    const m = inputs.model;
    const corpora = m.datanets.map((pin) => ({
      datanet: pin.datanet,
      version: pin.version,
      contributions: acceptedContributions(c.state, pin.datanet, pin.version).map((a) => ({
        id: a.id,
        content: a.content,
        label: a.label,
        accepted: { height: a.height, seq: a.seq },
      })),
    }));
    results.set(
      job.id,
      await runJob({
        kind: 'attribution',
        job: job.id,
        method: m.method,
        params: m.params,
        training: m.training,
        corpora,
        input: inputs.receipt.input,
        output: inputs.receipt.output,
        retrieved: inputs.receipt.retrieved,
      }),
    );
  }
  return (job) => results.get(job.id)!;
}

interface World {
  c: TestChain;
  model: Uint8Array;
  dn: Uint8Array;
  nonce: number;
}

function setup(params: Record<string, string> = {}): World {
  const c = TestChain.mem(
    genesisJson({
      params: { challengeWindowBlocks: String(WINDOW), providerUnbondingBlocks: '6', ...params },
    }),
  );
  c.block([
    c.tx(alice, 'datanet.create', datanetBody()),
    c.tx(op0, 'provider.bond', { amount: PROVIDER_BOND }),
  ]);
  const dn = datanetId(alice.address, 0);
  c.block([
    c.tx(bob, 'datanet.contribute', { datanet: dn, content: HONEST_TEXT, label: '' }),
    c.tx(carol, 'datanet.contribute', { datanet: dn, content: ACCOMPLICE_TEXT, label: '' }),
  ]);
  const r = c.block([
    c.tx(alice, 'model.register', {
      name: 'poet',
      datanets: [{ datanet: dn, version: 2 }],
      method: 'span',
      params: [
        { key: 'minSpan', value: '4' },
        { key: 'tokenizer', value: 'cl100k_base@js-tiktoken-1.0.21' },
      ],
      pricePerRequest: 1000n,
      pricePerOutputToken: 100n,
      ownerShareBps: 1000,
      providers: [op0.address],
      artifact: { baseModel: 'llama-3-8b', adapterHash: sha256(enc.encode('adapter')) },
      training: null,
    }),
  ]);
  expect(r.txResults.map((x) => x.code)).toEqual(['ok', 'ok']);
  expect(c.stores.datanet(dn)!.version).toBe(2);
  checkSupply(c.state);
  return { c, model: modelId(alice.address, 1), dn, nonce: 1 };
}

/** A block whose due jobs are attributed by the real engine; the supply invariant checked after. */
async function block(w: World, txs: Parameters<TestChain['block']>[0]): Promise<BlockResult> {
  const resolver = await realResolver(w.c);
  const r = w.c.block(txs, { resolver: (job) => resolver(job) });
  checkSupply(w.c.state);
  return r;
}

function request(w: World, maxFee = 10_000n): InferenceRequest {
  return w.c.request(dave, w.model, 1, maxFee, w.nonce++);
}

/** The provider's receipt for `req` claiming `output`; acknowledged by `ackBy` unless null. */
function receiptTx(w: World, req: InferenceRequest, output: string, ackBy: Key | null, provider = op0) {
  return w.c.tx(
    provider,
    'inference.receipt',
    signedReceipt(
      { request: req, input: '', output, retrieved: [], inputTokens: 3, outputTokens: TOKENS },
      provider,
      ackBy,
    ),
  );
}

function challengeTx(w: World, from: Key, receipt: Uint8Array, d: Delivery, signer: Key = op0) {
  return w.c.tx(from, 'inference.challenge', {
    receipt,
    delivery: d,
    signature: signDelivery(d, signer.secretKey),
  });
}

const paidTo = (r: BlockResult, k: Key) =>
  r.events
    .filter((e) => e.type === 'payout' && Buffer.from(e.attrs.to as Uint8Array).equals(k.address))
    .reduce((s, e) => s + (e.attrs.amount as bigint), 0n);

describe('issue 15: receipts bound to what was delivered', () => {
  it('collusion attack: the provider posts another output than it delivered; the requester proves it', async () => {
    const w = setup();
    const { c } = w;
    const req = request(w);
    const rid = receiptId(dave.address, req.nonce);
    // What dave actually received, with the provider's signature (dave keeps both).
    const delivered = deliveryFor(req, DELIVERED, TOKENS);
    const daveBefore = c.balance(dave);
    const carolBefore = c.balance(carol);
    const bond0 = c.stores.provider(op0.address)!.bond;
    // The provider posts an output copying its accomplice's contribution; dave never acks it.
    expect(codeOf(await block(w, [receiptTx(w, req, POSTED, null)]))).toBe('ok');
    expect(c.stores.receipt(rid)).toMatchObject({ status: 'pending', acknowledged: false });
    expect(c.stores.receipt(rid)!.releaseHeight).toBe(c.height + WINDOW);
    // The job attributes the posted output to carol (the real engine finds her span) …
    const settled = await block(w, []);
    const att = c.stores.attribution(rid)!;
    const carolShare = att.payouts.find((p) => Buffer.from(p.address).equals(carol.address))?.amount ?? 0n;
    expect(carolShare).toBeGreaterThan(0n);
    // … but nothing is paid while the window is open: the fee is held.
    expect(paidTo(settled, carol)).toBe(0n);
    expect(c.stores.receipt(rid)).toMatchObject({ status: 'held', escrow: att.fee });
    // Dave proves the fraud with the delivery he was given.
    const proof = await block(w, [challengeTx(w, dave, rid, delivered)]);
    expect(codeOf(proof)).toBe('ok');
    const gas = proof.txResults[proof.txResults.length - 1].fee;
    expect(c.balance(dave)).toBe(daveBefore - gas);
    expect(c.stores.receipt(rid)).toMatchObject({ status: 'challenged', escrow: 0n });
    expect(c.stores.attribution(rid)).toMatchObject({ fee: 0n, payouts: [], error: 'FRAUD_PROVEN' });
    const p = c.stores.provider(op0.address)!;
    expect(p.bond).toBe(bond0 / 2n); // providerSlashBps 5000
    expect(p).toMatchObject({ frauds: 1, slashed: bond0 / 2n });
    expect(proof.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['inference.challenged', 'provider.slashed', 'refund']),
    );
    // The window ends: nothing is released, the accomplice never got anything.
    for (let i = 0; i < WINDOW; i++) {
      const r = await block(w, []);
      expect(r.events.some((e) => e.type === 'inference.released')).toBe(false);
    }
    expect(c.balance(carol)).toBe(carolBefore);
    // The slash left the bond below providerBondMin: no more receipts until it is topped up.
    expect(codeOf(await block(w, [receiptTx(w, request(w), POSTED, null)]))).toBe('PROVIDER_NOT_BONDED');
  });

  it('a fraud proof in the receipt block itself cancels before attribution pays anything', async () => {
    const w = setup();
    const req = request(w);
    const rid = receiptId(dave.address, req.nonce);
    const daveBefore = w.c.balance(dave);
    const r = await block(w, [
      receiptTx(w, req, POSTED, null),
      challengeTx(w, dave, rid, deliveryFor(req, DELIVERED, TOKENS)),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['ok', 'ok']);
    const next = await block(w, []);
    expect(next.events.some((e) => e.type === 'payout')).toBe(false);
    expect(w.c.stores.attribution(rid)).toMatchObject({ fee: 0n, refund: 10_000n, error: 'FRAUD_PROVEN' });
    expect(w.c.balance(dave)).toBe(daveBefore - r.txResults[1].fee);
  });

  it('honest path with ack: settles in the next block and cannot be challenged', async () => {
    const w = setup();
    const req = request(w);
    const rid = receiptId(dave.address, req.nonce);
    const r = await block(w, [receiptTx(w, req, DELIVERED, dave)]);
    expect(codeOf(r)).toBe('ok');
    expect(w.c.stores.receipt(rid)).toMatchObject({ acknowledged: true, releaseHeight: 0 });
    const bobBefore = w.c.balance(bob);
    const settled = await block(w, []);
    expect(w.c.stores.receipt(rid)!.status).toBe('settled');
    expect(paidTo(settled, bob)).toBeGreaterThan(0n);
    expect(paidTo(settled, carol)).toBe(0n);
    expect(w.c.balance(bob) - bobBefore).toBe(paidTo(settled, bob));
    // Even a genuine-looking second delivery does not reopen an acknowledged receipt.
    const c2 = await block(w, [challengeTx(w, dave, rid, deliveryFor(req, POSTED, TOKENS))]);
    expect(codeOf(c2)).toBe('RECEIPT_NOT_CHALLENGEABLE');
    expect(c2.txResults[0].charged).toBe(true);
  });

  it('honest path without ack: attributed next block, paid at the end of the window', async () => {
    const w = setup();
    const req = request(w);
    const rid = receiptId(dave.address, req.nonce);
    await block(w, [receiptTx(w, req, DELIVERED, null)]);
    const release = w.c.stores.receipt(rid)!.releaseHeight;
    const bobBefore = w.c.balance(bob);
    const daveBefore = w.c.balance(dave);
    await block(w, []); // attributed: held, the excess over the fee refunded now
    const fee = w.c.stores.attribution(rid)!.fee;
    expect(w.c.balance(dave) - daveBefore).toBe(10_000n - fee);
    expect(w.c.balance(bob)).toBe(bobBefore);
    // A matching delivery is no proof; the honest provider keeps its bond.
    const matching = await block(w, [challengeTx(w, op1, rid, deliveryFor(req, DELIVERED, TOKENS))]);
    expect(codeOf(matching)).toBe('CHALLENGE_MATCHES_RECEIPT');
    expect(matching.txResults[0].fee).toBeGreaterThan(0n);
    let released: BlockResult | undefined;
    while (w.c.height < release) released = await block(w, []);
    expect(released!.events.some((e) => e.type === 'inference.released')).toBe(true);
    expect(w.c.stores.receipt(rid)).toMatchObject({ status: 'settled', escrow: 0n });
    expect(w.c.balance(bob) - bobBefore).toBe(paidTo(released!, bob));
    expect(paidTo(released!, bob)).toBeGreaterThan(0n);
    expect(w.c.stores.provider(op0.address)!.frauds).toBe(0);
    // After the release the window is closed, even for a real fraud proof.
    const late = await block(w, [challengeTx(w, dave, rid, deliveryFor(req, POSTED, TOKENS))]);
    expect(codeOf(late)).toBe('CHALLENGE_WINDOW_CLOSED');
  });

  it('bad fraud proofs are typed errors and cost their sender the gas; a provider is slashed once', async () => {
    const w = setup();
    const { c } = w;
    const req = request(w);
    const other = request(w);
    const rid = receiptId(dave.address, req.nonce);
    await block(w, [receiptTx(w, req, POSTED, null), receiptTx(w, other, POSTED, null)]);
    const forged = deliveryFor(req, DELIVERED, TOKENS);
    const cases: [string, ReturnType<typeof challengeTx>][] = [
      ['BAD_DELIVERY_SIGNATURE', challengeTx(w, dave, rid, forged, dave)], // not the provider's key
      ['CHALLENGE_WRONG_REQUEST', challengeTx(w, dave, rid, deliveryFor(other, DELIVERED, TOKENS))],
      ['RECEIPT_NOT_FOUND', challengeTx(w, dave, sha256(enc.encode('nothing')), forged)],
      // Only the token count differs: also a different delivery (overcharging is fraud too).
      ['ok', challengeTx(w, op1, rid, deliveryFor(req, POSTED, TOKENS - 1))],
      ['RECEIPT_ALREADY_CHALLENGED', challengeTx(w, dave, rid, forged)],
    ];
    const bond0 = c.stores.provider(op0.address)!.bond;
    const r = await block(
      w,
      cases.map((x) => x[1]),
    );
    expect(r.txResults.slice(1).map((x) => x.code)).toEqual(cases.map((x) => x[0]));
    for (const t of r.txResults.slice(1)) expect(t.charged && t.fee > 0n).toBe(true);
    expect(c.stores.provider(op0.address)).toMatchObject({ bond: bond0 / 2n, frauds: 1 });
    // The other receipt's window closes; a proof after it is refused.
    const otherId = receiptId(dave.address, other.nonce);
    while (c.height <= c.stores.receipt(otherId)!.releaseHeight) await block(w, []);
    const late = await block(w, [challengeTx(w, dave, otherId, deliveryFor(other, DELIVERED, TOKENS))]);
    expect(codeOf(late)).toBe('CHALLENGE_WINDOW_CLOSED');
    expect(c.stores.provider(op0.address)!.frauds).toBe(1);
  });

  it('receipts need a bond, the provider signature over the posted output, and a valid ack', async () => {
    const w = setup();
    const { c } = w;
    const req = request(w);
    const unsigned = {
      request: req,
      input: '',
      output: DELIVERED,
      retrieved: [],
      inputTokens: 3,
      outputTokens: 5,
    };
    const d = deliveryFor(req, DELIVERED, 5);
    const cases: [string, ReturnType<TestChain['tx']>][] = [
      // A delivery signature over another output than the posted one.
      [
        'BAD_DELIVERY_SIGNATURE',
        c.tx(op0, 'inference.receipt', {
          ...unsigned,
          deliverySignature: signDelivery(deliveryFor(req, POSTED, 5), op0.secretKey),
          ack: null,
        }),
      ],
      // An ack signed by someone else than the requester, or over another output.
      ['BAD_ACK', c.tx(op0, 'inference.receipt', signedReceipt(unsigned, op0, op1))],
      [
        'BAD_ACK',
        c.tx(
          op0,
          'inference.receipt',
          signedReceipt(
            { ...unsigned, ack: signAck(deliveryFor(req, POSTED, 5), dave.secretKey) },
            op0,
            null,
          ),
        ),
      ],
      // The ack is not a delivery signature (domain tags differ).
      [
        'BAD_DELIVERY_SIGNATURE',
        c.tx(op0, 'inference.receipt', {
          ...unsigned,
          deliverySignature: signAck(d, op0.secretKey),
          ack: null,
        }),
      ],
      ['ok', c.tx(op0, 'inference.receipt', signedReceipt(unsigned, op0, dave))],
    ];
    const r = await block(
      w,
      cases.map((x) => x[1]),
    );
    expect(r.txResults.map((x) => x.code)).toEqual(cases.map((x) => x[0]));
    // A provider listed by the model but never bonded.
    const w2 = setup();
    await block(w2, [w2.c.tx(op0, 'provider.unbond', { amount: PROVIDER_BOND })]);
    expect(codeOf(await block(w2, [receiptTx(w2, request(w2), DELIVERED, dave)]))).toBe(
      'PROVIDER_NOT_BONDED',
    );
  });

  it('chain-trained classifiers need no ack: validators re-derive the output', async () => {
    const c = TestChain.mem(
      genesisJson({ params: { challengeWindowBlocks: '3', providerUnbondingBlocks: '6' } }),
    );
    c.block([
      c.tx(alice, 'datanet.create', datanetBody({ labels: ['ham', 'spam'] })),
      c.tx(op0, 'provider.bond', { amount: PROVIDER_BOND }),
    ]);
    const dn = datanetId(alice.address, 0);
    c.block([
      c.tx(bob, 'datanet.contribute', { datanet: dn, content: 'win a free prize now', label: 'spam' }),
      c.tx(carol, 'datanet.contribute', { datanet: dn, content: 'lunch at noon?', label: 'ham' }),
    ]);
    c.block([
      c.tx(alice, 'model.register', {
        name: 'spam',
        datanets: [{ datanet: dn, version: 2 }],
        method: 'influence',
        params: [],
        pricePerRequest: 100n,
        pricePerOutputToken: 0n,
        ownerShareBps: 0,
        providers: [op0.address],
        artifact: null,
        training: [{ key: 'epochs', value: '2' }],
      }),
    ]);
    c.block([]); // training settles
    const model = modelId(alice.address, 1);
    expect(c.stores.modelVersion(model, 1)!.status).toBe('active');
    const req = c.request(dave, model, 1, 1000n, 1);
    const body = signedReceipt(
      { request: req, input: 'free prize', output: 'spam', retrieved: [], inputTokens: 2, outputTokens: 1 },
      op0,
      null,
    );
    expect(codeOf(c.block([c.tx(op0, 'inference.receipt', body)]))).toBe('ok');
    const rid = receiptId(dave.address, 1);
    expect(c.stores.receipt(rid)).toMatchObject({ acknowledged: false, releaseHeight: 0 });
    c.block([]);
    expect(c.stores.receipt(rid)!.status).toBe('settled');
    const d = deliveryFor(req, 'ham', 1);
    const r = c.block([
      c.tx(dave, 'inference.challenge', {
        receipt: rid,
        delivery: d,
        signature: signDelivery(d, op0.secretKey),
      }),
    ]);
    expect(codeOf(r)).toBe('RECEIPT_NOT_CHALLENGEABLE');
    checkSupply(c.state);
  });

  it('provider bonds: unbonding matures after providerUnbondingBlocks and stays slashable until then', async () => {
    const w = setup();
    const { c } = w;
    const errs = await block(w, [
      c.tx(op0, 'provider.unbond', { amount: 0n }),
      c.tx(op1, 'provider.unbond', { amount: 1n }),
      c.tx(op0, 'provider.unbond', { amount: PROVIDER_BOND + 1n }),
      c.tx(op0, 'provider.bond', { amount: 0n }),
    ]);
    expect(errs.txResults.map((x) => x.code)).toEqual([
      'ZERO_AMOUNT',
      'NOT_PROVIDER',
      'INSUFFICIENT_BOND',
      'ZERO_AMOUNT',
    ]);
    await block(w, [c.tx(op0, 'provider.bond', { amount: PROVIDER_BOND })]);
    const req = request(w);
    const rid = receiptId(dave.address, req.nonce);
    await block(w, [receiptTx(w, req, POSTED, null)]);
    // The provider tries to run with the bond: unbonds all of it right after the fraud.
    const u = await block(w, [c.tx(op0, 'provider.unbond', { amount: 2n * PROVIDER_BOND })]);
    expect(codeOf(u)).toBe('ok');
    const completion = c.height + 6;
    expect(c.stores.provider(op0.address)).toMatchObject({ bond: 0n, unbonding: 2n * PROVIDER_BOND });
    // Still inside the window (3 < 6): the proof reaches the unbonding part.
    expect(codeOf(await block(w, [challengeTx(w, dave, rid, deliveryFor(req, DELIVERED, TOKENS))]))).toBe(
      'ok',
    );
    expect(c.stores.provider(op0.address)).toMatchObject({
      unbonding: PROVIDER_BOND,
      slashed: PROVIDER_BOND,
    });
    const before = c.balance(op0);
    let paid: BlockResult | undefined;
    while (c.height < completion) paid = await block(w, []);
    expect(paid!.events.find((e) => e.type === 'provider.unbonded')?.attrs.amount).toBe(PROVIDER_BOND);
    expect(c.balance(op0) - before).toBe(PROVIDER_BOND);
    expect(c.stores.provider(op0.address)).toMatchObject({ bond: 0n, unbonding: 0n });
  });

  it('RELEASE_QUEUE_FULL at RELEASES_PER_HEIGHT_MAX held receipts for one height', async () => {
    const w = setup();
    const s = new Stores(w.c.state);
    const at = w.c.height + 1 + WINDOW;
    const filler = Array.from({ length: RELEASES_PER_HEIGHT_MAX - 1 }, (_, i) => sha256(enc.encode(`r${i}`)));
    s.setReleases(at, filler);
    const r = w.c.block([
      receiptTx(w, request(w), DELIVERED, null),
      receiptTx(w, request(w), DELIVERED, null),
    ]);
    expect(r.txResults.map((x) => x.code)).toEqual(['ok', 'RELEASE_QUEUE_FULL']);
    // Acknowledged receipts do not queue.
    expect(codeOf(w.c.block([receiptTx(w, request(w), DELIVERED, dave)]))).toBe('ok');
  });

  it('outputs are bound by hash: the delivery names sha256 of the exact UTF-8 text', () => {
    const req = setup().c.request(dave, new Uint8Array(32), 1, 1n, 1);
    expect(deliveryFor(req, 'é', 1).outputHash).toEqual(outputHash('é'));
    expect(outputHash('e\u0301')).not.toEqual(outputHash('é')); // no normalisation
  });
});
