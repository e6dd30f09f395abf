import { describe, expect, it } from 'vitest';
import {
  BLOCK_BYTES_MAX,
  COMMIT_BYTES_MAX,
  commitSchema,
  decodeBlock,
  decodeCommit,
  decodeEvidence,
  decodeHeader,
  decodeProposal,
  decodeVote,
  EVIDENCE_BYTES_MAX,
  encodeVote,
  HEADER_BYTES_MAX,
  PROPOSAL_BYTES_MAX,
  proposalSchema,
  ROUND_MAX,
  VALIDATORS_MAX,
  VOTE_BYTES_MAX,
  type Vote,
} from '../../core/block.js';
import { concatBytes } from '../../core/bytes.js';
import {
  AMOUNT_BYTES_MAX,
  amount,
  CODEC_DEPTH_MAX,
  decode,
  encode,
  encodeWire,
  scanWire,
  str,
  struct,
  uint,
  type Wire,
} from '../../core/codec.js';
import { CodecError } from '../../core/errors.js';
import {
  CONTRIBUTION_BYTES_MAX,
  decodeInferenceRequest,
  decodeJobResult,
  decodeTx,
  encodeTx,
  INFERENCE_REQUEST_BYTES_MAX,
  SETTLE_TX_BYTES_MAX,
  TAGS_MAX,
  TX_BYTES_MAX,
  type Tx,
  type TxOf,
  txSchema,
} from '../../core/tx.js';

/** Runs `fn` and returns the CodecError it throws; fails the test if it throws anything else. */
function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return e as CodecError;
  }
  throw new Error('expected a CodecError, but nothing was thrown');
}

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

const transfer: TxOf<'transfer'> = {
  version: 1,
  chainId: 'abc',
  type: 'transfer',
  sender: new Uint8Array(32).fill(7),
  nonce: 5,
  gasLimit: 21_000,
  gasPrice: 1000n,
  body: { to: new Uint8Array(20).fill(9), amount: 10n ** 18n },
  signature: new Uint8Array(64).fill(1),
};

/** The wire tuple of a tx, to tamper with before encoding it raw (bypassing encode's checks). */
const txWire = (tx: Tx): Wire[] => txSchema.toWire(tx) as Wire[];

const vote: Vote = {
  kind: 1,
  height: 5,
  round: 0,
  blockHash: null,
  validator: new Uint8Array(20),
  signature: new Uint8Array(64),
};

describe('size limits are checked before decoding', () => {
  it.each([
    ['tx', (b: Uint8Array) => decodeTx(b), TX_BYTES_MAX],
    ['header', decodeHeader, HEADER_BYTES_MAX],
    ['block', decodeBlock, BLOCK_BYTES_MAX],
    ['vote', decodeVote, VOTE_BYTES_MAX],
    ['proposal', decodeProposal, PROPOSAL_BYTES_MAX],
    ['commit', decodeCommit, COMMIT_BYTES_MAX],
    ['evidence', decodeEvidence, EVIDENCE_BYTES_MAX],
    ['inference request', decodeInferenceRequest, INFERENCE_REQUEST_BYTES_MAX],
    ['job result', decodeJobResult, SETTLE_TX_BYTES_MAX],
  ] as const)('%s: one byte over the limit is TOO_LARGE, at the limit it is parsed', (_name, dec, max) => {
    expect(codecError(() => dec(new Uint8Array(max + 1))).code).toBe('TOO_LARGE');
    // All zero bytes: a fixint 0 then trailing bytes, so parsing got past the size check.
    expect(codecError(() => dec(new Uint8Array(max))).code).toBe('TRAILING_BYTES');
  });

  it('rejects empty input and non-byte input', () => {
    expect(codecError(() => decodeTx(new Uint8Array(0))).code).toBe('EMPTY');
    for (const junk of ['0x00', null, undefined, [0x90], 42, { length: 1 }]) {
      expect(codecError(() => decodeTx(junk as unknown as Uint8Array)).code).toBe('NOT_BYTES');
    }
  });

  it('decodes from a Buffer view at an offset into a larger buffer, and copies out what it returns', () => {
    const bytes = encodeTx(transfer);
    const big = Buffer.concat([Buffer.alloc(5, 0xee), Buffer.from(bytes), Buffer.alloc(5, 0xee)]);
    const view = big.subarray(5, 5 + bytes.length);
    const tx = decodeTx(view);
    expect(tx).toEqual(transfer);
    view.fill(0);
    expect(tx.sender).toEqual(transfer.sender);
    expect(tx.signature).toEqual(transfer.signature);
  });

  it('an encoding owns its buffer: it can be transferred to a worker without breaking the encoder', () => {
    const bytes = encodeTx(transfer);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    const copy = Uint8Array.from(bytes);
    const moved = structuredClone(bytes, { transfer: [bytes.buffer as ArrayBuffer] });
    expect(bytes.length).toBe(0); // detached
    expect(moved).toEqual(copy);
    expect(encodeTx(transfer)).toEqual(copy);
    expect(decodeTx(encodeTx(transfer))).toEqual(transfer);
  });

  it('a settle tx over TX_BYTES_MAX decodes only with the settle limit', () => {
    const settle: TxOf<'attribution.settle'> = {
      ...transfer,
      type: 'attribution.settle',
      body: {
        results: Array.from({ length: 70 }, (_, job) => ({
          job,
          ok: true,
          error: '',
          scores: Array.from({ length: 60 }, (_, i) => ({
            contribution: new Uint8Array(32).fill(i),
            score: i,
          })),
          evidence: [],
          tokens: 0,
          weightsHash: null,
          duplicateOf: null,
        })),
      },
    };
    const bytes = encodeTx(settle);
    expect(bytes.length).toBeGreaterThan(TX_BYTES_MAX);
    expect(codecError(() => decodeTx(bytes)).code).toBe('TOO_LARGE');
    expect(decodeTx(bytes, SETTLE_TX_BYTES_MAX)).toEqual(settle);
  });
});

