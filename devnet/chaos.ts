import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_ENV, ADMIN_FILE } from '../node/adminControl.js';
import { loadConfig } from '../node/config.js';
import { OpenLedgerClient } from '../rpc/client.js';
import {
  type CheckReport,
  checkEquivocators,
  checkLivenessAfterGst,
  checkNetwork,
  type EquivocatorReport,
  type GstReport,
  type GstTimeouts,
  type Violation,
} from './checker.js';
import { LoadGenerator, type LoadReport } from './load.js';
import { LocalNetwork } from './network.js';
import type { Perturbation, Scenario } from './scenario.js';

/**
 * Runs a chaos scenario against real node processes on 127.0.0.1: starts the network with the
 * admin control enabled, drives the load, applies the perturbations on their timeline (partitions
 * through each node's `admin.json`, read by node/adminControl.ts and applied with the libp2p
 * connection gater), then brings every node back, waits for them to converge, and checks the
 * result from outside over JSON-RPC (checker.ts). Progress after each heal, restart and resume is
 * checked while the scenario runs.
 */

export const PROGRESS_BLOCKS = 2;
export const PROGRESS_TIMEOUT_MS = 60_000;
export const CONVERGE_TIMEOUT_MS = 120_000;
/** How often each honest node's tip is polled after GST (the resolution of the measured delay). */
export const GST_POLL_MS = 50;
/** How long the first commit after GST is waited for before it counts as missing. */
export const GST_WATCH_MS = 60_000;

/** Liveness after GST as the runner measured it (see checkLivenessAfterGst). */
export type GstFigures = GstReport & {
  /** The perturbation whose end is GST: the last one, or the final restore when it left a fault on. */
  lastFault: { action: string; atSec: number | null; appliedAt: string };
  /** Why GST is that instant (a restarted process counts as back once it answers ol_status). */
  gstNote: string;
};

export interface ChaosReport {
  scenario: string;
  ok: boolean;
  startedAt: string;
  wallSec: number;
  load: LoadReport;
  timeline: { atSec: number; action: string; nodes: number[]; groups: number[][]; height: number | null }[];
  progress: { after: string; fromHeight: number; reached: boolean; seconds: number }[];
  check: CheckReport;
  /** The scenario's byzantine validators: evidence committed against each, and whether it left the set. */
  byzantine: (EquivocatorReport & { node: number; strategy: string })[];
  /** Peak resident memory (VmHWM, MiB) of each node process at the end, null where unreadable. */
  maxRssMiB: Record<string, number | null>;
  /** Null when the scenario has no perturbation (byzantine validators are not a fault that ends). */
  livenessAfterGst: GstFigures | null;
  violations: Violation[];
}

type NodeState = 'up' | 'down' | 'paused';

