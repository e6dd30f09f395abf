import { describe, expect, it } from 'vitest';
import type { Contribution, InlineCorpus } from '../../attribution/corpusCache.js';
import { runJob } from '../../attribution/jobs.js';
import { verifySpanEvidenceText } from '../../attribution/span.js';
import { bytesEqual, compareBytes } from '../../core/bytes.js';
import { sha256 } from '../../core/hash.js';
import type { JobResult, Param } from '../../core/tx.js';
import { contributionId } from '../../vm/datanets.js';
import { idOf, shakespeareContributions } from './_fixtures.js';

/**
 * "First source wins" (issue 14): when credit is limited to the first `shareTopK` sharers, the
 * order is acceptance, not the contribution id — ids are content hashes (vm/datanets.ts
 * `contributionId`), so a copier can grind trivial variations of a popular passage until its id
 * sorts first. The attack below grinds for real, and wins exactly when acceptance is not known
 * (round-1 inputs), and loses when it is.
 */

const DATANET = idOf('datanet/first-source');
const others = shakespeareContributions(1500, 120_000).slice(0, 40);
const original = others[7];
const originalId = contributionId(DATANET, sha256(Buffer.from(original.content)));

/** The copier's grind: append invisible variations until the id sorts before the original's. */
function grind(): { content: string; id: Uint8Array; tries: number } {
  for (let n = 1; ; n++) {
    const content = `${original.content}${' '.repeat(n % 13)}${'\n'.repeat(1 + Math.floor(n / 13))}`;
    const id = contributionId(DATANET, sha256(Buffer.from(content)));
    if (compareBytes(id, originalId) < 0) return { content, id, tries: n };
  }
}

function corpusOf(withAcceptance: boolean): { corpus: InlineCorpus; copyId: Uint8Array } {
  const copy = grind();
  const list: Contribution[] = [
    ...others.map((c, k) => ({
      id: c === original ? originalId : c.id,
      content: c.content,
      label: '',
      accepted: { height: 10 + k, seq: k + 1 },
    })),
    // The copy slipped in later (a curator accepted it, or it carried enough new text).
    { id: copy.id, content: copy.content, label: '', accepted: { height: 500, seq: others.length + 1 } },
  ];
  const strip = (c: Contribution): Contribution => ({ id: c.id, content: c.content, label: c.label });
  return {
    corpus: {
      datanet: DATANET,
      version: list.length,
      contributions: withAcceptance ? list : list.map(strip),
    },
    copyId: copy.id,
  };
}

async function attribute(corpus: InlineCorpus, params: Param[]): Promise<JobResult> {
  return runJob({
    kind: 'attribution',
    job: 1,
    method: 'span',
    params,
    training: null,
    corpora: [corpus],
    input: '',
    output: `As the poet wrote: ${original.content.slice(200, 900)}`,
    retrieved: [],
  });
}

const scoreOf = (r: JobResult, id: Uint8Array) =>
  r.scores.find((s) => bytesEqual(s.contribution, id))?.score ?? 0;

describe('first source wins', () => {
  for (const params of [
    [{ key: 'shareTopK', value: '1' }],
    [
      { key: 'normalization', value: 'nfkc-cf-words@1' },
      { key: 'shareTopK', value: '1' },
    ],
  ]) {
    const label = params.length > 1 ? 'normalised words' : 'tokens';
    it(`a ground copy takes the credit by id order, and none by acceptance order (${label})`, async () => {
      const old = corpusOf(false);
      const before = await attribute(old.corpus, params);
      expect(scoreOf(before, old.copyId)).toBeGreaterThan(0); // the attack works on id order…
      expect(scoreOf(before, originalId)).toBe(0);

      const now = corpusOf(true);
      const after = await attribute(now.corpus, params);
      expect(scoreOf(after, originalId)).toBeGreaterThan(0); // …and loses on acceptance order
      expect(scoreOf(after, now.copyId)).toBe(0);
      expect(after.evidence.every((e) => !bytesEqual(e.contribution, now.copyId))).toBe(true);
      const index = params.length > 1 ? 'nfkc-cf-words@1' : 'cl100k_base@js-tiktoken-1.0.21';
      const check = await verifySpanEvidenceText(
        index,
        `As the poet wrote: ${original.content.slice(200, 900)}`,
        after.evidence,
        now.corpus.contributions,
        8,
      );
      expect(check).toEqual({ ok: true });
    });
  }

  it('with every sharer credited (shareTopK = 0) the copy shares but cannot take more than the original', async () => {
    const { corpus, copyId } = corpusOf(true);
    const r = await attribute(corpus, []);
    expect(scoreOf(r, copyId)).toBeLessThanOrEqual(scoreOf(r, originalId));
  });

  it('the grind is cheap: a copier needs only a few tries to sort first', () => {
    expect(grind().tries).toBeLessThan(64);
  });

  it('acceptance must be given for all contributions or none', async () => {
    const { corpus } = corpusOf(true);
    const mixed = {
      ...corpus,
      contributions: [...corpus.contributions.slice(0, 3), { id: idOf('x'), content: 'x', label: '' }],
    };
    expect(await attribute(mixed, [])).toMatchObject({ ok: false, error: 'CORPUS_MALFORMED' });
    const bad = {
      ...corpus,
      contributions: corpus.contributions.map((c) => ({ ...c, accepted: { height: -1, seq: 1 } })),
    };
    expect(await attribute(bad, [])).toMatchObject({ ok: false, error: 'CORPUS_MALFORMED' });
  });
});
