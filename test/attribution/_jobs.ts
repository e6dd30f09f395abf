import type { Contribution, CorpusInput } from '../../attribution/corpusCache.js';
import type { JobSpec } from '../../attribution/jobs.js';
import type { IndexName } from '../../attribution/tokenizer.js';
import { idOf, rng, shakespeareContributions, speeches } from './_fixtures.js';

/**
 * A fixed mix of jobs of every kind over two small datanets, used by the determinism and golden
 * tests. `corpus(name)` decides how corpora travel (inline, or registered refs).
 */

export const PLAYS = idOf('datanet/plays');
export const SPEECHES = idOf('datanet/speeches');
/** The plays again, as the node hands them over: with acceptance order (not id order). */
export const PLAYS_ACCEPTED = idOf('datanet/plays-accepted');
export const WORDS: IndexName = 'nfkc-cf-words@1';
export type CorpusName = 'plays' | 'speeches' | 'playsAccepted';

export function playsContributions(): Contribution[] {
  return shakespeareContributions(2000, 300_000);
}

/** Acceptance: reverse order of the contributions' position, two per block. */
export function playsAcceptedContributions(): Contribution[] {
  const plays = playsContributions();
  return plays.map((c, k) => {
    const seq = plays.length - k;
    return { ...c, accepted: { height: 100 + (seq >> 1), seq } };
  });
}

export function speechContributions(): Contribution[] {
  return speeches(['ROMEO', 'JULIET', 'MENENIUS'], 40);
}

/** A held-out speech for the influence job, and the label the trained model gives it. */
export const HELD_OUT = speeches(['JULIET'], 1, 60)[0];

function windowOf(text: string, start: number, chars: number): string {
  return text.slice(start, start + chars);
}

/**
 * Jobs 1–8 are the round-1 mix, unchanged (their golden hashes are round 1's; jobs 6 and 7 now say
 * `dupNormalization=none`, which is exactly the round-1 check). Jobs 9–12 use the round-2
 * parameters: the fuzzy near-duplicate check, span attribution on normalised words, and shared
 * credit by acceptance order.
 */
