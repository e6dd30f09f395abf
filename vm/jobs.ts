import type { ContributionStatus, Job, ModelVersion, Receipt } from '../state/stores/records.js';
import type { StateReader } from '../state/types.js';
import { readStores } from './readers.js';

/**
 * Readers of the deferred jobs and their pinned inputs (DESIGN §4), for the node: after block h
 * commits it calls `dueJobs(state, h + 1)`, reads each job's inputs with `jobInputs`, runs them
 * through `attribution/`, and (as proposer of h+1) puts the results, in job-id order, in the
 * `attribution.settle` tx that must be first in block h+1.
 *
 * Corpus of a pinned datanet (id, version v): the accepted contributions with seq 1..v, in seq
 * order (`acceptedContributions`); the datanet version is the number of acceptances, and accepted
 * contributions are never removed, so the corpus at v never changes.
 */

/** The jobs created by block `height − 1`, which block `height` must settle, in id order. */
export function dueJobs(state: StateReader, height: number): Job[] {
  const s = readStores(state);
  const at = s.jobsAt(height - 1);
  if (at === undefined) return [];
  const out: Job[] = [];
  for (let i = 0; i < at.count; i++) out.push(s.job(at.first + i)!);
  return out;
}

export interface AcceptedContribution {
  /** 1-based position in the datanet's accepted list (= the version it created). */
  seq: number;
  /** Height of the block that accepted it: with seq, the acceptance order attribution credits by. */
  height: number;
  id: Uint8Array;
  contributor: Uint8Array;
  label: string;
  content: string;
}

/** The accepted contribution number `seq` (1-based) of a datanet, or undefined. */
export function acceptedContribution(
  state: StateReader,
  datanet: Uint8Array,
  seq: number,
): AcceptedContribution | undefined {
  const s = readStores(state);
  const id = s.acceptedAt(datanet, seq);
  if (id === undefined) return undefined;
  const c = s.contribution(id)!;
  return {
    seq,
    height: c.decidedHeight,
    id,
    contributor: c.contributor,
    label: c.label,
    content: s.content(id)!,
  };
}

/** The corpus of a datanet at `version`: accepted contributions seq 1..version, in order. */
export function acceptedContributions(
  state: StateReader,
  datanet: Uint8Array,
  version: number,
): AcceptedContribution[] {
  const out: AcceptedContribution[] = [];
  for (let seq = 1; seq <= version; seq++) {
    const c = acceptedContribution(state, datanet, seq);
    if (c === undefined) break;
    out.push(c);
  }
  return out;
}

export interface PinnedCorpus {
  datanet: Uint8Array;
  version: number;
}

export type JobInputs =
  | {
      kind: 'attribution';
      job: Job;
      receipt: Receipt;
      /** The pinned model version (method, params, datanets with versions, prices, …). */
      model: ModelVersion;
      corpus: PinnedCorpus[];
    }
  | { kind: 'training'; job: Job; model: ModelVersion; corpus: PinnedCorpus[] }
  | {
      kind: 'nearDuplicate';
      job: Job;
      contribution: {
        id: Uint8Array;
        datanet: Uint8Array;
        contributor: Uint8Array;
        label: string;
        status: ContributionStatus;
      };
      content: string;
      /** Check against the datanet's accepted contributions 1..corpusVersion. */
      corpusVersion: number;
      /** Covered share (bps) at or above which, with duplicateOf set, it is a near-duplicate. */
      thresholdBps: number;
    };

/** The pinned inputs of a job. Heavy corpora are read separately with `acceptedContributions`. */
export function jobInputs(state: StateReader, job: Job): JobInputs {
  const s = readStores(state);
  switch (job.kind) {
    case 'attribution': {
      const receipt = s.receipt(job.subject)!;
      const model = s.modelVersion(receipt.model, receipt.modelVersion)!;
      return { kind: 'attribution', job, receipt, model, corpus: model.datanets.map((d) => ({ ...d })) };
    }
    case 'training': {
      const model = s.modelVersion(job.subject, job.version)!;
      return { kind: 'training', job, model, corpus: model.datanets.map((d) => ({ ...d })) };
    }
    case 'nearDuplicate': {
      const c = s.contribution(job.subject)!;
      return {
        kind: 'nearDuplicate',
        job,
        contribution: {
          id: c.id,
          datanet: c.datanet,
          contributor: c.contributor,
          label: c.label,
          status: c.status,
        },
        content: s.content(c.id)!,
        corpusVersion: job.version,
        thresholdBps: job.thresholdBps,
      };
    }
  }
}
