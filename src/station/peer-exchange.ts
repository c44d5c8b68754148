// What base stations exchange about each other's logs on meshaid's port: which records each
// holds (group delivery, `group-delivery.ts`) and which it lacks (gap repair, `gap-repair.ts`).
// The station feeds it what it hears and stores; it keeps, per base station, the runs of that
// station's seqs held here.
import type { Logger } from "pino";
import type { DecodedPayload, FieldRecord, RecordId, SeqRun } from "../wire/index.ts";
import type { PeerLog } from "../store/index.ts";
import { GroupDelivery, type GroupDeliveryOptions } from "./group-delivery.ts";
import { GapRepair, type GapRepairOptions } from "./gap-repair.ts";
import { HoldingDigests, type DigestOptions } from "./holding-digest.ts";
import { SeqSet } from "./seq-set.ts";
import type { GapStatus, PeerStationStatus, StationsHolding } from "./types.ts";

/** Timings and bounds of group delivery and gap repair (defaults in each file). */
export type PeerExchangeTuning = Pick<GroupDeliveryOptions, "heldDelayMs" | "announceMs" | "firstAnnounceMs"> &
  Pick<GapRepairOptions, "graceMs" | "retryBaseMs" | "maxRequests" | "resendWindowMs" | "backfill" | "horizon" | "maxWanted" | "maxResendPerRequest" | "maxResendQueued"> & {
    /** Holding digests (holding-digest.ts): timings and bounds. */
    digest?: Partial<Pick<DigestOptions, "windowMs" | "delayMs" | "repeatMs" | "graceMs" | "maxHashes" | "maxPushQueued" | "maxPulls" | "pushWindowMs" | "pushDelayMs">>;
  };

/** What the gap repair needs is passed through to it as given. */
export interface PeerExchangeOptions
  extends Pick<GapRepairOptions, "scheduler" | "store" | "codebook" | "auth" | "now" | "timers" | "logger" | "self" | "latestOwn" | "callsign" | "classOf" | "onGaveUp"> {
  peers?: PeerLog;
  /** Another station now holds these runs of our seqs. */
  onHeld: (station: number, added: SeqRun[]) => void;
  tuning?: Partial<PeerExchangeTuning>;
}

/** Nodes whose records were heard on meshaid's port before they announced themselves, followed at most. */
const MAX_CANDIDATES = 64;
/** Hop counts remembered per base station: what reaches it is the fewest it was heard over lately. */
const HOPS_KEPT = 8;

export class PeerExchange {
  private readonly holdings = new Map<number, SeqSet>();
  /** Senders of meshaid records not (yet) known as base stations: what is held of them is followed, so a gap is found from the first record. */
  private readonly candidates = new Set<number>();
  private readonly group: GroupDelivery;
  private readonly repair: GapRepair;
  private readonly digests: HoldingDigests;
  /** Per base station, the hops its last packets came over. */
  private readonly hops = new Map<number, number[]>();
  private readonly self: () => number | undefined;
  private readonly log: Logger;
  /** With the coalition key, held ACKs and resend requests count only with a valid tag. */
  private readonly authenticated: boolean;