export async function runScenario(
  s: Scenario,
  o: { dir?: string; log?: (line: string) => void } = {},
): Promise<ChaosReport> {
  const log = o.log ?? (() => {});
  const startedAt = new Date();
  const env: Record<number, Record<string, string>> = {};
  for (let i = 0; i < s.validators; i++) env[i] = { [ADMIN_ENV]: '1' };
  // Byzantine validators run the node's test-only fault of their strategy's name.
  for (const b of s.byzantine) env[b.node].OPENLEDGER_TEST_FAULTS = b.strategy;
  const net = await LocalNetwork.create({
    validators: s.validators,
    blockTimeMs: s.blockTimeMs,
    chainId: `chaos-${s.name}`.slice(0, 40),
    dir: o.dir,
    env,
    genesisParams: Object.keys(s.genesisParams).length > 0 ? s.genesisParams : undefined,
    nodeConfig: { attribution: { workers: 1 } },
  });
  const state: NodeState[] = net.procs.map(() => 'up');
  const honest = net.layout.nodes.map((_, i) => i).filter((i) => !s.byzantine.some((b) => b.node === i));
  const cfg = await loadConfig(join(net.layout.nodes[honest[0]].home, 'config.json'));
  const c = cfg.consensus;
  const timeouts: GstTimeouts = {
    proposeMs: c.timeoutProposeMs,
    prevoteMs: c.timeoutPrevoteMs,
    precommitMs: c.timeoutPrecommitMs,
    proposeDeltaMs: c.timeoutDeltaMs,
    prevoteDeltaMs: c.timeoutDeltaMs,
    precommitDeltaMs: c.timeoutDeltaMs,
  };
  let partitioned = false;
  let gstWatch: Promise<{ figures: GstFigures; violations: Violation[] }> | null = null;
  const violations: Violation[] = [];
  const timeline: ChaosReport['timeline'] = [];
  const progress: ChaosReport['progress'] = [];
  const watchers: Promise<void>[] = [];
  let load: LoadGenerator | null = null;
  try {
    net.start();
    await net.waitForHeight(1, undefined, 120_000);
    log(`network up: ${s.validators} validators, dir ${net.layout.dir}`);
    load = new LoadGenerator(net.clients, net.chainId, { ...s.load, seed: s.seed }, (i) => state[i] === 'up');
    await load.prepare(net.wallet('faucet', 0));
    log(`load prepared: ${s.load.accounts} accounts, ${s.load.rate} tx/s`);
    load.start();
    const t0 = Date.now();
    // Short timeouts: a paused node must not hold up the timeline.
    const probes = net.layout.nodes.map((n) => new OpenLedgerClient(n.rpcUrl, 2_000));
    const heights = () =>
      Promise.all(
        probes.map((c) =>
          c.status().then(
            (st) => st.height as number,
            () => null,
          ),
        ),
      );
    const maxHeight = async () => Math.max(0, ...((await heights()).filter((h) => h !== null) as number[]));

    const watchGst = (lastFault: GstFigures['lastFault'], restarted: number[]) =>
      watchAfterGst(probes, net.layout.nodes, honest, restarted, timeouts, lastFault);
    for (const [pi, p] of s.perturbations.entries()) {
      const wait = t0 + p.atSec * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      const height = await maxHeight().catch(() => null);
      timeline.push({ atSec: p.atSec, action: p.action, nodes: p.nodes, groups: p.groups, height });
      log(`t=${p.atSec}s ${describe(p)} (height ${height})`);
      const appliedAt = new Date().toISOString();
      await apply(net, state, p);
      if (p.action === 'partition') partitioned = true;
      if (p.action === 'heal') partitioned = false;
      if (pi === s.perturbations.length - 1 && !partitioned && state.every((x) => x === 'up'))
        gstWatch = watchGst(
          { action: describe(p), atSec: p.atSec, appliedAt },
          p.action === 'restart' ? p.nodes : [],
        );
      if (p.action === 'heal' || p.action === 'restart' || p.action === 'resume') {
        const from = height ?? 0;
        const label = `${describe(p)}@${p.atSec}s`;
        watchers.push(
          (async () => {
            const started = Date.now();
            let reached = false;
            while (Date.now() - started < PROGRESS_TIMEOUT_MS) {
              const hs = await heights();
              const upHs = hs.filter((h, i) => state[i] === 'up' && h !== null) as number[];
              if (upHs.length > 0 && Math.min(...upHs) >= from + PROGRESS_BLOCKS) {
                reached = true;
                break;
              }
              await sleep(250);
            }
            const seconds = (Date.now() - started) / 1000;
            progress.push({ after: label, fromHeight: from, reached, seconds });
            if (!reached)
              violations.push({
                check: 'progress',
                detail: `after ${label}: running nodes did not pass height ${from + PROGRESS_BLOCKS} within ${PROGRESS_TIMEOUT_MS / 1000} s`,
              });
          })(),
        );
      }
    }
    const left = t0 + s.durationSec * 1000 - Date.now();
    if (left > 0) await sleep(left);
    log('duration reached: stopping load');
    await load.stop(15_000);
    // Bring everything back so every node can be checked.
    const wasDown = state.flatMap((x, i) => (x === 'down' ? [i] : []));
    const faultLeft = partitioned || state.some((x) => x !== 'up');
    const restoredAt = new Date().toISOString();
    await restoreAll(net, state);
    if (s.perturbations.length > 0 && faultLeft)
      gstWatch = watchGst({ action: 'restore every node', atSec: null, appliedAt: restoredAt }, wasDown);
    const gst = gstWatch === null ? null : await gstWatch;
    if (gst !== null) {
      const g = gst.figures;
      const delays = Object.entries(g.nodes).map(([k, v]) => `${k} ${v.delayMs ?? 'none'}`);
      log(
        `liveness after GST (${g.lastFault.action}): first commits ${delays.join(', ')} ms; bound ${g.boundMs} ms ` +
          `(${g.boundBasis}, round ${g.roundAtGst}) ${g.ok ? 'met' : 'MISSED'}`,
      );
    }
    await Promise.all(watchers);
    const target = (await maxHeight()) + PROGRESS_BLOCKS;
    log(`waiting for every node to reach height ${target}`);
    try {
      await net.waitForHeight(target, undefined, CONVERGE_TIMEOUT_MS);
    } catch (e) {
      violations.push({ check: 'progress', detail: `after restoring every node: ${(e as Error).message}` });
    }
    await sleep(s.settleSec * 1000);
    log('checking');
    const check = await checkNetwork({
      clients: net.clients,
      names: net.layout.nodes.map((n) => n.name),
      acknowledged: load.acknowledgedCommitted(),
      addresses: [
        ...Object.values(net.layout.accounts).map((a) => a.address),
        ...net.layout.nodes.map((n) => n.address),
        ...load.addresses(),
      ],
    });
    const honestRef = net.clients.findIndex((_, i) => !s.byzantine.some((b) => b.node === i));
    const equivocators = await checkEquivocators(
      net.clients[honestRef],
      s.byzantine.map((b) => net.layout.nodes[b.node].address),
      check.checkedUpTo,
    );
    const byzantine = s.byzantine.map((b, i) => ({
      node: b.node,
      strategy: b.strategy,
      ...equivocators.reports[i],
    }));
    const maxRssMiB: Record<string, number | null> = {};
    for (const [i, n] of net.layout.nodes.entries()) maxRssMiB[n.name] = await peakRssMiB(net.procs[i].pid);
    const all = [...violations, ...check.violations, ...equivocators.violations, ...(gst?.violations ?? [])];
    return {
      scenario: s.name,
      ok: all.length === 0,
      startedAt: startedAt.toISOString(),
      wallSec: (Date.now() - startedAt.getTime()) / 1000,
      load: load.report(),
      timeline,
      progress,
      check,
      byzantine,
      maxRssMiB,
      livenessAfterGst: gst?.figures ?? null,
      violations: all,
    };
  } finally {
    if (load) await load.stop(0).catch(() => {});
    await net.close();
  }
}

