// The transmit scheduler: everything the station puts on the air goes through it. Priority
// classes (life safety first, then incidents, requests, status, shifts, check-ins), the
// firmware's pacing (one packet from the client per `minIntervalMs`), the region's duty cycle over
// a rolling window (with a reserve only life safety may use), back-off as the channel's
// utilisation rises (the radio's telemetry), and acknowledgements to one handheld batched into
// one text. The clock and the timers are injected (default: the process's, which fake timers drive).
import type { RadioSender, SendRequest } from "../radio/index.ts";
import { processTimers, type StationTimers } from "./timers.ts";

export type PriorityClass = "life_safety" | "incident" | "request" | "status" | "shift" | "checkin";
export const PRIORITY_CLASSES: readonly PriorityClass[] = ["life_safety", "incident", "request", "status", "shift", "checkin"];

export interface SchedulerOptions {
  sender: RadioSender;
  now?: () => number;
  /** Where its timers come from (default: the process's; a drill passes its virtual clock's). */
  timers?: StationTimers;
  /** The firmware takes one packet from its client per this many ms (text: 2000). */
  minIntervalMs?: number;
  /** The share of time the region allows on the air (EU868 g: 0.1 would be 10 %; 0.01 is 1 %). */
  dutyCycle?: number;
  /** The window the duty cycle is measured over. */
  windowMs?: number;
  /** The share of the duty-cycle budget kept for life safety. */
  lifeSafetyReserve?: number;
  /** Time on air of a packet with this many bytes of payload (default: LONG_FAST with the 16-byte header). */
  airtimeMs?: (payloadBytes: number) => number;
  /** Failures to send (the radio refused the write) are reported here; the item is dropped. */
  onError?: (error: unknown, item: QueuedSend) => void;
}

export interface QueuedSend {
  id: number;
  priority: PriorityClass;
  request: SendRequest;
  queuedAt: number;
  /** Acks to one destination with the same batch key are joined into one text while they wait; a record replaces the waiting one. */
  batch?: string;
  /** Called as its turn comes: what to send now (a held ACK says what is held at that moment), or undefined when nothing needs to go any more. */
  refresh?: () => SendRequest | undefined;
}

/** What became of a queued send: the radio took it (with the id its delivery updates carry) or refused it. */
export type SchedulerEvent = { type: "sent"; item: QueuedSend; radioId: string } | { type: "refused"; item: QueuedSend; error: unknown };

/** Where the scheduler stands, for the console and tests. */
export interface SchedulerState {
  queued: Record<PriorityClass, number>;
  /** Airtime used in the current window, ms, and the budget. */
  airtimeUsedMs: number;
  airtimeBudgetMs: number;
  channelUtilization: number;
  /** The pacing interval now (grows with channel utilisation). */
  intervalMs: number;
}

/** A rough LONG_FAST time on air: ~330 ms for an empty packet plus ~7 ms a byte (header included). */
const LONG_FAST_ESTIMATE = (payloadBytes: number): number => 330 + 7.2 * (payloadBytes + 16);
const MAX_TEXT_BYTES = 200;

export class TransmitScheduler {
  private readonly sender: RadioSender;
  private readonly now: () => number;
  private readonly minIntervalMs: number;
  private readonly budgetMs: number;
  private readonly windowMs: number;
  private readonly reserveMs: number;
  private readonly airtime: (payloadBytes: number) => number;
  private readonly onError: (error: unknown, item: QueuedSend) => void;
  private readonly queues = new Map<PriorityClass, QueuedSend[]>(PRIORITY_CLASSES.map((name) => [name, []]));
  /** What went on the air in the window: when, and for how long. */
  private readonly sent: Array<{ at: number; ms: number }> = [];
  private lastSentAt = -Infinity;
  private utilization = 0;
  private readonly timers: StationTimers;
  private timer: unknown;
  private sending = false;
  private nextId = 1;
  private closed = false;
  private readonly listeners = new Set<(event: SchedulerEvent) => void>();

  constructor(options: SchedulerOptions) {
    this.sender = options.sender;
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? processTimers;
    this.minIntervalMs = options.minIntervalMs ?? 2000;
    this.windowMs = options.windowMs ?? 3_600_000;
    this.budgetMs = (options.dutyCycle ?? 0.1) * this.windowMs;
    this.reserveMs = (options.lifeSafetyReserve ?? 0.2) * this.budgetMs;
    this.airtime = options.airtimeMs ?? LONG_FAST_ESTIMATE;
    this.onError = options.onError ?? (() => undefined);
  }

