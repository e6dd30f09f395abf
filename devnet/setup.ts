import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addressOf, formatAddress } from '../core/address.js';
import { parseOpen } from '../core/amount.js';
import { toHex } from '../core/bytes.js';
import { generateKeyPair, type KeyPair } from '../core/keys.js';
import { initHome, writeGenesisFile } from '../node/home.js';
import { parseGenesis } from '../vm/genesis.js';

/**
 * Generates a local network: N node homes (keys, config with 127.0.0.1 ports and every peer as a
 * bootstrap address), one genesis shared by all, and funded accounts for the faucet and the demo.
 * Plain data in, files out, so tests, the devnet command and chaos scenarios share it.
 */

export interface NodePorts {
  p2p: number;
  rpc: number;
  metrics: number;
  /** The explorer web app (devnets serve it; `explorer.listen` is off by default for a node). */
  explorer?: number;
}

export interface DevnetPlan {
  dir: string;
  chainId: string;
  validators: number;
  /** Non-validating nodes (follow and serve RPC). */
  followers?: number;
  ports: NodePorts[];
  blockTimeMs: number;
  /** Extra config keys for every node (e.g. timeouts), as in config.json. */
  nodeConfig?: Record<string, unknown>;
  /** Accounts to fund besides the faucet: name → OPEN amount. */
  accounts?: Record<string, string>;
  genesisParams?: Record<string, string>;
}

export interface DevnetNode {
  index: number;
  name: string;
  home: string;
  validator: boolean;
  address: string;
  peerId: string;
  ports: NodePorts;
  rpcUrl: string;
  metricsUrl: string;
  /** The explorer's URL, or null when this node does not serve it. */
  explorerUrl: string | null;
}

export interface DevnetLayout {
  dir: string;
  chainId: string;
  nodes: DevnetNode[];
  /** Funded account keys by name ("faucet" and the plan's accounts), hex seeds. */
  accounts: Record<string, { address: string; secretKey: string; publicKey: string }>;
}

export const LAYOUT_FILE = 'devnet.json';
export const VALIDATOR_STAKE_OPEN = '1000000';
export const FAUCET_OPEN = '1000000000';

function keyJson(kp: KeyPair) {
  return {
    address: formatAddress(addressOf(kp.publicKey)),
    secretKey: toHex(kp.secretKey),
    publicKey: toHex(kp.publicKey),
  };
}

export async function setupDevnet(plan: DevnetPlan): Promise<DevnetLayout> {
  const total = plan.validators + (plan.followers ?? 0);
  if (plan.ports.length < total) throw new Error('one set of ports per node');
  await mkdir(plan.dir, { recursive: true });
  const nodes: DevnetNode[] = [];
  const keys: KeyPair[] = [];
  for (let i = 0; i < total; i++) {
    const name = `node${i}`;
    const home = join(plan.dir, name);
    const ports = plan.ports[i];
    const r = await initHome(
      home,
      {
        ...(plan.nodeConfig ?? {}),
        moniker: name,
        p2p: { ...((plan.nodeConfig?.p2p as object) ?? {}), listen: `/ip4/127.0.0.1/tcp/${ports.p2p}` },
        rpc: { ...((plan.nodeConfig?.rpc as object) ?? {}), listen: `127.0.0.1:${ports.rpc}` },
        metrics: { listen: `127.0.0.1:${ports.metrics}` },
        ...(ports.explorer !== undefined ? { explorer: { listen: `127.0.0.1:${ports.explorer}` } } : {}),
        consensus: { ...((plan.nodeConfig?.consensus as object) ?? {}), blockTimeMs: plan.blockTimeMs },
      },
      true,
    );
    keys.push(r.validatorKey);
    nodes.push({
      index: i,
      name,
      home,
      validator: i < plan.validators,
      address: r.address,
      peerId: r.peerId,
      ports,
      rpcUrl: `http://127.0.0.1:${ports.rpc}/`,
      metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
      explorerUrl: ports.explorer !== undefined ? `http://127.0.0.1:${ports.explorer}/` : null,
    });
  }
  // Everyone bootstraps from everyone else: a full mesh on loopback.
  const bootstrap = nodes.map((n) => `/ip4/127.0.0.1/tcp/${n.ports.p2p}/p2p/${n.peerId}`);
  for (const n of nodes) {
    const path = join(n.home, 'config.json');
    const cfg = JSON.parse(await readFile(path, 'utf8'));
    cfg.p2p.bootstrap = bootstrap.filter((b) => !b.endsWith(n.peerId));
    await writeFile(path, `${JSON.stringify(cfg, null, 2)}\n`);
  }
  const accounts: DevnetLayout['accounts'] = {};
  const funded: { address: string; balance: string }[] = [];
  const fund = (name: string, open: string) => {
    const kp = generateKeyPair();
    accounts[name] = keyJson(kp);
    funded.push({ address: accounts[name].address, balance: parseOpen(open).toString() });
  };
  fund('faucet', FAUCET_OPEN);
  for (const [name, open] of Object.entries(plan.accounts ?? {})) fund(name, open);
  const genesis = {
    chainId: plan.chainId,
    genesisTimeMs: Date.now(),
    ...(plan.genesisParams ? { params: plan.genesisParams } : {}),
    accounts: funded,
    validators: nodes
      .filter((n) => n.validator)
      .map((n) => ({
        operator: n.address,
        consensusKey: `0x${toHex(keys[n.index].publicKey)}`,
        selfStake: parseOpen(VALIDATOR_STAKE_OPEN).toString(),
        commissionBps: 500,
        moniker: n.name,
      })),
  };
  parseGenesis(genesis);
  for (const n of nodes) await writeGenesisFile(join(n.home, 'genesis.json'), genesis);
  const layout: DevnetLayout = { dir: plan.dir, chainId: plan.chainId, nodes, accounts };
  await writeFile(join(plan.dir, LAYOUT_FILE), `${JSON.stringify(layout, null, 2)}\n`, { mode: 0o600 });
  return layout;
}
