import { assert } from '../core/errors.js';

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

/** A level's text: the caller's (any integer typed array; bytes stay bytes), then reduced strings. */
export type SaText = Int32Array | Uint16Array | Uint8Array;

/**
 * Order-preserving renaming of the symbols `text[0, n)` (in [0, alphabetSize)) to the symbols
 * that occur, stored in the narrowest array that holds them (Uint8 up to 256 distinct symbols,
 * Uint16 up to 65,536, else the text itself). rank(a) < rank(b) ⇔ a < b, so the suffix array of
 * the result is the suffix array of `text`; the sentinel 0 stays 0. A narrower text makes the
 * random reads of SA-IS's induced sorting hit the cache more often (a 10M-token corpus rarely uses
 * more than ~50,000 distinct tokens: 20 MB instead of 40 MB). O(n + alphabetSize).
 */
export function compactAlphabet(
  text: Int32Array,
  n: number,
  alphabetSize: number,
): { text: SaText; alphabetSize: number } {
  const rank = new Int32Array(alphabetSize);
  for (let i = 0; i < n; i++) rank[text[i]] = 1;
  let k = 0;
  for (let c = 0; c < alphabetSize; c++) if (rank[c] !== 0) rank[c] = k++;
  if (k > 65536) return { text, alphabetSize };
  const out = k <= 256 ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = rank[text[i]];
  return { text: out, alphabetSize: k };
}

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
export function saisInPlace(text: SaText, sa: Int32Array, n: number, alphabetSize: number): void {
  assert(n >= 1 && text[n - 1] === 0, 'sais: text must end with the unique sentinel 0');
  assert(sa.length >= n, 'sais: output too small');
  sais(text, sa, n, alphabetSize);
}

/** One level of SA-IS, kept between the descent (stage 1) and the ascent (stage 3). */

interface Level {
  T: SaText;
  SA: Int32Array;
  n: number;
  K: number;
  counts: Int32Array;
  bkt: Int32Array;
  n1: number;
}

/*
 * Implementation notes (why it is shaped like this; the answers are those of any correct SA-IS,
 * a suffix array being unique, and test/attribution/suffixArray.test.ts compares this code with
 * the straightforward round-1 implementation on large texts).
 *
 * - No type array. Suffix types are recomputed where needed by a right-to-left scan, and the
 *   induced-sorting passes carry the one bit they need in the sign of each SA entry: an entry
 *   `x ≥ 0` is "active" (its predecessor x − 1 is induced by the current pass), `~x` is not. Whether
 *   the predecessor of a suffix j is L or S is decided when j is placed, from T[j − 1] and T[j]
 *   (adjacent reads): in the L pass j is L, so j − 1 is L iff T[j−1] ≥ T[j]; in the S pass j is S,
 *   so j − 1 is S iff T[j−1] ≤ T[j] (Nong, Zhang & Chan's type rule). That saves a random read of
 *   a type array per induced suffix and n bytes per level.
 * - The bucket pointer of the last symbol is kept in a local (consecutive induced suffixes often
 *   share their first symbol), so most steps do not touch the bucket array.
 * - LMS substrings are named by (length, symbols): equal length and equal symbols imply equal
 *   types (the types of a substring are fixed by its symbols and its last type, S for an LMS end),
 *   so the comparison is a plain run over T. Lengths are stored where the names go.
 * - Empty SA slots are 0: suffix 0 has no predecessor, so a 0 never induces anything.
 */

/**
 * SA-IS without recursion: descend while the reduced string has repeated names (stage 1 of each
 * level, saving the level), solve the innermost level directly, then ascend (stage 3 of each
 * saved level, innermost first). The reduced string and its suffix array live inside the
 * level's own SA array, as in the paper.
 */
