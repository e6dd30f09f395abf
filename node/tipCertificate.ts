import { extendCommit } from '../consensus/commit.js';
import { addressKey, type ValidatorSet } from '../consensus/validatorSet.js';
import type { Commit, Vote } from '../core/block.js';
import type { ValsetStore } from './valsets.js';

/**
 * The tip's certificate as this node knows it (late precommits added), and the proposer's grace
 * for late precommits: who it waits for and for how long. Local policy only — which valid
 * certificate a proposer carries is its choice, and every receiver checks it.
 */

/**
 * The next proposer waits for a validator's late precommit while it was seen in one of the last
 * this many certificates (`TipCertificate.decided`).
 */
export const CERTIFICATE_AWAIT_BLOCKS = 20;

/**
 * Does `commit` carry the precommit of every member of `set` in `awaited` (`addressKey`s; null:
 * every member)? The proposer's wait for late precommits ends when it does. Local policy only:
 * which valid certificate a proposer carries is its choice, and every receiver checks it.
 */
export function certificateHasAwaited(
  commit: Commit,
  set: ValidatorSet,
  awaited: ReadonlySet<string> | null,
): boolean {
  const signed = new Set(commit.signatures.map((s) => addressKey(s.validator)));
  for (const v of set.validators) {
    const key = addressKey(v.address);
    if ((awaited === null || awaited.has(key)) && !signed.has(key)) return false;
  }
  return true;
}

function isMember(set: ValidatorSet, key: string): boolean {
  return set.indexOf(Buffer.from(key, 'latin1')) >= 0;
}

export interface TipCertificateDeps {
  readonly valsets: Pick<ValsetStore, 'get'>;
  /** The committed tip's height (only its certificate grows). */
  tipHeight(): number;
  /** `consensus.certificateGraceMs`. */
  readonly graceMs: number;
}

export class TipCertificate {
  /** The most complete certificate known for the tip (extended with late precommits). */
  private tipCertificate: Commit | null = null;
  private tipDecidedAt = 0;
  /**
   * The validators the next proposer waits for (`addressKey`s; null: wait for all): those in a
   * certificate (as this node last saw it, late precommits included) of the last
   * `CERTIFICATE_AWAIT_BLOCKS` heights.
   */
  private awaitedSigners: Set<string> | null = null;
  /** Per validator, the last height whose certificate it was seen in (or first seen in the set). */
  private readonly signedAt = new Map<string, number>();
  private readonly certificateWaiters: (() => void)[] = [];

  constructor(private readonly deps: TipCertificateDeps) {}

  /** The height of the certificate held, if any. */
  get height(): number | undefined {
    return this.tipCertificate?.height;
  }

  /** The certificate held for `height`, if it is that height's (the next proposal's last commit). */
  best(height: number): Commit | undefined {
    return this.tipCertificate !== null && this.tipCertificate.height === height
      ? this.tipCertificate
      : undefined;
  }

  /** `height` was committed with `commit`: it becomes the tip's certificate. */
  decided(height: number, commit: Commit): void {
    this.awaitedSigners = this.recordSigners(height);
    this.tipCertificate = commit;
    this.tipDecidedAt = Date.now();
  }

  /**
   * Adds checked precommits for the tip's block to its certificate (consensus/commit.ts
   * `extendCommit`). True when one was added (then worth forwarding: the next proposer needs it).
   * The committed block and its stored certificate never change; only the next proposal's last
   * commit grows.
   */
  extend(votes: readonly Vote[]): boolean {
    const c = this.tipCertificate;
    if (c === null || c.height !== this.deps.tipHeight()) return false;
    const extended = extendCommit(c, votes);
    if (extended === c) return false;
    this.tipCertificate = extended;
    const set = this.deps.valsets.get(extended.height);
    if (set === undefined || certificateHasAwaited(extended, set, this.awaitedSigners)) {
      for (const wake of this.certificateWaiters.splice(0)) wake();
    }
    return true;
  }

  /**
   * On the decision of `height`: who signed the certificates seen so far (the previous tip's, as
   * extended by late precommits), and so who the proposer of height + 1 waits for.
   */
  private recordSigners(height: number): Set<string> | null {
    const previous = this.tipCertificate;
    if (previous !== null && previous.height === height - 1) {
      for (const s of previous.signatures) this.signedAt.set(addressKey(s.validator), previous.height);
    }
    const set = this.deps.valsets.get(height);
    if (set === undefined) return null;
    const awaited = new Set<string>();
    for (const v of set.validators) {
      const key = addressKey(v.address);
      // A validator not seen yet gets the benefit of the doubt for a full stretch.
      if (!this.signedAt.has(key)) this.signedAt.set(key, height);
      if (this.signedAt.get(key)! >= height - CERTIFICATE_AWAIT_BLOCKS) awaited.add(key);
    }
    // Bounded by the set: validators that left are forgotten.
    for (const key of [...this.signedAt.keys()])
      if (!awaited.has(key) && !isMember(set, key)) this.signedAt.delete(key);
    return awaited;
  }

  /**
   * Before proposing h+1: wait until the certificate of h holds the precommit of every validator
   * seen in one of the last `CERTIFICATE_AWAIT_BLOCKS` certificates (`certificateHasAwaited`), or until
   * `consensus.certificateGraceMs` after the decision — whichever comes first. The pause between
   * blocks usually covers it (then there is no wait at all); when rounds take longer than the
   * block time, this grace is what lets a validator that voted a little after the quorum still be
   * counted as present (CometBFT waits `timeout_commit` after every commit for the same reason).
   * A validator that is down drops out of the awaited after `CERTIFICATE_AWAIT_BLOCKS`, so it costs
   * at most that many graces, not one per block; a slow one that signs now and then stays awaited
   * (waiting only for the previous certificate's signers kept a validator that lagged at startup
   * out: nobody waited for it, so it kept lagging, absent from 61 of the first 150 last commits).
   */
  settled(height: number): Promise<void> {
    const c = this.tipCertificate;
    const set = this.deps.valsets.get(height);
    if (c === null || c.height !== height || set === undefined) return Promise.resolve();
    if (certificateHasAwaited(c, set, this.awaitedSigners)) return Promise.resolve();
    const left = this.tipDecidedAt + this.deps.graceMs - Date.now();
    if (left <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, left);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.certificateWaiters.push(done);
    });
  }
}
