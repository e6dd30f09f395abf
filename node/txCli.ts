import { readFile } from 'node:fs/promises';
import { addressOf, formatAddress, parseAddress } from '../core/address.js';
import { formatOpen, parseOpen, parseUnits } from '../core/amount.js';
import { parseArgs } from '../core/args.js';
import { fromHex, to0x } from '../core/bytes.js';
import {
  decodeDelivery,
  deliveryFor,
  encodeDelivery,
  receiptDelivery,
  signAck,
  signDelivery,
} from '../core/delivery.js';
import { ConfigError, OlError } from '../core/errors.js';
import type { KeyPair } from '../core/keys.js';
import {
  ATTRIBUTION_METHODS,
  CURATION_POLICIES,
  decodeInferenceRequest,
  encodeInferenceRequest,
  GOV_OPTIONS,
  type Param,
  type TxBodies,
  type TxType,
} from '../core/tx.js';
import { buildRequest, buildTx, DEFAULT_GAS_LIMIT, type OpenLedgerClient } from '../rpc/client.js';
import { COMMON_HELP, clientFor, KEYSTORE_HELP, output, rpcCall } from './clientCli.js';
import { resolveAddress, unlockKey } from './keysCli.js';

/**
 * `openledger tx TYPE --from KEY [fields…]`: builds, signs (with a key from the keystore) and
 * submits every user transaction type through the JSON-RPC client. Each type is a row of
 * `TX_COMMANDS`: its flags and how they become the body. Flags a type does not read are refused,
 * so a typo never silently drops a field. Amounts are in OPEN ("2.5"); gas price in base units.
 */

/** Reads flags for one body, remembering which were used. */
class Fields {
  readonly used = new Set<string>();
  constructor(
    private readonly flags: Record<string, string>,
    readonly files: Map<string, string>,
  ) {}

  raw(name: string): string | undefined {
    this.used.add(name);
    return this.flags[name];
  }
  need(name: string, what: string): string {
    const v = this.raw(name);
    if (v === undefined) throw new ConfigError('BAD_USAGE', `--${name} ${what} is required`);
    return v;
  }
  str(name: string, def = ''): string {
    return this.raw(name) ?? def;
  }
  /** Text from --NAME or from the file given by --NAME-file (read before building). */
  text(name: string, required: boolean): string {
    const inline = this.raw(name);
    const file = this.raw(`${name}-file`);
    if (inline !== undefined && file !== undefined)
      throw new ConfigError('BAD_USAGE', `pass --${name} or --${name}-file, not both`);
    const v = inline ?? (file !== undefined ? this.files.get(file) : undefined);
    if (v === undefined && required)
      throw new ConfigError('BAD_USAGE', `--${name} TEXT or --${name}-file FILE is required`);
    return v ?? '';
  }
  address(name: string): Uint8Array {
    return wrap(name, () => parseAddress(this.need(name, 'ADDRESS')));
  }
  hash(name: string): Uint8Array {
    return wrap(name, () => fromHex(this.need(name, 'ID (0x + 64 hex)'), 32));
  }
  open(name: string, def?: string): bigint {
    const v = this.raw(name) ?? def;
    if (v === undefined) throw new ConfigError('BAD_USAGE', `--${name} OPEN (e.g. 2.5) is required`);
    return wrap(name, () => parseOpen(v));
  }
  uint(name: string, def?: number): number {
    const v = this.raw(name) ?? (def === undefined ? undefined : String(def));
    if (v === undefined) throw new ConfigError('BAD_USAGE', `--${name} N is required`);
    if (!/^\d{1,15}$/.test(v))
      throw new ConfigError('BAD_FLAG', `--${name}: expected a whole number, got ${v}`);
    return Number(v);
  }
  list(name: string): string[] {
    const v = this.raw(name);
    return v === undefined || v === '' ? [] : v.split(',').map((s) => s.trim());
  }
  /** An optional 64-byte signature in hex. */
  signature(name: string): Uint8Array | undefined {
    const v = this.raw(name);
    return v === undefined ? undefined : wrap(name, () => fromHex(v.trim(), 64));
  }
  addresses(name: string): Uint8Array[] {
    return this.list(name).map((a) => wrap(name, () => parseAddress(a)));
  }
  oneOf<const V extends string>(name: string, values: readonly V[], def?: V): V {
    const v = this.raw(name) ?? def;
    if (v === undefined || !values.includes(v as V))
      throw new ConfigError('BAD_FLAG', `--${name}: one of ${values.join(', ')}`);
    return v as V;
  }
  /** `key=value,key=value`, sorted by key (the vm requires sorted parameters). */
  params(name: string): Param[] {
    return this.list(name)
      .map((kv) => {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new ConfigError('BAD_FLAG', `--${name}: expected key=value, got ${kv}`);
        return { key: kv.slice(0, eq), value: kv.slice(eq + 1) };
      })
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

function wrap<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ConfigError('BAD_FLAG', `--${name}: ${(e as Error).message}`);
  }
}

