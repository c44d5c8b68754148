// Delivery of the station's own records: each transmission (records to other base stations on
// meshaid's port, a text to a handheld) goes through the transmit scheduler, is followed through
// the radio's delivery updates, and is tried again after a failure or silence, a bounded number
// of times with growing waits. Each record's delivery is the least advanced of its
// transmissions. The sends are kept in the store, so a restart picks up where it stopped: what
// the scheduler had not yet handed to the radio is queued again, what the radio had taken but
// not yet answered for (its ACK tracking does not survive a restart) counts as unknown.
import type { Logger } from "pino";
import type { DeliveryState, DeliveryUpdate, SendRequest } from "../radio/index.ts";
import type { SendLog, StoredSend } from "../store/index.ts";
import type { RecordId } from "../wire/index.ts";
import { idKey } from "./boards/index.ts";
import type { PriorityClass, SchedulerEvent, TransmitScheduler } from "./scheduler.ts";
import { every, processTimers, type StationTimers } from "./timers.ts";
import type { RecordDelivery } from "./types.ts";

export interface DeliveryOptions {
  scheduler: TransmitScheduler;
  /** Where sends are kept across restarts; without it they are followed in memory only. */
  log?: SendLog;
  now: () => number;
  /** Where its retry timers come from (default: the process's). */
  timers?: StationTimers;
  logger: Logger;
  /** A record's delivery changed. */
  onChange: (id: RecordId, delivery: RecordDelivery) => void;
  /** Attempts in all (default 3). */
  maxAttempts?: number;
  /** The wait before the second attempt; it doubles after each (default 30 s). */
  retryBaseMs?: number;
  /** A send the radio has said nothing about for this long is unknown (default 10 min). */
  staleMs?: number;
  /** How many settled sends are remembered (newest first); older ones are forgotten, here and on disk (default 2000). */
  keepSettled?: number;
}

/** What the station hands over: the records a transmission carries and what goes to the radio. */
export interface Transmission {
  records: RecordId[];
  priority: PriorityClass;
  request: SendRequest;
  /** Texts with the same batch key to one handheld are joined while they wait (acknowledgements). */
  batch?: string;
}

interface Send {
  stored: StoredSend;
  /** Counted among the settled (once). */
  settledNoted?: boolean;
  request: SendRequest;
  batch: string | undefined;
  retryTimer?: unknown;
}

const RANK: Record<DeliveryState, number> = { failed: 0, unknown: 0, queued: 1, sent: 2, heard: 3, confirmed: 4 };
/** Updates for radio ids not matched yet are kept this long (the radio may answer before send() resolves). */
const EARLY_UPDATES = 64;

export class DeliveryTracker {
  private readonly options: Required<Pick<DeliveryOptions, "maxAttempts" | "retryBaseMs" | "staleMs" | "keepSettled">> & DeliveryOptions;
  private readonly log: Logger;
  private readonly sends = new Map<string, Send>();
  /** Record key -> the sends carrying it. */
  private readonly byRecord = new Map<string, Set<Send>>();
  /** Scheduler item id -> the sends waiting in it (acks to one handheld share an item). */
  private readonly byItem = new Map<number, Set<Send>>();
  /** The radio's id of an attempt -> the sends it carries (acknowledgements joined into one text share one). */
  private readonly byRadioId = new Map<string, Set<Send>>();
  private readonly early = new Map<string, DeliveryUpdate>();
  /** Settled sends, oldest first: the memory (and the disk) keep only the newest `keepSettled`. */
  private readonly settled: Send[] = [];
  private readonly unsubscribe: () => void;
  private readonly timers: StationTimers;
  private stopStaleCheck: (() => void) | undefined;
  private memoryIds = 0;

  constructor(options: DeliveryOptions) {
    this.options = { maxAttempts: 3, retryBaseMs: 30_000, staleMs: 600_000, keepSettled: 2000, ...options };
    this.log = options.logger.child({ component: "delivery" });
    this.timers = options.timers ?? processTimers;
    this.unsubscribe = options.scheduler.subscribe((event) => this.onScheduler(event));
  }

