import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evidenceCharRanges } from '../attribution/evidenceText.js';
import { predictLabel } from '../attribution/jobs.js';
import { addressOf, formatAddress } from '../core/address.js';
import { type Block, decodeBlock, headerHash } from '../core/block.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import { OlError } from '../core/errors.js';
import { decodeTx, SETTLE_TX_BYTES_MAX, type Tx, txHash } from '../core/tx.js';
import type { ChainApi, Json, Page, PageOf, SubmitMode, SubscriptionKind } from '../rpc/chainApi.js';
import { RETRYABLE_REJECTIONS, RPC_ERRORS, RpcError } from '../rpc/errors.js';
import { chainMethods, subscriptionMethods } from '../rpc/methods.js';
import { openRpcDocument } from '../rpc/openrpc.js';
import { doc } from '../rpc/schema.js';
import { type MethodDef, RpcServer } from '../rpc/server.js';
import { StaticSite } from '../rpc/site.js';
import type { EventValue, VmEvent } from '../vm/events.js';
import { acceptedContributions } from '../vm/jobs.js';
import { PARAM_SPECS } from '../vm/params.js';
import { currentParams, readStores } from '../vm/readers.js';
import { simulateTx } from '../vm/simulate.js';
import { REWARD_PRECISION } from '../vm/staking.js';
import { BUSY_RETRY_DEFAULT_MS, BusyError } from './admission.js';
import type { CommittedInfo } from './chain.js';
import { hostPort } from './config.js';
import { PAGE_LIMIT_MAX } from './indexer.js';
import type { OpenLedgerNode } from './node.js';
import { decodeResults } from './results.js';

/**
 * The node's implementation of `ChainApi` (rpc/chainApi.ts): typed reads of state, blocks and
 * indexes, transaction submission, dry runs, and subscriptions fed by commits.
 */

const VERSION = '0.1.0';

function eventJson(e: VmEvent, height?: number): Json {
  const attrs: Record<string, EventValue> = {};
  for (const [k, v] of Object.entries(e.attrs)) attrs[k] = v;
  return {
    type: e.type,
    ...(height !== undefined ? { height } : {}),
    txIndex: e.txIndex,
    addresses: e.addresses,
    attrs,
  };
}

function txJson(tx: Tx, hash: Uint8Array): Json {
  return {
    hash,
    type: tx.type,
    chainId: tx.chainId,
    sender: addressOf(tx.sender),
    senderPublicKey: tx.sender,
    nonce: tx.nonce,
    gasLimit: tx.gasLimit,
    gasPrice: tx.gasPrice,
    body: tx.body,
  };
}

function blockJson(block: Block, full: boolean): Json {
  const h = block.header;
  return {
    hash: headerHash(h),
    header: h,
    txCount: block.txs.length,
    txs: full
      ? block.txs.map((b, i) => txJson(decodeTx(b, i === 0 ? SETTLE_TX_BYTES_MAX : undefined), txHash(b)))
      : block.txs.map((b) => txHash(b)),
    lastCommit: block.lastCommit,
    evidence: block.evidence,
  };
}

/**
 * `ol_attribute` dry runs share the worker pool with the jobs validators must finish before they
 * vote; more than this many at once would let RPC clients delay consensus, so the rest are refused.
 */
export const ATTRIBUTE_DRY_RUNS_MAX = 2;

/**
 * `ol_getEvidenceText` tokenizes each cited contribution (up to 64 KiB, ~50 ms) on the main thread.
 * A receipt can cite thousands of contributions, so one call maps the ranges of at most this many
 * distinct contributions (the rest get null contribution ranges; the answer's own ranges are
 * always there), and at most `EVIDENCE_TEXT_CALLS_MAX` calls run at once (−32005 beyond).
 */
export const EVIDENCE_TEXT_CONTRIBUTIONS_MAX = 64;
export const EVIDENCE_TEXT_CALLS_MAX = 2;

export class NodeApi implements ChainApi {
  private dryRuns = 0;
  private evidenceTextCalls = 0;

  constructor(private readonly node: OpenLedgerNode) {}

  private get s() {
    return readStores(this.node.state);
  }

