import { fromHex, to0x } from '../core/bytes.js';
import { decodeWire } from '../core/codec.js';
import { type OpenLedgerClient, RpcCallError } from '../rpc/client.js';
import { KEYS } from '../state/stores/keys.js';
import { accountSchema, totalsSchema } from '../state/stores/records.js';

/**
 * Black-box checks of a network over JSON-RPC, after a chaos scenario (or any run):
 *
 * - agreement: every node has the same block hash and state root at every height up to the
 *   lowest tip;
 * - no acknowledged transaction is missing: every tx the load generator saw committed is in the
 *   block it was seen in, on the agreed chain;
 * - settlement: every settled receipt's payouts sum to its fee, and fee + refund = the maxFee
 *   escrowed when the receipt was accepted;
 * - supply: at the checked height, Σ balances (every address that appears in genesis or in any
 *   event) + bonded + unbonding + escrow + treasury + rewards pool = genesis + issued − burned,
 *   with every value read through `ol_getStateProof` at that one height.
 * - liveness after GST (checkLivenessAfterGst, fed by the chaos runner's measurements): every
 *   honest node commits again within GST_ROUND_TIMEOUTS × the round timeouts after the last fault.
 *
 * Each failed check adds a violation; the caller turns any violation into a non-zero exit.
 */

export interface Violation {
  check:
    | 'reachable'
    | 'agreement'
    | 'acknowledged'
    | 'settlement'
    | 'supply'
    | 'progress'
    | 'evidence'
    | 'liveness-after-gst';
  detail: string;
}

/** Liveness after GST: honest nodes commit again within this many round timeouts (issue 18). */
export const GST_ROUND_TIMEOUTS = 3;

/** The consensus timeouts a node runs with (node config `consensus.timeout*Ms`), in ms. */
export interface GstTimeouts {
  proposeMs: number;
  prevoteMs: number;
  precommitMs: number;
  /** Added to each of the three per round (`consensus.timeoutDeltaMs`). */
  proposeDeltaMs: number;
  prevoteDeltaMs: number;
  precommitDeltaMs: number;
}

export interface GstInput {
  /** When the last fault ended (epoch ms). */
  gstMs: number;
  timeouts: GstTimeouts;
  /** The highest consensus round any honest node reported at GST (0 when none answered). */
  roundAtGst: number;
  /** Honest node name → when its tip first advanced after GST (epoch ms), null if not seen. */
  firstCommitMs: Record<string, number | null>;
  /** How long the runner watched for those commits, ms (named in the violation when one is missing). */
  watchedMs: number;
}

export interface GstReport {
  gst: string;
  gstMs: number;
  timeouts: GstTimeouts;
  roundAtGst: number;
  /** 'round-0' when no honest node was past round 0 at GST, else 'round-in-progress'. */
  boundBasis: 'round-0' | 'round-in-progress';
  /** Σ propose + prevote + precommit timeouts of round `roundAtGst`. */
  roundTimeoutSumMs: number;
  /** GST_ROUND_TIMEOUTS × roundTimeoutSumMs. */
  boundMs: number;
  nodes: Record<string, { firstCommit: string | null; delayMs: number | null }>;
  maxDelayMs: number | null;
  ok: boolean;
}

/**
 * Liveness after GST (issue 18): once the last fault has ended, every honest node must commit
 * again within GST_ROUND_TIMEOUTS × the timeouts of one round. The round is the one in progress
 * at GST (the highest any honest node reports), not always round 0: timeouts grow by their delta
 * each round (consensus/timeouts.ts), and after a fault that stopped commits (a 2|2 split) the
 * nodes sit in a high round whose own timeouts are what they must wait out; while the chain kept
 * committing through the fault (a quorum stayed connected) that round is 0 and the bound is the
 * round-0 sum. Pure: the runner measures, this decides; `delay ≤ bound` passes (equality too).
 */
