/**
 * A min-heap of simulator events ordered by (virtual time, insertion sequence): a total order,
 * so two events at the same millisecond always run in the order they were scheduled.
 */

export interface Timed {
  timeMs: number;
  seq: number;
}

export class EventQueue<E extends Timed> {
  private readonly heap: E[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(event: Omit<E, 'seq'>): void {
    const e = { ...event, seq: this.seq++ } as E;
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  pop(): E | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as E;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}