  status(): Json {
    const tip = this.node.chain.tip;
    const best = Math.max(tip.height, ...[...this.node.peerStatus.values()].map((s) => s.height));
    return {
      chainId: this.node.chainId,
      moniker: this.node.config.moniker,
      height: tip.height,
      latestHash: tip.hash,
      latestTimeMs: tip.timeMs,
      stateRoot: tip.stateRoot,
      syncing: best > tip.height + 1,
      peers: this.node.p2p.peers().length,
      peerId: this.node.p2p.peerId,
      validator: this.node.address === null ? null : formatAddress(this.node.address),
      isValidator:
        this.node.address !== null &&
        (this.node.valsets.get(tip.height + 1)?.indexOf(this.node.address) ?? -1) !== -1,
      mempool: { txs: this.node.mempool.size, bytes: this.node.mempool.bytes },
      consensus: { height: this.node.driver?.state.height, round: this.node.driver?.state.round },
    };
  }

  block(ref: { height?: number; hash?: Uint8Array }, full: boolean): Json | null {
    const height = ref.height ?? (ref.hash ? this.node.blocks.heightOf(ref.hash) : undefined);
    if (height === undefined) return null;
    const bytes = this.node.blocks.getBlock(height);
    if (bytes === undefined) return null;
    const block = decodeBlock(bytes);
    return blockJson(block, full);
  }

  transaction(hash: Uint8Array): Json | null {
    const loc = this.node.blocks.txLocation(hash);
    if (loc === undefined) {
      const pending = this.node.mempool.get(toHex(hash));
      return pending ? { status: 'pending', tx: txJson(pending.tx, hash) } : null;
    }
    const block = decodeBlock(this.node.blocks.getBlock(loc.height)!);
    const bytes = block.txs[loc.index];
    const results = decodeResults(this.node.blocks.getResults(loc.height)!);
    const r = results.txs[loc.index];
    return {
      status: 'committed',
      height: loc.height,
      index: loc.index,
      blockHash: headerHash(block.header),
      tx: txJson(decodeTx(bytes, loc.index === 0 ? SETTLE_TX_BYTES_MAX : undefined), hash),
      result: { code: r.code, message: r.message, charged: r.charged, gasUsed: r.gasUsed, fee: r.fee },
      events: results.events.filter((e) => e.txIndex === loc.index).map((e) => eventJson(e, loc.height)),
    };
  }

  account(address: Uint8Array): Json {
    const s = this.s;
    const a = s.account(address);
    const delegations = s.delegatorValidators(address).map((validator) => {
      const d = s.delegation(validator, address);
      const v = s.validator(validator);
      const shares = d?.shares ?? 0n;
      const stake = v && v.shares > 0n ? (shares * v.tokens) / v.shares : 0n;
      const rewards = d && v ? (d.shares * v.rewardPerShare) / REWARD_PRECISION - d.rewardDebt : 0n;
      return { validator, shares, stake, pendingRewards: rewards > 0n ? rewards : 0n };
    });
    return {
      address,
      balance: a.balance,
      nonce: a.nonce,
      staked: delegations.reduce((x, d) => x + d.stake, 0n),
      pendingRewards: delegations.reduce((x, d) => x + d.pendingRewards, 0n),
      delegations,
      validator: s.validator(address) ?? null,
    };
  }

  validators(height?: number): Json | null {
    const h = height ?? this.node.chain.tip.height + 1;
    const set = this.node.valsets.get(h);
    if (set === undefined) return null;
    const p = currentParams(this.node.state);
    const window = Number(p.downtimeWindow);
    return {
      height: h,
      totalPower: set.totalPower,
      hash: set.hash(),
      downtime: { window, missedMax: Number(p.downtimeMissedMax) },
      validators: set.validators.map((v, i) => {
        const rec = this.s.validator(v.address);
        const missed = this.s.missed(v.address);
        return {
          address: v.address,
          publicKey: v.publicKey,
          power: v.power,
          proposerPriority: set.priorities[i],
          moniker: rec?.moniker ?? '',
          operator: rec?.operator ?? null,
          commissionBps: rec?.commissionBps ?? 0,
          tokens: rec?.tokens ?? 0n,
          jailed: rec?.jailed ?? false,
          missedBlocks: missed !== undefined && missed.windowSize === window ? missed.count : 0,
        };
      }),
    };
  }