/**
 * From the end of the last fault: waits until every restarted process answers ol_status (a process
 * still starting is still down; that instant is GST), reads each honest node's tip and round, then
 * polls each every GST_POLL_MS until its tip passes that height (by consensus or by syncing a
 * certified block), for at most GST_WATCH_MS. A commit is timed when the poll that shows it returns,
 * so each delay is an upper bound, late by at most one poll plus one RPC round trip.
 */
async function watchAfterGst(
  probes: OpenLedgerClient[],
  nodes: readonly { name: string }[],
  honest: number[],
  restarted: number[],
  timeouts: GstTimeouts,
  lastFault: GstFigures['lastFault'],
): Promise<{ figures: GstFigures; violations: Violation[] }> {
  const upBy = Date.now() + GST_WATCH_MS;
  for (const i of restarted)
    while (
      Date.now() < upBy &&
      !(await probes[i].status().then(
        () => true,
        () => false,
      ))
    )
      await sleep(GST_POLL_MS);
  const gstMs = Date.now();
  const rounds: number[] = [];
  const firstCommitMs: Record<string, number | null> = {};
  await Promise.all(
    honest.map(async (i) => {
      let from: number | null = null;
      firstCommitMs[nodes[i].name] = null;
      while (Date.now() - gstMs < GST_WATCH_MS) {
        const st = await probes[i].status().catch(() => null);
        const at = Date.now();
        if (st !== null) {
          const h = st.height as number;
          if (from === null) {
            from = h;
            const r = (st.consensus as { round?: unknown }).round;
            if (typeof r === 'number' && Number.isInteger(r)) rounds.push(r);
          } else if (h > from) {
            firstCommitMs[nodes[i].name] = at;
            return;
          }
        }
        await sleep(GST_POLL_MS);
      }
    }),
  );
  const { report, violations } = checkLivenessAfterGst({
    gstMs,
    timeouts,
    roundAtGst: Math.max(0, ...rounds),
    watchedMs: GST_WATCH_MS,
    firstCommitMs,
  });
  const note =
    restarted.length > 0
      ? `GST = when the restarted ${restarted.map((n) => `node${n}`).join(',')} first answered ol_status after ${lastFault.action}`
      : `GST = when ${lastFault.action} was applied`;
  return { figures: { ...report, lastFault, gstNote: note }, violations };
}

