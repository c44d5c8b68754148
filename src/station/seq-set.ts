// A set of one origin's sequence numbers as runs: a base station's records arrive mostly in
// order, so the set is a run or a few, however many records it holds.
import type { SeqRun } from "../wire/index.ts";

export class SeqSet {
  /** Ascending, disjoint, non-adjacent. */
  private list: SeqRun[] = [];

  constructor(runs: readonly SeqRun[] = []) {
    this.addRuns(runs);
  }

  get size(): number {
    return this.list.reduce((sum, [from, to]) => sum + to - from + 1, 0);
  }

  get first(): number | undefined {
    return this.list[0]?.[0];
  }

  get last(): number | undefined {
    return this.list.at(-1)?.[1];
  }

  has(seq: number): boolean {
    const index = this.indexAtOrBefore(seq);
    return index >= 0 && seq <= (this.list[index] as SeqRun)[1];
  }

  /** Adds one seq; true when it was not held before. */
  add(seq: number): boolean {
    const tail = this.list.at(-1);
    if (tail && seq === tail[1] + 1) {
      tail[1] = seq; // the common case: the next in order
      return true;
    }
    // Elsewhere: join the run before and/or after it, or insert a run of one (binary search, no sort).
    const index = this.indexAtOrBefore(seq);
    const before = this.list[index];
    if (before && seq <= before[1]) return false;
    const after = this.list[index + 1];
    const joinsBefore = before !== undefined && before[1] + 1 === seq;
    const joinsAfter = after !== undefined && after[0] - 1 === seq;
    if (joinsBefore && joinsAfter) {
      before[1] = after[1];
      this.list.splice(index + 1, 1);
    } else if (joinsBefore) before[1] = seq;
    else if (joinsAfter) after[0] = seq;
    else this.list.splice(index + 1, 0, [seq, seq]);
    return true;
  }

  /** Adds runs; returns the seqs that were not held before, as runs. */
  addRuns(runs: readonly SeqRun[]): SeqRun[] {
    const added: SeqRun[] = [];
    for (const [from, to] of runs) {
      if (!(Number.isInteger(from) && Number.isInteger(to) && from <= to)) continue;
      // What of [from, to] is new: the parts between the runs already held.
      let at = from;
      for (const [heldFrom, heldTo] of this.list) {
        if (heldTo < at) continue;
        if (heldFrom > to) break;
        if (heldFrom > at) added.push([at, heldFrom - 1]);
        at = heldTo + 1;
        if (at > to) break;
      }
      if (at <= to) added.push([at, to]);
      this.list = merge([...this.list, [from, to]]);
    }
    return added;
  }

  /** The runs held, at most `limit`, the newest kept when there are more. */
  runs(limit = Infinity): SeqRun[] {
    return this.list.slice(Math.max(0, this.list.length - limit)).map(([from, to]) => [from, to]);
  }

  /** Seqs in [from, to] not held, ascending, at most `limit`. */
  missing(from: number, to: number, limit: number): number[] {
    const out: number[] = [];
    let at = from;
    for (let i = Math.max(0, this.indexAtOrBefore(from)); i < this.list.length; i += 1) {
      const [heldFrom, heldTo] = this.list[i] as SeqRun;
      if (heldTo < at) continue;
      for (; at < Math.min(heldFrom, to + 1) && out.length < limit; at += 1) out.push(at);
      if (out.length >= limit) return out;
      at = Math.max(at, heldTo + 1);
      if (at > to) return out;
    }
    for (; at <= to && out.length < limit; at += 1) out.push(at);
    return out;
  }

  /** The index of the run starting at or before seq, or -1. */
  private indexAtOrBefore(seq: number): number {
    let low = 0;
    let high = this.list.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.list[mid] as SeqRun)[0] <= seq) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  }
}

function merge(runs: SeqRun[]): SeqRun[] {
  runs.sort((a, b) => a[0] - b[0]);
  const out: SeqRun[] = [];
  for (const [from, to] of runs) {
    const last = out.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}
