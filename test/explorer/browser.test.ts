import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { getEncoding } from 'js-tiktoken';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { wordIds } from '../../attribution/normalize.js';
import { DEFAULT_TOKENIZER } from '../../attribution/tokenizer.js';
import { DEMO_ACCOUNTS, Demo } from '../../devnet/demo.js';
import { LocalNetwork } from '../../devnet/network.js';
import { freePort } from '../../devnet/ports.js';
import { REPO_ROOT } from '../../devnet/processes.js';

/**
 * The explorer in a real browser (Debian's Chromium driven by playwright-core) against ONE real
 * devnet started here: one validator, the demo's datanets (with dave's near-duplicate), its span
 * and influence models, and a few settled receipts. Each test looks at a page the way a user
 * would and checks what it shows against the node's own JSON-RPC answers.
 *
 * On failure a screenshot of the page goes to test-results/explorer-screenshots/<test>.png.
 * With EXPLORER_SCREENSHOT_DIR set, the receipt page is also saved there (docs/ uses it).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results', 'explorer-screenshots');
/** Settled receipts the suite waits for before the browser starts. */
const SETTLED_RECEIPTS_MIN = 3;

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC answers, checked by the assertions
type Json = any;

function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  // .ci/run installs it; a developer machine may not have it. Try once, quietly, when root.
  if (process.getuid?.() === 0) {
    try {
      execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'ignore', timeout: 240_000 });
    } catch {
      return false;
    }
  }
  return existsSync(CHROMIUM);
}

const haveChromium = chromiumAvailable();
if (!haveChromium) {
  process.stderr.write(
    `explorer browser tests SKIPPED: no Chromium at ${CHROMIUM} and \`apt-get install -y chromium\` failed (set CHROMIUM_PATH to use another)\n`,
  );
}

let net: LocalNetwork;
let demo: Demo;
let browser: Browser;
let page: Page;
let base: string;
const seen = {
  spanReceipt: '',
  receipts: [] as Json[],
  textNet: '',
  alice: '' /* a paid contributor */,
  copy: null as Json,
};

