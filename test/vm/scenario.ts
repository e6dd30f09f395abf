import { bytesEqual } from '../../core/bytes.js';
import { outputHash, signDelivery } from '../../core/delivery.js';
import { sha256 } from '../../core/hash.js';
import type { JobResult } from '../../core/tx.js';
import type { Job } from '../../state/stores/records.js';
import type { StateOverlay } from '../../state/types.js';
import { contributionId, datanetId } from '../../vm/datanets.js';
import type { BlockResult, ExecTx } from '../../vm/execute.js';
import { acceptedContributions, jobInputs } from '../../vm/jobs.js';
import { modelId, receiptId } from '../../vm/models.js';
import { readStores } from '../../vm/readers.js';
import { REWARD_PRECISION } from '../../vm/staking.js';
import { genesisJson, type Key, key, OPEN, signedReceipt, type TestChain } from './harness.js';

/**
 * Random and scripted workloads shared by the supply, determinism and golden tests. An op is
 * plain data (so fast-check can generate and shrink it); `opTx` turns it into a signed tx against
 * the chain's current state. Ops that do not fit the state simply fail with their error code,
 * which is part of what the properties cover.
 */

export const ACTORS = ['alice', 'bob', 'carol', 'dave', 'op0', 'op1'].map(key);
export const VALIDATOR_KEYS = ['val0', 'val1', 'val2', 'val3'].map(key);
const enc = new TextEncoder();

export const scenarioGenesis = () =>
  genesisJson({
    validators: 2,
    balance: 10_000n * OPEN,
    params: {
      unbondingBlocks: '2',
      govVotingBlocks: '2',
      govDepositMin: OPEN.toString(),
      blockIssuance: (3n * OPEN).toString(),
      downtimeWindow: '4',
      downtimeMissedMax: '2',
      downtimeJailBlocks: '2',
      slashDowntimeBps: '100',
      challengeWindowBlocks: '2',
      providerUnbondingBlocks: '3',
    },
  });

export interface Op {
  kind: number;
  actor: number;
  other: number;
  amount: number;
  flag: boolean;
}

export const OP_KINDS = 17;

/** Datanets and models created by actor i with nonce n are addressable by index in the ops. */
function datanetOf(c: TestChain, i: number): Uint8Array | undefined {
  for (const a of ACTORS) {
    for (let n = 0; n < 40; n++) {
      const id = datanetId(a.address, n);
      if (c.stores.datanet(id) !== undefined && i-- === 0) return id;
    }
  }
  return undefined;
}

function modelOf(c: TestChain): Uint8Array | undefined {
  for (const a of ACTORS) {
    for (let n = 0; n < 40; n++) {
      const id = modelId(a.address, n);
      if (c.stores.model(id) !== undefined) return id;
    }
  }
  return undefined;
}

