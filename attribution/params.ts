import type { Param } from '../core/tx.js';
import { AttributionError } from './errors.js';
import { FP_ONE, parseDecimalFp } from './fixedPoint.js';
import { isNormalizationName, NORMALIZATIONS, type NormalizationName } from './normalize.js';
import { checkTokenizerName, DEFAULT_TOKENIZER, type TokenizerName } from './tokenizer.js';
import { TRAINER_ABSENT, TRAINERS, type TrainerName } from './training.js';

/** `none` = raw tokenizer ids (the round-1 meaning), else a normalisation of normalize.ts. */
export type NormalizationParam = 'none' | NormalizationName;
export const NORMALIZATION_PARAM_VALUES: readonly NormalizationParam[] = ['none', ...NORMALIZATIONS];

/**
 * Model parameters and training specs arrive as `(key, value)` string pairs sorted by key
 * (core/tx.ts `Param`). This module is their one parser: every key, range and default lives in
 * the tables below, and anything else is a typed error before heavy work. README.md lists them.
 */

type Field =
  | { kind: 'int'; min: number; max: number; default: number }
  | { kind: 'pow2'; min: number; max: number; default: number }
  | { kind: 'decimal'; min: number; max: number; default: number } // Q16 bounds
  | { kind: 'tokenizer' }
  | { kind: 'normalization'; default: NormalizationParam }
  | { kind: 'trainer'; default: TrainerName }
  | { kind: 'influenceMethod'; default: InfluenceMethod | null }
  | { kind: 'string'; maxBytes: number; default: string }
  | { kind: 'choice'; values: readonly string[]; default: string };

const tokenizerField: Field = { kind: 'tokenizer' };

/** Span weights (`spanWeight`); a name keeps its meaning forever, a new rule gets a new name. */
export const SPAN_WEIGHTS = ['occurrence-bits@1', 'document-bits@1'] as const;
export type SpanWeight = (typeof SPAN_WEIGHTS)[number];

/** Span attribution (method `span`). */
export const SPAN_PARAMS = {
  tokenizer: tokenizerField,
  /** Shortest span that counts, in tokens. */
  minSpan: { kind: 'int', min: 2, max: 64, default: 8 },
  /** Share each span among the first k contributions by (id, offset); 0 = all. */
  shareTopK: { kind: 'int', min: 0, max: 64, default: 0 },
  /** Spans occurring more often than this are too common to attribute (and too costly to list). */
  spanCountMax: { kind: 'int', min: 1, max: 100_000, default: 1000 },
  /**
   * What spans are matched on: `none` = the tokenizer's ids (absent = none, so models registered
   * before this parameter existed keep their exact results), `nfkc-cf-words@1` = normalised words
   * (re-cased, re-spaced or re-punctuated copies match; minSpan then counts words; what
   * vm/models.ts pins on new span models).
   */
  normalization: { kind: 'normalization', default: 'none' },
  /**
   * How a span is weighed (span.ts): `occurrence-bits@1` = L · bitLength(⌊N / c⌋) over corpus
   * tokens N and occurrences c (absent = this, the round-1 meaning, so registered models keep
   * their results); `document-bits@1` = Σ over the span's tokens of bitLength(⌊D / c⌋), D the
   * contributions and c the occurrences of the span's more common side around the token (capped
   * at D), so text every contribution shares (boilerplate) weighs 1 bit per token instead of
   * ~log2(tokens per contribution) (what vm/models.ts pins on new span models; README.md).
   */
  spanWeight: { kind: 'choice', values: SPAN_WEIGHTS, default: 'occurrence-bits@1' },
} as const satisfies Record<string, Field>;

/** Retrieval attribution (method `retrieval`). */
export const RETRIEVAL_PARAMS = {
  tokenizer: tokenizerField,
  /** Each retrieved weight is capped at this before normalising. */
  retrievalCap: { kind: 'int', min: 1, max: 1_000_000, default: 1_000_000 },
} as const satisfies Record<string, Field>;

/**
 * Influence methods (the model's `influenceMethod`):
 * - `exact-cg@1`: Koh & Liang (2017) influence, −∇L_testᵀ(H + λI)⁻¹∇L_i at the trained weights,
 *   by CG on the exact Hessian — the round-1 method, the only one for trainer logreg@1;
 * - `sgd-influence@1`: the first-order effect of leaving example i out of the trainer's own SGD
 *   run, by replaying the recorded run backwards (Hara, Nitanda & Maehara 2019; TracIn, Pruthi et
 *   al. 2020, is its special case that ignores the Hessian between checkpoints). logreg@2 only.
 */
export const INFLUENCE_METHODS = ['exact-cg@1', 'sgd-influence@1'] as const;
export type InfluenceMethod = (typeof INFLUENCE_METHODS)[number];

