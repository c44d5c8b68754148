// One simulated node's firmware below the phone API: managed flooding as FloodingRouter and
// NextHopRouter do it (reference meshtastic-protocol.md 7; firmware src/mesh/FloodingRouter.cpp,
// NextHopRouter.cpp, Router.cpp): duplicate suppression by (from, id), a hop_limit upgrade
// replacing the queued copy, a CLIENT cancelling its rebroadcast when it hears another, a ROUTER
// relaying early and never cancelling, ROUTER_LATE and CLIENT_BASE (for its favourites) moving
// their copy to the late window instead, roles and rebroadcast modes, and the region's duty cycle
// checked as a packet is sent. Below it the radio interface as RadioLibInterface runs it: one
// priority-ordered TX queue (tx-queue.ts) and one transmit timer that every reception and every
// transmission restarts with a fresh contention delay (SNR-weighted for a relay), listen before
// talk, time on air and half duplex.
import { BROADCAST_NUM, DeviceRole, PortNum } from "../radio/index.ts";
import {
  HEADER_BYTES,
  decodeAirPayload,
  decodeHeader,
  encodeAirFrame,
  setRelayFields,
  type AirChannel,
  type AirHeader,
} from "./air.ts";
import { airtimeMs, originDelayMs, rebroadcastDelayMs, rebroadcastDelayWorstMs, type LoraParams } from "./airtime.ts";
import { AirtimeMeter, type ChannelPort, type Position, type Reception, type SimChannel, type Transmission } from "./channel.ts";
import type { SimClock, SimTimer } from "./clock.ts";
import { lastByte } from "./node.ts";
import { Priority, RoutingError, fixPriority, type SimData, type SimPacket } from "./packet.ts";
import { MAX_TX_QUEUE } from "./phone-api.ts";
import { TxQueue, type TxEntry } from "./tx-queue.ts";

/** Config.DeviceConfig.RebroadcastMode. */
export const RebroadcastMode = {
  ALL: 0,
  ALL_SKIP_DECODING: 1,
  LOCAL_ONLY: 2,
  KNOWN_ONLY: 3,
  NONE: 4,
  CORE_PORTNUMS_ONLY: 5,
} as const;

/** Ports a CORE_PORTNUMS_ONLY node still relays: text, position, nodeinfo, routing, admin, waypoint, alert, store&forward, telemetry, traceroute. */
export const CORE_PORTNUMS = new Set([1, 3, 4, 5, 6, 7, 8, 11, 12, 65, 67, 70]);

const ROLE_ROUTER_LATE = 11;
/** PacketHistory: max(MAX_NUM_NODES * 2, 100) records, oldest replaced, no time expiry. */
const HISTORY_SIZE = 200;
/** The radio's packet SNR estimate saturates: strong nearby links report about +12 dB at most. */
const MAX_REPORTED_SNR = 12;
/** Routing.Error.DUTY_CYCLE_LIMIT. */
export const DUTY_CYCLE_LIMIT = 9;

export function defaultRebroadcastMode(role: number): number {
  return role === DeviceRole.ROUTER ? RebroadcastMode.CORE_PORTNUMS_ONLY : RebroadcastMode.ALL;
}

export interface RouterOptions {
  num: number;
  role: number;
  rebroadcastMode?: number;
  channel: SimChannel;
  /** Channels this node has keys for; index 0 is the primary. */
  channels: readonly AirChannel[];
  clock: SimClock;
  random: () => number;
  params: LoraParams;
  position: Position;
  txPowerDbm: number;
  /** Region duty cycle in percent (100 = none). */
  dutyCyclePercent: number;
  /** Favourited nodes: a CLIENT_BASE always relays (late) what is from or to one of them. */
  favorites?: ReadonlySet<number>;
  /**
   * Whether a relay byte names, unambiguously, a favourited ROUTER, ROUTER_LATE or CLIENT_BASE:
   * a router-like node relaying after one keeps the hop_limit (Router::shouldDecrementHopLimit).
   */
  relayIsFavoriteRouter?: (relayByte: number) => boolean;
  /** A packet this node decoded for the first time, for us or broadcast: the phone side (SimRadio.deliver). */
  deliver: (packet: SimPacket) => void;
  /** A NodeInfo addressed to someone else, decoded here (NodeInfoModule is promiscuous: it updates the NodeDB from what it overhears). */
  overheard?: (packet: SimPacket) => void;
  /** Our own packet heard again (someone relayed it: the implicit ACK). */
  heardOwn: (packet: SimPacket) => void;
  /** A want_ack packet for us retransmitted by its originator (our ACK got lost): ACK it again. */
  ackAgain?: (packet: SimPacket) => void;
  /** Airtime during which no ACK can arrive (a frame received, one of ours queued): pending retransmissions wait that much longer. */
  airtimeSpent?: (ms: number, exceptId?: number) => void;
}

