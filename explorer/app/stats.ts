// biome-ignore lint/suspicious/noExplicitAny: block summaries from ol_listBlocks
type J = Record<string, any>;

/** Blocks the network page charts and counts proposers / missed signatures over. */
export const NETWORK_WINDOW_BLOCKS = 100;

export interface NetworkStats {
  x: number[];
  blockTimeS: (number | null)[];
  txPerSec: (number | null)[];
  proposed: Map<string, number>;
  missed: Map<string, number>;
  /** Blocks whose last commit was inspected (missed counts are out of this many). */
  commits: number;
}

/** Charts and counts from a window of block summaries (newest first, as `ol_listBlocks` gives). */
export function networkStats(blocks: J[], validators: string[]): NetworkStats {
  const asc = [...blocks].sort((a, b) => a.height - b.height);
  const x: number[] = [];
  const blockTimeS: (number | null)[] = [];
  const txPerSec: (number | null)[] = [];
  for (let i = 1; i < asc.length; i++) {
    const dt = (asc[i].timeMs - asc[i - 1].timeMs) / 1000;
    x.push(asc[i].height);
    blockTimeS.push(dt > 0 ? dt : null);
    txPerSec.push(dt > 0 ? asc[i].txCount / dt : null);
  }
  const proposed = new Map<string, number>();
  const missed = new Map<string, number>();
  let commits = 0;
  for (const b of asc) {
    proposed.set(b.proposer, (proposed.get(b.proposer) ?? 0) + 1);
    if (b.height < 2 || !Array.isArray(b.signers)) continue;
    commits++;
    const signed = new Set<string>(b.signers);
    for (const v of validators) if (!signed.has(v)) missed.set(v, (missed.get(v) ?? 0) + 1);
  }
  return { x, blockTimeS, txPerSec, proposed, missed, commits };
}

/** Earnings history pages (100 index entries each) the chart reads: at 5 pages the page took 455 ms (p50) with 5,000 payouts (bench/explorer.ts), so 2. */
export const EARNINGS_CHART_PAGES = 2;
