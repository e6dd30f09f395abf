import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, formatAddress } from '../../core/address.js';
import { fromHex, to0x } from '../../core/bytes.js';
import { decodeTx, verifyTxSignature } from '../../core/tx.js';
import { StateDb } from '../../state/stateDb.js';
import { KEYS } from '../../state/stores/keys.js';

/**
 * The client runs anywhere: rpc/client.ts and everything it imports, bundled by esbuild for
 * `platform: 'browser'`, must not import any `node:` module or Node built-in, and our own modules
 * in it must not mention `Buffer`. The bundle then runs in a bare V8 context (no Buffer, process or
 * require — only web globals) where it signs a transfer the node accepts and verifies a real
 * LevelDB state proof of an account. The gzipped size is printed (the figure for the README).
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const BUILTINS =
  /^(node:|(assert|buffer|child_process|crypto|dns|events|fs|http|https|module|net|os|path|stream|tls|url|util|worker_threads|zlib)(\/|$))/;

let code = '';
let inputs: string[] = [];
const nodeImports: string[] = [];
let dir: string;
let state: StateDb;

const recordNodeImports: Plugin = {
  name: 'record-node-imports',
  setup(b) {
    b.onResolve({ filter: BUILTINS }, (args) => {
      nodeImports.push(`${relative(ROOT, args.importer)} imports ${args.path}`);
      return { path: args.path, external: true };
    });
  },
};

beforeAll(async () => {
  const r = await build({
    entryPoints: [join(ROOT, 'rpc', 'client.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'OL',
    write: false,
    metafile: true,
    minify: true,
    logLevel: 'silent',
    plugins: [recordNodeImports],
  });
  code = r.outputFiles[0].text;
  inputs = Object.keys(r.metafile.inputs);
  dir = mkdtempSync(join(tmpdir(), 'ol-bundle-'));
  state = await StateDb.open(dir);
});

afterAll(async () => {
  await state?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the client bundled for a browser', () => {
  it('imports no node: module or built-in, and our modules in it use no Buffer', async () => {
    expect(nodeImports).toEqual([]);
    const ours = inputs.filter((p) => !p.includes('node_modules'));
    expect(ours).toContain('rpc/client.ts');
    const { readFileSync } = await import('node:fs');
    const withBuffer = ours.filter((p) =>
      /\bBuffer\b/.test(readFileSync(join(ROOT, p), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')),
    );
    expect(withBuffer).toEqual([]);
    const packages = [
      ...new Set(
        inputs
          .filter((p) => p.includes('node_modules'))
          .map((p) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(p)?.[1]),
      ),
    ].sort();
    // @noble for hashing and signatures; msgpackr (its browser build) for the canonical codec.
    expect(packages).toEqual(['@noble/curves', '@noble/hashes', 'msgpackr']);
    const gz = gzipSync(code).length;
    process.stdout.write(`client bundle: ${code.length} bytes minified, ${gz} bytes gzipped\n`);
  });

  it('signs a transfer and verifies a state proof in a context with only web globals', async () => {
    // A real account in a real state tree; the proof comes from LevelDB.
    const key = KEYS.account(fromHex('11'.repeat(20)));
    const o = state.overlay();
    o.set(key, Uint8Array.of(1, 2, 3));
    await o.commit(0);
    const { value, proof } = state.prove(key, 0);
    const root = state.rootAt(0);
    const sandbox: Record<string, unknown> = {
      TextEncoder,
      TextDecoder,
      crypto: globalThis.crypto,
      URL,
      console,
      setTimeout,
      clearTimeout,
      fetch,
      AbortController,
      AbortSignal,
      input: { key: to0x(key), value: to0x(value ?? new Uint8Array()), proof: to0x(proof), root: to0x(root) },
    };
    const out = runInNewContext(
      `${code};
      (() => {
        if (typeof Buffer !== 'undefined' || typeof process !== 'undefined' || typeof require !== 'undefined') throw new Error('not a bare context');
        const secret = new Uint8Array(32).fill(7);
        const key = { secretKey: secret, publicKey: OL.publicKeyOf(secret) };
        const built = OL.buildTx('transfer', { to: OL.bytes('0x' + '22'.repeat(20)), amount: 5n }, key, { chainId: 'bundle-test', nonce: 0 });
        const ok = OL.verifyProof(OL.bytes(input.root), OL.bytes(input.key), OL.bytes(input.value), OL.bytes(input.proof));
        const forged = OL.verifyProof(OL.bytes(input.root), OL.bytes(input.key), Uint8Array.of(9), OL.bytes(input.proof));
        return { tx: built.hex, proofOk: ok, forgedOk: forged };
      })()`,
      sandbox,
    ) as { tx: string; proofOk: boolean; forgedOk: boolean };
    expect(out.proofOk).toBe(true);
    expect(out.forgedOk).toBe(false);
    const tx = decodeTx(fromHex(out.tx));
    expect(tx.type).toBe('transfer');
    expect(formatAddress(addressOf(tx.sender))).toMatch(/^0x[0-9a-f]{40}$/);
    expect(verifyTxSignature(tx)).toBe(true);
  });
});
