/**
 * Cuts a text into segments at every span boundary, so overlapping spans (two contributions that
 * both contain the same words) each stay visible: a segment lists every span that covers it.
 * Ranges are UTF-16 offsets (what `String#slice` takes); a `null` or out-of-range span is left
 * out (it is listed, unhighlighted, by the page), never guessed.
 */

export interface Segment {
  text: string;
  /** Indexes into the spans array of the spans that cover this segment (empty: plain text). */
  spans: number[];
}

export function segments(text: string, spans: readonly ({ start: number; end: number } | null)[]): Segment[] {
  const ok = (s: { start: number; end: number } | null): s is { start: number; end: number } =>
    s !== null &&
    Number.isSafeInteger(s.start) &&
    Number.isSafeInteger(s.end) &&
    s.start >= 0 &&
    s.end > s.start &&
    s.end <= text.length;
  const cuts = new Set<number>([0, text.length]);
  for (const s of spans) if (ok(s)) cuts.add(s.start).add(s.end);
  const points = [...cuts].sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i];
    const b = points[i + 1];
    const covering: number[] = [];
    spans.forEach((s, k) => {
      if (ok(s) && s.start <= a && s.end >= b) covering.push(k);
    });
    out.push({ text: text.slice(a, b), spans: covering });
  }
  return out;
}
