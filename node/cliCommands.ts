/**
 * Further `openledger` commands (tx, query, provider, devnet) register here, so the core CLI
 * does not import every client module at start-up.
 */
export interface CliCommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const CLI_COMMANDS: CliCommand[] = [];
