// Sending: the durable outbox drained into the radio at the pace the firmware accepts, and the
// delivery state of each send, told only as far as the radio has evidence.
// Reference: ../shared/reference/meshtastic-protocol.md sections 2.5 (QueueStatus), 3.1 (rate
// limits, 20-id filter), 3.2 (ids), 3.4 and 3.5 (ACK, NAK, implicit ACK), 4.2 (sizes).
//
// Per entry:   queued --(QueueStatus res 0 for its id)--> sent --(Routing NONE from us)--> heard
//                                                          sent|heard --(Routing NONE from the destination)--> confirmed
//              queued|sent|heard --(QueueStatus res != 0, or a NAK)--> failed (reason)
//              sent (want_ack) --(no ACK/NAK within ackTimeoutMs, or the radio rebooted)--> unknown
//
// One packet is in flight to the radio at a time (until its QueueStatus), none while the
// radio says its transmit queue is full, one text per textIntervalMs (the firmware drops a second
// text within 2 s), and packet ids are never reused for another packet. A write given up on (the
// link dropped, the radio rebooted) is written again with the same id, unless its QueueStatus
// still arrives first (then the radio has it); one the radio did not answer in time gets a fresh id.
import type { Logger } from "pino";
import { RadioError } from "./errors.ts";
import { createPacketIds, type OutboxEntry, type OutboxStore } from "./outbox.ts";
import { BROADCAST_NUM, decodeRoutingError, PortNum, routingErrorName, type ProtoInit } from "./protocol.ts";
import type { DeliveryState, RadioEvent, SendRequest } from "./types.ts";

/** What the queue needs from a connected link. */
export interface PacketWriter {
  readonly myNodeNum: number | undefined;
  /** The radio's configured hop limit (config.lora.hop_limit), when known. */
  readonly hopLimit?: number | undefined;
  sendPacket(packet: ProtoInit): Promise<void>;
}

export interface SendQueueOptions {
  outbox: OutboxStore;
  logger: Logger;
  /** The port meshaid records travel on (default DEFAULT_RECORD_PORT, 300). */
  recordPort?: number;
  /** hop_limit for our packets when the radio has not said its own (the firmware's factory default is 3). */
  hopLimit?: number;
  /** Minimum time between two texts (the firmware allows one per 2 s; default 2.1 s). */
  textIntervalMs?: number;
  /** How long to wait for the QueueStatus of a packet before writing it again with a fresh id. */
  queueStatusTimeoutMs?: number;
  /** After this long without an ACK or NAK, a want_ack send is `unknown` (default 2 min). */
  ackTimeoutMs?: number;
  /** How long to wait before asking again when the radio's transmit queue is full. */
  queueFullRetryMs?: number;
  random?: () => number;
  now?: () => number;
}

/**
 * meshaid's private port (256..511 are private apps; PRIVATE_APP 256 itself is shared by every
 * app). The field protocol's MESHAID_PORTNUM (src/wire) must be the same number.
 */
export const DEFAULT_RECORD_PORT = 300;

/**
 * A port meshaid records may travel on: a private port (256..511) other than PRIVATE_APP (256,
 * every app's test port) and ATAK_FORWARDER (257). Every station and handheld app of a coalition
 * must use the same one. Throws RADIO_BAD_RECORD_PORT naming the value otherwise.
 */
export function checkRecordPort(value: number | string): number {
  const port = typeof value === "number" ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port < 258 || port > 511) {
    throw new RadioError(
      "RADIO_BAD_RECORD_PORT",
      `Record port ${String(value)} is not a free Meshtastic private port: use one of 258..511 (default ${DEFAULT_RECORD_PORT}), the same at every station.`,
    );
  }
  return port;
}

/** The largest payload that fits one packet (reference 4.2): Data <= 239 bytes on air, PKI DMs 12 fewer. */
export function maxPayloadBytes(portnum: number, direct: boolean): number {
  const base = portnum < 128 ? 232 : 231;
  return direct ? base - 12 : base;
}

