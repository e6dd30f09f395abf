import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../state/digest.js';
import { verifyProof } from '../state/proof.js';
import { StateDb } from '../state/stateDb.js';
import { percentile, round } from './_measure.js';

/**
 * `npm run bench -- state [--keys N] [--blocks B] [--kept K]`: a child process loads N keys
 * (default 1,000,000) in commits of 10,000 (its peak RSS is reported as `loadPeakRssMiB`); then
 * this process opens the database as a restarted node would (`warmUp`), and measures committed
 * updates per second in blocks of 5,000 random updates of existing keys (each block planned with
 * `root()`, then committed), latest reads, proof generation and verification (pure-JS @noble
 * sha256 as a browser would, and node:crypto), database size and its own peak RSS. Pruning is on
 * (K = 10 versions kept by default; 0 = off), as on a node, so each block also deletes the nodes
 * that fell out of the window.
 */
const BLOCK_UPDATES = 5_000;
const LOAD_COMMIT_KEYS = 10_000;
const VALUE_BYTES = 64;
/** Before the timed reads: how long compaction statistics must stay unchanged, and the most to wait. */
const READ_SETTLE_MS = 2_000;
const READ_SETTLE_MAX_MS = 20_000;
/** Timed latest reads: rounds of fresh random keys (the median round is the figure). */
const READ_ROUNDS = 5;
const READ_ROUND_KEYS = 40_000;
/** Timed verification rounds over the 5,000 proofs (the median round is the figure). */
const VERIFY_ROUNDS = 5;

