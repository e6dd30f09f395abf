/**
 * Small timing helpers shared by the benchmarks. Wall-clock time is fine here: benchmarks
 * measure, tests never assert on time.
 */
export function opsPerSecond(fn: () => void, minMs = 1000): number {
  for (let i = 0; i < 100; i++) fn(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  const minNs = BigInt(minMs) * 1_000_000n;
  while (elapsedNs < minNs) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    elapsedNs = process.hrtime.bigint() - start;
  }
  return Math.round((ops * 1e9) / Number(elapsedNs));
}

/** p-th percentile (0..100) of a list of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
