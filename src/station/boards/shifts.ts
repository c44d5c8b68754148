// The shift board: per callsign, whether on shift, at which post and role, since when (the latest
// shift record about them: "on"/"off" from their own radio, or a handoff naming them), the latest
// check-in, and whether a check-in is overdue. Handoffs are listed with who confirmed them. A
// pure function of the set of records (and, for `overdue`, of the moment asked about).
import type { CheckinBody, FieldRecord, ShiftBody } from "../../wire/index.ts";
import type { HandoffCard, ShiftCard } from "../types.ts";
import { actOf, compareRecords, insertSorted, senderOf } from "./order.ts";

interface Person {
  /** Shift records that turn this callsign on or off, sorted. */
  shifts: Array<{ record: FieldRecord & { body: ShiftBody }; on: boolean }>;
  lastCheckin?: FieldRecord & { body: CheckinBody };
}

export class ShiftsBoard {
  private readonly people = new Map<string, Person>();
  private readonly handoffs = new Map<string, FieldRecord[]>();

  private readonly checkinIntervalMs: number;

  /** `checkinIntervalMs`: how long someone on shift may go without a check-in. */
  constructor(checkinIntervalMs: number) {
    this.checkinIntervalMs = checkinIntervalMs;
  }

  add(record: FieldRecord): boolean {
    const body = record.body;
    if (body.kind === "shift") {
      const shift = record as FieldRecord & { body: ShiftBody };
      if (body.action === "handoff") {
        let changed = false;
        if (body.from) changed = this.turn(body.from, shift, false) || changed;
        if (body.to) changed = this.turn(body.to, shift, true) || changed;
        const key = `${body.from ?? "?"}>${body.to ?? "?"}`;
        const list = this.handoffs.get(key) ?? [];
        if (insertSorted(list, record)) changed = true;
        this.handoffs.set(key, list);
        return changed;
      }
      return this.turn(senderOf(record), shift, body.action === "on");
    }
    if (body.kind === "checkin") {
      const person = this.person(senderOf(record));
      if (person.lastCheckin && compareRecords(person.lastCheckin, record) >= 0) return false;
      person.lastCheckin = record as FieldRecord & { body: CheckinBody };
      return true;
    }
    return false;
  }

  cards(asOf: number): ShiftCard[] {
    const cards: ShiftCard[] = [];
    for (const [callsign, person] of this.people) {
      const latest = person.shifts[person.shifts.length - 1];
      if (!latest) continue;
      const card: ShiftCard = { callsign, onShift: latest.on, since: actOf(latest.record), overdue: false };
      const role = [...person.shifts].reverse().find((shift) => shift.record.body.role)?.record.body.role;
      if (role) card.role = role;
      if (latest.record.body.place) card.place = latest.record.body.place;
      const checkin = person.lastCheckin;
      if (checkin) {
        card.lastCheckin = { ...actOf(checkin), status: checkin.body.status };
        if (checkin.body.battery !== undefined) card.lastCheckin.battery = checkin.body.battery;
      }
      const lastSign = Math.max(latest.record.receivedAt, checkin?.receivedAt ?? 0);
      card.overdue = card.onShift && asOf - lastSign > this.checkinIntervalMs;
      cards.push(card);
    }
    return cards.sort((a, b) => Number(b.onShift) - Number(a.onShift) || a.callsign.localeCompare(b.callsign));
  }

  handoffCards(): HandoffCard[] {
    const cards: HandoffCard[] = [];
    for (const [key, records] of this.handoffs) {
      const first = records[0] as FieldRecord & { body: ShiftBody };
      const from = first.body.from ?? "?";
      const to = first.body.to ?? "?";
      const confirmedBy = [...new Set(records.map(senderOf))].sort();
      const card: HandoffCard = { key, from, to, at: actOf(first), confirmedBy, confirmed: confirmedBy.includes(from) && confirmedBy.includes(to) };
      const role = records.map((record) => (record.body.kind === "shift" ? record.body.role : undefined)).find(Boolean);
      if (role) card.role = role;
      if (first.body.place) card.place = first.body.place;
      cards.push(card);
    }
    return cards.sort((a, b) => b.at.at - a.at.at || a.key.localeCompare(b.key));
  }

  private turn(callsign: string, record: FieldRecord & { body: ShiftBody }, on: boolean): boolean {
    const person = this.person(callsign);
    const list = person.shifts.map((shift) => shift.record);
    if (!insertSorted(list, record)) return false;
    const at = list.indexOf(record);
    person.shifts.splice(at, 0, { record, on });
    return true;
  }

  private person(callsign: string): Person {
    let person = this.people.get(callsign);
    if (!person) {
      person = { shifts: [] };
      this.people.set(callsign, person);
    }
    return person;
  }
}
