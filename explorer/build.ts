import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/**
 * Builds the explorer into explorer/dist (run by `npm ci` through the `prepare` script, and by
 * `npm run build:explorer`): one minified ES module, one stylesheet, index.html. No source maps,
 * no CDN, nothing fetched at run time. Prints the sizes as JSON (last line) and fails above the
 * budget, so a dependency that bloats the page is caught at install time.
 */

export const EXPLORER_GZIP_BYTES_MAX = 300 * 1024;

const here = dirname(fileURLToPath(import.meta.url));
export const DIST = join(here, 'dist');

export async function buildExplorer(): Promise<{
  files: Record<string, { bytes: number; gzip: number }>;
  gzipTotal: number;
}> {
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  await build({
    entryPoints: { app: join(here, 'app', 'main.tsx') },
    outdir: DIST,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
    // The browser gets no Node built-ins: importing one is a build error, not a runtime surprise.
    external: [],
  });
  await copyFile(join(here, 'app', 'index.html'), join(DIST, 'index.html'));
  const files: Record<string, { bytes: number; gzip: number }> = {};
  let gzipTotal = 0;
  for (const name of (await readdir(DIST)).sort()) {
    const body = await readFile(join(DIST, name));
    const gz = gzipSync(body, { level: 9 }).length;
    files[name] = { bytes: body.length, gzip: gz };
    if (name.endsWith('.js') || name.endsWith('.css')) gzipTotal += gz;
  }
  return { files, gzipTotal };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await buildExplorer();
  const out = {
    bench: 'explorer-size',
    jsCssGzipBytes: r.gzipTotal,
    budgetBytes: EXPLORER_GZIP_BYTES_MAX,
    files: r.files,
  };
  if (r.gzipTotal > EXPLORER_GZIP_BYTES_MAX) {
    process.stderr.write(
      `explorer JS+CSS is ${r.gzipTotal} bytes gzipped, over the ${EXPLORER_GZIP_BYTES_MAX} budget\n`,
    );
    process.exitCode = 1;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