export interface RouterStats {
  originated: number;
  relayed: number;
  /** Rebroadcasts cancelled because another node relayed first. */
  cancelled: number;
  /** Rebroadcasts moved to the late window (ROUTER_LATE, CLIENT_BASE for favourites) instead. */
  delayedLate: number;
  /** Queued relays replaced by a copy heard with more hops left. */
  upgraded: number;
  duplicatesHeard: number;
  /** Transmissions dropped by the duty-cycle limit. */
  dutyCycleDrops: number;
  /** Packets dropped because the TX queue was full (refused, or evicted for a higher priority). */
  queueDrops: number;
}

interface HistoryEntry {
  highestHopLimit: number;
}

export class SimRouter implements ChannelPort {
  readonly num: number;
  readonly role: number;
  readonly rebroadcastMode: number;
  readonly txPowerDbm: number;
  readonly meter = new AirtimeMeter();
  readonly stats: RouterStats = emptyRouterStats();
  /** Called when one of our frames goes on the air. */
  onTransmit: ((transmission: Transmission, header: AirHeader) => void) | undefined;
  private readonly options: RouterOptions;
  private readonly clock: SimClock;
  private readonly random: () => number;
  private readonly myByte: number;
  private readonly favorites: ReadonlySet<number>;
  private pos: Position;
  private powered = true;
  private readonly history = new Map<string, HistoryEntry>();
  private readonly queue = new TxQueue(MAX_TX_QUEUE);
  /** The radio's one transmit timer (RadioLibInterface's TRANSMIT_DELAY_COMPLETED notification). */
  private timer: SimTimer | undefined;
  private sendingUntil = 0;

  constructor(options: RouterOptions) {
    this.options = options;
    this.num = options.num;
    this.role = options.role;
    this.rebroadcastMode = options.rebroadcastMode ?? defaultRebroadcastMode(options.role);
    this.txPowerDbm = options.txPowerDbm;
    this.clock = options.clock;
    this.random = options.random;
    this.myByte = lastByte(options.num);
    this.favorites = options.favorites ?? new Set();
    this.pos = { ...options.position };
  }

  position(): Position {
    return this.pos;
  }

  moveTo(position: Position): void {
    this.pos = { ...position };
  }

  online(): boolean {
    return this.powered;
  }

  /** Power off (a radio unplugged, a dead battery) or on again. Off loses the TX queue. */
  setOnline(online: boolean): void {
    this.powered = online;
    if (!online) {
      this.stopTimer();
      for (const entry of this.queue.clear()) entry.done?.(RoutingError.MAX_RETRANSMIT);
    }
  }

  /** Channel utilisation as the device reports it (percent, last minute, RX + TX). */
  channelUtilization(): number {
    return this.meter.channelUtilization(this.clock.now());
  }

  /** Our own airtime over the rolling hour (percent), what the duty cycle limits. */
  txUtilization(): number {
    return this.meter.txUtilization(this.clock.now());
  }

  /** Room left in the TX queue. */
  queueFree(): number {
    return this.queue.free;
  }

