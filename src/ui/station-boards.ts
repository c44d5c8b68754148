// The station's own boards (StationBoardsView.boards()) as the console's rows. Each card becomes
// a row with a record to show (built from the card: what it says, who, when) and its history in
// the same form, so the screens draw station boards and derived boards alike.
import type { BoardAct, BoardsSnapshot, IncidentCard, RecordView, RequestCard, StationBoardsView, StationView } from "../station/index.ts";
import { describePlace, type Place, type RecordBody } from "../wire/index.ts";
import { keyOf, sortIncidents, sortRequests, sortShifts, type BoardRows, type IncidentRow, type NodeRow, type RequestRow, type ShiftRow } from "./boards.ts";

export function hasBoards(station: StationView): station is StationBoardsView {
  const candidate = station as Partial<StationBoardsView>;
  return typeof candidate.boards === "function" && typeof candidate.subscribeBoards === "function";
}

/** Place words: as the station wrote them on a record the console has, else from the place itself. */
type PlaceWords = (id: { origin: number; seq: number }, place: Place | undefined) => string | undefined;

function view(act: BoardAct, body: RecordBody, place: string | undefined): RecordView {
  const record: RecordView = { id: act.id, receivedAt: act.at, sender: act.by, body };
  if (place !== undefined) record.place = place;
  return record;
}

function requestRow(card: RequestCard, placeOf: PlaceWords): RequestRow {
  const body: RecordBody = { kind: "supply_request", lines: card.lines, priority: card.priority, ...(card.place ? { place: card.place } : {}), ...(card.needByMin ? { needByMin: card.needByMin } : {}) };
  const record = view(card.requested, body, placeOf(card.id, card.place));
  const history = [record, ...card.history.map((entry) => view(entry, { kind: "supply_status", status: entry.status, ref: card.id, ...(entry.etaMin === undefined ? {} : { etaMin: entry.etaMin }) }, undefined))];
  const row: RequestRow = { key: keyOf(card.id), record, status: card.state, priority: card.priority, etaMin: card.etaMin, history };
  const match = card.match;
  if (match) {
    const place = placeOf(match.offer.id, match.place);
    row.match = { item: match.item, by: match.offer.by, at: match.offer.at, ...(match.quantity === undefined ? {} : { quantity: match.quantity }), ...(place === undefined ? {} : { place }), ...(match.distanceM === undefined ? {} : { distanceM: match.distanceM }) };
  }
  return row;
}

function incidentRow(card: IncidentCard, placeOf: PlaceWords): IncidentRow {
  const body: RecordBody = {
    kind: "incident",
    incident: card.incident,
    severity: card.severity,
    casualties: card.casualties,
    ...(Object.keys(card.triage).length > 0 ? { triage: card.triage } : {}),
    ...(card.hazards.length > 0 ? { hazards: card.hazards } : {}),
    ...(card.people ? { people: card.people } : {}),
    ...(card.responderOnScene ? { responderOnScene: true } : {}),
    ...(card.place ? { place: card.place } : {}),
  };
  // Actions name the latest report: the one the incident's state comes from.
  const record = view(card.updated, body, placeOf(card.updated.id, card.place));
  const history: RecordView[] = [view(card.reported, body, record.place)];
  if (card.reports > 1) history.push(record);
  if (card.acknowledged) history.push(view(card.acknowledged, { kind: "ack", code: "received", refs: [card.updated.id] }, undefined));
  if (card.closed) history.push(view(card.closed, { kind: "ack", code: "complete", refs: [card.updated.id] }, undefined));
  const status = card.state === "closed" ? "closed" : card.acknowledged ? "acknowledged" : "open";
  return { key: card.key, record, status, history };
}

export function rowsFromStation(boards: BoardsSnapshot, derived: BoardRows, feed: readonly RecordView[]): BoardRows {
  const places = new Map<string, string>();
  for (const record of feed) if (record.place !== undefined) places.set(keyOf(record.id), record.place);
  const placeOf: PlaceWords = (id, place) => places.get(keyOf(id)) ?? (place ? describePlace(place) : undefined);

  const requests = sortRequests(boards.requests.map((card) => requestRow(card, placeOf)));
  const incidents = sortIncidents(boards.incidents.map((card) => incidentRow(card, placeOf)));
  const shifts: ShiftRow[] = boards.shifts.map((card) => {
    const body: RecordBody = { kind: "shift", action: card.onShift ? "on" : "off", ...(card.role ? { role: card.role } : {}), ...(card.place ? { place: card.place } : {}) };
    const record = view(card.since, body, placeOf(card.since.id, card.place));
    const history = card.lastCheckin ? [record, view(card.lastCheckin, { kind: "checkin", status: card.lastCheckin.status, ...(card.lastCheckin.battery === undefined ? {} : { battery: card.lastCheckin.battery }) }, undefined)] : [record];
    return { key: card.callsign, callsign: card.callsign, state: card.overdue ? "overdue" : card.onShift ? "on" : "off", role: card.role, record, history };
  });
  for (const card of boards.handoffs) {
    if (card.confirmed) continue;
    const body: RecordBody = { kind: "shift", action: "handoff", from: card.from, to: card.to, ...(card.role ? { role: card.role } : {}), ...(card.place ? { place: card.place } : {}) };
    const record = view(card.at, body, placeOf(card.at.id, card.place));
    shifts.push({ key: `handoff ${card.key}`, callsign: card.to, state: "handoff", role: card.role, record, history: [record] });
  }
  const counts = new Map(derived.nodes.map((node) => [node.sender, node]));
  // Without a roster (an export from the log alone) the nodes are those heard in the records.
  const nodes: NodeRow[] = boards.roster.length === 0 ? [...derived.nodes] : boards.roster.map((card) => {
    const heard = counts.get(card.callsign);
    const lastHeard = Math.max(card.lastHeardMs ?? 0, heard?.lastHeard ?? 0);
    const record: RecordView = heard?.record ?? { id: { origin: card.num, seq: 0 }, receivedAt: lastHeard, sender: card.callsign, body: { kind: "checkin", status: "ok" } };
    return {
      key: `${card.num}`,
      sender: card.callsign,
      origin: card.num,
      lastHeard,
      records: heard?.records ?? 0,
      checkin: heard?.checkin,
      battery: card.batteryLevel ?? heard?.battery,
      place: heard?.place,
      record,
    };
  });
  nodes.sort((a, b) => b.lastHeard - a.lastHeard);
  return {
    requests,
    incidents,
    shifts: sortShifts(shifts),
    nodes,
    openRequests: requests.filter((row) => row.status === "open" || row.status === "acknowledged" || row.status === "en_route").length,
    openIncidents: incidents.filter((row) => row.status !== "closed").length,
  };
}
