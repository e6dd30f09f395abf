import { toHex } from '../core/bytes.js';
import { encodeWire } from '../core/codec.js';
import { sha256 } from '../core/hash.js';
import {
  ATTRIBUTION_METHODS,
  type AttributionMethod,
  INFERENCE_INPUT_BYTES_MAX,
  INFERENCE_OUTPUT_BYTES_MAX,
  type JobResult,
  type Param,
} from '../core/tx.js';
import {
  type Contribution,
  type CorpusInput,
  corpusDigest,
  isCorpusRef,
  resolveCorpora,
  validateContributions,
} from './corpusCache.js';
import type { CorpusView } from './corpusIndex.js';
import { fuzzyDuplicate, nearDuplicate } from './duplicate.js';
import { AttributionError } from './errors.js';
import { exampleProbabilities, influenceScores, sgdInfluenceScores } from './influence.js';
import {
  DUPLICATE_PARAMS,
  INFLUENCE_PARAMS,
  influenceMethodOf,
  type Parsed,
  parseParams,
  parseTraining,
  RETRIEVAL_PARAMS,
  SPAN_PARAMS,
  type TRAINING_PARAMS,
} from './params.js';
import { type Retrieved, retrievalAttribution, validateRetrieved } from './retrieval.js';
import { JOB_OUTPUT_TOKENS_MAX, spanAttribution } from './span.js';
import { type IndexName, loadIndexTokenizer } from './tokenizer.js';
import {
  checkTrainingWork,
  examplesOf,
  type LrModel,
  predict,
  TRAINING_EXAMPLES_MAX,
  TRAINING_STEPS_MAX,
  type TrainingTrace,
  trainLr,
  trainLr2,
} from './training.js';

/**
 * The job runner: plain-data job specs in, `JobResult` (core/tx.ts) out. Consensus-critical:
 * `runJob` is a deterministic function of its spec — the same bytes whatever the cache state,
 * the worker count or the order jobs run in (tests pin this). Bad input becomes a failed result
 * (`ok: false`, `error` = a stable code), which every validator settles identically; anything
 * else (a missing cache file, a bug) is thrown, because it is about this node, not the job.
 *
 * See README.md for how the node builds these specs from chain state.
 */

/** Largest corpus a job may search, in tokens (after the index exists). */
export const JOB_CORPUS_TOKENS_MAX = 50_000_000;
/** Largest inline corpus, in content bytes (checked before tokenizing). */
export const JOB_CORPUS_BYTES_MAX = 256 * 1024 * 1024;

/** Attribution of one inference receipt (DESIGN §4: created by `inference.receipt`). */
export interface AttributionJobSpec {
  kind: 'attribution';
  job: number;
  method: AttributionMethod;
  /** The model's `params`, sorted by key. */
  params: Param[];
  /** The model's `training` spec (influence models), sorted by key; null otherwise. */
  training: Param[] | null;
  /** The model's pinned datanet versions: accepted contributions, inline or registered. */
  corpora: CorpusInput[];
  /** receipt.input (influence models re-derive the output from it). */
  input: string;
  /** receipt.output. */
  output: string;
  /** receipt.retrieved (retrieval models). */
  retrieved: Retrieved[];
}

/** Training of a chain-trained model (created by `model.register` with a training spec). */
export interface TrainingJobSpec {
  kind: 'training';
  job: number;
  training: Param[];
  corpora: CorpusInput[];
}

/** Near-duplicate check of a contribution against its datanet's accepted contributions. */
export interface DuplicateJobSpec {
  kind: 'duplicate';
  job: number;
  params: Param[];
  corpora: CorpusInput[];
  contribution: Contribution;
}

export type JobSpec = AttributionJobSpec | TrainingJobSpec | DuplicateJobSpec;

/** Where a job may read and write derived data; null = memory only. */
export interface JobEnv {
  cacheDir: string | null;
}

export function emptyResult(job: number): JobResult {
  return {
    job,
    ok: true,
    error: '',
    scores: [],
    evidence: [],
    tokens: 0,
    weightsHash: null,
    duplicateOf: null,
  };
}

export function failedResult(job: number, code: string): JobResult {
  return { ...emptyResult(job), ok: false, error: code };
}

/** Runs one job. Typed input errors → `ok: false`; node-local failures and bugs → thrown. */
export async function runJob(spec: JobSpec, env: JobEnv = { cacheDir: null }): Promise<JobResult> {
  if (!Number.isSafeInteger(spec?.job) || spec.job < 0) {
    throw new AttributionError('JOB_MALFORMED', 'job id must be a non-negative safe integer');
  }
  try {
    switch (spec.kind) {
      case 'attribution':
        return await runAttribution(spec, env);
      case 'training':
        return await runTraining(spec, env);
      case 'duplicate':
        return await runDuplicate(spec, env);
      default:
        throw new AttributionError(
          'JOB_MALFORMED',
          `unknown job kind ${JSON.stringify((spec as { kind: unknown }).kind)}`,
        );
    }
  } catch (e) {
    if (e instanceof AttributionError) return failedResult(spec.job, e.code);
    throw e;
  }
}

