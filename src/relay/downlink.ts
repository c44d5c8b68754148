// The downlink: records from internet peers that this station's radio neighbourhood needs go on
// the air through the station's transmit scheduler, within their own airtime budget, and nothing
// else does (a known Meshtastic failure is MQTT downlink flooding the mesh).
//
// What goes: a short text to a handheld heard here, for a status change about its supply request
// ("ACK WATER ETA 5") or an acknowledgement of its report; and, for a request that came on
// meshaid's port (a base station here packed it onto the air), the status change itself, packed
// as a meshaid record for the base stations here. On the air a record's origin is the node that
// transmits it, so it goes as this station's own record (Station.send: its node, its next
// sequence number) carrying the same body and reference; each (request, status) once.
// A supply request or incident report from a peer placed where this station's radio serves (the
// landmarks of the site plan it names, `meshaid start --serves`, or within a distance of one) goes
// packed for the base stations here with its own id (Station.sendAsIs), once: the coordinators
// there dispatch from it, and a station there that gets it through the relay too holds it once.
// It is not texted to handhelds: a broadcast text costs every handheld's airtime and nobody acts
// on a request until a coordinator dispatches someone (whose reply then goes as a text).
// Never: anything a radio said (a peer's radio heard it; it is not re-sent to this mesh), a record
// whose origin is a node heard here (it was on this mesh already), records this station already
// held, anything once the budget of the rolling window is spent.
import type { Logger } from "pino";
import type { PriorityClass } from "../station/index.ts";
import { replyText } from "../station/index.ts";
import type { RecordStore } from "../store/index.ts";
import { landmarkByCode, packRecords, type AckCode, type Codebook, type FieldRecord, type Place, type RecordBody, type SitePlan } from "../wire/index.ts";

/** The sender of a record an older downlink re-issued for a peer under its own id: never sent on again. */
export const RELAY_SENDER = "RELAY";

/** The part of the site this station's radio serves. */
export interface ServedArea {
  site: SitePlan;
  /** Landmark codes of the site plan. */
  landmarks: ReadonlySet<number>;
  /** A place given as an offset or coordinates within this distance of a served landmark is served too. */
  withinMetres: number;
}

const METRES_PER_DEGREE = 111_320;

/**
 * The served area from landmark names, aliases or codes (`--serves "North Gate,5"`), or a line
 * saying which one the site plan does not have.
 */
export function servedArea(site: SitePlan, names: readonly string[], withinMetres = 150): ServedArea | string {
  const landmarks = new Set<number>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === "") continue;
    const found = site.landmarks.find((landmark) => String(landmark.code) === name || landmark.label.toLowerCase() === name || landmark.aliases.some((alias) => alias.toLowerCase() === name));
    if (!found) return `--serves "${raw.trim()}": the site plan "${site.name}" has no such landmark (give a label, an alias or a code: ${site.landmarks.map((landmark) => `${landmark.code} ${landmark.label}`).join(", ")})`;
    landmarks.add(found.code);
  }
  if (landmarks.size === 0) return "--serves: name at least one landmark of the site plan";
  if (!Number.isFinite(withinMetres) || withinMetres < 0) return `--serves-within ${withinMetres}: a distance in metres, 0 or more`;
  return { site, landmarks, withinMetres };
}

/** Is this place in the served area? A landmark is served by code; an offset or coordinates by distance to a served landmark. */
export function isServed(area: ServedArea, place: Place | undefined): boolean {
  if (!place) return false;
  if ("landmark" in place) return area.landmarks.has(place.landmark);
  const { origin } = area.site;
  const metresPerLon = METRES_PER_DEGREE * Math.cos((origin.lat * Math.PI) / 180);
  // East and north of the site origin, in metres.
  const at = "east" in place ? place : { east: (place.lon - origin.lon) * metresPerLon, north: (place.lat - origin.lat) * METRES_PER_DEGREE };
  for (const code of area.landmarks) {
    const landmark = landmarkByCode(area.site, code);
    if (!landmark) continue;
    const east = (landmark.lon - origin.lon) * metresPerLon;
    const north = (landmark.lat - origin.lat) * METRES_PER_DEGREE;
    if (Math.hypot(at.east - east, at.north - north) <= area.withinMetres) return true;
  }
  return false;
}

