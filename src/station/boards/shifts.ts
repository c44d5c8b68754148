// The shift board: per callsign, whether on shift, at which post and role, since when (the latest
// shift record about them: "on"/"off" from their own radio, or a handoff naming them), the latest
// check-in, and whether a check-in is overdue. Handoffs are listed with who confirmed them. Every
// fold is "latest", "earliest" or a union, so the board is a pure function of the set of records
// (and, for `overdue`, of the moment asked about).
import type { CheckinBody, FieldRecord, ShiftBody } from "../../wire/index.ts";
import type { HandoffCard, ShiftCard } from "../types.ts";
import { actOf, compareRecords, senderOf } from "./order.ts";

type Shift = FieldRecord & { body: ShiftBody };

interface Person {
  /** The latest shift record that turns this callsign on or off (folds are "latest wins": order-independent). */
  latest?: { record: Shift; on: boolean };
  /** The latest of those that names a role. */
  roled?: Shift;
  lastCheckin?: FieldRecord & { body: CheckinBody };
}

interface Handoff {
  first: Shift;
  /** The earliest that names a role. */
  roled?: Shift;
  senders: Set<string>;
}

export class ShiftsBoard {
  private readonly people = new Map<string, Person>();
  private readonly handoffs = new Map<string, Handoff>();

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
        // Only from one callsign to another is a handoff; "to" alone is an assignment, "from" alone an end.
        if (!body.from || !body.to) return changed;
        const key = `${body.from}>${body.to}`;
        const handoff = this.handoffs.get(key) ?? { first: shift, senders: new Set<string>() };
        this.handoffs.set(key, handoff);
        if (compareRecords(shift, handoff.first) < 0) handoff.first = shift;
        if (body.role && (!handoff.roled || compareRecords(shift, handoff.roled) < 0)) handoff.roled = shift;
        const sender = senderOf(record);
        if (!handoff.senders.has(sender)) {
          handoff.senders.add(sender);
          changed = true;
        }
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
      const latest = person.latest;
      if (!latest) continue;
      const card: ShiftCard = { callsign, onShift: latest.on, since: actOf(latest.record), overdue: false };
      const role = person.roled?.body.role;
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
    for (const [key, { first, roled, senders }] of this.handoffs) {
      const from = first.body.from ?? "?";
      const to = first.body.to ?? "?";
      const confirmedBy = [...senders].sort();
      const card: HandoffCard = { key, from, to, at: actOf(first), confirmedBy, confirmed: confirmedBy.includes(from) && confirmedBy.includes(to) };
      const role = roled?.body.role;
      if (role) card.role = role;
      if (first.body.place) card.place = first.body.place;
      cards.push(card);
    }
    return cards.sort((a, b) => b.at.at - a.at.at || a.key.localeCompare(b.key));
  }

  private turn(callsign: string, record: Shift, on: boolean): boolean {
    const person = this.person(callsign);
    let changed = false;
    if (record.body.role && (!person.roled || compareRecords(record, person.roled) > 0)) {
      person.roled = record;
      changed = true;
    }
    if (!person.latest || compareRecords(record, person.latest.record) > 0) {
      person.latest = { record, on };
      changed = true;
    }
    return changed;
  }

  private person(callsign: string): Person {
    let person = this.people.get(callsign);
    if (!person) {
      person = {};
      this.people.set(callsign, person);
    }
    return person;
  }
}
