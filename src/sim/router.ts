// One simulated node's firmware below the phone API: the radio interface (a TX queue, carrier
// sense, time on air, half duplex) and managed flooding as FloodingRouter/NextHopRouter do it
// (reference meshtastic-protocol.md 7): duplicate suppression by (from, id), the SNR-weighted
// contention window, a CLIENT cancelling its rebroadcast when it hears another, a ROUTER
// relaying early and never cancelling, hop_limit, roles and rebroadcast modes, and the region's
// duty-cycle limit over a rolling hour.
import { BROADCAST_NUM, DeviceRole } from "../radio/index.ts";
import {
  HEADER_BYTES,
  decodeAirPayload,
  decodeHeader,
  encodeAirFrame,
  setRelayFields,
  type AirChannel,
  type AirHeader,
} from "./air.ts";
import { originDelayMs, rebroadcastDelayMs, slotTimeMs, type LoraParams } from "./airtime.ts";
import { AirtimeMeter, type ChannelPort, type Position, type Reception, type SimChannel, type Transmission } from "./channel.ts";
import type { SimClock, SimTimer } from "./clock.ts";
import { lastByte } from "./node.ts";
import { RoutingError, type SimData, type SimPacket } from "./packet.ts";
import { MAX_TX_QUEUE } from "./phone-api.ts";

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
  /** A packet this node decoded for the first time, for us or broadcast: the phone side (SimRadio.deliver). */
  deliver: (packet: SimPacket) => void;
  /** Our own packet heard again (someone relayed it: the implicit ACK). */
  heardOwn: (packet: SimPacket) => void;
  /** A want_ack packet for us retransmitted by its originator (our ACK got lost): ACK it again. */
  ackAgain?: (packet: SimPacket) => void;
}

export interface RouterStats {
  originated: number;
  relayed: number;
  /** Rebroadcasts cancelled because another node relayed first. */
  cancelled: number;
  duplicatesHeard: number;
  /** Transmissions dropped by the duty-cycle limit. */
  dutyCycleDrops: number;
  /** Relays dropped because the TX queue was full. */
  queueDrops: number;
}

interface TxEntry {
  frame: Uint8Array;
  header: AirHeader;
  notBefore: number;
  relay: boolean;
  /** For a relay: the SNR we heard it at (what its contention window is weighted by). */
  snr?: number;
  done?: (error?: number) => void;
  cancelled: boolean;
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
  readonly stats: RouterStats = { originated: 0, relayed: 0, cancelled: 0, duplicatesHeard: 0, dutyCycleDrops: 0, queueDrops: 0 };
  /** Called when one of our frames goes on the air. */
  onTransmit: ((transmission: Transmission, header: AirHeader) => void) | undefined;
  private readonly options: RouterOptions;
  private readonly clock: SimClock;
  private readonly random: () => number;
  private readonly myByte: number;
  private pos: Position;
  private powered = true;
  private readonly history = new Map<string, HistoryEntry>();
  private readonly pendingRelays = new Map<string, TxEntry>();
  private queue: TxEntry[] = [];
  private timer: SimTimer | undefined;
  private timerAt = Infinity;
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
      for (const entry of this.queue) {
        entry.cancelled = true;
        entry.done?.(RoutingError.MAX_RETRANSMIT);
      }
      this.queue = [];
      this.pendingRelays.clear();
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

  /** A packet from this node's phone or firmware: encrypted with its channel, sent after random(0, 2^CW(util)) slots. */
  sendLocal(packet: SimPacket, done: (error?: number) => void): void {
    if (!this.powered) {
      done(RoutingError.MAX_RETRANSMIT);
      return;
    }
    const channel = this.options.channels[packet.channel ?? 0] ?? this.options.channels[0];
    if (!channel) throw new Error("a simulated node needs at least one channel");
    const header: AirHeader = {
      to: packet.to,
      from: packet.from,
      id: packet.id,
      hopLimit: packet.hopLimit ?? 3,
      hopStart: packet.hopStart ?? packet.hopLimit ?? 3,
      wantAck: packet.wantAck ?? false,
      viaMqtt: false,
      channelHash: channel.hash,
      nextHop: packet.nextHop ?? 0,
      relayNode: this.myByte,
    };
    const frame = encodeAirFrame(header, packet.decoded, channel.key);
    this.remember(`${header.from}:${header.id}`, header.hopLimit);
    this.stats.originated++;
    const delay = originDelayMs(this.channelUtilization(), this.random, this.options.params);
    this.enqueue({ frame, header, notBefore: this.clock.now() + delay, relay: false, done, cancelled: false });
  }

  /** Drops our own packet `id` if it is still waiting in the TX queue. */
  cancelLocal(id: number): void {
    for (const entry of this.queue) {
      if (!entry.relay && entry.header.id === id && entry.header.from === this.num && !entry.cancelled) {
        entry.cancelled = true;
        entry.done?.();
      }
    }
    this.arm();
  }

