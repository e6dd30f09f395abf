import { describe, expect, it } from 'vitest';
import {
  deliveryFor,
  sameDelivery,
  signAck,
  signDelivery,
  verifyAck,
  verifyDelivery,
} from '../../core/delivery.js';
import { generateKeyPair } from '../../core/keys.js';
import { signRequest } from '../../core/tx.js';

const requester = generateKeyPair();
const provider = generateKeyPair();
const request = signRequest(
  {
    chainId: 'ol-test',
    requester: requester.publicKey,
    model: new Uint8Array(32).fill(7),
    modelVersion: 1,
    promptHash: new Uint8Array(32).fill(9),
    maxFee: 1000n,
    nonce: 1,
    expiryHeight: 100,
  },
  requester.secretKey,
);

describe('signed deliveries', () => {
  it('a provider signature verifies for the delivered triple only', () => {
    const d = deliveryFor(request, 'the answer', 2);
    const sig = signDelivery(d, provider.secretKey);
    expect(verifyDelivery(d, provider.publicKey, sig)).toBe(true);
    expect(verifyDelivery(deliveryFor(request, 'another answer', 2), provider.publicKey, sig)).toBe(false);
    expect(verifyDelivery(deliveryFor(request, 'the answer', 3), provider.publicKey, sig)).toBe(false);
    expect(verifyDelivery(d, requester.publicKey, sig)).toBe(false);
  });

  it('an acknowledgment is not a delivery signature (domain separation)', () => {
    const d = deliveryFor(request, 'the answer', 2);
    const ack = signAck(d, requester.secretKey);
    expect(verifyAck(d, requester.publicKey, ack)).toBe(true);
    expect(verifyDelivery(d, requester.publicKey, ack)).toBe(false);
    expect(sameDelivery(d, deliveryFor(request, 'the answer', 2))).toBe(true);
    expect(sameDelivery(d, deliveryFor({ ...request, nonce: 2 }, 'the answer', 2))).toBe(false);
  });
});
