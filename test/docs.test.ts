import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SPEC } from '../node/config.js';

/**
 * The documentation stays inside the repository and current with the code: every relative link of
 * every markdown file resolves to a file or folder of the repository (an anchor must name a heading
 * of the target), no link climbs out of it, and the operator's guide names every config option and
 * every metric the code defines.
 */

const ROOT = resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.git', '.cache', '.devnet', 'coverage']);

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...markdownFiles(p));
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to dashes. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');

function links(text: string): string[] {
  const noCode = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...noCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

function brokenLinks(file: string, text: string): string[] {
  const bad: string[] = [];
  for (const link of links(text)) {
    if (/^[a-z]+:/i.test(link)) continue; // absolute URLs are not relative links
    const [path, anchor] = link.split('#');
    const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    const where = `${relative(ROOT, file)}: ${link}`;
    if (target !== ROOT && !target.startsWith(ROOT + sep)) {
      bad.push(`${where} leaves the repository`);
      continue;
    }
    if (!existsSync(target)) {
      bad.push(`${where} does not exist`);
      continue;
    }
    if (anchor && target.endsWith('.md')) {
      const headings = [...readFileSync(target, 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        anchorOf(m[1]),
      );
      if (!headings.includes(anchor)) bad.push(`${where}: no heading #${anchor}`);
    }
  }
  return bad;
}

const files = markdownFiles(ROOT);

describe('documentation links', () => {
  it('every relative link of every markdown file resolves inside the repository', () => {
    expect(files.map((f) => relative(ROOT, f))).toEqual(
      expect.arrayContaining([
        'README.md',
        'DESIGN.md',
        'docs/README.md',
        'docs/architecture.md',
        'docs/operators.md',
      ]),
    );
    expect(files.flatMap((f) => brokenLinks(f, readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('the README links the docs', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(links(readme)).toEqual(
      expect.arrayContaining(['docs/README.md', 'docs/architecture.md', 'docs/operators.md']),
    );
  });

  it('the check catches a link out of the repository, a missing file and a missing anchor', () => {
    const f = join(ROOT, 'docs', 'x.md');
    expect(brokenLinks(f, '[d](../../shared/DESIGN.md)')).toEqual([
      'docs/x.md: ../../shared/DESIGN.md leaves the repository',
    ]);
    expect(brokenLinks(f, '[m](missing.md)')).toEqual(['docs/x.md: missing.md does not exist']);
    expect(brokenLinks(f, '[a](operators.md#no-such-heading)')).toEqual([
      'docs/x.md: operators.md#no-such-heading: no heading #no-such-heading',
    ]);
    expect(brokenLinks(f, '[ok](operators.md#metrics-reference) [web](https://example.org/)')).toEqual([]);
  });
});

describe('the operator guide is current with the code', () => {
  const guide = readFileSync(join(ROOT, 'docs', 'operators.md'), 'utf8');

  it('names every config option', () => {
    const keys: string[] = [];
    const walk = (spec: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(spec)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'object' && v !== null && 'doc' in v) keys.push(path);
        else walk(v as Record<string, unknown>, path);
      }
    };
    walk(CONFIG_SPEC, '');
    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((k) => !guide.includes(`| \`${k}\` |`))).toEqual([]);
  });

  it('names every metric registered in the code', () => {
    const code = readFileSync(join(ROOT, 'node', 'metrics.ts'), 'utf8');
    const names = [...code.matchAll(/name: '(ol_[a-z_]+)'/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !guide.includes(`| \`${n}\` |`))).toEqual([]);
  });
});