  /** Takes up the sends kept from before a restart. */
  async load(): Promise<void> {
    const stored = (await this.options.log?.list((key, reason) => this.log.error({ key, reason }, "kept send does not parse; skipped"))) ?? [];
    let resumed = 0;
    for (const entry of stored) {
      const send = this.add(entry, requestOf(entry));
      if (isSettled(entry, this.options.maxAttempts)) {
        this.noteSettled(send);
        continue;
      }
      resumed += 1;
      if (entry.retryAt !== undefined) this.retryAt(send, entry.retryAt);
      else if (entry.radioId === undefined) this.enqueue(send);
      else if (entry.state === "sent") this.failed(send, "unknown", "the station restarted before an ACK");
      else if (entry.state === "failed" || entry.state === "unknown") this.failed(send, entry.state, entry.reason?.split(";")[0]);
      // queued with a radio id: the radio's own outbox sends it again and its updates come here.
    }
    if (resumed > 0) this.log.info({ resumed }, "sends from before the restart taken up again");
    this.stopStaleCheck = every(this.timers, Math.min(60_000, this.options.staleMs), () => this.checkStale());
  }

  /** Queues a transmission; its records' delivery starts as queued. Resolves once that is kept on disk. */
  async transmit(transmission: Transmission): Promise<void> {
    const stored: StoredSend = {
      id: this.options.log?.nextId() ?? String((this.memoryIds += 1)).padStart(16, "0"),
      records: transmission.records.map((id) => ({ ...id })),
      priority: transmission.priority,
      request: storedRequest(transmission.request),
      state: "queued",
      attempts: 0,
      at: this.options.now(),
    };
    const send = this.add(stored, transmission.request, transmission.batch);
    this.enqueue(send);
    this.notify(send);
    await this.options.log?.put(stored);
  }

  /** Where a record of this station stands on the air, when it was sent. */
  delivery(id: RecordId): RecordDelivery | undefined {
    const sends = this.byRecord.get(idKey(id));
    if (!sends || sends.size === 0) return undefined;
    let worst: StoredSend | undefined;
    let attempts = 0;
    let at = 0;
    for (const { stored } of sends) {
      if (!worst || RANK[stored.state] < RANK[worst.state]) worst = stored;
      attempts = Math.max(attempts, stored.attempts);
      at = Math.max(at, stored.at);
    }
    const out: RecordDelivery = { state: (worst as StoredSend).state, attempts, at };
    if (worst?.reason !== undefined) out.reason = worst.reason;
    return out;
  }

  /** Counts of the station's sends by state (for status). */
  counts(): Record<DeliveryState, number> {
    const counts: Record<DeliveryState, number> = { queued: 0, sent: 0, heard: 0, confirmed: 0, failed: 0, unknown: 0 };
    for (const { stored } of this.sends.values()) counts[stored.state] += 1;
    return counts;
  }

  /** This station's records whose delivery failed or is unknown (being retried, or given up), newest first. */
  troubled(limit: number): Array<{ id: RecordId; delivery: RecordDelivery }> {
    const out: Array<{ id: RecordId; delivery: RecordDelivery }> = [];
    const seen = new Set<string>();
    const sends = [...this.sends.values()].reverse();
    for (const { stored } of sends) {
      if (out.length >= limit) break;
      if (stored.state !== "failed" && stored.state !== "unknown") continue;
      for (const id of stored.records) {
        const key = idKey(id);
        const delivery = this.delivery(id);
        if (seen.has(key) || !delivery || (delivery.state !== "failed" && delivery.state !== "unknown")) continue;
        seen.add(key);
        out.push({ id: { ...id }, delivery });
      }
    }
    return out.slice(0, limit);
  }

