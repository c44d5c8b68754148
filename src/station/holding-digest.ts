// Holding digests: the handheld records one base station stored reach the others over the air.
// A handheld's record carries no per-station sequence (its id is the handheld's node number and
// packet id), so gap repair cannot see one that reached one base and not another. A base that
// stored handheld records lately says which, on its held ACK: a digest of 4-byte hashes of the
// handheld records it stored in its last few minutes (`recordHash`, coalesced over tens of
// seconds). A base that hears one
// - PUSHES the handheld records it stored in that window that the digest lacks (packed several to
//   a packet, each with its original id; dedup by id makes a copy harmless), and
// - PULLS those the digest lists that it lacks, after a grace period (they may be on their way):
//   a resend request naming their hashes, answered by any base holding them.
// One digest serves both directions, and a base that heard a peer's digest listing all of its
// recent handheld records skips its own. A push heard from another base cancels this base's push
// of the same records (as the firmware's rebroadcast cancel does). Everything goes through the
// transmit scheduler at the records' own priority class, inside the duty-cycle budget; digests,
// pushes and pulls go only as far as the other base stations are (the fewest hops they were heard
// over), not flooded across the mesh. The window is in memory, refilled from the log at start
// (and fed with what the relay brings), so a restarted station does not ask for what it holds.
import type { Logger } from "pino";
import { decodePayload, packControl, packRecords, recordHash, type AuthKey, type Codebook, type FieldRecord, type HoldingDigest, type RecordBody, type RecordId } from "../wire/index.ts";
import type { SendRequest } from "../radio/index.ts";
import type { PriorityClass, TransmitScheduler } from "./scheduler.ts";
import { processTimers, type StationTimers } from "./timers.ts";

export interface DigestOptions {
  scheduler?: TransmitScheduler;
  /** The log: pushed records are read from it. */
  store: { get(id: RecordId): Promise<FieldRecord | undefined> };
  codebook: Codebook;
  /** The coalition key: pushes and pull requests carry its tag (digests ride on held ACKs, which do). */
  auth?: AuthKey;
  now: () => number;
  timers?: StationTimers;
  logger: Logger;
  self: () => number | undefined;
  /** This station's newest own seq (the header of its requests). */
  latestOwn: () => number;
  /** The other base stations known. */
  stations: () => readonly number[];
  /** Sends a held ACK now (it carries `digest()`). */
  sendHeld: () => void;
  /** The hop limit that reaches the other base stations, when known. */
  hopLimit: () => number | undefined;
  classOf: (bodies: RecordBody[]) => PriorityClass;
  /** How far back a digest reaches (default 5 min). */
  windowMs?: number;
  /** A digest goes this long after the first handheld record stored since the last (default 25 s: one for all stored meanwhile). */
  delayMs?: number;
  /** A record listed in a digest and not yet seen in a peer's is listed again after this long (default 60 s). */
  repeatMs?: number;
  /** A record stored this recently may still be on its way to the others: not pushed, not pulled yet (default 20 s). */
  graceMs?: number;
  /** Hashes in one digest, the newest (default 40). */
  maxHashes?: number;
  /** Records waiting to be pushed, at most (default 32): a burst of digests or requests costs a bounded share. */
  maxPushQueued?: number;
  /** Pull requests for one record before giving up (default 3). */
  maxPulls?: number;
  /** A push waits this long (plus up to 1.5 s by node number), so that one base's push cancels the others' (default 1.5 s). */
  pushDelayMs?: number;
  /** A record pushed is not pushed again for this long, however often it is asked for (default 20 s: shorter than the leader's digests are apart, so a push lost on the way goes again). */
  pushWindowMs?: number;
}

interface Held {
  id: RecordId;
  storedAt: number;
  /** Own digests that listed it. */
  listed: number;
  /** When a peer's digest or push last showed that another base holds it (0: not yet). */
  coveredAt: number;
}

interface Wanted {
  dueAt: number;
  pulls: number;
  /** When a digest first listed it. */
  firstListed: number;
}

type Defaults = "windowMs" | "delayMs" | "repeatMs" | "graceMs" | "maxHashes" | "maxPushQueued" | "maxPulls" | "pushWindowMs" | "pushDelayMs";