interface TxCommand<K extends TxType> {
  type: K;
  summary: string;
  usage: string;
  build(f: Fields): TxBodies[K];
}

const MODEL_USAGE = `--datanets ID@VERSION,… --method ${ATTRIBUTION_METHODS.join('|')} [--params k=v,…]
      [--price-per-request OPEN] [--price-per-output-token OPEN] [--owner-share-bps N]
      [--providers ADDRESS,…] [--base-model NAME --adapter-hash HASH | --training k=v,…]`;

function modelFields(f: Fields): Omit<TxBodies['model.register'], 'name'> {
  const training = f.params('training');
  const baseModel = f.raw('base-model');
  const adapter = f.raw('adapter-hash');
  return {
    datanets: f.list('datanets').map((d) => {
      const [id, version] = d.split('@');
      if (version === undefined || !/^\d+$/.test(version))
        throw new ConfigError('BAD_FLAG', `--datanets: expected ID@VERSION, got ${d}`);
      return { datanet: wrap('datanets', () => fromHex(id, 32)), version: Number(version) };
    }),
    method: f.oneOf('method', ATTRIBUTION_METHODS),
    params: f.params('params'),
    pricePerRequest: f.open('price-per-request', '0'),
    pricePerOutputToken: f.open('price-per-output-token', '0'),
    ownerShareBps: f.uint('owner-share-bps', 0),
    providers: f.addresses('providers'),
    artifact:
      baseModel === undefined
        ? null
        : {
            baseModel,
            adapterHash:
              adapter === undefined ? new Uint8Array(32) : wrap('adapter-hash', () => fromHex(adapter, 32)),
          },
    training: training.length > 0 ? training : null,
  };
}

