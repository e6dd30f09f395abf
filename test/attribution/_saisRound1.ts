// The round-1 SA-IS (attribution/suffixArray.ts before issue 14's speed work), kept verbatim as the
// reference the optimised build is compared with on large texts (test/attribution/suffixArray.test.ts).
import { assert } from '../../core/errors.js';

/**
 * Suffix array by SA-IS (Nong, Zhang & Chan, "Two Efficient Algorithms for Linear Time Suffix
 * Array Construction", IEEE TC 2011) and LCP by Kasai et al. (CPM 2001), over integer alphabets in
 * typed arrays. Consensus-relevant only through the answers it gives (a suffix array is unique),
 * so the build itself may be organised freely; queries built on it are deterministic.
 *
 * Input convention for `saisInPlace`: `text[n−1] = 0` is a unique sentinel and every other symbol
 * is in [1, alphabetSize). No recursion: the levels of reduced strings (each at most half the
 * previous, so ≤ log2(n) of them) are walked down and back up with an explicit list.
 * Working memory besides the output: n bytes of types, the bucket array, and the reduced problem
 * stored inside the output array (as in the paper), so a build needs ≈ 5n bytes + 8·alphabet.
 */

/** Suffix array of `seq` (non-negative integers), suffixes ordered with "a proper prefix sorts first". */
export function suffixArrayOf(seq: ArrayLike<number>): Int32Array {
  const n = seq.length;
  const text = new Int32Array(n + 1);
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = seq[i];
    assert(
      Number.isInteger(v) && v >= 0 && v < 2 ** 31 - 2,
      'suffixArrayOf: symbols must be small non-negative integers',
    );
    text[i] = v + 1;
    if (v + 1 > max) max = v + 1;
  }
  text[n] = 0;
  const sa = new Int32Array(n + 1);
  saisInPlace(text, sa, n + 1, max + 1);
  return sa.subarray(1);
}

/** Builds the suffix array of `text` (sentinel-terminated, see the module comment) into `sa`. */
export function saisInPlace(text: Int32Array, sa: Int32Array, n: number, alphabetSize: number): void {
  assert(n >= 1 && text[n - 1] === 0, 'sais: text must end with the unique sentinel 0');
  assert(sa.length >= n, 'sais: output too small');
  sais(text, sa, n, alphabetSize);
}

/** One level of SA-IS, kept between the descent (stage 1) and the ascent (stage 3). */
interface Level {
  T: Int32Array;
  SA: Int32Array;
  n: number;
  K: number;
  t: Uint8Array;
  counts: Int32Array;
  bkt: Int32Array;
  n1: number;
}

/**
 * SA-IS without recursion: descend while the reduced string has repeated names (stage 1 of each
 * level, saving the level), solve the innermost level directly, then ascend (stage 3 of each
 * saved level, innermost first). The reduced string and its suffix array live inside the
 * level's own SA array, as in the paper.
 */
function sais(T0: Int32Array, SA0: Int32Array, n0: number, K0: number): void {
  const levels: Level[] = [];
  let T = T0;
  let SA = SA0;
  let n = n0;
  let K = K0;
  for (;;) {
    if (n === 1) {
      SA[0] = 0;
      break;
    }
    const level = reduce(T, SA, n, K);
    const { n1, name } = level;
    const s1 = SA.subarray(n - n1, n);
    const sa1 = SA.subarray(0, n1);
    levels.push(level);
    if (name < n1) {
      T = s1;
      SA = sa1;
      n = n1;
      K = name;
      continue;
    }
    for (let i = 0; i < n1; i++) sa1[s1[i]] = i;
    break;
  }
  for (let l = levels.length - 1; l >= 0; l--) expand(levels[l]);
}

