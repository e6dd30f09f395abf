import type { TxBody } from '../core/tx.js';
import { PROPOSAL_VOTERS_MAX, PROPOSALS_PER_HEIGHT_MAX } from '../state/stores/records.js';
import type { BlockCtx } from './context.js';
import { TxError, txError } from './errors.js';
import { checkParamRules, num, type ParamKey, type Params, paramsToList, parseParamValue } from './params.js';
import { delegationValue } from './staking.js';

/**
 * Governance of parameters (consensus-critical).
 *
 * `gov.propose` escrows a deposit (≥ govDepositMin) and opens a vote until height
 * submit + govVotingBlocks. Every change is checked against its bounds and the cross-parameter
 * rules at proposal time (and again when applied). `gov.vote` records yes / no / abstain by an
 * address with bonded stake (re-voting replaces the option). At the end block of the last voting
 * height the votes are weighted by each voter's bonded stake at that moment (the sum of its
 * delegations' values): quorum = votes ≥ govQuorumBps of all bonded stake; passed = quorum and
 * yes > govThresholdBps of (yes + no). Passed changes apply in that end block. The deposit is
 * returned when quorum was reached, else it goes to the treasury.
 */

const BPS = 10_000n;

type Change = { key: string; value: string };

/** Checks changes against bounds and rules on top of `current`; returns the new params or an error. */
export function applyChanges(current: Params, changes: readonly Change[]): Params {
  const next = { ...current };
  const seen = new Set<string>();
  for (const c of changes) {
    if (seen.has(c.key)) throw txError('DUPLICATE_PARAM', `${c.key} is changed twice`);
    seen.add(c.key);
    const parsed = parseParamValue(c.key, c.value);
    if ('code' in parsed) throw txError(parsed.code, parsed.message);
    next[c.key as ParamKey] = parsed.value;
  }
  const rule = checkParamRules(next);
  if (rule !== null) throw txError('PARAMS_INCONSISTENT', rule);
  return next;
}

export function govPropose(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'gov.propose'>): number {
  if (body.deposit < ctx.params.govDepositMin) {
    throw txError('DEPOSIT_TOO_LOW', `deposit must be at least ${ctx.params.govDepositMin}`);
  }
  if (body.changes.length === 0) throw txError('NO_CHANGES');
  applyChanges(ctx.params, body.changes);
  const end = ctx.height + num(ctx.params.govVotingBlocks);
  const ending = ctx.s.proposalsEnding(end);
  if (ending.length >= PROPOSALS_PER_HEIGHT_MAX) throw txError('PROPOSAL_QUEUE_FULL');
  let bytes = 200 + Buffer.byteLength(body.title) + Buffer.byteLength(body.description);
  for (const c of body.changes) bytes += c.key.length + c.value.length;
  ctx.gas.storeBytes(bytes);
  ctx.debit(sender, body.deposit);
  ctx.totals({ escrow: body.deposit });
  const counters = ctx.s.counters();
  const id = counters.nextProposal++;
  ctx.s.setCounters(counters);
  ctx.s.setProposal({
    id,
    proposer: sender,
    title: body.title,
    description: body.description,
    changes: body.changes,
    deposit: body.deposit,
    submitHeight: ctx.height,
    votingEndHeight: end,
    status: 'voting',
    voters: 0,
    yes: 0n,
    no: 0n,
    abstain: 0n,
  });
  ctx.s.setProposalsEnding(end, [...ending, id]);
  ctx.sink.emit('gov.proposed', [sender], {
    proposal: id,
    proposer: sender,
    deposit: body.deposit,
    votingEndHeight: end,
  });
  return id;
}

export function govVote(ctx: BlockCtx, sender: Uint8Array, body: TxBody<'gov.vote'>): void {
  const p = ctx.s.proposal(body.proposal);
  if (p === undefined) throw txError('PROPOSAL_NOT_FOUND');
  if (p.status !== 'voting' || ctx.height > p.votingEndHeight) throw txError('VOTING_CLOSED');
  if (ctx.s.delegatorValidators(sender).length === 0) throw txError('NO_STAKE');
  if (ctx.s.proposalVote(p.id, sender) === undefined) {
    if (p.voters >= PROPOSAL_VOTERS_MAX) throw txError('TOO_MANY_VOTERS');
    ctx.s.setProposalVoter(p.id, p.voters, sender);
    p.voters++;
    ctx.s.setProposal(p);
  }
  ctx.s.setProposalVote(p.id, sender, body.option);
  ctx.sink.emit('gov.voted', [sender], { proposal: p.id, voter: sender, option: body.option });
}

function stakeOf(ctx: BlockCtx, voter: Uint8Array): bigint {
  let total = 0n;
  for (const va of ctx.s.delegatorValidators(voter)) {
    const v = ctx.s.validator(va);
    const d = ctx.s.delegation(va, voter);
    if (v !== undefined && d !== undefined) total += delegationValue(v, d.shares);
  }
  return total;
}

/** End block: tallies the proposals whose voting ends at this height; returns whether params changed. */
export function tallyProposals(ctx: BlockCtx): boolean {
  const ids = ctx.s.proposalsEnding(ctx.height);
  if (ids.length === 0) return false;
  let changed = false;
  const bonded = ctx.s.totals().bonded;
  for (const id of ids) {
    const p = ctx.s.proposal(id)!;
    const sums = { yes: 0n, no: 0n, abstain: 0n };
    for (let i = 0; i < p.voters; i++) {
      const voter = ctx.s.proposalVoter(id, i)!;
      const option = ctx.s.proposalVote(id, voter)!;
      sums[option] += stakeOf(ctx, voter);
    }
    const turnout = sums.yes + sums.no + sums.abstain;
    const quorum = bonded > 0n && turnout * BPS >= ctx.params.govQuorumBps * bonded;
    const passes = quorum && sums.yes * BPS > ctx.params.govThresholdBps * (sums.yes + sums.no);
    p.yes = sums.yes;
    p.no = sums.no;
    p.abstain = sums.abstain;
    p.status = passes ? 'passed' : 'rejected';
    if (passes) {
      try {
        const next = applyChanges(ctx.params, p.changes);
        ctx.params = next;
        ctx.s.setParamValues(paramsToList(next));
        changed = true;
        for (const c of p.changes)
          ctx.sink.emit('params.changed', [], { key: c.key, value: c.value, proposal: id });
      } catch (e) {
        if (!(e instanceof TxError)) throw e;
        p.status = 'failed'; // no longer valid against the parameters of today
      }
    }
    if (quorum) ctx.credit(p.proposer, p.deposit);
    ctx.totals({ escrow: -p.deposit, treasury: quorum ? 0n : p.deposit });
    ctx.s.setProposal(p);
    ctx.sink.emit('gov.tallied', [p.proposer], {
      proposal: id,
      status: p.status,
      yes: sums.yes,
      no: sums.no,
      abstain: sums.abstain,
    });
  }
  ctx.s.setProposalsEnding(ctx.height, []);
  return changed;
}
