import { readFile } from 'node:fs/promises';
import { parseAddress } from '../core/address.js';
import { formatOpen } from '../core/amount.js';
import { parseArgs } from '../core/args.js';
import { fromHex, to0x } from '../core/bytes.js';
import { ConfigError } from '../core/errors.js';
import type { OpenLedgerClient } from '../rpc/client.js';
import { verifyProof } from '../state/proof.js';
import { KEYS } from '../state/stores/keys.js';
import { COMMON_HELP, clientFor, output, rpcCall } from './clientCli.js';
import { resolveAddress } from './keysCli.js';

/**
 * `openledger query WHAT …`: the JSON-RPC reads from the command line. Text output is a short
 * summary (amounts in OPEN) followed by the full record; `--json` prints the server's JSON as is.
 * Addresses may be given as keystore names.
 */

type Flags = Record<string, string>;
type J = Record<string, unknown>;

interface Query {
  usage: string;
  summary: string;
  /** Flags besides the common ones. */
  flags?: string[];
  run(c: OpenLedgerClient, args: string[], flags: Flags): Promise<{ json: unknown; text?: string }>;
}

const PAGE_FLAGS = ['cursor', 'limit'];

function arg(args: string[], i: number, what: string): string {
  const v = args[i];
  if (v === undefined) throw new ConfigError('BAD_USAGE', `missing ${what}`);
  return v;
}

function id32(v: string, what: string): string {
  try {
    return to0x(fromHex(v, 32));
  } catch {
    throw new ConfigError('BAD_USAGE', `${what} must be 0x + 64 hex characters, got ${v}`);
  }
}

function num(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new ConfigError('BAD_USAGE', `${what} must be a whole number, got ${v}`);
  return Number(v);
}

function page(flags: Flags): { cursor?: string; limit?: number } {
  return {
    ...(flags.cursor !== undefined ? { cursor: flags.cursor } : {}),
    ...(flags.limit !== undefined ? { limit: num(flags.limit, '--limit') } : {}),
  };
}

const open = (units: unknown) => `${formatOpen(BigInt(units as string))} OPEN`;

