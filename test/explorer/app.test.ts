import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../explorer/app/format.js';
import { segments } from '../../explorer/app/highlight.js';
import { classify, SEARCH_CHARS_MAX } from '../../explorer/app/search.js';
import { networkStats } from '../../explorer/app/stats.js';
import { buildExplorer, EXPLORER_GZIP_BYTES_MAX } from '../../explorer/build.js';
import { RpcServer } from '../../rpc/server.js';
import { SITE_BYTES_MAX, SITE_CSP, SITE_FILES_MAX, StaticSite } from '../../rpc/site.js';

/** The explorer's pure parts (search, highlighting, network stats, amounts) and its file server. */

describe('search strings', () => {
  it('names what a string can be, and rejects the rest with a reason', () => {
    expect(classify(' 42 ')).toEqual({ kind: 'height', height: 42 });
    expect(classify(`0X${'AB'.repeat(32)}`)).toEqual({ kind: 'hash', hex: `0x${'ab'.repeat(32)}` });
    expect(classify('ab'.repeat(20))).toEqual({ kind: 'address', hex: `0x${'ab'.repeat(20)}` });
    expect(classify('0xabc').kind).toBe('invalid');
    expect(classify('').kind).toBe('invalid');
    expect(classify('<script>alert(1)</script>')).toEqual({
      kind: 'name',
      text: '<script>alert(1)</script>',
    });
    expect(classify('x'.repeat(SEARCH_CHARS_MAX)).kind).toBe('name');
    expect(classify('x'.repeat(SEARCH_CHARS_MAX + 1))).toMatchObject({ kind: 'invalid' });
    expect(classify('9'.repeat(16)).kind).toBe('invalid'); // beyond a safe height, and not 20 or 32 bytes
  });
});

describe('highlight segments', () => {
  it('cuts at every boundary; overlapping spans both cover the shared part', () => {
    const s = segments('abcdefghij', [
      { start: 2, end: 6 },
      { start: 4, end: 8 },
    ]);
    expect(s).toEqual([
      { text: 'ab', spans: [] },
      { text: 'cd', spans: [0] },
      { text: 'ef', spans: [0, 1] },
      { text: 'gh', spans: [1] },
      { text: 'ij', spans: [] },
    ]);
    expect(s.map((x) => x.text).join('')).toBe('abcdefghij');
  });

  it('null, empty, reversed or out-of-range spans are left out, never guessed', () => {
    const bad = [
      null,
      { start: 3, end: 3 },
      { start: 5, end: 2 },
      { start: 0, end: 11 },
      { start: -1, end: 2 },
    ];
    expect(segments('abcdefghij', bad)).toEqual([{ text: 'abcdefghij', spans: [] }]);
    expect(segments('', [])).toEqual([]);
  });
});

describe('network stats over a window of blocks', () => {
  it('block times, tx/s, proposer counts and missed signatures', () => {
    const blocks = [
      { height: 3, timeMs: 3000, txCount: 4, proposer: 'A', signers: ['A'] },
      { height: 2, timeMs: 1000, txCount: 0, proposer: 'B', signers: ['A', 'B'] },
      { height: 1, timeMs: 500, txCount: 1, proposer: 'A', signers: [] },
    ];
    const s = networkStats(blocks, ['A', 'B']);
    expect(s.x).toEqual([2, 3]);
    expect(s.blockTimeS).toEqual([0.5, 2]);
    expect(s.txPerSec).toEqual([0, 2]);
    expect(s.proposed.get('A')).toBe(2);
    expect(s.proposed.get('B')).toBe(1);
    expect(s.commits).toBe(2); // height 1 has no last commit
    expect(s.missed.get('B')).toBe(1);
    expect(s.missed.get('A')).toBeUndefined();
  });
});

describe('amounts', () => {
  it('formats base units exactly, and malformed input as "?"', () => {
    expect(open('1234500000000000000')).toBe('1.2345');
    expect(open('0')).toBe('0.0000');
    expect(open(`${10n ** 30n}`, 0)).toBe(`${10n ** 12n}`);
    expect(open('-1')).toBe('?');
    expect(open(12)).toBe('?');
    expect(open('1'.repeat(79))).toBe('?');
  });
});

describe('the static site', () => {
  let dir: string;
  let server: RpcServer;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ol-site-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><p>hi</p>');
    await writeFile(join(dir, 'app.js'), 'console.log(1)');
    await writeFile(join(dir, 'secret.key'), 'not served: unknown type');
    server = new RpcServer([], undefined, [], undefined, StaticSite.load(dir));
    const { port } = await server.listen('127.0.0.1', 0);
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves its files with the CSP, gzipped when asked; nothing else', async () => {
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe(SITE_CSP);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toContain('<p>hi</p>');
    expect((await fetch(`${base}/app.js?v=1`)).headers.get('content-type')).toContain('text/javascript');
    for (const path of ['/secret.key', '/%2e%2e/%2e%2e/etc/passwd', '/app.js/', '//app.js']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
    const raw = await import('node:http').then(
      (http) =>
        new Promise<Buffer>((resolve, reject) => {
          http
            .get(`${base}/app.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
              expect(res.headers['content-encoding']).toBe('gzip');
              const parts: Buffer[] = [];
              res.on('data', (c) => parts.push(c));
              res.on('end', () => resolve(Buffer.concat(parts)));
            })
            .on('error', reject);
        }),
    );
    expect(gunzipSync(raw).toString()).toBe('console.log(1)');
    // JSON-RPC still answers on POST next to the site.
    const rpc = await fetch(`${base}/`, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"x"}' });
    expect(((await rpc.json()) as { error: { code: number } }).error.code).toBe(-32601);
  });

  it('refuses a directory without index.html, or with too many files', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ol-site-'));
    try {
      expect(() => StaticSite.load(empty)).toThrow(/EXPLORER_NOT_BUILT|no index.html/);
      await writeFile(join(empty, 'index.html'), 'x');
      for (let i = 1; i < SITE_FILES_MAX; i++) await writeFile(join(empty, `f${i}.txt`), 'x');
      expect(StaticSite.load(empty).sizes().length).toBe(SITE_FILES_MAX);
      await writeFile(join(empty, 'one-more.txt'), 'x');
      expect(() => StaticSite.load(empty)).toThrow(/larger than/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    expect(SITE_BYTES_MAX).toBeGreaterThan(EXPLORER_GZIP_BYTES_MAX);
  });
});

describe('the built explorer', () => {
  it('JS + CSS stay within the gzip budget, and the bundle holds no HTML-from-string sink', async () => {
    const r = await buildExplorer();
    expect(r.gzipTotal).toBeLessThanOrEqual(EXPLORER_GZIP_BYTES_MAX);
    const site = StaticSite.load(join(__dirname, '..', '..', 'explorer', 'dist'));
    expect(site.sizes().map((f) => f.path)).toEqual(['/app.css', '/app.js', '/index.html']);
    // Untrusted text (answers, contributions, search strings) only ever becomes text nodes.
    const appDir = join(__dirname, '..', '..', 'explorer', 'app');
    for (const f of readdirSync(appDir)) {
      const src = readFileSync(join(appDir, f), 'utf8');
      expect(src, f).not.toMatch(
        /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(/,
      );
    }
  });
});