/** A record listed in this many of our digests without a peer's showing it is not announced again by itself. */
const MAX_LISTINGS = 2;
/** Records a peer stored near its window's start may be older here: they are left out of a push. */
const WINDOW_MARGIN_MS = 30_000;
/**
 * MeshPacket.priority in the radio's transmit queue for what base stations say to each other
 * (held ACKs, digests, pulls, pushes): as a want_ack packet, like the records themselves (70),
 * not behind the radio's own periodic traffic (64, what the firmware gives a packet without want_ack).
 */
export const BASE_PRIORITY = 70;
/** Handheld records kept in the window from the log or the relay, at most (what the air brings is bounded by the air). */
const MAX_KNOWN = 4096;
/** Handheld records asked for at a time, at most (a digest lists at most `maxHashes`). */
const MAX_WANTED = 256;

export class HoldingDigests {
  private readonly options: DigestOptions & Required<Pick<DigestOptions, Defaults>>;
  private readonly log: Logger;
  private readonly timers: StationTimers;
  /** Handheld records stored here lately, by hash (kept two windows, for telling what is held). */
  private readonly held = new Map<number, Held>();
  /** Handheld records stored while no other base station was known, not hashed yet (read `held` through `holding()`). */
  private readonly unhashed = { ids: [] as RecordId[], storedAt: [] as number[], coveredAt: [] as number[] };
  private readonly toPush = new Map<number, RecordId>();
  /** When each record was last pushed (within the push window). */
  private readonly pushedAt = new Map<number, number>();
  private readonly wanted = new Map<number, Wanted>();
  private digestTimer: unknown;
  private digestAt = Infinity;
  private pushTimer: unknown;
  private pullTimer: unknown;
  private pullAt = Infinity;
  private closed = false;
  private readonly counts = { digests: 0, skipped: 0, pushed: 0, pulled: 0 };

  constructor(options: DigestOptions) {
    this.options = { windowMs: 240_000, delayMs: 40_000, repeatMs: 60_000, graceMs: 20_000, maxHashes: 40, maxPushQueued: 32, maxPulls: 3, pushWindowMs: 20_000, pushDelayMs: 1_500, ...options };
    this.log = options.logger.child({ component: "holding-digest" });
    this.timers = options.timers ?? processTimers;
  }

  close(): void {
    this.closed = true;
    this.timers.clearTimeout(this.digestTimer);
    this.digestTimer = undefined;
    this.timers.clearTimeout(this.pushTimer);
    this.timers.clearTimeout(this.pullTimer);
  }

  /** A handheld record heard on the air was stored (not one relayed over the internet: its peers have it). */
  stored(id: RecordId): void {
    this.hold(id, this.options.now(), 0);
    this.planDigest(this.options.delayMs);
  }

  /**
   * A handheld record this station holds that did not come over the air just now (relayed over
   * the internet, or in the log at start): known, so that it is not asked for, and listed, but no
   * digest is sent for it. Older than two windows: nothing to do (most of a catch-up).
   */
  known(id: RecordId, storedAt: number): void {
    const now = this.options.now();
    // (Counting those not hashed yet: a catch-up of thousands, the relay keeps those whole.)
    if (storedAt <= now - 2 * this.options.windowMs || this.held.size + this.unhashed.ids.length >= MAX_KNOWN) return;
    this.hold(id, Math.min(storedAt, now), now);
  }

  /** Into the window (`coveredAt` 0: owed a digest; else known, covered then). */
  private hold(id: RecordId, storedAt: number, coveredAt: number): void {
    if (this.options.stations().length > 0) {
      this.remember(id, storedAt, coveredAt);
      return;
    }
    // Alone, nobody reads a digest: the id waits unhashed (hashing is most of what a record
    // costs here, and a lone station may store thousands a second, or refill thousands from its
    // log at start) until another base is known. Side by side, not an object per record.
    const waiting = this.unhashed;
    waiting.ids.push(id);
    waiting.storedAt.push(storedAt);
    waiting.coveredAt.push(coveredAt);
    if (waiting.ids.length > 2 * MAX_KNOWN) {
      const drop = waiting.ids.length - MAX_KNOWN;
      waiting.ids.splice(0, drop);
      waiting.storedAt.splice(0, drop);
      waiting.coveredAt.splice(0, drop);
    }
  }

