// The console's state and the pure reducer that folds station events into it.
import type { RadioState, RecordView, StationEvent, StationSnapshot } from "../station/index.ts";

/** How many records the console keeps in memory; the screen shows as many of them as fit. */
export const FEED_LIMIT = 200;

export interface SkippedState {
  /** How many inputs the station skipped since the console started. */
  count: number;
  /** The most recent reason, as the station worded it. */
  lastReason: string;
}

export interface ConsoleState {
  name: string;
  radio: RadioState;
  recordCount: number;
  /** Newest first, at most FEED_LIMIT, each record id at most once. */
  records: readonly RecordView[];
  skipped: SkippedState | undefined;
}

/**
 * What the reducer folds: the station's events, plus a fresh snapshot (taken right after
 * subscribing, so nothing emitted between the first render and the subscription is missed).
 */
export type ConsoleAction = StationEvent | { type: "snapshot"; snapshot: StationSnapshot };

function recordKey(record: RecordView): string {
  return `${record.id.origin}:${record.id.seq}`;
}

/** Keeps the first copy of each record id, at most `limit` records, in the given order. */
function boundedUnique(records: readonly RecordView[], limit: number): RecordView[] {
  const seen = new Set<string>();
  const out: RecordView[] = [];
  for (const record of records) {
    if (out.length >= limit) break;
    const key = recordKey(record);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(record);
  }
  return out;
}

export function initialConsoleState(snapshot: StationSnapshot): ConsoleState {
  return {
    name: snapshot.name,
    radio: snapshot.radio,
    recordCount: snapshot.recordCount,
    records: boundedUnique(snapshot.recent, FEED_LIMIT),
    skipped: undefined,
  };
}

export function consoleReducer(state: ConsoleState, action: ConsoleAction): ConsoleState {
  switch (action.type) {
    case "record": {
      const key = recordKey(action.record);
      const known = state.records.some((record) => recordKey(record) === key);
      if (known) {
        // Shown once, however many times it is delivered; the count is still the station's.
        return action.recordCount === state.recordCount ? state : { ...state, recordCount: action.recordCount };
      }
      const records = [action.record, ...state.records];
      if (records.length > FEED_LIMIT) records.length = FEED_LIMIT;
      return { ...state, records, recordCount: action.recordCount };
    }
    case "radio":
      return { ...state, radio: action.radio };
    case "skipped":
      return {
        ...state,
        skipped: { count: (state.skipped?.count ?? 0) + 1, lastReason: action.reason },
      };
    case "snapshot":
      return { ...initialConsoleState(action.snapshot), skipped: state.skipped };
  }
}
