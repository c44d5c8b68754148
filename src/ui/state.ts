// The console's state and the pure reducer that folds station events into it.
import type { BoardsSnapshot, NodeFlag, RadioState, RecordView, StationEvent, StationSnapshot } from "../station/index.ts";
import { addRecord, boardRows, boardsFrom, keyOf, type BoardRows, type Boards } from "./boards.ts";
import { rowsFromStation } from "./station-boards.ts";

/** How many records the console keeps for the feed by default; the screen shows as many as fit. */
export const FEED_LIMIT = 1000;

/** How many flagged nodes the console remembers. */
const SUSPECTS_KEPT = 50;

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
  /** Newest first, at most `limit`, each record id at most once. */
  records: readonly RecordView[];
  skipped: SkippedState | undefined;
  /** Nodes the station flagged as behaving unlike their history, newest first (at most SUSPECTS_KEPT). */
  suspects: readonly NodeFlag[];
  /** Requests, incidents, shifts and nodes, derived from the records the console has seen. */
  boards: Boards;
  /** The station's own boards, once it has sent them (they replace the derived ones on screen). */
  station: BoardRows | undefined;
  /** The most records the feed keeps. */
  limit: number;
}

/**
 * What the reducer folds: the station's events, plus a fresh snapshot (taken right after
 * subscribing, so nothing emitted between the first render and the subscription is missed).
 */
export type ConsoleAction = StationEvent | { type: "snapshot"; snapshot: StationSnapshot } | { type: "boards"; boards: BoardsSnapshot };

/** The board rows on screen: the station's when it has boards, else those derived from records. */
export function rowsOf(state: ConsoleState): BoardRows {
  return state.station ?? boardRows(state.boards);
}

/** Keeps the first copy of each record id, at most `limit` records, in the given order. */
function boundedUnique(records: readonly RecordView[], limit: number): RecordView[] {
  const seen = new Set<string>();
  const out: RecordView[] = [];
  for (const record of records) {
    if (out.length >= limit) break;
    const key = keyOf(record.id);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(record);
  }
  return out;
}

export function initialConsoleState(snapshot: StationSnapshot, limit: number = FEED_LIMIT): ConsoleState {
  // The boards hold every record the station gave; the feed only the newest `limit` of them.
  const unique = boundedUnique(snapshot.recent, Infinity);
  const records = unique.length > limit ? unique.slice(0, limit) : unique;
  return {
    name: snapshot.name,
    radio: snapshot.radio,
    recordCount: snapshot.recordCount,
    records,
    skipped: undefined,
    suspects: [...(snapshot.suspects ?? [])].reverse().slice(0, SUSPECTS_KEPT),
    boards: boardsFrom([...unique].reverse()),
    station: undefined,
    limit,
  };
}

export function consoleReducer(state: ConsoleState, action: ConsoleAction): ConsoleState {
  switch (action.type) {
    case "record": {
      const { origin, seq } = action.record.id;
      const known = state.records.some((record) => record.id.seq === seq && record.id.origin === origin);
      if (known && action.replaces) {
        // A forgery that took this id first: the genuine record is shown in its place.
        const records = state.records.map((record) => (record.id.seq === seq && record.id.origin === origin ? action.record : record));
        return { ...state, records, recordCount: action.recordCount, boards: addRecord(state.boards, action.record) };
      }
      if (known) {
        // Shown once, however many times it is delivered; the count is still the station's.
        return action.recordCount === state.recordCount ? state : { ...state, recordCount: action.recordCount };
      }
      // concat copies a long array much faster than a spread.
      const records = [action.record].concat(state.records.length >= state.limit ? state.records.slice(0, state.limit - 1) : state.records);
      return { ...state, records, recordCount: action.recordCount, boards: addRecord(state.boards, action.record) };
    }
    case "radio":
      return { ...state, radio: action.radio };
    case "delivery": {
      const { origin, seq } = action.id;
      const index = state.records.findIndex((record) => record.id.seq === seq && record.id.origin === origin);
      if (index < 0) return state;
      const records = state.records.slice();
      records[index] = { ...records[index]!, delivery: action.delivery };
      return { ...state, records };
    }
    case "skipped":
      return {
        ...state,
        skipped: { count: (state.skipped?.count ?? 0) + 1, lastReason: action.reason },
      };
    case "suspect":
      return { ...state, suspects: [action.flag, ...state.suspects].slice(0, SUSPECTS_KEPT) };
    case "snapshot":
      return { ...initialConsoleState(action.snapshot, state.limit), skipped: state.skipped, station: state.station };
    case "boards":
      return { ...state, station: rowsFromStation(action.boards, boardRows(state.boards), state.records) };
  }
}