const TX_COMMANDS: { [K in Exclude<TxType, 'attribution.settle'>]: TxCommand<K> } = {
  transfer: {
    type: 'transfer',
    summary: 'move OPEN',
    usage: '--to ADDRESS --amount OPEN',
    build: (f) => ({ to: f.address('to'), amount: f.open('amount') }),
  },
  'validator.create': {
    type: 'validator.create',
    summary: 'become a validator',
    usage: '--consensus-key HEX --self-stake OPEN [--commission-bps N] [--moniker NAME]',
    build: (f) => ({
      consensusKey: wrap('consensus-key', () => fromHex(f.need('consensus-key', 'HEX'), 32)),
      commissionBps: f.uint('commission-bps', 500),
      selfStake: f.open('self-stake'),
      moniker: f.str('moniker'),
    }),
  },
  'stake.delegate': {
    type: 'stake.delegate',
    summary: 'delegate stake to a validator',
    usage: '--validator ADDRESS --amount OPEN',
    build: (f) => ({ validator: f.address('validator'), amount: f.open('amount') }),
  },
  'stake.undelegate': {
    type: 'stake.undelegate',
    summary: 'start unbonding stake',
    usage: '--validator ADDRESS --amount OPEN',
    build: (f) => ({ validator: f.address('validator'), amount: f.open('amount') }),
  },
  'stake.withdrawRewards': {
    type: 'stake.withdrawRewards',
    summary: 'withdraw delegation rewards',
    usage: '--validator ADDRESS',
    build: (f) => ({ validator: f.address('validator') }),
  },
  'validator.unjail': {
    type: 'validator.unjail',
    summary: 'unjail your validator after its jail period',
    usage: '',
    build: () => ({}),
  },
  'datanet.create': {
    type: 'datanet.create',
    summary: 'create a Datanet',
    usage: `--name NAME [--description TEXT] [--license ID] [--tags a,b] [--curation ${CURATION_POLICIES.join('|')}]
      [--curators ADDRESS,…] [--bond OPEN] [--reject-forfeit-bps N] [--contribution-bytes-max N] [--labels a,b]`,
    build: (f) => ({
      name: f.need('name', 'NAME'),
      description: f.str('description'),
      license: f.str('license'),
      tags: f.list('tags'),
      curation: f.oneOf('curation', CURATION_POLICIES, 'open'),
      curators: f.addresses('curators'),
      bond: f.open('bond', '0'),
      rejectForfeitBps: f.uint('reject-forfeit-bps', 0),
      contributionBytesMax: f.uint('contribution-bytes-max', 65_536),
      labels: f.list('labels'),
    }),
  },
  'datanet.contribute': {
    type: 'datanet.contribute',
    summary: 'contribute text to a Datanet',
    usage: '--datanet ID (--content TEXT | --content-file FILE) [--label LABEL]',
    build: (f) => ({ datanet: f.hash('datanet'), content: f.text('content', true), label: f.str('label') }),
  },
  'datanet.review': {
    type: 'datanet.review',
    summary: 'accept or reject a pending contribution (owner / curator)',
    usage: '--contribution ID (--accept | --reject) [--reason TEXT]',
    build: (f) => {
      const accept = f.raw('accept') === 'true';
      const reject = f.raw('reject') === 'true';
      if (accept === reject) throw new ConfigError('BAD_USAGE', 'pass exactly one of --accept or --reject');
      return { contribution: f.hash('contribution'), accept, reason: f.str('reason') };
    },
  },
  'model.register': {
    type: 'model.register',
    summary: 'register a model',
    usage: `--name NAME ${MODEL_USAGE}`,
    build: (f) => ({ name: f.need('name', 'NAME'), ...modelFields(f) }),
  },
  'model.update': {
    type: 'model.update',
    summary: 'publish a new version of your model',
    usage: `--model ID ${MODEL_USAGE}`,
    build: (f) => ({ model: f.hash('model'), ...modelFields(f) }),
  },
  'inference.receipt': {
    type: 'inference.receipt',
    summary: "record an inference (authorised provider), escrowing the requester's fee",
    usage: `(--request HEX | --request-file FILE) (--output TEXT | --output-file FILE) [--input TEXT]
      [--retrieved ID:WEIGHT,…] [--input-tokens N] [--output-tokens N] [--ack HEX]
      [--delivery-signature HEX]
      (the requester makes the request with "openledger tx sign-request" and, having checked the
      output, its acknowledgment with "openledger tx sign-ack"; without --ack the receipt settles
      after the challenge window. The delivery is signed with --from unless --delivery-signature)`,
    build: (f) => {
      const hex =
        f.raw('request') ?? (f.raw('request-file') ? f.files.get(f.raw('request-file')!) : undefined);
      if (hex === undefined)
        throw new ConfigError('BAD_USAGE', '--request HEX or --request-file FILE is required');
      return {
        request: wrap('request', () => decodeInferenceRequest(fromHex(hex.trim()))),
        input: f.text('input', false),
        output: f.text('output', true),
        retrieved: f.list('retrieved').map((r) => {
          const [id, weight] = r.split(':');
          if (!/^\d+$/.test(weight ?? ''))
            throw new ConfigError('BAD_FLAG', `--retrieved: expected ID:WEIGHT, got ${r}`);
          return { contribution: wrap('retrieved', () => fromHex(id, 32)), weight: Number(weight) };
        }),
        inputTokens: f.uint('input-tokens', 0),
        outputTokens: f.uint('output-tokens', 0),
        // Signed with the sender's key once it is unlocked (runTxCli), unless given.
        deliverySignature: f.signature('delivery-signature') ?? new Uint8Array(64),
        ack: f.signature('ack') ?? null,
      };
    },
  },
  'provider.bond': {
    type: 'provider.bond',
    summary: 'register as an inference provider, or add to the bond (slashed on proven fraud)',
    usage: '--amount OPEN',
    build: (f) => ({ amount: f.open('amount') }),
  },
  'provider.unbond': {
    type: 'provider.unbond',
    summary: 'start unbonding part of the provider bond (paid out after providerUnbondingBlocks)',
    usage: '--amount OPEN',
    build: (f) => ({ amount: f.open('amount') }),
  },
  'inference.challenge': {
    type: 'inference.challenge',
    summary: "prove a receipt's output is not what its provider delivered (refund + slash)",
    usage: `--receipt ID --delivery HEX --signature HEX
      (the delivery and the provider's signature the requester got with the answer)`,
    build: (f) => ({
      receipt: f.hash('receipt'),
      delivery: wrap('delivery', () => decodeDelivery(fromHex(f.need('delivery', 'HEX').trim()))),
      signature: wrap('signature', () => fromHex(f.need('signature', 'HEX').trim(), 64)),
    }),
  },
  'gov.propose': {
    type: 'gov.propose',
    summary: 'propose parameter changes',
    usage: '--title TEXT --changes key=value,… --deposit OPEN [--description TEXT]',
    build: (f) => ({
      title: f.need('title', 'TEXT'),
      description: f.str('description'),
      changes: f.params('changes'),
      deposit: f.open('deposit'),
    }),
  },
  'gov.vote': {
    type: 'gov.vote',
    summary: 'vote on a proposal (needs stake)',
    usage: `--proposal N --option ${GOV_OPTIONS.join('|')}`,
    build: (f) => ({ proposal: f.uint('proposal'), option: f.oneOf('option', GOV_OPTIONS) }),
  },
};

