import { amount, encodeWire, type Wire } from '../core/codec.js';
import { merkleRoot } from '../core/merkle.js';

/**
 * Events (consensus-visible: their encodings are covered by the results hash). Every event has a
 * type, the index of the tx that emitted it (BEGIN_BLOCK / END_BLOCK for block steps), the
 * addresses it concerns (the RPC filter index: by type and by address) and typed attributes.
 * Events are not written to the Merkle state: the node stores them with the block results
 * (DESIGN §9, events sublevel), keyed by `eventIndexKeys`.
 */
export const EVENT_TYPES = {
  transfer: 'from, to, amount',
  fee: 'payer, amount (gasUsed × gasPrice)',
  'validator.created': 'validator, operator, selfStake',
  delegated: 'validator, delegator, amount, shares',
  undelegated: 'validator, delegator, amount, unbonding (entry id), completionHeight',
  unbonded: 'validator, delegator, amount (matured entry paid out)',
  'rewards.withdrawn': 'validator, delegator, amount',
  commission: 'validator, operator, amount',
  'block.rewards': 'amount (fees + issuance + inference validator shares), issued',
  'validator.jailed': 'validator, reason (downtime | doubleSign | doubleProposal), jailedUntil',
  'validator.unjailed': 'validator',
  'validator.slashed':
    'validator, amount (burned, bonded + unbonding), reason (downtime | doubleSign | doubleProposal)',
  'validator.setChanged': 'height (effective), size',
  'datanet.created': 'datanet, owner',
  'contribution.submitted': 'contribution, datanet, contributor, bond, job',
  'contribution.pending':
    'contribution, datanet (passed the check or flagged; awaits review), duplicateOf?, coveredBps',
  'contribution.accepted': 'contribution, datanet, contributor, version',
  'contribution.rejected': 'contribution, datanet, contributor, forfeited, reason',
  'model.registered': 'model, owner, version',
  'model.updated': 'model, owner, version',
  'model.activated': 'model, version, weightsHash?',
  'model.trainingFailed': 'model, version, error',
  'inference.receipt':
    'receipt, model, version, requester, provider, escrow, job, acknowledged, releaseHeight (0 = settles with its job)',
  'inference.held': 'receipt, fee (escrowed until the end of releaseHeight), releaseHeight',
  'inference.released': 'receipt, fee (the held payout was paid: no fraud proof in the window)',
  'inference.challenged': 'receipt, provider, requester, challenger, refund, slashed',
  'provider.bonded': 'provider, amount, bond',
  'provider.unbonding': 'provider, amount, bond (left), completionHeight',
  'provider.unbonded': 'provider, amount (paid out)',
  'provider.slashed': 'provider, receipt, amount (burned from bond + unbonding), bond (left)',
  'job.created': 'job, kind, subject',
  'job.settled': 'job, kind, ok',
  payout: 'receipt, to, amount, role (treasury | validators | owner | contributor | datanetOwner)',
  refund: 'receipt, to, amount',
  'gov.proposed': 'proposal, proposer, deposit, votingEndHeight',
  'gov.voted': 'proposal, voter, option',
  'gov.tallied': 'proposal, status, yes, no, abstain',
  'params.changed': 'key, value',
} as const;

export type EventType = keyof typeof EVENT_TYPES;
export type EventValue = Uint8Array | bigint | number | string | boolean | null;

export const BEGIN_BLOCK = -1;
export const END_BLOCK = -2;

export interface VmEvent {
  type: EventType;
  /** Index of the emitting tx in the block, or BEGIN_BLOCK / END_BLOCK. */
  txIndex: number;
  /** Addresses the event concerns, for filtering by address. */
  addresses: Uint8Array[];
  attrs: Record<string, EventValue>;
}

function valueToWire(v: EventValue): Wire {
  return typeof v === 'bigint' ? ['n', amount.toWire(v)] : (v as Wire);
}

/** Wire form of an event: `[type, txIndex, addresses, [[key, value]…]]`, attrs in emission order. */
export function eventToWire(e: VmEvent): Wire {
  const attrs: Wire[] = [];
  for (const k of Object.keys(e.attrs)) attrs.push([k, valueToWire(e.attrs[k])]);
  return [e.type, e.txIndex, e.addresses, attrs];
}

/** Canonical bytes of an event (what the node stores and RPC returns). */
export function encodeEvent(e: VmEvent): Uint8Array {
  return encodeWire(eventToWire(e));
}

export function eventsHash(events: readonly VmEvent[]): Uint8Array {
  return merkleRoot(events.map(encodeEvent));
}

/** Index keys under which the node stores an event: its type, and each address it concerns. */
export function eventIndexKeys(e: VmEvent): { type: string; addresses: Uint8Array[] } {
  return { type: e.type, addresses: e.addresses };
}

/** Collects events for the tx or block step being executed. */
export class EventSink {
  readonly events: VmEvent[] = [];
  txIndex = BEGIN_BLOCK;
  emit(type: EventType, addresses: Uint8Array[], attrs: Record<string, EventValue>): void {
    this.events.push({ type, txIndex: this.txIndex, addresses, attrs });
  }
}