  stateProof(key: Uint8Array, height?: number): Json | null {
    const version = height ?? this.node.chain.tip.height;
    const oldest = this.node.state.oldestVersion ?? 0;
    if (version > this.node.chain.tip.height || version < oldest) return null;
    const { value, proof } = this.node.state.prove(key, version);
    const header = version === 0 ? null : decodeBlock(this.node.blocks.getBlock(version)!).header;
    return {
      height: version,
      key,
      value: value ?? null,
      proof,
      root: this.node.state.rootAt(version),
      header,
    };
  }

  async submitTransaction(bytes: Uint8Array, mode: SubmitMode, timeoutMs: number): Promise<Json> {
    let hash: Uint8Array;
    const waiter = mode === 'commit' ? this.waitForTx(txHash(bytes), timeoutMs) : undefined;
    try {
      hash = await this.node.submitTx(bytes);
    } catch (e) {
      waiter?.cancel();
      if (e instanceof OlError) {
        if (RETRYABLE_REJECTIONS.has(e.code)) {
          const retryAfterMs = e instanceof BusyError ? e.retryAfterMs : BUSY_RETRY_DEFAULT_MS;
          throw new RpcError(RPC_ERRORS.BUSY, `transaction not admitted: ${e.message}`, {
            code: e.code,
            retryAfterMs,
          });
        }
        throw new RpcError(RPC_ERRORS.TX_REJECTED, `transaction rejected: ${e.message}`, { code: e.code });
      }
      throw e;
    }
    if (waiter === undefined) return { hash, status: 'pending' };
    const committed = await waiter.promise;
    if (committed === null) {
      throw new RpcError(RPC_ERRORS.TIMEOUT, `not committed within ${timeoutMs} ms; it may still be`, {
        hash,
      });
    }
    return this.transaction(hash);
  }

  private waitForTx(
    hash: Uint8Array,
    timeoutMs: number,
  ): { promise: Promise<number | null>; cancel(): void } {
    let cancel = () => {};
    const promise = new Promise<number | null>((resolve) => {
      const off = this.node.onCommitted((info) => {
        if (info.block.txs.some((t) => bytesEqual(txHash(t), hash))) {
          finish(info.height);
        }
      });
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (v: number | null) => {
        clearTimeout(timer);
        off();
        resolve(v);
      };
      cancel = () => finish(null);
    });
    return { promise, cancel };
  }

  async simulateTransaction(bytes: Uint8Array): Promise<Json> {
    let tx: Tx;
    try {
      tx = decodeTx(bytes);
    } catch (e) {
      throw new RpcError(RPC_ERRORS.INVALID_PARAMS, (e as Error).message, { code: (e as OlError).code });
    }
    // An overlay cannot be read while a block is being written (its reads could mix versions):
    // wait for the commit in flight, then run the dry run synchronously on the new latest state.
    await this.node.chain.idle();
    const tip = this.node.chain.tip;
    const overlay = this.node.state.overlay();
    try {
      const r = simulateTx(
        overlay,
        { tx, bytes },
        { height: tip.height + 1, timeMs: Math.max(Date.now(), tip.timeMs + 1) },
      );
      return {
        code: r.code,
        message: r.message,
        charged: r.charged,
        gasUsed: r.gasUsed,
        fee: r.fee,
        events: r.events.map((e) => eventJson(e)),
      };
    } finally {
      overlay.discard();
    }
  }

  datanet(id: Uint8Array): Json | null {
    return this.s.datanet(id) ?? null;
  }

  async datanets(filter: { owner?: Uint8Array; tag?: string }, page: Page): Promise<PageOf<Json>> {
    const s = this.s;
    const r = await this.node.indexer.datanetIds(clamp(page.limit), page.cursor, (id) => {
      const d = s.datanet(id);
      if (!d) return false;
      if (filter.owner && !bytesEqual(d.owner, filter.owner)) return false;
      if (filter.tag !== undefined && !d.tags.includes(filter.tag)) return false;
      return true;
    });
    return { items: r.items.map((id) => s.datanet(id)!), next: r.next };
  }

  async contributions(
    filter: { datanet?: Uint8Array; contributor?: Uint8Array; status?: string },
    page: Page,
  ): Promise<PageOf<Json>> {
    const s = this.s;
    const r = await this.node.indexer.contributionIds(filter, clamp(page.limit), page.cursor, (id) => {
      const c = s.contribution(id);
      if (!c) return false;
      if (filter.datanet && !bytesEqual(c.datanet, filter.datanet)) return false;
      if (filter.contributor && !bytesEqual(c.contributor, filter.contributor)) return false;
      if (filter.status !== undefined && c.status !== filter.status) return false;
      return true;
    });
    return { items: r.items.map((id) => s.contribution(id)!), next: r.next };
  }

