import type { Contribution, InlineCorpus } from '../../attribution/corpusCache.js';
import { CorpusView, Segment } from '../../attribution/corpusIndex.js';
import { runJob } from '../../attribution/jobs.js';
import { WORD_ID_LIMIT, wordIds } from '../../attribution/normalize.js';
import { bytesEqual } from '../../core/bytes.js';
import type { Param } from '../../core/tx.js';
import { contributionsOf, idOf, PROSE_FILES, passages, rng, shuffle, TECHNICAL_FILES } from './texts.js';

/**
 * Near-duplicate guard: for each edit a copier might make, the share of edited copies of accepted
 * contributions that the duplicate job rejects (NEAR_DUPLICATE naming the right original), at the
 * default parameters and, for comparison, with the round-1 check (`dupNormalization=none`); and
 * the share of genuinely distinct contributions rejected (false positives): unseen passages of
 * the same books (sharing only common phrases), unseen passages under a boilerplate header that
 * many accepted contributions carry, and unseen passages quoting a sentence of an accepted one.
 * Two corpora: prose (novels and plays) and technical (SQLite's API reference, heavily templated).
 */

/** Words a copier swaps in (common English words; a replacement always differs from the original). */
const FILLER = (
  'time year people way day man thing woman life child world school state family student group ' +
  'country problem hand part place case week company system program question work government ' +
  'number night point home water room mother area money story fact month lot right study book ' +
  'eye job word business issue side kind head house service friend father power hour game line ' +
  'end member law car city community name president team minute idea kid body information back ' +
  'parent face others level office door health person art war history party result change ' +
  'morning reason research girl guy moment air teacher force education good new first last long ' +
  'great little own other old big high different small large next early young important few ' +
  'public bad same able quickly slowly never always often rather quite'
).split(' ');

type Transform = (text: string, r: () => number) => string;

const replaceOneIn =
  (k: number): Transform =>
  (text, r) => {
    // One word in every block of k words, at a random place in the block.
    const parts = text.split(/(\s+)/);
    const wordAt: number[] = [];
    parts.forEach((p, i) => {
      if (p.length > 0 && !/^\s+$/.test(p)) wordAt.push(i);
    });
    for (let b = 0; b < wordAt.length; b += k) {
      const i = wordAt[b + Math.floor(r() * Math.min(k, wordAt.length - b))];
      let w = FILLER[Math.floor(r() * FILLER.length)];
      if (w === parts[i].toLowerCase()) w = FILLER[(FILLER.indexOf(w) + 1) % FILLER.length];
      parts[i] = w;
    }
    return parts.join('');
  };

const PUNCT_SWAP: Record<string, string> = {
  '.': ';',
  ',': '.',
  ';': ',',
  ':': ',',
  '!': '.',
  '?': '!',
  "'": '’',
  '"': '“',
  '-': '–',
};

const reorderSentences: Transform = (text, r) => {
  const sentences = text.split(/(?<=[.!?;])\s+/);
  return shuffle(sentences, r).join(' ');
};