const COMMON_TX_FLAGS = [
  'from',
  'rpc',
  'keystore',
  'passphrase-file',
  'gas-limit',
  'gas-price',
  'nonce',
  'mode',
  'timeout-ms',
  'dry-run',
  'json',
  'help',
];
const BOOLEANS = ['json', 'help', 'dry-run', 'accept', 'reject'];

const TX_OPTIONS = `transaction options:
  --from NAME|ADDRESS     signing key from the keystore (required)
  --mode commit|sync      commit (default): wait for the block; sync: return once admitted
  --timeout-ms N          how long commit mode waits (default 30000)
  --gas-limit N           default depends on the type
  --gas-price UNITS       base units per gas (default 1)
  --nonce N               default: the account's next nonce from the node
  --dry-run               simulate on the latest state and print the result; nothing is sent`;

const HELP = `usage: openledger tx TYPE --from KEY [fields] [options]

types:
${Object.values(TX_COMMANDS)
  .map((c) => `  ${c.type.padEnd(22)} ${c.summary}`)
  .join('\n')}
  ${'sign-request'.padEnd(22)} sign an inference request as the requester (prints it as hex; not a transaction)
  ${'sign-ack'.padEnd(22)} acknowledge a delivered answer as the requester (prints it as hex; not a transaction)

Run "openledger tx TYPE --help" for a type's fields. Amounts are in OPEN (e.g. 2.5).

${TX_OPTIONS}
${KEYSTORE_HELP}
${COMMON_HELP}`;

