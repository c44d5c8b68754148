// Gap repair on the air. Each base station numbers its own records 1, 2, 3 ...; a station that
// holds 7 and 9 of another base station's records, or hears that its sequence reaches 9 (the
// header of its held ACKs and resend requests says), asks for the missing ones with a resend
// request, after a grace period (packets overtake each other), again with doubling waits, and
// gives up visibly after a bound. Records older than the first one held of a station are its
// history (the relay brings it), except for a newly heard station, whose newest few are asked for;
// only a station's newest 256 seqs are looked at (older holes: history, or purged by retention).
// Before asking, the log is read: a record stored before its origin was known is not asked for.
//
// The owner answers for its own records only: it puts them on the air again through the transmit
// scheduler at their own priority class (life safety still goes first, and keeps its reserve of
// the duty cycle), answers a record asked for again within a window once, and caps what it
// queues, so a flood of requests costs a bounded share of the airtime.
import type { Logger } from "pino";
import { decodePayload, packControl, packRecords, type AuthKey, type Codebook, type FieldRecord, type RecordBody, type RecordId, type StationControl } from "../wire/index.ts";
import type { PriorityClass, SchedulerEvent, TransmitScheduler } from "./scheduler.ts";
import type { SeqSet } from "./seq-set.ts";
import { processTimers, type StationTimers } from "./timers.ts";
import type { GapStatus } from "./types.ts";

export interface GapRepairOptions {
  scheduler?: TransmitScheduler;
  /** The log: the owner reads the records it resends from it. */
  store: { get(id: RecordId): Promise<FieldRecord | undefined> };
  codebook: Codebook;
  /** The coalition key: records resent carry its tag, as when first sent, and so do resend requests. */
  auth?: AuthKey;
  now: () => number;
  /** Where its timers come from (default: the process's). */
  timers?: StationTimers;
  logger: Logger;
  self: () => number | undefined;
  latestOwn: () => number;
  holdings: (origin: number) => SeqSet | undefined;
  /** The newest seq of a station's own records heard of. */
  latestOf: (origin: number) => number;
  /** A record wanted was found in the log after all (stored before its origin was known as a base station). */
  held: (id: RecordId) => void;
  callsign: (num: number) => string;
  /** The transmit class of records sent together. */
  classOf: (bodies: RecordBody[]) => PriorityClass;
  /** Asked for in vain as often as allowed. */
  onGaveUp: (origin: number, seqs: number[]) => void;
  /** Wait before asking for a missing record (default 10 s: it may be on its way). */
  graceMs?: number;
  /** Wait before asking again; doubles after each request (default 30 s). */
  retryBaseMs?: number;
  /** Requests for one record before giving up (default 8: with the doubling waits, about an hour). */
  maxRequests?: number;
  /** A record resent is not resent again for this long, however often it is asked for (default 20 s: shorter than the asker's first wait before asking again, so a resend lost on the way is answered the next time). */
  resendWindowMs?: number;
  /** Of a station none of whose records are held yet, its newest this many are asked for (default 32). */
  backfill?: number;
  /** Only the newest this many of a station's seqs are looked at for gaps (older ones: its history, or purged by retention; default 256). */
  horizon?: number;
  /** Records of one origin asked for at a time (default 64). */
  maxWanted?: number;
  /** Records resent for one request (default 32). */
  maxResendPerRequest?: number;
  /** Own records waiting in the scheduler to be resent, at most; what a request asks beyond is left for the asker to repeat (default 48). */
  maxResendQueued?: number;
}

interface Wanted {
  origin: number;
  seq: number;
  requests: number;
  nextAt: number;
}

type Defaults = "graceMs" | "retryBaseMs" | "maxRequests" | "resendWindowMs" | "backfill" | "horizon" | "maxWanted" | "maxResendPerRequest" | "maxResendQueued";

export class GapRepair {
  private readonly options: GapRepairOptions & Required<Pick<GapRepairOptions, Defaults>>;
  private readonly log: Logger;
  private readonly wanted = new Map<string, Wanted>();
  private readonly gaveUp = new Map<string, { origin: number; seq: number }>();
  /** Per station first heard since start: below this is its history. */
  private readonly floors = new Map<number, number>();
  private readonly timers: StationTimers;
  private timer: unknown;
  private timerAt = Infinity;
  /** Own seqs queued for a resend (scheduler item id -> seqs), and when each was last resent. */
  private readonly resendItems = new Map<number, number[]>();
  private readonly queuedSeqs = new Set<number>();
  private readonly resentAt = new Map<number, number>();
  private resentCount = 0;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(options: GapRepairOptions) {
    this.options = { graceMs: 10_000, retryBaseMs: 30_000, maxRequests: 8, resendWindowMs: 20_000, backfill: 32, horizon: 256, maxWanted: 64, maxResendPerRequest: 32, maxResendQueued: 48, ...options };
    this.log = options.logger.child({ component: "gap-repair" });
    this.timers = options.timers ?? processTimers;
    this.unsubscribe = options.scheduler?.subscribe((event) => this.onScheduler(event)) ?? (() => undefined);
  }