describe('the structural pre-scan rejects lies about length before allocating', () => {
  it.each([
    ['array32 of 2^32 - 1 items', 'dd ffffffff'],
    ['array32 of 2^32 - 1 items, nested', '91 dd ffffffff 00'],
    ['array16 of 65535 items', 'dc ffff 00 00'],
    ['a 4 GiB string', 'db ffffffff 61'],
    ['a 64 KiB string', 'da ffff 61'],
    ['a 4 GiB byte string', 'c6 ffffffff 00'],
    ['a byte string cut short', 'c4 05 0102'],
    ['a header cut short', 'dd 0000'],
    ['a uint32 cut short', 'ce 0000'],
    ['a float64 cut short', 'cb 3ff0'],
  ])('%s → TRUNCATED', (_name, h) => {
    for (const dec of [(b: Uint8Array) => decodeTx(b), decodeBlock, decodeVote]) {
      expect(codecError(() => dec(hex(h))).code).toBe('TRUNCATED');
    }
  });

  it.each([
    ['fixmap', '81 00 00'],
    ['empty fixmap', '80'],
    ['map16', 'de 0000'],
    ['map32', 'df 00000000'],
    ['fixext 1', 'd4 01 00'],
    ['fixext 16', 'd8 01 00000000000000000000000000000000'],
    ['ext8', 'c7 01 01 00'],
    ['ext16', 'c8 0001 01 00'],
    ['ext32', 'c9 00000001 01 00'],
    ['float32', 'ca 3f800000'],
    ['uint64', 'cf 0000000100000000'],
    ['int64', 'd3 ffffffffffffffff'],
    ['the never-used byte 0xc1', 'c1'],
    ['a map inside an array', '92 00 80'],
  ])('%s → UNSUPPORTED_TYPE', (_name, h) => {
    expect(codecError(() => decodeTx(hex(h))).code).toBe('UNSUPPORTED_TYPE');
    expect(() => scanWire(hex(h))).toThrow(CodecError);
  });

  it(`accepts arrays nested ${CODEC_DEPTH_MAX} deep and rejects one level more`, () => {
    const nested = (depth: number) => concatBytes(new Uint8Array(depth).fill(0x91), Uint8Array.of(0));
    expect(() => scanWire(nested(CODEC_DEPTH_MAX))).not.toThrow();
    expect(codecError(() => scanWire(nested(CODEC_DEPTH_MAX + 1))).code).toBe('TOO_DEEP');
    // Deep hostile input fails fast, without recursion.
    expect(codecError(() => decodeBlock(nested(100_000))).code).toBe('TOO_DEEP');
  });

  it('rejects bytes after the value', () => {
    const bytes = concatBytes(encodeVote(vote), Uint8Array.of(0));
    expect(codecError(() => decodeVote(bytes)).code).toBe('TRAILING_BYTES');
    expect(codecError(() => decodeVote(concatBytes(encodeVote(vote), encodeVote(vote)))).code).toBe(
      'TRAILING_BYTES',
    );
  });
});