const SIGN_REQUEST_USAGE = `usage: openledger tx sign-request --from KEY --model ID [--model-version N]
      (--prompt TEXT | --prompt-file FILE) --max-fee OPEN --nonce N (--expiry-height H | --expiry-blocks N)

Prints the requester's signed inference request as hex; give it to the provider, who puts it in
"openledger tx inference.receipt --request HEX". --nonce is the request nonce (any unused number).
${KEYSTORE_HELP}
${COMMON_HELP}`;

const SIGN_ACK_USAGE = `usage: openledger tx sign-ack --from KEY (--request HEX | --request-file FILE)
      (--output TEXT | --output-file FILE) --output-tokens N

Prints the requester's acknowledgment of a delivered answer (the request, the exact output text
and its token count) as hex; the provider puts it in "openledger tx inference.receipt --ack HEX",
and the receipt then settles in the next block instead of after the challenge window. Only
acknowledge an answer you received and whose provider signature you checked.
${KEYSTORE_HELP}
${COMMON_HELP}`;

export async function runTxCli(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, { booleans: BOOLEANS }, 'openledger tx');
  const [type, ...extra] = positionals;
  if (type === undefined || type === 'help') {
    process.stdout.write(`${HELP}\n`);
    return type === undefined && !flags.help ? 2 : 0;
  }
  if (extra.length > 0) throw new ConfigError('BAD_USAGE', `unexpected argument ${JSON.stringify(extra[0])}`);
  if (type === 'sign-request') return signRequestCli(flags);
  if (type === 'sign-ack') return signAckCli(flags);
  if (type === 'attribution.settle')
    throw new ConfigError('BAD_USAGE', 'attribution.settle is built by block proposers, not sent by users');
  const cmd = TX_COMMANDS[type as keyof typeof TX_COMMANDS] as TxCommand<TxType> | undefined;
  if (cmd === undefined)
    throw new ConfigError(
      'BAD_USAGE',
      `unknown transaction type ${JSON.stringify(type)}; see "openledger tx --help"`,
    );
  if (flags.help) {
    process.stdout.write(
      `usage: openledger tx ${cmd.type} --from KEY ${cmd.usage}\n\n${cmd.summary}\n\n${TX_OPTIONS}\n${KEYSTORE_HELP}\n${COMMON_HELP}\n`,
    );
    return 0;
  }
  // Recipients and validators may be named by keystore key.
  for (const name of ['to', 'validator']) {
    if (flags[name] !== undefined && !flags[name].startsWith('0x'))
      flags[name] = await resolveAddress(flags, flags[name]);
  }
  const body = txBody(cmd.type, flags, await readFileFlags(flags));
  const from = flags.from;
  if (from === undefined)
    throw new ConfigError('BAD_USAGE', '--from NAME|ADDRESS (a keystore key) is required');
  const mode = flags.mode ?? 'commit';
  if (mode !== 'commit' && mode !== 'sync') throw new ConfigError('BAD_FLAG', '--mode: commit or sync');
  const key = await unlockKey(flags, from);
  if (cmd.type === 'inference.receipt' && flags['delivery-signature'] === undefined) {
    const b = body as TxBodies['inference.receipt'];
    b.deliverySignature = signDelivery(receiptDelivery(b), key.secretKey);
  }
  const client = clientFor(flags);
  const built = await buildSigned(client, flags, cmd.type, body, key);

  if (flags['dry-run'] === 'true') {
    const sim = await rpcCall('simulating the transaction', () => client.simulate(built.hex));
    return output(flags, { hash: to0x(built.hash), simulated: sim }, () =>
      [
        `dry run of ${cmd.type}: ${sim.code}${sim.message ? ` (${sim.message})` : ''}, gas used ${sim.gasUsed}, fee ${formatOpen(BigInt(sim.fee))} OPEN`,
        ...sim.events.map(eventLine),
      ].join('\n'),
    );
  }
  const timeoutMs = flags['timeout-ms'] === undefined ? undefined : positiveInt(flags, 'timeout-ms');
  const r = await rpcCall(`sending ${cmd.type}`, () => client.sendRaw(built.hex, mode, timeoutMs));
  if (r.status === 'pending') {
    return output(
      flags,
      r,
      () => `submitted ${r.hash} (pending); follow it with "openledger query tx ${r.hash}"`,
    );
  }
  output(flags, r, () =>
    [
      `committed ${r.tx.hash} in block ${r.height}: ${r.result.code}${r.result.message ? ` (${r.result.message})` : ''}, gas used ${r.result.gasUsed}, fee ${formatOpen(BigInt(r.result.fee))} OPEN`,
      ...r.events.map(eventLine),
    ].join('\n'),
  );
  if (r.result.code !== 'ok') {
    throw new OlError(
      r.result.code,
      `${cmd.type} was included in block ${r.height} but failed: ${r.result.code} ${r.result.message ?? ''} (the fee was charged)`,
    );
  }
  return 0;
}