  contribution(id: Uint8Array, withContent: boolean): Json | null {
    const c = this.s.contribution(id);
    if (!c) return null;
    return withContent ? { ...c, content: this.s.content(id) ?? '' } : c;
  }

  model(id: Uint8Array): Json | null {
    const m = this.s.model(id);
    if (!m) return null;
    return { ...m, latest: this.s.modelVersion(id, m.latestVersion) ?? null };
  }

  async models(filter: { owner?: Uint8Array }, page: Page): Promise<PageOf<Json>> {
    const s = this.s;
    const r = await this.node.indexer.modelIds(clamp(page.limit), page.cursor, (id) => {
      const m = s.model(id);
      return m !== undefined && (!filter.owner || bytesEqual(m.owner, filter.owner));
    });
    return { items: r.items.map((id) => this.model(id)), next: r.next };
  }

  modelVersion(id: Uint8Array, version: number): Json | null {
    return this.s.modelVersion(id, version) ?? null;
  }

  receipt(id: Uint8Array): Json | null {
    return this.s.receipt(id) ?? null;
  }

  provider(address: Uint8Array): Json | null {
    return this.s.provider(address) ?? null;
  }

  attribution(receipt: Uint8Array): Json | null {
    return this.s.attribution(receipt) ?? null;
  }

  async earnings(address: Uint8Array, page: Page): Promise<Json> {
    const history = await this.node.indexer.eventsOf(address, clamp(page.limit), page.cursor);
    const payouts = history.items.filter(
      (e) => e.event.type === 'payout' && bytesEqual(e.event.attrs.to as Uint8Array, address),
    );
    const totals = this.node.earnings.totals(address);
    return {
      address,
      ...totals,
      history: payouts.map((p) => {
        const receipt = this.s.receipt(p.event.attrs.receipt as Uint8Array);
        return {
          height: p.height,
          receipt: p.event.attrs.receipt,
          model: receipt?.model ?? null,
          amount: p.event.attrs.amount,
          role: p.event.attrs.role,
        };
      }),
      next: history.next,
    };
  }

  job(id: number): Json | null {
    const j = this.s.job(id);
    if (!j) return null;
    const settledAt = this.node.chain.tip.height > j.height;
    return { ...j, dueHeight: j.height + 1, status: settledAt ? 'settled' : 'running' };
  }

  async attribute(modelId: Uint8Array, text: string): Promise<Json> {
    const m = this.s.model(modelId);
    if (!m) throw new RpcError(RPC_ERRORS.NOT_FOUND, 'model not found');
    if (this.dryRuns >= ATTRIBUTE_DRY_RUNS_MAX) {
      throw new RpcError(
        RPC_ERRORS.LIMIT_EXCEEDED,
        `${ATTRIBUTE_DRY_RUNS_MAX} attribution dry runs are already running; retry shortly`,
      );
    }
    this.dryRuns++;
    try {
      return await this.attributeWith(modelId, m.latestVersion, text);
    } finally {
      this.dryRuns--;
    }
  }

  private async attributeWith(modelId: Uint8Array, latestVersion: number, text: string): Promise<Json> {
    const m = { latestVersion };
    const v = this.s.modelVersion(modelId, m.latestVersion)!;
    let input = '';
    let output = text;
    if (v.method === 'influence') {
      // The classifier answers from the input; its prediction is the output to attribute.
      const corpora = v.datanets.map((d) => ({
        datanet: d.datanet,
        version: d.version,
        contributions: acceptedContributions(this.node.state, d.datanet, d.version).map((c) => ({
          id: c.id,
          content: c.content,
          label: c.label,
        })),
      }));
      input = text;
      output = (await predictLabel(v.training ?? [], corpora, text, { cacheDir: null })).label;
    }
    const r = await this.node.jobs.dryRun(v, input, output);
    const owners = new Map<string, Uint8Array>();
    for (const sc of r.scores) {
      const c = this.s.contribution(sc.contribution);
      if (c) owners.set(toHex(sc.contribution), c.contributor);
    }
    return {
      model: modelId,
      version: v.version,
      method: v.method,
      output,
      ok: r.ok,
      error: r.error,
      tokens: r.tokens,
      scores: r.scores.map((sc) => ({ ...sc, contributor: owners.get(toHex(sc.contribution)) ?? null })),
      evidence: r.evidence,
    };
  }