describe('one encoding per value', () => {
  // The canonical vote is 96 01 05 …: the height 5 is the byte at offset 2.
  const canonical = encodeVote(vote);
  const withHeight = (h: string) => concatBytes(canonical.subarray(0, 2), hex(h), canonical.subarray(3));

  it('decodes the canonical form', () => {
    expect(canonical[2]).toBe(0x05);
    expect(decodeVote(withHeight('05'))).toEqual(vote);
  });

  it.each([
    ['uint8', 'cc 05'],
    ['uint16', 'cd 0005'],
    ['uint32', 'ce 00000005'],
    ['int8', 'd0 05'],
    ['int16', 'd1 0005'],
    ['int32', 'd2 00000005'],
    ['float64', 'cb 4014000000000000'],
  ])('rejects the integer 5 written as %s', (_name, h) => {
    expect(codecError(() => decodeVote(withHeight(h))).code).toBe('NOT_CANONICAL');
  });

  it('integers beyond 32 bits travel as float64 (msgpackr writes them so); 64-bit ints are refused', () => {
    const big = { ...vote, height: 2 ** 40 };
    const bytes = encodeVote(big);
    expect(Buffer.from(bytes.subarray(2, 11)).toString('hex')).toBe('cb4270000000000000');
    expect(decodeVote(bytes)).toEqual(big);
    expect(codecError(() => decodeVote(withHeight('cf 0000010000000000'))).code).toBe('UNSUPPORTED_TYPE');
    const max = { ...vote, height: Number.MAX_SAFE_INTEGER };
    expect(decodeVote(encodeVote(max))).toEqual(max);
  });

  it.each([
    ['2^53 (not a safe integer)', 'cb 4340000000000000'],
    ['1.5', 'cb 3ff8000000000000'],
    ['-0', 'cb 8000000000000000'],
    ['NaN', 'cb 7ff8000000000000'],
    ['Infinity', 'cb 7ff0000000000000'],
    ['-1', 'ff'],
    ['true', 'c3'],
    ['null', 'c0'],
    ['a string', 'a1 35'],
  ])('rejects %s as a height', (_name, h) => {
    expect(codecError(() => decodeVote(withHeight(h))).code).toBe('BAD_FIELD');
  });

  it('rejects a non-minimal string header, byte-string header or array header', () => {
    const bytes = encodeTx(transfer);
    // 99 01 a3 'abc' …: the chain id's fixstr header at offset 2.
    expect(Buffer.from(bytes.subarray(0, 6)).toString('hex')).toBe('9901a3616263');
    const str8 = concatBytes(bytes.subarray(0, 2), hex('d9 03'), bytes.subarray(3));
    expect(codecError(() => decodeTx(str8)).code).toBe('NOT_CANONICAL');
    const str16 = concatBytes(bytes.subarray(0, 2), hex('da 0003'), bytes.subarray(3));
    expect(codecError(() => decodeTx(str16)).code).toBe('NOT_CANONICAL');
    const array16 = concatBytes(hex('dc 0009'), bytes.subarray(1));
    expect(codecError(() => decodeTx(array16)).code).toBe('NOT_CANONICAL');
    // The validator address in a vote: c4 14 … as bin16.
    const voteBytes = encodeVote(vote);
    const bin16 = concatBytes(voteBytes.subarray(0, 5), hex('c5 0014'), voteBytes.subarray(7));
    expect(codecError(() => decodeVote(bin16)).code).toBe('NOT_CANONICAL');
  });

  it.each([
    ['0xff', 'ff ff ff'],
    ['a UTF-16 surrogate (CESU-8)', 'ed a0 80'],
    ['an overlong NUL', 'c0 80 61'],
    ['an overlong slash', 'e0 80 af'],
    ['a code point above U+10FFFF', 'f4 90 80'],
    ['a cut multi-byte sequence', '61 e2 82'],
    ['a lone continuation byte', '61 80 61'],
  ])('rejects invalid UTF-8 in a string: %s', (_name, h) => {
    const bytes = encodeTx(transfer);
    const bad = concatBytes(bytes.subarray(0, 3), hex(h), bytes.subarray(6));
    expect(bad.length).toBe(bytes.length);
    expect(codecError(() => decodeTx(bad)).code).toMatch(/^(NOT_CANONICAL|BAD_FIELD)$/);
  });

  it('accepts valid multi-byte UTF-8 and counts the limit in bytes, not characters', () => {
    const s = struct('s', [['s', str(8)]] as const);
    expect(decode(s, encode(s, { s: '\u{1f600}\u{1f600}' }), 64)).toEqual({ s: '\u{1f600}\u{1f600}' });
    expect(codecError(() => encode(s, { s: '\u{1f600}\u{1f600}a' })).code).toBe('BAD_VALUE');
    expect(codecError(() => decode(s, encodeWire(['ééééé']), 64)).code).toBe('BAD_FIELD');
  });

  it('refuses to encode a string with a lone surrogate (it has no UTF-8 form)', () => {
    for (const s of ['\ud800', 'a\udc00b', `${'x'.repeat(50)}\ud83d`]) {
      const e = codecError(() => encodeTx({ ...transfer, chainId: s.slice(0, 60) }));
      expect(e.code).toBe('BAD_VALUE');
      expect(e.details.path).toBe('chainId');
    }
  });
});

