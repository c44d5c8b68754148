// The boards the console shows (requests, incidents, shifts, nodes), derived from records until
// the station exposes its own. The seam is small: `Boards` is built by `addRecord` (pure, one
// record at a time) and read through `boardRows`; when the station's boards land, the reducer
// takes them from the snapshot instead and the screens stay as they are.
import type { RecordView } from "../station/index.ts";
import { appliesToBoards, type CheckinStatus, type Priority, type SupplyStatus } from "../wire/index.ts";
import { PersistentMap, type MapDraft } from "./persistent-map.ts";

export function keyOf(id: { origin: number; seq: number }): string {
  return `${id.origin >>> 0}:${id.seq >>> 0}`;
}

export interface Boards {
  /** Supply requests by record key (persistent: a new record shares all but one shard). */
  readonly requests: PersistentMap<RecordView>;
  readonly incidents: PersistentMap<RecordView>;
  /** Status changes and acks by the key of the record they are about, oldest first. */
  readonly updates: PersistentMap<readonly RecordView[]>;
  /** Shift records by the callsign they are about, oldest first. */
  readonly shifts: PersistentMap<readonly RecordView[]>;
  /** What the console has heard from each sender. */
  readonly nodes: ReadonlyMap<string, NodeRow>;
}

export type RequestStatus = "open" | SupplyStatus;
export type IncidentStatus = "open" | "acknowledged" | "closed";
/** `overdue`: on shift and not heard within the check-in interval (the station's boards say so). */
export type ShiftState = "on" | "off" | "handoff" | "overdue";

export interface RequestRow {
  key: string;
  record: RecordView;
  status: RequestStatus;
  priority: Priority;
  etaMin: number | undefined;
  /** An offer the station's board suggests for it (open or acknowledged requests). */
  match?: RequestMatchRow;
  /** The request, then every change to it, oldest first. */
  history: readonly RecordView[];
}

/** A suggested offer, in words: what, how many, where, how far, from whom, when. */
export interface RequestMatchRow {
  item: string;
  quantity?: number;
  place?: string;
  distanceM?: number;
  by: string;
  at: number;
}

export interface IncidentRow {
  key: string;
  record: RecordView;
  status: IncidentStatus;
  history: readonly RecordView[];
}

export interface ShiftRow {
  key: string;
  callsign: string;
  state: ShiftState;
  role: string | undefined;
  /** The last shift record about this callsign. */
  record: RecordView;
  history: readonly RecordView[];
}

export interface NodeRow {
  key: string;
  sender: string;
  origin: number;
  lastHeard: number;
  records: number;
  checkin: CheckinStatus | undefined;
  battery: number | undefined;
  place: string | undefined;
  /** The last record heard from it. */
  record: RecordView;
}

export interface BoardRows {
  requests: readonly RequestRow[];
  incidents: readonly IncidentRow[];
  shifts: readonly ShiftRow[];
  nodes: readonly NodeRow[];
  /** Requests not yet delivered, cancelled or refused; incidents not closed. */
  openRequests: number;
  openIncidents: number;
}

export const emptyBoards: Boards = { requests: PersistentMap.empty(), incidents: PersistentMap.empty(), updates: PersistentMap.empty(), shifts: PersistentMap.empty(), nodes: new Map() };

/** The boards being changed: drafts of the persistent maps, a copy of the nodes. */
type Mutable = {
  requests: MapDraft<RecordView>;
  incidents: MapDraft<RecordView>;
  updates: MapDraft<readonly RecordView[]>;
  shifts: MapDraft<readonly RecordView[]>;
  nodes: Map<string, NodeRow>;
};