/** What a handheld reads for an acknowledgement of its report. */
const ACK_WORDS: Record<AckCode, string> = { received: "ACK RECEIVED", wilco: "ACK WILCO", unable: "UNABLE", complete: "CLOSED" };

/** The part of the station's TransmitScheduler the downlink uses. */
export interface DownlinkScheduler {
  enqueue(priority: PriorityClass, request: { text?: string; record?: Uint8Array; to?: number }, batch?: string): number;
}

export interface DownlinkOptions {
  scheduler: DownlinkScheduler;
  store: RecordStore;
  /** Was this node (a handheld) heard on this station's radio? */
  heardHere: (node: number) => boolean;
  /** Time on air of a payload of this many bytes (the scheduler's estimate). */
  airtimeMs: (payloadBytes: number) => number;
  /**
   * Puts a record body on meshaid's port for the base stations here, as this station's own record
   * (Station.send with stations: true); resolves whether it was queued. Without it, records go
   * only as texts to handhelds.
   */
  stations?: {
    codebook: Codebook;
    send: (body: RecordBody) => Promise<boolean>;
    /** Puts a peer's record on meshaid's port with its own id (Station.sendAsIs); resolves whether it was queued. */
    sendAsIs: (record: FieldRecord) => Promise<boolean>;
  };
  /** Where this station's radio serves: peers' requests and incidents placed there go on the air (with `stations`). */
  serves?: ServedArea;
  /** Airtime the downlink may use per window, ms (default: 10 % of a 10 % duty cycle: 36 s an hour). */
  budgetMs?: number;
  windowMs?: number;
  logger: Logger;
  now?: () => number;
}

export interface DownlinkState {
  airtimeUsedMs: number;
  airtimeBudgetMs: number;
  sent: number;
  /** Needed here, but over the budget: kept off the air (stored and shown all the same). */
  withheld: number;
}

const HOUR = 3_600_000;

type Send =
  | { priority: PriorityClass; request: { text: string; to: number }; bytes: number; batch: string }
  | { priority: PriorityClass; record: RecordBody; once: string; bytes: number }
  | { priority: PriorityClass; asIs: FieldRecord; once: string; bytes: number };

export class Downlink {
  private readonly options: DownlinkOptions;
  private readonly budgetMs: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly used: Array<{ at: number; ms: number }> = [];
  private sent = 0;
  private withheld = 0;
  /** (request, status) pairs and peers' records already put on the air as records: two stations that both hear a base station never bounce one between them. */
  private readonly reissued = new Set<string>();

