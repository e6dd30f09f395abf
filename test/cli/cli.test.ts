import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKENIZER } from '../../attribution/tokenizer.js';
import { parseOpen } from '../../core/amount.js';
import { LocalNetwork } from '../../devnet/network.js';
import { CLI_ENTRY, REPO_ROOT } from '../../devnet/processes.js';

/**
 * The `openledger` command end to end, as a user runs it (a separate process per command) against
 * a real 1-validator node: create a keystore, fund it from the faucet, contribute to a Datanet,
 * get paid through an inference's attribution, read the earnings — plus help and the errors.
 */

const PASSPHRASE = 'correct horse battery staple';

// biome-ignore lint/suspicious/noExplicitAny: command output is JSON, checked by the assertions
type Json = any;

let net: LocalNetwork;
let dir: string;
let env: Record<string, string>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI_ENTRY, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env, ...extraEnv }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** Runs a command that must succeed with --json and returns its parsed output. */
async function json(args: string[], extraEnv: Record<string, string> = {}): Promise<Json> {
  const r = await cli([...args, '--json'], extraEnv);
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  net = await LocalNetwork.create({
    validators: 1,
    blockTimeMs: 200,
    chainId: 'cli-test',
    accounts: { owner: '1000', provider: '1000', requester: '1000' },
    nodeConfig: { attribution: { workers: 1 } },
  });
  net.start();
  dir = await mkdtemp(join(tmpdir(), 'ol-cli-'));
  await writeFile(join(dir, 'passphrase'), `${PASSPHRASE}\n`, { mode: 0o600 });
  for (const name of ['faucet', 'owner', 'provider', 'requester']) {
    await writeFile(join(dir, `${name}.seed`), net.layout.accounts[name].secretKey, { mode: 0o600 });
  }
  env = {
    OPENLEDGER_RPC: net.layout.nodes[0].rpcUrl,
    OPENLEDGER_KEYSTORE: join(dir, 'keystore'),
    OPENLEDGER_PASSPHRASE: '',
  };
  await net.waitForHeight(2, [0], 120_000);
}, 180_000);