function sais(T0: SaText, SA0: Int32Array, n0: number, K0: number): void {
  const levels: Level[] = [];
  let T: SaText = T0;
  let SA = SA0;
  let n = n0;
  let K = K0;
  for (;;) {
    if (n === 1) {
      SA[0] = 0;
      break;
    }
    if (n === 2) {
      // T = [c, 0]: the sentinel sorts first.
      SA[0] = 1;
      SA[1] = 0;
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
function reduce(T: SaText, SA: Int32Array, n: number, K: number): Level & { name: number } {
  const counts = new Int32Array(K);
  for (let i = 0; i < n; i++) counts[T[i]]++;
  const bkt = new Int32Array(K);

  // LMS positions at their bucket ends (any order inside a bucket), found right to left.
  SA.fill(0, 0, n);
  bucketEnds(counts, bkt, K);
  {
    let nextS = true; // the sentinel T[n−1] is S
    let next: number = T[n - 1];
    for (let i = n - 2; i >= 0; i--) {
      const c: number = T[i];
      const s: boolean = c < next || (c === next && nextS);
      if (!s && nextS) SA[--bkt[next]] = i + 1;
      nextS = s;
      next = c;
    }
  }

  // L pass: the LMS entries (active: their predecessors are L) induce the L suffixes. An entry is
  // cleared once used; entries whose predecessor is S are flipped active for the S pass.
  bucketStarts(counts, bkt, K);
  {
    let cur = -1;
    let b = 0;
    for (let i = 0; i < n; i++) {
      const x = SA[i];
      if (x > 0) {
        const j = x - 1;
        const c = T[j];
        if (c !== cur) {
          if (cur >= 0) bkt[cur] = b;
          cur = c;
          b = bkt[c];
        }
        SA[b++] = j > 0 && T[j - 1] >= c ? j : ~j;
        SA[i] = 0;
      } else if (x < 0) SA[i] = ~x;
    }
  }
  // S pass: active entries (predecessor S) induce the S suffixes; an induced LMS suffix is kept
  // as ~j (it induces nothing here), everything else is cleared once used.
  bucketEnds(counts, bkt, K);
  {
    let cur = -1;
    let b = 0;
    for (let i = n - 1; i >= 0; i--) {
      const x = SA[i];
      if (x > 0) {
        const j = x - 1;
        const c = T[j];
        if (c !== cur) {
          if (cur >= 0) bkt[cur] = b;
          cur = c;
          b = bkt[c];
        }
        SA[--b] = j === 0 ? 0 : T[j - 1] <= c ? j : ~j;
        SA[i] = 0;
      }
    }
  }

  // Compact the sorted LMS positions into SA[0, n1): the sentinel (bucket 0, never induced), then
  // the kept ~j entries in SA order.
  let n1 = 1;
  SA[0] = n - 1;
  for (let i = 1; i < n; i++) {
    const x = SA[i];
    if (x < 0) {
      SA[i] = 0;
      SA[n1++] = ~x;
    }
  }
  SA.fill(0, n1, n);

  // Length of each LMS substring (from one LMS position to the next, both included; the
  // sentinel's is 1), stored at SA[n1 + pos/2] (LMS positions are ≥ 2 apart).
  {
    let nextLms = n - 1;
    let nextS = true;
    let next: number = T[n - 1];
    for (let i = n - 2; i >= 0; i--) {
      const c: number = T[i];
      const s: boolean = c < next || (c === next && nextS);
      if (!s && nextS) {
        SA[n1 + ((i + 1) >> 1)] = nextLms - i;
        nextLms = i + 1;
      }
      nextS = s;
      next = c;
    }
  }

  // Name the LMS substrings in sorted order; equal substrings get equal names. Names (1-based)
  // replace the lengths at SA[n1 + pos/2].
  let name = 0;
  let prev = -1;
  let prevLen = 0;
  for (let i = 0; i < n1; i++) {
    const pos = SA[i];
    const len = SA[n1 + (pos >> 1)];
    let diff = len !== prevLen;
    if (!diff) {
      for (let d = 0; d < len; d++) {
        if (T[pos + d] !== T[prev + d]) {
          diff = true;
          break;
        }
      }
    }
    if (diff) {
      name++;
      prev = pos;
      prevLen = len;
    }
    SA[n1 + (pos >> 1)] = name;
  }
  for (let i = n - 1, j = n - 1; i >= n1; i--) {
    const v = SA[i];
    if (v > 0) SA[j--] = v - 1;
  }

  return { T, SA, n, K, counts, bkt, n1, name };
}

/** Stage 3: from the sorted reduced suffixes in SA[0, n1), induce the level's suffix array. */
function expand(level: Level): void {
  const { T, SA, n, K, counts, bkt, n1 } = level;
  const s1 = SA.subarray(n - n1, n);
  const sa1 = SA.subarray(0, n1);
  // LMS positions in text order into s1, found right to left (the sentinel first).
  {
    let j = n1 - 1;
    let nextS = true;
    let next: number = T[n - 1];
    for (let i = n - 2; i >= 0; i--) {
      const c: number = T[i];
      const s: boolean = c < next || (c === next && nextS);
      if (!s && nextS) s1[j--] = i + 1;
      nextS = s;
      next = c;
    }
  }
  for (let i = 0; i < n1; i++) sa1[i] = s1[sa1[i]];
  SA.fill(0, n1, n);
  bucketEnds(counts, bkt, K);
  for (let i = n1 - 1; i >= 0; i--) {
    const j = SA[i];
    SA[i] = 0;
    SA[--bkt[T[j]]] = j;
  }
  // L pass: active entries (x ≥ 1, predecessor L) induce; used entries become ~x, inactive ones
  // (predecessor S) are flipped active for the S pass.
  bucketStarts(counts, bkt, K);
  {
    let cur = -1;
    let b = 0;
    for (let i = 0; i < n; i++) {
      const x = SA[i];
      if (x > 0) {
        const j = x - 1;
        const c = T[j];
        if (c !== cur) {
          if (cur >= 0) bkt[cur] = b;
          cur = c;
          b = bkt[c];
        }
        SA[b++] = j > 0 && T[j - 1] >= c ? j : ~j;
        SA[i] = ~x;
      } else if (x < 0) SA[i] = ~x;
    }
  }
  // S pass: active entries induce the S suffixes (stale LMS entries are overwritten before the
  // scan reaches them); every entry ends non-negative.
  bucketEnds(counts, bkt, K);
  {
    let cur = -1;
    let b = 0;
    for (let i = n - 1; i >= 0; i--) {
      const x = SA[i];
      if (x > 0) {
        const j = x - 1;
        const c = T[j];
        if (c !== cur) {
          if (cur >= 0) bkt[cur] = b;
          cur = c;
          b = bkt[c];
        }
        SA[--b] = j > 0 && T[j - 1] <= c ? j : ~j;
      } else if (x < 0) SA[i] = ~x;
    }
  }
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

/** LCP values are stored clamped to this (queries never need longer: outputs are far shorter). */
export const LCP_STORED_MAX = 65535;

/**
 * LCP array: lcp[r] = length of the longest common prefix of the suffixes at sa[r−1] and sa[r]
 * (lcp[0] = 0), clamped to LCP_STORED_MAX. `text` must be sentinel-terminated so comparisons stop.
 *
 * By the Φ method (Kärkkäinen, Manzini & Puglisi, "Permuted Longest-Common-Prefix Array", CPM
 * 2009), the same values as Kasai et al. (CPM 2001) but with the text scanned in order: Φ[sa[r]] =
 * sa[r−1]; PLCP[i] = LCP of suffix i and suffix Φ[i], computed for i = 0, 1, … with the usual
 * "drops by at most one" argument; then lcp[r] = PLCP[sa[r]]. One Int32Array of n besides the
 * output, and mostly sequential memory access (Kasai's rank order jumps around the text).
 */
export function kasaiLcp(text: Int32Array, sa: Int32Array, n: number): Uint16Array {
  const phi = new Int32Array(n);
  phi[sa[0]] = -1;
  for (let r = 1; r < n; r++) phi[sa[r]] = sa[r - 1];
  let h = 0;
  for (let i = 0; i < n; i++) {
    const j = phi[i];
    if (j < 0) {
      phi[i] = 0;
      h = 0;
      continue;
    }
    while (i + h < n && j + h < n && text[i + h] === text[j + h]) h++;
    phi[i] = h; // PLCP[i], in place
    if (h > 0) h--;
  }
  const lcp = new Uint16Array(n);
  for (let r = 1; r < n; r++) {
    const v = phi[sa[r]];
    lcp[r] = Math.min(v, LCP_STORED_MAX);
  }
  return lcp;
}

/** LCP of `suffixArrayOf(seq)` for plain sequences (tests and small inputs). */
export function lcpOf(seq: ArrayLike<number>, sa: Int32Array): Uint16Array {
  const n = seq.length;
  const text = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) text[i] = seq[i] + 1;
  const full = new Int32Array(n + 1);
  full[0] = n;
  full.set(sa, 1);
  return kasaiLcp(text, full, n + 1).subarray(1);
}

/** Alphabets up to this size are suffix-sorted directly; larger (hashed word ids) are ranked first. */
export const DENSE_ALPHABET_MAX = 1 << 22;

/**
 * Order-preserving dense renaming of a text over a large alphabet (values in [0, 2^31)): returns
 * ranks in [0, K) with rank(a) < rank(b) ⇔ a < b, so the suffix array of the ranks is the suffix
 * array of the text. Two stable counting-sort passes on 16-bit digits (LSD radix), O(n + 2^16).
 */
export function denseRanks(text: Int32Array, n: number): { ranks: Int32Array; alphabetSize: number } {
  const DIGIT = 1 << 16;
  const count = new Int32Array(DIGIT + 1);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  for (let i = 0; i < n; i++) count[(text[i] & 0xffff) + 1]++;
  for (let d = 1; d <= DIGIT; d++) count[d] += count[d - 1];
  for (let i = 0; i < n; i++) a[count[text[i] & 0xffff]++] = i;
  count.fill(0);
  for (let i = 0; i < n; i++) count[(text[i] >>> 16) + 1]++;
  for (let d = 1; d <= DIGIT; d++) count[d] += count[d - 1];
  for (let k = 0; k < n; k++) {
    const i = a[k];
    b[count[text[i] >>> 16]++] = i;
  }
  // b = positions sorted by value; name equal values alike (a is reused for the ranks).
  let rank = -1;
  let prev = -1;
  for (let k = 0; k < n; k++) {
    const i = b[k];
    const v = text[i];
    if (v !== prev) {
      rank++;
      prev = v;
    }
    a[i] = rank;
  }
  return { ranks: a, alphabetSize: rank + 1 };
}