  /**
   * A packet from this node's phone or firmware (Router::send): refused with DUTY_CYCLE_LIMIT over
   * the region's hourly duty cycle, else encrypted with its channel and queued by priority.
   * Returns false when the TX queue is full (`done` is not called then).
   */
  sendLocal(packet: SimPacket, done: (error?: number) => void): boolean {
    if (!this.powered) {
      done(RoutingError.MAX_RETRANSMIT);
      return true;
    }
    if (this.overDutyCycle()) {
      this.stats.dutyCycleDrops++;
      done(DUTY_CYCLE_LIMIT);
      return true;
    }
    const channel = this.options.channels[packet.channel ?? 0] ?? this.options.channels[0];
    if (!channel) throw new Error("a simulated node needs at least one channel");
    const header: AirHeader = {
      to: packet.to,
      from: packet.from,
      id: packet.id,
      hopLimit: packet.hopLimit ?? 3,
      hopStart: packet.hopStart ?? packet.hopLimit ?? 3,
      wantAck: packet.to === BROADCAST_NUM ? false : (packet.wantAck ?? false), // never on a broadcast over the air
      viaMqtt: false,
      channelHash: channel.hash,
      nextHop: packet.nextHop ?? 0,
      relayNode: this.myByte,
    };
    const frame = encodeAirFrame(header, packet.decoded, channel.key);
    const priority = packet.priority !== undefined && packet.priority !== 0 ? packet.priority : fixPriority(packet.decoded, packet.wantAck ?? false);
    if (!this.enqueue({ frame, header, priority, fromUs: true, txAfter: 0, done })) return false;
    this.remember(`${header.from}:${header.id}`, header.hopLimit);
    this.stats.originated++;
    this.options.airtimeSpent?.(airtimeMs(frame.length, this.options.params), header.id);
    return true;
  }

  /** Drops our own packet `id` if it is still waiting in the TX queue. */
  cancelLocal(id: number): void {
    this.queue.remove(this.num, id)?.done?.();
  }

  /** ChannelPort: a frame this node's radio decoded. */
  receive(reception: Reception): void {
    const { transmission } = reception;
    this.rxInterrupt(transmission);
    const frame = transmission.frame;
    const header = decodeHeader(frame);
    if (header.from === 0 || header.from === BROADCAST_NUM) return;
    const data = this.decode(transmission, header);
    if (header.from === this.num) {
      if (data) this.options.heardOwn(this.packetOf(header, data, reception));
      this.options.airtimeSpent?.(transmission.airtimeMs);
      return;
    }
    this.options.airtimeSpent?.(transmission.airtimeMs);
    const snr = Math.min(MAX_REPORTED_SNR, reception.snr);
    const key = `${header.from}:${header.id}`;
    const seen = header.id !== 0 ? this.history.get(key) : undefined;
    if (seen) {
      this.stats.duplicatesHeard++;
      const upgraded = header.hopLimit > seen.highestHopLimit;
      seen.highestHopLimit = Math.max(seen.highestHopLimit, header.hopLimit);
      if (upgraded && this.perhapsHandleUpgraded(header, data, frame, snr)) return;
      const repeated = header.hopStart > 0 && header.hopStart === header.hopLimit;
      if (repeated) {
        // The originator retransmitting (its ACK got lost): ACK again if it is for us, else relay
        // it again unless our copy still waits.
        if (header.to === this.num) {
          if (data && header.wantAck) this.options.ackAgain?.(this.packetOf(header, data, reception));
        } else if (!this.queue.find(header.from, header.id)) {
          this.perhapsRebroadcast(header, data, frame, snr);
        }
      } else {
        this.perhapsCancelDupe(header);
      }
      return;
    }
    if (header.id !== 0) this.remember(key, header.hopLimit);
    if (data && (header.to === this.num || header.to === BROADCAST_NUM)) {
      this.options.deliver(this.packetOf(header, data, reception));
    } else if (data && data.portnum === PortNum.NODEINFO_APP) {
      this.options.overheard?.(this.packetOf(header, data, reception));
    }
    this.perhapsRebroadcast(header, data, frame, snr);
  }

  /** ChannelPort: a frame this node's radio detected but could not decode (collision, CRC error). */
  receiveFailed(transmission: Transmission): void {
    this.rxInterrupt(transmission);
  }

  // ---------------------------------------------------------------- flooding

  /** FloodingRouter::roleAllowsCancelingDupe. */
  private cancelsDuplicates(header: AirHeader): boolean {
    if (this.role === DeviceRole.ROUTER || this.role === ROLE_ROUTER_LATE) return false;
    if (this.role === DeviceRole.CLIENT_BASE) return !this.isFromOrToFavorite(header);
    return true;
  }

  private isFromOrToFavorite(header: AirHeader): boolean {
    return this.favorites.has(header.from) || this.favorites.has(header.to);
  }

  /** FloodingRouter::perhapsCancelDupe: cancel our queued relay, or (ROUTER_LATE, CLIENT_BASE for a favourite) move it late. */
  private perhapsCancelDupe(header: AirHeader): void {
    if (this.cancelsDuplicates(header)) {
      if (this.queue.remove(header.from, header.id)) this.stats.cancelled++;
    }
    if (this.role === ROLE_ROUTER_LATE || (this.role === DeviceRole.CLIENT_BASE && this.isFromOrToFavorite(header))) {
      this.clampToLateWindow(header.from, header.id);
    }
  }

