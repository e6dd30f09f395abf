import { readFile, rename, writeFile } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';

/**
 * Node configuration: one JSON file per data directory (`config.json`), every option also a flag
 * (`--section.key value` or `--section.key=value`). Unknown keys and values of the wrong type or out
 * of range are errors naming the field, so a typo never silently falls back to a default.
 */

type FieldSpec =
  | { type: 'string'; default: string; doc: string; pattern?: RegExp }
  | { type: 'int'; default: number; min: number; max: number; doc: string }
  | { type: 'bool'; default: boolean; doc: string }
  | { type: 'list'; default: string[]; doc: string; itemsMax: number };

const HOST_PORT = /^[0-9a-zA-Z.\-:[\]]+:\d{1,5}$/;

export const CONFIG_SPEC = {
  moniker: {
    type: 'string',
    default: 'node',
    doc: 'human-readable name of this node',
    pattern: /^[\w.-]{1,64}$/,
  },
  p2p: {
    listen: { type: 'string', default: '/ip4/127.0.0.1/tcp/26656', doc: 'libp2p listen multiaddr' },
    bootstrap: {
      type: 'list',
      default: [],
      itemsMax: 64,
      doc: 'peers to keep connected to (multiaddrs with /p2p/<id>)',
    },
    peerGossipPerSec: {
      type: 'int',
      default: 5000,
      min: 1,
      max: 1_000_000,
      doc: 'gossip messages/s accepted per peer',
    },
    peerRequestsPerSec: {
      type: 'int',
      default: 50,
      min: 1,
      max: 100_000,
      doc: 'sync requests/s served per peer',
    },
    connectionsMax: { type: 'int', default: 64, min: 1, max: 10_000, doc: 'open connections at most' },
  },
  rpc: {
    listen: {
      type: 'string',
      default: '127.0.0.1:8545',
      doc: 'JSON-RPC host:port ("" disables)',
      pattern: /^$|^[0-9a-zA-Z.\-:[\]]+:\d{1,5}$/,
    },
    cors: { type: 'list', default: [], itemsMax: 32, doc: 'allowed CORS origins ("*" for any)' },
    bodyBytesMax: {
      type: 'int',
      default: 1_048_576,
      min: 1024,
      max: 64 * 1_048_576,
      doc: 'largest request body',
    },
    batchMax: { type: 'int', default: 100, min: 1, max: 10_000, doc: 'largest JSON-RPC batch' },
    concurrentMax: { type: 'int', default: 256, min: 1, max: 100_000, doc: 'requests in flight at once' },
    subscriptionsMax: { type: 'int', default: 64, min: 1, max: 10_000, doc: 'subscriptions per WebSocket' },
    wsMessagesPerSec: { type: 'int', default: 200, min: 1, max: 1_000_000, doc: 'messages/s per WebSocket' },
    wsConnectionsMax: { type: 'int', default: 1024, min: 1, max: 100_000, doc: 'open WebSockets at most' },
    httpConnectionsMax: {
      type: 'int',
      default: 4096,
      min: 1,
      max: 1_000_000,
      doc: 'open RPC TCP connections at most',
    },
    wsBufferedBytesMax: {
      type: 'int',
      default: 16 * 1_048_576,
      min: 65_536,
      max: 1024 * 1_048_576,
      doc: 'unsent bytes a slow WebSocket may hold before it is closed',
    },
  },
  explorer: {
    listen: {
      type: 'string',
      default: '',
      doc: 'explorer web app host:port, read-only JSON-RPC on the same origin ("" disables; devnets turn it on)',
      pattern: /^$|^[0-9a-zA-Z.\-:[\]]+:\d{1,5}$/,
    },
  },
  metrics: {
    listen: {
      type: 'string',
      default: '127.0.0.1:9464',
      doc: 'Prometheus metrics host:port ("" disables)',
      pattern: /^$|^[0-9a-zA-Z.\-:[\]]+:\d{1,5}$/,
    },
  },
  consensus: {
    timeoutProposeMs: {
      type: 'int',
      default: 1000,
      min: 10,
      max: 600_000,
      doc: 'propose timeout in round 0',
    },
    timeoutPrevoteMs: { type: 'int', default: 500, min: 10, max: 600_000, doc: 'prevote timeout in round 0' },
    timeoutPrecommitMs: {
      type: 'int',
      default: 500,
      min: 10,
      max: 600_000,
      doc: 'precommit timeout in round 0',
    },
    timeoutDeltaMs: {
      type: 'int',
      default: 250,
      min: 0,
      max: 600_000,
      doc: 'added to each timeout per round',
    },
    certificateGraceMs: {
      type: 'int',
      default: 300,
      min: 0,
      max: 60_000,
      doc: 'a proposer waits up to this long after the last decision for the precommits of validators that signed the previous certificate, so its last commit carries every timely vote',
    },
    blockTimeMs: {
      type: 'int',
      default: 1000,
      min: 0,
      max: 600_000,
      doc: 'pause after a commit before the next height',
    },
  },
  mempool: {
    txsMax: { type: 'int', default: 50_000, min: 1, max: 10_000_000, doc: 'transactions held at most' },
    bytesMax: {
      type: 'int',
      default: 64 * 1_048_576,
      min: 1024,
      max: 4 * 1024 * 1_048_576,
      doc: 'bytes held at most',
    },
    perSenderMax: { type: 'int', default: 256, min: 1, max: 100_000, doc: 'pending transactions per sender' },
    admissionWaitMs: {
      type: 'int',
      default: 2_000,
      min: 0,
      max: 600_000,
      doc: 'refuse RPC transactions (BUSY) when the mempool would take longer than this to commit (0 = never)',
    },
    admissionBacklogMin: {
      type: 'int',
      default: 1_000,
      min: 0,
      max: 10_000_000,
      doc: 'never refuse for backpressure while fewer transactions than this wait',
    },
  },
  state: {
    pruneWindow: {
      type: 'int',
      default: 100_000,
      min: 2,
      max: Number.MAX_SAFE_INTEGER,
      doc: 'state versions kept for proofs and old reads',
    },
  },
  attribution: {
    workers: {
      type: 'int',
      default: 0,
      min: 0,
      max: 256,
      doc: 'attribution worker threads (0 = cores − 1, at least 1)',
    },
  },
  log: {
    level: {
      type: 'string',
      default: 'info',
      doc: 'trace | debug | info | warn | error',
      pattern: /^(trace|debug|info|warn|error|silent)$/,
    },
  },
} as const satisfies Record<string, FieldSpec | Record<string, FieldSpec>>;