/**
 * The body of a `type` transaction from command-line flags (files already read, by path).
 * Throws a typed error for a missing, malformed or unknown flag.
 */
export function txBody(
  type: string,
  flags: Record<string, string>,
  files: Map<string, string> = new Map(),
): TxBodies[TxType] {
  const cmd = TX_COMMANDS[type as keyof typeof TX_COMMANDS] as TxCommand<TxType> | undefined;
  if (cmd === undefined)
    throw new ConfigError('BAD_USAGE', `unknown transaction type ${JSON.stringify(type)}`);
  const fields = new Fields(flags, files);
  const body = cmd.build(fields);
  for (const name of Object.keys(flags)) {
    if (!COMMON_TX_FLAGS.includes(name) && !fields.used.has(name))
      throw new ConfigError('UNKNOWN_FLAG', `tx ${cmd.type}: unknown option --${name} (see --help)`);
  }
  return body;
}

/** Every user transaction type the CLI can send. */
export const CLI_TX_TYPES = Object.keys(TX_COMMANDS) as Exclude<TxType, 'attribution.settle'>[];

async function buildSigned<K extends TxType>(
  client: OpenLedgerClient,
  flags: Record<string, string>,
  type: K,
  body: TxBodies[K],
  key: KeyPair,
) {
  const status = await rpcCall('reading the chain id', () => client.status());
  const nonce =
    flags.nonce !== undefined
      ? positiveInt(flags, 'nonce', 0)
      : ((await rpcCall('reading the nonce', () => client.account(formatAddress(addressOf(key.publicKey)))))
          .nonce as number);
  return wrap('transaction', () =>
    buildTx(type, body, key, {
      chainId: status.chainId as string,
      nonce,
      gasLimit: flags['gas-limit'] === undefined ? DEFAULT_GAS_LIMIT[type] : positiveInt(flags, 'gas-limit'),
      gasPrice:
        flags['gas-price'] === undefined ? 1n : wrap('gas-price', () => parseUnits(flags['gas-price'])),
    }),
  );
}

