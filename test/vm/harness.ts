import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressOf, formatAddress } from '../../core/address.js';
import { type Evidence, type Proposal, signProposal, signVote, type Vote } from '../../core/block.js';
import { receiptDelivery, signAck, signReceiptBody, type UnsignedReceiptBody } from '../../core/delivery.js';
import { sha256 } from '../../core/hash.js';
import { publicKeyOf } from '../../core/keys.js';
import {
  encodeTx,
  type InferenceRequest,
  type JobResult,
  signRequest,
  signTx,
  type Tx,
  type TxBody,
  type TxType,
  type UnsignedTxOf,
} from '../../core/tx.js';
import type { Overlay } from '../../state/overlay.js';
import { StateDb } from '../../state/stateDb.js';
import type { Job } from '../../state/stores/records.js';
import type { StateOverlay } from '../../state/types.js';
import { type BlockResult, type ExecTx, executeBlock } from '../../vm/execute.js';
import { genesisState } from '../../vm/genesis.js';
import { dueJobs, jobInputs } from '../../vm/jobs.js';
import { readStores } from '../../vm/readers.js';
import { MemState } from './memState.js';

/** Deterministic keys for tests: secret = sha256("vm-test/" + name). */
export interface Key {
  name: string;
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  address: Uint8Array;
}

export function key(name: string): Key {
  const secretKey = sha256(new TextEncoder().encode(`vm-test/${name}`));
  const publicKey = publicKeyOf(secretKey);
  return { name, secretKey, publicKey, address: addressOf(publicKey) };
}

export const OPEN = 10n ** 18n;
export const CHAIN_ID = 'ol-test';
export const GENESIS_TIME_MS = 1_767_225_600_000;

export interface GenesisOptions {
  validators?: number;
  accounts?: string[];
  balance?: bigint;
  params?: Record<string, string>;
}

export function genesisJson(opts: GenesisOptions = {}): Record<string, unknown> {
  const n = opts.validators ?? 2;
  const accounts = opts.accounts ?? ['alice', 'bob', 'carol', 'dave'];
  const balance = opts.balance ?? 1_000_000n * OPEN;
  const validators = [];
  for (let i = 0; i < n; i++) {
    validators.push({
      operator: formatAddress(key(`op${i}`).address),
      consensusKey: `0x${Buffer.from(key(`val${i}`).publicKey).toString('hex')}`,
      selfStake: (1000n * OPEN * BigInt(n - i)).toString(),
      commissionBps: 1000,
      moniker: `validator-${i}`,
    });
  }
  const names = [...accounts, ...Array.from({ length: n }, (_, i) => `op${i}`)];
  return {
    chainId: CHAIN_ID,
    genesisTimeMs: GENESIS_TIME_MS,
    params: opts.params ?? {},
    accounts: names.map((a) => ({ address: formatAddress(key(a).address), balance: balance.toString() })),
    validators,
  };
}

/** Decides each due job's result; the default passes every check and scores nothing. */
export type Resolver = (job: Job, state: StateOverlay) => JobResult;

export const defaultResolver: Resolver = (job, state) => {
  const base = {
    job: job.id,
    ok: true,
    error: '',
    scores: [],
    evidence: [],
    tokens: 0,
    weightsHash: null,
    duplicateOf: null,
  };
  const inputs = jobInputs(state, job);
  if (inputs.kind === 'attribution') return { ...base, tokens: inputs.receipt.outputTokens };
  if (inputs.kind === 'training')
    return { ...base, weightsHash: sha256(new TextEncoder().encode(`weights/${job.id}`)) };
  return base;
};

export interface BlockOptions {
  evidence?: Evidence[];
  /** Names of validators (val0, …) that signed the last commit; default all of the previous set. */
  signers?: Uint8Array[] | null;
  resolver?: Resolver;
  proposer?: Key;
  /** Override the settle tx (for invalid-block tests): null = omit it. */
  settle?: Tx | null;
}

/** A chain under test: one state, blocks one after another, nonces tracked per sender. */
export class TestChain {
  height = 0;
  timeMs = GENESIS_TIME_MS;
  private pending = new Map<string, number>();
  validatorKeys: Key[];
  resolver: Resolver = defaultResolver;

  genesisRoot: Uint8Array;

  constructor(
    public state: StateOverlay,
    genesis: Record<string, unknown> = genesisJson(),
    readonly db?: StateDb,
  ) {
    this.genesisRoot = genesisState(state, genesis);
    const n = (genesis.validators as unknown[]).length;
    this.validatorKeys = Array.from({ length: n }, (_, i) => key(`val${i}`));
  }

  static mem(genesis?: Record<string, unknown>): TestChain {
    return new TestChain(new MemState(), genesis);
  }

  /** A chain on the real LevelDB-backed StateDb in a fresh temporary directory (genesis committed). */
  static async onDisk(genesis?: Record<string, unknown>): Promise<TestChain> {
    const dir = mkdtempSync(join(tmpdir(), 'ol-vm-'));
    const db = await StateDb.open(dir);
    const c = new TestChain(db.overlay(), genesis, db);
    c.dir = dir;
    await c.commit();
    return c;
  }

  dir?: string;

  /** With a StateDb: commits the current overlay as version `height` and opens the next one. */
  async commit(): Promise<Uint8Array> {
    if (this.db === undefined) return this.state.root();
    const root = await (this.state as Overlay).commit(this.height);
    this.state = this.db.overlay();
    return root;
  }