export function opTx(c: TestChain, op: Op, requestNonce: { n: number }): ExecTx {
  const a: Key = ACTORS[op.actor % ACTORS.length];
  const b: Key = ACTORS[op.other % ACTORS.length];
  const v = VALIDATOR_KEYS[op.other % 2];
  const amt = BigInt(op.amount) * (OPEN / 100n);
  switch (op.kind % OP_KINDS) {
    case 0:
      return c.tx(a, 'transfer', { to: b.address, amount: amt });
    case 1:
      return c.tx(a, 'stake.delegate', { validator: v.address, amount: amt });
    case 2:
      return c.tx(a, 'stake.undelegate', { validator: v.address, amount: amt / 2n });
    case 3:
      return c.tx(a, 'stake.withdrawRewards', { validator: v.address });
    case 4:
      return c.tx(a, 'validator.create', {
        consensusKey: VALIDATOR_KEYS[2 + (op.other % 2)].publicKey,
        commissionBps: op.amount % 10_000,
        selfStake: OPEN + amt,
        moniker: a.name,
      });
    case 5:
      return c.tx(a, 'validator.unjail', {});
    case 6:
      return c.tx(a, 'datanet.create', {
        name: `dn-${op.amount}`,
        description: '',
        license: 'CC0-1.0',
        tags: [],
        curation: op.flag ? 'open' : 'owner',
        curators: [],
        bond: amt / 10n,
        rejectForfeitBps: op.amount % 10_001,
        contributionBytesMax: 0,
        labels: [],
      });
    case 7: {
      const dn = datanetOf(c, op.other) ?? sha256(new Uint8Array([1]));
      return c.tx(a, 'datanet.contribute', {
        datanet: dn,
        content: `text ${op.amount} from ${a.name} ${op.other}`,
        label: '',
      });
    }
    case 8: {
      const dn = datanetOf(c, op.other) ?? sha256(new Uint8Array([1]));
      const content = `text ${op.amount} from ${b.name} ${op.other}`;
      return c.tx(a, 'datanet.review', {
        contribution: contributionId(dn, sha256(enc.encode(content))),
        accept: op.flag,
        reason: '',
      });
    }
    case 9: {
      const dn = datanetOf(c, op.other);
      const version = dn === undefined ? 0 : c.stores.datanet(dn)!.version;
      return c.tx(a, 'model.register', {
        name: 'm',
        datanets: dn === undefined ? [] : [{ datanet: dn, version }],
        method: op.flag ? 'span' : 'influence',
        params: [],
        pricePerRequest: BigInt(op.amount) * 1000n,
        pricePerOutputToken: 7n,
        ownerShareBps: op.amount % 3001,
        providers: [b.address],
        artifact: null,
        training: op.flag ? null : [{ key: 'epochs', value: '1' }],
      });
    }
    case 10: {
      const model = modelOf(c) ?? sha256(new Uint8Array([2]));
      const mv = c.stores.modelVersion(model, 1);
      const provider =
        mv === undefined ? a : (ACTORS.find((x) => x.address.every((y, i) => y === mv.providers[0][i])) ?? a);
      const body = signedReceipt(
        {
          request: c.request(b, model, 1, BigInt(op.amount) * 2000n + 5000n, requestNonce.n++),
          input: '',
          output: `output ${op.amount}`,
          retrieved: [],
          inputTokens: 3,
          outputTokens: op.amount % 50,
        },
        provider,
        op.flag ? b : null,
      );
      return c.tx(provider, 'inference.receipt', body);
    }
    case 14:
      return c.tx(a, 'provider.bond', { amount: amt + (op.flag ? 10n * OPEN : 0n) });
    case 15:
      return c.tx(a, 'provider.unbond', { amount: amt / 3n });
    case 16: {
      // A fraud proof (or, with flag, a matching delivery) against the receipt of request nonce n − 1.
      const rid = receiptId(b.address, requestNonce.n - 1);
      const rc = c.stores.receipt(rid);
      const signer = rc === undefined ? a : (ACTORS.find((x) => bytesEqual(x.address, rc.provider)) ?? a);
      const delivery = {
        requestHash: rc?.requestHash ?? sha256(enc.encode('none')),
        outputHash: outputHash(op.flag && rc !== undefined ? rc.output : `forged ${op.amount}`),
        outputTokens: rc?.outputTokens ?? 0,
      };
      return c.tx(a, 'inference.challenge', {
        receipt: rid,
        delivery,
        signature: signDelivery(delivery, signer.secretKey),
      });
    }
    case 11:
      return c.tx(a, 'gov.propose', {
        title: 't',
        description: '',
        changes: [
          {
            key: op.flag ? 'blockIssuance' : 'maxValidators',
            value: String(op.flag ? op.amount : 1 + (op.amount % 3)),
          },
        ],
        deposit: OPEN + amt / 10n,
      });
    case 12: {
      const p = c.stores.counters().nextProposal - 1;
      return c.tx(a, 'gov.vote', { proposal: Math.max(1, p), option: op.flag ? 'yes' : 'no' });
    }
    default:
      return c.tx(a, 'transfer', { to: b.address, amount: amt * 1000n }); // often fails: not enough funds
  }
}