async function signRequestCli(flags: Record<string, string>): Promise<number> {
  if (flags.help) {
    process.stdout.write(`${SIGN_REQUEST_USAGE}\n`);
    return 0;
  }
  const f = new Fields(flags, await readFileFlags(flags));
  const model = f.hash('model');
  const modelVersion = f.uint('model-version', 0);
  const prompt = f.text('prompt', true);
  const maxFee = f.open('max-fee');
  const nonce = f.uint('nonce');
  const expiryHeight = f.raw('expiry-height');
  const expiryBlocks = f.raw('expiry-blocks');
  const allowed = ['from', 'rpc', 'keystore', 'passphrase-file', 'json', 'help'];
  for (const name of Object.keys(flags)) {
    if (!allowed.includes(name) && !f.used.has(name))
      throw new ConfigError('UNKNOWN_FLAG', `tx sign-request: unknown option --${name} (see --help)`);
  }
  if ((expiryHeight === undefined) === (expiryBlocks === undefined))
    throw new ConfigError('BAD_USAGE', 'pass --expiry-height H or --expiry-blocks N');
  if (flags.from === undefined) throw new ConfigError('BAD_USAGE', '--from NAME|ADDRESS is required');
  const key = await unlockKey(flags, flags.from);
  const client = clientFor(flags);
  const status = await rpcCall('reading the chain', () => client.status());
  let version = modelVersion;
  if (version === 0)
    version = (await rpcCall('reading the model', () => client.model(to0x(model)))).latestVersion as number;
  const height =
    expiryHeight !== undefined
      ? f.uint('expiry-height')
      : (status.height as number) + f.uint('expiry-blocks');
  const request = buildRequest(key, {
    chainId: status.chainId as string,
    model,
    modelVersion: version,
    prompt,
    maxFee,
    nonce,
    expiryHeight: height,
  });
  const hex = to0x(encodeInferenceRequest(request));
  return output(flags, { request: hex, modelVersion: version, expiryHeight: height }, () => hex);
}

async function signAckCli(flags: Record<string, string>): Promise<number> {
  if (flags.help) {
    process.stdout.write(`${SIGN_ACK_USAGE}\n`);
    return 0;
  }
  const f = new Fields(flags, await readFileFlags(flags));
  const hex = f.raw('request') ?? (f.raw('request-file') ? f.files.get(f.raw('request-file')!) : undefined);
  if (hex === undefined)
    throw new ConfigError('BAD_USAGE', '--request HEX or --request-file FILE is required');
  const request = wrap('request', () => decodeInferenceRequest(fromHex(hex.trim())));
  const outputText = f.text('output', true);
  const outputTokens = f.uint('output-tokens');
  const allowed = ['from', 'rpc', 'keystore', 'passphrase-file', 'json', 'help'];
  for (const name of Object.keys(flags)) {
    if (!allowed.includes(name) && !f.used.has(name))
      throw new ConfigError('UNKNOWN_FLAG', `tx sign-ack: unknown option --${name} (see --help)`);
  }
  if (flags.from === undefined) throw new ConfigError('BAD_USAGE', '--from NAME|ADDRESS is required');
  const key = await unlockKey(flags, flags.from);
  if (!Buffer.from(key.publicKey).equals(request.requester))
    throw new ConfigError('BAD_USAGE', '--from is not the requester of this request');
  const d = deliveryFor(request, outputText, outputTokens);
  const ack = to0x(signAck(d, key.secretKey));
  return output(flags, { ack, delivery: to0x(encodeDelivery(d)) }, () => ack);
}

/** Reads every `--*-file` flag's file up front (bounded), so building stays synchronous. */
async function readFileFlags(flags: Record<string, string>): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [name, path] of Object.entries(flags)) {
    if (!name.endsWith('-file') || name === 'passphrase-file') continue;
    try {
      const text = await readFile(path, 'utf8');
      if (text.length > 1_048_576) throw new Error('larger than 1 MiB');
      files.set(path, text);
    } catch (e) {
      throw new ConfigError('BAD_FLAG', `--${name} ${path}: ${(e as Error).message}`);
    }
  }
  return files;
}

function positiveInt(flags: Record<string, string>, name: string, min = 1): number {
  const v = flags[name];
  if (!/^\d{1,15}$/.test(v ?? '') || Number(v) < min)
    throw new ConfigError('BAD_FLAG', `--${name}: expected a whole number ≥ ${min}, got ${v}`);
  return Number(v);
}

export function eventLine(e: { type: string; attrs: Record<string, unknown> }): string {
  const attrs = Object.entries(e.attrs)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `  event ${e.type} ${attrs}`;
}
