import { checkFlags, parseArgs } from '../core/args.js';
import { EXIT_STORAGE_FAILED, OlError } from '../core/errors.js';
import { parseGenesis } from '../vm/genesis.js';
import type { ChainFaults } from './chain.js';
import { describeOptions, flagsToObject } from './config.js';
import { equivocationFrom } from './equivocator.js';
import { homePaths, initHome, readGenesisFile, writeGenesisFile } from './home.js';
import { OpenLedgerNode } from './node.js';

/**
 * The node's own commands of `openledger` (init, start, keys); `cli/openledger.ts` composes them
 * with the client, devnet and provider commands. Every command has --help; errors say what to do
 * and exit with status 2 (bad usage or input) or 1 (runtime failure).
 */

/** Flags of init and start besides the config options. */
const CONFIG_FLAG_PREFIXES = [
  'moniker',
  'p2p.',
  'rpc.',
  'metrics.',
  'consensus.',
  'mempool.',
  'state.',
  'attribution.',
  'log.',
];

const INIT_HELP = `usage: openledger init --home DIR [--genesis FILE] [--force] [config options]

Creates DIR with a validator key (keys/validator.json), a libp2p node key (keys/node.key) and
config.json. Existing keys are kept. --genesis copies and validates a genesis file into DIR.
Config options (each also a key of config.json):
${describeOptions().join('\n')}`;

const START_HELP = `usage: openledger start --home DIR [config options]

Runs the node until SIGINT or SIGTERM. Config options override config.json for this run:
${describeOptions().join('\n')}`;

const KEYS_HELP = `usage: openledger keys --home DIR [--json]

Shows the validator address and public key, and the libp2p peer id of the node in DIR.`;

export async function runNodeCommand(command: string, rest: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(rest, { booleans: ['force', 'json'] }, `openledger ${command}`);
  if (positionals.length > 0)
    throw new OlError('BAD_USAGE', `unexpected argument ${JSON.stringify(positionals[0])}`);
  switch (command) {
    case 'init': {
      if (flags.help) return print(INIT_HELP);
      checkFlags(
        flags,
        ['home', 'genesis', 'force', 'json', 'help', ...CONFIG_FLAG_PREFIXES],
        'openledger init',
      );
      const home = requireHome(flags);
      const { home: _h, genesis, force, json, help: _x, ...config } = flags;
      const r = await initHome(home, flagsToObject(config), force === 'true');
      if (genesis !== undefined) {
        const g = await readGenesisFile(genesis);
        parseGenesis(g);
        await writeGenesisFile(r.paths.genesis, g);
      }
      const out = {
        home,
        address: r.address,
        publicKey: `0x${Buffer.from(r.validatorKey.publicKey).toString('hex')}`,
        peerId: r.peerId,
      };
      if (json === 'true') return print(JSON.stringify(out));
      return print(
        `initialised ${home}\n  validator address  ${out.address}\n  consensus key      ${out.publicKey}\n  peer id            ${out.peerId}${genesis ? '' : '\nnext: put the chain\'s genesis.json in it (or re-run with --genesis FILE), then "openledger start --home ' + home + '"'}`,
      );
    }
    case 'start': {
      if (flags.help) return print(START_HELP);
      checkFlags(flags, ['home', ...CONFIG_FLAG_PREFIXES], 'openledger start');
      const home = requireHome(flags);
      const { home: _h, ...config } = flags;
      return runNode(home, config);
    }
    case 'keys': {
      if (flags.help) return print(KEYS_HELP);
      checkFlags(flags, ['home', 'json', 'help'], 'openledger keys');
      const home = requireHome(flags);
      const paths = homePaths(home);
      const { readValidatorKey } = await import('./validatorKey.js');
      const { loadOrCreateNodeKey, peerIdOf } = await import('../p2p/nodeKey.js');
      const { addressOf, formatAddress } = await import('../core/address.js');
      const kp = await readValidatorKey(paths.validatorKey);
      const peerId = peerIdOf(await loadOrCreateNodeKey(paths.nodeKey));
      const out = {
        address: formatAddress(addressOf(kp.publicKey)),
        publicKey: `0x${Buffer.from(kp.publicKey).toString('hex')}`,
        peerId,
      };
      return print(
        flags.json === 'true'
          ? JSON.stringify(out)
          : `validator address  ${out.address}\nconsensus key      ${out.publicKey}\npeer id            ${out.peerId}`,
      );
    }
    default:
      throw new OlError('BAD_USAGE', `not a node command: ${JSON.stringify(command)}`);
  }
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

function requireHome(flags: Record<string, string>): string {
  const home = flags.home ?? process.env.OPENLEDGER_HOME;
  if (!home) throw new OlError('BAD_USAGE', '--home DIR is required (or set OPENLEDGER_HOME)');
  return home;
}

/** Test-only faults, from the environment so no operator flips them by accident. */
function faultsFromEnv(): ChainFaults {
  const f = (process.env.OPENLEDGER_TEST_FAULTS ?? '').split(',');
  const slow = f.find((x) => x.startsWith('slowPrecommit='));
  const slowPrecommitMs = slow === undefined ? 0 : Number(slow.slice('slowPrecommit='.length));
  if (!Number.isSafeInteger(slowPrecommitMs) || slowPrecommitMs < 0 || slowPrecommitMs > 60_000)
    throw new OlError('BAD_FAULT', `OPENLEDGER_TEST_FAULTS: slowPrecommit=${slow} must be 0..60000 ms`);
  return {
    wrongSettle: f.includes('wrongSettle'),
    floodBlocks: f.includes('floodBlocks'),
    slowPrecommitMs,
    equivocate: equivocationFrom(f) ?? undefined,
  };
}

async function runNode(home: string, flags: Record<string, string>): Promise<number> {
  const node = await OpenLedgerNode.start({ home, flags, faults: faultsFromEnv() });
  const { attachExplorer, attachRpc } = await import('./api.js');
  const rpc = await attachRpc(node);
  let explorer: Awaited<ReturnType<typeof attachExplorer>>;
  try {
    explorer = await attachExplorer(node);
  } catch (e) {
    // Not built, or its port is taken: a configuration error, reported after a clean stop.
    await rpc?.close();
    await node.stop();
    throw e;
  }
  const { startAdminControl } = await import('./adminControl.js');
  const stopAdmin = startAdminControl(home, node.p2p, node.log);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string, status = 0) => {
      if (stopping) return;
      stopping = true;
      node.log.info({ signal }, 'stopping');
      const force = setTimeout(() => resolve(status === 0 ? 1 : status), 15_000);
      force.unref();
      void (async () => {
        stopAdmin();
        await explorer?.close();
        await rpc?.close();
        await node.stop();
        clearTimeout(force);
        resolve(status);
      })();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // A full disk stops the node (it would only fail every write again); the exit status tells a
    // supervisor it is not a crash to restart in a loop. A write that fails where no caller can
    // catch it (a WAL append inside a gossip handler) reaches the process handlers below.
    node.onFatal(() => stop('disk full', EXIT_STORAGE_FAILED));
    const uncaught = (e: unknown) => {
      if (node.storageFailed(e)) return;
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    };
    process.on('uncaughtException', uncaught);
    process.on('unhandledRejection', uncaught);
  });
}
