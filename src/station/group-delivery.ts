// Group delivery: which base stations hold each of this station's records. A base station is a
// node that sends held ACKs or resend requests on meshaid's port: each announces itself soon after
// it starts, and a station that hears a new one answers with its own held ACK, so a station that
// joins learns of the others within seconds (records alone do not make a node a base station).
// Held ACKs say what a station holds, as runs of seqs per origin: sent soon after storing other
// stations' records, and every few minutes as an announcement that also says how far its own
// sequence reaches. They are cumulative, so a lost one costs only time, and a waiting one is
// replaced by the newer in the scheduler (never two in the queue). What each station holds of
// ours is kept in the store (PeerLog), so it survives a restart.
import type { Logger } from "pino";
import { packControl, type AuthKey, type Holding, type HoldingDigest, type SeqRun, type StationControl } from "../wire/index.ts";
import type { SendRequest } from "../radio/index.ts";
import type { PeerLog, StoredPeer } from "../store/index.ts";
import type { TransmitScheduler } from "./scheduler.ts";
import { BASE_PRIORITY } from "./holding-digest.ts";
import { SeqSet } from "./seq-set.ts";
import { processTimers, type StationTimers } from "./timers.ts";
import type { StationsHolding } from "./types.ts";

export interface GroupDeliveryOptions {
  scheduler?: TransmitScheduler;
  peers?: PeerLog;
  now: () => number;
  /** Where its timers come from (default: the process's). */
  timers?: StationTimers;
  logger: Logger;
  /** This station's node number, once known. */
  self: () => number | undefined;
  /** This station's newest own seq (0: none). */
  latestOwn: () => number;
  /** What this station holds of each origin. */
  holdings: (origin: number) => SeqSet | undefined;
  /** A node's callsign for the console. */
  callsign: (num: number) => string;
  /** The coalition key: held ACKs carry its tag, like records (a forged one could misstate who holds what). */
  auth?: AuthKey;
  /** Another station now holds these of our records (runs of our seqs). */
  onHeld: (station: number, added: SeqRun[]) => void;
  /** The holding digest each held ACK carries (holding-digest.ts). */
  digest?: (sending: boolean) => HoldingDigest | undefined;
  /** The hop limit that reaches the other base stations, when known (else the radio's). */
  hopLimit?: () => number | undefined;
  /** How long after storing other stations' records the held ACK goes (default 30 s: one for everything stored meanwhile). */
  heldDelayMs?: number;
  /** How often a held ACK goes regardless (announcement, default 10 min). */
  announceMs?: number;
  /** The first announcement after start (default 3 s). */
  firstAnnounceMs?: number;
}

/** Runs per origin in a held ACK (the newest are kept; an older run left out only looks missing). */
const MAX_RUNS = 8;

interface Peer {
  stored: StoredPeer;
  holds: SeqSet;
}

export class GroupDelivery {
  private readonly options: GroupDeliveryOptions & Required<Pick<GroupDeliveryOptions, "heldDelayMs" | "announceMs" | "firstAnnounceMs">>;
  private readonly log: Logger;
  private readonly peers = new Map<number, Peer>();
  /** `stations()` as last computed, and for which node number of ours: asked for on every record stored. */
  private stationList: { self: number | undefined; peers: number; list: readonly number[] } | undefined;
  private readonly timers: StationTimers;
  private heldTimer: unknown;
  private announceTimer: unknown;
  private closed = false;

  constructor(options: GroupDeliveryOptions) {
    this.options = { heldDelayMs: 30_000, announceMs: 600_000, firstAnnounceMs: 3000, ...options };
    this.log = options.logger.child({ component: "group-delivery" });
    this.timers = options.timers ?? processTimers;
  }

  /** Takes up the stations known before a restart and starts announcing. */
  async load(): Promise<void> {
    const stored = (await this.options.peers?.list((key, reason) => this.log.error({ key, reason }, "kept peer does not parse; skipped"))) ?? [];
    for (const peer of stored) this.peers.set(peer.num, { stored: peer, holds: new SeqSet(peer.holdsOurs) });
    if (this.options.scheduler) this.announceIn(this.options.firstAnnounceMs);
  }

  close(): void {
    this.closed = true;
    this.timers.clearTimeout(this.heldTimer);
    this.timers.clearTimeout(this.announceTimer);
  }

  /** Base stations known (not this one); a shared list, not to be changed. Stations are only ever added. */
  stations(): readonly number[] {
    const self = this.options.self();
    const cached = this.stationList;
    if (cached && cached.self === self && cached.peers === this.peers.size) return cached.list;
    const list = [...this.peers.keys()].filter((num) => num !== self);
    this.stationList = { self, peers: this.peers.size, list };
    return list;
  }

  isStation(num: number): boolean {
    return this.peers.has(num);
  }

  /** A packet from `num` on meshaid's port: it is a base station; its own seqs reach `latest`. Returns true when it is new. */
  heard(num: number, latest: number): boolean {
    if (num === this.options.self()) return false;
    const now = this.options.now();
    const peer = this.peers.get(num);
    if (!peer) {
      this.peers.set(num, { stored: { num, firstHeard: now, lastHeard: now, latest, holdsOurs: [] }, holds: new SeqSet() });
      this.log.info({ station: num }, "a base station heard for the first time");
      this.persist(num);
      // It learns of this station (and how far its sequence reaches) from our held ACK, without waiting for an announcement.
      this.scheduleHeld();
      return true;
    }
    peer.stored.lastHeard = now;
    if (latest > peer.stored.latest) {
      peer.stored.latest = latest;
      this.persist(num);
    }
    return false;
  }

