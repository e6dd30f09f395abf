import { describe, expect, it } from 'vitest';
import type { InlineCorpus } from '../../attribution/corpusCache.js';
import { evidenceCharRanges } from '../../attribution/evidenceText.js';
import { runJob } from '../../attribution/jobs.js';
import { wordIds } from '../../attribution/normalize.js';
import { bytesEqual } from '../../core/bytes.js';
import { idOf, shakespeareContributions } from './_fixtures.js';

/** Evidence of a normalised-words model names word ranges; the explorer highlights characters. */
describe('evidenceCharRanges for span models on normalised words', () => {
  const contributions = shakespeareContributions(2000, 200_000);
  const corpus: InlineCorpus = { datanet: idOf('ev/words'), version: 1, contributions };
  const params = [{ key: 'normalization', value: 'nfkc-cf-words@1' }];

  it('each range covers exactly the words the span matched, in the answer’s own spelling', async () => {
    const src = contributions[4].content;
    const copied = src.slice(300, 900);
    const output = `WELL — ${copied.toUpperCase().replace(/ /g, '  ')} …and that is all, my lord.`;
    const r = await runJob({
      kind: 'attribution',
      job: 1,
      method: 'span',
      params,
      training: null,
      corpora: [corpus],
      input: '',
      output,
      retrieved: [],
    });
    expect(r.evidence.length).toBeGreaterThan(0);
    const ranges = await evidenceCharRanges(params, output, r.evidence);
    for (const [k, e] of r.evidence.entries()) {
      const range = ranges[k]!;
      const text = output.slice(range.start, range.end);
      // The highlighted characters normalise to exactly the span's words…
      expect(wordIds(text).length).toBe(e.outputEnd - e.outputStart);
      // …which are the cited contribution's words at the stated offset.
      const doc = wordIds(contributions.find((c) => bytesEqual(c.id, e.contribution))!.content);
      expect(Array.from(wordIds(text))).toEqual(
        Array.from(doc.subarray(e.offset, e.offset + e.outputEnd - e.outputStart)),
      );
    }
  });

  it('hostile or stale spans map to null, never to a guess', async () => {
    const output = 'one two three';
    const bad = [
      { outputStart: 0, outputEnd: 4 },
      { outputStart: -1, outputEnd: 2 },
      { outputStart: 2, outputEnd: 2 },
      { outputStart: 1.5, outputEnd: 2 },
    ];
    expect(await evidenceCharRanges(params, output, bad)).toEqual([null, null, null, null]);
    expect(await evidenceCharRanges(params, output, [{ outputStart: 1, outputEnd: 3 }])).toEqual([
      { start: 4, end: 13 },
    ]);
  });
});
