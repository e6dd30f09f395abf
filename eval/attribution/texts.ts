import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Contribution } from '../../attribution/corpusCache.js';
import { sha256 } from '../../core/hash.js';

/**
 * Deterministic corpora for the attribution evaluation, built from the public-domain texts in
 * test/fixtures (see its README): passages of whole paragraphs, ids derived from a tag, a seeded
 * PRNG for every choice. Nothing here is consensus code; it only builds inputs.
 */

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures');

export const PROSE_FILES = [
  'tinyshakespeare.txt',
  'gutenberg-pg1342.txt',
  'gutenberg-pg2641.txt',
  'gutenberg-pg2701.txt',
  'gutenberg-pg37106.txt',
  'gutenberg-pg64317.txt',
  'gutenberg-pg84.txt',
];
/** Technical text with heavy natural repetition (templated API pages). */
export const TECHNICAL_FILES = ['sqlite-docs.txt'];

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** mulberry32: a small seeded PRNG (evaluation inputs only). */
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

export function shuffle<T>(xs: readonly T[], r: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function idOf(tag: string): Uint8Array {
  return sha256(Buffer.from(tag, 'utf8'));
}

function words(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

/**
 * Passages of consecutive paragraphs, each of `minWords`..~2·minWords words, in file order. Project
 * Gutenberg's licence header and footer are left out (they are boilerplate shared by every book).
 */
export function passages(files: readonly string[], minWords: number): { tag: string; text: string }[] {
  const out: { tag: string; text: string }[] = [];
  for (const f of files) {
    let text = fixture(f);
    const start = text.indexOf('*** START OF');
    if (start >= 0) text = text.slice(text.indexOf('\n', start) + 1);
    const end = text.indexOf('*** END OF');
    if (end >= 0) text = text.slice(0, end);
    let cur: string[] = [];
    let n = 0;
    for (const p of text.split(/\r?\n\s*\r?\n/)) {
      const t = p.trim();
      if (t.length === 0) continue;
      cur.push(t);
      n += words(t);
      if (n >= minWords) {
        if (n <= 3 * minWords) out.push({ tag: `${f}#${out.length}`, text: cur.join('\n\n') });
        cur = [];
        n = 0;
      }
    }
  }
  return out;
}

/** Contributions with acceptance order (height = position, seq = position) as the chain gives it. */
export function contributionsOf(ps: readonly { tag: string; text: string }[], label = ''): Contribution[] {
  return ps.map((p, k) => ({
    id: idOf(p.tag),
    content: p.text,
    label,
    accepted: { height: 10 + k, seq: k + 1 },
  }));
}