export function jobMix(
  corpus: (name: CorpusName, index?: IndexName) => CorpusInput,
  influenceOutput: string,
): JobSpec[] {
  const plays = playsContributions();
  const r = rng(99);
  const pick = () => plays[Math.floor(r() * plays.length)];
  const a = pick();
  const b = pick();
  const spanOutput = `Well, ${windowOf(a.content, 100, 500)} — so it goes — ${windowOf(b.content, 300, 200)} and that is all.`;
  const tokenizer = { key: 'tokenizer', value: 'cl100k_base@js-tiktoken-1.0.21' };
  const training = [
    { key: 'epochs', value: '8' },
    { key: 'features', value: '1024' },
    { key: 'ngram', value: '2' },
  ];
  const copy = pick();
  const none = { key: 'dupNormalization', value: 'none' };
  return [
    {
      kind: 'attribution',
      job: 1,
      method: 'span',
      params: [tokenizer],
      training: null,
      corpora: [corpus('plays')],
      input: '',
      output: spanOutput,
      retrieved: [],
    },
    {
      kind: 'attribution',
      job: 2,
      method: 'span',
      params: [
        { key: 'minSpan', value: '5' },
        { key: 'shareTopK', value: '2' },
      ],
      training: null,
      corpora: [corpus('plays')],
      input: '',
      output: windowOf(pick().content, 0, 900),
      retrieved: [],
    },
    {
      kind: 'attribution',
      job: 3,
      method: 'retrieval',
      params: [{ key: 'retrievalCap', value: '5000' }],
      training: null,
      corpora: [corpus('plays')],
      input: '',
      output: 'an answer built from three passages',
      retrieved: [
        { contribution: plays[3].id, weight: 7000 },
        { contribution: plays[1].id, weight: 1000 },
        { contribution: plays[2].id, weight: 333 },
      ],
    },
    { kind: 'training', job: 4, training, corpora: [corpus('speeches')] },
    {
      kind: 'attribution',
      job: 5,
      method: 'influence',
      params: [{ key: 'cgIters', value: '12' }],
      training,
      corpora: [corpus('speeches')],
      input: HELD_OUT.content,
      output: influenceOutput,
      retrieved: [],
    },
    {
      kind: 'duplicate',
      job: 6,
      params: [none, tokenizer],
      corpora: [corpus('plays')],
      contribution: {
        id: idOf('copycat'),
        content: copy.content.replace(/ and /g, ' & ').slice(0, 1800),
        label: '',
      },
    },
    {
      kind: 'duplicate',
      job: 7,
      params: [none, { key: 'dupThresholdBps', value: '5000' }],
      corpora: [corpus('plays')],
      contribution: {
        id: idOf('original'),
        content: 'An entirely new text about ledgers, stakes and attribution.',
        label: '',
      },
    },
    {
      kind: 'attribution',
      job: 8,
      method: 'span',
      params: [{ key: 'tokenizer', value: 'no-such-tokenizer' }],
      training: null,
      corpora: [corpus('plays')],
      input: '',
      output: 'x',
      retrieved: [],
    },
    {
      kind: 'duplicate',
      job: 9,
      params: [],
      corpora: [corpus('plays', WORDS)],
      contribution: {
        id: idOf('recast copy'),
        content: pick().content.toUpperCase().replace(/[,;:]/g, '').replace(/ /g, '  '),
        label: '',
      },
    },
    {
      kind: 'attribution',
      job: 10,
      method: 'span',
      params: [{ key: 'normalization', value: WORDS }],
      training: null,
      corpora: [corpus('plays', WORDS)],
      input: '',
      output: spanOutput.toLowerCase().replace(/\n/g, ' '),
      retrieved: [],
    },
    {
      kind: 'attribution',
      job: 11,
      method: 'span',
      params: [
        { key: 'minSpan', value: '4' },
        { key: 'normalization', value: WORDS },
        { key: 'shareTopK', value: '1' },
      ],
      training: null,
      corpora: [corpus('playsAccepted', WORDS)],
      input: '',
      output: windowOf(pick().content, 0, 900).toUpperCase(),
      retrieved: [],
    },
    {
      kind: 'duplicate',
      job: 12,
      params: [{ key: 'dupNormalization', value: 'no-such-normalization' }],
      corpora: [corpus('plays', WORDS)],
      contribution: { id: idOf('bad params'), content: 'x', label: '' },
    },
    // Round 2, issue 14: the trainer new registrations pin (logreg@2, sgd-influence@1).
    {
      kind: 'training',
      job: 13,
      training: [{ key: 'trainer', value: 'logreg@2' }],
      corpora: [corpus('speeches')],
    },
    {
      kind: 'attribution',
      job: 14,
      method: 'influence',
      params: [],
      training: [{ key: 'trainer', value: 'logreg@2' }],
      corpora: [corpus('speeches')],
      input: HELD_OUT.content,
      output: 'JULIET', // what the logreg@2 model predicts (the test checks ok)
      retrieved: [],
    },
    // Issue 14 part 3: span weight by document frequency (spanWeight=document-bits@1).
    {
      kind: 'attribution',
      job: 15,
      method: 'span',
      params: [{ key: 'spanWeight', value: 'document-bits@1' }],
      training: null,
      corpora: [corpus('plays')],
      input: '',
      output: spanOutput,
      retrieved: [],
    },
    {
      kind: 'attribution',
      job: 16,
      method: 'span',
      params: [
        { key: 'normalization', value: WORDS },
        { key: 'shareTopK', value: '1' },
        { key: 'spanWeight', value: 'document-bits@1' },
      ],
      training: null,
      corpora: [corpus('playsAccepted', WORDS)],
      input: '',
      output: spanOutput.toLowerCase(),
      retrieved: [],
    },
  ];
}
