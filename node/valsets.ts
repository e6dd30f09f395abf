import { ValidatorSet } from '../consensus/validatorSet.js';
import { VALIDATORS_MAX } from '../core/block.js';
import { bytesN, decode, encode, int, list, struct, uint } from '../core/codec.js';
import { StorageError } from '../core/errors.js';
import type { BinarySublevel, ExtraOp, StateDb } from '../state/stateDb.js';
import { heightKey } from './blockStore.js';

/**
 * Consensus validator sets by height, with their proposer priorities (CometBFT keeps these in its
 * state store too). Priorities depend on the whole history of sets, so a restarted or syncing node
 * reads them back rather than recomputing from genesis. Written in the same atomic batch as the
 * block that decided them: committing block h stores set(h + 2).
 */
const valsetSchema = struct('valset', [
  [
    'validators',
    list(
      struct('validator', [
        ['address', bytesN(20)],
        ['publicKey', bytesN(32)],
        ['power', uint()],
      ] as const),
      VALIDATORS_MAX,
    ),
  ],
  ['priorities', list(int(), VALIDATORS_MAX)],
  ['proposer0', uint(VALIDATORS_MAX)],
] as const);

export function encodeValidatorSet(set: ValidatorSet): Uint8Array {
  return encode(valsetSchema, {
    validators: set.validators.map((v) => ({ address: v.address, publicKey: v.publicKey, power: v.power })),
    priorities: [...set.priorities],
    proposer0: set.proposer0,
  });
}

export function decodeValidatorSet(bytes: Uint8Array): ValidatorSet {
  const v = decode(valsetSchema, bytes, 64 * 1024, 'valset');
  return ValidatorSet.fromParts(v.validators, v.priorities, v.proposer0);
}

export class ValsetStore {
  private readonly cache = new Map<number, ValidatorSet>();

  private constructor(private readonly level: BinarySublevel) {}

  static async open(state: StateDb): Promise<ValsetStore> {
    return new ValsetStore(await state.sublevel('valsets'));
  }

  putOp(height: number, set: ValidatorSet): ExtraOp {
    return {
      type: 'put',
      sublevel: this.level,
      key: heightKey(height),
      value: encodeValidatorSet(set),
    } as ExtraOp;
  }

  /** Remembers a set that was just committed (avoids a read back). */
  remember(height: number, set: ValidatorSet): void {
    this.cache.set(height, set);
    if (this.cache.size > 64) {
      const oldest = Math.min(...this.cache.keys());
      this.cache.delete(oldest);
    }
  }

  get(height: number): ValidatorSet | undefined {
    const hit = this.cache.get(height);
    if (hit) return hit;
    const raw = this.level.getSync(Buffer.from(heightKey(height)));
    if (raw === undefined) return undefined;
    try {
      const set = decodeValidatorSet(new Uint8Array(raw));
      this.remember(height, set);
      return set;
    } catch (e) {
      throw new StorageError(
        'CORRUPT_VALSET',
        `validator set of height ${height} is corrupt: ${(e as Error).message}`,
      );
    }
  }

  require(height: number): ValidatorSet {
    const set = this.get(height);
    if (set === undefined)
      throw new StorageError('NO_VALSET', `no validator set stored for height ${height}`);
    return set;
  }
}