describe('amounts are minimal big-endian bytes', () => {
  const withAmount = (bytes: Uint8Array) => {
    const w = txWire(transfer);
    (w[7] as Wire[])[1] = bytes;
    return encodeWire(w);
  };

  it('encodes 0 as the empty string and 256 as 01 00', () => {
    expect(amount.toWire(0n)).toEqual(new Uint8Array(0));
    expect(amount.toWire(256n)).toEqual(Uint8Array.of(1, 0));
    expect(amount.toWire((1n << 256n) - 1n)).toEqual(new Uint8Array(32).fill(0xff));
    expect(decodeTx(withAmount(Uint8Array.of(1, 0))).body).toEqual({ ...transfer.body, amount: 256n });
  });

  it('rejects a leading zero byte, a zero written as 00, and more than 32 bytes', () => {
    for (const b of [Uint8Array.of(0, 1), Uint8Array.of(0), new Uint8Array(AMOUNT_BYTES_MAX + 1).fill(1)]) {
      const e = codecError(() => decodeTx(withAmount(b)));
      expect(e.code).toBe('BAD_FIELD');
      expect(e.details.path).toBe('tx.body.amount');
    }
  });

  it('refuses to encode negative, too large or non-bigint amounts', () => {
    expect(codecError(() => encodeTx({ ...transfer, gasPrice: -1n })).code).toBe('NEGATIVE_AMOUNT');
    expect(codecError(() => encodeTx({ ...transfer, gasPrice: 1n << 256n })).code).toBe('AMOUNT_TOO_LARGE');
    const e = codecError(() =>
      encodeTx({ ...transfer, body: { ...transfer.body, amount: 5 as unknown as bigint } }),
    );
    expect(e.code).toBe('BAD_VALUE');
    expect(e.details.path).toBe('body.amount');
  });
});