/** QueueStatus.res values that are not Routing.Error numbers (fw27 MeshTypes.h). */
const QUEUE_RESULTS: Readonly<Record<number, string>> = {
  32: "TX_QUEUE_FULL",
  33: "NO_INTERFACE",
  34: "RADIO_DISABLED",
  35: "SHOULD_RELEASE",
};
const RES_QUEUE_FULL = 32;
/** How many given-up packet ids are remembered (the radio's own duplicate filter keeps 20). */
const GIVEN_UP_REMEMBERED = 20;

interface InFlight {
  entry: OutboxEntry;
  packetId: number;
  timer: ReturnType<typeof setTimeout>;
}

interface Tracked {
  entry: OutboxEntry;
  packetId: number;
  state: DeliveryState;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class SendQueue {
  private readonly outbox: OutboxStore;
  private readonly log: Logger;
  private readonly recordPort: number;
  private readonly hopLimit: number;
  private readonly textIntervalMs: number;
  private readonly queueStatusTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  private readonly queueFullRetryMs: number;
  private readonly now: () => number;
  private readonly nextPacketId: () => number;
  private readonly emit: (event: RadioEvent) => void;

  /** Waiting for the radio, in order. */
  private readonly pending: OutboxEntry[] = [];
  private inFlight: InFlight | undefined;
  /** Accepted by the radio, waiting for an ACK or NAK: packet id -> entry. */
  private readonly tracked = new Map<number, Tracked>();
  /** Writes given up on before the radio answered: packet id -> entry (bounded, oldest dropped). */
  private readonly givenUp = new Map<number, OutboxEntry>();
  /** Entries to be written again with the packet id of their last write (see requeueInFlight). */
  private readonly rewriteIds = new Map<OutboxEntry, number>();
  private writer: PacketWriter | undefined;
  /** The radio's free transmit slots as last reported (undefined: not known yet). */
  private radioFree: number | undefined;
  private lastTextAt = Number.NEGATIVE_INFINITY;
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  private lastId = 0;
  private closed = false;

  constructor(options: SendQueueOptions, emit: (event: RadioEvent) => void) {
    this.outbox = options.outbox;
    this.log = options.logger;
    this.recordPort = checkRecordPort(options.recordPort ?? DEFAULT_RECORD_PORT);
    this.hopLimit = options.hopLimit ?? 3;
    this.textIntervalMs = options.textIntervalMs ?? 2_100;
    this.queueStatusTimeoutMs = options.queueStatusTimeoutMs ?? 15_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 120_000;
    this.queueFullRetryMs = options.queueFullRetryMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.nextPacketId = createPacketIds(options.random);
    this.emit = emit;
  }

  /** Takes up what the outbox held (sent before a crash or restart); they go first. */
  async load(): Promise<number> {
    const entries = await this.outbox.list();
    for (const entry of entries) this.noteId(entry.id);
    this.pending.unshift(...entries);
    if (entries.length > 0) this.log.info({ count: entries.length }, "outbox entries from before are queued again");
    this.pump();
    return entries.length;
  }

  /** Entries not yet accepted by the radio. */
  get queued(): number {
    return this.pending.length + (this.inFlight ? 1 : 0);
  }

  /**
   * Whether what is queued waits for time to pass: the radio said its transmit queue is full, or
   * the next text waits out the firmware's rate limit. (A simulation that waits for the queue
   * to empty before moving its clock would wait for ever.)
   */
  get waitingForTime(): boolean {
    const next = this.pending[0];
    if (this.inFlight || !next) return false;
    return this.radioFree === 0 || (next.portnum === PortNum.TEXT_MESSAGE_APP && this.lastTextAt + this.textIntervalMs > this.now());
  }

  /**
   * Validates and queues a send; resolves with its id once it is in the outbox (on disk).
   * Rejects with RADIO_BAD_REQUEST or RADIO_PAYLOAD_TOO_LARGE (nothing is queued then).
   */
  async send(request: SendRequest): Promise<string> {
    if (this.closed) throw new RadioError("RADIO_CLOSED", "The radio connection is closed; nothing more can be queued.");
    const entry = this.entryFor(request);
    await this.outbox.put(entry);
    this.pending.push(entry);
    this.update(entry.id, "queued");
    this.pump();
    return entry.id;
  }

  /** The link is connected (a writer) or not (undefined): sending pauses while it is down. */
  attach(writer: PacketWriter | undefined): void {
    this.writer = writer;
    if (!writer) {
      this.requeueInFlight("link down", { sameId: true });
      this.radioFree = undefined;
      return;
    }
    this.pump();
  }

  /** The radio rebooted: what it had accepted but not yet proven sent may be gone. */
  rebooted(): void {
    this.requeueInFlight("radio rebooted", { sameId: true });
    for (const [packetId, tracked] of this.tracked) {
      if (tracked.state !== "sent") continue;
      this.untrack(packetId);
      if (tracked.entry.wantAck) this.update(tracked.entry.id, "unknown", packetId, "radio rebooted before an ACK");
    }
  }

  /** Events from the link: QueueStatus and ROUTING_APP packets. */
  onEvent(event: RadioEvent): void {
    if (event.type === "queue-status") this.onQueueStatus(event.res, event.free, event.packetId);
    else if (event.type === "packet" && event.packet.portnum === PortNum.ROUTING_APP && event.packet.requestId !== undefined) {
      this.onRouting(event.packet.from, event.packet.requestId, event.packet.payload);
    }
  }

  /** Stops the timers; what is still queued stays in the outbox for next time. */
  close(): void {
    this.closed = true;
    this.writer = undefined;
    if (this.inFlight) clearTimeout(this.inFlight.timer);
    this.inFlight = undefined;
    clearTimeout(this.wakeTimer);
    for (const tracked of this.tracked.values()) clearTimeout(tracked.timer);
    this.tracked.clear();
  }

  // --- building entries -------------------------------------------------------------------------

  private entryFor(request: SendRequest): OutboxEntry {
    const hasText = request.text !== undefined;
    const hasRecord = request.record !== undefined;
    if (hasText === hasRecord) {
      throw new RadioError("RADIO_BAD_REQUEST", "A send needs exactly one of text and record.");
    }
    const to = request.to ?? BROADCAST_NUM;
    if (!Number.isInteger(to) || to <= 0 || to > 0xffff_ffff) {
      throw new RadioError("RADIO_BAD_REQUEST", `Destination ${to} is not a node number (1..0xFFFFFFFF).`);
    }
    const channel = request.channel ?? 0;
    if (!Number.isInteger(channel) || channel < 0 || channel > 7) {
      throw new RadioError("RADIO_BAD_REQUEST", `Channel ${channel} is not a channel index (0..7).`);
    }
    const portnum = hasText ? PortNum.TEXT_MESSAGE_APP : this.recordPort;
    const payload = hasText ? new TextEncoder().encode(request.text) : Uint8Array.from(request.record ?? []);
    const direct = to !== BROADCAST_NUM;
    const max = maxPayloadBytes(portnum, direct);
    if (payload.length > max) {
      throw new RadioError(
        "RADIO_PAYLOAD_TOO_LARGE",
        `The ${hasText ? "text" : "record"} is ${payload.length} bytes; one ${direct ? "direct" : "broadcast"} packet carries at most ${max}. Shorten it or split it.`,
      );
    }
    if (payload.length === 0) throw new RadioError("RADIO_BAD_REQUEST", "Nothing to send: the text or record is empty.");
    const hopLimit = request.hopLimit;
    if (hopLimit !== undefined && (!Number.isInteger(hopLimit) || hopLimit < 0 || hopLimit > 7)) throw new RadioError("RADIO_BAD_REQUEST", `Hop limit ${hopLimit} is not a hop count (0..7).`);
    const priority = request.priority;
    if (priority !== undefined && (!Number.isInteger(priority) || priority < 1 || priority > 127)) throw new RadioError("RADIO_BAD_REQUEST", `Priority ${priority} is not a MeshPacket priority (1..127).`);
    return { id: this.newId(), portnum, payload, to, channel, wantAck: request.wantAck ?? direct, ...(hopLimit !== undefined ? { hopLimit } : {}), ...(priority !== undefined ? { priority } : {}), queuedAt: this.now() };
  }

  /** Sortable ids that keep increasing across restarts (microseconds, bumped past the last). */
  private newId(): string {
    const id = Math.max(this.now() * 1000, this.lastId + 1);
    this.lastId = id;
    return String(id).padStart(16, "0");
  }

  private noteId(id: string): void {
    const n = Number(id);
    if (Number.isFinite(n) && n > this.lastId) this.lastId = n;
  }

  // --- draining ------------------------------------------------------------------------------

  private pump(): void {
    if (this.closed || this.inFlight || !this.writer || this.radioFree === 0) return;
    const entry = this.pending[0];
    if (!entry) return;
    if (entry.portnum === PortNum.TEXT_MESSAGE_APP) {
      const wait = this.lastTextAt + this.textIntervalMs - this.now();
      if (wait > 0) {
        this.wakeIn(wait);
        return;
      }
    }
    this.pending.shift();
    const writer = this.writer;
    const packetId = this.rewriteIds.get(entry) ?? this.nextPacketId();
    this.rewriteIds.delete(entry);
    const timer = setTimeout(() => this.onQueueStatusTimeout(packetId), this.queueStatusTimeoutMs);
    timer.unref();
    this.inFlight = { entry, packetId, timer };
    if (entry.portnum === PortNum.TEXT_MESSAGE_APP) this.lastTextAt = this.now();
    const packet: ProtoInit = {
      // from = us, so that a rate-limit NAK comes back to us rather than over the air to node 0.
      from: writer.myNodeNum ?? 0,
      to: entry.to,
      channel: entry.channel,
      id: packetId,
      hopLimit: entry.hopLimit ?? writer.hopLimit ?? this.hopLimit,
      ...(entry.priority !== undefined ? { priority: entry.priority } : {}),
      wantAck: entry.wantAck,
      payloadVariant: { case: "decoded", value: { portnum: entry.portnum, payload: entry.payload } },
    };
    this.log.debug({ id: entry.id, packetId, to: entry.to, portnum: entry.portnum }, "writing to the radio");
    writer.sendPacket(packet).catch((error: unknown) => {
      this.log.info({ id: entry.id, packetId, err: error }, "write failed; the entry stays queued");
      if (this.inFlight?.packetId === packetId) this.requeueInFlight("write failed", { sameId: true });
    });
  }

  private wakeIn(ms: number): void {
    if (this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.pump();
    }, ms);
    this.wakeTimer.unref();
  }

