// The shift board: per callsign, whether on shift, at which post and role, since when (the latest
// shift record about them: "on"/"off" from their own radio, or a handoff naming them), the latest
// check-in, and whether a check-in is overdue. Handoffs are listed with who confirmed them. Every
// fold is "latest", "earliest" or a union, so the board is a pure function of the set of records
// (and, for `overdue`, of the moment asked about). Of each record only its act and what the card
// shows is kept.
import type { CheckinStatus, FieldRecord, Place, ShiftBody } from "../../wire/index.ts";
import type { HandoffCard, ShiftCard } from "../types.ts";
import { actOf, compareToAct, Interner, senderOf, type Act } from "./order.ts";

interface Turn {
  act: Act;
  on: boolean;
  place: Place | undefined;
}

interface Person {
  /** The latest shift record that turns this callsign on or off (folds are "latest wins": order-independent). */
  latest?: Turn;
  /** The latest of those that names a role, and the role. */
  roled?: { act: Act; role: string };
  lastCheckin?: { act: Act; status: CheckinStatus; battery: number | undefined };
}

interface Handoff {
  first: { act: Act; from: string; to: string; place: Place | undefined };
  /** The earliest that names a role. */
  roled?: { act: Act; role: string };
  senders: Set<string>;
}

export class ShiftsBoard {
  private readonly people = new Map<string, Person>();
  private readonly handoffs = new Map<string, Handoff>();
  private readonly checkinIntervalMs: number;
  private readonly strings: Interner;

  /** `checkinIntervalMs`: how long someone on shift may go without a check-in. */
  constructor(checkinIntervalMs: number, strings = new Interner()) {
    this.checkinIntervalMs = checkinIntervalMs;
    this.strings = strings;
  }

  add(record: FieldRecord): boolean {
    const body = record.body;
    if (body.kind === "shift") {
      if (body.action === "handoff") {
        let changed = false;
        if (body.from) changed = this.turn(body.from, record, body, false) || changed;
        if (body.to) changed = this.turn(body.to, record, body, true) || changed;
        // Only from one callsign to another is a handoff; "to" alone is an assignment, "from" alone an end.
        if (!body.from || !body.to) return changed;
        const key = `${body.from}>${body.to}`;
        let handoff = this.handoffs.get(key);
        if (!handoff) {
          handoff = { first: { act: actOf(record, this.strings), from: this.strings.of(body.from), to: this.strings.of(body.to), place: body.place }, senders: new Set<string>() };
          this.handoffs.set(key, handoff);
        } else if (compareToAct(record, handoff.first.act) < 0) {
          handoff.first = { act: actOf(record, this.strings), from: handoff.first.from, to: handoff.first.to, place: body.place };
        }
        if (body.role && (!handoff.roled || compareToAct(record, handoff.roled.act) < 0)) handoff.roled = { act: actOf(record, this.strings), role: this.strings.of(body.role) };
        const sender = this.strings.of(senderOf(record));
        if (!handoff.senders.has(sender)) {
          handoff.senders.add(sender);
          changed = true;
        }
        return changed;
      }
      return this.turn(senderOf(record), record, body, body.action === "on");
    }
    if (body.kind === "checkin") {
      const person = this.person(senderOf(record));
      if (person.lastCheckin && compareToAct(record, person.lastCheckin.act) <= 0) return false;
      person.lastCheckin = { act: actOf(record, this.strings), status: body.status, battery: body.battery };
      return true;
    }
    return false;
  }

  cards(asOf: number): ShiftCard[] {
    const cards: ShiftCard[] = [];
    for (const [callsign, person] of this.people) {
      const latest = person.latest;
      if (!latest) continue;
      const card: ShiftCard = { callsign, onShift: latest.on, since: latest.act.view(), overdue: false };
      if (person.roled) card.role = person.roled.role;
      if (latest.place) card.place = latest.place;
      const checkin = person.lastCheckin;
      if (checkin) {
        card.lastCheckin = { ...checkin.act.view(), status: checkin.status };
        if (checkin.battery !== undefined) card.lastCheckin.battery = checkin.battery;
      }
      const lastSign = Math.max(latest.act.at, checkin?.act.at ?? 0);
      card.overdue = card.onShift && asOf - lastSign > this.checkinIntervalMs;
      cards.push(card);
    }
    return cards.sort((a, b) => Number(b.onShift) - Number(a.onShift) || a.callsign.localeCompare(b.callsign));
  }

  handoffCards(): HandoffCard[] {
    const cards: HandoffCard[] = [];
    for (const [key, { first, roled, senders }] of this.handoffs) {
      const confirmedBy = [...senders].sort();
      const card: HandoffCard = { key, from: first.from, to: first.to, at: first.act.view(), confirmedBy, confirmed: confirmedBy.includes(first.from) && confirmedBy.includes(first.to) };
      if (roled) card.role = roled.role;
      if (first.place) card.place = first.place;
      cards.push(card);
    }
    return cards.sort((a, b) => b.at.at - a.at.at || a.key.localeCompare(b.key));
  }

  private turn(callsign: string, record: FieldRecord, body: ShiftBody, on: boolean): boolean {
    const person = this.person(callsign);
    let changed = false;
    if (body.role && (!person.roled || compareToAct(record, person.roled.act) > 0)) {
      person.roled = { act: actOf(record, this.strings), role: this.strings.of(body.role) };
      changed = true;
    }
    if (!person.latest || compareToAct(record, person.latest.act) > 0) {
      person.latest = { act: actOf(record, this.strings), on, place: body.place };
      changed = true;
    }
    return changed;
  }

  private person(callsign: string): Person {
    let person = this.people.get(callsign);
    if (!person) {
      person = {};
      this.people.set(this.strings.of(callsign), person);
    }
    return person;
  }
}