  proposal(id: number): Json | null {
    return this.s.proposal(id) ?? null;
  }

  async proposals(page: Page): Promise<PageOf<Json>> {
    const last = this.s.counters().nextProposal - 1;
    if (page.cursor !== undefined && !/^[1-9][0-9]{0,14}$/.test(page.cursor))
      throw new RpcError(RPC_ERRORS.INVALID_PARAMS, 'bad cursor: pass the "next" of the previous page');
    const start = page.cursor !== undefined ? Number(page.cursor) : last;
    const items: Json[] = [];
    let id = start;
    for (; id >= 1 && items.length < clamp(page.limit); id--) {
      const p = this.s.proposal(id);
      if (p) items.push(p);
    }
    return { items, next: id >= 1 ? String(id) : null };
  }

  params(): Json {
    const p = currentParams(this.node.state);
    return Object.fromEntries(PARAM_SPECS.map((spec) => [spec.key, (p as Record<string, bigint>)[spec.key]]));
  }

  events(filter: { type?: string; address?: Uint8Array; fromHeight: number; toHeight: number }): Json {
    const out: Json[] = [];
    const to = Math.min(filter.toHeight, this.node.chain.tip.height);
    for (let h = Math.max(1, filter.fromHeight); h <= to; h++) {
      const raw = this.node.blocks.getResults(h);
      if (!raw) continue;
      for (const e of decodeResults(raw).events) {
        if (filter.type !== undefined && e.type !== filter.type) continue;
        if (filter.address && !e.addresses.some((a) => bytesEqual(a, filter.address!))) continue;
        out.push(eventJson(e, h));
      }
    }
    return out;
  }

  blocks(page: Page): PageOf<Json> {
    const tip = this.node.chain.tip.height;
    if (page.cursor !== undefined && !/^[0-9]{1,15}$/.test(page.cursor))
      throw new RpcError(RPC_ERRORS.INVALID_PARAMS, 'bad cursor: pass the "next" of the previous page');
    const start = Math.min(tip, page.cursor !== undefined ? Number(page.cursor) : tip);
    const items: Json[] = [];
    let h = start;
    for (; h >= 1 && items.length < clamp(page.limit); h--) {
      const bytes = this.node.blocks.getBlock(h);
      if (bytes === undefined) break; // pruned below here
      const b = decodeBlock(bytes);
      items.push({
        height: h,
        hash: headerHash(b.header),
        timeMs: b.header.timeMs,
        proposer: b.header.proposer,
        txCount: b.txs.length,
        round: b.lastCommit?.round ?? null,
        signers: b.lastCommit?.signatures.map((sig) => sig.validator) ?? [],
      });
    }
    return { items, next: h >= 1 && items.length > 0 ? String(h) : null };
  }

  async receipts(filter: { model?: Uint8Array }, page: Page): Promise<PageOf<Json>> {
    const s = this.s;
    const r = await this.node.indexer.receiptIds(filter.model, clamp(page.limit), page.cursor);
    const items = r.items.flatMap((id) => {
      const rc = s.receipt(id);
      if (!rc) return [];
      const rec = s.attribution(id);
      return [
        {
          id,
          model: rc.model,
          modelVersion: rc.modelVersion,
          requester: rc.requester,
          provider: rc.provider,
          height: rc.height,
          status: rc.status,
          outputTokens: rc.outputTokens,
          fee: rec?.fee ?? null,
          settledHeight: rec?.height ?? null,
        },
      ];
    });
    return { items, next: r.next };
  }

  async addressEvents(address: Uint8Array, page: Page): Promise<PageOf<Json>> {
    const r = await this.node.indexer.eventsOf(address, clamp(page.limit), page.cursor);
    // One decode per block on this page, not one per event.
    const txHashes = new Map<number, Uint8Array[]>();
    const txOf = (height: number, index: number): Uint8Array | null => {
      if (index < 0) return null;
      let hashes = txHashes.get(height);
      if (hashes === undefined) {
        const bytes = this.node.blocks.getBlock(height);
        hashes = bytes ? decodeBlock(bytes).txs.map((t) => txHash(t)) : [];
        txHashes.set(height, hashes);
      }
      return hashes[index] ?? null;
    };
    return {
      items: r.items.map(({ height, event }) => ({
        ...(eventJson(event, height) as object),
        tx: txOf(height, event.txIndex),
      })),
      next: r.next,
    };
  }

