import { predictLabel } from '../../attribution/jobs.js';
import { DEFAULT_TOKENIZER } from '../../attribution/tokenizer.js';
import { fromHex } from '../../core/bytes.js';
import type { OpenLedgerClient } from '../../rpc/client.js';
import { NgramModel } from './ngram.js';
import { type J, ProviderError } from './shared.js';

/**
 * The chain's built-in models as the reference model server (modelServer.ts) runs them:
 * - span models: a word n-gram generator trained from the accepted contributions of the model's
 *   pinned datanet versions (read over JSON-RPC), so answers quote the data that paid for them;
 * - influence models: the chain's own classifier, `predictLabel` (the exact function validators
 *   re-run, so the receipt's output always matches their prediction).
 */

export interface ServedModel {
  id: string;
  version: number;
  name: string;
  method: string;
  tokenizer: string;
  pricePerRequest: bigint;
  pricePerOutputToken: bigint;
  answer: (prompt: string, words: number) => Promise<string>;
}

/** Accepted contributions of (datanet, version), with content. */
export async function corpusOf(client: OpenLedgerClient, datanet: string, version: number) {
  const out: { id: Uint8Array; idHex: string; content: string; label: string }[] = [];
  let cursor: string | undefined;
  for (;;) {
    const r = await client.contributions({
      datanet,
      status: 'accepted',
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    for (const c of r.items as J[]) {
      if ((c.seq as number) > version) continue;
      const full = await client.contribution(c.id, true);
      out.push({
        id: fromHex(c.id),
        idHex: c.id,
        content: full.content as string,
        label: c.label as string,
      });
    }
    if (!r.next) break;
    cursor = r.next;
  }
  return out;
}

/** Builds the built-in model (n-gram generator or chain classifier) for a model version read over RPC. */
export async function loadBuiltinModel(client: OpenLedgerClient, m: J, v: J): Promise<ServedModel> {
  const params = new Map<string, string>((v.params as J[]).map((p) => [p.key, p.value]));
  const training = (v.training as J[] | null) ?? [];
  const tokenizerName =
    v.method === 'influence'
      ? (training.find((p) => p.key === 'tokenizer')?.value ?? DEFAULT_TOKENIZER)
      : (params.get('tokenizer') ?? DEFAULT_TOKENIZER);
  const pinned = v.datanets as { datanet: string; version: number }[];
  const corpora = await Promise.all(pinned.map((p) => corpusOf(client, p.datanet, p.version)));
  const base = {
    id: m.id as string,
    version: v.version as number,
    name: m.name as string,
    method: v.method as string,
    tokenizer: tokenizerName,
    pricePerRequest: BigInt(v.pricePerRequest),
    pricePerOutputToken: BigInt(v.pricePerOutputToken),
  };
  if (v.method === 'span') {
    const ngram = new NgramModel(corpora.flat().map((c) => ({ id: c.idHex, content: c.content })));
    return { ...base, answer: async (prompt, words) => ngram.generate(prompt, words) };
  }
  if (v.method === 'influence') {
    const trainingParams = training.map((p) => ({ key: p.key as string, value: p.value as string }));
    const inputs = pinned.map((p, i) => ({
      datanet: fromHex(p.datanet),
      version: p.version,
      contributions: corpora[i].map((c) => ({ id: c.id, content: c.content, label: c.label })),
    }));
    return {
      ...base,
      answer: async (prompt) => (await predictLabel(trainingParams, inputs, prompt)).label,
    };
  }
  throw new ProviderError('METHOD_UNSUPPORTED', `method ${v.method} is not served by this provider`);
}