  /** A delivery update from the radio. */
  onRadioDelivery(update: DeliveryUpdate): void {
    const sends = this.byRadioId.get(update.id);
    if (!sends) {
      this.early.set(update.id, update);
      if (this.early.size > EARLY_UPDATES) this.early.delete(this.early.keys().next().value as string);
      return;
    }
    for (const send of [...sends]) this.applyRadio(send, update);
  }

  close(): void {
    this.unsubscribe();
    this.stopStaleCheck?.();
    for (const send of this.sends.values()) this.timers.clearTimeout(send.retryTimer);
  }

  private add(stored: StoredSend, request: SendRequest, batch?: string): Send {
    const send: Send = { stored, request, batch };
    this.sends.set(stored.id, send);
    for (const id of stored.records) {
      const key = idKey(id);
      let set = this.byRecord.get(key);
      if (!set) this.byRecord.set(key, (set = new Set()));
      set.add(send);
    }
    if (stored.radioId !== undefined) this.linkRadioId(stored.radioId, send);
    return send;
  }

  private linkRadioId(radioId: string, send: Send): void {
    let set = this.byRadioId.get(radioId);
    if (!set) this.byRadioId.set(radioId, (set = new Set()));
    set.add(send);
  }

  private unlinkRadioId(send: Send): void {
    const radioId = send.stored.radioId;
    const set = radioId === undefined ? undefined : this.byRadioId.get(radioId);
    if (!set || radioId === undefined) return;
    set.delete(send);
    if (set.size === 0) this.byRadioId.delete(radioId);
  }

  private enqueue(send: Send): void {
    const item = this.options.scheduler.enqueue(send.stored.priority as PriorityClass, send.request, send.batch);
    let set = this.byItem.get(item);
    if (!set) this.byItem.set(item, (set = new Set()));
    set.add(send);
  }

  private onScheduler(event: SchedulerEvent): void {
    const sends = this.byItem.get(event.item.id);
    if (!sends) return;
    this.byItem.delete(event.item.id);
    const early = event.type === "sent" ? this.early.get(event.radioId) : undefined;
    if (early && event.type === "sent") this.early.delete(event.radioId);
    for (const send of sends) {
      send.stored.attempts += 1;
      if (event.type === "refused") {
        this.failed(send, "failed", `the radio link refused it: ${(event.error as Error).message ?? String(event.error)}`);
        continue;
      }
      this.unlinkRadioId(send);
      send.stored.radioId = event.radioId;
      this.linkRadioId(event.radioId, send);
      // Handed to the radio (its outbox): one more attempt, kept with the radio's id.
      if (send.stored.state === "queued" && send.stored.reason === undefined) this.touch(send);
      else this.change(send, "queued", undefined);
      if (early) this.applyRadio(send, early);
    }
  }

  private applyRadio(send: Send, update: DeliveryUpdate): void {
    if (update.state === "failed" || update.state === "unknown") this.failed(send, update.state, update.reason);
    else if (RANK[update.state] >= RANK[send.stored.state] || send.stored.state === "failed" || send.stored.state === "unknown") this.change(send, update.state, undefined);
  }

  /** A failure or silence: try again after a wait, or stop at the last attempt. */
  private failed(send: Send, state: "failed" | "unknown", reason: string | undefined): void {
    const { maxAttempts, retryBaseMs } = this.options;
    const why = reason ?? (state === "failed" ? "failed" : "no word from the radio");
    if (send.stored.attempts >= maxAttempts) {
      this.change(send, state, `${why}; gave up after ${send.stored.attempts} attempts`);
      this.log.warn({ send: send.stored.id, records: send.stored.records, reason: why }, "send gave up");
      return;
    }
    const waitMs = retryBaseMs * 2 ** Math.max(0, send.stored.attempts - 1);
    const at = this.options.now() + waitMs;
    send.stored.retryAt = at;
    this.change(send, state, `${why}; try ${send.stored.attempts + 1} of ${maxAttempts} in ${Math.round(waitMs / 1000)} s`);
    this.retryAt(send, at);
  }

