import { describe, expect, it } from 'vitest';
import type { Contribution, CorpusRef, InlineCorpus } from '../../attribution/corpusCache.js';
import { CorpusView, Segment } from '../../attribution/corpusIndex.js';
import {
  DUP_ANCHORS_PER_WORD_MAX,
  DUP_CANDIDATES_MAX,
  DUP_OCCURRENCES_MAX,
  fuzzyDuplicate,
} from '../../attribution/duplicate.js';
import { type DuplicateJobSpec, runJob } from '../../attribution/jobs.js';
import { WORD_ID_LIMIT, wordIds } from '../../attribution/normalize.js';
import { bytesEqual, compareBytes } from '../../core/bytes.js';
import { CONTRIBUTION_BYTES_MAX, type Param } from '../../core/tx.js';
import { idOf, rng, shakespeareContributions } from './_fixtures.js';

/**
 * The near-duplicate guard against a copier who edits before re-uploading (issue 14): each edit
 * is an attack that passes the round-1 check (`dupNormalization=none`) and must be caught at the
 * defaults; genuinely distinct texts must pass; the work is bounded on adversarial input.
 */

const plays = shakespeareContributions(1500, 200_000);
const accepted = plays.slice(0, 60).map((c, k) => ({ ...c, accepted: { height: 10 + k, seq: k + 1 } }));
const corpus: InlineCorpus = { datanet: idOf('datanet/dup'), version: 60, contributions: accepted };
const unseen = plays.slice(60, 90);

function job(content: string, params: Param[] = [], c: InlineCorpus | CorpusRef = corpus): DuplicateJobSpec {
  return {
    kind: 'duplicate',
    job: 1,
    params,
    corpora: [c],
    contribution: { id: idOf(content), content, label: '' },
  };
}

const replaceOneIn = (k: number, text: string, seed: number) => {
  const r = rng(seed);
  const parts = text.split(/(\s+)/);
  const at = parts.flatMap((p, i) => (/\S/.test(p) ? [i] : []));
  for (let b = 0; b < at.length; b += k)
    parts[at[b + Math.floor(r() * Math.min(k, at.length - b))]] = 'zebra';
  return parts.join('');
};

const EDITS: Record<string, (t: string, k: number) => string> = {
  upperCase: (t) => t.toUpperCase(),
  doubledSpaces: (t) => t.replace(/ /g, '  '),
  punctuationStripped: (t) => t.replace(/[^\p{L}\p{N}\s]/gu, ''),
  punctuationSwapped: (t) =>
    t.replace(/[,.;:!?]/g, (c) => ({ ',': ';', '.': '!', ';': ',', ':': '.', '!': '?', '?': '.' })[c]!),
  oneWordIn5Replaced: (t, k) => replaceOneIn(5, t, k),
  reorderedAndLowered: (t, k) => {
    const r = rng(k);
    const lines = t.split('\n');
    for (let i = lines.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [lines[i], lines[j]] = [lines[j], lines[i]];
    }
    return lines.join('\n').toLowerCase();
  },
};