const QUERIES: Record<string, Query> = {
  status: {
    usage: 'status',
    summary: 'chain id, height, peers, sync state',
    run: async (c) => {
      const s = await c.status();
      return {
        json: s,
        text: `chain ${s.chainId} at height ${s.height} (${s.latestHash})\n  syncing ${s.syncing}, peers ${s.peers}, validator ${s.isValidator}`,
      };
    },
  },
  block: {
    usage: 'block HEIGHT|HASH [--full]',
    summary: 'a block by height or hash',
    flags: ['full'],
    run: async (c, a, f) => {
      const ref = arg(a, 0, 'HEIGHT or HASH');
      const full = f.full === 'true';
      return {
        json: ref.startsWith('0x')
          ? await c.blockByHash(id32(ref, 'HASH'), full)
          : await c.blockByHeight(num(ref, 'HEIGHT')!, full),
      };
    },
  },
  tx: {
    usage: 'tx HASH',
    summary: 'a transaction with its result and events',
    run: async (c, a) => ({ json: await c.transaction(id32(arg(a, 0, 'HASH'), 'HASH')) }),
  },
  account: {
    usage: 'account ADDRESS|KEY',
    summary: 'balance, nonce, stake, rewards',
    run: async (c, a, f) => {
      const r = await c.account(await resolveAddress(f, arg(a, 0, 'ADDRESS or key name')));
      return {
        json: r,
        text: `${r.address}\n  balance   ${open(r.balance)}\n  nonce     ${r.nonce}\n  staked    ${open(r.staked)}\n  rewards   ${open(r.pendingRewards)}`,
      };
    },
  },
  validators: {
    usage: 'validators [HEIGHT]',
    summary: 'the validator set at a height (default: next)',
    run: async (c, a) => ({ json: await c.validators(num(a[0], 'HEIGHT')) }),
  },
  proof: {
    usage: 'proof (KEY_HEX | --account ADDRESS|KEY) [--height H]',
    summary: 'a state proof, checked here with the client verifier',
    flags: ['account', 'height'],
    run: async (c, a, f) => {
      const key =
        f.account !== undefined
          ? KEYS.account(parseAddress(await resolveAddress(f, f.account)))
          : fromHexArg(arg(a, 0, 'KEY_HEX'));
      const p = await c.stateProof(to0x(key), num(f.height, '--height'));
      const verified = verifyProof(
        fromHex(p.root),
        key,
        p.value === null ? undefined : fromHex(p.value),
        fromHex(p.proof),
      );
      return {
        json: { ...p, verified },
        text: `height ${p.height} root ${p.root}\n  value ${p.value === null ? '(absent)' : p.value}\n  proof verified: ${verified}`,
      };
    },
  },
  params: {
    usage: 'params',
    summary: 'chain parameters',
    run: async (c) => ({ json: await c.params() }),
  },
  events: {
    usage: 'events --from H --to H [--type TYPE] [--address ADDRESS|KEY]',
    summary: 'events in a height range',
    flags: ['from', 'to', 'type', 'address'],
    run: async (c, _a, f) => {
      const fromHeight = num(f.from, '--from');
      const toHeight = num(f.to, '--to');
      if (fromHeight === undefined || toHeight === undefined)
        throw new ConfigError('BAD_USAGE', '--from H and --to H are required');
      const events = await c.events({
        fromHeight,
        toHeight,
        ...(f.type !== undefined ? { type: f.type } : {}),
        ...(f.address !== undefined ? { address: await resolveAddress(f, f.address) } : {}),
      });
      return { json: events };
    },
  },
  datanet: {
    usage: 'datanet ID',
    summary: 'a Datanet',
    run: async (c, a) => ({ json: await c.datanet(id32(arg(a, 0, 'ID'), 'ID')) }),
  },
  datanets: {
    usage: 'datanets [--owner ADDRESS|KEY] [--tag TAG] [--cursor C] [--limit N]',
    summary: 'Datanets, newest first',
    flags: ['owner', 'tag', ...PAGE_FLAGS],
    run: async (c, _a, f) => ({
      json: await c.datanets({
        ...(f.owner !== undefined ? { owner: await resolveAddress(f, f.owner) } : {}),
        ...(f.tag !== undefined ? { tag: f.tag } : {}),
        ...page(f),
      }),
    }),
  },
  contributions: {
    usage: 'contributions [--datanet ID] [--contributor ADDRESS|KEY] [--status S] [--cursor C] [--limit N]',
    summary: 'contributions, newest first',
    flags: ['datanet', 'contributor', 'status', ...PAGE_FLAGS],
    run: async (c, _a, f) => ({
      json: await c.contributions({
        ...(f.datanet !== undefined ? { datanet: id32(f.datanet, '--datanet') } : {}),
        ...(f.contributor !== undefined ? { contributor: await resolveAddress(f, f.contributor) } : {}),
        ...(f.status !== undefined ? { status: f.status } : {}),
        ...page(f),
      }),
    }),
  },
  contribution: {
    usage: 'contribution ID [--content]',
    summary: 'a contribution (with --content, its text)',
    flags: ['content'],
    run: async (c, a, f) => ({
      json: await c.contribution(id32(arg(a, 0, 'ID'), 'ID'), f.content === 'true'),
    }),
  },
  model: {
    usage: 'model ID [--version N]',
    summary: 'a model, or one version of it',
    flags: ['version'],
    run: async (c, a, f) => {
      const id = id32(arg(a, 0, 'ID'), 'ID');
      const v = num(f.version, '--version');
      return { json: v === undefined ? await c.model(id) : await c.modelVersion(id, v) };
    },
  },
  models: {
    usage: 'models [--owner ADDRESS|KEY] [--cursor C] [--limit N]',
    summary: 'models, newest first',
    flags: ['owner', ...PAGE_FLAGS],
    run: async (c, _a, f) => ({
      json: await c.models({
        ...(f.owner !== undefined ? { owner: await resolveAddress(f, f.owner) } : {}),
        ...page(f),
      }),
    }),
  },
  receipt: {
    usage: 'receipt ID',
    summary: 'an inference receipt',
    run: async (c, a) => ({ json: await c.receipt(id32(arg(a, 0, 'ID'), 'ID')) }),
  },
  attribution: {
    usage: 'attribution RECEIPT_ID',
    summary: 'who was paid for an inference, and why',
    run: async (c, a) => ({ json: await c.attribution(id32(arg(a, 0, 'RECEIPT_ID'), 'RECEIPT_ID')) }),
  },
  earnings: {
    usage: 'earnings ADDRESS|KEY [--cursor C] [--limit N]',
    summary: 'what an address earned: totals and history',
    flags: PAGE_FLAGS,
    run: async (c, a, f) => {
      const e = await c.earnings(await resolveAddress(f, arg(a, 0, 'ADDRESS or key name')), page(f));
      const lines = [`${e.address} earned ${open(e.total)} in ${e.payouts} payouts`];
      for (const [role, amount] of Object.entries((e.byRole ?? {}) as J))
        lines.push(`  as ${role}: ${open(amount)}`);
      for (const [d, amount] of Object.entries((e.byDatanet ?? {}) as J))
        lines.push(`  datanet ${d}: ${open(amount)}`);
      for (const [m, amount] of Object.entries((e.byModel ?? {}) as J))
        lines.push(`  model ${m}: ${open(amount)}`);
      return { json: e, text: lines.join('\n') };
    },
  },
  job: {
    usage: 'job ID',
    summary: 'a deferred job and its status',
    run: async (c, a) => ({ json: await c.job(num(arg(a, 0, 'ID'), 'ID')!) }),
  },
  attribute: {
    usage: 'attribute MODEL_ID (--text TEXT | --text-file FILE)',
    summary: 'dry-run attribution: who would be paid for this text',
    flags: ['text', 'text-file'],
    run: async (c, a, f) => {
      if ((f.text === undefined) === (f['text-file'] === undefined))
        throw new ConfigError('BAD_USAGE', 'pass --text TEXT or --text-file FILE');
      const text = f.text ?? (await readText(f['text-file']));
      return { json: await c.attribute(id32(arg(a, 0, 'MODEL_ID'), 'MODEL_ID'), text) };
    },
  },
  proposal: {
    usage: 'proposal ID',
    summary: 'a governance proposal',
    run: async (c, a) => ({ json: await c.proposal(num(arg(a, 0, 'ID'), 'ID')!) }),
  },
  proposals: {
    usage: 'proposals [--cursor C] [--limit N]',
    summary: 'governance proposals, newest first',
    flags: PAGE_FLAGS,
    run: async (c, _a, f) => ({ json: await c.proposals(page(f)) }),
  },
};

