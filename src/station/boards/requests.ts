// The requests board: each supply request with the status records that refer to it. A card is a
// pure function of the sorted set of its records, so it does not matter which arrived first (a
// status may be heard before its request: it waits for it).
//
// Kept per request: its act with its lines, priority, place and need-by, and each status as an act with
// its status and ETA; cards are made when asked for (a rebuild makes none) and kept until the
// request changes.
import type { FieldRecord, Place, Priority, SupplyLine, SupplyRequestBody, SupplyStatus } from "../../wire/index.ts";
import type { RequestCard, RequestMatch, RequestState } from "../types.ts";
import { Act, IdMap, insertSorted, Interner, parseIdKey } from "./order.ts";

/**
 * How far along a status is. The furthest wins; between two of the same rank, the later (in the
 * boards' order). So "delivered" from one station and "acknowledged" from another merge to
 * "delivered" on both, whichever arrived first.
 */
const RANK: Record<SupplyStatus, number> = { acknowledged: 1, unable: 1, en_route: 2, delivered: 3, cancelled: 3 };

/** A supply request: its act, and what it asked for. */
class Asked extends Act {
  readonly lines: SupplyLine[];
  readonly priority: Priority;
  readonly place: Place | undefined;
  readonly needByMin: number | undefined;

  constructor(record: FieldRecord, sender: string | undefined, lines: SupplyLine[], body: SupplyRequestBody) {
    super(record.id.origin >>> 0, record.id.seq >>> 0, record.receivedAt, sender);
    this.lines = lines;
    this.priority = body.priority;
    this.place = body.place;
    this.needByMin = body.needByMin;
  }
}

class StatusStep extends Act {
  readonly status: SupplyStatus;
  readonly etaMin: number | undefined;

  constructor(record: FieldRecord, sender: string | undefined, status: SupplyStatus, etaMin: number | undefined) {
    super(record.id.origin >>> 0, record.id.seq >>> 0, record.receivedAt, sender);
    this.status = status;
    this.etaMin = etaMin;
  }
}

class Offer extends Act {
  readonly lines: SupplyLine[];
  readonly place: Place | undefined;

  constructor(record: FieldRecord, sender: string | undefined, lines: SupplyLine[], place: Place | undefined) {
    super(record.id.origin >>> 0, record.id.seq >>> 0, record.receivedAt, sender);
    this.lines = lines;
    this.place = place;
  }
}

interface Entry {
  request: Asked | undefined;
  /** Sorted in the boards' order; undefined until the first. */
  statuses: StatusStep[] | undefined;
  /** The card, made when first asked for after a change. */
  card: RequestCard | undefined;
  dirty: boolean;
}

/** Metres between two places, when the site plan can tell. */
export type PlaceDistance = (a: Place, b: Place) => number | undefined;

export class RequestsBoard {
  private readonly entries = new IdMap<Entry>();
  private sorted: RequestCard[] | undefined;
  /** Offers (and stock on hand) by item, in the boards' order. */
  private readonly offers = new Map<string, Offer[]>();
  /** The requests that ask for each item (an offer of it may match them). */
  private readonly asking = new Map<string, Entry[]>();
  private readonly distance: PlaceDistance;
  private readonly strings: Interner;

  constructor(distance: PlaceDistance = () => undefined, strings = new Interner()) {
    this.distance = distance;
    this.strings = strings;
  }

  /** Folds a record in; true when a card changed. */
  add(record: FieldRecord): boolean {
    const body = record.body;
    if (body.kind === "supply_request") {
      const entry = this.entry(record.id.origin, record.id.seq);
      if (entry.request) return false;
      const lines = this.lines(body.lines);
      entry.request = new Asked(record, this.strings.of(record.sender), lines, body);
      for (const line of lines) {
        let list = this.asking.get(line.item);
        if (!list) this.asking.set(line.item, (list = []));
        if (list[list.length - 1] !== entry) list.push(entry);
      }
      return this.touch(entry);
    }
    if (body.kind === "supply_offer") {
      const offer = new Offer(record, this.strings.of(record.sender), this.lines(body.lines), body.place);
      let changed = false;
      const items = new Set(offer.lines.map((line) => line.item));
      for (const item of items) {
        let list = this.offers.get(item);
        if (!list) this.offers.set(item, (list = []));
        changed = insertSorted(list, offer) || changed;
      }
      if (!changed) return false;
      // Requests for these items may now have a match.
      let touched = false;
      for (const item of items) for (const entry of this.asking.get(item) ?? []) touched = this.touch(entry);
      return touched;
    }
    if (body.kind === "supply_status" && body.ref) {
      const entry = this.entry(body.ref.origin, body.ref.seq);
      const step = new StatusStep(record, this.strings.of(record.sender), body.status, body.etaMin);
      if (!entry.statuses) entry.statuses = [step];
      else if (!insertSorted(entry.statuses, step)) return false;
      this.touch(entry);
      return entry.request !== undefined;
    }
    return false;
  }

