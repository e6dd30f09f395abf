import { bytesEqual } from './bytes.js';
import { DOMAIN } from './chain.js';
import { decode, encode, encodeWire } from './codec.js';
import { sha256 } from './hash.js';
import { sign, verifySignature } from './keys.js';
import { deliverySchema, encodeInferenceRequest, type InferenceRequest, type TxBody } from './tx.js';

/**
 * A delivery is what a provider hands the requester with an answer: the triple
 * (request hash, output hash, output token count), signed by the provider under
 * `DOMAIN.delivery`. The requester may acknowledge it by signing the same triple under
 * `DOMAIN.ack`. Both are plain Ed25519 signatures over the canonical wire encoding of
 * `[domain, requestHash, outputHash, outputTokens]`, so anyone holding the request, the
 * output and the signature can check them without the chain. The chain id is bound through the
 * request hash (the request carries it).
 */
export interface Delivery {
  requestHash: Uint8Array;
  outputHash: Uint8Array;
  outputTokens: number;
}

/** The hash that names a signed inference request (over its canonical encoding, signature included). */
export function requestHash(r: InferenceRequest): Uint8Array {
  return sha256(encodeInferenceRequest(r));
}

/** The hash of a delivered output: SHA-256 of its UTF-8 bytes. */
export function outputHash(output: string): Uint8Array {
  return sha256(new TextEncoder().encode(output));
}

export function deliveryFor(r: InferenceRequest, output: string, outputTokens: number): Delivery {
  return { requestHash: requestHash(r), outputHash: outputHash(output), outputTokens };
}

function signingBytes(domain: string, d: Delivery): Uint8Array {
  return encodeWire([domain, d.requestHash, d.outputHash, d.outputTokens]);
}

/** The provider's signature over a delivery. */
export function signDelivery(d: Delivery, providerSecretKey: Uint8Array): Uint8Array {
  return sign(signingBytes(DOMAIN.delivery, d), providerSecretKey);
}

export function verifyDelivery(d: Delivery, providerPublicKey: Uint8Array, signature: Uint8Array): boolean {
  return verifySignature(providerPublicKey, signingBytes(DOMAIN.delivery, d), signature);
}

/** The requester's acknowledgment of a delivery it received and checked. */
export function signAck(d: Delivery, requesterSecretKey: Uint8Array): Uint8Array {
  return sign(signingBytes(DOMAIN.ack, d), requesterSecretKey);
}

export function verifyAck(d: Delivery, requesterPublicKey: Uint8Array, signature: Uint8Array): boolean {
  return verifySignature(requesterPublicKey, signingBytes(DOMAIN.ack, d), signature);
}

export function sameDelivery(a: Delivery, b: Delivery): boolean {
  return (
    a.outputTokens === b.outputTokens &&
    bytesEqual(a.requestHash, b.requestHash) &&
    bytesEqual(a.outputHash, b.outputHash)
  );
}

/** The fields of an `inference.receipt` body before the provider signs it. */
export type UnsignedReceiptBody = Omit<TxBody<'inference.receipt'>, 'deliverySignature' | 'ack'>;

/** The delivery an `inference.receipt` body claims: what the vm recomputes and checks. */
export function receiptDelivery(body: UnsignedReceiptBody): Delivery {
  return deliveryFor(body.request, body.output, body.outputTokens);
}

/**
 * A complete receipt body: the provider's delivery signature over (request, output, outputTokens)
 * and, when the requester acknowledged that delivery, its ack signature.
 */
export function signReceiptBody(
  body: UnsignedReceiptBody,
  providerSecretKey: Uint8Array,
  ack: Uint8Array | null = null,
): TxBody<'inference.receipt'> {
  return { ...body, deliverySignature: signDelivery(receiptDelivery(body), providerSecretKey), ack };
}

/** A delivery travels as `[requestHash, outputHash, outputTokens]` (about 80 bytes). */
export const DELIVERY_BYTES_MAX = 128;

export function encodeDelivery(d: Delivery): Uint8Array {
  return encode(deliverySchema, d);
}

/** Strict decode of a delivery (as a requester or a challenger receives it). */
export function decodeDelivery(bytes: Uint8Array): Delivery {
  return decode(deliverySchema, bytes, DELIVERY_BYTES_MAX, 'delivery');
}