afterAll(async () => {
  await net?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

const pass = () => ['--passphrase-file', join(dir, 'passphrase')];

describe('openledger CLI', () => {
  it('--help for every command group and transaction type', async () => {
    for (const args of [
      ['tx', '--help'],
      ['query', '--help'],
      ['keystore', '--help'],
      ['tx', 'model.register', '--help'],
      ['query', 'earnings', '--help'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^usage: openledger /);
    }
    const top = await cli(['help']);
    expect(top.stdout).toMatch(/tx .*\n.*query/s);
  }, 120_000);

  it('create a keystore, fund it, contribute to a datanet, get paid, read earnings', async () => {
    const me = await json(['keystore', 'new', '--name', 'me', ...pass()]);
    expect(me.address).toMatch(/^0x[0-9a-f]{40}$/);
    const file = await readFile(me.path, 'utf8');
    expect((await stat(me.path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(file).cipher.name).toBe('aes-256-gcm');
    for (const name of ['faucet', 'owner', 'provider', 'requester']) {
      await json([
        'keystore',
        'import',
        '--name',
        name,
        '--secret-file',
        join(dir, `${name}.seed`),
        ...pass(),
      ]);
    }
    const listed = await json(['keystore', 'list']);
    expect(listed.map((k: Json) => k.name)).toEqual(['faucet', 'me', 'owner', 'provider', 'requester']);

    // Fund from the faucet; the passphrase from the environment this time.
    const funded = await json(['tx', 'transfer', '--from', 'faucet', '--to', me.address, '--amount', '50'], {
      OPENLEDGER_PASSPHRASE: PASSPHRASE,
    });
    expect(funded.result.code).toBe('ok');
    const account = await json(['query', 'account', 'me']);
    expect(BigInt(account.balance)).toBe(parseOpen('50'));

    const created = await json([
      'tx',
      'datanet.create',
      '--from',
      'owner',
      '--name',
      'plays',
      '--tags',
      'drama,classic',
      '--bond',
      '1',
      '--reject-forfeit-bps',
      '5000',
      ...pass(),
    ]);
    const datanet = created.events.find((e: Json) => e.type === 'datanet.created').attrs.datanet;
    const corpus = await readFile(join(REPO_ROOT, 'test', 'fixtures', 'tinyshakespeare.txt'), 'utf8');
    const text = corpus.slice(0, 3000);
    await writeFile(join(dir, 'contribution.txt'), text);
    const contributed = await json([
      'tx',
      'datanet.contribute',
      '--from',
      'me',
      '--datanet',
      datanet,
      '--content-file',
      join(dir, 'contribution.txt'),
      ...pass(),
    ]);
    const contribution = contributed.events.find((e: Json) => e.type === 'contribution.submitted').attrs
      .contribution;
    await net.waitFor(
      'contribution accepted',
      async () => (await net.clients[0].contribution(contribution)).status === 'accepted',
    );
    const mine = await json(['query', 'contributions', '--contributor', 'me', '--status', 'accepted']);
    expect(mine.items.map((c: Json) => c.id)).toEqual([contribution]);
    const version = (await json(['query', 'datanet', datanet])).version;

    const registered = await json([
      'tx',
      'model.register',
      '--from',
      'owner',
      '--name',
      'bard',
      '--datanets',
      `${datanet}@${version}`,
      '--method',
      'span',
      '--params',
      `tokenizer=${DEFAULT_TOKENIZER},minSpan=6`,
      '--price-per-request',
      '0.01',
      '--price-per-output-token',
      '0.001',
      '--owner-share-bps',
      '1000',
      '--providers',
      net.layout.accounts.provider.address,
      '--base-model',
      'ngram-demo',
      ...pass(),
    ]);
    const model = registered.events.find((e: Json) => e.type === 'model.registered').attrs.model;

    // What would a text quoting my contribution pay? (dry run)
    const output = `${text.slice(500, 1000)} and then cheese`;
    const preview = await json(['query', 'attribute', model, '--text', output]);
    expect(preview.scores.map((s: Json) => s.contributor)).toContain(me.address);

    const request = await json([
      'tx',
      'sign-request',
      '--from',
      'requester',
      '--model',
      model,
      '--prompt',
      'speak',
      '--max-fee',
      '5',
      '--nonce',
      '1',
      '--expiry-blocks',
      '1000',
      ...pass(),
    ]);
    // The provider bonds; the requester acknowledges the delivered output (settles at once).
    const bonded = await json(['tx', 'provider.bond', '--from', 'provider', '--amount', '10', ...pass()]);
    expect(bonded.result.code).toBe('ok');
    const ack = await json([
      'tx',
      'sign-ack',
      '--from',
      'requester',
      '--request',
      request.request,
      '--output',
      output,
      '--output-tokens',
      '100',
      ...pass(),
    ]);
    expect(ack.ack).toMatch(/^0x[0-9a-f]{128}$/);
    const receipt = await json([
      'tx',
      'inference.receipt',
      '--from',
      'provider',
      '--request',
      request.request,
      '--output',
      output,
      '--input-tokens',
      '1',
      '--output-tokens',
      '100',
      '--ack',
      ack.ack,
      ...pass(),
    ]);
    const receiptId = receipt.events.find((e: Json) => e.type === 'inference.receipt').attrs.receipt;
    await net.waitFor(
      'receipt settled',
      async () => (await net.clients[0].receipt(receiptId)).status === 'settled',
    );

    const earnings = await json(['query', 'earnings', 'me']);
    expect(BigInt(earnings.total)).toBeGreaterThan(0n);
    expect(earnings.history[0]).toMatchObject({ receipt: receiptId, model, role: 'contributor' });
    const text2 = await cli(['query', 'earnings', 'me']);
    expect(text2.stdout).toMatch(/earned [0-9.]+ OPEN in 1 payouts/);
    const record = await json(['query', 'attribution', receiptId]);
    expect(record.payouts.some((p: Json) => p.address === me.address)).toBe(true);

    // A state proof of my account, verified by the CLI with the client verifier.
    const proof = await json(['query', 'proof', '--account', 'me']);
    expect(proof.verified).toBe(true);

    // Dry run: nothing is sent, the nonce does not move.
    const before = (await json(['query', 'account', 'me'])).nonce;
    const dry = await json(
      [
        'tx',
        'transfer',
        '--from',
        'me',
        '--to',
        'owner', // a keystore name
        '--amount',
        '1',
        '--dry-run',
      ],
      { OPENLEDGER_PASSPHRASE: PASSPHRASE },
    );
    expect(dry.simulated.code).toBe('ok');
    expect((await json(['query', 'account', 'me'])).nonce).toBe(before);
    // Sync mode returns at admission.
    const sync = await json(
      [
        'tx',
        'transfer',
        '--from',
        'me',
        '--to',
        net.layout.accounts.owner.address,
        '--amount',
        '1',
        '--mode',
        'sync',
      ],
      { OPENLEDGER_PASSPHRASE: PASSPHRASE },
    );
    expect(sync.status).toBe('pending');
    await net.clients[0].waitForInclusion(sync.hash);

    // Stake, propose and vote from the command line.
    const env2 = { OPENLEDGER_PASSPHRASE: PASSPHRASE };
    const validator = net.layout.nodes[0].address;
    await json(['tx', 'stake.delegate', '--from', 'me', '--validator', validator, '--amount', '5'], env2);
    const proposed = await json(
      [
        'tx',
        'gov.propose',
        '--from',
        'me',
        '--title',
        'slower votes',
        '--changes',
        'govVotingBlocks=150',
      ].concat(['--deposit', '10']),
      env2,
    );
    const proposal = proposed.events.find((e: Json) => e.type === 'gov.proposed').attrs.proposal;
    await json(['tx', 'gov.vote', '--from', 'me', '--proposal', String(proposal), '--option', 'yes'], env2);
    expect(await json(['query', 'proposal', String(proposal)])).toMatchObject({
      voters: 1,
      status: 'voting',
    });
    expect(BigInt((await json(['query', 'account', 'me'])).staked)).toBe(parseOpen('5'));
  }, 400_000);

  it('errors say what to do and exit with status 2', async () => {
    const to = net.layout.accounts.owner.address;
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ['tx', 'transfer', '--from', 'me', '--to', to, '--amount', '1'],
        {},
        /OPENLEDGER_PASSPHRASE|--passphrase-file/,
      ],
      [
        ['tx', 'transfer', '--from', 'me', '--to', to, '--amount', '1'],
        { OPENLEDGER_PASSPHRASE: 'not the passphrase' },
        /wrong passphrase/,
      ],
      [['tx', 'transfer', '--from', 'me', '--to', '0x12', '--amount', '1', ...pass()], {}, /--to/],
      [['tx', 'transfer', '--from', 'me', '--to', to, '--amount', '1.x', ...pass()], {}, /--amount/],
      [
        ['tx', 'transfer', '--from', 'me', '--to', to, '--amount', '1', '--colour', 'red', ...pass()],
        {},
        /--colour/,
      ],
      [['tx', 'transfer', '--from', 'nobody', '--to', to, '--amount', '1', ...pass()], {}, /keystore list/],
      [
        ['tx', 'transfer', '--from', 'me', '--to', to, '--amount', '1', '--nonce', '0', ...pass()],
        {},
        /NONCE|nonce/,
      ],
      [['tx', 'frobnicate', '--from', 'me'], {}, /tx --help/],
      [['tx', 'attribution.settle', '--from', 'me'], {}, /proposers/],
      [['query', 'account', 'me', '--rpc', 'http://127.0.0.1:1/'], {}, /is the node running|--rpc/],
      [['query', 'datanet', `0x${'00'.repeat(32)}`], {}, /not found/],
      [['query', 'nothing'], {}, /query --help/],
      [['keystore', 'new', '--name', 'me', ...pass()], {}, /exists/],
    ];
    // Independent commands: run a few at a time.
    const results: Run[] = [];
    for (let i = 0; i < cases.length; i += 4) {
      results.push(...(await Promise.all(cases.slice(i, i + 4).map(([args, e]) => cli(args, e)))));
    }
    cases.forEach(([args, , message], i) => {
      const r = results[i];
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^error: /);
      expect(r.stderr, args.join(' ')).toMatch(message);
    });
  }, 300_000);
});
