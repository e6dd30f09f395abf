import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalNetwork } from '../../devnet/network.js';

/**
 * The client in a real browser: rpc/client.ts bundled by esbuild for `platform: 'browser'`, loaded
 * into a Chromium page, talking to a real 1-validator node over HTTP (CORS) — its status, an account,
 * and a state proof of that account verified in the page against the header of its height.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);

let net: LocalNetwork;
let browser: Browser;
let bundle: string;
let pageServer: Server;
let pageUrl: string;

beforeAll(async () => {
  if (!haveChromium) return;
  const r = await build({
    entryPoints: [join(ROOT, 'rpc', 'client.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'OL',
    write: false,
    minify: true,
    logLevel: 'silent',
  });
  bundle = r.outputFiles[0].text;
  net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 200,
    chainId: 'browser-test',
    accounts: { alice: '1000' },
    nodeConfig: { attribution: { workers: 1 }, rpc: { cors: ['*'] } },
  });
  net.start();
  await net.waitForHeight(2, [0], 120_000);
  // The page comes from its own loopback origin; the node is another origin (CORS).
  pageServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      '<!doctype html><html><head><meta charset="utf-8"><title>client</title></head><body></body></html>',
    );
  });
  await new Promise<void>((r) => pageServer.listen(0, '127.0.0.1', r));
  const addr = pageServer.address();
  pageUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (pageServer ? pageServer.close(r) : r(undefined)));
  await net?.close();
});

describe.skipIf(!haveChromium)(`the client in Chromium (${CHROMIUM})`, () => {
  it('loads, reads the chain and verifies an account state proof in the page', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pageUrl);
    const loadStarted = Date.now();
    await page.addScriptTag({ content: bundle });
    const loadMs = Date.now() - loadStarted;
    const alice = net.layout.accounts.alice.address;
    const out = await page.evaluate(
      async ({ url, address }) => {
        // biome-ignore lint/suspicious/noExplicitAny: the bundle's global, typed in rpc/client.ts
        const OL = (globalThis as any).OL;
        const c = new OL.OpenLedgerClient(url);
        const status = await c.status();
        const account = await c.account(address);
        const proof = await c.verifiedState(OL.KEYS.account(OL.bytes(address)));
        const forged = OL.verifyProof(
          OL.bytes((await c.stateProof(OL.toHex0x(OL.KEYS.account(OL.bytes(address))))).root),
          OL.KEYS.account(OL.bytes(address)),
          Uint8Array.of(1),
          OL.bytes((await c.stateProof(OL.toHex0x(OL.KEYS.account(OL.bytes(address))))).proof),
        );
        return {
          chainId: status.chainId,
          balance: account.balance,
          verified: proof.verified,
          hasValue: proof.value !== undefined,
          forged,
          noBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer === 'undefined',
        };
      },
      { url: net.layout.nodes[0].rpcUrl, address: alice },
    );
    process.stdout.write(`client bundle loaded in Chromium in ${loadMs} ms\n`);
    expect(errors).toEqual([]);
    expect(out).toEqual({
      chainId: 'browser-test',
      balance: (1000n * 10n ** 18n).toString(),
      verified: true,
      hasValue: true,
      forged: false,
      noBuffer: true,
    });
    await page.close();
  });
});
