// The incidents board: the reports of one sender about one incident type fold into one incident
// (the latest report's severity, casualties and triage; the latest place said; every hazard
// named). An ack naming one of its reports acknowledges it ("received", "wilco": the first one
// counts) or closes it ("complete", when later than the latest report: a report after the close
// opens it again). Every fold is a commutative one (earliest, latest, union, count of distinct
// ids), so the board does not depend on the order records arrive in, and keeps no report whole:
// of each report only its act, and of the latest one what the card shows.
import type { FieldRecord, IncidentBody, Place } from "../../wire/index.ts";
import type { IncidentCard } from "../types.ts";
import { Act, actOf, compareActs, compareToAct, hex8, IdMap, Interner, parseIdKey } from "./order.ts";

/** What the latest report said (the card shows it). */
interface Said {
  act: Act;
  incident: string;
  severity: IncidentBody["severity"];
  casualties: number;
  triage: Record<string, number> | undefined;
  people: number | undefined;
  responderOnScene: boolean;
}

interface Entry {
  key: string;
  first: Act;
  latest: Said;
  /** The latest report that said where, and where. */
  placed: { act: Act; place: Place } | undefined;
  hazards: Set<string>;
  reports: number;
  /** The first "received"/"wilco" and the latest "complete" naming one of its reports. */
  acknowledged: Act | undefined;
  completed: Act | undefined;
  /** The card, made when first asked for after a change. */
  card: IncidentCard | undefined;
}

/** An ack as the board keeps it (while it waits for its report, too). */
class Ack extends Act {
  readonly code: string;

  constructor(record: FieldRecord, sender: string | undefined, code: string) {
    super(record.id.origin >>> 0, record.id.seq >>> 0, record.receivedAt, sender);
    this.code = code;
  }
}

export class IncidentsBoard {
  /** By sender (origin), then incident type. */
  private readonly entries = new Map<number, Map<string, Entry>>();
  /** Report id -> its incident. */
  private readonly byReport = new IdMap<Entry>();
  /** Report id -> the acks that name it, until the report arrives. */
  private readonly waiting = new IdMap<Ack[]>();
  /** Acks already folded (an ack heard twice counts once). */
  private readonly acksSeen = new IdMap<true>();
  private readonly strings: Interner;

  constructor(strings = new Interner()) {
    this.strings = strings;
  }

  add(record: FieldRecord): boolean {
    const body = record.body;
    if (body.kind === "incident") {
      const { origin, seq } = record.id;
      if (this.byReport.has(origin, seq)) return false;
      let bySender = this.entries.get(origin >>> 0);
      if (!bySender) this.entries.set(origin >>> 0, (bySender = new Map<string, Entry>()));
      let entry = bySender.get(body.incident);
      if (!entry) {
        const act = actOf(record, this.strings);
        entry = { key: `${hex8(origin)}:${body.incident}`, first: act, latest: said(act, body), placed: undefined, hazards: new Set(), reports: 0, acknowledged: undefined, completed: undefined, card: undefined };
        bySender.set(body.incident, entry);
      } else {
        if (compareToAct(record, entry.first) < 0) entry.first = actOf(record, this.strings);
        if (compareToAct(record, entry.latest.act) > 0) entry.latest = said(actOf(record, this.strings), body);
      }
      if (body.place && (!entry.placed || compareToAct(record, entry.placed.act) > 0)) entry.placed = { act: actOf(record, this.strings), place: body.place };
      for (const hazard of body.hazards ?? []) entry.hazards.add(this.strings.of(hazard));
      entry.reports += 1;
      entry.card = undefined;
      this.byReport.set(origin, seq, entry);
      const waiting = this.waiting.get(origin, seq);
      if (waiting) {
        for (const ack of waiting) this.foldAck(entry, ack);
        this.waiting.delete(origin, seq);
      }
      return true;
    }
    if (body.kind === "ack") {
      if (this.acksSeen.has(record.id.origin, record.id.seq)) return false;
      this.acksSeen.set(record.id.origin, record.id.seq, true);
      const ack = new Ack(record, this.strings.of(record.sender), body.code);
      let changed = false;
      for (const ref of body.refs) {
        const entry = this.byReport.get(ref.origin, ref.seq);
        if (entry) changed = this.foldAck(entry, ack) || changed;
        else {
          const waiting = this.waiting.get(ref.origin, ref.seq);
          if (waiting) waiting.push(ack);
          else this.waiting.set(ref.origin, ref.seq, [ack]);
        }
      }
      return changed;
    }
    return false;
  }

  /** The incident a report (by its log key) was folded into. */
  incidentOfReport(reportKey: string): IncidentCard | undefined {
    const id = parseIdKey(reportKey);
    const entry = id && this.byReport.get(id.origin, id.seq);
    return entry ? this.cardOf(entry) : undefined;
  }

  get(key: string): IncidentCard | undefined {
    const origin = parseInt(key.slice(0, 8), 16);
    const entry = key[8] === ":" ? this.entries.get(origin)?.get(key.slice(9)) : undefined;
    return entry ? this.cardOf(entry) : undefined;
  }

  /** Open first, then newest first. */
  cards(): IncidentCard[] {
    const cards: IncidentCard[] = [];
    for (const bySender of this.entries.values()) for (const entry of bySender.values()) cards.push(this.cardOf(entry));
    return cards.sort((a, b) => (a.state === b.state ? 0 : a.state === "open" ? -1 : 1) || b.updated.at - a.updated.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private foldAck(entry: Entry, ack: Ack): boolean {
    if (ack.code === "complete") {
      if (entry.completed && compareActs(ack, entry.completed) <= 0) return false;
      entry.completed = ack;
    } else if (ack.code === "received" || ack.code === "wilco") {
      if (entry.acknowledged && compareActs(ack, entry.acknowledged) >= 0) return false;
      entry.acknowledged = ack;
    } else return false;
    entry.card = undefined;
    return true;
  }

  private cardOf(entry: Entry): IncidentCard {
    entry.card ??= card(entry);
    return entry.card;
  }
}

function said(act: Act, body: IncidentBody): Said {
  return {
    act,
    incident: body.incident,
    severity: body.severity,
    casualties: body.casualties,
    triage: body.triage,
    people: body.people,
    responderOnScene: body.responderOnScene === true,
  };
}

function card(entry: Entry): IncidentCard {
  const latest = entry.latest;
  const out: IncidentCard = {
    key: entry.key,
    incident: latest.incident,
    state: "open",
    reported: entry.first.view(),
    updated: latest.act.view(),
    severity: latest.severity,
    casualties: latest.casualties,
    triage: { ...(latest.triage ?? {}) },
    hazards: [...entry.hazards].sort(),
    responderOnScene: latest.responderOnScene,
    reports: entry.reports,
  };
  if (latest.people !== undefined) out.people = latest.people;
  if (entry.placed) out.place = entry.placed.place;
  if (entry.acknowledged) out.acknowledged = entry.acknowledged.view();
  if (entry.completed && compareActs(entry.completed, latest.act) > 0) {
    out.state = "closed";
    out.closed = entry.completed.view();
  }
  return out;
}
