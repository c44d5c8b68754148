// A station the tests drive by hand, and records to feed it.
import type { RadioState, RecordView, StationEvent, StationSnapshot, StationView } from "../../src/station/index.ts";
import type { RecordBody } from "../../src/wire/index.ts";

/** Local wall-clock time on a fixed day, so HH:MM:SS does not depend on the time zone. */
export function at(hours: number, minutes: number, seconds: number): Date {
  return new Date(2025, 5, 14, hours, minutes, seconds);
}

let nextSeq = 1;

export function record(body: RecordBody, sender: string, receivedAt: Date, origin = 0x1a2b): RecordView {
  return { id: { origin, seq: nextSeq++ }, receivedAt: receivedAt.getTime(), body, sender };
}

export const connected: RadioState = { status: "connected", reason: "handshake-complete" };

export interface FakeStation {
  view: StationView;
  emit(event: StationEvent): void;
  listenerCount(): number;
  /** What snapshot() returns from now on. */
  setSnapshot(snapshot: StationSnapshot): void;
}

export function fakeStation(initial: StationSnapshot): FakeStation {
  let current = initial;
  const listeners = new Set<(event: StationEvent) => void>();
  return {
    view: {
      snapshot: () => current,
      subscribe(listener) {
        listeners.add(listener);
        return () => {
          listeners.delete(listener);
        };
      },
    },
    emit(event) {
      for (const listener of listeners) listener(event);
    },
    listenerCount: () => listeners.size,
    setSnapshot(snapshot) {
      current = snapshot;
    },
  };
}