function describe(p: Perturbation): string {
  if (p.action === 'partition') return `partition ${p.groups.map((g) => `[${g.join(',')}]`).join(' | ')}`;
  if (p.action === 'heal') return 'heal';
  return `${p.action} ${p.nodes.map((n) => `node${n}`).join(',')}`;
}

async function writeBlocked(net: LocalNetwork, node: number, peers: string[]): Promise<void> {
  const path = join(net.layout.nodes[node].home, ADMIN_FILE);
  await writeFile(`${path}.tmp`, JSON.stringify({ blockedPeers: peers }));
  const { rename } = await import('node:fs/promises');
  await rename(`${path}.tmp`, path);
}

async function apply(net: LocalNetwork, state: NodeState[], p: Perturbation): Promise<void> {
  switch (p.action) {
    case 'kill':
      await Promise.all(p.nodes.map((n) => net.procs[n].kill9()));
      for (const n of p.nodes) state[n] = 'down';
      return;
    case 'stop':
      await Promise.all(p.nodes.map((n) => net.procs[n].stop()));
      for (const n of p.nodes) state[n] = 'down';
      return;
    case 'restart':
      net.start(p.nodes);
      for (const n of p.nodes) state[n] = 'up';
      return;
    case 'pause':
      for (const n of p.nodes) net.procs[n].signal('SIGSTOP');
      for (const n of p.nodes) state[n] = 'paused';
      return;
    case 'resume':
      for (const n of p.nodes) net.procs[n].signal('SIGCONT');
      for (const n of p.nodes) state[n] = 'up';
      return;
    case 'partition': {
      const groupOf = new Map<number, number>();
      p.groups.forEach((g, gi) => {
        for (const n of g) groupOf.set(n, gi);
      });
      await Promise.all(
        net.layout.nodes.map((node, i) => {
          const gi = groupOf.get(i);
          const blocked =
            gi === undefined
              ? []
              : net.layout.nodes
                  .filter((_, j) => groupOf.has(j) && groupOf.get(j) !== gi)
                  .map((x) => x.peerId);
          return writeBlocked(net, node.index, blocked);
        }),
      );
      return;
    }
    case 'heal':
      await Promise.all(net.layout.nodes.map((n) => writeBlocked(net, n.index, [])));
      return;
  }
}

async function restoreAll(net: LocalNetwork, state: NodeState[]): Promise<void> {
  await Promise.all(net.layout.nodes.map((n) => writeBlocked(net, n.index, [])));
  for (const [i, s] of state.entries()) {
    if (s === 'paused') net.procs[i].signal('SIGCONT');
    if (s === 'down') net.start([i]);
    state[i] = 'up';
  }
}

/** VmHWM of a live process from /proc (Linux), in MiB; null elsewhere or once it exited. */
async function peakRssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m === null ? null : Math.round(Number(m[1]) / 1024);
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