  /**
   * Puts the packet in flight back at the head of the queue. With `sameId` its next write reuses
   * the packet id: if the radio did get the first write after all, it drops the second as a
   * repeat (its filter of recent ids) and its answer to the first settles the entry; if both went
   * out, every node on the mesh drops the second copy as one it has seen. A write the radio did
   * not answer in time is written with a fresh id (the radio may have dropped it for its id).
   */
  private requeueInFlight(why: string, options: { sameId?: boolean } = {}): void {
    const flight = this.inFlight;
    if (!flight) return;
    clearTimeout(flight.timer);
    this.inFlight = undefined;
    this.pending.unshift(flight.entry);
    // The radio may still answer for it (a QueueStatus already on its way, or one from a radio
    // that rebooted as it arrived): remember the id, so that answer is not a second transmission.
    this.givenUp.set(flight.packetId, flight.entry);
    if (options.sameId) this.rewriteIds.set(flight.entry, flight.packetId);
    else this.rewriteIds.delete(flight.entry);
    if (this.givenUp.size > GIVEN_UP_REMEMBERED) this.givenUp.delete(this.givenUp.keys().next().value as number);
    this.log.info({ id: flight.entry.id, packetId: flight.packetId, why }, "not accepted by the radio yet; will be written again");
  }

  private onQueueStatusTimeout(packetId: number): void {
    if (this.inFlight?.packetId !== packetId) return;
    this.requeueInFlight("no QueueStatus from the radio");
    this.pump();
  }