/** Stage 1: sort and name the LMS substrings; leaves the reduced string in SA[n − n1, n). */
function reduce(T: Int32Array, SA: Int32Array, n: number, K: number): Level & { name: number } {
  // Types: 1 = S, 0 = L. The sentinel is S.
  const t = new Uint8Array(n);
  t[n - 1] = 1;
  for (let i = n - 2; i >= 0; i--) {
    const a = T[i];
    const b = T[i + 1];
    t[i] = a < b || (a === b && t[i + 1] === 1) ? 1 : 0;
  }
  const counts = new Int32Array(K);
  for (let i = 0; i < n; i++) counts[T[i]]++;
  const bkt = new Int32Array(K);

  // Stage 1: sort LMS substrings by induction from LMS positions placed at bucket ends.
  SA.fill(-1, 0, n);
  bucketEnds(counts, bkt, K);
  for (let i = 1; i < n; i++) if (t[i] === 1 && t[i - 1] === 0) SA[--bkt[T[i]]] = i;
  induceL(T, SA, t, n, counts, bkt, K);
  induceS(T, SA, t, n, counts, bkt, K);

  // Compact the sorted LMS positions into SA[0, n1).
  let n1 = 0;
  for (let i = 0; i < n; i++) {
    const p = SA[i];
    if (p > 0 && t[p] === 1 && t[p - 1] === 0) SA[n1++] = p;
  }
  SA.fill(-1, n1, n);

  // Name the LMS substrings; equal substrings get equal names. Names go to SA[n1 + pos/2].
  let name = 0;
  let prev = -1;
  for (let i = 0; i < n1; i++) {
    const pos = SA[i];
    let diff = false;
    if (prev === -1) diff = true;
    else {
      for (let d = 0; d < n; d++) {
        const a = pos + d;
        const b = prev + d;
        if (T[a] !== T[b] || t[a] !== t[b]) {
          diff = true;
          break;
        }
        if (d > 0 && ((t[a] === 1 && t[a - 1] === 0) || (t[b] === 1 && t[b - 1] === 0))) break;
      }
    }
    if (diff) {
      name++;
      prev = pos;
    }
    SA[n1 + (pos >> 1)] = name - 1;
  }
  for (let i = n - 1, j = n - 1; i >= n1; i--) if (SA[i] >= 0) SA[j--] = SA[i];

  return { T, SA, n, K, t, counts, bkt, n1, name };
}

/** Stage 3: from the sorted reduced suffixes in SA[0, n1), induce the level's suffix array. */
function expand(level: Level): void {
  const { T, SA, n, K, t, counts, bkt, n1 } = level;
  const s1 = SA.subarray(n - n1, n);
  const sa1 = SA.subarray(0, n1);
  for (let i = 1, j = 0; i < n; i++) if (t[i] === 1 && t[i - 1] === 0) s1[j++] = i;
  for (let i = 0; i < n1; i++) sa1[i] = s1[sa1[i]];
  SA.fill(-1, n1, n);
  bucketEnds(counts, bkt, K);
  for (let i = n1 - 1; i >= 0; i--) {
    const j = SA[i];
    SA[i] = -1;
    SA[--bkt[T[j]]] = j;
  }
  induceL(T, SA, t, n, counts, bkt, K);
  induceS(T, SA, t, n, counts, bkt, K);
}

function bucketEnds(counts: Int32Array, bkt: Int32Array, K: number): void {
  let sum = 0;
  for (let c = 0; c < K; c++) {
    sum += counts[c];
    bkt[c] = sum;
  }
}

function bucketStarts(counts: Int32Array, bkt: Int32Array, K: number): void {
  let sum = 0;
  for (let c = 0; c < K; c++) {
    bkt[c] = sum;
    sum += counts[c];
  }
}

function induceL(
  T: Int32Array,
  SA: Int32Array,
  t: Uint8Array,
  n: number,
  counts: Int32Array,
  bkt: Int32Array,
  K: number,
): void {
  bucketStarts(counts, bkt, K);
  for (let i = 0; i < n; i++) {
    const j = SA[i] - 1;
    if (j >= 0 && t[j] === 0) SA[bkt[T[j]]++] = j;
  }
}

function induceS(
  T: Int32Array,
  SA: Int32Array,
  t: Uint8Array,
  n: number,
  counts: Int32Array,
  bkt: Int32Array,
  K: number,
): void {
  bucketEnds(counts, bkt, K);
  for (let i = n - 1; i >= 0; i--) {
    const j = SA[i] - 1;
    if (j >= 0 && t[j] === 1) SA[--bkt[T[j]]] = j;
  }
}
