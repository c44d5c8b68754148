// The on-air side of a simulated radio (ReliableRouter, RadioLibInterface): the packets this
// radio sends, into the air's priority TX queue (or, without an air below it, a 16-entry queue
// with a CSMA wait and the LoRa time on air), want_ack retransmissions with the firmware's timeout
// until an ACK or MAX_RETRANSMIT. SimRadio (radio.ts, the phone API side) owns one.
import type { Logger } from "pino";
import { ON_AIR_HEADER_BYTES, csmaDelayMs, retransmissionMs, type LoraParams } from "./airtime.ts";
import type { SimTimer } from "./clock.ts";
import type { ConsoleLevel } from "./console-log.ts";
import type { SimNode } from "./node.ts";
import { RoutingError, copyPacket, dataEncodedSize, hex32, type SimPacket } from "./packet.ts";
import { Errno, MAX_TX_QUEUE, NUM_RELIABLE_RETX, channelLabel } from "./phone-api.ts";

/** What the radio needs from the air below it. */
export interface RadioAir {
  /**
   * Queues `packet` in the radio's TX queue (by priority, beside the relays); false when the queue
   * is full. Then `done()` once it went out, `done(routingError)` if it will not (duty cycle, powered off).
   */
  send(packet: SimPacket, done: (error?: number) => void): boolean;
  /** Drops a packet of ours still waiting to go (its ACK came while it waited). */
  cancel(id: number): void;
  /** Room left in the TX queue (for QueueStatus). */
  free(): number;
}

export interface TxItem {
  packet: SimPacket;
  /** want_ack from the phone: retransmit until an ACK, then MAX_RETRANSMIT. */
  reliable: boolean;
  retransmission: boolean;
}

interface PendingAck {
  item: TxItem;
  retriesLeft: number;
  timer: SimTimer | undefined;
  /** When the next retransmission is due (ms). */
  dueAt: number;
}

/** What the transmitter needs from its radio. */
export interface TransmitterDeps {
  node: SimNode;
  air: RadioAir | undefined;
  log: Logger | undefined;
  lora: LoraParams;
  now: () => number;
  random: () => number;
  airtime: (onAirBytes: number) => number;
  later: (ms: number, callback: () => void) => SimTimer;
  cancel: (timer: SimTimer) => void;
  /** A packet went out (the air side of SimMesh). */
  onTransmit: (packet: SimPacket) => void;
  /** A routing result for the radio's own client (implicit ACK, NAK, MAX_RETRANSMIT). */
  toPhone: (error: number, requestId: number, channel: number) => void;
  /** The full TX queue has room again (QueueStatus to the client). */
  queueSpaceFreed: () => void;
  consoleLog: (level: ConsoleLevel, thread: string, message: string) => void;
  channelUtilization: () => number;
}

export class RadioTransmitter {
  private txQueue: TxItem[] = [];
  private txBusy = false;
  /** Time on air spent transmitting since boot (for the console's air_util_tx). */
  airtimeSpentMs = 0;
  private readonly pendingAcks = new Map<number, PendingAck>();

  private readonly deps: TransmitterDeps;

  constructor(deps: TransmitterDeps) {
    this.deps = deps;
  }

  /** Packets waiting in the radio's own queue (without an air below it). */
  get queued(): number {
    return this.txQueue.length;
  }

  /** Whether a want_ack packet of ours still waits for its ACK. */
  awaitsAck(id: number): boolean {
    return this.pendingAcks.has(id);
  }

  /** Forgets every queued packet and pending retransmission (a reboot, the radio closed; its timers are the radio's). */
  reset(): void {
    this.txQueue = [];
    this.txBusy = false;
    this.pendingAcks.clear();
  }

  enqueue(item: TxItem): number {
    const air = this.deps.air;
    if (air) return this.sendOnAir(air, item);
    if (this.txQueue.length >= MAX_TX_QUEUE) {
      this.deps.log?.warn({ id: item.packet.id }, "TX queue full");
      return Errno.UNKNOWN;
    }
    this.txQueue.push(item);
    this.pumpTx();
    return Errno.OK;
  }

  /**
   * Into the air's TX queue, which orders it by priority beside the relays and times it. A
   * want_ack packet's retransmission timer starts now, as ReliableRouter::send starts it, not
   * once the packet is on the air; a packet the air refuses is not retried.
   */
  private sendOnAir(air: RadioAir, item: TxItem): number {
    const { packet } = item;
    if (item.reliable) this.armRetransmission(item, ON_AIR_HEADER_BYTES + dataEncodedSize(packet.decoded));
    const accepted = air.send(copyPacket(packet), (error) => {
      if (error === undefined) {
        this.deps.onTransmit(copyPacket(packet));
        return;
      }
      this.deps.log?.debug({ id: packet.id, error }, "not transmitted");
      if (item.retransmission) return;
      this.forgetRetransmission(packet.id);
      if (packet.from === this.deps.node.num && item.reliable) this.deps.toPhone(error, packet.id, packet.channel ?? 0);
    });
    if (!accepted) {
      this.deps.log?.warn({ id: packet.id }, "TX queue full");
      if (!item.retransmission) this.forgetRetransmission(packet.id);
    }
    return accepted ? Errno.OK : Errno.UNKNOWN;
  }