type ValueOf<F> = F extends { type: 'string' }
  ? string
  : F extends { type: 'int' }
    ? number
    : F extends { type: 'bool' }
      ? boolean
      : F extends { type: 'list' }
        ? string[]
        : { -readonly [K in keyof F]: ValueOf<F[K]> };

export type NodeConfig = ValueOf<typeof CONFIG_SPEC>;

function isField(x: unknown): x is FieldSpec {
  return typeof x === 'object' && x !== null && 'type' in x && 'doc' in x;
}

export function defaultConfig(): NodeConfig {
  const build = (spec: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(spec)) {
      out[k] = isField(v) ? structuredClone(v.default) : build(v as Record<string, unknown>);
    }
    return out;
  };
  return build(CONFIG_SPEC) as NodeConfig;
}

function checkValue(path: string, spec: FieldSpec, value: unknown): unknown {
  const fail = (what: string): never => {
    throw new ConfigError('BAD_CONFIG', `config ${path}: ${what} (${spec.doc})`, { path });
  };
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') fail(`expected a string, got ${JSON.stringify(value)}`);
      if (spec.pattern && !spec.pattern.test(value as string)) fail(`invalid value ${JSON.stringify(value)}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        fail(`expected an integer, got ${JSON.stringify(value)}`);
      if ((value as number) < spec.min || (value as number) > spec.max)
        fail(`${value} is outside [${spec.min}, ${spec.max}]`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') fail(`expected true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'list':
      if (!Array.isArray(value) || value.some((x) => typeof x !== 'string'))
        fail('expected a list of strings');
      if ((value as string[]).length > spec.itemsMax) fail(`at most ${spec.itemsMax} entries`);
      return [...(value as string[])];
  }
}

/**
 * Keys of config files in an old or foreign layout (CometBFT-style names) → what to write instead.
 * Consulted only for a key that is not accepted, so the error says what to do.
 */
export const LEGACY_CONFIG_KEYS: Readonly<Record<string, string>> = {
  'rpc.laddr': 'is the old name of "rpc.listen": rename it (value host:port, e.g. 127.0.0.1:8545)',
  'p2p.laddr': 'is the old name of "p2p.listen": rename it (value a multiaddr, e.g. /ip4/0.0.0.0/tcp/26656)',
  'p2p.persistent_peers':
    'is the old name of "p2p.bootstrap": rename it (a list of /ip4/HOST/tcp/PORT/p2p/PEERID multiaddrs)',
  'p2p.seeds': 'is not used: list the peers in "p2p.bootstrap" (multiaddrs with /p2p/PEERID)',
  'p2p.max_num_inbound_peers': 'is the old name of "p2p.connectionsMax": rename it',
  log_level: 'is the old name of "log.level": write {"log": {"level": "info"}}',
  'consensus.timeout_propose':
    'is the old name of "consensus.timeoutProposeMs": rename it (an integer of milliseconds)',
  'consensus.timeout_prevote':
    'is the old name of "consensus.timeoutPrevoteMs": rename it (an integer of milliseconds)',
  'consensus.timeout_precommit':
    'is the old name of "consensus.timeoutPrecommitMs": rename it (an integer of milliseconds)',
  'consensus.timeout_commit':
    'is the old name of "consensus.blockTimeMs": rename it (an integer of milliseconds)',
  'mempool.size': 'is the old name of "mempool.txsMax": rename it',
  instrumentation:
    'is the old section of "metrics.listen" (prometheus_listen_addr): write {"metrics": {"listen": "127.0.0.1:9464"}}',
};