  async close(): Promise<void> {
    if (this.db !== undefined) await this.db.close();
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  get stores() {
    return readStores(this.state);
  }

  nonceOf(k: Key): number {
    const id = k.name;
    const base = this.stores.account(k.address).nonce;
    const n = this.pending.get(id) ?? base;
    this.pending.set(id, n + 1);
    return n;
  }

  tx<K extends TxType>(k: Key, type: K, body: TxBody<K>, opts: Partial<UnsignedTxOf<K>> = {}): ExecTx {
    const unsigned = {
      version: 1,
      chainId: CHAIN_ID,
      type,
      sender: k.publicKey,
      nonce: opts.nonce ?? this.nonceOf(k),
      gasLimit: 2_000_000,
      gasPrice: 1n,
      body,
      ...opts,
    } as UnsignedTxOf<K>;
    const tx = signTx(unsigned, k.secretKey) as Tx;
    return { tx, bytes: encodeTx(tx) };
  }

  request(
    requester: Key,
    model: Uint8Array,
    modelVersion: number,
    maxFee: bigint,
    nonce: number,
    expiryHeight = this.height + 10,
  ): InferenceRequest {
    return signRequest(
      {
        chainId: CHAIN_ID,
        requester: requester.publicKey,
        model,
        modelVersion,
        promptHash: sha256(new TextEncoder().encode(`prompt/${nonce}`)),
        maxFee,
        nonce,
        expiryHeight,
      },
      requester.secretKey,
    );
  }

  settleTx(proposer: Key, results: JobResult[]): ExecTx {
    const tx = signTx(
      {
        version: 1,
        chainId: CHAIN_ID,
        type: 'attribution.settle',
        sender: proposer.publicKey,
        nonce: this.height + 1,
        gasLimit: 0,
        gasPrice: 0n,
        body: { results },
      },
      proposer.secretKey,
    ) as Tx;
    return { tx, bytes: encodeTx(tx) };
  }

  vote(v: Key, height: number, blockHash: Uint8Array | null, round = 0): Vote {
    return signVote(CHAIN_ID, { kind: 2, height, round, blockHash, validator: v.address }, v.secretKey);
  }

  proposal(v: Key, height: number, blockHash: Uint8Array, round = 0, polRound = -1): Proposal {
    return signProposal(CHAIN_ID, { height, round, polRound, blockHash, proposer: v.address }, v.secretKey);
  }

  /**
   * Executes the next block with `evidence` on a copy of the state: the error code it fails with,
   * or 'ok' (this chain is not changed either way).
   */
  tryEvidence(evidence: Evidence[]): string {
    const fresh = (this.state as unknown as { clone(): never }).clone();
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this)), this, {
      state: fresh,
    }) as TestChain;
    try {
      copy.block([], { evidence });
      return 'ok';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  }

  /** Executes the next block with `txs` (a settle tx for due jobs is prepended). */
  block(txs: ExecTx[], opts: BlockOptions = {}): BlockResult {
    const height = this.height + 1;
    const proposer = opts.proposer ?? this.validatorKeys[0];
    const all: ExecTx[] = [];
    if (opts.settle !== undefined) {
      if (opts.settle !== null) all.push({ tx: opts.settle, bytes: encodeTx(opts.settle) });
    } else {
      const due = dueJobs(this.state, height);
      if (due.length > 0) {
        const resolver = opts.resolver ?? this.resolver;
        all.push(
          this.settleTx(
            proposer,
            due.map((j) => resolver(j, this.state)),
          ),
        );
      }
    }
    all.push(...txs);
    let signers = opts.signers;
    if (signers === undefined) {
      signers = height === 1 ? null : (this.stores.validatorSet(height - 1) ?? []).map((e) => e.address);
    }
    this.pending.clear();
    const result = executeBlock(this.state, {
      chainId: CHAIN_ID,
      height,
      timeMs: this.timeMs + 1000,
      proposer: proposer.address,
      txs: all,
      lastCommitSigners: signers,
      evidence: opts.evidence ?? [],
    });
    this.height = height;
    this.timeMs += 1000;
    return result;
  }

  balance(k: Key | Uint8Array): bigint {
    return this.stores.account(k instanceof Uint8Array ? k : k.address).balance;
  }
}

/**
 * A receipt body signed by `provider` (its delivery) and, unless `requester` is null,
 * acknowledged by `requester`. Fields already in `body` (a forged signature, say) are kept.
 */
export function signedReceipt(
  body: UnsignedReceiptBody & Partial<TxBody<'inference.receipt'>>,
  provider: Key,
  requester: Key | null,
): TxBody<'inference.receipt'> {
  const ack = requester === null ? null : signAck(receiptDelivery(body), requester.secretKey);
  const signed = signReceiptBody(body, provider.secretKey, ack);
  return {
    ...signed,
    ...(body.deliverySignature !== undefined ? { deliverySignature: body.deliverySignature } : {}),
    ...(body.ack !== undefined ? { ack: body.ack } : {}),
  };
}

/** The default providerBondMin (10 OPEN): what `provider.bond` must reach before receipts. */
export const PROVIDER_BOND = 10n * OPEN;

/** The code of the (only / last) user tx of a block. */
export function codeOf(r: BlockResult, index = r.txResults.length - 1): string {
  return r.txResults[index].code;
}

/** A `datanet.create` body: an open datanet with no bond, no labels, no size cap; `over` changes fields. */
export function datanetBody(over: Partial<TxBody<'datanet.create'>> = {}): TxBody<'datanet.create'> {
  return {
    name: 'd',
    description: '',
    license: 'CC0-1.0',
    tags: [],
    curation: 'open',
    curators: [],
    bond: 0n,
    rejectForfeitBps: 0,
    contributionBytesMax: 0,
    labels: [],
    ...over,
  };
}
