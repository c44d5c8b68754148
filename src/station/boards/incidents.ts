// The incidents board: the reports of one sender about one incident type fold into one incident
// (the latest report's severity, casualties and place; every hazard named). An ack naming one of
// its reports acknowledges it ("received", "wilco") or closes it ("complete", when later than the
// latest report: a report after the close opens it again). A pure function of the set of records.
import type { FieldRecord, IncidentBody } from "../../wire/index.ts";
import type { IncidentCard } from "../types.ts";
import { actOf, compareRecords, hex8, idKey, insertSorted } from "./order.ts";

interface Entry {
  reports: Array<FieldRecord & { body: IncidentBody }>;
  card?: IncidentCard;
}

export class IncidentsBoard {
  private readonly entries = new Map<string, Entry>();
  /** Report log key -> incident key. */
  private readonly byReport = new Map<string, string>();
  /** Report log key -> the acks that name it (they may arrive before the report). */
  private readonly acks = new Map<string, FieldRecord[]>();

  add(record: FieldRecord): boolean {
    const body = record.body;
    if (body.kind === "incident") {
      const key = `${hex8(record.id.origin)}:${body.incident}`;
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { reports: [] };
        this.entries.set(key, entry);
      }
      if (!insertSorted(entry.reports, record)) return false;
      this.byReport.set(idKey(record.id), key);
      entry.card = this.card(key, entry);
      return true;
    }
    if (body.kind === "ack") {
      const touched = new Set<string>();
      for (const ref of body.refs) {
        const reportKey = idKey(ref);
        const list = this.acks.get(reportKey) ?? [];
        if (!insertSorted(list, record)) continue;
        this.acks.set(reportKey, list);
        const incident = this.byReport.get(reportKey);
        if (incident) touched.add(incident);
      }
      for (const key of touched) {
        const entry = this.entries.get(key);
        if (entry) entry.card = this.card(key, entry);
      }
      return touched.size > 0;
    }
    return false;
  }

  get(key: string): IncidentCard | undefined {
    return this.entries.get(key)?.card;
  }

  /** Open first, then newest first. */
  cards(): IncidentCard[] {
    const cards: IncidentCard[] = [];
    for (const entry of this.entries.values()) if (entry.card) cards.push(entry.card);
    return cards.sort((a, b) => (a.state === b.state ? 0 : a.state === "open" ? -1 : 1) || b.updated.at - a.updated.at || a.key.localeCompare(b.key));
  }

  private card(key: string, entry: Entry): IncidentCard {
    const first = entry.reports[0] as FieldRecord & { body: IncidentBody };
    const latest = entry.reports[entry.reports.length - 1] as FieldRecord & { body: IncidentBody };
    const hazards = new Set<string>();
    const acks: FieldRecord[] = [];
    for (const report of entry.reports) {
      for (const hazard of report.body.hazards ?? []) hazards.add(hazard);
      acks.push(...(this.acks.get(idKey(report.id)) ?? []));
    }
    acks.sort(compareRecords);
    const out: IncidentCard = {
      key,
      incident: latest.body.incident,
      state: "open",
      reported: actOf(first),
      updated: actOf(latest),
      severity: latest.body.severity,
      casualties: latest.body.casualties,
      triage: { ...(latest.body.triage ?? {}) },
      hazards: [...hazards].sort(),
      responderOnScene: latest.body.responderOnScene === true,
      reports: entry.reports.length,
    };
    if (latest.body.people !== undefined) out.people = latest.body.people;
    const place = [...entry.reports].reverse().find((report) => report.body.place)?.body.place;
    if (place) out.place = place;
    for (const ack of acks) {
      if (ack.body.kind !== "ack") continue;
      if (ack.body.code === "complete") {
        if (compareRecords(ack, latest) > 0) {
          out.state = "closed";
          out.closed = actOf(ack);
        }
      } else if ((ack.body.code === "received" || ack.body.code === "wilco") && !out.acknowledged) out.acknowledged = actOf(ack);
    }
    return out;
  }
}
