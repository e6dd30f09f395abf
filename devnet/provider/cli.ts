import { readFile } from 'node:fs/promises';
import { addressOf, formatAddress } from '../../core/address.js';
import { fromHex } from '../../core/bytes.js';
import { ACK_WAIT_MS_DEFAULT, Gateway, parseUpstreams, UPSTREAM_TIMEOUT_MS_DEFAULT } from './gateway.js';
import { ProviderError } from './shared.js';

/** `openledger provider`: the OpenAI-compatible gateway (gateway.ts). */

export const PROVIDER_HELP = `usage: openledger provider --rpc URL --key FILE --upstream URL [--port 8600] [--host 127.0.0.1]

The OpenAI-compatible inference gateway (devnet/provider/gateway.ts): fronts any OpenAI-compatible
model server (llama.cpp server, vLLM, Ollama, TGI, or the reference \`openledger model-server\`
for the chain's built-in models) for the chain models that list this account as a provider, and
posts an inference.receipt for each answer delivered. Bonds up to providerBondMin on start.

  --rpc URL                              a node's JSON-RPC endpoint
  --key FILE                             JSON {"secretKey": hex, "publicKey": hex} of the provider account
  --port N                               HTTP port (default 8600)
  --host H                               listen address (default 127.0.0.1)
  --upstream URL                         default upstream (e.g. http://127.0.0.1:8080/v1); the
                                         upstream model name is the chain model id
  --upstream 0x<model id>=URL[#NAME]     one chain model -> upstream (NAME: its model / LoRA name)
  --upstream-map FILE                    JSON {"0x<model id>": {"url": "…/v1", "model": "NAME"}}
  --upstream-timeout-ms N                give up on the upstream after N ms (default ${UPSTREAM_TIMEOUT_MS_DEFAULT})
  --ack-wait-ms N                        how long a delivered answer's receipt waits for the
                                         requester's ack before it is posted without one
                                         (default ${ACK_WAIT_MS_DEFAULT})

HTTP: GET /v1/models; POST /v1/chat/completions and /v1/completions (stream or not), the signed
chain request in the x-openledger-request header; POST /v1/ack {"receipt", "ack"}: the
requester's signature of the delivery, so the receipt is posted with it and settles in the next
block (without one it settles after the chain's challenge window).`;

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
    { strings: ['rpc', 'key', 'port', 'host', 'upstream-map', 'upstream-timeout-ms', 'ack-wait-ms'] },
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
  if (upstreams.length === 0 && !flags['upstream-map'])
    throw new ProviderError(
      'BAD_USAGE',
      '--upstream URL is required (an OpenAI-compatible model server; `openledger model-server` serves the built-in models)',
    );
  const u = await parseUpstreams(upstreams, flags['upstream-map']);
  const upstreamTimeoutMs = intFlag(flags, 'upstream-timeout-ms', UPSTREAM_TIMEOUT_MS_DEFAULT, 100, 600_000);
  const ackWaitMs = intFlag(flags, 'ack-wait-ms', ACK_WAIT_MS_DEFAULT, 0, 600_000);
  const p = new Gateway({
    rpcUrl: flags.rpc,
    key,
    port,
    host: flags.host,
    log,
    ...u,
    upstreamTimeoutMs,
    ackWaitMs,
  });
  const { url } = await p.start();
  log(`provider ${formatAddress(addressOf(fromHex(key.publicKey)))} listening on ${url}`);
  return new Promise<number>((resolve) => {
    const stop = () => void p.close().then(() => resolve(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