function put(target: Mutable, record: RecordView): void {
  const key = keyOf(record.id);
  const body = record.body;
  const prior = target.nodes.get(record.sender);
  target.nodes.set(record.sender, {
    key: record.sender,
    sender: record.sender,
    origin: record.id.origin,
    lastHeard: Math.max(prior?.lastHeard ?? 0, record.receivedAt),
    records: (prior?.records ?? 0) + 1,
    checkin: body.kind === "checkin" ? body.status : prior?.checkin,
    battery: body.kind === "checkin" && body.battery !== undefined ? body.battery : prior?.battery,
    place: record.place ?? prior?.place,
    record: prior && prior.lastHeard > record.receivedAt ? prior.record : record,
  });
  // As the station's own boards: an unauthenticated state change is shown on the feed, not applied.
  if (!appliesToBoards(record)) return;
  switch (body.kind) {
    case "supply_request":
      target.requests.set(key, record);
      return;
    case "incident":
      target.incidents.set(key, record);
      return;
    case "supply_status":
      if (body.ref) target.updates.set(keyOf(body.ref), [...(target.updates.get(keyOf(body.ref)) ?? []), record]);
      return;
    case "ack":
      for (const ref of body.refs) target.updates.set(keyOf(ref), [...(target.updates.get(keyOf(ref)) ?? []), record]);
      return;
    case "shift": {
      const who = body.action === "handoff" ? (body.to ?? record.sender) : record.sender;
      target.shifts.set(who, [...(target.shifts.get(who) ?? []), record]);
      if (body.action === "handoff" && body.from && body.from !== who) target.shifts.set(body.from, [...(target.shifts.get(body.from) ?? []), record]);
      return;
    }
    default:
      return;
  }
}

function mutable(boards: Boards): Mutable {
  return {
    requests: boards.requests.draft(),
    incidents: boards.incidents.draft(),
    updates: boards.updates.draft(),
    shifts: boards.shifts.draft(),
    nodes: new Map(boards.nodes),
  };
}

function done(draft: Mutable): Boards {
  return { requests: draft.requests.done(), incidents: draft.incidents.done(), updates: draft.updates.done(), shifts: draft.shifts.done(), nodes: draft.nodes };
}

/**
 * The boards with one more record (a new object; the old one is unchanged). A map the record does
 * not change stays the same object, so the rows of the boards it does not touch are not derived
 * again; a map it changes shares all but one of its shards.
 */
export function addRecord(boards: Boards, record: RecordView): Boards {
  const draft = mutable(boards);
  put(draft, record);
  const next = done(draft);
  // When the rows before this record were derived, the rows after it are those with only the
  // rows it touches moved: a day of traffic is not sorted again for each record.
  const before = rowsCache.get(boards);
  if (before) rowsCache.set(next, advanceRows(before, boards, next, record));
  return next;
}

/** The first index whose row sorts after `row` (rows sorted by `compare`, a total order). */
function insertionPoint<T>(rows: readonly T[], row: T, compare: (a: T, b: T) => number): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(rows[mid]!, row) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A copy of the sorted `rows` without the row keyed as `old` (when given) and with `row` in its place in the order. */
function moved<T extends { key: string }>(rows: readonly T[], compare: (a: T, b: T) => number, old: T | undefined, row: T): T[] {
  const out = rows.slice();
  if (old) {
    // The old row sorts where a row derived the same way sorts (the order is total: keys break ties).
    const at = insertionPoint(out, old, compare) - 1;
    const index = out[at]?.key === old.key ? at : out.findIndex((candidate) => candidate.key === old.key);
    if (index >= 0) out.splice(index, 1);
  }
  out.splice(insertionPoint(out, row, compare), 0, row);
  return out;
}

