import { OlError } from '../../core/errors.js';
import type { OpenLedgerClient, Wallet } from '../../rpc/client.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC results
type J = Record<string, any>;

/** Bonds up to the chain's providerBondMin (receipts need it); used by the provider and the gateway. */
export async function ensureProviderBond(
  client: OpenLedgerClient,
  wallet: Wallet,
  address: string,
  log?: (line: string) => void,
): Promise<void> {
  const min = BigInt((await client.params()).providerBondMin as string);
  let bond = 0n;
  try {
    bond = BigInt((await client.provider(address)).bond as string);
  } catch {
    bond = 0n; // not registered yet
  }
  if (bond >= min && bond > 0n) return;
  const amount = (min > bond ? min - bond : 0n) || 1n;
  const r = (await wallet.send('provider.bond', { amount }, { mode: 'commit' })) as J;
  if (r.result?.code !== 'ok')
    throw new OlError('BOND_FAILED', `provider.bond of ${amount} failed: ${r.result?.code}`);
  log?.(`bonded ${amount} as provider ${address}`);
}