/** Influence attribution (method `influence`): the model's `params`; training keys are separate. */
export const INFLUENCE_PARAMS = {
  /** Conjugate-gradient iterations for (H + λI)⁻¹ ∇L(test) (`exact-cg@1` only). */
  cgIters: { kind: 'int', min: 1, max: 64, default: 16 },
  /**
   * null = the trainer's default: `exact-cg@1` under logreg@1 (round-1 models keep their
   * results), `sgd-influence@1` under logreg@2 (chosen by measurement, README.md).
   */
  influenceMethod: { kind: 'influenceMethod', default: null },
} as const satisfies Record<string, Field>;

/** The influence method a model uses: its `influenceMethod`, else its trainer's default. */
export function influenceMethodOf(
  ip: Parsed<typeof INFLUENCE_PARAMS>,
  trainer: TrainerName,
): InfluenceMethod {
  const m = ip.influenceMethod ?? (trainer === 'logreg@1' ? 'exact-cg@1' : 'sgd-influence@1');
  if (m === 'sgd-influence@1' && trainer === 'logreg@1') {
    throw new AttributionError(
      'PARAM_INVALID',
      'influenceMethod=sgd-influence@1 needs the training spec trainer=logreg@2 (logreg@1 records no training trace)',
      { key: 'influenceMethod', value: m },
    );
  }
  return m;
}

/**
 * A training spec (`model.register` `training`). The defaults below are those of trainer
 * `logreg@1` (absent `trainer`), which every round-1 model was registered under and keeps;
 * `logreg@2` has its own defaults (TRAINING_DEFAULTS_V2, chosen by measurement; README.md).
 * Parse with `parseTraining`, which applies the defaults of the spec's trainer.
 */
export const TRAINING_PARAMS = {
  tokenizer: tokenizerField,
  /** Trainer version (training.ts TRAINERS); absent = logreg@1. */
  trainer: { kind: 'trainer', default: TRAINER_ABSENT },
  /** Hashed feature buckets (a power of two), plus one bias feature. */
  features: { kind: 'pow2', min: 16, max: 65536, default: 4096 },
  /** Token n-grams 1..ngram are hashed into features. */
  ngram: { kind: 'int', min: 1, max: 3, default: 2 },
  epochs: { kind: 'int', min: 1, max: 64, default: 5 },
  /** Learning rate η₀ (decimal); epoch e uses η₀ / (e + 1). */
  lr: { kind: 'decimal', min: 1, max: 8 * FP_ONE, default: FP_ONE / 2 },
  /** L2 regularisation λ (decimal) of the objective (1/n)ΣL + (λ/2)‖W‖². */
  l2: { kind: 'decimal', min: 1, max: FP_ONE, default: 66 }, // ≈ 0.001
  /** Mixed into the per-epoch example order. */
  seed: { kind: 'string', maxBytes: 64, default: '' },
} as const satisfies Record<string, Field>;

/** Defaults of trainer logreg@2 for keys the spec leaves out (measured: README.md, Influence). */
export const TRAINING_DEFAULTS_V2 = {
  features: 4096,
  ngram: 1,
  epochs: 3,
  lr: 65, // ≈ 0.001 (Q16 floor of 65.536)
  l2: 66, // ≈ 0.001
} as const;

/** Parses a training spec with the defaults of the trainer it names (absent: logreg@1). */
export function parseTraining(params: readonly Param[]): Parsed<typeof TRAINING_PARAMS> {
  const tp = parseParams(params, TRAINING_PARAMS, 'training');
  if (tp.trainer === 'logreg@2') {
    const given = new Set(params.map((p) => p.key));
    for (const [k, v] of Object.entries(TRAINING_DEFAULTS_V2)) {
      if (!given.has(k)) (tp as Record<string, unknown>)[k] = v;
    }
  }
  return tp;
}

/**
 * Near-duplicate check of a new contribution (duplicate.ts). The parameters of a check are the
 * chain's (the node passes them per job); a settled check is never recomputed, so a new default
 * changes only checks made after the upgrade. `dupNormalization=none` is the round-1 check exactly
 * (verbatim token spans, `tokenizer` and `dupMinSpan`); a normalisation selects the fuzzy check
 * over normalised words (`dupShingle`, `dupGapMax`).
 */
