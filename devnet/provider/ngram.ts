import { sha256 } from '../../core/hash.js';

/**
 * The reference provider's text generator: a word-level n-gram model over the accepted
 * contributions of a datanet. Deterministic: the same corpus (documents sorted by id) and the same
 * prompt give the same output, so a demo run can be replayed. Words keep the whitespace that
 * followed them in the corpus, so the output reproduces corpus text byte for byte where it follows
 * it — which is what span attribution then finds and pays for.
 */

export const NGRAM_ORDER_DEFAULT = 3;
export const NGRAM_WORDS_MAX = 2_000;

export interface NgramDoc {
  id: string;
  content: string;
}

export class NgramModel {
  /** Word (with its trailing whitespace) at each corpus position; documents end with null. */
  private readonly words: (string | null)[] = [];
  /** Context key (the previous order−1 bare words) → corpus positions that follow it. */
  private readonly next = new Map<string, number[]>();
  /** Position of the first occurrence of each bare word (lower case), for prompt seeding. */
  private readonly firstAt = new Map<string, number[]>();

  constructor(
    docs: readonly NgramDoc[],
    readonly order = NGRAM_ORDER_DEFAULT,
  ) {
    if (order < 2) throw new Error('n-gram order must be at least 2');
    const sorted = [...docs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const d of sorted) {
      const start = this.words.length;
      for (const m of d.content.matchAll(/\S+\s*/g)) this.words.push(m[0]);
      for (let i = start; i < this.words.length; i++) {
        const bare = bareWord(this.words[i] as string);
        const key = bare.toLowerCase();
        const list = this.firstAt.get(key);
        if (list === undefined) this.firstAt.set(key, [i]);
        else if (list.length < 64) list.push(i);
        if (i - start >= order - 1) {
          const ctx = this.contextAt(i);
          const arr = this.next.get(ctx);
          if (arr === undefined) this.next.set(ctx, [i]);
          else arr.push(i);
        }
      }
      this.words.push(null);
    }
  }

  get size(): number {
    return this.words.length;
  }

  /** Context of position i: the bare words at i−order+1 … i−1. */
  private contextAt(i: number): string {
    const parts: string[] = [];
    for (let j = i - this.order + 1; j < i; j++) parts.push(bareWord(this.words[j] ?? ''));
    return parts.join(' ');
  }

  /**
   * Up to `wordsMax` words. Starts where the prompt's last known word occurs (else at a position
   * chosen by the prompt's hash), then walks successors of the current context, choosing among
   * them by hash(prompt, step).
   */
  generate(prompt: string, wordsMax = 60): string {
    if (this.words.length === 0) return '';
    const n = Math.max(1, Math.min(NGRAM_WORDS_MAX, wordsMax));
    const seed = sha256(new TextEncoder().encode(prompt));
    const pick = (step: number, count: number) => {
      const h = sha256(new Uint8Array([...seed, step & 0xff, (step >> 8) & 0xff]));
      return ((h[0] << 16) | (h[1] << 8) | h[2]) % count;
    };
    let pos = -1;
    const promptWords = prompt.toLowerCase().match(/[\p{L}']+/gu) ?? [];
    for (let k = promptWords.length - 1; k >= 0 && pos < 0; k--) {
      const at = this.firstAt.get(promptWords[k]);
      if (at !== undefined) pos = at[pick(0, at.length)];
    }
    if (pos < 0) pos = pick(0, this.words.length);
    while (this.words[pos] === null) pos = (pos + 1) % this.words.length;
    const out: string[] = [];
    for (let step = 1; out.length < n; step++) {
      const w = this.words[pos];
      if (w === null) break;
      out.push(w);
      // Follow the corpus (most of the time) or jump to another occurrence of the same context.
      const after = pos + 1;
      const ctxWords: string[] = [];
      for (let j = out.length - this.order + 1; j < out.length; j++)
        if (j >= 0) ctxWords.push(bareWord(out[j]));
      const options = ctxWords.length === this.order - 1 ? this.next.get(ctxWords.join(' ')) : undefined;
      if (options !== undefined && options.length > 1 && pick(step, 4) === 0)
        pos = options[pick(step + 7919, options.length)];
      else pos = after;
      if (pos >= this.words.length || this.words[pos] === null) break;
    }
    return out.join('').trimEnd();
  }
}

function bareWord(w: string): string {
  return w.trimEnd();
}
