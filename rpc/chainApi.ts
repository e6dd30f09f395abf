/**
 * What the JSON-RPC server needs from a node (DESIGN §1: `rpc` never imports `node`; `node`
 * implements this). Values are domain values — bigint amounts, Uint8Array bytes — and the server
 * turns them into JSON (decimal strings, 0x hex). `null` means "not found".
 */

export type Json = unknown;

export interface Page {
  /** Opaque cursor from a previous page, or undefined for the first. */
  cursor?: string;
  limit: number;
}

export interface PageOf<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null at the end. */
  next: string | null;
}

export type SubmitMode = 'sync' | 'commit';

export type SubscriptionKind = 'newHeads' | 'events' | 'tx' | 'job';

export interface ChainApi {
  status(): Json;
  block(ref: { height?: number; hash?: Uint8Array }, full: boolean): Json | null;
  transaction(hash: Uint8Array): Json | null;
  account(address: Uint8Array): Json;
  validators(height?: number): Json | null;
  stateProof(key: Uint8Array, height?: number): Json | null;

  submitTransaction(bytes: Uint8Array, mode: SubmitMode, timeoutMs: number): Promise<Json>;
  simulateTransaction(bytes: Uint8Array): Promise<Json>;

  datanet(id: Uint8Array): Json | null;
  datanets(filter: { owner?: Uint8Array; tag?: string }, page: Page): Promise<PageOf<Json>>;
  contributions(
    filter: { datanet?: Uint8Array; contributor?: Uint8Array; status?: string },
    page: Page,
  ): Promise<PageOf<Json>>;
  contribution(id: Uint8Array, withContent: boolean): Json | null;

  model(id: Uint8Array): Json | null;
  models(filter: { owner?: Uint8Array }, page: Page): Promise<PageOf<Json>>;
  modelVersion(id: Uint8Array, version: number): Json | null;

  receipt(id: Uint8Array): Json | null;
  provider(address: Uint8Array): Json | null;
  attribution(receipt: Uint8Array): Json | null;
  earnings(address: Uint8Array, page: Page): Promise<Json>;
  job(id: number): Json | null;
  attribute(model: Uint8Array, text: string): Promise<Json>;

  proposal(id: number): Json | null;
  proposals(page: Page): Promise<PageOf<Json>>;
  params(): Json;

  events(filter: { type?: string; address?: Uint8Array; fromHeight: number; toHeight: number }): Json;

  // ---- indexed, paginated queries for explorers (each page reads at most `limit` index entries
  // or blocks, never the whole chain)
  /** Block summaries newest first, from the tip or below the cursor (a height). */
  blocks(page: Page): PageOf<Json>;
  /** Receipts newest first, all or of one model. */
  receipts(filter: { model?: Uint8Array }, page: Page): Promise<PageOf<Json>>;
  /** Events naming `address`, newest first, each with the hash of its transaction. */
  addressEvents(address: Uint8Array, page: Page): Promise<PageOf<Json>>;
  /** A receipt's evidence spans as character ranges of its output and of the cited contributions. */
  evidenceText(receipt: Uint8Array): Promise<Json | null>;

  /** Calls `push` for every matching item until the returned function is called. */
  subscribe(kind: SubscriptionKind, filter: Record<string, unknown>, push: (item: Json) => void): () => void;
}
