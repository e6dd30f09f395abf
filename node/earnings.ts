import { toHex } from '../core/bytes.js';
import type { BinarySublevel, ExtraOp, StateDb } from '../state/stateDb.js';
import type { StateReader } from '../state/types.js';
import type { VmEvent } from '../vm/events.js';
import { readStores } from '../vm/readers.js';

/**
 * Running totals of what each address has earned from inference payouts — overall, per model,
 * per datanet (a contributor's payout split over the datanets of its scored contributions, by
 * score) and per role. A query index, not consensus state: updated from each block's `payout`
 * events in the block's commit batch.
 */

export interface EarningsTotals {
  total: bigint;
  payouts: number;
  byModel: Record<string, bigint>;
  byDatanet: Record<string, bigint>;
  byRole: Record<string, bigint>;
}

const empty = (): EarningsTotals => ({ total: 0n, payouts: 0, byModel: {}, byDatanet: {}, byRole: {} });

function encodeTotals(t: EarningsTotals): Uint8Array {
  return Buffer.from(JSON.stringify(t, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
}

function decodeTotals(b: Uint8Array): EarningsTotals {
  return JSON.parse(Buffer.from(b).toString('utf8'), (_k, v) =>
    typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  ) as EarningsTotals;
}

const add = (rec: Record<string, bigint>, key: string, amount: bigint) => {
  rec[key] = (rec[key] ?? 0n) + amount;
};

export class EarningsIndex {
  private constructor(private readonly level: BinarySublevel) {}

  static async open(state: StateDb): Promise<EarningsIndex> {
    return new EarningsIndex(await state.sublevel('earnings'));
  }

  totals(address: Uint8Array): EarningsTotals {
    const raw = this.level.getSync(Buffer.from(address));
    return raw === undefined ? empty() : decodeTotals(raw);
  }

  /** Put operations for the payouts among `events`; `state` is the block's post-state. */
  ops(events: readonly VmEvent[], state: StateReader): ExtraOp[] {
    const s = readStores(state);
    const changed = new Map<string, { address: Uint8Array; t: EarningsTotals }>();
    for (const e of events) {
      if (e.type !== 'payout') continue;
      const to = e.attrs.to as Uint8Array;
      const amount = e.attrs.amount as bigint;
      const key = toHex(to);
      let entry = changed.get(key);
      if (entry === undefined) {
        entry = { address: to, t: this.totals(to) };
        changed.set(key, entry);
      }
      const t = entry.t;
      t.total += amount;
      t.payouts += 1;
      add(t.byRole, String(e.attrs.role), amount);
      const receipt = s.receipt(e.attrs.receipt as Uint8Array);
      if (receipt) add(t.byModel, `0x${toHex(receipt.model)}`, amount);
      const record = receipt ? s.attribution(receipt.id) : undefined;
      if (record && String(e.attrs.role).includes('contributor')) {
        // Split over the datanets of this contributor's positively scored contributions.
        const weights = new Map<string, bigint>();
        let sum = 0n;
        for (const sc of record.scores) {
          if (sc.score <= 0) continue;
          const c = s.contribution(sc.contribution);
          if (!c || toHex(c.contributor) !== key) continue;
          const dn = `0x${toHex(c.datanet)}`;
          weights.set(dn, (weights.get(dn) ?? 0n) + BigInt(sc.score));
          sum += BigInt(sc.score);
        }
        let given = 0n;
        const dns = [...weights.keys()].sort();
        dns.forEach((dn, i) => {
          const part = i === dns.length - 1 ? amount - given : (amount * weights.get(dn)!) / sum;
          given += part;
          add(t.byDatanet, dn, part);
        });
      }
    }
    return [...changed.values()].map(
      ({ address, t }) =>
        ({ type: 'put', sublevel: this.level, key: address, value: encodeTotals(t) }) as ExtraOp,
    );
  }
}