  async evidenceText(receiptId: Uint8Array): Promise<Json | null> {
    if (this.evidenceTextCalls >= EVIDENCE_TEXT_CALLS_MAX) {
      throw new RpcError(
        RPC_ERRORS.LIMIT_EXCEEDED,
        `${EVIDENCE_TEXT_CALLS_MAX} evidence-text calls are already running; retry shortly`,
      );
    }
    this.evidenceTextCalls++;
    try {
      return await this.evidenceTextOf(receiptId);
    } finally {
      this.evidenceTextCalls--;
    }
  }

  private async evidenceTextOf(receiptId: Uint8Array): Promise<Json | null> {
    const s = this.s;
    const r = s.receipt(receiptId);
    const rec = s.attribution(receiptId);
    if (!r || !rec) return null;
    const v = s.modelVersion(r.model, r.modelVersion);
    const ranges = async (text: string, spans: { outputStart: number; outputEnd: number }[]) => {
      if (v === undefined || v.method !== 'span') return spans.map(() => null);
      try {
        return await evidenceCharRanges(v.params, text, spans);
      } catch {
        return spans.map(() => null); // params this mapping cannot read: no highlight, never a guess
      }
    };
    const out = await ranges(r.output, rec.evidence);
    // One tokenization per cited contribution, for all of its spans (the memo could thrash).
    const byContribution = new Map<string, number[]>();
    for (const [i, e] of rec.evidence.entries()) {
      const key = toHex(e.contribution);
      const list = byContribution.get(key);
      if (list) list.push(i);
      else if (byContribution.size < EVIDENCE_TEXT_CONTRIBUTIONS_MAX) byContribution.set(key, [i]);
    }
    const inContribution = new Map<number, { start: number; end: number; text: string } | null>();
    for (const indexes of byContribution.values()) {
      const first = rec.evidence[indexes[0]];
      const content = s.contribution(first.contribution) ? s.content(first.contribution) : undefined;
      if (content === undefined) continue;
      const rs = await ranges(
        content,
        indexes.map((i) => {
          const e = rec.evidence[i];
          return { outputStart: e.offset, outputEnd: e.offset + e.outputEnd - e.outputStart };
        }),
      );
      indexes.forEach((i, k) => {
        const range = rs[k];
        inContribution.set(i, range ? { ...range, text: content.slice(range.start, range.end) } : null);
      });
    }
    const spans = rec.evidence.map((e, i) => {
      const c = s.contribution(e.contribution);
      const inC = inContribution.get(i) ?? null;
      return {
        outputStart: e.outputStart,
        outputEnd: e.outputEnd,
        start: out[i]?.start ?? null,
        end: out[i]?.end ?? null,
        contribution: e.contribution,
        contributor: c?.contributor ?? null,
        datanet: c?.datanet ?? null,
        offset: e.offset,
        contributionStart: inC?.start ?? null,
        contributionEnd: inC?.end ?? null,
        contributionText: inC?.text ?? null,
      };
    });
    return {
      receipt: receiptId,
      model: r.model,
      modelVersion: r.modelVersion,
      method: v?.method ?? '',
      output: r.output,
      spans,
    };
  }

  subscribe(kind: SubscriptionKind, filter: Record<string, unknown>, push: (item: Json) => void): () => void {
    if (kind === 'tx') {
      // Already committed: answer at once (after the subscription id has gone out), so a client
      // that subscribes just after its tx landed is not left waiting forever.
      const hash = filter.hash as Uint8Array;
      const loc = this.node.blocks.txLocation(hash);
      if (loc !== undefined) {
        const code = decodeResults(this.node.blocks.getResults(loc.height)!).txs[loc.index].code;
        let cancelled = false;
        setImmediate(() => {
          if (!cancelled) push({ hash, height: loc.height, index: loc.index, code });
        });
        return () => {
          cancelled = true;
        };
      }
    }
    return this.node.onCommitted((info: CommittedInfo) => {
      switch (kind) {
        case 'newHeads':
          push({
            height: info.height,
            hash: info.hash,
            header: info.block.header,
            txCount: info.block.txs.length,
          });
          return;
        case 'events':
          for (const e of info.result.events) {
            if (filter.type !== undefined && e.type !== filter.type) continue;
            if (
              filter.address instanceof Uint8Array &&
              !e.addresses.some((a) => bytesEqual(a, filter.address as Uint8Array))
            )
              continue;
            push(eventJson(e, info.height));
          }
          return;
        case 'tx': {
          const i = info.block.txs.findIndex((t) => bytesEqual(txHash(t), filter.hash as Uint8Array));
          if (i >= 0)
            push({ hash: filter.hash, height: info.height, index: i, code: info.result.txResults[i].code });
          return;
        }
        case 'job':
          for (const e of info.result.events) {
            if (e.type === 'job.settled' && e.attrs.job === filter.job)
              push({ ...(eventJson(e, info.height) as object) });
          }
          return;
      }
    });
  }
}

