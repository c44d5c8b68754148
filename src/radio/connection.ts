// The radio connection: a supervisor that keeps a RadioLink up. It opens a transport, runs a
// RadioLink on it, and when that link closes for any reason but the owner's (unplugged cable,
// socket closed, read or write error, handshake timeout, stalled session) it opens a new
// transport after a backoff and runs a fresh handshake. Sending goes through its SendQueue, which
// pauses while the link is down and never loses what is queued (a durable outbox).
//
// Its status (what the station and console see), with a reason on every transition:
//
//   connecting --> configuring --> connected                   (the current link's own statuses)
//   connected --(FromRadio.rebooted)--> reconnecting (device-rebooted) --> configuring --> connected
//   any --(link closed: stream-ended, read-error, write-error, handshake-timeout, idle-timeout)--> reconnecting
//   reconnecting --(open fails: unplugged, open-failed; retried with backoff, a missing port every second)--> reconnecting
//   reconnecting --(open succeeds)--> connecting --> configuring --> connected
//   any --(close())--> closed (user)
import type { Logger } from "pino";
import { isRadioError } from "./errors.ts";
import { RadioLink, type RadioLinkOptions } from "./link.ts";
import { MemoryOutbox, type OutboxStore } from "./outbox.ts";
import { SendQueue, type SendQueueOptions } from "./send-queue.ts";
import type { Transport } from "./transport.ts";
import type { LinkReason, LinkStatus, RadioEvent, RadioListener, RadioSender, RadioSource, SendRequest } from "./types.ts";

export interface RadioConnectionOptions {
  /** Opens the byte stream to the radio (a serial port, a socket); called again for each reconnect. */
  open: () => Promise<Transport>;
  logger: Logger;
  /** Options for each RadioLink (heartbeat, handshake and idle timeouts, nonce source). */
  link?: Omit<RadioLinkOptions, "transport" | "logger">;
  /** Wait before the first reconnect attempt; doubles per failed attempt up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A link that stayed connected this long was a good one: the next reconnect starts from
   * initialBackoffMs again. One that drops sooner (another client taking a TCP radio, a flapping
   * cable) keeps backing off, so two clients never fight over a radio faster than maxBackoffMs.
   */
  stableAfterMs?: number;
  /**
   * While the port is missing (the cable is out), look for it again at least this often (default
   * 1 s), however far the backoff has grown: a missing port costs nothing to try, and the radio
   * holds what it hears meanwhile in a to-phone queue of 8 to 32 packets that overflows (dropping
   * what is new on meshaid's port) if the station comes back late.
   */
  unpluggedRetryMs?: number;
  /** Where queued sends wait (default in memory: lost on exit). */
  outbox?: OutboxStore;
  /** Pacing and timeouts of the send queue. */
  sending?: Omit<SendQueueOptions, "outbox" | "logger">;
}

export class RadioConnection implements RadioSource, RadioSender {
  private readonly options: RadioConnectionOptions;
  private readonly log: Logger;
  private readonly listeners = new Set<RadioListener>();
  private readonly queue: SendQueue;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly stableAfterMs: number;
  private readonly unpluggedRetryMs: number;
  private connectedAt: number | undefined;

  private currentStatus: LinkStatus = "connecting";
  private currentReason: LinkReason = "starting";
  private link: RadioLink | undefined;
  private backoffMs: number;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private attempts = 0;

  constructor(options: RadioConnectionOptions) {
    this.options = options;
    this.log = options.logger;
    this.initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.stableAfterMs = options.stableAfterMs ?? 60_000;
    this.unpluggedRetryMs = options.unpluggedRetryMs ?? 1_000;
    this.backoffMs = this.initialBackoffMs;
    this.queue = new SendQueue(
      { ...options.sending, outbox: options.outbox ?? new MemoryOutbox(), logger: options.logger.child({ component: "send-queue" }) },
      (event) => this.emit(event),
    );
  }

  get status(): LinkStatus {
    return this.currentStatus;
  }

  get reason(): LinkReason {
    return this.currentReason;
  }

  /** The radio's node number, once the current link has had its MyNodeInfo. */
  get myNodeNum(): number | undefined {
    return this.link?.myNodeNum;
  }

  /** How many transports were opened so far (the first connection counts). */
  get connections(): number {
    return this.attempts;
  }