  close(): void {
    this.closed = true;
    this.timers.clearTimeout(this.timer);
    this.unsubscribe();
  }

  /** A station heard for the first time, its sequence reaching `latest`: its newest few are asked for, not its history. */
  firstHeard(origin: number, latest: number): void {
    this.floors.set(origin, Math.max(1, latest - this.options.backfill + 1));
  }

  /** Looks for records of base station `origin` this station lacks, and plans to ask for them. */
  check(origin: number): void {
    if (!this.options.scheduler || this.closed || origin === this.options.self()) return;
    const held = this.options.holdings(origin);
    const latest = Math.max(this.options.latestOf(origin), held?.last ?? 0);
    if (latest === 0) return;
    const floor = Math.max(latest - this.options.horizon + 1, Math.min(this.floors.get(origin) ?? Infinity, held?.first ?? Math.max(1, latest - this.options.backfill + 1)));
    let asking = 0;
    for (const entry of this.wanted.values()) if (entry.origin === origin) asking += 1;
    if (asking >= this.options.maxWanted) return;
    const missing = held ? held.missing(floor, latest, this.options.maxWanted) : range(floor, latest);
    const now = this.options.now();
    for (const seq of missing) {
      const key = keyOf(origin, seq);
      if (this.wanted.has(key) || this.gaveUp.has(key)) continue;
      if (asking >= this.options.maxWanted) break;
      this.wanted.set(key, { origin, seq, requests: 0, nextAt: now + this.options.graceMs });
      asking += 1;
    }
    this.arm();
  }

  /** A record was stored: no longer wanted. */
  stored(id: RecordId): void {
    const key = keyOf(id.origin, id.seq);
    this.wanted.delete(key);
    this.gaveUp.delete(key);
  }

  /** A resend request heard: the records of ours it names go on the air again (within bounds). */
  async onResend(from: number, control: Extract<StationControl, { kind: "resend" }>): Promise<void> {
    const self = this.options.self();
    const scheduler = this.options.scheduler;
    if (self === undefined || !scheduler || this.closed) return;
    const latest = this.options.latestOwn();
    const now = this.options.now();
    for (const [seq, at] of this.resentAt) if (at + this.options.resendWindowMs <= now) this.resentAt.delete(seq);
    const asked = control.wanted.filter((id) => id.origin === self && id.seq >= 1 && id.seq <= latest).map((id) => id.seq);
    const room = Math.max(0, this.options.maxResendQueued - this.queuedSeqs.size);
    const unanswered = asked.filter((seq) => !this.queuedSeqs.has(seq) && !this.resentAt.has(seq));
    const fresh = unanswered.slice(0, Math.min(this.options.maxResendPerRequest, room));
    if (asked.length === 0) return;
    if (unanswered.length === 0) {
      this.log.debug({ from, asked: asked.length }, "resend request for records already resent or queued; answered once");
      return;
    }
    if (fresh.length === 0) {
      this.log.info({ from, asked: asked.length, queued: this.queuedSeqs.size }, "resend request left for later: enough resends wait for the air");
      return;
    }
    for (const seq of fresh) this.queuedSeqs.add(seq); // a repeat while the log is read is answered once
    const records = (await Promise.all(fresh.map((seq) => this.options.store.get({ origin: self, seq })))).filter((record): record is FieldRecord => record !== undefined);
    for (const seq of fresh) if (!records.some((record) => record.id.seq === seq)) this.queuedSeqs.delete(seq);
    if (records.length < fresh.length) this.log.info({ from, missing: fresh.length - records.length }, "asked for own records the log does not hold (a write that failed, or purged)");
    // Each class at its own priority, records of one class packed together.
    const byClass = new Map<PriorityClass, FieldRecord[]>();
    for (const record of records) {
      const priority = this.options.classOf([record.body]);
      byClass.set(priority, [...(byClass.get(priority) ?? []), record]);
    }
    for (const [priority, group] of byClass) {
      const packed = packRecords(group.map((record) => ({ seq: record.id.seq, body: record.body })), this.options.codebook, this.options.auth ? { origin: self, auth: this.options.auth } : {});
      if (!packed.ok) {
        this.log.error({ err: packed.error }, "records asked for do not pack; not resent");
        for (const record of group) this.queuedSeqs.delete(record.id.seq);
        continue;
      }
      for (const payload of packed.value) {
        // Which seqs it carries, for the answered-once window.
        const decoded = decodePayload(payload, this.options.codebook, self);
        const carried = decoded.ok ? decoded.value.records.map((record) => record.id.seq) : group.map((record) => record.id.seq);
        const id = scheduler.enqueue(priority, { record: payload, wantAck: true });
        this.resendItems.set(id, carried);
      }
    }
    this.log.info({ from, resending: records.length }, "resending records asked for");
  }