  constructor(options: DownlinkOptions) {
    this.options = options;
    this.windowMs = options.windowMs ?? HOUR;
    this.budgetMs = options.budgetMs ?? 0.1 * 0.1 * this.windowMs;
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ module: "downlink" });
  }

  state(): DownlinkState {
    return { airtimeUsedMs: this.usedMs(), airtimeBudgetMs: this.budgetMs, sent: this.sent, withheld: this.withheld };
  }

  /** Records a peer relayed and this station had not held: the ones the mesh here needs go on the air. */
  async offer(records: readonly FieldRecord[], from: string): Promise<void> {
    for (const record of records) {
      // Never looped back: what a radio said (read from text, or said by the handheld itself) stays off the air.
      if (record.text !== undefined || this.options.heardHere(record.id.origin)) continue;
      const sends = await this.sendsFor(record);
      if (sends.length === 0) continue;
      const cost = sends.reduce((sum, send) => sum + this.options.airtimeMs(send.bytes), 0);
      if (this.usedMs() + cost > this.budgetMs) {
        this.withheld += 1;
        this.log.info({ from, record: record.id, usedMs: this.usedMs(), budgetMs: this.budgetMs }, "downlink budget spent; relayed record kept off the air");
        continue;
      }
      this.used.push({ at: this.now(), ms: cost });
      for (const send of sends) {
        if ("request" in send) this.options.scheduler.enqueue(send.priority, send.request, send.batch);
        else if ("asIs" in send) {
          this.reissued.add(send.once);
          const queued = await this.options.stations?.sendAsIs(send.asIs).catch((error: unknown) => (this.log.warn({ err: error, from, record: record.id }, "relayed record not put on the air"), false));
          if (!queued) this.log.info({ from, record: record.id }, "relayed record refused by the station; not put on the air");
        } else {
          this.reissued.add(send.once);
          const queued = await this.options.stations?.send(send.record).catch((error: unknown) => (this.log.warn({ err: error, from, record: record.id }, "relayed record not put on the air"), false));
          if (!queued) this.log.info({ from, record: record.id }, "relayed record refused by the station; not put on the air");
        }
      }
      this.sent += 1;
      this.log.debug({ from, record: record.id }, "relayed record queued for the air");
    }
  }

  private usedMs(): number {
    const since = this.now() - this.windowMs;
    while (this.used.length > 0 && (this.used[0] as { at: number }).at <= since) this.used.shift();
    return this.used.reduce((sum, entry) => sum + entry.ms, 0);
  }

  /**
   * What the mesh here needs of a record: a short text to the handheld whose request or report it
   * answers. Only text: the meshaid record itself is not re-sent, because on the air a record's
   * origin is the transmitting node, so it would arrive at other stations as a new record (they
   * get the original through the relay).
   */
  private async sendsFor(record: FieldRecord): Promise<Send[]> {
    const body = record.body;
    if (body.kind === "supply_request" || body.kind === "incident") return this.forThisSite(record);
    if (body.kind === "supply_status") {
      const ref = body.ref;
      if (!ref || ref.origin === record.id.origin || !this.options.heardHere(ref.origin)) return [];
      const request = await this.options.store.get(ref);
      if (request?.body.kind !== "supply_request") return [];
      if (request.text === undefined) {
        // The request came packed on meshaid's port: a base station here sent it, and hears the status the same way.
        const stations = this.options.stations;
        const once = `${ref.origin}!${ref.seq}!${body.status}`;
        if (!stations || this.reissued.has(once)) return [];
        const packed = packRecords([{ seq: 1, body }], stations.codebook);
        if (!packed.ok || !packed.value[0]) return [];
        return [{ priority: "status", record: body, once, bytes: packed.value[0].length }];
      }
      const text = replyText(body.status, request.body.lines.map((line) => line.item), body.etaMin);
      return [{ priority: "status", request: { text, to: ref.origin }, bytes: Buffer.byteLength(text), batch: "ack" }];
    }
    if (body.kind === "ack") {
      const ref = body.refs.find((candidate) => candidate.origin !== record.id.origin && this.options.heardHere(candidate.origin));
      if (!ref) return [];
      const text = ACK_WORDS[body.code];
      return [{ priority: "incident", request: { text, to: ref.origin }, bytes: Buffer.byteLength(text), batch: "ack" }];
    }
    return [];
  }

  /**
   * A peer's request or incident placed where this station serves, packed for the base stations
   * here with its own id (so a station here that gets it through the relay too holds it once):
   * once per id, and never an older downlink's re-issue. No loop: a station puts an id on the air
   * at most once, and only one it did not hold before a peer relayed it (one heard here is held).
   */
  private forThisSite(record: FieldRecord): Send[] {
    const { stations, serves } = this.options;
    const body = record.body;
    if (!stations || !serves || record.sender === RELAY_SENDER || (body.kind !== "supply_request" && body.kind !== "incident")) return [];
    if (!isServed(serves, body.place)) return [];
    const once = `${record.id.origin}!${record.id.seq}`;
    if (this.reissued.has(once)) return [];
    // Its size on the air (any sender number but its own: the sender's number is not in the payload).
    const packed = packRecords([{ seq: 0, body, id: record.id }], stations.codebook, { origin: record.id.origin === 0 ? 1 : 0 });
    if (!packed.ok || !packed.value[0]) return [];
    return [{ priority: body.kind === "incident" ? "incident" : "request", asIs: record, once, bytes: packed.value[0].length }];
  }
}
