/**
 * Further `openledger` commands (tx, query, provider, devnet) register here, so the core CLI
 * does not import every client module at start-up.
 */
export interface CliCommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const CLI_COMMANDS: CliCommand[] = [
  {
    name: 'tx',
    summary: 'sign and send a transaction of any type (keys from the keystore)',
    run: async (argv) => (await import('./txCli.js')).runTxCli(argv),
  },
  {
    name: 'query',
    summary: 'read chain state over JSON-RPC (accounts, blocks, datanets, earnings, …)',
    run: async (argv) => (await import('./queryCli.js')).runQueryCli(argv),
  },
  {
    name: 'keystore',
    summary: 'account keys at rest: new, import, list, show',
    run: async (argv) => (await import('./keysCli.js')).runKeystoreCli(argv),
  },
  {
    name: 'provider',
    summary: 'run the inference provider / OpenAI-compatible gateway (devnet/provider)',
    run: async (argv) => (await import('../devnet/provider/server.js')).runProviderCli(argv),
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