  private forgetRetransmission(id: number): void {
    const pending = this.pendingAcks.get(id);
    if (pending?.timer) this.deps.cancel(pending.timer);
    this.pendingAcks.delete(id);
  }

  /** Without an air below it: a CSMA wait with the packet still queued, then its time on air. */
  private pumpTx(): void {
    if (this.txBusy || this.txQueue.length === 0) return;
    this.txBusy = true;
    this.deps.later(csmaDelayMs(this.deps.random, this.deps.lora), () => {
      const wasFull = this.txQueue.length >= MAX_TX_QUEUE;
      const item = this.txQueue.shift();
      if (!item) {
        this.txBusy = false;
        return;
      }
      if (wasFull) this.deps.queueSpaceFreed(); // space freed up
      const { packet } = item;
      const onAirBytes = ON_AIR_HEADER_BYTES + dataEncodedSize(packet.decoded);
      this.deps.consoleLog(
        "DEBUG",
        "RadioIf",
        `Started Tx (id=${hex32(packet.id)} fr=${hex32(packet.from)} to=${hex32(packet.to)}, WantAck=${packet.wantAck ? 1 : 0}, ` +
          `HopLim=${packet.hopLimit ?? 0} Ch=${channelLabel(packet.channel ?? 0)} Portnum=${packet.decoded.portnum} priority=${packet.priority ?? 0})`,
      );
      const airtime = this.deps.airtime(onAirBytes);
      this.airtimeSpentMs += airtime;
      this.deps.later(airtime, () => {
        this.txBusy = false;
        this.deps.log?.debug({ id: packet.id, to: packet.to, portnum: packet.decoded.portnum }, "transmitted");
        if (item.reliable) this.armRetransmission(item, onAirBytes);
        this.deps.onTransmit(copyPacket(packet));
        this.pumpTx();
      });
    });
  }

  private armRetransmission(item: TxItem, onAirBytes: number): void {
    const id = item.packet.id;
    let pending = this.pendingAcks.get(id);
    if (!pending) {
      if (item.retransmission) return; // ACKed while this copy was queued
      pending = { item, retriesLeft: NUM_RELIABLE_RETX - 1, timer: undefined, dueAt: 0 };
      this.pendingAcks.set(id, pending);
    }
    pending.dueAt = this.deps.now() + retransmissionMs(onAirBytes, this.deps.lora, this.deps.channelUtilization());
    this.scheduleRetransmission(id, pending);
  }

  /**
   * ReliableRouter: while a retransmission is pending, the airtime of every packet this radio
   * receives or sends (`exceptId` excepted: the packet itself) is added to its timer, because an
   * ACK cannot arrive meanwhile. The air below calls this.
   */
  extendRetransmissions(ms: number, exceptId?: number): void {
    for (const [id, pending] of this.pendingAcks) {
      if (id === exceptId || !pending.timer) continue;
      pending.dueAt += ms;
      this.scheduleRetransmission(id, pending);
    }
  }

  private scheduleRetransmission(id: number, entry: PendingAck): void {
    if (entry.timer) this.deps.cancel(entry.timer);
    entry.timer = this.deps.later(entry.dueAt - this.deps.now(), () => {
      entry.timer = undefined;
      if (this.pendingAcks.get(id) !== entry) return;
      if (entry.retriesLeft > 0) {
        entry.retriesLeft--;
        this.deps.log?.debug({ id, retriesLeft: entry.retriesLeft }, "no ACK yet: retransmitting");
        this.enqueue({ ...entry.item, retransmission: true });
        return;
      }
      this.pendingAcks.delete(id);
      this.deps.consoleLog("INFO", "Router", `Reliable send failed, returning a nak for fr=${hex32(this.deps.node.num)},id=${hex32(id)}`);
      this.deps.toPhone(RoutingError.MAX_RETRANSMIT, id, entry.item.packet.channel ?? 0);
    });
  }

  stopRetransmission(id: number): void {
    const pending = this.pendingAcks.get(id);
    if (!pending) return;
    if (pending.timer) this.deps.cancel(pending.timer);
    this.pendingAcks.delete(id);
    this.txQueue = this.txQueue.filter((item) => !(item.retransmission && item.packet.id === id));
    this.deps.air?.cancel(id);
  }
}