function clamp(limit: number): number {
  return Math.max(1, Math.min(PAGE_LIMIT_MAX, limit));
}

/**
 * Methods the explorer's origin answers: every public read. Writes and dry runs are not there
 * (`ol_sendTransaction`, `ol_simulateTransaction`, `ol_estimateGas`, `ol_attribute`: the last three
 * execute on the node's CPU or worker pool), so a page served by the explorer — or anyone who can
 * reach its port — can read the chain and nothing else.
 */
export const EXPLORER_EXCLUDED_METHODS: ReadonlySet<string> = new Set([
  'ol_sendTransaction',
  'ol_simulateTransaction',
  'ol_estimateGas',
  'ol_attribute',
]);

/** Where `npm ci` (the `prepare` script) puts the built explorer. */
export const EXPLORER_DIST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'explorer', 'dist');

function rpcServer(node: OpenLedgerNode, keep: (name: string) => boolean, site?: StaticSite): RpcServer {
  const api = new NodeApi(node);
  const methods = [
    ...chainMethods(api),
    ...subscriptionMethods(api, node.config.rpc.subscriptionsMax),
  ].filter((m) => keep(m.name));
  const all: MethodDef[] = [
    ...methods,
    {
      name: 'rpc.discover',
      summary: 'The OpenRPC document describing every method of this server.',
      params: [],
      result: { name: 'document', schema: doc({ type: 'object' }) },
      handler: () => openRpcDocument(all, VERSION),
    },
  ];
  const c = node.config.rpc;
  return new RpcServer(
    all,
    {
      bodyBytesMax: c.bodyBytesMax,
      batchMax: c.batchMax,
      concurrentMax: c.concurrentMax,
      subscriptionsMax: c.subscriptionsMax,
      wsMessagesPerSec: c.wsMessagesPerSec,
      wsConnectionsMax: c.wsConnectionsMax,
      wsBufferedBytesMax: c.wsBufferedBytesMax,
      httpConnectionsMax: c.httpConnectionsMax,
    },
    site ? [] : c.cors,
    node.log.child({ mod: site ? 'explorer' : 'rpc' }),
    site,
  );
}

/** Starts the JSON-RPC server for a node, if `rpc.listen` is set. */
export async function attachRpc(node: OpenLedgerNode): Promise<RpcServer | null> {
  if (node.config.rpc.listen === '') return null;
  const server = rpcServer(node, () => true);
  const { host, port } = hostPort(node.config.rpc.listen);
  const bound = await server.listen(host, port);
  node.log.info({ rpc: `http://${bound.host}:${bound.port}/` }, 'JSON-RPC listening');
  return server;
}

/**
 * Starts the explorer, if `explorer.listen` is set: the built web app on GET, and the read-only
 * JSON-RPC methods on POST `/` and WebSocket `/ws` of the same origin (so the page's CSP can say
 * `connect-src 'self'` and no CORS is needed). Same limits as the RPC server.
 */
export async function attachExplorer(
  node: OpenLedgerNode,
  dir = EXPLORER_DIST_DIR,
): Promise<RpcServer | null> {
  if (node.config.explorer.listen === '') return null;
  const site = StaticSite.load(dir);
  const server = rpcServer(node, (name) => !EXPLORER_EXCLUDED_METHODS.has(name), site);
  const { host, port } = hostPort(node.config.explorer.listen);
  const bound = await server.listen(host, port);
  node.log.info({ explorer: `http://${bound.host}:${bound.port}/` }, 'explorer listening');
  return server;
}
