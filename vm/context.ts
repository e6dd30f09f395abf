import { sha256 } from '../core/hash.js';
import type { JobKind, Totals } from '../state/stores/records.js';
import { Stores } from '../state/stores/stores.js';
import type { StateOverlay } from '../state/types.js';
import { txError } from './errors.js';
import { EventSink } from './events.js';
import { GasMeter } from './gas.js';
import { num, type Params } from './params.js';
import { TxBuffer } from './txBuffer.js';

/**
 * Per-block execution context (consensus-critical). All writes go through one TxBuffer so a
 * failing tx body can be discarded; block steps (begin, settle, end) flush it themselves.
 */

/** Module addresses: never a key's address (sha256 of a tag, not of a public key). */
export const TREASURY_ADDRESS = sha256(new TextEncoder().encode('ol/module/treasury')).slice(0, 20);
export const VALIDATORS_POOL_ADDRESS = sha256(new TextEncoder().encode('ol/module/validators')).slice(0, 20);

export interface CreatedJob {
  id: number;
  kind: JobKind;
  subject: Uint8Array;
}

export class BlockCtx {
  readonly buffer: TxBuffer;
  readonly s: Stores;
  readonly sink = new EventSink();
  /** Block fees + validators' inference shares, paid to the active set at end block. */
  rewardPool = 0n;
  /** Jobs created by committed txs of this block. */
  readonly jobs: CreatedJob[] = [];
  /** Jobs created by the tx being executed (committed to `jobs` on success). */
  txJobs: CreatedJob[] = [];
  /** Something changed bonded stake or jailing: recompute the set at end block. */
  stakingDirty = false;
  gas: GasMeter = new GasMeter(Number.MAX_SAFE_INTEGER, 0);

  constructor(
    readonly state: StateOverlay,
    public params: Params,
    readonly chainId: string,
    readonly height: number,
    readonly timeMs: number,
    readonly proposer: Uint8Array,
  ) {
    this.buffer = new TxBuffer(state);
    this.s = new Stores(this.buffer);
  }

  credit(address: Uint8Array, amount: bigint): void {
    if (amount === 0n) return;
    const a = this.s.account(address);
    a.balance += amount;
    this.s.setAccount(address, a);
  }

  debit(
    address: Uint8Array,
    amount: bigint,
    code: 'INSUFFICIENT_FUNDS' | 'REQUESTER_INSUFFICIENT_FUNDS' = 'INSUFFICIENT_FUNDS',
  ): void {
    if (amount === 0n) return;
    const a = this.s.account(address);
    if (a.balance < amount) throw txError(code, `balance ${a.balance} is below ${amount}`);
    a.balance -= amount;
    this.s.setAccount(address, a);
  }

  /** Adds signed deltas to the supply counters. */
  totals(delta: Partial<Totals>): void {
    const t = this.s.totals();
    for (const k of Object.keys(delta) as (keyof Totals)[]) {
      const v = t[k] + (delta[k] as bigint);
      if (v < 0n) throw new Error(`supply counter ${k} would go negative`);
      t[k] = v;
    }
    this.s.setTotals(t);
  }

  createJob(kind: JobKind, subject: Uint8Array, version: number, thresholdBps = 0): number {
    if (this.jobs.length + this.txJobs.length >= num(this.params.jobsPerBlockMax)) {
      throw txError('BLOCK_JOBS_FULL', `this block already creates ${this.params.jobsPerBlockMax} jobs`);
    }
    const c = this.s.counters();
    const id = c.nextJob;
    c.nextJob++;
    this.s.setCounters(c);
    this.s.setJob({ id, kind, height: this.height, subject, version, thresholdBps });
    this.txJobs.push({ id, kind, subject });
    this.sink.emit('job.created', [], { job: id, kind, subject });
    return id;
  }
}