  private onQueueStatus(res: number, free: number, packetId: number): void {
    this.radioFree = free;
    const flight = this.inFlight;
    let entry: OutboxEntry;
    if (flight && packetId !== 0 && packetId === flight.packetId) {
      clearTimeout(flight.timer);
      this.inFlight = undefined;
      entry = flight.entry;
    } else {
      const late = this.takeGivenUp(packetId);
      if (!late) {
        this.pump();
        return;
      }
      entry = late;
    }
    if (res === RES_QUEUE_FULL) {
      this.pending.unshift(entry);
      this.radioFree = 0;
      this.log.info({ id: entry.id }, "radio transmit queue full; waiting");
      setTimeout(() => {
        if (this.radioFree === 0) this.radioFree = undefined;
        this.pump();
      }, this.queueFullRetryMs).unref();
      return;
    }
    void this.settleAccepted(entry, packetId, res);
  }

  /**
   * The entry of a write given up on (link down, reboot, no QueueStatus in time) whose QueueStatus
   * came after all, taken out of `pending`: the radio has answered for it, so it is not written
   * again. Undefined when the entry has been written again meanwhile (that write gets its own
   * answer) or the id is not one of ours.
   */
  private takeGivenUp(packetId: number): OutboxEntry | undefined {
    const entry = packetId === 0 ? undefined : this.givenUp.get(packetId);
    if (!entry) return undefined;
    this.givenUp.delete(packetId);
    const index = this.pending.indexOf(entry);
    if (index < 0) return undefined;
    this.pending.splice(index, 1);
    this.rewriteIds.delete(entry);
    this.log.info({ id: entry.id, packetId }, "the radio answered for a write given up on; not writing it again");
    return entry;
  }

