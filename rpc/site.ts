import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../core/errors.js';

/**
 * A static web site served next to JSON-RPC (the explorer): every file of one built directory is
 * read into memory once at start-up (no path from a request ever reaches the file system, so no
 * traversal is possible), gzipped once, and served on GET/HEAD with a strict Content-Security-
 * Policy. The page may only load its own scripts and styles and only talk to its own origin
 * (`connect-src 'self'` also covers the same-origin WebSocket, CSP Level 3 §6.7.2.8).
 */

export const SITE_FILES_MAX = 64;
export const SITE_BYTES_MAX = 8 * 1024 * 1024;

export const SITE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

interface SiteFile {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

export class StaticSite {
  private constructor(private readonly files: ReadonlyMap<string, SiteFile>) {}

  /** Loads every file under `dir` (which must hold an `index.html`), bounded in count and size. */
  static load(dir: string): StaticSite {
    const files = new Map<string, SiteFile>();
    let total = 0;
    const walk = (d: string) => {
      for (const name of readdirSync(d).sort()) {
        const path = join(d, name);
        if (statSync(path).isDirectory()) {
          walk(path);
          continue;
        }
        const type = TYPES[extname(name)];
        if (type === undefined || name.endsWith('.map')) continue;
        const body = readFileSync(path);
        total += body.length;
        if (files.size >= SITE_FILES_MAX || total > SITE_BYTES_MAX) {
          throw new ConfigError(
            'SITE_TOO_LARGE',
            `site ${dir} is larger than ${SITE_FILES_MAX} files / ${SITE_BYTES_MAX} bytes`,
          );
        }
        files.set(`/${relative(dir, path).split(sep).join('/')}`, { type, body, gzip: gzipSync(body) });
      }
    };
    walk(dir);
    if (!files.has('/index.html')) {
      throw new ConfigError(
        'EXPLORER_NOT_BUILT',
        `no index.html in ${dir}: build the explorer with \`npm run build:explorer\``,
      );
    }
    return new StaticSite(files);
  }

  /** Paths and gzipped sizes, for reports. */
  sizes(): { path: string; bytes: number; gzipBytes: number }[] {
    return [...this.files].map(([path, f]) => ({ path, bytes: f.body.length, gzipBytes: f.gzip.length }));
  }

  /** Answers a GET/HEAD; `/` is the index. Unknown paths are 404 (the app routes by `#` fragment). */
  serve(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const file = this.files.get(path === '/' ? '/index.html' : path);
    res.setHeader('content-security-policy', SITE_CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? file.gzip : file.body;
    res.writeHead(200, {
      'content-type': file.type,
      'content-length': body.length,
      'cache-control': path === '/' || path === '/index.html' ? 'no-cache' : 'max-age=300',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
