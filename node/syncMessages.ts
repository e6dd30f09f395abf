import { BLOCK_BYTES_MAX, COMMIT_BYTES_MAX } from '../core/block.js';
import { CHAIN_ID_BYTES_MAX } from '../core/chain.js';
import { bytesMax, bytesN, decode, encode, list, nullable, oneOf, str, struct, uint } from '../core/codec.js';

/**
 * Messages of the request/response protocols (DESIGN §8): `/ol/<chain>/status/1` and
 * `/ol/<chain>/blocks/1`. Canonical codec like everything else; strict decoding with limits.
 */

export const BLOCKS_PER_REQUEST_MAX = 64;
export const BLOCKS_RESPONSE_BYTES_MAX = 24 * 1024 * 1024;

export const statusSchema = struct('status', [
  ['chainId', str(CHAIN_ID_BYTES_MAX)],
  ['height', uint()],
  ['latestHash', bytesN(32)],
  /** Lowest height this node can serve blocks for. */
  ['earliestHeight', uint()],
] as const);
export type Status = ReturnType<typeof statusSchema.fromWire>;

export const blocksRequestSchema = struct('blocksRequest', [
  /** 'range' asks for committed blocks [from, to]; 'hash' asks for one block by hash (committed or proposed). */
  ['kind', oneOf(['range', 'hash'] as const)],
  ['from', uint()],
  ['to', uint()],
  ['hash', nullable(bytesN(32))],
] as const);
export type BlocksRequest = ReturnType<typeof blocksRequestSchema.fromWire>;

export const blockWithCommitSchema = struct('blockWithCommit', [
  ['block', bytesMax(BLOCK_BYTES_MAX)],
  /** The commit certificate for this block; empty for a proposal that is not decided yet. */
  ['commit', bytesMax(COMMIT_BYTES_MAX)],
] as const);
export type BlockWithCommit = ReturnType<typeof blockWithCommitSchema.fromWire>;

export const blocksResponseSchema = list(blockWithCommitSchema, BLOCKS_PER_REQUEST_MAX);

export const encodeStatus = (s: Status) => encode(statusSchema, s);
export const decodeStatus = (b: Uint8Array) => decode(statusSchema, b, 256, 'status');
export const encodeBlocksRequest = (r: BlocksRequest) => encode(blocksRequestSchema, r);
export const decodeBlocksRequest = (b: Uint8Array) => decode(blocksRequestSchema, b, 128, 'blocksRequest');
export const encodeBlocksResponse = (r: BlockWithCommit[]) => encode(blocksResponseSchema, r);
export const decodeBlocksResponse = (b: Uint8Array) =>
  decode(blocksResponseSchema, b, BLOCKS_RESPONSE_BYTES_MAX, 'blocksResponse');