  /** ChannelPort: a frame this node's radio decoded. */
  receive(reception: Reception): void {
    const { transmission } = reception;
    this.meter.logRx(this.clock.now(), transmission.airtimeMs);
    const frame = transmission.frame;
    const header = decodeHeader(frame);
    if (header.from === 0 || header.from === BROADCAST_NUM) return;
    const data = this.decode(transmission, header);
    if (header.from === this.num) {
      if (data) this.options.heardOwn(this.packetOf(header, data, reception));
      return;
    }
    const key = `${header.from}:${header.id}`;
    const seen = header.id !== 0 ? this.history.get(key) : undefined;
    if (seen) {
      this.stats.duplicatesHeard++;
      const pending = this.pendingRelays.get(key);
      const repeated = header.hopStart > 0 && header.hopStart === header.hopLimit;
      if (repeated) {
        // The originator retransmitting (its ACK got lost): ACK again if it is for us, else relay
        // it again unless our copy still waits.
        if (header.to === this.num) {
          if (data && header.wantAck) this.options.ackAgain?.(this.packetOf(header, data, reception));
        } else if (!pending) {
          this.perhapsRebroadcast(header, data, frame, reception.snr, key);
        }
      } else if (pending && this.cancelsDuplicates()) {
        pending.cancelled = true;
        this.pendingRelays.delete(key);
        this.stats.cancelled++;
      }
      seen.highestHopLimit = Math.max(seen.highestHopLimit, header.hopLimit);
      return;
    }
    if (header.id !== 0) this.remember(key, header.hopLimit);
    if (data && (header.to === this.num || header.to === BROADCAST_NUM)) {
      this.options.deliver(this.packetOf(header, data, reception));
    }
    this.perhapsRebroadcast(header, data, frame, reception.snr, key);
  }

  // ---------------------------------------------------------------- flooding

  private cancelsDuplicates(): boolean {
    return this.role !== DeviceRole.ROUTER && this.role !== ROLE_ROUTER_LATE;
  }

  private isRebroadcaster(): boolean {
    return this.role !== DeviceRole.CLIENT_MUTE && this.rebroadcastMode !== RebroadcastMode.NONE;
  }

  private perhapsRebroadcast(header: AirHeader, data: SimData | undefined, frame: Uint8Array, snr: number, key: string): void {
    if (header.to === this.num || header.from === this.num || header.hopLimit <= 0 || header.id === 0) return;
    if (!this.isRebroadcaster()) return;
    if (header.nextHop !== 0 && header.nextHop !== this.myByte) return;
    const mode = this.rebroadcastMode;
    if (!data && mode !== RebroadcastMode.ALL && mode !== RebroadcastMode.ALL_SKIP_DECODING) return; // not our channel
    if (data && mode === RebroadcastMode.CORE_PORTNUMS_ONLY && !CORE_PORTNUMS.has(data.portnum)) return;
    if (this.pendingRelays.has(key)) return;
    if (this.queue.filter((entry) => !entry.cancelled).length >= MAX_TX_QUEUE) {
      this.stats.queueDrops++; // MAX_TX_QUEUE: the firmware drops a relay it has no room for
      return;
    }
    const copy = frame.slice();
    setRelayFields(copy, header.hopLimit - 1, this.myByte);
    const router = this.role === DeviceRole.ROUTER;
    let delay = rebroadcastDelayMs(snr, router, this.random, this.options.params);
    if (this.role === ROLE_ROUTER_LATE) delay += 2 * 8 * slotTimeMs(this.options.params);
    const entry: TxEntry = {
      frame: copy,
      header: { ...header, hopLimit: header.hopLimit - 1, relayNode: this.myByte },
      notBefore: this.clock.now() + delay,
      relay: true,
      snr,
      cancelled: false,
    };
    this.pendingRelays.set(key, entry);
    this.enqueue(entry);
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

  private enqueue(entry: TxEntry): void {
    this.queue.push(entry);
    this.arm();
  }

  /** Sets one timer for the earliest entry that may go. */
  private arm(): void {
    this.queue = this.queue.filter((entry) => !entry.cancelled);
    if (this.queue.length === 0) {
      if (this.timer) this.clock.clearTimer(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    let at = Infinity;
    for (const entry of this.queue) at = Math.min(at, entry.notBefore);
    at = Math.max(at, this.sendingUntil);
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimer(at - this.clock.now(), () => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.service();
    });
  }

  private service(): void {
    const now = this.clock.now();
    if (!this.powered || now < this.sendingUntil) {
      this.arm();
      return;
    }
    let next: TxEntry | undefined;
    for (const entry of this.queue) {
      if (entry.cancelled || entry.notBefore > now) continue;
      if (!next || entry.notBefore < next.notBefore) next = entry;
    }
    if (!next) {
      this.arm();
      return;
    }
    // Listen before talk (RadioLibInterface: channel active -> setTransmitDelay): a frame on the
    // air draws a new contention wait, SNR-weighted for a relay, and we look again after it.
    if (this.options.channel.busy(this.num) !== undefined) {
      const params = this.options.params;
      next.notBefore =
        now +
        Math.max(
          1,
          next.relay && next.snr !== undefined
            ? rebroadcastDelayMs(next.snr, this.role === DeviceRole.ROUTER, this.random, params)
            : originDelayMs(this.channelUtilization(), this.random, params),
        );
      this.arm();
      return;
    }
    this.queue.splice(this.queue.indexOf(next), 1);
    const key = `${next.header.from}:${next.header.id}`;
    if (next.relay) this.pendingRelays.delete(key);
    if (this.txUtilization() >= this.options.dutyCyclePercent) {
      this.stats.dutyCycleDrops++;
      next.done?.(DUTY_CYCLE_LIMIT);
      this.arm();
      return;
    }
    if (next.relay) this.stats.relayed++;
    const transmission = this.options.channel.transmit(this, next.frame);
    this.meter.logTx(now, transmission.airtimeMs);
    this.sendingUntil = transmission.endMs;
    this.onTransmit?.(transmission, next.header);
    const done = next.done;
    this.clock.setTimer(transmission.airtimeMs, () => {
      done?.();
      this.arm();
    });
    this.arm();
  }
}

/** The bytes a frame carries after its header (for airtime accounting). */
export function payloadBytes(frame: Uint8Array): number {
  return frame.length - HEADER_BYTES;
}