  /** The newest seq of `num`'s own records heard of. */
  latestOf(num: number): number {
    return this.peers.get(num)?.stored.latest ?? 0;
  }

  /** A held ACK from another station: which of our records it holds. */
  onHeldAck(from: number, control: Extract<StationControl, { kind: "held" }>): void {
    const self = this.options.self();
    const peer = this.peers.get(from);
    if (self === undefined || !peer) return;
    const ours = control.holdings.find((holding) => holding.origin === self);
    if (!ours) return;
    const added = peer.holds.addRuns(ours.runs);
    if (added.length === 0) return;
    this.persist(from);
    this.options.onHeld(from, added);
  }

  /** Another station's record was stored here: a held ACK goes soon (one for everything stored meanwhile). */
  recordStored(origin: number): void {
    if (origin === this.options.self() || !this.peers.has(origin)) return;
    this.scheduleHeld();
  }

  /** One held ACK soon, for everything that happens meanwhile. */
  private scheduleHeld(): void {
    if (!this.options.scheduler || this.closed) return;
    this.heldTimer ??= this.timers.setTimeout(() => {
      this.heldTimer = undefined;
      this.sendHeld("stored");
    }, this.options.heldDelayMs);
  }

  /** Which base stations hold one of our records (this one included). */
  holding(seq: number): StationsHolding {
    const missing: string[] = [];
    let have = 1;
    for (const num of this.stations()) {
      if ((this.peers.get(num) as Peer).holds.has(seq)) have += 1;
      else missing.push(this.options.callsign(num));
    }
    return { have, of: have + missing.length, missing };
  }

  /** The stations for `meshaid status`. */
  status(): Array<{ num: number; callsign: string; lastHeard: number; latest: number; holdsOurs: number; missingOurs: number }> {
    const latest = this.options.latestOwn();
    return this.stations().map((num) => {
      const peer = this.peers.get(num) as Peer;
      const holdsOurs = Math.min(peer.holds.size, latest); // it can hold no seq of ours above our newest
      return { num, callsign: this.options.callsign(num), lastHeard: peer.stored.lastHeard, latest: peer.stored.latest, holdsOurs, missingOurs: latest - holdsOurs };
    });
  }

  private announceIn(ms: number): void {
    this.timers.clearTimeout(this.announceTimer);
    this.announceTimer = this.timers.setTimeout(() => {
      this.sendHeld("announce");
      this.announceIn(this.options.announceMs);
    }, ms);
  }

  /** A held ACK now, for the holding digest it carries. */
  sendNow(): void {
    this.sendHeld("digest");
  }

  /** What this station holds of every other base station's records, on the air. */
  private sendHeld(why: "stored" | "announce" | "digest"): void {
    const scheduler = this.options.scheduler;
    if (!scheduler || this.closed || this.options.self() === undefined) return;
    const packed = this.composeHeld(false);
    if (!packed) return;
    // Each replaces a held ACK still waiting in the queue: the newer says all the older did. What
    // it says is read again as it goes (what is held then; the digest's window ends then).
    packed.forEach((payload, index) =>
      scheduler.enqueue("status", this.heldRequest(payload), `held:${index}`, () => {
        const now = this.composeHeld(index === 0)?.[index];
        return now ? this.heldRequest(now) : undefined;
      }),
    );
    this.log.debug({ why, payloads: packed.length }, "held ACK queued");
  }

  /** The held ACK's payloads now; `sending` when the first goes on the air now (its digest is then counted as sent). */
  private composeHeld(sending: boolean): Uint8Array[] | undefined {
    const self = this.options.self();
    if (self === undefined) return undefined;
    const holdings: Holding[] = [];
    for (const num of this.stations()) {
      const runs = this.options.holdings(num)?.runs(MAX_RUNS) ?? [];
      if (runs.length > 0) holdings.push({ origin: num, runs });
    }
    const digest = this.options.digest?.(sending);
    const packed = packControl({ kind: "held", latest: this.options.latestOwn(), holdings, ...(digest ? { digest } : {}) }, this.options.auth ? { origin: self, auth: this.options.auth } : {});
    if (!packed.ok) {
      this.log.error({ err: packed.error }, "held ACK does not pack; not sent");
      return undefined;
    }
    return packed.value;
  }

  private heldRequest(payload: Uint8Array): SendRequest {
    const hopLimit = this.options.hopLimit?.();
    return { record: payload, wantAck: false, priority: BASE_PRIORITY, ...(hopLimit !== undefined ? { hopLimit } : {}) };
  }

  private persist(num: number): void {
    const peer = this.peers.get(num);
    if (!peer || !this.options.peers) return;
    peer.stored.holdsOurs = peer.holds.runs();
    this.options.peers.put({ ...peer.stored }).catch((error: unknown) => this.log.error({ err: error, station: num }, "could not keep what a base station holds; it is sent again"));
  }
}
