import type { Contribution, InlineCorpus } from '../../attribution/corpusCache.js';
import { type JobSpec, runJob } from '../../attribution/jobs.js';
import { compareBytes, toHex } from '../../core/bytes.js';
import { sha256 } from '../../core/hash.js';
import type { JobResult, Param } from '../../core/tx.js';
import { contributionId } from '../../vm/datanets.js';
import { pinSpanParams } from '../../vm/models.js';
import { CORPUS_BOOKS, NEW_MODEL_PARAMS, OTHER_BOOKS, windowWords } from './span.js';
import { contributionsOf, idOf, PROSE_FILES, passages, rng, shuffle } from './texts.js';

/**
 * What people who game attribution get.
 *
 * Common-phrase farmer: one contribution stitched from the most frequent phrases of all the prose
 * fixtures (6-word sequences seen at least three times, most frequent first, up to 64 KiB), hoping
 * to be credited in every answer. Measured: its share of all span credit
 * over natural answers (text of books outside the corpus, and answers quoting corpus passages),
 * next to an honest contributor's average share (1/N).
 *
 * Grinding copier: copies of popular passages varied invisibly until their contribution id
 * (a content hash, vm/datanets.ts) sorts before the original's. Measured: how many the
 * near-duplicate guard rejects at submission, and — if a curator accepts them anyway — the share of
 * the credit for answers quoting those passages that the copies take with shareTopK = 1 on
 * acceptance order (now), on id order (round 1), and with every sharer credited (shareTopK = 0).
 */

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const DATANET = idOf('eval/gaming');

function spanJob(corpus: InlineCorpus, output: string, params: Param[]): JobSpec {
  return {
    kind: 'attribution',
    job: 1,
    method: 'span',
    params,
    training: null,
    corpora: [corpus],
    input: '',
    output,
    retrieved: [],
  };
}

const total = (r: JobResult) => r.scores.reduce((a, s) => a + s.score, 0);
const scoreOf = (r: JobResult, ids: ReadonlySet<string>) =>
  r.scores.reduce((a, s) => a + (ids.has(toHex(s.contribution)) ? s.score : 0), 0);