  private remember(id: RecordId, storedAt: number, coveredAt: number): void {
    const hash = recordHash(id);
    const held = this.holding();
    this.wanted.delete(hash);
    if (!held.has(hash)) held.set(hash, { id, storedAt, listed: coveredAt ? MAX_LISTINGS : 0, coveredAt });
  }

  /** The handheld records stored lately, by hash, with those stored while alone hashed now. */
  private holding(): Map<number, Held> {
    if (this.unhashed.ids.length > 0) {
      const ids = this.unhashed.ids.splice(0);
      const storedAt = this.unhashed.storedAt.splice(0);
      const coveredAt = this.unhashed.coveredAt.splice(0);
      const cutoff = this.options.now() - 2 * this.options.windowMs;
      for (const [index, id] of ids.entries()) if ((storedAt[index] as number) > cutoff) this.remember(id, storedAt[index] as number, coveredAt[index] as number);
    }
    return this.held;
  }

  /** The digest a held ACK carries now (`sending`: it goes on the air now); undefined while no other base station is known. */
  digest(sending = false): HoldingDigest | undefined {
    if (this.options.stations().length === 0) return undefined;
    const now = this.options.now();
    this.forget(now);
    // A follower lists only what the leader's digests had time to list (the leader's list the newest).
    const newest = this.leads() ? now : now - this.options.graceMs;
    const recent = [...this.holding().values()].filter((entry) => entry.storedAt > now - this.options.windowMs && entry.storedAt <= newest).sort((a, b) => b.storedAt - a.storedAt);
    const listed = recent.slice(0, this.options.maxHashes);
    if (sending) for (const entry of listed) entry.listed += 1;
    // Cut to the newest: the window it claims ends at the oldest listed.
    const windowMs = recent.length > listed.length ? now - (listed.at(-1) as Held).storedAt + 1 : this.options.windowMs;
    return { windowS: Math.max(1, Math.ceil(windowMs / 1000)), hashes: listed.map((entry) => recordHash(entry.id)) };
  }

  /** A peer's digest: push what it lacks, plan to pull what this station lacks. */
  heardDigest(from: number, digest: HoldingDigest): void {
    if (from === this.options.self()) return;
    const now = this.options.now();
    this.forget(now);
    const listed = new Set(digest.hashes);
    // A digest may have waited in queues or come the long way round: the newest record it lists
    // that this station holds says how far it really reaches. What was stored here after that
    // (less the grace: floods reach the bases seconds apart) is left for the next digest.
    let reaches = now;
    let anchor = -Infinity;
    for (const hash of listed) anchor = Math.max(anchor, this.holding().get(hash)?.storedAt ?? -Infinity);
    if (anchor > -Infinity) reaches = Math.min(reaches, anchor);
    const since = now - digest.windowS * 1000 + WINDOW_MARGIN_MS;
    for (const [hash, entry] of this.holding()) {
      if (listed.has(hash)) entry.coveredAt = now;
      else if (entry.storedAt >= since && entry.storedAt <= reaches - this.options.graceMs) this.push(hash, entry.id);
    }
    // A follower's digest lists records it stored a while ago: not on their way, missing.
    const self = this.options.self() ?? 0;
    const fromLeader = from < self && this.options.stations().every((station) => station >= from);
    for (const hash of listed) {
      if (this.holding().has(hash) || (this.wanted.size >= MAX_WANTED && !this.wanted.has(hash))) continue;
      const wanted = this.wanted.get(hash);
      // Listed again by a later digest: it is not on its way, it is missing.
      if (!wanted) this.wanted.set(hash, { dueAt: fromLeader ? now + this.options.graceMs : now, pulls: 0, firstListed: now });
      else if (wanted.pulls === 0 && now - wanted.firstListed >= this.options.graceMs) wanted.dueAt = Math.min(wanted.dueAt, now);
    }
    // A follower heard the leader's digest: its own waits a while (out of step with the leader's).
    if (!this.leads() && this.digestTimer !== undefined) this.planDigest(this.options.delayMs, true);
    this.armPush();
    this.armPull();
  }

  /** A peer asks for handheld records by hash: those held here are pushed. */
  heardPull(from: number, hashes: readonly number[]): void {
    if (from === this.options.self()) return;
    for (const hash of hashes) {
      const entry = this.holding().get(hash);
      if (entry) this.push(hash, entry.id);
    }
    this.armPush();
  }