export const TRANSFORMS: Record<string, Transform> = {
  verbatim: (t) => t,
  upperCase: (t) => t.toUpperCase(),
  lowerCase: (t) => t.toLowerCase(),
  doubledWhitespace: (t) => t.replace(/\s/g, (s) => s + s),
  collapsedWhitespace: (t) => t.replace(/\s+/g, ' '),
  punctuationStripped: (t) => t.replace(/[^\p{L}\p{N}\s]/gu, ''),
  punctuationSwapped: (t) => t.replace(/[.,;:!?'"-]/g, (c) => PUNCT_SWAP[c] ?? c),
  sentencesReordered: reorderSentences,
  oneWordIn5Replaced: replaceOneIn(5),
  oneWordIn3Replaced: replaceOneIn(3),
  upperPunctStrippedOneIn5: (t, r) => replaceOneIn(5)(t.toUpperCase().replace(/[^\p{L}\p{N}\s]/gu, ''), r),
  reorderedLowerSpacedOneIn5: (t, r) =>
    replaceOneIn(5)(reorderSentences(t, r).toLowerCase().replace(/ /g, '  '), r),
};
/** Transforms the goal (≥ 95 % caught) applies to: everything up to one word in 5 replaced. */
export const GOAL_TRANSFORMS = Object.keys(TRANSFORMS).filter((k) => k !== 'oneWordIn3Replaced');

const BOILERPLATE =
  'This contribution is released into the public domain for the OpenLedger datanet. It was ' +
  'transcribed from a printed edition and checked against the original by the contributor. ' +
  'Corrections are welcome through the datanet review process.';

interface CorpusSetup {
  name: string;
  accepted: Contribution[];
  /** Passages never accepted and genuinely distinct, for false positives. */
  unseen: string[];
  /** Unseen passages left out for sharing a long run with an accepted one. */
  overlapping: number;
}

/** Longest run of normalised words a text shares with the corpus. */
function longestSharedRun(view: CorpusView, text: string): number {
  const q = CorpusView.queryOf(wordIds(text));
  let best = 0;
  for (let i = 0; i + best < q.length; i++) best = Math.max(best, view.longestMatch(q, i, q.length).len);
  return best;
}

/**
 * Unseen passages sharing no run of this many words with an accepted one count as genuinely
 * distinct. Templated documentation repeats whole sentences across pages; those passages are
 * partial copies, not false positives, and are reported apart.
 */
export const DISTINCT_RUN_WORDS_MAX = 12;

function setup(name: string, files: readonly string[], accepted: number, unseen: number, seed: number) {
  const all = shuffle(passages(files, 120), rng(seed));
  const acc = all.slice(0, accepted);
  const view = new CorpusView([
    Segment.build(
      acc.map((p) => ({ id: idOf(p.tag), label: '', tokens: wordIds(p.text) })),
      WORD_ID_LIMIT,
    ),
  ]);
  const rest = all.slice(accepted);
  const distinct = rest.filter((p) => longestSharedRun(view, p.text) < DISTINCT_RUN_WORDS_MAX);
  // A third of the accepted passages carry the boilerplate header.
  const withHeader = acc.map((p, k) => (k % 3 === 0 ? { ...p, text: `${BOILERPLATE}\n\n${p.text}` } : p));
  return {
    name,
    accepted: contributionsOf(withHeader),
    unseen: distinct.slice(0, unseen).map((p) => p.text),
    overlapping: rest.length - distinct.length,
  } satisfies CorpusSetup;
}

async function check(corpus: InlineCorpus, content: string, tag: string, params: Param[]) {
  const r = await runJob({
    kind: 'duplicate',
    job: 1,
    params,
    corpora: [corpus],
    contribution: { id: idOf(`eval/dup/${tag}`), content, label: '' },
  });
  return { rejected: !r.ok && r.error === 'NEAR_DUPLICATE', original: r.duplicateOf, bps: r.tokens };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function evalCorpus(s: CorpusSetup, copies: number, seed: number) {
  const corpus: InlineCorpus = { datanet: idOf(`eval/dup/${s.name}`), version: 1, contributions: s.accepted };
  const modes: Record<string, Param[]> = {
    default: [],
    round1: [{ key: 'dupNormalization', value: 'none' }],
  };
  const r = rng(seed);
  const originals = shuffle(s.accepted, r).slice(0, copies);
  const transforms: Record<string, Record<string, number>> = {};
  for (const [name, t] of Object.entries(TRANSFORMS)) {
    const row: Record<string, number> = {};
    for (const [mode, params] of Object.entries(modes)) {
      let caught = 0;
      let named = 0;
      for (const [k, o] of originals.entries()) {
        const copy = t(o.content, rng(seed * 1000 + k));
        const res = await check(corpus, copy, `${name}/${k}`, params);
        if (res.rejected) caught++;
        if (res.rejected && res.original !== null && bytesEqual(res.original, o.id)) named++;
      }
      row[mode] = round3(caught / originals.length);
      // Rejected naming this very original (else an earlier-accepted text covering it as much).
      row[`${mode}NamesTheOriginal`] = round3(named / originals.length);
    }
    transforms[name] = row;
  }
  // False positives: distinct texts, three kinds.
  const rq = rng(seed + 1);
  const quote = (text: string) => {
    const o = s.accepted[Math.floor(rq() * s.accepted.length)].content;
    const sentences = o.split(/(?<=[.!?])\s+/).filter((x) => x.split(/\s+/).length >= 8);
    const q = sentences.length > 0 ? sentences[Math.floor(rq() * sentences.length)] : o.slice(0, 200);
    const cut = text.indexOf('\n\n', text.length >> 1);
    const at = cut > 0 ? cut : text.length;
    return `${text.slice(0, at)}\n\nAs it was said: "${q}"\n\n${text.slice(at)}`;
  };
  const distinct: Record<string, string[]> = {
    commonPhrasesOnly: s.unseen,
    boilerplateHeader: s.unseen.map((t) => `${BOILERPLATE}\n\n${t}`),
    quotation: s.unseen.map(quote),
  };
  const falsePositives: Record<string, Record<string, number>> = {};
  for (const [mode, params] of Object.entries(modes)) {
    let rejected = 0;
    let total = 0;
    const byKind: Record<string, number> = {};
    for (const [kind, texts] of Object.entries(distinct)) {
      let k = 0;
      for (const [i, t] of texts.entries()) {
        if ((await check(corpus, t, `fp/${kind}/${i}`, params)).rejected) k++;
      }
      byKind[kind] = round3(k / texts.length);
      rejected += k;
      total += texts.length;
    }
    falsePositives[mode] = { rate: round3(rejected / total), contributions: total, ...byKind };
  }
  const worstGoal = Math.min(...GOAL_TRANSFORMS.map((k) => transforms[k].default));
  return {
    acceptedContributions: s.accepted.length,
    copiesPerTransform: originals.length,
    caught: transforms,
    worstCaughtUpToOneIn5: worstGoal,
    falsePositives,
    distinctMeans: `no run of ${DISTINCT_RUN_WORDS_MAX} normalised words shared with an accepted contribution`,
    unseenPassagesLeftOutAsOverlapping: s.overlapping,
  };
}

export async function evalDuplicates(opts: { quick?: boolean }): Promise<Record<string, unknown>> {
  const accepted = opts.quick ? 150 : 400;
  const copies = opts.quick ? 30 : 100;
  const unseen = opts.quick ? 60 : 200;
  return {
    params: 'defaults: dupNormalization=nfkc-cf-words@1, dupShingle=3, dupGapMax=12, dupThresholdBps=8000',
    prose: await evalCorpus(setup('prose', PROSE_FILES, accepted, unseen, 11), copies, 21),
    technical: await evalCorpus(setup('technical', TECHNICAL_FILES, accepted, unseen, 12), copies, 22),
  };
}
