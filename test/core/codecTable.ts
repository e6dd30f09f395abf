import type fc from 'fast-check';
import {
  decodeBlock,
  decodeCommit,
  decodeEvidence,
  decodeHeader,
  decodeProposal,
  decodeVote,
  encodeBlock,
  encodeCommit,
  encodeEvidence,
  encodeHeader,
  encodeProposal,
  encodeVote,
} from '../../core/block.js';
import { decodeDelivery, encodeDelivery } from '../../core/delivery.js';
import {
  decodeInferenceRequest,
  decodeJobResult,
  decodeTx,
  encodeInferenceRequest,
  encodeJobResult,
  encodeTx,
  TX_TYPES,
} from '../../core/tx.js';
import * as arb from './arbitraries.js';

/** One decoder under test: how to generate values, encode them and decode them strictly. */
export interface CodecCase {
  name: string;
  arbitrary: fc.Arbitrary<unknown>;
  encode: (value: unknown) => Uint8Array;
  decode: (bytes: Uint8Array) => unknown;
}

const entry = <T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  encode: (v: T) => Uint8Array,
  decode: (b: Uint8Array) => T,
): CodecCase => ({
  name,
  arbitrary: arbitrary as fc.Arbitrary<unknown>,
  encode: encode as (v: unknown) => Uint8Array,
  decode,
});

/** Every public decoder, with a tx entry per type so each body schema is exercised. */
export const CODECS: readonly CodecCase[] = [
  ...TX_TYPES.map((t) => entry(`tx ${t}`, arb.tx(t), encodeTx, (b) => decodeTx(b))),
  entry('header', arb.header(), encodeHeader, decodeHeader),
  entry('block', arb.block(), encodeBlock, decodeBlock),
  entry('vote', arb.vote(), encodeVote, decodeVote),
  entry('proposal', arb.proposal(), encodeProposal, decodeProposal),
  entry('commit', arb.commit(), encodeCommit, decodeCommit),
  entry('evidence', arb.evidence(), encodeEvidence, decodeEvidence),
  entry('inference request', arb.inferenceRequest(), encodeInferenceRequest, decodeInferenceRequest),
  entry('job result', arb.jobResult(), encodeJobResult, decodeJobResult),
  entry('delivery', arb.delivery(), encodeDelivery, decodeDelivery),
];

/** The distinct decoders (tx once), with their encoders, for fuzzing: every input goes through all. */
export const DECODERS: readonly {
  name: string;
  decode: (b: Uint8Array) => unknown;
  encode: (v: unknown) => Uint8Array;
}[] = [
  { name: 'decodeTx', decode: (b) => decodeTx(b), encode: encodeTx },
  { name: 'decodeHeader', decode: decodeHeader, encode: encodeHeader },
  { name: 'decodeBlock', decode: decodeBlock, encode: encodeBlock },
  { name: 'decodeVote', decode: decodeVote, encode: encodeVote },
  { name: 'decodeProposal', decode: decodeProposal, encode: encodeProposal },
  { name: 'decodeCommit', decode: decodeCommit, encode: encodeCommit },
  { name: 'decodeEvidence', decode: decodeEvidence, encode: encodeEvidence },
  { name: 'decodeInferenceRequest', decode: decodeInferenceRequest, encode: encodeInferenceRequest },
  { name: 'decodeJobResult', decode: decodeJobResult, encode: encodeJobResult },
  { name: 'decodeDelivery', decode: decodeDelivery, encode: encodeDelivery },
] as {
  name: string;
  decode: (b: Uint8Array) => unknown;
  encode: (v: unknown) => Uint8Array;
}[];