/** Merges a parsed JSON object into a config, rejecting unknown keys and bad values. */
export function applyConfigObject(base: NodeConfig, input: unknown, where = 'config'): NodeConfig {
  const out = structuredClone(base) as Record<string, unknown>;
  const walk = (
    spec: Record<string, unknown>,
    obj: unknown,
    target: Record<string, unknown>,
    prefix: string,
  ) => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new ConfigError('BAD_CONFIG', `${where}: ${prefix || 'top level'} must be an object`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const s = spec[k];
      if (s === undefined) {
        const legacy = LEGACY_CONFIG_KEYS[path];
        if (legacy !== undefined)
          throw new ConfigError(
            'OLD_CONFIG_FORMAT',
            `${where}: ${JSON.stringify(path)} ${legacy} (this is an old or foreign config format)`,
            { path },
          );
        throw new ConfigError(
          'UNKNOWN_CONFIG_KEY',
          `${where}: unknown key ${JSON.stringify(path)}; known keys: ${Object.keys(spec).join(', ')}`,
          { path },
        );
      }
      if (isField(s)) target[k] = checkValue(path, s, v);
      else walk(s as Record<string, unknown>, v, target[k] as Record<string, unknown>, path);
    }
  };
  walk(CONFIG_SPEC, input, out, '');
  return out as NodeConfig;
}

/** Looks up the spec of a dotted key, e.g. "p2p.listen". */
function fieldAt(path: string): FieldSpec | undefined {
  let cur: unknown = CONFIG_SPEC;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || isField(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return isField(cur) ? cur : undefined;
}

/** Parses a flag value given as text into the field's type. */
export function parseFlagValue(path: string, text: string): unknown {
  const spec = fieldAt(path);
  if (spec === undefined)
    throw new ConfigError('UNKNOWN_FLAG', `unknown option --${path} (see --help)`, { path });
  switch (spec.type) {
    case 'string':
      return text;
    case 'int':
      if (!/^-?\d+$/.test(text))
        throw new ConfigError('BAD_CONFIG', `--${path}: expected an integer, got ${JSON.stringify(text)}`);
      return Number(text);
    case 'bool':
      if (text !== 'true' && text !== 'false')
        throw new ConfigError('BAD_CONFIG', `--${path}: expected true or false`);
      return text === 'true';
    case 'list':
      return text === '' ? [] : text.split(',');
  }
}

/** Turns dotted flags into the nested object `applyConfigObject` takes. */
export function flagsToObject(flags: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, text] of Object.entries(flags)) {
    const value = parseFlagValue(path, text);
    const parts = path.split('.');
    let cur = out;
    for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
    cur[parts[parts.length - 1]] = value;
  }
  return out;
}

export const CONFIG_BYTES_MAX = 1_048_576;

/** Reads `config.json`; a missing file means defaults, a corrupt one is an error naming it. */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError('CONFIG_UNREADABLE', `cannot read ${path}: ${(e as Error).message}`);
  }
  if (text.length > CONFIG_BYTES_MAX)
    throw new ConfigError('BAD_CONFIG', `${path} is larger than ${CONFIG_BYTES_MAX} bytes`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError('BAD_CONFIG', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function loadConfig(path: string, flags: Record<string, string> = {}): Promise<NodeConfig> {
  const fromFile = applyConfigObject(defaultConfig(), await readConfigFile(path), path);
  return applyConfigObject(fromFile, flagsToObject(flags), 'flags');
}

export async function writeConfigFile(path: string, config: NodeConfig): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(config, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** One line per option for `--help`. */
export function describeOptions(): string[] {
  const lines: string[] = [];
  const walk = (spec: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(spec)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (isField(v)) lines.push(`  --${path.padEnd(30)} ${v.doc} (default ${JSON.stringify(v.default)})`);
      else walk(v as Record<string, unknown>, path);
    }
  };
  walk(CONFIG_SPEC, '');
  return lines;
}

export function hostPort(text: string): { host: string; port: number } {
  if (!HOST_PORT.test(text)) throw new ConfigError('BAD_CONFIG', `not host:port: ${JSON.stringify(text)}`);
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (port > 65535) throw new ConfigError('BAD_CONFIG', `port ${port} is out of range`);
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port };
}