/** The rows after `record` was added to `before` (giving `after`), from the rows before it. */
function advanceRows(rows: BoardRows, before: Boards, after: Boards, record: RecordView): BoardRows {
  const body = record.body;
  let { requests, incidents, openRequests, openIncidents } = rows;
  const openRequest = (row: RequestRow | undefined): number => (row && !CLOSED_REQUEST.has(row.status) ? 1 : 0);
  const openIncident = (row: IncidentRow | undefined): number => (row && row.status !== "closed" ? 1 : 0);
  const moveRequest = (key: string, old: RecordView | undefined, updatesBefore: readonly RecordView[]): void => {
    const record = after.requests.get(key)!;
    const previous = old ? requestRow(key, old, updatesBefore) : undefined;
    const row = requestRow(key, record, after.updates.get(key) ?? none);
    requests = moved(requests, compareRequests, previous, row);
    openRequests += openRequest(row) - openRequest(previous);
  };
  const moveIncident = (key: string, old: RecordView | undefined, updatesBefore: readonly RecordView[]): void => {
    const record = after.incidents.get(key)!;
    const previous = old ? incidentRow(key, old, updatesBefore) : undefined;
    const row = incidentRow(key, record, after.updates.get(key) ?? none);
    incidents = moved(incidents, compareIncidents, previous, row);
    openIncidents += openIncident(row) - openIncident(previous);
  };
  const key = keyOf(record.id);
  if (body.kind === "supply_request") moveRequest(key, before.requests.get(key), before.updates.get(key) ?? none);
  else if (body.kind === "incident") moveIncident(key, before.incidents.get(key), before.updates.get(key) ?? none);
  else if (body.kind === "supply_status" || body.kind === "ack") {
    const refs = new Set((body.kind === "ack" ? body.refs : body.ref ? [body.ref] : []).map(keyOf));
    for (const ref of refs) {
      const updatesBefore = before.updates.get(ref) ?? none;
      const request = after.requests.get(ref);
      if (request) moveRequest(ref, request, updatesBefore);
      const incident = after.incidents.get(ref);
      if (incident) moveIncident(ref, incident, updatesBefore);
    }
  }
  return { requests, incidents, shifts: shiftRows(after), nodes: nodeRows(after), openRequests, openIncidents };
}

/** Boards from records in the order heard (oldest first). */
export function boardsFrom(records: Iterable<RecordView>): Boards {
  const next = mutable(emptyBoards);
  for (const record of records) put(next, record);
  return done(next);
}

const PRIORITY_RANK: Record<Priority, number> = { urgent: 0, high: 1, normal: 2, low: 3 };
const CLOSED_REQUEST: ReadonlySet<RequestStatus> = new Set(["delivered", "cancelled", "unable"]);

function requestRow(key: string, record: RecordView, updates: readonly RecordView[]): RequestRow {
  let status: RequestStatus = "open";
  let etaMin: number | undefined;
  for (const update of updates) {
    const body = update.body;
    if (body.kind === "supply_status") {
      status = body.status;
      if (body.etaMin !== undefined) etaMin = body.etaMin;
    } else if (body.kind === "ack") {
      if (body.code === "complete") status = "delivered";
      else if (body.code === "unable") status = "unable";
      else if (status === "open") status = "acknowledged";
    }
  }
  const priority = record.body.kind === "supply_request" ? record.body.priority : "normal";
  return { key, record, status, priority, etaMin, history: [record, ...updates] };
}

function incidentRow(key: string, record: RecordView, updates: readonly RecordView[]): IncidentRow {
  let status: IncidentStatus = "open";
  for (const update of updates) {
    if (update.body.kind !== "ack") continue;
    if (update.body.code === "complete") status = "closed";
    else if (status === "open") status = "acknowledged";
  }
  return { key, record, status, history: [record, ...updates] };
}