describe('near-duplicate guard (fuzzy, on normalised words)', () => {
  for (const [name, edit] of Object.entries(EDITS)) {
    it(`catches copies with ${name}, naming the original — the round-1 check lets them through`, async () => {
      let caught = 0;
      let round1 = 0;
      const originals = accepted.slice(0, 10);
      for (const [k, o] of originals.entries()) {
        const copy = edit(o.content, k + 1);
        const r = await runJob(job(copy));
        if (!r.ok && r.error === 'NEAR_DUPLICATE' && bytesEqual(r.duplicateOf!, o.id)) {
          caught++;
          expect(r.tokens).toBeGreaterThanOrEqual(8000);
        }
        const old = await runJob(job(copy, [{ key: 'dupNormalization', value: 'none' }]));
        if (!old.ok) round1++;
      }
      expect(caught).toBe(originals.length);
      if (name !== 'reorderedAndLowered') expect(round1).toBeLessThan(originals.length);
    });
  }

  it('passes genuinely distinct texts, also under a shared boilerplate header', async () => {
    const header =
      'Transcribed for the datanet from the First Folio; corrections welcome through review.\n\n';
    const withHeader: InlineCorpus = {
      ...corpus,
      contributions: accepted.map((c) => ({ ...c, content: header + c.content })),
    };
    for (const u of unseen.slice(0, 15)) {
      const r = await runJob(job(header + u.content, [], withHeader));
      expect(r.ok, `covered ${r.tokens} bps`).toBe(true);
      expect(r.tokens).toBeLessThan(8000);
    }
  });

  it('names the earlier-accepted original when two accepted texts cover a copy equally', async () => {
    // Grind a trailing variation of an accepted passage until its id sorts before the original.
    const original = accepted[5];
    let later: Contribution | null = null;
    for (let n = 0; later === null; n++) {
      const content = `${original.content}\n${'!'.repeat(1 + (n % 7))}${' '.repeat(n >> 3)}`;
      const id = idOf(`later/${n}`);
      if (compareBytes(id, original.id) < 0)
        later = { id, content, label: '', accepted: { height: 99, seq: 61 } };
    }
    const both: InlineCorpus = { ...corpus, version: 61, contributions: [...accepted, later] };
    const copy = original.content.toUpperCase();
    const r = await runJob(job(copy, [], both));
    expect(r).toMatchObject({ ok: false, error: 'NEAR_DUPLICATE' });
    expect(bytesEqual(r.duplicateOf!, original.id)).toBe(true);
    // Without acceptance data (round-1 inputs), the tie goes to the smaller id: the grinder.
    const strip = (c: Contribution): Contribution => ({ id: c.id, content: c.content, label: c.label });
    const r1 = await runJob(job(copy, [], { ...both, contributions: both.contributions.map(strip) }));
    expect(bytesEqual(r1.duplicateOf!, later!.id)).toBe(true);
  });

  it('bounds its work on adversarial contributions: one repeated word, every common word', () => {
    const docs = [
      ...accepted.map((c) => ({ id: c.id, label: '', tokens: wordIds(c.content), accepted: c.accepted })),
      { id: idOf('spam'), label: '', tokens: wordIds('the '.repeat(16_000)) },
      { id: idOf('spam2'), label: '', tokens: wordIds('the cat '.repeat(8_000)) },
    ];
    const view = new CorpusView([Segment.build(docs, WORD_ID_LIMIT)]);
    const vocabulary = [...new Set(accepted.flatMap((c) => c.content.toLowerCase().split(/[^a-z]+/)))];
    const attacks = {
      repeated: 'the '.repeat(CONTRIBUTION_BYTES_MAX / 4),
      repeatedPair: 'the cat '.repeat(CONTRIBUTION_BYTES_MAX / 8),
      everyCommonWord: vocabulary.join(' ').slice(0, CONTRIBUTION_BYTES_MAX),
    };
    for (const [name, text] of Object.entries(attacks)) {
      const words = wordIds(text);
      const found = fuzzyDuplicate(view, words, idOf(name), { shingle: 3, gapMax: 12 });
      expect(found.work!.occurrences, name).toBeLessThanOrEqual(DUP_OCCURRENCES_MAX);
      expect(found.work!.candidates, name).toBeLessThanOrEqual(DUP_CANDIDATES_MAX);
      expect(found.work!.anchors, name).toBeLessThanOrEqual(
        DUP_CANDIDATES_MAX * words.length * DUP_ANCHORS_PER_WORD_MAX,
      );
    }
    // The repetitive attack against its own kind is still judged (rarest shingles first).
    const r = fuzzyDuplicate(view, wordIds('the cat '.repeat(5000)), idOf('x'), { shingle: 3, gapMax: 12 });
    expect(r.coveredBps === 0 || bytesEqual(r.original!, idOf('spam2'))).toBe(true);
  });

  it('bad parameters are typed errors before any corpus is touched', async () => {
    const missing: CorpusRef = {
      datanet: idOf('none'),
      version: 1,
      tokenizer: 'nfkc-cf-words@1',
      digest: '00'.repeat(32),
    };
    const cases: [Param[], string][] = [
      [[{ key: 'dupNormalization', value: 'nfkc-cf-words@2' }], 'NORMALIZATION_UNKNOWN'],
      [[{ key: 'dupShingle', value: '1' }], 'PARAM_INVALID'],
      [[{ key: 'dupShingle', value: '17' }], 'PARAM_INVALID'],
      [[{ key: 'dupGapMax', value: '65' }], 'PARAM_INVALID'],
    ];
    for (const [params, code] of cases) {
      expect(await runJob(job('some text', params, missing))).toMatchObject({ ok: false, error: code });
    }
    // At the boundary the same ref is looked up (and is missing: a node-local error, thrown).
    await expect(
      runJob(job('some text', [{ key: 'dupShingle', value: '16' }], missing)),
    ).rejects.toMatchObject({
      code: 'CORPUS_NOT_CACHED',
    });
  });
});
