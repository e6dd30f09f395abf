import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Contribution } from '../../attribution/corpusCache.js';
import { sha256 } from '../../core/hash.js';

/** Shared test data: the committed public-domain texts in test/fixtures, split into contributions. */

const fixtures = join(import.meta.dirname, '..', 'fixtures');

export function fixtureText(name: string): string {
  return readFileSync(join(fixtures, name), 'utf8');
}

export function idOf(tag: string): Uint8Array {
  return sha256(Buffer.from(tag, 'utf8'));
}

/** Deterministic PRNG for test data (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** tinyshakespeare split into contributions of consecutive speeches, about `chars` characters each. */
export function shakespeareContributions(
  chars = 2000,
  limitChars = Number.POSITIVE_INFINITY,
): Contribution[] {
  const text = fixtureText('tinyshakespeare.txt').slice(0, limitChars);
  const blocks = text.split('\n\n');
  const out: Contribution[] = [];
  let cur: string[] = [];
  let size = 0;
  const flush = () => {
    if (cur.length === 0) return;
    out.push({ id: idOf(`shakespeare/${out.length}`), content: cur.join('\n\n'), label: '' });
    cur = [];
    size = 0;
  };
  for (const b of blocks) {
    cur.push(b);
    size += b.length + 2;
    if (size >= chars) flush();
  }
  flush();
  return out;
}

/** Speeches of the given speakers, labeled by speaker: a classification datanet. */
export function speeches(speakers: readonly string[], perSpeaker: number, skip = 0): Contribution[] {
  const text = fixtureText('tinyshakespeare.txt');
  const bySpeaker = new Map<string, string[]>(speakers.map((s) => [s, []]));
  for (const b of text.split('\n\n')) {
    const lines = b.trim().split('\n');
    if (lines.length < 2 || !lines[0].endsWith(':')) continue;
    const who = lines[0].slice(0, -1);
    bySpeaker.get(who)?.push(lines.slice(1).join('\n'));
  }
  const out: Contribution[] = [];
  for (const s of speakers) {
    const list = bySpeaker.get(s)!.slice(skip, skip + perSpeaker);
    list.forEach((content, i) => {
      out.push({ id: idOf(`speech/${s}/${skip + i}`), content, label: s });
    });
  }
  return out;
}
