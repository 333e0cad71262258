/**
 * A set of input positions kept as runs (`[from, to)` pairs): the delivered mails of a long
 * `sendAll` are nearly always one run, so it holds a few numbers however many mails go by.
 *
 * @example
 * ```ts
 * const delivered = new IndexSet();
 * delivered.add(0); delivered.add(1); delivered.add(3);
 * delivered.toArray(); // [0, 1, 3]
 * ```
 */
export class IndexSet {
  /** Sorted, disjoint, non-adjacent runs: from0, to0, from1, to1, ... */
  private readonly runs: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(index: number): void {
    const runs = this.runs;
    // The usual case: right after the last run.
    const last = runs.length - 1;
    if (last > 0 && runs[last] === index) {
      runs[last] = index + 1;
      this.count++;
      return;
    }
    // Find the first run that ends after index: it holds index, or lies wholly after it.
    let lo = 0;
    let hi = runs.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid * 2 + 1]! <= index) lo = mid + 1;
      else hi = mid;
    }
    const at = lo * 2;
    if (at < runs.length && runs[at]! <= index && index < runs[at + 1]!) return;
    this.count++;
    const joinsBefore = at > 0 && runs[at - 1] === index;
    const joinsAfter = at < runs.length && runs[at] === index + 1;
    if (joinsBefore && joinsAfter) runs.splice(at - 1, 2);
    else if (joinsBefore) runs[at - 1] = index + 1;
    else if (joinsAfter) runs[at] = index;
    else runs.splice(at, 0, index, index + 1);
  }

  has(index: number): boolean {
    for (let i = 0; i < this.runs.length; i += 2) if (this.runs[i]! <= index && index < this.runs[i + 1]!) return true;
    return false;
  }

  /** Every position, in order. */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.runs.length; i += 2) for (let n = this.runs[i]!; n < this.runs[i + 1]!; n++) out.push(n);
    return out;
  }
}