function farmerText(texts: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const t of texts) {
    const w = t.split(/\s+/).filter(Boolean);
    for (let i = 0; i + 6 <= w.length; i++) {
      const k = w.slice(i, i + 6).join(' ');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  const common = [...counts.entries()]
    .filter(([, n]) => n >= 3)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  let text = '';
  for (const [phrase] of common) {
    if (Buffer.byteLength(text) + phrase.length + 2 > 64 * 1024) break;
    text += `${phrase}\n`;
  }
  return text;
}

export async function evalGaming(opts: { quick?: boolean }): Promise<Record<string, unknown>> {
  const n = opts.quick ? 400 : 2000;
  const answers = opts.quick ? 30 : 100;
  const honest = contributionsOf(shuffle(passages(CORPUS_BOOKS, 120), rng(41)).slice(0, n));
  const others = OTHER_BOOKS.map((f) =>
    passages([f], 120)
      .map((p) => p.text)
      .join('\n\n'),
  ).join('\n\n');

  // ---- the common-phrase farmer --------------------------------------------------------------
  const farm: Contribution = {
    id: idOf('eval/gaming/farmer'),
    content: farmerText([
      ...PROSE_FILES.map((f) =>
        passages([f], 120)
          .map((p) => p.text)
          .join('\n'),
      ),
    ]),
    label: '',
    accepted: { height: 10 + n, seq: n + 1 },
  };
  const withFarmer: InlineCorpus = { datanet: DATANET, version: n + 1, contributions: [...honest, farm] };
  const farmGuard = await runJob({
    kind: 'duplicate',
    job: 1,
    params: [],
    corpora: [{ datanet: DATANET, version: n, contributions: honest }],
    contribution: { id: farm.id, content: farm.content, label: '' },
  });
  const farmerIds = new Set([toHex(farm.id)]);
  const farmer: Record<string, unknown> = {
    contributionBytes: Buffer.byteLength(farm.content),
    passesTheDuplicateGuard: farmGuard.ok,
    coveredBps: farmGuard.tokens,
    honestAverageShare: round3(1 / n),
  };
  const byDocs: Param = { key: 'spanWeight', value: 'document-bits@1' };
  for (const [mode, params] of Object.entries({
    tokens: [] as Param[],
    words: [{ key: 'normalization', value: 'nfkc-cf-words@1' }],
    tokensDocumentBits: [byDocs],
    wordsDocumentBits: [{ key: 'normalization', value: 'nfkc-cf-words@1' }, byDocs],
  })) {
    // The same answers for every mode (so the modes compare like with like).
    const r = rng(43);
    let farmed = 0;
    let all = 0;
    let farmedQuoting = 0;
    let allQuoting = 0;
    let creditedNothing = 0;
    for (let k = 0; k < answers; k++) {
      const plain = await runJob(spanJob(withFarmer, windowWords(others, 200, r), params));
      farmed += scoreOf(plain, farmerIds);
      all += total(plain);
      if (scoreOf(plain, farmerIds) > 0) creditedNothing++;
      const src = honest[Math.floor(r() * n)];
      const quoting = await runJob(
        spanJob(withFarmer, `${windowWords(others, 60, r)} ${windowWords(src.content, 80, r)}`, params),
      );
      farmedQuoting += scoreOf(quoting, farmerIds);
      allQuoting += total(quoting);
    }
    farmer[mode] = {
      shareOfCreditOnAnswersCopyingNothing: all > 0 ? round3(farmed / all) : 0,
      creditOnAnswersCopyingNothingIsZero: all === 0,
      // Answers from books outside the corpus that share a common phrase with the farmer (its
      // phrases come from all prose fixtures, those books included): credited under any weight.
      answersCopyingNothingCreditingTheFarmer: round3(creditedNothing / answers),
      // The farmer's credit relative to all credit on those answers and on the quoting ones.
      farmerCreditUnits: Math.round((farmed + farmedQuoting) / 720_720),
      shareOfCreditOnAnswersQuotingTheCorpus: allQuoting > 0 ? round3(farmedQuoting / allQuoting) : 0,
    };
  }

  // ---- the grinding copier -------------------------------------------------------------------
  const popular = honest.slice(0, opts.quick ? 10 : 25);
  // Realistic ids: contribution ids are hashes of (datanet, content hash).
  const realId = (content: string) => contributionId(DATANET, sha256(Buffer.from(content)));
  const originals = honest.map((c) => ({ ...c, id: realId(c.content) }));
  const copies: Contribution[] = [];
  let tries = 0;
  for (const [k, p] of popular.entries()) {
    const o = originals[honest.indexOf(p)];
    for (let v = 1; ; v++) {
      tries++;
      const content = `${o.content}${' '.repeat(v % 11)}${'\n'.repeat(1 + Math.floor(v / 11))}`;
      const id = realId(content);
      if (compareBytes(id, o.id) < 0) {
        copies.push({ id, content, label: '', accepted: { height: 100_000 + k, seq: n + 1 + k } });
        break;
      }
    }
  }
  let rejected = 0;
  const before: InlineCorpus = { datanet: DATANET, version: n, contributions: originals };
  for (const c of copies) {
    const g = await runJob({ kind: 'duplicate', job: 1, params: [], corpora: [before], contribution: c });
    if (!g.ok && g.error === 'NEAR_DUPLICATE') rejected++;
  }
  const accepted: Contribution[] = [...originals, ...copies];
  const strip = (c: Contribution): Contribution => ({ id: c.id, content: c.content, label: c.label });
  const corpora = {
    acceptanceOrder: { datanet: DATANET, version: accepted.length, contributions: accepted },
    idOrderRound1: { datanet: DATANET, version: accepted.length, contributions: accepted.map(strip) },
  };
  const copyIds = new Set(copies.map((c) => toHex(c.id)));
  const grinder: Record<string, unknown> = {
    copies: copies.length,
    triesPerCopy: round3(tries / copies.length),
    rejectedByTheDuplicateGuard: round3(rejected / copies.length),
  };
  const shareWith = async (corpus: InlineCorpus, params: Param[]) => {
    let got = 0;
    let all = 0;
    for (const [k, p] of popular.entries()) {
      const o = originals[honest.indexOf(p)];
      const out = `${windowWords(others, 40, rng(k))} ${windowWords(o.content, 80, rng(k + 1))}`;
      const res = await runJob(spanJob(corpus, out, params));
      got += scoreOf(res, copyIds);
      all += total(res);
    }
    return all > 0 ? round3(got / all) : 0;
  };
  const top1: Param[] = [{ key: 'shareTopK', value: '1' }];
  grinder.ifAcceptedAnyway = {
    shareTopK1AcceptanceOrder: await shareWith(corpora.acceptanceOrder, top1),
    shareTopK1IdOrderRound1: await shareWith(corpora.idOrderRound1, top1),
    shareTopK0AllSharers: await shareWith(corpora.acceptanceOrder, []),
    shareTopK1AcceptanceOrderDocumentBits: await shareWith(corpora.acceptanceOrder, [...top1, byDocs]),
    shareTopK0AllSharersDocumentBits: await shareWith(corpora.acceptanceOrder, [byDocs]),
    // The params a new span model is pinned to (normalised words, document-bits@1).
    shareTopK1AcceptanceOrderChainDefault: await shareWith(
      corpora.acceptanceOrder,
      pinSpanParams('span', top1),
    ),
    shareTopK0AllSharersChainDefault: await shareWith(corpora.acceptanceOrder, NEW_MODEL_PARAMS),
  };
  // wordsDocumentBits is what a new span model is pinned to (vm/models.ts); tokens = round 1.
  return { corpusContributions: n, answers, chainDefaultMode: 'wordsDocumentBits', farmer, grinder };
}