  private retryAt(send: Send, at: number): void {
    this.timers.clearTimeout(send.retryTimer);
    send.retryTimer = this.timers.setTimeout(() => {
      send.retryTimer = undefined;
      delete send.stored.retryAt;
      this.unlinkRadioId(send);
      delete send.stored.radioId; // back in the scheduler: queued again after a restart too
      this.change(send, "queued", undefined);
      this.enqueue(send);
    }, Math.max(0, at - this.options.now()));
  }

  private checkStale(): void {
    const cutoff = this.options.now() - this.options.staleMs;
    for (const send of this.sends.values()) {
      const { stored } = send;
      if (stored.radioId === undefined || stored.retryAt !== undefined || stored.at > cutoff) continue;
      // Queued: in the radio's outbox, sent when the link is up. Sent: the radio took it, and its
      // ACK tracking ends in an update unless the radio rebooted or the link restarted.
      if (stored.state === "sent") this.failed(send, "unknown", `no word from the radio for ${Math.round(this.options.staleMs / 60_000)} min`);
    }
  }

  private change(send: Send, state: DeliveryState, reason: string | undefined): void {
    const { stored } = send;
    if (stored.state === state && stored.reason === reason) return;
    stored.state = state;
    if (reason === undefined) delete stored.reason;
    else stored.reason = reason;
    this.touch(send);
    if (isSettled(stored, this.options.maxAttempts)) this.noteSettled(send);
  }

  /** Remembers a send as settled, forgetting the oldest settled ones beyond `keepSettled`. */
  private noteSettled(send: Send): void {
    if (send.settledNoted) return;
    send.settledNoted = true;
    this.settled.push(send);
    while (this.settled.length > this.options.keepSettled) {
      const old = this.settled.shift() as Send;
      this.sends.delete(old.stored.id);
      this.unlinkRadioId(old);
      for (const id of old.stored.records) {
        const key = idKey(id);
        const set = this.byRecord.get(key);
        set?.delete(old);
        if (set?.size === 0) this.byRecord.delete(key);
      }
      this.options.log?.remove(old.stored.id).catch((error: unknown) => this.log.error({ err: error, send: old.stored.id }, "could not forget a settled send"));
    }
  }

  private touch(send: Send): void {
    send.stored.at = this.options.now();
    this.persist(send);
    this.notify(send);
  }

  private notify(send: Send): void {
    for (const id of send.stored.records) {
      const delivery = this.delivery(id);
      if (delivery) this.options.onChange(id, delivery);
    }
  }

  private persist(send: Send): void {
    this.options.log?.put(send.stored).catch((error: unknown) => this.log.error({ err: error, send: send.stored.id }, "could not keep a send's state; it may be tried again after a restart"));
  }
}

function isSettled(send: StoredSend, maxAttempts: number): boolean {
  // Heard: a neighbour relayed it. For a broadcast that is all the evidence there will be; for a
  // text to a handheld it may still be confirmed, but sending it again would only repeat it.
  if (send.state === "confirmed" || send.state === "heard") return true;
  if (send.state === "failed" || send.state === "unknown") return send.retryAt === undefined && send.attempts >= maxAttempts;
  return false;
}

function storedRequest(request: SendRequest): StoredSend["request"] {
  const out: StoredSend["request"] = {};
  if (request.text !== undefined) out.text = request.text;
  if (request.record !== undefined) out.record = Buffer.from(request.record).toString("base64");
  if (request.to !== undefined) out.to = request.to;
  if (request.wantAck !== undefined) out.wantAck = request.wantAck;
  return out;
}

function requestOf(send: StoredSend): SendRequest {
  const out: SendRequest = {};
  if (send.request.text !== undefined) out.text = send.request.text;
  if (send.request.record !== undefined) out.record = new Uint8Array(Buffer.from(send.request.record, "base64"));
  if (send.request.to !== undefined) out.to = send.request.to;
  if (send.request.wantAck !== undefined) out.wantAck = send.request.wantAck;
  return out;
}
