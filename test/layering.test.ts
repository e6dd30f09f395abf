import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layout of DESIGN.md §1, checked on the code: every import of every `.ts` file in a layer
 * folder (static, `import type`, `export … from`, dynamic `import()`) may reach only the folders
 * the DESIGN table lists for it, and no two files import each other through any chain.
 */

const ROOT = resolve(import.meta.dirname, '..');

function layerTable(): Map<string, Set<string>> {
  const design = readFileSync(join(ROOT, 'DESIGN.md'), 'utf8');
  const m = /<!-- layers:[^>]*-->\s*```text\n([\s\S]*?)```/.exec(design);
  if (!m) throw new Error('DESIGN.md has no layer table (<!-- layers: … --> followed by a text block)');
  const table = new Map<string, Set<string>>();
  for (const line of m[1].split('\n')) {
    const t = /^([a-z0-9]+):(.*)$/.exec(line.trim());
    if (t) table.set(t[1], new Set(t[2].trim().split(/\s+/).filter(Boolean)));
  }
  return table;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Relative import specifiers of a file, resolved to repository paths of .ts files. */
function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec?.startsWith('.')) continue;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

const table = layerTable();
const layerOf = (path: string): string => relative(ROOT, path).split('/')[0];
const files = [...table.keys()].flatMap((layer) => tsFiles(join(ROOT, layer)));

describe('layering (DESIGN.md §1)', () => {
  it('the table names every layer folder', () => {
    expect([...table.keys()]).toEqual(
      expect.arrayContaining([
        'core',
        'state',
        'vm',
        'attribution',
        'consensus',
        'p2p',
        'rpc',
        'node',
        'devnet',
        'cli',
      ]),
    );
    expect(files.length).toBeGreaterThan(100);
  });

  it('no file imports a layer its own layer may not import', () => {
    const violations: string[] = [];
    for (const f of files) {
      const from = layerOf(f);
      for (const target of importsOf(f)) {
        const to = layerOf(target);
        if (to === from) continue;
        if (!table.get(from)?.has(to))
          violations.push(`${relative(ROOT, f)} → ${relative(ROOT, target)} (${from} may not import ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('no import cycles between files', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (!graph.has(t)) continue;
        if (state.get(t) === 'open')
          cycles.push(
            stack
              .slice(stack.indexOf(t))
              .concat(t)
              .map((x) => relative(ROOT, x))
              .join(' → '),
          );
        else if (state.get(t) === undefined) visit(t);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (state.get(f) === undefined) visit(f);
    expect(cycles).toEqual([]);
  });

  it('catches an upward import and a cycle (the check itself)', () => {
    const fake = join(ROOT, 'node', 'fake.ts');
    expect(importsOf(fake, "import { x } from '../devnet/cli.js';").map(layerOf)).toEqual(['devnet']);
    expect(table.get('node')?.has('devnet')).toBe(false);
    expect(importsOf(fake, "const m = await import('../cli/commands.js');").map(layerOf)).toEqual(['cli']);
    expect(
      importsOf(fake, "import type { A } from './b.js';\n// import { c } from '../devnet/c.js'"),
    ).toEqual([join(ROOT, 'node', 'b.ts')]);
  });
});