async function rpc(method: string, params: unknown[] = []): Promise<Json> {
  const r = await fetch(net.layout.nodes[0].rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const j = (await r.json()) as Json;
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}

/** Registers a screenshot of the current page for when this test fails. */
function shotOnFailure(ctx: TestContext): void {
  ctx.onTestFailed(async () => {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const file = join(SCREENSHOT_DIR, `${ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`);
    await page?.screenshot({ path: file, fullPage: true }).catch(() => {});
    process.stderr.write(`explorer test failed; screenshot: ${file}\n`);
  });
}

async function visit(route: string): Promise<void> {
  await page.goto(`${base}#/${route}`);
}

describe.skipIf(!haveChromium)('explorer in Chromium against a devnet', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    net = await LocalNetwork.create({
      validators: 1,
      blockTimeMs: 200,
      chainId: 'explorer-test',
      accounts: DEMO_ACCOUNTS,
      explorer: true,
      nodeConfig: { attribution: { workers: 1 } },
    });
    net.start();
    await net.waitForHeight(1);
    base = net.layout.nodes[0].explorerUrl!;
    const sink = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;
    demo = new Demo({
      layout: net.layout,
      clients: net.clients,
      gatewayPort: await freePort(),
      modelServerPort: await freePort(),
      startedAtMs: Date.now(),
      firstBlockAtMs: Date.now(),
      out: sink,
      log: () => {},
    });
    await demo.run();
    // A few settled receipts, at least one from the span model with evidence, then a quiet chain.
    await net.waitFor(
      'settled receipts with span evidence',
      async () => {
        const p = await rpc('ol_listReceipts', [null, null, 100]);
        const settled = (p.items as Json[]).filter((r) => r.fee !== null);
        if (settled.length < SETTLED_RECEIPTS_MIN) return false;
        for (const r of settled) {
          const a = await rpc('ol_getAttribution', [r.id]);
          if (a.evidence.length > 0) {
            seen.spanReceipt = r.id;
            seen.receipts = settled;
            return true;
          }
        }
        return false;
      },
      150_000,
      1_000,
    );
    await demo.stop();
    // The contributor the span receipt paid (which of alice, bob and carol depends on the answer).
    const contributors = ['alice', 'bob', 'carol'].map((n) => net.layout.accounts[n].address);
    const paid = (await rpc('ol_getAttribution', [seen.spanReceipt])).payouts as Json[];
    seen.alice = paid.find((p) => contributors.includes(p.address)).address;
    const datanets = await rpc('ol_listDatanets', []);
    seen.textNet = (datanets.items as Json[]).find((d) => d.name === 'shakespeare').id;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 240_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await demo?.stop().catch(() => {});
    await net?.close();
  });

  it('serves the app with a strict CSP, and only read methods on its origin', async () => {
    const res = await fetch(base);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await res.text()).toContain('<script type="module" src="/app.js">');
    const post = async (method: string, params: unknown[]) =>
      (await (
        await fetch(base, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        })
      ).json()) as Json;
    expect((await post('ol_status', [])).result.height).toBeGreaterThan(0);
    // Attack: use the explorer's origin to write or to burn the node's CPU.
    for (const m of ['ol_sendTransaction', 'ol_simulateTransaction', 'ol_estimateGas', 'ol_attribute']) {
      expect((await post(m, ['0x00'])).error.code).toBe(-32601);
    }
    expect((await fetch(`${base}../etc/passwd`)).status).toBe(404);
    expect((await fetch(`${base}%2e%2e/package.json`)).status).toBe(404);
  });

  it('network page: height, charts, validators; first contentful paint measured', async (ctx) => {
    shotOnFailure(ctx);
    await visit('');
    await page.getByTestId('validators').waitFor();
    const fcp = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    );
    process.stdout.write(`${JSON.stringify({ figure: 'explorer-network-fcp-ms', value: fcp })}\n`);
    const rows = page.getByTestId('validators').locator('tbody tr');
    expect(await rows.count()).toBe(1);
    const v = await rpc('ol_getValidators');
    expect(await rows.first().textContent()).toContain(v.validators[0].moniker);
    await page.locator('.chart canvas').first().waitFor();
    expect(await page.locator('.chart').count()).toBe(2);
    expect(Number(await page.getByTestId('height').textContent())).toBeGreaterThan(1);
  });

  it('a new block appears without a reload', async (ctx) => {
    shotOnFailure(ctx);
    await visit('');
    await page.locator('[data-live="true"]').waitFor();
    const first = Number(await page.getByTestId('height').textContent());
    await page.waitForFunction(
      (h) =>
        Number(
          (
            globalThis as unknown as {
              document: { querySelector(s: string): { textContent: string } | null };
            }
          ).document.querySelector('[data-testid="height"]')?.textContent,
        ) > h,
      first,
      { timeout: 20_000 },
    );
    const top = await page
      .getByTestId('latest-blocks')
      .locator('tbody tr')
      .first()
      .getAttribute('data-height');
    expect(Number(top)).toBeGreaterThan(first);
  });

  it('search: height, receipt id, address, datanet name; unknown hash is a useful not-found', async (ctx) => {
    shotOnFailure(ctx);
    const search = async (q: string) => {
      await visit('');
      await page.getByLabel('search').fill(q);
      await page.getByRole('button', { name: 'Search' }).click();
    };
    await search('3');
    await page.waitForURL(/#\/block\/3$/);
    await page.getByRole('heading', { name: 'Block 3' }).waitFor();
    await search(seen.spanReceipt);
    await page.waitForURL(new RegExp(`#/receipt/${seen.spanReceipt}$`));
    await page.getByTestId('answer').waitFor();
    await search(seen.alice.toUpperCase().replace('0X', '0x'));
    await page.waitForURL(new RegExp(`#/address/${seen.alice}$`));
    await search('shakesp');
    await page.getByRole('link', { name: 'shakespeare' }).first().waitFor();
    await search(`0x${'ab'.repeat(32)}`);
    await page.getByText('Nothing matches').waitFor();
    await visit(`receipt/0x${'cd'.repeat(32)}`);
    expect(await page.locator('[data-kind="not-found"]').textContent()).toContain('Unknown receipt');
  });

  it('hostile search strings render as text, never as HTML', async (ctx) => {
    shotOnFailure(ctx);
    const hostile = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>bold</b>`;
    await visit(`search/${encodeURIComponent(hostile)}`);
    const q = page.getByTestId('query');
    await q.waitFor();
    expect(await q.textContent()).toBe(hostile);
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(
      await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
    ).toBeUndefined();
    const huge = 'x'.repeat(100_000);
    await visit(`search/${huge}`);
    await page.getByText('longer than 200 characters').waitFor();
  });

  it("a receipt's highlighted spans are exactly the cited contributions' tokens (or normalised words) at their offsets", async (ctx) => {
    shotOnFailure(ctx);
    const id = seen.spanReceipt;
    const [a, r] = [await rpc('ol_getAttribution', [id]), await rpc('ol_getReceipt', [id])];
    await visit(`receipt/${id}`);
    await page.getByTestId('answer').waitFor();
    const marks = await page.locator('[data-testid="answer"] a.span').evaluateAll((els) =>
      els.map((e) => ({
        text: e.textContent ?? '',
        spans: (e.getAttribute('data-spans') ?? '').split(' ').map(Number),
      })),
    );
    expect(marks.length).toBeGreaterThan(0);
    // The answer as shown is the receipt's output, character for character.
    expect(await page.getByTestId('answer').textContent()).toBe(r.output);
    // A model registered since span params are pinned (vm/models.ts pinSpanParams) matches on
    // normalised words: its evidence positions are word indices, and the highlight covers exactly
    // those words of the original text (with its own case and spacing). Otherwise positions are
    // tokens, checked with js-tiktoken itself, not with the node's mapping to characters.
    const version = await rpc('ol_getModelVersion', [r.model, r.modelVersion]);
    const normalised = (version.params as Json[]).some((p) => p.key === 'normalization');
    expect(DEFAULT_TOKENIZER.startsWith('cl100k_base@')).toBe(true);
    const enc = getEncoding('cl100k_base');
    const tok = { encode: (t: string) => enc.encode(t), decode: (x: number[]) => enc.decode(x) };
    for (const [i, e] of (a.evidence as Json[]).entries()) {
      const shown = marks
        .filter((m) => m.spans.includes(i))
        .map((m) => m.text)
        .join('');
      const c = await rpc('ol_getContribution', [e.contribution, true]);
      const length = e.outputEnd - e.outputStart;
      if (normalised) {
        const ids = (t: string) => [...wordIds(t)];
        expect(ids(shown)).toEqual(ids(r.output).slice(e.outputStart, e.outputEnd));
        expect(ids(shown)).toEqual(ids(c.content).slice(e.offset, e.offset + length));
        continue;
      }
      const cited = tok.decode(tok.encode(c.content).slice(e.offset, e.offset + length));
      const inAnswer = tok.decode(tok.encode(r.output).slice(e.outputStart, e.outputEnd));
      expect(shown).toBe(inAnswer);
      expect(shown).toBe(cited);
    }
    // Following a highlight opens the contribution with the whole cited span marked (a highlight
    // may be one piece of a span that overlaps another).
    const firstMark = page.locator('[data-testid="answer"] a.span').first();
    const k = marks[0].spans[0];
    const whole = marks
      .filter((m) => m.spans.includes(k))
      .map((m) => m.text)
      .join('');
    await firstMark.click();
    await page.locator('mark.cited').waitFor();
    const cited = (await page.locator('mark.cited').textContent()) ?? '';
    if (normalised) expect([...wordIds(cited)]).toEqual([...wordIds(whole)]);
    else expect(cited).toBe(whole);
    if (process.env.EXPLORER_SCREENSHOT_DIR) {
      await visit(`receipt/${id}`);
      await page.getByTestId('evidence').waitFor();
      await page.screenshot({
        path: join(process.env.EXPLORER_SCREENSHOT_DIR, 'explorer-receipt.png'),
        fullPage: true,
      });
    }
  });

  it('the payout split lists every payee of the attribution record', async (ctx) => {
    shotOnFailure(ctx);
    const a = await rpc('ol_getAttribution', [seen.spanReceipt]);
    await visit(`receipt/${seen.spanReceipt}`);
    await page.locator('.bars').waitFor();
    const rows = await page.locator('.bars .bar-row').count();
    expect(rows).toBe(a.payouts.length);
  });

  it("an address's earnings equal ol_getEarnings", async (ctx) => {
    shotOnFailure(ctx);
    const e = await rpc('ol_getEarnings', [seen.alice, null, 100]);
    expect(BigInt(e.total)).toBeGreaterThan(0n);
    await visit(`address/${seen.alice}`);
    const total = page.getByTestId('earned-total');
    await total.waitFor();
    expect(await total.getAttribute('data-units')).toBe(e.total);
    const units = await page
      .getByTestId('payouts')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-units')));
    expect(units).toEqual((e.history as Json[]).slice(0, 50).map((h) => h.amount));
    for (const dn of Object.keys(e.byDatanet)) {
      expect(await page.getByTestId('by-datanet').locator(`a[href="#/datanet/${dn}"]`).count()).toBe(1);
    }
    await page.locator('.chart canvas').first().waitFor();
  });

  it('datanet page: policy, contributions with the near-duplicate linked, contributor earnings', async (ctx) => {
    shotOnFailure(ctx);
    await visit(`datanet/${seen.textNet}`);
    await page.getByRole('heading', { name: 'Datanet shakespeare' }).waitFor();
    await page.getByTestId('contributions').waitFor();
    const list = await rpc('ol_listContributions', [seen.textNet, null, null, null, 100]);
    expect(await page.getByTestId('contributions').locator('tbody tr').count()).toBe(list.items.length);
    const dup = (list.items as Json[]).find((c) => c.duplicateOf);
    if (dup) {
      const cell = page.getByTestId('near-duplicate').first();
      expect(await cell.locator(`a[href="#/contribution/${dup.duplicateOf}"]`).count()).toBe(1);
      expect(await cell.textContent()).toContain(`${(dup.coveredBps / 100).toFixed(2)}%`);
    }
    await page.locator('.bars .bar-row').first().waitFor();
  });

  it('model, block, transaction, contribution, lists: each renders from the chain', async (ctx) => {
    shotOnFailure(ctx);
    const models = await rpc('ol_listModels', []);
    const m = (models.items as Json[]).find((x) => x.name === 'bard-ngram');
    await visit(`model/${m.id}`);
    await page.getByRole('heading', { name: 'Model bard-ngram' }).waitFor();
    await page.locator('.version[data-version="1"]').waitFor();
    expect(await page.locator('.version').textContent()).toContain('span');
    await page.getByTestId('receipts').waitFor();
    const infl = (models.items as Json[]).find((x) => x.name === 'who-speaks-lr');
    await visit(`model/${infl.id}`);
    await page.locator('.version[data-version="1"]').waitFor();
    expect(await page.locator('.version').textContent()).toContain('trained on chain');

    const rc = await rpc('ol_getReceipt', [seen.spanReceipt]);
    await visit(`block/${rc.height}`);
    await page.getByRole('heading', { name: `Block ${rc.height}` }).waitFor();
    const block = await rpc('ol_getBlockByHeight', [rc.height, true]);
    const tx = (block.txs as Json[]).find((t) => t.type === 'inference.receipt');
    await page.locator(`a[href="#/tx/${tx.hash}"]`).click();
    await page.getByTestId('tx-code').waitFor();
    const t = await rpc('ol_getTransaction', [tx.hash]);
    expect(await page.getByTestId('tx-code').textContent()).toContain(t.result.code);
    expect(await page.locator('td.etype', { hasText: 'inference.receipt' }).count()).toBeGreaterThan(0);

    await visit('datanets');
    await page.getByRole('link', { name: 'who-speaks' }).waitFor();
    await visit('models');
    await page.getByRole('link', { name: 'bard-ngram' }).waitFor();
    await visit('receipts');
    await page.getByTestId('receipts').waitFor();
    await visit('no-such-page');
    await page.getByText('does not name an explorer page').waitFor();
  });

  it('node unreachable or answering garbage: the page says so and what to do', async (ctx) => {
    shotOnFailure(ctx);
    await page.route(`${base}`, (route) =>
      route.request().method() === 'POST' ? route.abort('connectionrefused') : route.continue(),
    );
    await visit(`receipt/${seen.spanReceipt}`);
    await page.getByText('The node is not answering').waitFor();
    await page.unroute(`${base}`);
    await page.route(`${base}`, (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({
            status: 200,
            contentType: 'application/json',
            body: '{"jsonrpc":"2.0","id":"stale"}',
          })
        : route.continue(),
    );
    await page.reload();
    await page.getByText('cannot read').waitFor();
    await page.unroute(`${base}`);
  });
});