  /** RadioLibInterface::clampToLateRebroadcastWindow: a normal queued copy goes to the late window. */
  private clampToLateWindow(from: number, id: number): void {
    const entry = this.queue.remove(from, id, "normal");
    if (!entry) return;
    entry.txAfter = this.clock.now() + rebroadcastDelayWorstMs(entry.snr ?? 0, this.options.params);
    this.stats.delayedLate++;
    this.queueEntry(entry);
  }

  /** FloodingRouter::perhapsHandleUpgradedPacket: a copy with more hops left replaces our queued one. */
  private perhapsHandleUpgraded(header: AirHeader, data: SimData | undefined, frame: Uint8Array, snr: number): boolean {
    if (!this.isRebroadcaster() || header.hopLimit <= 0) return false;
    if (!this.queue.remove(header.from, header.id, "any", header.hopLimit)) return false;
    this.stats.upgraded++;
    this.perhapsRebroadcast(header, data, frame, snr);
    return true;
  }

  private isRebroadcaster(): boolean {
    return this.role !== DeviceRole.CLIENT_MUTE && this.rebroadcastMode !== RebroadcastMode.NONE;
  }

  private perhapsRebroadcast(header: AirHeader, data: SimData | undefined, frame: Uint8Array, snr: number): void {
    if (header.to === this.num || header.from === this.num || header.hopLimit <= 0 || header.id === 0) return;
    if (!this.isRebroadcaster()) return;
    if (header.nextHop !== 0 && header.nextHop !== this.myByte) return;
    const mode = this.rebroadcastMode;
    if (!data && mode !== RebroadcastMode.ALL && mode !== RebroadcastMode.ALL_SKIP_DECODING) return; // not our channel
    if (data && mode === RebroadcastMode.CORE_PORTNUMS_ONLY && !CORE_PORTNUMS.has(data.portnum)) return;
    if (this.overDutyCycle()) {
      this.stats.dutyCycleDrops++; // Router::send drops a relay over the duty cycle
      return;
    }
    const hopLimit = this.shouldDecrementHopLimit(header) ? header.hopLimit - 1 : header.hopLimit;
    const copy = frame.slice();
    setRelayFields(copy, hopLimit, this.myByte);
    const priority = data ? fixPriority(data, header.wantAck) : header.wantAck ? Priority.RELIABLE : Priority.DEFAULT;
    this.enqueue({
      frame: copy,
      header: { ...header, hopLimit, relayNode: this.myByte },
      priority,
      fromUs: false,
      snr,
      txAfter: 0,
    });
  }

  /** Router::shouldDecrementHopLimit: only a router-like node relaying after a favourite router-like node keeps the hop_limit (never on the first hop). */
  private shouldDecrementHopLimit(header: AirHeader): boolean {
    if (header.hopStart - header.hopLimit === 0) return true;
    const routerLike = this.role === DeviceRole.ROUTER || this.role === ROLE_ROUTER_LATE || this.role === DeviceRole.CLIENT_BASE;
    if (!routerLike) return true;
    return this.options.relayIsFavoriteRouter?.(header.relayNode) !== true;
  }

  /** Router::send's duty-cycle check: over the region's limit for the rolling hour. */
  private overDutyCycle(): boolean {
    return this.options.dutyCyclePercent < 100 && this.txUtilization() > this.options.dutyCyclePercent;
  }

  private remember(key: string, hopLimit: number): void {
    if (this.history.size >= HISTORY_SIZE) {
      const oldest = this.history.keys().next().value;
      if (oldest !== undefined) this.history.delete(oldest);
    }
    this.history.set(key, { highestHopLimit: hopLimit });
  }

  private decode(transmission: Transmission, header: AirHeader): SimData | undefined {
    const channels = this.options.channels;
    if (transmission.cache.has(channels)) return transmission.cache.get(channels) as SimData | undefined;
    const data = decodeAirPayload(transmission.frame, header, channels);
    transmission.cache.set(channels, data);
    return data;
  }

