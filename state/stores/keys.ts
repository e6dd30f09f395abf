import { uintToBytes } from '../../core/bytes.js';

/**
 * Raw state keys, one namespace per record kind. Only the typed stores (`state/stores/`) build
 * keys; the vm never does. A key is an ASCII prefix followed by fixed-width binary parts (20-byte
 * addresses, 32-byte ids, 8-byte big-endian integers), so no key of one kind can be a prefix-collision
 * of another and every part has one encoding.
 */

const enc = new TextEncoder();
const prefixCache = new Map<string, Uint8Array>();

function prefix(p: string): Uint8Array {
  let b = prefixCache.get(p);
  if (b === undefined) {
    b = enc.encode(p);
    prefixCache.set(p, b);
  }
  return b;
}

function key(p: string, ...parts: Uint8Array[]): Uint8Array {
  const pre = prefix(p);
  let n = pre.length;
  for (const x of parts) n += x.length;
  const out = new Uint8Array(n);
  out.set(pre, 0);
  let o = pre.length;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

const u64 = (n: number): Uint8Array => uintToBytes(n, 8);

export const KEYS = {
  chain: () => prefix('chain'),
  params: () => prefix('params'),
  totals: () => prefix('totals'),
  counters: () => prefix('counters'),
  account: (address: Uint8Array) => key('acct/', address),
  validator: (address: Uint8Array) => key('val/', address),
  validatorList: () => prefix('vals'),
  operator: (operator: Uint8Array) => key('op/', operator),
  delegation: (validator: Uint8Array, delegator: Uint8Array) => key('dlg/', validator, delegator),
  delegatorValidators: (delegator: Uint8Array) => key('dlgs/', delegator),
  unbonding: (id: number) => key('ub/', u64(id)),
  unbondingQueue: (height: number) => key('ubq/', u64(height)),
  validatorUnbondings: (validator: Uint8Array) => key('ubv/', validator),
  missed: (validator: Uint8Array) => key('miss/', validator),
  validatorSet: (height: number) => key('vset/', u64(height)),
  datanet: (id: Uint8Array) => key('dn/', id),
  datanetAccepted: (id: Uint8Array, seq: number) => key('dna/', id, u64(seq)),
  contributionByHash: (datanet: Uint8Array, contentHash: Uint8Array) => key('dnh/', datanet, contentHash),
  contribution: (id: Uint8Array) => key('ctb/', id),
  content: (id: Uint8Array) => key('ctc/', id),
  model: (id: Uint8Array) => key('mdl/', id),
  modelVersion: (id: Uint8Array, version: number) => key('mdv/', id, u64(version)),
  requestNonce: (requester: Uint8Array, nonce: number) => key('rqn/', requester, u64(nonce)),
  receipt: (id: Uint8Array) => key('rcp/', id),
  attribution: (receipt: Uint8Array) => key('att/', receipt),
  releases: (height: number) => key('rel/', u64(height)),
  provider: (address: Uint8Array) => key('prv/', address),
  providerUnbondings: (height: number) => key('prvq/', u64(height)),
  job: (id: number) => key('job/', u64(id)),
  jobsAt: (height: number) => key('jobh/', u64(height)),
  proposal: (id: number) => key('gov/', u64(id)),
  proposalVote: (id: number, voter: Uint8Array) => key('govv/', u64(id), voter),
  proposalVoter: (id: number, index: number) => key('govi/', u64(id), u64(index)),
  proposalsEnding: (height: number) => key('gove/', u64(height)),
} as const;