function shiftRow(callsign: string, history: readonly RecordView[]): ShiftRow {
  const record = history[history.length - 1]!;
  const body = record.body.kind === "shift" ? record.body : undefined;
  let state: ShiftState = body?.action === "off" ? "off" : body?.action === "handoff" ? "handoff" : "on";
  // The outgoing side of a handoff is off shift once it is handed over.
  if (body?.action === "handoff" && body.from === callsign && body.to !== callsign) state = "off";
  return { key: callsign, callsign, state, role: body?.role, record, history };
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Open first, then by urgency, then newest first; the record's key breaks ties (a total order). */
function compareRequests(a: RequestRow, b: RequestRow): number {
  return (
    Number(CLOSED_REQUEST.has(a.status)) - Number(CLOSED_REQUEST.has(b.status)) ||
    PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
    b.record.receivedAt - a.record.receivedAt ||
    byKey(a, b)
  );
}

function incidentCasualties(row: IncidentRow): number {
  return row.record.body.kind === "incident" ? row.record.body.casualties : 0;
}

/** Open first, then most casualties, then newest first; the record's key breaks ties. */
function compareIncidents(a: IncidentRow, b: IncidentRow): number {
  return Number(a.status === "closed") - Number(b.status === "closed") || incidentCasualties(b) - incidentCasualties(a) || b.record.receivedAt - a.record.receivedAt || byKey(a, b);
}

/** Open first, then by urgency, then newest first (sorts in place). */
export function sortRequests(rows: RequestRow[]): RequestRow[] {
  return rows.sort(compareRequests);
}

/** Open first, then most casualties, then newest first (sorts in place). */
export function sortIncidents(rows: IncidentRow[]): IncidentRow[] {
  return rows.sort(compareIncidents);
}

const SHIFT_RANK: Record<ShiftState, number> = { overdue: 0, handoff: 1, on: 2, off: 3 };

/** Overdue, then handoffs to confirm, then on shift, then off; by callsign (sorts in place). */
export function sortShifts(rows: ShiftRow[]): ShiftRow[] {
  return rows.sort((a, b) => SHIFT_RANK[a.state] - SHIFT_RANK[b.state] || a.callsign.localeCompare(b.callsign));
}

const rowsCache = new WeakMap<Boards, BoardRows>();
/** Each board's rows, kept while the maps they come from are the same objects. */
const requestCache = new WeakMap<object, { updates: object; rows: RequestRow[] }>();
const incidentCache = new WeakMap<object, { updates: object; rows: IncidentRow[] }>();
const shiftCache = new WeakMap<object, ShiftRow[]>();
const nodeCache = new WeakMap<object, NodeRow[]>();
const none: readonly RecordView[] = [];

function requestRows(boards: Boards): RequestRow[] {
  const cached = requestCache.get(boards.requests);
  if (cached && cached.updates === boards.updates) return cached.rows;
  const rows = [...boards.requests].map(([key, record]) => requestRow(key, record, boards.updates.get(key) ?? none));
  sortRequests(rows);
  requestCache.set(boards.requests, { updates: boards.updates, rows });
  return rows;
}

function incidentRows(boards: Boards): IncidentRow[] {
  const cached = incidentCache.get(boards.incidents);
  if (cached && cached.updates === boards.updates) return cached.rows;
  const rows = [...boards.incidents].map(([key, record]) => incidentRow(key, record, boards.updates.get(key) ?? none));
  sortIncidents(rows);
  incidentCache.set(boards.incidents, { updates: boards.updates, rows });
  return rows;
}

function shiftRows(boards: Boards): ShiftRow[] {
  const cached = shiftCache.get(boards.shifts);
  if (cached) return cached;
  const rows = sortShifts([...boards.shifts].map(([callsign, history]) => shiftRow(callsign, history)));
  shiftCache.set(boards.shifts, rows);
  return rows;
}

function nodeRows(boards: Boards): NodeRow[] {
  const cached = nodeCache.get(boards.nodes);
  if (cached) return cached;
  const rows = [...boards.nodes.values()].sort((a, b) => b.lastHeard - a.lastHeard);
  nodeCache.set(boards.nodes, rows);
  return rows;
}

/**
 * The rows of every board, in the order a coordinator reads them: open first, then by urgency,
 * then newest first. Computed once per Boards object, and per board only when its maps changed.
 */
export function boardRows(boards: Boards): BoardRows {
  const cached = rowsCache.get(boards);
  if (cached) return cached;
  const requests = requestRows(boards);
  const incidents = incidentRows(boards);
  const openRequests = requests.reduce((n, row) => n + (CLOSED_REQUEST.has(row.status) ? 0 : 1), 0);
  const openIncidents = incidents.reduce((n, row) => n + (row.status === "closed" ? 0 : 1), 0);
  const rows = { requests, incidents, shifts: shiftRows(boards), nodes: nodeRows(boards), openRequests, openIncidents };
  rowsCache.set(boards, rows);
  return rows;
}

export function isClosedRequest(status: RequestStatus): boolean {
  return CLOSED_REQUEST.has(status);
}