  constructor(options: PeerExchangeOptions) {
    this.self = options.self;
    this.log = options.logger;
    const tuning = options.tuning ?? {};
    const holdings = (origin: number): SeqSet | undefined => this.holdings.get(origin);
    const shared = { now: options.now, ...(options.timers ? { timers: options.timers } : {}), logger: options.logger, self: options.self, latestOwn: options.latestOwn, callsign: options.callsign, holdings, ...(options.scheduler ? { scheduler: options.scheduler } : {}) };
    this.authenticated = options.auth !== undefined;
    const hopLimit = (): number | undefined => this.hopLimit();
    this.group = new GroupDelivery({
      ...shared,
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.peers ? { peers: options.peers } : {}),
      onHeld: options.onHeld,
      digest: (sending) => this.digests.digest(sending),
      hopLimit,
      ...pick(tuning, ["heldDelayMs", "announceMs", "firstAnnounceMs"]),
    });
    this.digests = new HoldingDigests({
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      store: options.store,
      codebook: options.codebook,
      ...(options.auth ? { auth: options.auth } : {}),
      now: options.now,
      ...(options.timers ? { timers: options.timers } : {}),
      logger: options.logger,
      self: options.self,
      latestOwn: options.latestOwn,
      stations: () => this.group.stations(),
      sendHeld: () => this.group.sendNow(),
      hopLimit,
      classOf: options.classOf,
      ...tuning.digest,
    });
    this.repair = new GapRepair({
      ...shared,
      store: options.store,
      codebook: options.codebook,
      ...(options.auth ? { auth: options.auth } : {}),
      classOf: options.classOf,
      latestOf: (origin) => this.group.latestOf(origin),
      held: (id) => this.holdingOf(id.origin).add(id.seq),
      onGaveUp: options.onGaveUp,
      ...pick(tuning, ["graceMs", "retryBaseMs", "maxRequests", "resendWindowMs", "backfill", "horizon", "maxWanted", "maxResendPerRequest", "maxResendQueued"]),
    });
  }

  /** The base stations known before a restart (call before `noteStored`). */
  load(): Promise<void> {
    return this.group.load();
  }

  /** A record in the log at start. */
  noteStored(record: FieldRecord): void {
    const origin = record.id.origin;
    if (origin === this.self()) return;
    if (this.group.isStation(origin)) this.holdingOf(origin).add(record.id.seq);
    else this.digests.known(record.id, record.receivedAt); // a handheld's stored lately: not asked for again after a restart
  }

  /** After the log was read at start: what is missing of each station is asked for. */
  loaded(): void {
    for (const origin of this.group.stations()) this.repair.check(origin);
  }

  close(): void {
    this.group.close();
    this.repair.close();
    this.digests.close();
  }

  /**
   * A meshaid payload heard from `from`. A node that sends held ACKs or resend requests is a base
   * station (each announces itself soon after it starts); records alone do not make one (a phone
   * app may send meshaid records too). Its control, if any, is handled here. With the coalition
   * key, a control without a valid tag is ignored (anyone with the channel key could claim what a
   * station holds, suppressing repair, or make a station spend airtime on resends): false then.
   */
  heard(from: number, payload: DecodedPayload, hopsAway?: number): boolean {
    const control = payload.control;
    if (control && this.authenticated && payload.auth !== "valid") {
      this.log.warn({ from, control: control.kind, tag: payload.auth ?? "absent" }, "held ACK or resend request without a valid coalition tag; ignored");
      return false;
    }
    if (!control && !this.group.isStation(from)) {
      if (from !== this.self() && this.candidates.size < MAX_CANDIDATES) this.candidates.add(from);
      return true;
    }
    this.candidates.delete(from);
    if (hopsAway !== undefined) this.hops.set(from, [...(this.hops.get(from) ?? []), hopsAway].slice(-HOPS_KEPT));
    let latest = control?.latest ?? 0;
    // Only the sender's own records say how far its log goes (a record with its own id is another origin's).
    for (const record of payload.records) if (record.id.origin === from) latest = Math.max(latest, record.id.seq);
    if (this.group.heard(from, latest)) this.repair.firstHeard(from, latest);
    if (control?.kind === "held") {
      this.group.onHeldAck(from, control);
      if (control.digest) this.digests.heardDigest(from, control.digest);
    } else if (control?.kind === "resend") {
      if (control.wanted.length > 0) this.repair.onResend(from, control).catch((error: unknown) => this.log.error({ err: error, from }, "resend request could not be answered"));
      if (control.hashes) this.digests.heardPull(from, control.hashes);
    }
    const carried = payload.records.filter((record) => record.id.origin !== from).map((record) => record.id);
    if (carried.length > 0) this.digests.heardPushed(from, carried);
    if (control) this.repair.check(from);
    return true;
  }

  /** A record was stored (heard on the air when `onAir`, else relayed over the internet or written here). */
  stored(record: FieldRecord, onAir = false): void {
    const origin = record.id.origin;
    if (this.candidates.has(origin)) this.holdingOf(origin).add(record.id.seq);
    if (origin === this.self()) return;
    if (!this.group.isStation(origin)) {
      // A handheld's record: the other base stations learn of it from this station's holding digest.
      if (onAir) this.digests.stored(record.id);
      else this.digests.known(record.id, record.receivedAt);
      return;
    }
    this.holdingOf(origin).add(record.id.seq);
    this.repair.stored(record.id);
    this.group.recordStored(origin);
    this.repair.check(origin);
  }

  /** Which base stations hold one of our records; undefined while no other is known. */
  holding(id: RecordId): StationsHolding | undefined {
    if (id.origin !== this.self() || this.group.stations().length === 0) return undefined;
    return this.group.holding(id.seq);
  }

  stations(): PeerStationStatus[] {
    return this.group.status();
  }

  gaps(): GapStatus {
    return { ...this.repair.status(), handheld: this.digests.status() };
  }

  /** The hop limit that reaches every other base station: the fewest hops each was heard over lately; undefined until each was heard with a hop count. */
  private hopLimit(): number | undefined {
    const stations = this.group.stations();
    if (stations.length === 0) return undefined; // an announcement: to whoever may be a base station, as far as the mesh goes
    let limit = 0;
    for (const station of stations) {
      const seen = this.hops.get(station);
      if (!seen || seen.length === 0) return undefined;
      limit = Math.max(limit, Math.min(...seen));
    }
    return limit;
  }

  private holdingOf(origin: number): SeqSet {
    let set = this.holdings.get(origin);
    if (!set) {
      set = new SeqSet();
      this.holdings.set(origin, set);
    }
    return set;
  }
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
