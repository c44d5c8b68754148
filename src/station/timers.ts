// Where the station's timers come from. A running station uses the process's timers (looked up on
// each call, so test fake timers apply; unref'd: a pending retry never keeps the process alive); a
// drill passes its virtual clock's, so pacing, retries, held ACKs and gap repair run in simulated
// time.

/** A timer source: `setTimeout` returns a handle that `clearTimeout` (which accepts undefined) cancels. */
export interface StationTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const processTimers: StationTimers = {
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, Math.max(0, ms));
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Calls `callback` every `ms` on `timers` until the returned function is called. */
export function every(timers: StationTimers, ms: number, callback: () => void): () => void {
  let handle: unknown;
  let stopped = false;
  const arm = (): void => {
    handle = timers.setTimeout(() => {
      if (stopped) return;
      arm();
      callback();
    }, ms);
  };
  arm();
  return () => {
    stopped = true;
    timers.clearTimeout(handle);
  };
}