  private packetOf(header: AirHeader, data: SimData, reception: Reception): SimPacket {
    const index = this.options.channels.findIndex((c) => c.hash === header.channelHash);
    return {
      from: header.from,
      to: header.to,
      id: header.id,
      channel: Math.max(0, index),
      hopLimit: header.hopLimit,
      hopStart: header.hopStart,
      wantAck: header.wantAck,
      viaMqtt: header.viaMqtt,
      relayNode: header.hopStart === 0 ? 0 : header.relayNode,
      nextHop: header.hopStart === 0 ? 0 : header.nextHop,
      rxTime: Math.floor(this.clock.now() / 1000),
      rxSnr: Math.min(MAX_REPORTED_SNR, reception.snr),
      rxRssi: reception.rssi,
      decoded: { ...data, payload: data.payload.slice() },
    };
  }

  // ---------------------------------------------------------------- the radio interface

  /** RadioLibInterface::send: into the queue, then the transmit delay (unless one is already running). */
  private enqueue(entry: TxEntry): boolean {
    if (!this.queueEntry(entry)) {
      this.stats.queueDrops++;
      return false;
    }
    return true;
  }

  private queueEntry(entry: TxEntry): boolean {
    const { accepted, evicted } = this.queue.enqueue(entry, this.clock.now());
    if (evicted) {
      this.stats.queueDrops++;
      evicted.done?.(RoutingError.MAX_RETRANSMIT);
    }
    if (!accepted) return false;
    this.setTransmitDelay(false);
    return true;
  }

  /** ISR_RX: the frame's airtime counts towards channel utilisation, and the transmit delay starts over. */
  private rxInterrupt(transmission: Transmission): void {
    this.meter.logRx(this.clock.now(), transmission.airtimeMs);
    this.setTransmitDelay(true);
  }

  /**
   * RadioLibInterface::setTransmitDelay for the front packet: a late one waits out its window (and
   * one more contention delay, at most twice the worst); our own a random(0, 2^CW(utilisation))
   * slots; a relay the SNR-weighted delay. `restart`: an interrupt consumed the pending timer;
   * otherwise (a new packet queued) a running timer is left alone.
   */
  private setTransmitDelay(restart: boolean): void {
    if (!restart && this.timer) return;
    this.stopTimer();
    const front = this.queue.front();
    if (!front || !this.powered) return;
    const now = this.clock.now();
    const params = this.options.params;
    const delay =
      front.snr !== undefined
        ? rebroadcastDelayMs(front.snr, this.role === DeviceRole.ROUTER, this.random, params)
        : originDelayMs(this.channelUtilization(), this.random, params);
    if (front.txAfter !== 0) {
      front.txAfter = Math.min(Math.max(front.txAfter + delay, now + delay), now + 2 * rebroadcastDelayWorstMs(front.snr ?? 0, params));
      this.startTimer(front.txAfter - now);
      return;
    }
    this.startTimer(delay);
  }

  private startTimer(ms: number): void {
    this.timer = this.clock.setTimer(Math.max(0, ms), () => {
      this.timer = undefined;
      this.transmitDelayCompleted();
    });
  }

  private stopTimer(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** TRANSMIT_DELAY_COMPLETED: send the front packet if the radio and the channel are free, else wait again. */
  private transmitDelayCompleted(): void {
    const front = this.queue.front();
    if (!front || !this.powered) return;
    const now = this.clock.now();
    // Sending, or in the middle of a frame we hear (preamble detected), or CAD finds the channel active.
    if (now < this.sendingUntil || this.options.channel.busy(this.num) !== undefined) {
      this.setTransmitDelay(true);
      return;
    }
    if (front.txAfter > now) {
      this.startTimer(front.txAfter - now);
      return;
    }
    this.queue.dequeue();
    if (!front.fromUs) this.stats.relayed++;
    const transmission = this.options.channel.transmit(this, front.frame);
    this.meter.logTx(now, transmission.airtimeMs);
    this.sendingUntil = transmission.endMs;
    this.onTransmit?.(transmission, front.header);
    this.clock.setTimer(transmission.airtimeMs, () => {
      front.done?.();
      this.setTransmitDelay(true); // ISR_TX
    });
  }
}

export function emptyRouterStats(): RouterStats {
  return { originated: 0, relayed: 0, cancelled: 0, delayedLate: 0, upgraded: 0, duplicatesHeard: 0, dutyCycleDrops: 0, queueDrops: 0 };
}

/** The bytes a frame carries after its header (for airtime accounting). */
export function payloadBytes(frame: Uint8Array): number {
  return frame.length - HEADER_BYTES;
}
