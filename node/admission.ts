import { MempoolError } from './mempool.js';

/**
 * Backpressure for locally submitted transactions (JSON-RPC): a node refuses a new transaction
 * when what already waits in its mempool would take longer than `waitMaxMs` to commit at the rate
 * the chain is committing now. Without it a node accepts far more than it can commit and queues it
 * (offered 2.5× capacity, the commit latency p50 was 51 s with a 50,000-transaction mempool); with
 * it the client is told at once that the node is busy, with a hint of when to retry, and what was
 * accepted commits within about `waitMaxMs` plus a block.
 *
 * The drain rate is measured, not configured: transactions committed per second over the last
 * `RATE_WINDOW_MS`, floored at `RATE_FLOOR_PER_SEC` so an idle chain (which commits nothing
 * because nothing is offered) does not look slow. Below `backlogMin` waiting transactions nothing
 * is refused (a burst after an idle spell always gets a block's worth in).
 *
 * Local and advisory: it uses the clock and never feeds consensus or anything persisted. Gossiped
 * transactions from peers are not subject to it (another node accepted them and will keep offering
 * them; the mempool's own caps bound them), so a refusal never half-admits: a refused transaction
 * is neither in the mempool nor gossiped, and its nonce stays free for the retry.
 */

/** The window over which the commit rate is measured. */
export const RATE_WINDOW_MS = 10_000;
/** The slowest drain rate assumed, whatever was measured (transactions per second). */
export const RATE_FLOOR_PER_SEC = 200;
/** Retry hints are clamped to this range (milliseconds). */
export const RETRY_AFTER_MIN_MS = 100;
export const RETRY_AFTER_MAX_MS = 10_000;
/** The hint for a full mempool or a full sender lane: about two blocks. */
export const BUSY_RETRY_DEFAULT_MS = 1_000;
/** How many times `waitMaxMs` a sender with nothing pending may still wait. */
export const NEWCOMER_HEADROOM = 2;
/** Commits remembered for the rate (a window of 10 s at 20 ms blocks is 500). */
const COMMITS_KEPT_MAX = 1024;

export interface AdmissionLimits {
  /** Refuse when the expected wait of a new transaction exceeds this (0 = never refuse). */
  waitMaxMs: number;
  /** Never refuse while fewer transactions than this wait. */
  backlogMin: number;
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = { waitMaxMs: 2_000, backlogMin: 1_000 };

/** A refusal for backpressure: the JSON-RPC layer turns it into the BUSY error with the hint. */
export class BusyError extends MempoolError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super('BUSY', message);
  }
}

export class AdmissionControl {
  /** Recent commits as parallel rings: time (ms) and transactions committed. */
  private readonly at: number[] = [];
  private readonly txs: number[] = [];

  constructor(readonly limits: AdmissionLimits = DEFAULT_ADMISSION_LIMITS) {}

  /** Called after every commit with the number of transactions the block carried. */
  observeCommit(nowMs: number, txCount: number): void {
    this.at.push(nowMs);
    this.txs.push(txCount);
    if (this.at.length > COMMITS_KEPT_MAX) {
      this.at.shift();
      this.txs.shift();
    }
  }

  /**
   * Transactions committed per second over the window ending now. The first commit of the window
   * only marks its start (its transactions were gathered before it).
   */
  drainRatePerSec(nowMs: number): number {
    const from = nowMs - RATE_WINDOW_MS;
    let first = -1;
    for (let i = 0; i < this.at.length; i++) {
      if (this.at[i] >= from) {
        first = i;
        break;
      }
    }
    let rate = 0;
    if (first >= 0 && first < this.at.length - 1) {
      let n = 0;
      for (let i = first + 1; i < this.at.length; i++) n += this.txs[i];
      const span = Math.max(1, nowMs - this.at[first]);
      rate = (n * 1000) / span;
    }
    return Math.max(rate, RATE_FLOOR_PER_SEC);
  }

  /** Expected wait (ms) of a transaction that joins `waiting` others. */
  expectedWaitMs(waiting: number, nowMs: number): number {
    return Math.ceil((waiting * 1000) / this.drainRatePerSec(nowMs));
  }

  /**
   * Throws `BusyError` when a new transaction should be refused now. A sender with nothing
   * pending gets twice the headroom (`NEWCOMER_HEADROOM`), so one sender (or a few) flooding the
   * node cannot starve everyone else: the flooders are refused first.
   */
  check(waiting: number, nowMs: number, senderPending = 0): void {
    const { waitMaxMs, backlogMin } = this.limits;
    if (waitMaxMs === 0 || waiting < backlogMin) return;
    const wait = this.expectedWaitMs(waiting, nowMs);
    const limit = senderPending === 0 ? waitMaxMs * NEWCOMER_HEADROOM : waitMaxMs;
    if (wait <= limit) return;
    const retryAfterMs = Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, wait - limit));
    throw new BusyError(
      `node is busy: ${waiting} transactions wait (about ${wait} ms at the current commit rate, over the ${limit} ms limit); retry in ${retryAfterMs} ms`,
      retryAfterMs,
    );
  }
}
