import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clearMemoryCache,
  type InlineCorpus,
  loadRegistered,
  registerCorpus,
} from '../../attribution/corpusCache.js';
import { type AttributionJobSpec, runJob } from '../../attribution/jobs.js';
import { DEFAULT_TOKENIZER } from '../../attribution/tokenizer.js';
import { idOf, shakespeareContributions } from './_fixtures.js';

/** The on-disk index is derived data: grown incrementally, rebuilt when damaged, never changing results. */

const all = shakespeareContributions(1500, 120_000);
const datanet = idOf('datanet/cache');
const corpusAt = (count: number, version: number): InlineCorpus => ({
  datanet,
  version,
  contributions: all.slice(0, count),
});
const output = `${all[3].content.slice(0, 300)} and ${all[all.length - 1].content.slice(0, 200)}`;
const job = (corpora: AttributionJobSpec['corpora']): AttributionJobSpec => ({
  kind: 'attribution',
  job: 1,
  method: 'span',
  params: [],
  training: null,
  corpora,
  input: '',
  output,
  retrieved: [],
});

describe('corpus cache', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('extends the index version by version, and results equal a from-scratch build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ol-cache-'));
    dirs.push(dir);
    const expected = await runJob(job([corpusAt(all.length, 9)]));
    expect(expected.scores.length).toBeGreaterThan(0);
    const counts = [10, 20, all.length - 3, all.length];
    let ref = await registerCorpus(dir, DEFAULT_TOKENIZER, corpusAt(counts[0], 1));
    for (let v = 1; v < counts.length; v++)
      ref = await registerCorpus(dir, DEFAULT_TOKENIZER, corpusAt(counts[v], v + 1));
    const segments = loadRegistered(dir, ref);
    expect(segments.length).toBeGreaterThan(1); // the last 3 contributions sit in their own segment
    expect(segments.reduce((a, s) => a + s.docCount, 0)).toBe(all.length);
    expect(await runJob(job([ref]), { cacheDir: dir })).toEqual(expected);
    // Registering again is a no-op returning the same handle.
    expect(await registerCorpus(dir, DEFAULT_TOKENIZER, corpusAt(all.length, 4))).toEqual({
      ...ref,
      version: 4,
    });

    // A damaged segment is detected (checksum), reported as a node problem, then rebuilt.
    clearMemoryCache();
    const seg = readdirSync(dir).find((f) => f.startsWith('seg-'))!;
    const bytes = readFileSync(join(dir, seg));
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(join(dir, seg), bytes);
    for (const s of readdirSync(dir).filter((f) => f.startsWith('seg-') && f !== seg)) rmSync(join(dir, s));
    await expect(runJob(job([ref]), { cacheDir: dir })).rejects.toMatchObject({ code: 'CORPUS_NOT_CACHED' });
    await registerCorpus(dir, DEFAULT_TOKENIZER, corpusAt(all.length, 4));
    expect(await runJob(job([ref]), { cacheDir: dir })).toEqual(expected);

    // The whole directory gone: inline jobs rebuild it transparently.
    clearMemoryCache();
    rmSync(dir, { recursive: true, force: true });
    expect(await runJob(job([corpusAt(all.length, 4)]), { cacheDir: dir })).toEqual(expected);
  });

  it('a changed contribution (same id, new content) is never served from a stale index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ol-cache-'));
    dirs.push(dir);
    const v1 = corpusAt(20, 1);
    await registerCorpus(dir, DEFAULT_TOKENIZER, v1);
    const edited: InlineCorpus = {
      datanet,
      version: 2,
      contributions: v1.contributions.map((c, i) =>
        i === 3 ? { ...c, content: 'replaced text entirely' } : c,
      ),
    };
    const ref = await registerCorpus(dir, DEFAULT_TOKENIZER, edited);
    clearMemoryCache();
    expect(await runJob(job([ref]), { cacheDir: dir })).toEqual(await runJob(job([edited])));
  });
});
