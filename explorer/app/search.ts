/**
 * What a search string can name, decided without asking the node. Anything else is rejected
 * here with a reason; the string is only ever rendered as text.
 */

export const SEARCH_CHARS_MAX = 200;

export type Query =
  | { kind: 'height'; height: number }
  | { kind: 'hash'; hex: string }
  | { kind: 'address'; hex: string }
  | { kind: 'name'; text: string }
  | { kind: 'invalid'; reason: string };

export function classify(raw: string): Query {
  const q = raw.trim();
  if (q.length === 0) return { kind: 'invalid', reason: 'type a height, a hash, an address or a name' };
  if (q.length > SEARCH_CHARS_MAX)
    return { kind: 'invalid', reason: `longer than ${SEARCH_CHARS_MAX} characters` };
  if (/^[0-9]{1,15}$/.test(q)) return { kind: 'height', height: Number(q) };
  const hex = q.replace(/^0x/i, '').toLowerCase();
  if (/^[0-9a-f]{64}$/.test(hex)) return { kind: 'hash', hex: `0x${hex}` };
  if (/^[0-9a-f]{40}$/.test(hex)) return { kind: 'address', hex: `0x${hex}` };
  if (/^(0x)?[0-9a-f]*$/i.test(q)) {
    return { kind: 'invalid', reason: 'hex, but neither 32 bytes (a hash or id) nor 20 bytes (an address)' };
  }
  return { kind: 'name', text: q };
}

/** The lookups a 32-byte hex string gets, in the order results are listed. */
export const HASH_LOOKUPS: [what: string, method: string, route: string][] = [
  ['block', 'ol_getBlockByHash', 'block'],
  ['transaction', 'ol_getTransaction', 'tx'],
  ['receipt', 'ol_getReceipt', 'receipt'],
  ['datanet', 'ol_getDatanet', 'datanet'],
  ['model', 'ol_getModel', 'model'],
  ['contribution', 'ol_getContribution', 'contribution'],
];