export default async function stateBench(args: string[]): Promise<Record<string, unknown>> {
  const keys = intArg(args, '--keys', 1_000_000);
  const blocks = intArg(args, '--blocks', 20);
  const kept = intArg(args, '--kept', 10, true); // 0: keep every version (no pruning)
  let rng = 0x9e3779b9;
  const next = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return rng >>> 0;
  };
  const keyOf = (i: number) => {
    const k = Buffer.allocUnsafe(9);
    k.write('acct', 0, 'latin1');
    k.writeUInt32BE(i, 4);
    k[8] = 0x2f;
    return k;
  };
  const valueFor = (i: number, v: number) => {
    const b = Buffer.allocUnsafe(VALUE_BYTES).fill(0);
    b.writeUInt32BE(i, 0);
    b.writeUInt32BE(v, 4);
    return b;
  };
  const options = kept === 0 ? {} : { versionsKept: kept };
  const loadDir = valueArg(args, '--load-into');
  if (loadDir !== undefined) {
    // Child mode: only load, report, exit.
    const state = await StateDb.open(loadDir, options);
    const loadStart = process.hrtime.bigint();
    for (let start = 0; start < keys; start += LOAD_COMMIT_KEYS) {
      const o = state.overlay();
      for (let i = start; i < Math.min(keys, start + LOAD_COMMIT_KEYS); i++) o.set(keyOf(i), valueFor(i, 0));
      await o.commit(start / LOAD_COMMIT_KEYS);
      sampleMemory();
      if ((start / LOAD_COMMIT_KEYS) % 10 === 9)
        process.stderr.write(`loaded ${start + LOAD_COMMIT_KEYS} keys\n`);
    }
    await state.close();
    return {
      loadSeconds: round(seconds(loadStart), 1),
      loadPeakRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
      loadPeakRssAnonMiB: peakAnonMiB,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'ol-bench-state-'));
  try {
    const load = await loadInChild(dir, args);
    const openStart = process.hrtime.bigint();
    const state = await StateDb.open(dir, options);
    const warmNodes = await state.warmUp();
    const warmUpSeconds = seconds(openStart);
    let version = (state.latestVersion as number) + 1;
    sampleMemory();

    const updateBlock = async () => {
      const o = state.overlay();
      for (let j = 0; j < BLOCK_UPDATES; j++) {
        const i = next() % keys;
        o.set(keyOf(i), valueFor(i, version));
      }
      o.root();
      await o.commit(version++);
      sampleMemory();
    };
    // Warm-up blocks: one, plus enough that pruning deletes what update blocks made stale (as in
    // steady state), not the much larger stale lists of the bulk load.
    for (let b = 0; b <= kept; b++) await updateBlock();
    const loadAvgBefore = loadavg()[0];
    const updStart = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (let b = 0; b < blocks; b++) await updateBlock();
    const updSeconds = seconds(updStart);
    const cpu = process.cpuUsage(cpuStart);

    // Reads right after the last commit compete with the compaction LevelDB runs on what the
    // blocks wrote (the second core; four blocks a second is four times a node's block rate), and
    // are reported on their own. The main read figure is taken, on other keys, once compaction has
    // caught up: LevelDB's compaction statistics unchanged for READ_SETTLE_MS (at most
    // READ_SETTLE_MAX_MS), as between blocks on a node.
    const readsAt = (count: number) => {
      const ks = Array.from({ length: count }, () => keyOf(next() % keys));
      const start = process.hrtime.bigint();
      let found = 0;
      for (const k of ks) if (state.get(k) !== undefined) found++;
      return { keys: ks, found, perSec: count / seconds(start) };
    };
    const readsRightAfter = readsAt(20_000);
    const settleStart = Date.now();
    for (let stats = ''; Date.now() - settleStart < READ_SETTLE_MAX_MS; ) {
      const now = state.db.getProperty('leveldb.stats');
      if (now === stats) break;
      stats = now;
      await new Promise((r) => setTimeout(r, READ_SETTLE_MS));
    }
    const readSettleSeconds = (Date.now() - settleStart) / 1000;
    // Five rounds on fresh keys, median reported: one garbage-collector pause or a neighbour's
    // burst on a shared machine moves one round, not the figure.
    const readRounds = Array.from({ length: READ_ROUNDS }, () => readsAt(READ_ROUND_KEYS));
    const readKeys = readRounds.flatMap((r) => r.keys);
    const found = readRounds.reduce((n, r) => n + r.found, 0);
    const readRates = readRounds.map((r) => Math.round(r.perSec));
    const readsPerSec = percentile(readRates, 50);

    const proofStart = process.hrtime.bigint();
    let proofBytes = 0;
    for (let i = 0; i < 20_000; i++) proofBytes += state.prove(readKeys[i]).proof.length;
    const proofsPerSec = 20_000 / seconds(proofStart);
    const proofKeys = readKeys.slice(0, 5_000);
    const proofs = proofKeys.map((k) => state.prove(k));
    const root = state.latestRoot;
    // One untimed pass first, so the figure is the verifier's speed, not the JIT's warm-up; then
    // rounds over all the proofs, median reported (as for reads).
    const verifyWith = (hash?: (d: Uint8Array) => Uint8Array) => {
      for (let i = 0; i < proofs.length; i++)
        verifyProof(root, proofKeys[i], proofs[i].value, proofs[i].proof, hash);
      const rates: number[] = [];
      for (let round = 0; round < VERIFY_ROUNDS; round++) {
        const start = process.hrtime.bigint();
        let ok = 0;
        for (let i = 0; i < proofs.length; i++) {
          if (verifyProof(root, proofKeys[i], proofs[i].value, proofs[i].proof, hash)) ok++;
        }
        if (ok !== proofs.length) throw new Error(`only ${ok}/${proofs.length} proofs verified`);
        rates.push(proofs.length / seconds(start));
      }
      return percentile(rates, 50);
    };
    sampleMemory();
    const verifyNoblePerSec = verifyWith();
    const verifyNodePerSec = verifyWith(sha256);
    const proofBytesAvg = proofBytes / 20_000;
    await state.close();
    return {
      keys,
      blockUpdates: BLOCK_UPDATES,
      blocks,
      versionsKept: kept,
      ...load,
      warmUpSeconds: round(warmUpSeconds, 1),
      warmUpNodes: warmNodes,
      committedUpdatesPerSec: Math.round((blocks * BLOCK_UPDATES) / updSeconds),
      // CPU of the whole process (all threads, LevelDB's included) per block: a figure that holds
      // on a shared machine where wall-clock rates depend on what else runs.
      updateCpuMsPerBlock: Math.round((cpu.user + cpu.system) / 1000 / blocks),
      // 1-minute load average around the update phase: above the core count, rates are depressed.
      loadAverage: [round(loadAvgBefore, 1), round(loadavg()[0], 1)],
      latestReadsPerSec: Math.round(readsPerSec),
      latestReadsPerSecRounds: readRates,
      readsFound: found,
      latestReadsPerSecRightAfterWrites: Math.round(readsRightAfter.perSec),
      readSettleSeconds: round(readSettleSeconds, 1),
      proofsGeneratedPerSec: Math.round(proofsPerSec),
      proofsVerifiedPerSecNoble: Math.round(verifyNoblePerSec),
      proofsVerifiedPerSecNodeCrypto: Math.round(verifyNodePerSec),
      proofBytesAvg: Math.round(proofBytesAvg),
      dbSizeMiB: round(dirBytes(dir) / 2 ** 20, 1),
      peakRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
      // maxRSS also counts LevelDB's memory-mapped table files (page cache, reclaimable); the
      // process's own memory is the anonymous part, sampled after every commit (Linux only).
      peakRssAnonMiB: peakAnonMiB,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let peakAnonMiB: number | undefined;

/** Runs this benchmark in load mode in a child process and returns its figures. */
function loadInChild(dir: string, args: string[]): Promise<Record<string, unknown>> {
  const runner = join(dirname(fileURLToPath(import.meta.url)), 'run.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', runner, 'state', ...args, '--load-into', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load child exited with code ${code}`));
      const figures = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
      resolve({
        loadSeconds: figures.loadSeconds,
        loadPeakRssMiB: figures.loadPeakRssMiB,
        loadPeakRssAnonMiB: figures.loadPeakRssAnonMiB,
      });
    });
  });
}

function valueArg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

/** Samples the anonymous (heap, native) part of RSS from /proc, where it exists. */
function sampleMemory(): void {
  if (!existsSync('/proc/self/status')) return;
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (m) peakAnonMiB = Math.max(peakAnonMiB ?? 0, round(Number(m[1]) / 1024, 1));
}

function intArg(args: string[], name: string, fallback: number, zeroOk = false): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v < (zeroOk ? 0 : 1)) throw new Error(`${name} needs a positive integer`);
  return v;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}