export function checkLivenessAfterGst(input: GstInput): { report: GstReport; violations: Violation[] } {
  const t = input.timeouts;
  const r = input.roundAtGst;
  const roundTimeoutSumMs =
    t.proposeMs +
    t.proposeDeltaMs * r +
    t.prevoteMs +
    t.prevoteDeltaMs * r +
    t.precommitMs +
    t.precommitDeltaMs * r;
  const boundMs = GST_ROUND_TIMEOUTS * roundTimeoutSumMs;
  const basis = r === 0 ? 'round-0' : 'round-in-progress';
  const nodes: GstReport['nodes'] = {};
  const violations: Violation[] = [];
  const late: string[] = [];
  let maxDelayMs: number | null = null;
  for (const [name, at] of Object.entries(input.firstCommitMs)) {
    const delayMs = at === null ? null : Math.max(0, at - input.gstMs);
    nodes[name] = { firstCommit: at === null ? null : new Date(at).toISOString(), delayMs };
    if (delayMs === null) late.push(`${name} did not commit within the ${input.watchedMs} ms watched`);
    else {
      maxDelayMs = Math.max(maxDelayMs ?? 0, delayMs);
      if (delayMs > boundMs) late.push(`${name} first committed ${delayMs} ms after GST`);
    }
  }
  if (late.length > 0)
    violations.push({
      check: 'liveness-after-gst',
      detail:
        `bound ${boundMs} ms = ${GST_ROUND_TIMEOUTS} × ${roundTimeoutSumMs} ms (propose + prevote + precommit ` +
        `timeouts of round ${r}, ${basis}) after GST ${new Date(input.gstMs).toISOString()}: ${late.join('; ')}`,
    });
  return {
    report: {
      gst: new Date(input.gstMs).toISOString(),
      gstMs: input.gstMs,
      timeouts: { ...t },
      roundAtGst: r,
      boundBasis: basis,
      roundTimeoutSumMs,
      boundMs,
      nodes,
      maxDelayMs,
      ok: violations.length === 0,
    },
    violations,
  };
}

export interface CheckInput {
  clients: readonly OpenLedgerClient[];
  names: readonly string[];
  /** tx hash (0x hex, lower case) → the height a node served it at. */
  acknowledged?: ReadonlyMap<string, number>;
  /** Addresses that may hold a balance besides those found in events (genesis accounts…). */
  addresses?: readonly string[];
  /** Skip the supply and settlement checks (e.g. for a divergence-only probe). */
  agreementOnly?: boolean;
  /** Parallel requests per node. */
  concurrency?: number;
}

export interface CheckReport {
  ok: boolean;
  heights: Record<string, number | null>;
  checkedUpTo: number;
  blocks: number;
  txs: number;
  acknowledged: { total: number; found: number };
  receipts: { settled: number; checked: number };
  supply: Record<string, string> | null;
  violations: Violation[];
}

type J = Record<string, unknown>;
const STATE_VALUE_BYTES_MAX = 4 * 1024 * 1024;