// ---- validation helpers (cheap, before heavy work) ---------------------------------------------

function checkText(text: unknown, bytesMax: number, what: string): string {
  if (typeof text !== 'string') throw new AttributionError('JOB_MALFORMED', `${what} must be text`);
  if (Buffer.byteLength(text) > bytesMax) {
    throw new AttributionError('OUTPUT_TOO_LONG', `${what} is over ${bytesMax} bytes`);
  }
  return text;
}

async function tokensOf(tokenizer: IndexName, text: string, what: string): Promise<Int32Array> {
  const tokens = (await loadIndexTokenizer(tokenizer)).encode(text);
  if (tokens.length > JOB_OUTPUT_TOKENS_MAX) {
    throw new AttributionError(
      'OUTPUT_TOO_LONG',
      `${what} has ${tokens.length} tokens > ${JOB_OUTPUT_TOKENS_MAX}`,
    );
  }
  return tokens;
}

/** Shape and size checks of the corpus list before anything is tokenized or indexed. */
function precheckCorpora(corpora: readonly CorpusInput[]): void {
  if (!Array.isArray(corpora)) throw new AttributionError('CORPUS_MALFORMED', 'corpora must be a list');
  let bytes = 0;
  for (const c of corpora) {
    if (isCorpusRef(c)) continue;
    validateContributions(c.contributions);
    for (const x of c.contributions) bytes += Buffer.byteLength(x.content);
  }
  if (bytes > JOB_CORPUS_BYTES_MAX)
    throw new AttributionError('CORPUS_TOO_LARGE', `corpus text ${bytes} B > ${JOB_CORPUS_BYTES_MAX} B`);
}

async function corpusOf(
  env: JobEnv,
  tokenizer: IndexName,
  corpora: readonly CorpusInput[],
  allowEmpty = false,
): Promise<CorpusView> {
  precheckCorpora(corpora);
  const view = await resolveCorpora(env.cacheDir, tokenizer, corpora);
  if (!allowEmpty && view.docCount === 0) {
    throw new AttributionError('CORPUS_EMPTY', "the model's datanets have no accepted contributions");
  }
  if (view.tokenCount > JOB_CORPUS_TOKENS_MAX) {
    throw new AttributionError(
      'CORPUS_TOO_LARGE',
      `corpus has ${view.tokenCount} tokens > ${JOB_CORPUS_TOKENS_MAX}`,
    );
  }
  return view;
}

// ---- the three job kinds ----------------------------------------------------------------------

async function runAttribution(spec: AttributionJobSpec, env: JobEnv): Promise<JobResult> {
  if (!(ATTRIBUTION_METHODS as readonly string[]).includes(spec.method)) {
    throw new AttributionError('JOB_MALFORMED', `unknown attribution method ${JSON.stringify(spec.method)}`);
  }
  const output = checkText(spec.output, INFERENCE_OUTPUT_BYTES_MAX, 'output');
  if (spec.method === 'span') {
    const p = parseParams(spec.params, SPAN_PARAMS, 'span');
    const outTokens = await tokensOf(p.tokenizer, output, 'output');
    // Spans are matched on tokenizer ids, or on normalised words; `tokens` is always the count.
    const index: IndexName = p.normalization === 'none' ? p.tokenizer : p.normalization;
    const symbols = index === p.tokenizer ? outTokens : await tokensOf(index, output, 'output');
    const corpus = await corpusOf(env, index, spec.corpora);
    const { scores, evidence } = spanAttribution(corpus, symbols, p);
    return { ...emptyResult(spec.job), scores, evidence, tokens: outTokens.length };
  }
  if (spec.method === 'retrieval') {
    const p = parseParams(spec.params, RETRIEVAL_PARAMS, 'retrieval');
    validateRetrieved(spec.retrieved);
    const outTokens = await tokensOf(p.tokenizer, output, 'output');
    const corpus = await corpusOf(env, p.tokenizer, spec.corpora);
    const accepted = new Set<string>();
    for (const seg of corpus.segments) for (const id of seg.ids) accepted.add(toHex(id));
    const scores = retrievalAttribution(spec.retrieved, (id) => accepted.has(toHex(id)), p.retrievalCap);
    return { ...emptyResult(spec.job), scores, tokens: outTokens.length };
  }
  // influence
  const ip = parseParams(spec.params, INFLUENCE_PARAMS, 'influence');
  if (spec.training === null || spec.training === undefined) {
    throw new AttributionError('TRAINING_MISSING', 'an influence model needs a training spec');
  }
  const tp = parseTraining(spec.training);
  const method = influenceMethodOf(ip, tp.trainer); // before any heavy work
  const input = checkText(spec.input, INFERENCE_INPUT_BYTES_MAX, 'input');
  const inTokens = await tokensOf(tp.tokenizer, input, 'input');
  const outTokens = await tokensOf(tp.tokenizer, output, 'output');
  const trained = await trainedModel(env, tp, spec.corpora);
  const { model, examples } = trained;
  let answer: ReturnType<typeof influenceScores>;
  if (method === 'sgd-influence@1') {
    answer = sgdInfluenceScores(model, examples, trained.trace!, inTokens);
  } else {
    trained.probabilities ??= exampleProbabilities(model, examples);
    answer = influenceScores(
      model,
      examples,
      inTokens,
      { l2: tp.l2, cgIters: ip.cgIters },
      trained.probabilities,
    );
  }
  const { label, scores } = answer;
  if (model.labels[label] !== output) {
    throw new AttributionError(
      'OUTPUT_MISMATCH',
      `the model predicts ${JSON.stringify(model.labels[label])} for this input, the receipt says ${JSON.stringify(output)}`,
    );
  }
  return { ...emptyResult(spec.job), scores, tokens: outTokens.length, weightsHash: model.weightsHash };
}

