// The boards: projections of the log (requests, incidents, shifts), each folded from records by
// pure reducers that do not depend on arrival order, plus the roster from the store.
import type { FieldRecord } from "../../wire/index.ts";
import type { RosterEntry } from "../../store/index.ts";
import type { BoardName, BoardsSnapshot, RosterCard } from "../types.ts";
import { IncidentsBoard } from "./incidents.ts";
import { RequestsBoard, type PlaceDistance } from "./requests.ts";
import { ShiftsBoard } from "./shifts.ts";

import { Interner } from "./order.ts";

export { idKey, senderOf } from "./order.ts";
export type { PlaceDistance } from "./requests.ts";

export interface BoardsOptions {
  /** How long someone on shift may go without checking in before they are flagged overdue. */
  checkinIntervalMs?: number;
  /** Metres between two places (the site plan): offers nearest a request are suggested first. */
  distance?: PlaceDistance;
}

export const DEFAULT_CHECKIN_INTERVAL_MS = 30 * 60_000;

const NONE: readonly BoardName[] = Object.freeze([]);
const REQUESTS: readonly BoardName[] = Object.freeze(["requests"]);
const INCIDENTS: readonly BoardName[] = Object.freeze(["incidents"]);
const SHIFTS: readonly BoardName[] = Object.freeze(["shifts"]);

export class Boards {
  readonly requests: RequestsBoard;
  readonly incidents: IncidentsBoard;
  readonly shifts: ShiftsBoard;

  constructor(options: BoardsOptions = {}) {
    // One copy of each callsign, item and hazard for all three boards.
    const strings = new Interner();
    this.requests = new RequestsBoard(options.distance, strings);
    this.incidents = new IncidentsBoard(strings);
    this.shifts = new ShiftsBoard(options.checkinIntervalMs ?? DEFAULT_CHECKIN_INTERVAL_MS, strings);
  }

  /** Folds one stored record into the boards; returns the boards it changed. */
  add(record: FieldRecord): readonly BoardName[] {
    // The same few answers every time, not a new array for each record folded in.
    switch (record.body.kind) {
      case "supply_request":
      case "supply_status":
      case "supply_offer":
        return this.requests.add(record) ? REQUESTS : NONE;
      case "incident":
      case "ack":
        return this.incidents.add(record) ? INCIDENTS : NONE;
      case "shift":
      case "checkin":
        return this.shifts.add(record) ? SHIFTS : NONE;
      case "message":
        return NONE;
    }
  }

  snapshot(asOf: number, roster: readonly RosterEntry[] = []): BoardsSnapshot {
    return {
      requests: this.requests.cards(),
      incidents: this.incidents.cards(),
      shifts: this.shifts.cards(asOf),
      handoffs: this.shifts.handoffCards(),
      roster: roster.map(rosterCard).sort((a, b) => (b.lastHeardMs ?? 0) - (a.lastHeardMs ?? 0) || a.num - b.num),
      asOf,
    };
  }
}

/** Boards folded from records (for a rebuild, and the tests' reference). */
export function boardsFrom(records: Iterable<FieldRecord>, options: BoardsOptions = {}): Boards {
  const boards = new Boards(options);
  for (const record of records) boards.add(record);
  return boards;
}

function rosterCard(entry: RosterEntry): RosterCard {
  const card: RosterCard = { num: entry.num, callsign: entry.callsign ?? entry.userId };
  if (entry.role !== undefined) card.role = entry.role;
  if (entry.batteryLevel !== undefined) card.batteryLevel = entry.batteryLevel;
  if (entry.lastHeardMs !== undefined) card.lastHeardMs = entry.lastHeardMs;
  if (entry.snr !== undefined) card.snr = entry.snr;
  if (entry.rssi !== undefined) card.rssi = entry.rssi;
  if (entry.hopsAway !== undefined) card.hopsAway = entry.hopsAway;
  return card;
}
