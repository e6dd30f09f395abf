import { concatBytes, fromHex, toHex, uintToBytes } from '../core/bytes.js';
import { decodeWire, encodeWire } from '../core/codec.js';
import type { BinarySublevel, ExtraOp, StateDb } from '../state/stateDb.js';
import { eventToWire, type VmEvent } from '../vm/events.js';
import { eventFromWire } from './results.js';

/**
 * Query indexes that are not consensus state: events by address (earnings history, address
 * filters), datanets and models in creation order, contributions by datanet and by contributor,
 * receipts in order and by model (the explorer's model page; added later: a data directory
 * written before has no receipt index for its old blocks).
 * Built from each block's events and written in the block's atomic commit batch, so an index
 * never runs ahead of or behind the blocks it describes.
 */

export const PAGE_LIMIT_MAX = 100;
/** A filtered listing reads at most this many index entries per page before it stops. */
export const SCAN_ENTRIES_MAX = 10_000;

export interface IndexedEvent {
  height: number;
  event: VmEvent;
}

export interface Listing<T> {
  items: T[];
  next: string | null;
}

export class Indexer {
  private constructor(
    private readonly byAddress: BinarySublevel,
    private readonly datanets: BinarySublevel,
    private readonly models: BinarySublevel,
    private readonly contribByDatanet: BinarySublevel,
    private readonly contribByContributor: BinarySublevel,
    private readonly receipts: BinarySublevel,
    private readonly receiptsByModel: BinarySublevel,
  ) {}

  static async open(state: StateDb): Promise<Indexer> {
    return new Indexer(
      await state.sublevel('ix-addr'),
      await state.sublevel('ix-datanets'),
      await state.sublevel('ix-models'),
      await state.sublevel('ix-contrib-dn'),
      await state.sublevel('ix-contrib-by'),
      await state.sublevel('ix-receipts'),
      await state.sublevel('ix-receipts-model'),
    );
  }

  ops(height: number, events: readonly VmEvent[]): ExtraOp[] {
    const ops: ExtraOp[] = [];
    const put = (sublevel: BinarySublevel, key: Uint8Array, value: Uint8Array) =>
      ops.push({ type: 'put', sublevel, key, value } as ExtraOp);
    events.forEach((e, n) => {
      const pos = concatBytes(uintToBytes(height, 8), uintToBytes(n, 4));
      const value = encodeWire([height, eventToWire(e)]);
      const seen = new Set<string>();
      for (const a of e.addresses) {
        const k = toHex(a);
        if (seen.has(k)) continue;
        seen.add(k);
        put(this.byAddress, concatBytes(a, pos), value);
      }
      const id = (name: string) => e.attrs[name] as Uint8Array;
      if (e.type === 'datanet.created') put(this.datanets, pos, id('datanet'));
      else if (e.type === 'model.registered') put(this.models, pos, id('model'));
      else if (e.type === 'contribution.submitted') {
        put(this.contribByDatanet, concatBytes(id('datanet'), pos), id('contribution'));
        put(this.contribByContributor, concatBytes(id('contributor'), pos), id('contribution'));
      } else if (e.type === 'inference.receipt') {
        put(this.receipts, pos, id('receipt'));
        put(this.receiptsByModel, concatBytes(id('model'), pos), id('receipt'));
      }
    });
    return ops;
  }

  /** Events that concern `address`, newest first. */
  async eventsOf(address: Uint8Array, limit: number, cursor?: string): Promise<Listing<IndexedEvent>> {
    return this.scan(this.byAddress, address, limit, cursor, (v) => {
      const [height, wire] = decodeWire(v, 1 << 20) as [number, unknown];
      return { height, event: eventFromWire(wire) };
    });
  }

  async datanetIds(limit: number, cursor: string | undefined, keep: (id: Uint8Array) => boolean) {
    return this.scan(this.datanets, new Uint8Array(0), limit, cursor, (v) => new Uint8Array(v), keep);
  }

  async modelIds(limit: number, cursor: string | undefined, keep: (id: Uint8Array) => boolean) {
    return this.scan(this.models, new Uint8Array(0), limit, cursor, (v) => new Uint8Array(v), keep);
  }

  /** Receipt ids newest first, all or of one model. */
  async receiptIds(model: Uint8Array | undefined, limit: number, cursor: string | undefined) {
    return model
      ? this.scan(this.receiptsByModel, model, limit, cursor, (v) => new Uint8Array(v))
      : this.scan(this.receipts, new Uint8Array(0), limit, cursor, (v) => new Uint8Array(v));
  }

  async contributionIds(
    by: { datanet?: Uint8Array; contributor?: Uint8Array },
    limit: number,
    cursor: string | undefined,
    keep: (id: Uint8Array) => boolean,
  ) {
    if (by.datanet)
      return this.scan(this.contribByDatanet, by.datanet, limit, cursor, (v) => new Uint8Array(v), keep);
    if (by.contributor) {
      return this.scan(
        this.contribByContributor,
        by.contributor,
        limit,
        cursor,
        (v) => new Uint8Array(v),
        keep,
      );
    }
    return this.scan(this.contribByDatanet, new Uint8Array(0), limit, cursor, (v) => new Uint8Array(v), keep);
  }

  /**
   * Newest-first scan of keys starting with `prefix`, strictly before `cursor` (hex of a key), with
   * an optional filter; stops after `SCAN_ENTRIES_MAX` entries so a sparse filter stays bounded.
   */
  private async scan<T>(
    level: BinarySublevel,
    prefix: Uint8Array,
    limit: number,
    cursor: string | undefined,
    map: (v: Buffer) => T,
    keep: (v: T) => boolean = () => true,
  ): Promise<Listing<T>> {
    const end = Buffer.from(concatBytes(prefix, new Uint8Array(64).fill(0xff)));
    // A cursor from another listing (another address, another model) must not walk into keys of
    // other prefixes: it is clamped to this prefix's range.
    const given = cursor !== undefined ? Buffer.from(fromHex(cursor)) : end;
    const lt = Buffer.compare(given, end) > 0 ? end : given;
    const gte = Buffer.from(prefix);
    const items: T[] = [];
    let next: string | null = null;
    let scanned = 0;
    for await (const [k, v] of level.iterator({ gte, lt, reverse: true })) {
      scanned++;
      const item = map(v);
      if (keep(item)) items.push(item);
      if (items.length >= limit || scanned >= SCAN_ENTRIES_MAX) {
        next = toHex(k);
        break;
      }
    }
    return { items, next };
  }
}