  /**
   * Queues a send; returns its id. Texts with a batch key join a waiting one to the same place;
   * a record with a batch key replaces a waiting one with that key.
   */
  enqueue(priority: PriorityClass, request: SendRequest, batch?: string, refresh?: () => SendRequest | undefined): number {
    const queue = this.queues.get(priority) as QueuedSend[];
    if (batch !== undefined && request.text !== undefined) {
      const waiting = queue.find((item) => item.batch === batch && item.request.to === request.to && item.request.text !== undefined);
      const joined = waiting ? `${waiting.request.text ?? ""} ${request.text}` : undefined;
      if (waiting && joined !== undefined && Buffer.byteLength(joined) <= MAX_TEXT_BYTES) {
        waiting.request = { ...waiting.request, text: joined };
        return waiting.id;
      }
    }
    if (batch !== undefined && request.record !== undefined) {
      // A cumulative record (a held ACK) replaces a waiting one with the same key: it says all the older did.
      const waiting = queue.find((item) => item.batch === batch && item.request.record !== undefined);
      if (waiting) {
        waiting.request = request;
        if (refresh) waiting.refresh = refresh;
        else delete waiting.refresh;
        return waiting.id;
      }
    }
    const item: QueuedSend = { id: this.nextId++, priority, request, queuedAt: this.now(), ...(batch !== undefined ? { batch } : {}), ...(refresh ? { refresh } : {}) };
    queue.push(item);
    this.schedule();
    return item.id;
  }

  /** Tells `listener` what became of each send it put to the radio. */
  subscribe(listener: (event: SchedulerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The channel utilisation the radio reports (percent): pacing backs off as it rises. */
  setChannelUtilization(percent: number): void {
    this.utilization = Math.max(0, percent);
    this.schedule();
  }

  state(): SchedulerState {
    const queued = Object.fromEntries(PRIORITY_CLASSES.map((name) => [name, this.queues.get(name)?.length ?? 0])) as Record<PriorityClass, number>;
    return { queued, airtimeUsedMs: this.usedMs(), airtimeBudgetMs: this.budgetMs, channelUtilization: this.utilization, intervalMs: this.interval("request") };
  }

  close(): void {
    this.closed = true;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The pacing interval for a class: the firmware's minimum, times a back-off that grows with
   * channel utilisation (x2 above 25 %, x4 above 40 %, x8 above 60 %), except for life safety.
   */
  private interval(priority: PriorityClass): number {
    if (priority === "life_safety") return this.minIntervalMs;
    const u = this.utilization;
    return this.minIntervalMs * (u > 60 ? 8 : u > 40 ? 4 : u > 25 ? 2 : 1);
  }

  private usedMs(): number {
    const since = this.now() - this.windowMs;
    while (this.sent.length > 0 && (this.sent[0] as { at: number }).at <= since) this.sent.shift();
    return this.sent.reduce((sum, entry) => sum + entry.ms, 0);
  }

  private next(): QueuedSend | undefined {
    for (const name of PRIORITY_CLASSES) {
      const item = this.queues.get(name)?.[0];
      if (item) return item;
    }
    return undefined;
  }

  /** When the next item may go (ms from now), or undefined when it must wait for the window to free airtime. */
  private waitFor(item: QueuedSend): number {
    const now = this.now();
    const pace = Math.max(0, this.lastSentAt + this.interval(item.priority) - now);
    const cost = this.airtime(payloadBytes(item.request));
    const budget = item.priority === "life_safety" ? this.budgetMs : this.budgetMs - this.reserveMs;
    const used = this.usedMs();
    if (used + cost <= budget) return pace;
    // Wait until enough of the window's airtime has aged out.
    let freed = used;
    for (const entry of this.sent) {
      freed -= entry.ms;
      if (freed + cost <= budget) return Math.max(pace, entry.at + this.windowMs - now + 1);
    }
    return Math.max(pace, this.windowMs);
  }

  private schedule(): void {
    if (this.closed || this.sending) return;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const item = this.next();
    if (!item) return;
    const wait = this.waitFor(item);
    this.timer = this.timers.setTimeout(() => void this.fire(), wait);
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    const item = this.next();
    if (!item || this.closed) return;
    if (this.waitFor(item) > 0) return this.schedule();
    (this.queues.get(item.priority) as QueuedSend[]).shift();
    if (item.refresh) {
      const now = item.refresh();
      if (!now) return this.schedule();
      item.request = now;
    }
    this.sending = true;
    this.lastSentAt = this.now();
    this.sent.push({ at: this.lastSentAt, ms: this.airtime(payloadBytes(item.request)) });
    let event: SchedulerEvent;
    try {
      event = { type: "sent", item, radioId: await this.sender.send(item.request) };
    } catch (error) {
      this.onError(error, item);
      event = { type: "refused", item, error };
    } finally {
      this.sending = false;
      this.schedule();
    }
    for (const listener of this.listeners) listener(event);
  }
}

function payloadBytes(request: SendRequest): number {
  return request.record?.length ?? Buffer.byteLength(request.text ?? "");
}
