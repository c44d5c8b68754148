// The incidents board: the reports of one sender about one incident type fold into one incident
// (the latest report's severity, casualties and triage; the latest place said; every hazard
// named). An ack naming one of its reports acknowledges it ("received", "wilco": the first one
// counts) or closes it ("complete", when later than the latest report: a report after the close
// opens it again). Every fold is a commutative one (earliest, latest, union, count of distinct
// ids), so the board does not depend on the order records arrive in, and keeps no report whole.
import type { FieldRecord, IncidentBody } from "../../wire/index.ts";
import type { IncidentCard } from "../types.ts";
import { actOf, compareRecords, hex8, idKey } from "./order.ts";

type Report = FieldRecord & { body: IncidentBody };

interface Entry {
  first: Report;
  latest: Report;
  /** The latest report that said where. */
  placed?: Report;
  hazards: Set<string>;
  reports: number;
  /** The first "received"/"wilco" and the latest "complete" naming one of its reports. */
  acknowledged?: FieldRecord;
  completed?: FieldRecord;
  /** The card, computed when first asked for after a change (a rebuild computes none). */
  card?: IncidentCard;
}

export class IncidentsBoard {
  private readonly entries = new Map<string, Entry>();
  /** Report log key -> incident key. */
  private readonly byReport = new Map<string, string>();
  /** Report log key -> the acks that name it, until the report arrives. */
  private readonly waiting = new Map<string, FieldRecord[]>();
  /** Acks already folded, by log key (an ack heard twice counts once). */
  private readonly acksSeen = new Set<string>();

  add(record: FieldRecord): boolean {
    const body = record.body;
    if (body.kind === "incident") {
      const reportKey = idKey(record.id);
      if (this.byReport.has(reportKey)) return false;
      const key = `${hex8(record.id.origin)}:${body.incident}`;
      const report = record as Report;
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { first: report, latest: report, hazards: new Set(), reports: 0 };
        this.entries.set(key, entry);
      }
      if (compareRecords(report, entry.first) < 0) entry.first = report;
      if (compareRecords(report, entry.latest) > 0) entry.latest = report;
      if (body.place && (!entry.placed || compareRecords(report, entry.placed) > 0)) entry.placed = report;
      for (const hazard of body.hazards ?? []) entry.hazards.add(hazard);
      entry.reports += 1;
      delete entry.card;
      this.byReport.set(reportKey, key);
      for (const ack of this.waiting.get(reportKey) ?? []) this.foldAck(entry, ack);
      this.waiting.delete(reportKey);
      return true;
    }
    if (body.kind === "ack") {
      const ackKey = idKey(record.id);
      if (this.acksSeen.has(ackKey)) return false;
      this.acksSeen.add(ackKey);
      let changed = false;
      for (const ref of body.refs) {
        const reportKey = idKey(ref);
        const incident = this.byReport.get(reportKey);
        const entry = incident === undefined ? undefined : this.entries.get(incident);
        if (entry) changed = this.foldAck(entry, record) || changed;
        else this.waiting.set(reportKey, [...(this.waiting.get(reportKey) ?? []), record]);
      }
      return changed;
    }
    return false;
  }

  /** The incident a report (by its log key) was folded into. */
  incidentOfReport(reportKey: string): IncidentCard | undefined {
    const key = this.byReport.get(reportKey);
    return key === undefined ? undefined : this.get(key);
  }

  get(key: string): IncidentCard | undefined {
    const entry = this.entries.get(key);
    return entry ? this.cardOf(key, entry) : undefined;
  }

  /** Open first, then newest first. */
  cards(): IncidentCard[] {
    const cards: IncidentCard[] = [];
    for (const [key, entry] of this.entries) cards.push(this.cardOf(key, entry));
    return cards.sort((a, b) => (a.state === b.state ? 0 : a.state === "open" ? -1 : 1) || b.updated.at - a.updated.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private foldAck(entry: Entry, ack: FieldRecord): boolean {
    if (ack.body.kind !== "ack") return false;
    if (ack.body.code === "complete") {
      if (entry.completed && compareRecords(ack, entry.completed) <= 0) return false;
      entry.completed = ack;
    } else if (ack.body.code === "received" || ack.body.code === "wilco") {
      if (entry.acknowledged && compareRecords(ack, entry.acknowledged) >= 0) return false;
      entry.acknowledged = ack;
    } else return false;
    delete entry.card;
    return true;
  }

  private cardOf(key: string, entry: Entry): IncidentCard {
    entry.card ??= card(key, entry);
    return entry.card;
  }
}

function card(key: string, entry: Entry): IncidentCard {
  const latest = entry.latest.body;
  const out: IncidentCard = {
    key,
    incident: latest.incident,
    state: "open",
    reported: actOf(entry.first),
    updated: actOf(entry.latest),
    severity: latest.severity,
    casualties: latest.casualties,
    triage: { ...(latest.triage ?? {}) },
    hazards: [...entry.hazards].sort(),
    responderOnScene: latest.responderOnScene === true,
    reports: entry.reports,
  };
  if (latest.people !== undefined) out.people = latest.people;
  if (entry.placed?.body.place) out.place = entry.placed.body.place;
  if (entry.acknowledged) out.acknowledged = actOf(entry.acknowledged);
  if (entry.completed && compareRecords(entry.completed, entry.latest) > 0) {
    out.state = "closed";
    out.closed = actOf(entry.completed);
  }
  return out;
}
