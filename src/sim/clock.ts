// The simulator's clock, injected everywhere it keeps time. `realClock` runs on the process's
// timers (npm start, a station over TCP or a pty); `VirtualClock` is a discrete-event clock that
// jumps from one timer to the next, so a one-hour drill takes as long as its events take to run.

/** An opaque timer handle from a SimClock. */
export interface SimTimer {
  readonly id: number;
}

export interface SimClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, `ms` from now (0 or less: as soon as possible, never synchronously). */
  setTimer(ms: number, callback: () => void): SimTimer;
  clearTimer(timer: SimTimer): void;
}

let nextTimerId = 1;

/**
 * The process clock: Date.now and setTimeout (unref'd: a simulated timer never keeps the process
 * alive). The globals are looked up on each call, so test fake timers apply.
 */
export const realClock: SimClock = {
  now: () => Date.now(),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, Math.max(0, ms));
    handle.unref();
    return { id: nextTimerId++, handle } as SimTimer & { handle: NodeJS.Timeout };
  },
  clearTimer(timer) {
    const handle = (timer as SimTimer & { handle?: NodeJS.Timeout }).handle;
    if (handle) clearTimeout(handle);
  },
};

interface Scheduled {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** A discrete-event clock: time moves only when `advance`/`runUntil` runs the due timers in order. */
export class VirtualClock implements SimClock {
  private current: number;
  private seq = 0;
  private readonly heap: Scheduled[] = [];
  private readonly byId = new Map<number, Scheduled>();
  /** Timers run so far (a measure of the work a drill did). */
  eventsRun = 0;

  constructor(startMs = Date.UTC(2026, 0, 1, 9, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, callback: () => void): SimTimer {
    const delay = Number.isFinite(ms) ? Math.max(0, ms) : 0;
    const entry: Scheduled = { at: this.current + delay, seq: this.seq++, callback, cancelled: false };
    this.push(entry);
    const id = nextTimerId++;
    this.byId.set(id, entry);
    const timer = { id };
    // Forget the id once it fires, so the map stays small.
    const original = entry.callback;
    entry.callback = () => {
      this.byId.delete(id);
      original();
    };
    return timer;
  }

  clearTimer(timer: SimTimer): void {
    const entry = this.byId.get(timer.id);
    if (!entry) return;
    entry.cancelled = true;
    this.byId.delete(timer.id);
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.byId.size;
  }

  /** When the next timer is due (ms), or undefined when none waits. */
  nextDue(): number | undefined {
    while (this.heap[0]?.cancelled === true) this.pop();
    return this.heap[0]?.at;
  }

  /** Runs every timer due up to `untilMs` (in time order, ties in the order they were set), then sets the time to `untilMs`. */
  runUntil(untilMs: number): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > untilMs) break;
      this.pop();
      if (top.cancelled) continue;
      this.current = top.at;
      this.eventsRun++;
      top.callback();
    }
    if (untilMs > this.current) this.current = untilMs;
  }

  advance(ms: number): void {
    this.runUntil(this.current + ms);
  }

  private push(entry: Scheduled): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