  /** Sends not yet accepted by the radio. */
  get queued(): number {
    return this.queue.queued;
  }

  /** Whether the sends queued wait for time to pass (the radio's transmit queue full, or the text rate limit). */
  get queueWaitsForTime(): boolean {
    return this.queue.waitingForTime;
  }

  subscribe(listener: RadioListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Loads the outbox and opens the first transport. Rejects (and the connection is closed) if
   * that first open fails, so a wrong --port is reported at once; after that, every failure is
   * retried. Resolves once the first link is running (its handshake continues in the background).
   */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.queue.load();
      let transport: Transport;
      try {
        transport = await this.options.open();
      } catch (error) {
        this.queue.close();
        this.transition("closed", openFailureReason(error));
        throw error;
      }
      if (this.closing) {
        await transport.disconnect();
        return;
      }
      this.run(transport);
    })();
    return this.started;
  }

  send(request: SendRequest): Promise<string> {
    return this.queue.send(request);
  }

  /** Closes the link (saying goodbye to the radio) and stops reconnecting. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.queue.close();
      const link = this.link;
      this.link = undefined;
      if (this.currentStatus !== "closed") this.transition("closed", "user");
      await link?.close();
    })();
    return this.closing;
  }

  // --- one link per attempt -------------------------------------------------------------------

  private run(transport: Transport): void {
    this.attempts += 1;
    const link = new RadioLink({ ...this.options.link, transport, logger: this.log });
    this.link = link;
    link.subscribe((event) => this.onLinkEvent(link, event));
    link.start().catch((error: unknown) => {
      // The link has closed itself (its status event schedules the reconnect); this is the why.
      this.log.warn({ err: error }, "radio handshake failed");
    });
  }

  private onLinkEvent(link: RadioLink, event: RadioEvent): void {
    if (link !== this.link) return; // a link we already gave up on
    if (event.type !== "status") {
      this.queue.onEvent(event);
      this.emit(event);
      return;
    }
    const { status, reason } = event;
    if (status === "closed") {
      if (this.closing) return;
      this.link = undefined;
      this.queue.attach(undefined);
      if (this.connectedAt !== undefined && Date.now() - this.connectedAt >= this.stableAfterMs) this.backoffMs = this.initialBackoffMs;
      this.connectedAt = undefined;
      this.transition("reconnecting", reason);
      this.scheduleReconnect();
      return;
    }
    if (reason === "device-rebooted") this.queue.rebooted();
    this.transition(status, reason);
    if (status === "connected") {
      this.connectedAt ??= Date.now();
      this.queue.attach(link);
    } else {
      this.queue.attach(undefined);
    }
  }

  private scheduleReconnect(cap = Number.POSITIVE_INFINITY): void {
    if (this.closing) return;
    const delay = Math.min(this.backoffMs, cap);
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.log.info({ delayMs: delay }, "reconnecting to the radio");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reconnect();
    }, delay);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    let transport: Transport;
    try {
      transport = await this.options.open();
    } catch (error) {
      if (this.closing) return;
      const reason = openFailureReason(error);
      this.log.info({ err: error, reason }, "could not open the radio; will retry");
      if (reason !== this.currentReason) this.transition("reconnecting", reason);
      this.scheduleReconnect(reason === "unplugged" ? this.unpluggedRetryMs : undefined);
      return;
    }
    if (this.closing) {
      await transport.disconnect().catch(() => undefined);
      return;
    }
    this.run(transport);
  }

  // --- status and events -----------------------------------------------------------------------

  private transition(status: LinkStatus, reason: LinkReason): void {
    const from = this.currentStatus;
    this.currentStatus = status;
    this.currentReason = reason;
    this.log.info({ from, status, reason }, "radio connection status");
    this.emit({ type: "status", status, reason });
  }

  private emit(event: RadioEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error, event: event.type }, "radio event listener threw");
      }
    }
  }
}

function openFailureReason(error: unknown): LinkReason {
  return isRadioError(error, "RADIO_PORT_NOT_FOUND") ? "unplugged" : "open-failed";
}

/** Builds a RadioConnection (the composition root's one-liner). */
export function connectRadio(options: RadioConnectionOptions): RadioConnection {
  return new RadioConnection(options);
}