  /** Another base put these handheld records on the air: this station's push of them is cancelled, and that base holds them. */
  heardPushed(from: number, ids: readonly RecordId[]): void {
    if (from === this.options.self()) return;
    for (const id of ids) {
      const hash = recordHash(id);
      this.toPush.delete(hash);
      const entry = this.holding().get(hash);
      if (entry) entry.coveredAt = this.options.now();
    }
  }

  status(): { digests: number; skipped: number; pushed: number; pulled: number; window: number; wanted: number; pushing: number } {
    return { ...this.counts, window: this.holding().size, wanted: this.wanted.size, pushing: this.toPush.size };
  }

  private push(hash: number, id: RecordId): void {
    const at = this.pushedAt.get(hash);
    if (at !== undefined && at > this.options.now() - this.options.pushWindowMs) return; // answered once a window
    if (this.toPush.size >= this.options.maxPushQueued && !this.toPush.has(hash)) return; // asked again by the next digest
    this.toPush.set(hash, id);
  }

  /** Drops what is older than two windows. */
  private forget(now: number): void {
    for (const [hash, entry] of this.holding()) if (entry.storedAt <= now - 2 * this.options.windowMs) this.holding().delete(hash);
  }

  /**
   * One base station, the lowest node number among those known (the leader), sends digests as
   * it stores handheld records; a push or a pull answers them. The others hear its digests and
   * send their own only for records its digests have not listed a while after they were stored
   * (it lacks them, or its digests do not get through).
   */
  private leads(): boolean {
    const self = this.options.self();
    return self !== undefined && this.options.stations().every((station) => station > self);
  }

  /** A digest in `delayMs` (a follower's, one delay later: the leader's first), unless one is planned sooner; `reset` moves a planned one. */
  private planDigest(delayMs: number, reset = false): void {
    if (this.closed || !this.options.scheduler) return;
    const at = this.options.now() + delayMs + (this.leads() ? 0 : this.options.delayMs);
    if (!reset && at >= this.digestAt) return;
    this.timers.clearTimeout(this.digestTimer);
    this.digestAt = at;
    this.digestTimer = this.timers.setTimeout(() => {
      this.digestTimer = undefined;
      this.digestAt = Infinity;
      this.digestDue();
    }, at - this.options.now());
  }

  private digestDue(): void {
    if (this.closed || this.options.stations().length === 0) return;
    const now = this.options.now();
    this.forget(now);
    // A follower owes a digest for records the leader's have not listed since they were stored.
    const listedBy = this.leads() ? now : now - this.options.delayMs;
    const owes = (entry: Held): boolean => entry.coveredAt === 0 && entry.listed < MAX_LISTINGS && entry.storedAt > now - this.options.windowMs;
    if (![...this.holding().values()].some((entry) => owes(entry) && entry.storedAt <= listedBy)) {
      this.counts.skipped += 1;
      if ([...this.holding().values()].some(owes)) this.planDigest(this.options.delayMs);
      return;
    }
    this.counts.digests += 1;
    this.options.sendHeld();
    if ([...this.holding().values()].some(owes)) this.planDigest(this.options.repeatMs);
  }

  private armPush(): void {
    if (this.closed || !this.options.scheduler || this.toPush.size === 0 || this.pushTimer !== undefined) return;
    const wait = this.options.pushDelayMs + ((this.options.self() ?? 0) % 4) * 500;
    this.pushTimer = this.timers.setTimeout(() => {
      this.pushTimer = undefined;
      this.pushNow().catch((error: unknown) => this.log.error({ err: error }, "could not push handheld records to the other base stations"));
    }, wait);
  }