async function runTraining(spec: TrainingJobSpec, env: JobEnv): Promise<JobResult> {
  const tp = parseTraining(spec.training);
  const { model } = await trainedModel(env, tp, spec.corpora);
  return { ...emptyResult(spec.job), weightsHash: model.weightsHash };
}

async function runDuplicate(spec: DuplicateJobSpec, env: JobEnv): Promise<JobResult> {
  const p = parseParams(spec.params, DUPLICATE_PARAMS, 'duplicate');
  validateContributions([spec.contribution]);
  const index: IndexName = p.dupNormalization === 'none' ? p.tokenizer : p.dupNormalization;
  const tokens = (await loadIndexTokenizer(index)).encode(spec.contribution.content);
  const corpus = await corpusOf(env, index, spec.corpora, true);
  const found =
    p.dupNormalization === 'none'
      ? nearDuplicate(corpus, tokens, spec.contribution.id, {
          minSpan: p.dupMinSpan,
          spanCountMax: SPAN_PARAMS.spanCountMax.default,
        })
      : fuzzyDuplicate(corpus, tokens, spec.contribution.id, {
          shingle: p.dupShingle,
          gapMax: p.dupGapMax,
        });
  const result = { ...emptyResult(spec.job), tokens: found.coveredBps, duplicateOf: found.original };
  if (found.coveredBps >= p.dupThresholdBps) return { ...result, ok: false, error: 'NEAR_DUPLICATE' };
  return result;
}

/**
 * Deterministic inference of a chain-trained model: the label it gives `input`. Providers use it
 * to answer requests; validators get the same answer inside the influence job (a receipt whose
 * output differs fails with OUTPUT_MISMATCH). Bad specs throw AttributionError.
 */
export async function predictLabel(
  training: Param[],
  corpora: readonly CorpusInput[],
  input: string,
  env: JobEnv = { cacheDir: null },
): Promise<{ label: string; weightsHash: Uint8Array }> {
  const tp = parseTraining(training);
  const inTokens = await tokensOf(
    tp.tokenizer,
    checkText(input, INFERENCE_INPUT_BYTES_MAX, 'input'),
    'input',
  );
  const { model } = await trainedModel(env, tp, corpora);
  return { label: model.labels[predict(model, inTokens).label], weightsHash: model.weightsHash };
}

// ---- trained models (cached per thread; training is deterministic, so caching is invisible) ---

const MODELS_CACHED_MAX = 4;
interface Trained {
  model: LrModel;
  examples: ReturnType<typeof examplesOf>;
  /** Per-example probabilities, computed on the first influence job (they depend on the model only). */
  probabilities?: Int32Array;
  /** logreg@2: the recorded SGD run (sgd-influence@1 replays it); null for logreg@1. */
  trace: TrainingTrace | null;
}
const models = new Map<string, Trained>();

async function trainedModel(
  env: JobEnv,
  tp: Parsed<typeof TRAINING_PARAMS>,
  corpora: readonly CorpusInput[],
) {
  precheckCorpora(corpora);
  const key = toHex(
    sha256(
      encodeWire([
        'ol/lr-key/1',
        JSON.stringify(tp),
        corpora.map((c) => (isCorpusRef(c) ? c.digest : corpusDigest(tp.tokenizer, c.contributions))),
      ]),
    ),
  );
  const hit = models.get(key);
  if (hit) return hit;
  // Work limits on inline corpora before anything is tokenized (refs are checked after loading).
  let inlineDocs = 0;
  for (const c of corpora) if (!isCorpusRef(c)) inlineDocs += c.contributions.length;
  if (inlineDocs > TRAINING_EXAMPLES_MAX || inlineDocs * tp.epochs > TRAINING_STEPS_MAX) {
    throw new AttributionError(
      'TRAINING_OVER_LIMIT',
      `${inlineDocs} examples × ${tp.epochs} epochs is over the training limits`,
    );
  }
  const corpus = await corpusOf(env, tp.tokenizer, corpora);
  const docs = corpus.documents();
  const labels = checkTrainingWork(docs, tp);
  const examples = examplesOf(docs, labels, tp);
  let entry: Trained;
  if (tp.trainer === 'logreg@2') {
    const { model, trace } = trainLr2(examples, labels, tp);
    entry = { model, examples, trace };
  } else {
    entry = { model: trainLr(examples, labels, tp), examples, trace: null };
  }
  models.set(key, entry);
  if (models.size > MODELS_CACHED_MAX) models.delete(models.keys().next().value as string);
  return entry;
}
