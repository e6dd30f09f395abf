/**
 * Every `openledger` command, each loaded only when it runs: client commands (tx, query, keystore)
 * start without loading the node itself (libp2p, LevelDB), which would triple their start-up time.
 * This table sits above `node/` and `devnet/` (DESIGN §1): it is the one place that composes both.
 */
export interface CliCommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

const nodeCommand = (name: string, summary: string): CliCommand => ({
  name,
  summary,
  run: async (argv) => (await import('../node/cli.js')).runNodeCommand(name, argv),
});

export const CLI_COMMANDS: readonly CliCommand[] = [
  nodeCommand('init', "create a node's data directory (keys, config, optional genesis)"),
  nodeCommand('start', 'run a node from a data directory'),
  nodeCommand('keys', "show this node's keys and peer id"),
  {
    name: 'tx',
    summary: 'sign and send a transaction of any type (keys from the keystore)',
    run: async (argv) => (await import('../node/txCli.js')).runTxCli(argv),
  },
  {
    name: 'query',
    summary: 'read chain state over JSON-RPC (accounts, blocks, datanets, earnings, …)',
    run: async (argv) => (await import('../node/queryCli.js')).runQueryCli(argv),
  },
  {
    name: 'keystore',
    summary: 'account keys at rest: new, import, list, show',
    run: async (argv) => (await import('../node/keysCli.js')).runKeystoreCli(argv),
  },
  {
    name: 'provider',
    summary: 'run the inference provider / OpenAI-compatible gateway (devnet/provider)',
    run: async (argv) => (await import('../devnet/provider/cli.js')).runProviderCli(argv),
  },
  {
    name: 'model-server',
    summary: 'serve the built-in models over an OpenAI-compatible API (devnet/provider/modelServer.ts)',
    run: async (argv) => (await import('../devnet/provider/modelServer.js')).runModelServerCli(argv),
  },
  {
    name: 'devnet',
    summary: 'start, inspect or stop a local multi-node network (devnet/cli.ts)',
    run: async (argv) => (await import('../devnet/cli.js')).runDevnetCli(argv),
  },
];