  /** The radio answered for an entry: it leaves the outbox either way. */
  private async settleAccepted(entry: OutboxEntry, packetId: number, res: number): Promise<void> {
    if (res === 0) {
      const timer = setTimeout(() => this.onAckTimeout(packetId), this.ackTimeoutMs);
      timer.unref();
      this.tracked.set(packetId, { entry, packetId, state: "sent", timer });
      this.update(entry.id, "sent", packetId);
    } else {
      this.update(entry.id, "failed", packetId, QUEUE_RESULTS[res] ?? routingErrorName(res));
    }
    this.pump();
    try {
      await this.outbox.remove(entry.id);
    } catch (error) {
      this.log.error({ id: entry.id, err: error }, "could not remove an accepted entry from the outbox; it may be sent again after a restart");
    }
  }

  // --- ACKs and NAKs -------------------------------------------------------------------------

  private onRouting(from: number, requestId: number, payload: Uint8Array): void {
    const tracked = this.tracked.get(requestId);
    if (!tracked) return;
    let error: number | undefined;
    try {
      error = decodeRoutingError(payload);
    } catch {
      this.log.warn({ requestId }, "undecodable Routing payload for one of our packets");
      return;
    }
    if (error === undefined) return;
    const me = this.writer?.myNodeNum;
    const { entry } = tracked;
    const fromDestination = from === entry.to && entry.to !== BROADCAST_NUM && from !== me;
    if (error !== 0) {
      this.untrack(requestId);
      this.update(entry.id, "failed", requestId, routingErrorName(error));
      return;
    }
    if (fromDestination) {
      this.untrack(requestId);
      this.update(entry.id, "confirmed", requestId);
      return;
    }
    if (from === me || me === undefined) {
      if (tracked.state !== "sent") return;
      tracked.state = "heard";
      this.update(entry.id, "heard", requestId);
      // A broadcast has no destination to confirm it: a neighbour's rebroadcast is all there is.
      if (entry.to === BROADCAST_NUM) this.untrack(requestId);
    }
  }

  private onAckTimeout(packetId: number): void {
    const tracked = this.tracked.get(packetId);
    if (!tracked) return;
    this.tracked.delete(packetId);
    if (tracked.state === "sent" && tracked.entry.wantAck) {
      this.update(tracked.entry.id, "unknown", packetId, `no ACK within ${Math.round(this.ackTimeoutMs / 1000)} s`);
    }
  }

  private untrack(packetId: number): void {
    const tracked = this.tracked.get(packetId);
    if (!tracked) return;
    clearTimeout(tracked.timer);
    this.tracked.delete(packetId);
  }

  private update(id: string, state: DeliveryState, packetId?: number, reason?: string): void {
    const delivery: { id: string; state: DeliveryState; packetId?: number; reason?: string } = { id, state };
    if (packetId !== undefined) delivery.packetId = packetId;
    if (reason !== undefined) delivery.reason = reason;
    this.log.info(delivery, "delivery");
    this.emit({ type: "delivery", delivery });
  }
}
