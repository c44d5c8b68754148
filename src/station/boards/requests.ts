// The requests board: each supply request with the status records that refer to it. A card is a
// pure function of the sorted set of its records, so it does not matter which arrived first (a
// status may be heard before its request: it waits for it).
import type { FieldRecord, Place, SupplyRequestBody, SupplyStatus, SupplyStatusBody } from "../../wire/index.ts";
import type { RequestCard, RequestMatch, RequestState } from "../types.ts";
import { actOf, idKey, insertSorted } from "./order.ts";

/**
 * How far along a status is. The furthest wins; between two of the same rank, the later (in the
 * boards' order). So "delivered" from one station and "acknowledged" from another merge to
 * "delivered" on both, whichever arrived first.
 */
const RANK: Record<SupplyStatus, number> = { acknowledged: 1, unable: 1, en_route: 2, delivered: 3, cancelled: 3 };

interface Entry {
  request?: FieldRecord & { body: SupplyRequestBody };
  statuses: FieldRecord[];
  /** The card, computed when first asked for after a change (a rebuild computes none). */
  card?: RequestCard | undefined;
  dirty: boolean;
}

/** Metres between two places, when the site plan can tell. */
export type PlaceDistance = (a: Place, b: Place) => number | undefined;

export class RequestsBoard {
  private readonly entries = new Map<string, Entry>();
  private sorted: RequestCard[] | undefined;
  /** Offers (and stock on hand) by item, in the boards' order. */
  private readonly offers = new Map<string, FieldRecord[]>();
  private readonly distance: PlaceDistance;

  constructor(distance: PlaceDistance = () => undefined) {
    this.distance = distance;
  }

  /** Folds a record in; true when a card changed. */
  add(record: FieldRecord): boolean {
    const body = record.body;
    if (body.kind === "supply_request") {
      const entry = this.entry(idKey(record.id));
      if (entry.request) return false;
      entry.request = compact(record, { ...body, lines: body.lines.map((line) => ({ ...line })) });
      return this.touch(entry);
    }
    if (body.kind === "supply_offer") {
      const offer = compact(record, { ...body, lines: body.lines.map((line) => ({ ...line })) });
      let changed = false;
      for (const item of new Set(body.lines.map((line) => line.item))) {
        let list = this.offers.get(item);
        if (!list) this.offers.set(item, (list = []));
        changed = insertSorted(list, offer) || changed;
      }
      if (!changed) return false;
      // Requests for these items may now have a match.
      let touched = false;
      for (const entry of this.entries.values()) {
        if (entry.request?.body.lines.some((line) => this.offers.get(line.item)?.includes(offer))) touched = this.touch(entry);
      }
      return touched;
    }
    if (body.kind === "supply_status" && body.ref) {
      const entry = this.entry(idKey(body.ref));
      const status: SupplyStatusBody = { kind: "supply_status", status: body.status };
      if (body.etaMin !== undefined) status.etaMin = body.etaMin;
      if (!insertSorted(entry.statuses, compact(record, status))) return false;
      this.touch(entry);
      return entry.request !== undefined;
    }
    return false;
  }

  get(key: string): RequestCard | undefined {
    const entry = this.entries.get(key);
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

  private cardOf(entry: Entry): RequestCard | undefined {
    if (entry.dirty) {
      entry.card = card(entry);
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
    let best: { match: RequestMatch; distance: number; offer: FieldRecord } | undefined;
    for (const line of request.lines) {
      for (const offer of this.offers.get(line.item) ?? []) {
        if (offer.body.kind !== "supply_offer") continue;
        const has = offer.body.lines.find((l) => l.item === line.item);
        if (!has) continue;
        const enough = line.quantity === undefined || (has.quantity !== undefined && has.quantity >= line.quantity);
        if (!enough) continue;
        const place = offer.body.place;
        const distance = request.place && place ? this.distance(request.place, place) : undefined;
        const rank = distance ?? Number.POSITIVE_INFINITY;
        if (best && (rank > best.distance || (rank === best.distance && offer.receivedAt <= best.offer.receivedAt))) continue;
        const match: RequestMatch = { offer: actOf(offer), item: line.item };
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

  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { statuses: [], dirty: false };
      this.entries.set(key, entry);
    }
    return entry;
  }
}

/**
 * Only what the card needs, copied: a board holds tens of thousands of these, and a record read
 * from the log may share memory with the page it was read from.
 */
function compact<B extends FieldRecord["body"]>(record: FieldRecord, body: B): FieldRecord & { body: B } {
  const out: FieldRecord & { body: B } = { id: { origin: record.id.origin, seq: record.id.seq }, receivedAt: record.receivedAt, body };
  if (record.sender !== undefined) out.sender = record.sender;
  return out;
}

function card(entry: Entry): RequestCard | undefined {
  const request = entry.request;
  if (!request) return undefined;
  const body = request.body;
  const out: RequestCard = {
    id: { ...request.id },
    key: idKey(request.id),
    requested: actOf(request),
    lines: body.lines.map((line) => ({ ...line })),
    priority: body.priority,
    state: "open",
    history: [],
  };
  if (body.place) out.place = body.place;
  if (body.needByMin !== undefined) out.needByMin = body.needByMin;
  let decided: FieldRecord | undefined;
  for (const status of entry.statuses) {
    if (status.body.kind !== "supply_status") continue;
    const step: RequestCard["history"][number] = { ...actOf(status), status: status.body.status };
    if (status.body.etaMin !== undefined) step.etaMin = status.body.etaMin;
    out.history.push(step);
    // Sorted ascending, so ">=" lets the later of two equal ranks win.
    if (!decided || (decided.body.kind === "supply_status" && RANK[status.body.status] >= RANK[decided.body.status])) decided = status;
  }
  if (decided && decided.body.kind === "supply_status") {
    out.state = decided.body.status satisfies RequestState;
    out.decidedBy = actOf(decided);
    if (decided.body.status === "en_route" && decided.body.etaMin !== undefined) {
      out.etaMin = decided.body.etaMin;
      out.etaAt = decided.receivedAt + decided.body.etaMin * 60_000;
    }
  }
  return out;
}
