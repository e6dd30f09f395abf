import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressOf } from '../../core/address.js';
import { CodecError } from '../../core/errors.js';
import { sha256 } from '../../core/hash.js';
import { publicKeyOf } from '../../core/keys.js';
import {
  bodySchema,
  decodeTx,
  encodeTx,
  requestSigningBytes,
  signRequest,
  signTx,
  TX_TYPES,
  type Tx,
  type TxOf,
  txHash,
  txSender,
  txSigningBytes,
  type UnsignedTx,
  verifyRequestSignature,
  verifyTxSignature,
} from '../../core/tx.js';
import { unsignedTx } from './arbitraries.js';

const secretKey = new Uint8Array(32).fill(0x42);
const sender = publicKeyOf(secretKey);
const otherKey = new Uint8Array(32).fill(0x43);

const transfer: UnsignedTx = {
  version: 1,
  chainId: 'ol-test',
  type: 'transfer',
  sender,
  nonce: 3,
  gasLimit: 21_000,
  gasPrice: 10n,
  body: { to: new Uint8Array(20).fill(1), amount: 5n },
};

describe('transaction types', () => {
  it('has a body schema for each of the 15 native types of DESIGN §3', () => {
    expect([...TX_TYPES].sort()).toEqual(
      [
        'transfer',
        'validator.create',
        'stake.delegate',
        'stake.undelegate',
        'stake.withdrawRewards',
        'validator.unjail',
        'datanet.create',
        'datanet.contribute',
        'datanet.review',
        'model.register',
        'model.update',
        'inference.receipt',
        'attribution.settle',
        'gov.propose',
        'gov.vote',
        'provider.bond',
        'provider.unbond',
        'inference.challenge',
      ].sort(),
    );
    for (const t of TX_TYPES) expect(bodySchema(t).kind).toBe(t);
  });
});

describe('transaction signatures', () => {
  it('verify after signing and after an encode/decode round trip, for any tx', () => {
    fc.assert(
      fc.property(unsignedTx(), (u) => {
        const tx = signTx({ ...u, sender } as UnsignedTx, secretKey);
        expect(verifyTxSignature(tx)).toBe(true);
        expect(verifyTxSignature(decodeTx(encodeTx(tx)))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it.each([
    ['the nonce', { nonce: 4 }],
    ['the chain id', { chainId: 'ol-other' }],
    ['the gas price', { gasPrice: 11n }],
    ['the gas limit', { gasLimit: 21_001 }],
    ['the version', { version: 2 }],
    ['the amount', { body: { to: new Uint8Array(20).fill(1), amount: 6n } }],
    [
      'the type (same body shape)',
      { type: 'stake.delegate', body: { validator: new Uint8Array(20).fill(1), amount: 5n } },
    ],
  ])('break when %s changes', (_name, patch) => {
    const tx = signTx(transfer, secretKey);
    expect(verifyTxSignature({ ...tx, ...patch } as Tx)).toBe(false);
  });

  it('break under another sender key', () => {
    const tx = signTx(transfer, secretKey);
    expect(verifyTxSignature({ ...tx, sender: publicKeyOf(otherKey) })).toBe(false);
    const signedByOther = signTx(transfer, otherKey);
    expect(verifyTxSignature(signedByOther)).toBe(false);
  });

  it('cover domain-tagged bytes that are not themselves a transaction', () => {
    const bytes = txSigningBytes(transfer);
    expect(() => decodeTx(bytes)).toThrow(CodecError);
    expect(Buffer.from(bytes.subarray(1, 9)).toString('latin1')).toBe('\xa7ol/tx/1');
  });

  it('refuse to sign a tx that would not encode, naming the field', () => {
    try {
      signTx({ ...transfer, nonce: -1 }, secretKey);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      expect((e as CodecError).details.path).toBe('nonce');
    }
  });

  it('typed: signing a TxOf<K> gives a TxOf<K>; signing an UnsignedTx gives a Tx', () => {
    const t: TxOf<'transfer'> = signTx(
      { ...transfer, type: 'transfer', body: { to: new Uint8Array(20), amount: 1n } },
      secretKey,
    );
    const u: Tx = signTx(transfer, secretKey);
    expect(t.type).toBe('transfer');
    expect(u.type).toBe('transfer');
  });
});

describe('transaction identity', () => {
  it('the hash is sha256 of the signed encoding and the sender address derives from the key', () => {
    const tx = signTx(transfer, secretKey);
    const bytes = encodeTx(tx);
    expect(txHash(bytes)).toEqual(sha256(bytes));
    expect(txSender(tx)).toEqual(addressOf(sender));
    const resigned = { ...tx, signature: signTx(transfer, otherKey).signature };
    expect(txHash(encodeTx(resigned))).not.toEqual(txHash(bytes));
  });
});

describe('inference requests', () => {
  const requester = new Uint8Array(32).fill(0x51);
  const unsigned = {
    chainId: 'ol-test',
    requester: publicKeyOf(requester),
    model: new Uint8Array(32).fill(2),
    modelVersion: 1,
    promptHash: new Uint8Array(32).fill(3),
    maxFee: 10n ** 18n,
    nonce: 0,
    expiryHeight: 100,
  };

  it('are signed by the requester and verified against the requester key', () => {
    const r = signRequest(unsigned, requester);
    expect(verifyRequestSignature(r)).toBe(true);
    expect(verifyRequestSignature({ ...r, maxFee: r.maxFee + 1n })).toBe(false);
    expect(verifyRequestSignature({ ...r, expiryHeight: 101 })).toBe(false);
    expect(verifyRequestSignature({ ...r, chainId: 'ol-other' })).toBe(false);
    expect(verifyRequestSignature({ ...r, requester: sender })).toBe(false);
  });

  it('signing bytes begin with the request domain tag', () => {
    expect(Buffer.from(requestSigningBytes(unsigned).subarray(1, 14)).toString('latin1')).toBe(
      '\xacol/request/1',
    );
  });
});
