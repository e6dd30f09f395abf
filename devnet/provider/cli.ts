import { readFile } from 'node:fs/promises';
import { addressOf, formatAddress } from '../../core/address.js';
import { fromHex } from '../../core/bytes.js';
import { PROVIDER_ACK_WAIT_MS, Provider, ProviderError } from './server.js';

/**
 * `openledger provider`: the reference provider (server.ts) or, with `--upstream`, the
 * OpenAI-compatible gateway (gateway.ts). Its own file so neither imports the other.
 */

export const PROVIDER_HELP = `usage: openledger provider --rpc URL --key FILE [--port 8600] [--host 127.0.0.1]

The reference inference provider. Serves every active model that lists this account as a
provider (span models: an n-gram text generator trained from the model's datanets; influence
models: the chain's own classifier) and posts an inference.receipt for each answer.

  --rpc URL    a node's JSON-RPC endpoint
  --key FILE   JSON {"secretKey": hex, "publicKey": hex} of the provider account
  --port N     HTTP port (default 8600)
  --host H     listen address (default 127.0.0.1)

HTTP: GET /v1/models; POST /v1/infer {"request": "0x<signed request>", "prompt": "…"} → the
answer with the provider's signed delivery; POST /v1/ack {"receipt", "ack"} → the receipt is
posted with the requester's ack (else without, after ${PROVIDER_ACK_WAIT_MS / 1000} s; it then settles after the
challenge window). Bonds up to providerBondMin on start.

OpenAI-compatible gateway mode (devnet/provider/gateway.ts), in front of any OpenAI-compatible
model server (llama.cpp server, vLLM, Ollama, TGI, \`openledger model-server\`):

  --upstream URL                         default upstream (e.g. http://127.0.0.1:8080/v1); the
                                         upstream model name is the chain model id
  --upstream 0x<model id>=URL[#NAME]     one chain model -> upstream (NAME: its model / LoRA name)
  --upstream-map FILE                    JSON {"0x<model id>": {"url": "…/v1", "model": "NAME"}}
  --upstream-timeout-ms N                give up on the upstream after N ms (default 30000)

Serves GET /v1/models, POST /v1/chat/completions, POST /v1/completions (stream or not); the
signed chain request goes in the x-openledger-request header.`;

/** `openledger provider …` */
export async function runProviderCli(argv: string[]): Promise<number> {
  const { parseArgs, intFlag } = await import('../../core/args.js');
  // --upstream may repeat; parseArgs keeps one value per flag, so collect them first.
  const upstreams: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--upstream=')) upstreams.push(argv[i].slice('--upstream='.length));
    else if (argv[i] === '--upstream') {
      if (argv[i + 1] === undefined) throw new ProviderError('BAD_USAGE', '--upstream needs a value');
      upstreams.push(argv[++i]);
    } else rest.push(argv[i]);
  }
  const { flags, positionals } = parseArgs(
    rest,
    { strings: ['rpc', 'key', 'port', 'host', 'upstream-map', 'upstream-timeout-ms'] },
    'openledger provider',
  );
  if (flags.help) {
    process.stdout.write(`${PROVIDER_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new ProviderError('BAD_USAGE', `unexpected argument ${positionals[0]}`);
  if (!flags.rpc) throw new ProviderError('BAD_USAGE', '--rpc URL is required (a node JSON-RPC endpoint)');
  if (!flags.key) throw new ProviderError('BAD_USAGE', '--key FILE is required (the provider account key)');
  let key: { secretKey: string; publicKey: string };
  try {
    key = JSON.parse(await readFile(flags.key, 'utf8'));
    fromHex(key.secretKey, 32);
    fromHex(key.publicKey, 32);
  } catch (e) {
    throw new ProviderError('BAD_KEY', `--key ${flags.key}: ${(e as Error).message}`);
  }
  const port = intFlag(flags, 'port', 8600, 1, 65535);
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  let p: { start(): Promise<{ url: string }>; close(): Promise<void> };
  if (upstreams.length > 0 || flags['upstream-map']) {
    const { Gateway, parseUpstreams, UPSTREAM_TIMEOUT_MS_DEFAULT } = await import('./gateway.js');
    const u = await parseUpstreams(upstreams, flags['upstream-map']);
    const upstreamTimeoutMs = intFlag(
      flags,
      'upstream-timeout-ms',
      UPSTREAM_TIMEOUT_MS_DEFAULT,
      100,
      600_000,
    );
    p = new Gateway({ rpcUrl: flags.rpc, key, port, host: flags.host, log, ...u, upstreamTimeoutMs });
  } else p = new Provider({ rpcUrl: flags.rpc, key, port, host: flags.host, log });
  const { url } = await p.start();
  log(`provider ${formatAddress(addressOf(fromHex(key.publicKey)))} listening on ${url}`);
  return new Promise<number>((resolve) => {
    const stop = () => void p.close().then(() => resolve(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