  /** What is still to be pushed, read from the log and packed, each class at its own priority. */
  private async pushNow(): Promise<void> {
    const scheduler = this.options.scheduler;
    const self = this.options.self();
    if (!scheduler || self === undefined || this.closed || this.toPush.size === 0) return;
    const ids = [...this.toPush.values()];
    this.toPush.clear();
    const now = this.options.now();
    for (const [hash, at] of this.pushedAt) if (at <= now - this.options.pushWindowMs) this.pushedAt.delete(hash);
    for (const id of ids) this.pushedAt.set(recordHash(id), now);
    const records = (await Promise.all(ids.map((id) => this.options.store.get(id)))).filter((record): record is FieldRecord => record !== undefined);
    if (this.closed || records.length === 0) return;
    const byClass = new Map<PriorityClass, FieldRecord[]>();
    for (const record of records) {
      const priority = this.options.classOf([record.body]);
      byClass.set(priority, [...(byClass.get(priority) ?? []), record]);
    }
    const plannedAt = now;
    for (const [priority, group] of byClass) {
      const packed = this.pack(group, self);
      if (!packed) continue;
      for (const payload of packed) {
        // As its turn comes, the records another base put on the air meanwhile, or the asker
        // listed since, are left out (the firmware's rebroadcast cancel, for pushes).
        const decoded = decodePayload(payload, this.options.codebook, self);
        const ids = new Set(decoded.ok ? decoded.value.records.map((record) => recordHash(record.id)) : []);
        const carried = group.filter((record) => ids.has(recordHash(record.id)));
        scheduler.enqueue(priority, this.pushRequest(payload), undefined, () => {
          const still = carried.filter((record) => (this.holding().get(recordHash(record.id))?.coveredAt ?? 0) <= plannedAt);
          if (still.length === carried.length) return this.pushRequest(payload);
          const again = still.length > 0 ? this.pack(still, self) : undefined;
          return again?.[0] ? this.pushRequest(again[0]) : undefined;
        });
      }
    }
    this.counts.pushed += records.length;
    this.log.info({ records: records.length }, "pushed handheld records another base station lacks");
  }

  /** Records packed with their own ids (fields 32, 33) at chain places 0, 1, 2 ...; undefined when they do not pack. */
  private pack(records: FieldRecord[], self: number): Uint8Array[] | undefined {
    const packed = packRecords(records.map((record, index) => ({ seq: index, body: record.body, id: record.id })), this.options.codebook, { origin: self, ...(this.options.auth ? { auth: this.options.auth } : {}) });
    if (packed.ok) return packed.value;
    this.log.error({ err: packed.error }, "handheld records do not pack; not pushed");
    return undefined;
  }

  /** Pushes and pulls go as far as the other base stations are, without want_ack: the next digest tells whether they arrived. */
  private pushRequest(payload: Uint8Array): SendRequest {
    const hopLimit = this.options.hopLimit();
    return { record: payload, wantAck: false, priority: BASE_PRIORITY, ...(hopLimit !== undefined ? { hopLimit } : {}) };
  }

  private armPull(): void {
    let next = Infinity;
    for (const entry of this.wanted.values()) next = Math.min(next, entry.dueAt);
    if (this.closed || !this.options.scheduler || next === Infinity || next >= this.pullAt) return;
    this.timers.clearTimeout(this.pullTimer);
    this.pullAt = next;
    this.pullTimer = this.timers.setTimeout(() => {
      this.pullTimer = undefined;
      this.pullAt = Infinity;
      this.pull();
    }, Math.max(0, next - this.options.now()));
  }

  /** Asks for the handheld records listed by a peer that are still missing here. */
  private pull(): void {
    const scheduler = this.options.scheduler;
    const self = this.options.self();
    if (!scheduler || self === undefined || this.closed) return;
    const now = this.options.now();
    const due: number[] = [];
    for (const [hash, entry] of this.wanted) {
      if (entry.dueAt > now) continue;
      if (entry.pulls >= this.options.maxPulls) {
        this.wanted.delete(hash); // listed again by a later digest, it is asked for again; else the relay brings it
        continue;
      }
      entry.pulls += 1;
      entry.dueAt = now + this.options.repeatMs * entry.pulls;
      due.push(hash);
      if (due.length >= this.options.maxHashes) break;
    }
    if (due.length > 0) {
      const packed = packControl({ kind: "resend", latest: this.options.latestOwn(), wanted: [], hashes: due }, this.options.auth ? { origin: self, auth: this.options.auth } : {});
      if (packed.ok) for (const payload of packed.value) scheduler.enqueue("status", this.pushRequest(payload));
      else this.log.error({ err: packed.error }, "pull request does not pack; not sent");
      this.counts.pulled += due.length;
      this.log.info({ wanted: due.length }, "asked the other base stations for handheld records this station lacks");
    }
    this.armPull();
  }
}