describe('field limits: the value at the limit passes, one above fails on encode and on decode', () => {
  const contribution = (content: string): TxOf<'datanet.contribute'> => ({
    ...transfer,
    type: 'datanet.contribute',
    body: { datanet: new Uint8Array(32), content, label: '' },
  });

  it(`contribution content of ${CONTRIBUTION_BYTES_MAX} bytes`, () => {
    const atLimit = contribution('a'.repeat(CONTRIBUTION_BYTES_MAX));
    expect(decodeTx(encodeTx(atLimit))).toEqual(atLimit);
    const over = contribution('a'.repeat(CONTRIBUTION_BYTES_MAX + 1));
    const e = codecError(() => encodeTx(over));
    expect(e.code).toBe('BAD_VALUE');
    expect(e.details.path).toBe('body.content');
    expect(e.message).toContain('body.content');
    const d = codecError(() =>
      decodeTx(
        encodeWire(
          txWire(atLimit).map((x, i) =>
            i === 7 ? [(x as Wire[])[0], 'a'.repeat(CONTRIBUTION_BYTES_MAX + 1), ''] : x,
          ),
        ),
      ),
    );
    expect(d.code).toBe('BAD_FIELD');
    expect(d.details.path).toBe('tx.body.content');
  });

  it(`${TAGS_MAX} datanet tags`, () => {
    const create = (n: number): TxOf<'datanet.create'> => ({
      ...transfer,
      type: 'datanet.create',
      body: {
        name: 'n',
        description: '',
        license: 'CC-BY-4.0',
        tags: Array.from({ length: n }, (_, i) => `t${i}`),
        curation: 'open',
        curators: [],
        bond: 0n,
        rejectForfeitBps: 10_000,
        contributionBytesMax: CONTRIBUTION_BYTES_MAX,
        labels: [],
      },
    });
    expect(decodeTx(encodeTx(create(TAGS_MAX)))).toEqual(create(TAGS_MAX));
    expect(codecError(() => encodeTx(create(TAGS_MAX + 1))).details.path).toBe('body.tags');
    expect(
      codecError(() => encodeTx({ ...create(1), body: { ...create(1).body, rejectForfeitBps: 10_001 } }))
        .details.path,
    ).toBe('body.rejectForfeitBps');
  });

  it(`vote round ${ROUND_MAX}, proposal polRound -1, commit of ${VALIDATORS_MAX} signatures`, () => {
    expect(decodeVote(encodeVote({ ...vote, round: ROUND_MAX })).round).toBe(ROUND_MAX);
    expect(codecError(() => encodeVote({ ...vote, round: ROUND_MAX + 1 })).details.path).toBe('round');
    const p = {
      height: 1,
      round: 0,
      polRound: -1,
      blockHash: new Uint8Array(32),
      proposer: new Uint8Array(20),
      signature: new Uint8Array(64),
    };
    expect(decodeProposal(encode(proposalSchema, p))).toEqual(p);
    expect(codecError(() => encode(proposalSchema, { ...p, polRound: -2 })).details.path).toBe('polRound');
    const sigs = (n: number) =>
      Array.from({ length: n }, () => ({ validator: new Uint8Array(20), signature: new Uint8Array(64) }));
    const c = { height: 1, round: 0, blockHash: new Uint8Array(32), signatures: sigs(VALIDATORS_MAX) };
    expect(decodeCommit(encode(commitSchema, c))).toEqual(c);
    const over = encodeWire([
      1,
      0,
      new Uint8Array(32),
      sigs(VALIDATORS_MAX + 1).map((s) => [s.validator, s.signature]),
    ]);
    expect(codecError(() => decodeCommit(over)).details.path).toBe('commit.signatures');
  });

  it('vote kind must be 1 (prevote) or 2 (precommit)', () => {
    for (const kind of [0, 3]) {
      const bytes = concatBytes(Uint8Array.of(0x96, kind), encodeVote(vote).subarray(2));
      expect(codecError(() => decodeVote(bytes)).details.path).toBe('vote.kind');
    }
  });
});

describe('encoding refuses values decoding would refuse, naming the field', () => {
  it.each([
    ['nonce -1', { nonce: -1 }, 'nonce'],
    ['nonce 1.5', { nonce: 1.5 }, 'nonce'],
    ['nonce as a string', { nonce: '1' }, 'nonce'],
    ['nonce as a bigint', { nonce: 1n }, 'nonce'],
    ['a 31-byte sender', { sender: new Uint8Array(31) }, 'sender'],
    ['an unknown type', { type: 'mint' }, 'type'],
    ['a missing signature', { signature: undefined }, 'signature'],
    ['a body missing its amount', { body: { to: new Uint8Array(20) } }, 'body.amount'],
    ['a null body', { body: null }, 'body'],
    ['a version over 255', { version: 256 }, 'version'],
    ['a chain id over 64 bytes', { chainId: 'c'.repeat(65) }, 'chainId'],
  ])('%s', (_name, patch, path) => {
    const e = codecError(() => encodeTx({ ...transfer, ...patch } as unknown as Tx));
    expect(e.code).toBe('BAD_VALUE');
    expect(e.details.path).toBe(path);
    expect(e.message).toContain(`cannot encode ${path}:`);
  });

  it('a uint schema alone', () => {
    expect(codecError(() => encode(uint(10), 11)).message).toBe(
      'cannot encode value: expected integer in [0, 10], got integer 11',
    );
  });
});