  /** The card of the request with this log key. */
  get(key: string): RequestCard | undefined {
    const id = parseIdKey(key);
    const entry = id && this.entries.get(id.origin, id.seq);
    return entry ? this.cardOf(entry) : undefined;
  }

  /** Newest request first. */
  cards(): RequestCard[] {
    if (!this.sorted) {
      const cards: RequestCard[] = [];
      for (const entry of this.entries.values()) {
        const card = this.cardOf(entry);
        if (card) cards.push(card);
      }
      this.sorted = cards.sort((a, b) => b.requested.at - a.requested.at || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    }
    return [...this.sorted];
  }

  /**
   * Copies of the lines, their item names interned (a decoded record is not kept), frozen: every
   * card of the request shares them.
   */
  private lines(lines: readonly SupplyLine[]): SupplyLine[] {
    // A shared body's lines (a preset's, or a body read from the log: frozen through and through,
    // one object for thousands of records) are kept as they are.
    if (Object.isFrozen(lines) && lines.every((line) => Object.isFrozen(line))) return lines as SupplyLine[];
    return Object.freeze(lines.map((line) => Object.freeze(line.quantity === undefined ? { item: this.strings.of(line.item) } : { item: this.strings.of(line.item), quantity: line.quantity }))) as SupplyLine[];
  }

  private cardOf(entry: Entry): RequestCard | undefined {
    if (entry.dirty) {
      entry.card = entry.request ? card(entry.request, entry.statuses) : undefined;
      if (entry.card && (entry.card.state === "open" || entry.card.state === "acknowledged")) {
        const match = this.matchFor(entry.card);
        if (match) entry.card.match = match;
      }
      entry.dirty = false;
    }
    return entry.card;
  }

  /**
   * An offer of an item the request asks for, with at least the quantity asked (an offer that
   * does not say how many fills only a request that does not either), nearest first, then the
   * newest. A suggestion only: nothing is reserved.
   */
  private matchFor(request: RequestCard): RequestMatch | undefined {
    let best: { match: RequestMatch; distance: number; offer: Offer } | undefined;
    for (const line of request.lines) {
      for (const offer of this.offers.get(line.item) ?? []) {
        const has = offer.lines.find((l) => l.item === line.item);
        if (!has) continue;
        const enough = line.quantity === undefined || (has.quantity !== undefined && has.quantity >= line.quantity);
        if (!enough) continue;
        const place = offer.place;
        const distance = request.place && place ? this.distance(request.place, place) : undefined;
        const rank = distance ?? Number.POSITIVE_INFINITY;
        if (best && (rank > best.distance || (rank === best.distance && offer.at <= best.offer.at))) continue;
        const match: RequestMatch = { offer: offer.view(), item: line.item };
        if (has.quantity !== undefined) match.quantity = has.quantity;
        if (place) match.place = place;
        if (distance !== undefined) match.distanceM = Math.round(distance);
        best = { match, distance: rank, offer };
      }
    }
    return best?.match;
  }

  private touch(entry: Entry): true {
    entry.dirty = true;
    this.sorted = undefined;
    return true;
  }

  private entry(origin: number, seq: number): Entry {
    let entry = this.entries.get(origin, seq);
    if (!entry) {
      entry = { request: undefined, statuses: undefined, card: undefined, dirty: false };
      this.entries.set(origin, seq, entry);
    }
    return entry;
  }
}

/** The history of a request no status refers to yet (shared, so frozen). */
const NO_HISTORY: RequestCard["history"] = Object.freeze([]) as unknown as RequestCard["history"];

/**
 * A request's card. A station holds one per request (20,000 in a big log): the id, the lines and
 * an empty history are shared, not copied.
 */
function card(request: Asked, statuses: readonly StatusStep[] | undefined): RequestCard {
  const id = { origin: request.origin, seq: request.seq };
  const out: RequestCard = {
    id,
    key: request.key,
    requested: { id, by: request.by, at: request.at },
    lines: request.lines,
    priority: request.priority,
    state: "open",
    history: statuses ? [] : NO_HISTORY,
  };
  if (request.place) out.place = request.place;
  if (request.needByMin !== undefined) out.needByMin = request.needByMin;
  let decided: StatusStep | undefined;
  for (const status of statuses ?? []) {
    const step: RequestCard["history"][number] = { ...status.view(), status: status.status };
    if (status.etaMin !== undefined) step.etaMin = status.etaMin;
    out.history.push(step);
    // Sorted ascending, so ">=" lets the later of two equal ranks win.
    if (!decided || RANK[status.status] >= RANK[decided.status]) decided = status;
  }
  if (decided) {
    out.state = decided.status satisfies RequestState;
    out.decidedBy = decided.view();
    if (decided.status === "en_route" && decided.etaMin !== undefined) {
      out.etaMin = decided.etaMin;
      out.etaAt = decided.at + decided.etaMin * 60_000;
    }
  }
  return out;
}