  status(): GapStatus {
    const asking = new Map<number, { seqs: number[]; requests: number }>();
    for (const entry of this.wanted.values()) {
      const row = asking.get(entry.origin) ?? { seqs: [], requests: 0 };
      row.seqs.push(entry.seq);
      row.requests = Math.max(row.requests, entry.requests);
      asking.set(entry.origin, row);
    }
    const gaveUp = new Map<number, number[]>();
    for (const entry of this.gaveUp.values()) gaveUp.set(entry.origin, [...(gaveUp.get(entry.origin) ?? []), entry.seq]);
    return {
      asking: [...asking].map(([origin, row]) => ({ origin, callsign: this.options.callsign(origin), seqs: row.seqs.sort((a, b) => a - b), requests: row.requests })),
      gaveUp: [...gaveUp].map(([origin, seqs]) => ({ origin, callsign: this.options.callsign(origin), seqs: seqs.sort((a, b) => a - b) })),
      resent: this.resentCount,
    };
  }

  private onScheduler(event: SchedulerEvent): void {
    const seqs = this.resendItems.get(event.item.id);
    if (!seqs) return;
    this.resendItems.delete(event.item.id);
    const now = this.options.now();
    for (const seq of seqs) {
      this.queuedSeqs.delete(seq);
      if (event.type === "sent") this.resentAt.set(seq, now);
    }
    if (event.type === "sent") this.resentCount += seqs.length;
  }

  private arm(): void {
    let next = Infinity;
    for (const entry of this.wanted.values()) next = Math.min(next, entry.nextAt);
    if (next === Infinity || next >= this.timerAt) return;
    this.timers.clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = this.timers.setTimeout(() => void this.ask().catch((error: unknown) => this.log.error({ err: error }, "could not ask for missing records")), Math.max(0, next - this.options.now()));
  }

  /** Asks for what is due, gives up on what was asked for often enough. */
  private async ask(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Infinity;
    const scheduler = this.options.scheduler;
    if (!scheduler || this.closed) return;
    // What the log holds already (stored before its origin was known as a base station) is not asked for.
    // Records first missed within a grace period go together in one request; one asked for before
    // waits its full back-off (so the owner's answered-once window has passed).
    const dueBy = (entry: Wanted, now: number): boolean => entry.nextAt <= (entry.requests === 0 ? now + this.options.graceMs : now);
    const dueNow = [...this.wanted.values()].filter((entry) => dueBy(entry, this.options.now()) && !this.options.holdings(entry.origin)?.has(entry.seq));
    const inLog = await Promise.all(dueNow.map((entry) => this.options.store.get({ origin: entry.origin, seq: entry.seq })));
    if (this.closed) return;
    for (const record of inLog) if (record) this.options.held(record.id);
    const now = this.options.now();
    const due: RecordId[] = [];
    const givenUp = new Map<number, number[]>();
    for (const [key, entry] of this.wanted) {
      if (!dueBy(entry, now)) continue;
      if (this.options.holdings(entry.origin)?.has(entry.seq)) {
        this.wanted.delete(key);
        continue;
      }
      if (entry.requests >= this.options.maxRequests) {
        this.wanted.delete(key);
        this.gaveUp.set(key, { origin: entry.origin, seq: entry.seq });
        givenUp.set(entry.origin, [...(givenUp.get(entry.origin) ?? []), entry.seq]);
        continue;
      }
      entry.requests += 1;
      entry.nextAt = now + this.options.retryBaseMs * 2 ** (entry.requests - 1);
      due.push({ origin: entry.origin, seq: entry.seq });
    }
    for (const [origin, seqs] of givenUp) {
      this.log.warn({ origin, seqs, requests: this.options.maxRequests }, "gave up asking a base station for missing records");
      this.options.onGaveUp(origin, seqs);
    }
    if (due.length > 0) {
      const self = this.options.self();
      const signer = this.options.auth && self !== undefined ? { origin: self, auth: this.options.auth } : {};
      const packed = packControl({ kind: "resend", latest: this.options.latestOwn(), wanted: due }, signer);
      if (packed.ok) for (const payload of packed.value) scheduler.enqueue("status", { record: payload, wantAck: false });
      else this.log.error({ err: packed.error }, "resend request does not pack; not sent");
      this.log.info({ wanted: due.length }, "asked base stations to resend missing records");
    }
    this.arm();
  }
}

function keyOf(origin: number, seq: number): string {
  return `${origin}:${seq}`;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let seq = from; seq <= to; seq += 1) out.push(seq);
  return out;
}