export const DUPLICATE_PARAMS = {
  tokenizer: tokenizerField,
  /** Shortest span (tokens) counted as copied (`none` only). */
  dupMinSpan: { kind: 'int', min: 2, max: 64, default: 8 },
  /** Reject when ONE accepted contribution covers at least this share of the new one (bps). */
  dupThresholdBps: { kind: 'int', min: 1, max: 10_000, default: 8000 },
  /** What is compared: `none` (raw tokens, round 1) or a normalisation (words). */
  dupNormalization: { kind: 'normalization', default: 'nfkc-cf-words@1' },
  /** Length in words of the exact matches (shingles) that anchor an alignment. */
  dupShingle: { kind: 'int', min: 2, max: 16, default: 3 },
  /** Longest run of differing words bridged between two anchors of one alignment. */
  dupGapMax: { kind: 'int', min: 0, max: 64, default: 12 },
} as const satisfies Record<string, Field>;

type ValueOf<F> = F extends { kind: 'tokenizer' }
  ? TokenizerName
  : F extends { kind: 'trainer' }
    ? TrainerName
    : F extends { kind: 'influenceMethod' }
      ? InfluenceMethod | null
      : F extends { kind: 'normalization' }
        ? NormalizationParam
        : F extends { kind: 'choice'; values: readonly (infer V)[] }
          ? V
          : F extends { kind: 'string' }
            ? string
            : number;
export type Parsed<S extends Record<string, Field>> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** Parses sorted params against a table; unknown keys, bad order and bad values are typed errors. */
export function parseParams<S extends Record<string, Field>>(
  params: readonly Param[],
  table: S,
  what: string,
): Parsed<S> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(table)) {
    out[key] = f.kind === 'tokenizer' ? DEFAULT_TOKENIZER : f.default;
  }
  let prev: string | null = null;
  for (const { key, value } of params) {
    if (prev !== null && !(Buffer.compare(Buffer.from(prev), Buffer.from(key)) < 0)) {
      throw new AttributionError(
        'PARAMS_UNSORTED',
        `${what} params must be sorted by key without repeats (at ${key})`,
        {
          key,
        },
      );
    }
    prev = key;
    const f = (table as Record<string, Field>)[key];
    if (f === undefined) {
      throw new AttributionError(
        'PARAM_UNKNOWN',
        `unknown ${what} param ${JSON.stringify(key)}; known: ${Object.keys(table).join(', ')}`,
        { key },
      );
    }
    out[key] = parseValue(key, value, f, what);
  }
  return out as Parsed<S>;
}

function parseValue(key: string, value: string, f: Field, what: string): unknown {
  const bad = (rule: string): never => {
    throw new AttributionError('PARAM_INVALID', `${what} param ${key}=${JSON.stringify(value)}: ${rule}`, {
      key,
      value,
    });
  };
  switch (f.kind) {
    case 'tokenizer':
      return checkTokenizerName(value);
    case 'normalization':
      if (value !== 'none' && !isNormalizationName(value)) {
        throw new AttributionError(
          'NORMALIZATION_UNKNOWN',
          `${what} param ${key}: unknown normalisation ${JSON.stringify(value)}; use one of ${NORMALIZATION_PARAM_VALUES.join(', ')}`,
          { key, value },
        );
      }
      return value;
    case 'trainer':
      if (!(TRAINERS as readonly string[]).includes(value)) {
        throw new AttributionError(
          'TRAINER_UNKNOWN',
          `${what} param ${key}: unknown trainer ${JSON.stringify(value)}; use one of ${TRAINERS.join(', ')}`,
          { key, value },
        );
      }
      return value;
    case 'influenceMethod':
      if (!(INFLUENCE_METHODS as readonly string[]).includes(value)) {
        throw new AttributionError(
          'INFLUENCE_METHOD_UNKNOWN',
          `${what} param ${key}: unknown influence method ${JSON.stringify(value)}; use one of ${INFLUENCE_METHODS.join(', ')}`,
          { key, value },
        );
      }
      return value;
    case 'choice':
      if (!f.values.includes(value)) bad(`expected one of ${f.values.join(', ')}`);
      return value;
    case 'string':
      if (Buffer.byteLength(value) > f.maxBytes) bad(`at most ${f.maxBytes} bytes`);
      return value;
    case 'int':
    case 'pow2': {
      if (!/^(0|[1-9]\d{0,14})$/.test(value)) bad('expected a decimal integer');
      const v = Number(value);
      if (v < f.min || v > f.max) bad(`expected ${f.min}..${f.max}`);
      if (f.kind === 'pow2' && (v & (v - 1)) !== 0) bad('expected a power of two');
      return v;
    }
    case 'decimal': {
      const v = parseDecimalFp(value);
      if (v === null) bad('expected a decimal like 0.5');
      if ((v as number) < f.min || (v as number) > f.max) {
        bad(`expected ${(f.min / FP_ONE).toFixed(6)}..${f.max / FP_ONE} (16-bit fixed point)`);
      }
      return v;
    }
  }
}