function fromHexArg(v: string): Uint8Array {
  try {
    return fromHex(v);
  } catch {
    throw new ConfigError('BAD_USAGE', `KEY_HEX must be 0x hex, got ${v}`);
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError('BAD_FLAG', `cannot read ${path}: ${(e as Error).message}`);
  }
}

const HELP = `usage: openledger query WHAT [arguments] [options]

${Object.values(QUERIES)
  .map((q) => `  ${q.usage}\n      ${q.summary}`)
  .join('\n')}

Addresses can be keystore key names (see "openledger keystore list"; --keystore DIR).
${COMMON_HELP}`;

const BOOLEANS = ['json', 'help', 'full', 'content'];

export async function runQueryCli(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { booleans: BOOLEANS }, 'openledger query');
  const [what, ...args] = positionals;
  if (what === undefined || what === 'help') {
    process.stdout.write(`${HELP}\n`);
    return what === undefined && !flags.help ? 2 : 0;
  }
  const q = QUERIES[what];
  if (q === undefined)
    throw new ConfigError(
      'BAD_USAGE',
      `unknown query ${JSON.stringify(what)}; see "openledger query --help"`,
    );
  if (flags.help) {
    process.stdout.write(`usage: openledger query ${q.usage}\n\n${q.summary}\n${COMMON_HELP}\n`);
    return 0;
  }
  const allowed = ['rpc', 'json', 'help', 'keystore', ...(q.flags ?? [])];
  for (const f of Object.keys(flags)) {
    if (!allowed.includes(f))
      throw new ConfigError('UNKNOWN_FLAG', `query ${what}: unknown option --${f} (see --help)`);
  }
  const client = clientFor(flags);
  const r = await rpcCall(`query ${what}`, () => q.run(client, args, flags));
  return output(flags, r.json, () => (r.text !== undefined ? r.text : JSON.stringify(r.json, null, 2)));
}