async function pool<T, R>(items: readonly T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

async function retry<T>(fn: () => Promise<T>, tries = 3): Promise<T> {
  for (let k = 1; ; k++) {
    try {
      return await fn();
    } catch (e) {
      if (k >= tries || (e instanceof RpcCallError && e.rpcCode !== -1)) throw e;
      await new Promise((r) => setTimeout(r, 300 * k));
    }
  }
}

export interface EquivocatorReport {
  /** The validator address (0x hex). */
  address: string;
  /** First height whose block carries evidence against it, or null. */
  evidenceHeight: number | null;
  /** The kind of that evidence (duplicateVote | duplicateProposal). */
  evidenceKind: string | null;
  /** Whether it is still in the validator set of the next height (a tombstoned one is not). */
  inValidatorSet: boolean;
}

/**
 * For validators known to equivocate: was evidence against each committed (scanning blocks
 * 1..upTo on `client`), and did it leave the validator set? A missing piece is an `evidence`
 * violation: an equivocation that goes unpunished.
 */
export async function checkEquivocators(
  client: OpenLedgerClient,
  addresses: readonly string[],
  upTo: number,
  concurrency = 8,
): Promise<{ reports: EquivocatorReport[]; violations: Violation[] }> {
  const wanted = addresses.map((a) => a.toLowerCase());
  const found = new Map<string, { height: number; kind: string }>();
  const heights = Array.from({ length: upTo }, (_, i) => i + 1);
  const blocks = await pool(heights, concurrency, (h) => retry(() => client.blockByHeight(h)));
  blocks.forEach((b, i) => {
    for (const e of ((b as unknown as J).evidence ?? []) as J[]) {
      const pair = e.kind === 'duplicateProposal' ? (e.proposalA as J)?.proposer : (e.voteA as J)?.validator;
      const who = String(pair).toLowerCase();
      if (wanted.includes(who) && !found.has(who)) found.set(who, { height: i + 1, kind: String(e.kind) });
    }
  });
  const set = (await retry(() => client.validators())) as unknown as { validators: { address: string }[] };
  const members = new Set(set.validators.map((v) => String(v.address).toLowerCase()));
  const reports = wanted.map((address) => ({
    address,
    evidenceHeight: found.get(address)?.height ?? null,
    evidenceKind: found.get(address)?.kind ?? null,
    inValidatorSet: members.has(address),
  }));
  const violations: Violation[] = [];
  for (const r of reports) {
    if (r.evidenceHeight === null)
      violations.push({
        check: 'evidence',
        detail: `no evidence against equivocator ${r.address} in blocks 1..${upTo}`,
      });
    else if (r.inValidatorSet)
      violations.push({
        check: 'evidence',
        detail: `equivocator ${r.address} is still a validator after evidence at height ${r.evidenceHeight}`,
      });
  }
  return { reports, violations };
}

export async function checkNetwork(input: CheckInput): Promise<CheckReport> {
  const { clients, names } = input;
  const conc = input.concurrency ?? 8;
  const violations: Violation[] = [];
  const heights: Record<string, number | null> = {};
  const tips = await Promise.all(
    clients.map((c) =>
      retry(() => c.status()).then(
        (s) => s.height as number,
        () => null,
      ),
    ),
  );
  tips.forEach((t, i) => {
    heights[names[i]] = t;
    if (t === null) violations.push({ check: 'reachable', detail: `${names[i]} does not answer ol_status` });
  });
  const live = clients.map((_, i) => i).filter((i) => tips[i] !== null);
  const upTo = live.length === 0 ? 0 : Math.min(...live.map((i) => tips[i] as number));
  const ref = live[0];
  const report: CheckReport = {
    ok: false,
    heights,
    checkedUpTo: upTo,
    blocks: upTo,
    txs: 0,
    acknowledged: { total: input.acknowledged?.size ?? 0, found: 0 },
    receipts: { settled: 0, checked: 0 },
    supply: null,
    violations,
  };
  if (ref === undefined) return finish(report);

  // ---- agreement: hashes and state roots, height by height
  const heightsList = Array.from({ length: upTo }, (_, i) => i + 1);
  const views = await Promise.all(
    live.map((i) =>
      pool(heightsList, conc, async (h) => {
        const b = (await retry(() => clients[i].blockByHeight(h))) as unknown as J & {
          header: { stateRoot: string };
          txs: string[];
        };
        return { hash: b.hash as string, stateRoot: b.header.stateRoot, txs: b.txs };
      }),
    ),
  );
  const refView = views[0];
  for (let k = 1; k < live.length; k++) {
    const v = views[k];
    for (let h = 0; h < upTo; h++) {
      if (v[h].hash !== refView[h].hash || v[h].stateRoot !== refView[h].stateRoot) {
        violations.push({
          check: 'agreement',
          detail: `${names[live[k]]} diverges from ${names[ref]} at height ${h + 1}: block ${v[h].hash} root ${v[h].stateRoot} vs block ${refView[h].hash} root ${refView[h].stateRoot}`,
        });
        break;
      }
    }
  }
  const inBlock = new Map<string, number>();
  refView.forEach((b, i) => {
    for (const t of b.txs) inBlock.set(t.toLowerCase(), i + 1);
  });
  report.txs = inBlock.size;

  // ---- acknowledged transactions
  if (input.acknowledged) {
    const missing: string[] = [];
    const beyond: [string, number][] = [];
    for (const [hash, h] of input.acknowledged) {
      if (h > upTo) {
        beyond.push([hash, h]);
        continue;
      }
      if (inBlock.get(hash) === h) report.acknowledged.found++;
      else
        missing.push(
          `${hash} (seen at ${h}, ${inBlock.has(hash) ? `now at ${inBlock.get(hash)}` : 'absent'})`,
        );
    }
    // Seen above the lowest tip: ask the highest node.
    const top = live.reduce((a, b) => ((tips[b] as number) > (tips[a] as number) ? b : a), ref);
    await pool(beyond, conc, async ([hash, h]) => {
      const t = (await retry(() => clients[top].transaction(hash)).catch(() => null)) as unknown as J | null;
      if (t !== null && t.status === 'committed' && t.height === h) report.acknowledged.found++;
      else missing.push(`${hash} (seen at ${h}, absent on ${names[top]})`);
    });
    if (missing.length > 0)
      violations.push({
        check: 'acknowledged',
        detail: `${missing.length} acknowledged transactions missing, e.g. ${missing.slice(0, 5).join('; ')}`,
      });
  }
  if (input.agreementOnly) return finish(report);

  // ---- events: receipts and every address that ever appeared
  const c = clients[ref];
  const addresses = new Set<string>((input.addresses ?? []).map((a) => a.toLowerCase()));
  const receipts = new Set<string>();
  const RANGE = 50;
  const ranges: [number, number][] = [];
  for (let from = 1; from <= upTo; from += RANGE) ranges.push([from, Math.min(upTo, from + RANGE - 1)]);
  const chunks = await pool(ranges, 4, ([from, to]) =>
    retry(() => c.events({ fromHeight: from, toHeight: to })),
  );
  for (const events of chunks)
    for (const e of events) {
      for (const a of (e.addresses as string[]) ?? []) addresses.add(a.toLowerCase());
      for (const v of Object.values((e.attrs as J) ?? {}))
        if (typeof v === 'string' && /^0x[0-9a-f]{40}$/i.test(v)) addresses.add(v.toLowerCase());
      if (e.type === 'job.settled' && (e.attrs as J).kind === 'attribution') report.receipts.settled++;
      if (e.type === 'payout' || e.type === 'refund') receipts.add(String((e.attrs as J).receipt));
    }

  // ---- settlement: payouts sum to the fee, fee + refund = escrow
  const bad: string[] = [];
  await pool([...receipts], conc, async (id) => {
    const r = (await retry(() => c.receipt(id))) as unknown as J;
    if (r.status !== 'settled') return;
    const rec = (await retry(() => c.attribution(id))) as unknown as J & { payouts: { amount: string }[] };
    report.receipts.checked++;
    const paid = rec.payouts.reduce((s, p) => s + BigInt(p.amount), 0n);
    if (paid !== BigInt(rec.fee as string)) bad.push(`${id}: payouts ${paid} ≠ fee ${rec.fee}`);
    else if (BigInt(rec.fee as string) + BigInt(rec.refund as string) !== BigInt(r.maxFee as string))
      bad.push(`${id}: fee ${rec.fee} + refund ${rec.refund} ≠ maxFee escrowed ${r.maxFee}`);
  });
  if (bad.length > 0)
    violations.push({ check: 'settlement', detail: `${bad.length} receipts: ${bad.slice(0, 5).join('; ')}` });

  // ---- supply at height upTo, everything read at that one version
  const at = async (key: Uint8Array) => {
    const p = (await retry(() => c.stateProof(to0x(key), upTo))) as unknown as J;
    return p.value === null ? undefined : decodeWire(fromHex(p.value as string), STATE_VALUE_BYTES_MAX);
  };
  const totalsWire = await at(KEYS.totals());
  if (totalsWire === undefined) {
    violations.push({ check: 'supply', detail: `no totals record at height ${upTo}` });
    return finish(report);
  }
  const t = totalsSchema.fromWire(totalsWire, totalsSchema.kind);
  const balances = await pool([...addresses], conc, async (a) => {
    const w = await at(KEYS.account(fromHex(a, 20)));
    return w === undefined ? 0n : accountSchema.fromWire(w, accountSchema.kind).balance;
  });
  const sumBalances = balances.reduce((s, b) => s + b, 0n);
  const held = sumBalances + t.bonded + t.unbonding + t.escrow + t.treasury + t.rewards;
  const expected = t.genesis + t.issued - t.burned;
  report.supply = {
    height: String(upTo),
    addresses: String(addresses.size),
    balances: sumBalances.toString(),
    bonded: t.bonded.toString(),
    unbonding: t.unbonding.toString(),
    escrow: t.escrow.toString(),
    treasury: t.treasury.toString(),
    rewards: t.rewards.toString(),
    genesis: t.genesis.toString(),
    issued: t.issued.toString(),
    burned: t.burned.toString(),
  };
  if (held !== expected)
    violations.push({
      check: 'supply',
      detail: `at height ${upTo}: balances + bonded + unbonding + escrow + treasury + rewards = ${held}, genesis + issued − burned = ${expected} (difference ${held - expected})`,
    });
  return finish(report);
}

function finish(r: CheckReport): CheckReport {
  r.ok = r.violations.length === 0;
  return r;
}