/** Job results derived from the job id only: deterministic, varied (ok / failed / duplicates / scores). */
export function seededResolver(job: Job, state: StateOverlay): JobResult {
  const base = {
    job: job.id,
    ok: true,
    error: '',
    scores: [],
    evidence: [],
    tokens: 0,
    weightsHash: null,
    duplicateOf: null,
  } as JobResult;
  const inputs = jobInputs(state, job);
  const r = (job.id * 2654435761) % 97;
  if (r < 8) return { ...base, ok: false, error: 'FAILED' };
  if (inputs.kind === 'training') return { ...base, weightsHash: sha256(enc.encode(`w${job.id}`)) };
  if (inputs.kind === 'nearDuplicate') {
    const first = acceptedContributions(
      state,
      inputs.contribution.datanet,
      Math.min(1, inputs.corpusVersion),
    )[0];
    if (first !== undefined && r % 3 === 0) return { ...base, duplicateOf: first.id, tokens: 5000 + r * 50 };
    return base;
  }
  const scores: { contribution: Uint8Array; score: number }[] = [];
  for (const pin of inputs.model.datanets) {
    for (const a of acceptedContributions(state, pin.datanet, pin.version)) {
      scores.push({ contribution: a.id, score: ((a.id[0] + job.id) % 13) - 3 });
    }
  }
  scores.sort((x, y) => Buffer.compare(x.contribution, y.contribution));
  return { ...base, scores, tokens: inputs.receipt.outputTokens + (r % 7) };
}

/**
 * The supply invariant of issue 4, computed independently of the totals record where possible:
 * Σ balances (every address the workload can touch) + Σ validator tokens + Σ unbonding entries
 * + escrow (pending and held receipts, unsettled contribution bonds, open proposal deposits,
 * provider bonds and their unbonding parts) + treasury
 * + undistributed delegator rewards = genesis + issued − burned. Also checks the totals record
 * agrees with the independent sums and that claimable rewards never exceed the rewards pool.
 */
export function checkSupply(state: StateOverlay): void {
  const s = readStores(state);
  const t = s.totals();
  let balances = 0n;
  for (const a of [...ACTORS, ...VALIDATOR_KEYS]) balances += s.account(a.address).balance;
  let bonded = 0n;
  let claimable = 0n;
  for (const va of s.validatorList()) {
    const v = s.validator(va)!;
    bonded += v.tokens;
    for (const a of ACTORS) {
      const d = s.delegation(va, a.address);
      if (d !== undefined) claimable += (d.shares * v.rewardPerShare - d.rewardDebt) / REWARD_PRECISION;
    }
  }
  const counters = s.counters();
  let unbonding = 0n;
  for (let id = 1; id < counters.nextUnbonding; id++) unbonding += s.unbonding(id)?.balance ?? 0n;
  let escrow = 0n;
  for (let id = 1; id < counters.nextJob; id++) {
    const job = s.job(id)!;
    if (job.kind === 'attribution') escrow += s.receipt(job.subject)!.escrow;
    if (job.kind === 'nearDuplicate') escrow += s.contribution(job.subject)!.bond;
  }
  for (let id = 1; id < counters.nextProposal; id++) {
    const p = s.proposal(id)!;
    if (p.status === 'voting') escrow += p.deposit;
  }
  for (const a of ACTORS) {
    const p = s.provider(a.address);
    if (p !== undefined) escrow += p.bond + p.unbonding;
  }
  if (bonded !== t.bonded) throw new Error(`bonded ${bonded} ≠ totals ${t.bonded}`);
  if (unbonding !== t.unbonding) throw new Error(`unbonding ${unbonding} ≠ totals ${t.unbonding}`);
  if (escrow !== t.escrow) throw new Error(`escrow ${escrow} ≠ totals ${t.escrow}`);
  if (claimable > t.rewards) throw new Error(`claimable rewards ${claimable} exceed the pool ${t.rewards}`);
  const held = balances + bonded + unbonding + escrow + t.treasury + t.rewards;
  const expected = t.genesis + t.issued - t.burned;
  if (held !== expected) throw new Error(`supply: held ${held} ≠ genesis + issued − burned ${expected}`);
}

/** Summary of a block result that determinism tests compare. */
export function digest(r: BlockResult): unknown {
  return {
    root: Buffer.from(r.stateRoot).toString('hex'),
    results: Buffer.from(r.resultsHash).toString('hex'),
    codes: r.txResults.map((x) => x.code),
    events: r.events.length,
    jobs: r.jobsCreated.map((j) => j.id),
    updates: r.validatorUpdates.map((u) => `${Buffer.from(u.address).toString('hex')}:${u.power}`),
  };
}
