/**
 * Binary min-heap of timed actions. Ties on time are broken by insertion
 * order, so a run never depends on how the heap happens to shuffle equals.
 */
export interface Scheduled {
  t: number;
  seq: number;
  run: () => void;
}

export class EventHeap {
  private items: Scheduled[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(t: number, run: () => void): void {
    const item = { t, seq: this.seq++, run };
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(item, a[p])) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = item;
  }

  peekTime(): number | undefined {
    return this.items[0]?.t;
  }

  pop(): Scheduled | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(a[r], a[l]) ? r : l;
        if (!before(a[c], last)) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

function before(x: Scheduled, y: Scheduled): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq);
}
