// A small simulated mesh for the walking skeleton: one base radio (a SimRadio that a station
// attaches to) and N handhelds that nobody attaches to. Every handheld is one hop from the base
// and hears every other node; there is no loss and no collision yet.
//
// Handhelds announce themselves (NODEINFO_APP), then each sends one of its presets as a
// broadcast text at random intervals. Transmissions from the base radio are heard by the
// handhelds: a broadcast (or a DM for someone absent) is rebroadcast by a handheld, which the
// base hears as its implicit ACK; a want_ack DM to a handheld is answered with a real ACK.
import type { Logger } from "pino";
import { BROADCAST_NUM, PortNum, encodeUser } from "../radio/index.ts";
import { ON_AIR_HEADER_BYTES, airtimeMs as loraAirtimeMs, slotTimeMs } from "./airtime.ts";
import { DEFAULT_HOP_LIMIT } from "./device-config.ts";
import { lastByte, userId, userOf, type SimNode } from "./node.ts";
import { RoutingError, copyPacket, dataEncodedSize, hex32, routingPayload, type SimPacket } from "./packet.ts";
import { SimRadio, type SimRadioOptions } from "./radio.ts";
import { createPacketIdGenerator, pick, randomInt } from "./random.ts";

export interface HandheldSpec {
  node: SimNode;
  /** The canned messages this handheld sends (at least one for it to send anything). */
  presets: readonly string[];
}

export interface SimMeshOptions {
  base: SimNode;
  handhelds: readonly HandheldSpec[];
  /** Bounds of the random wait between two presets from one handheld, in ms. */
  intervalMs: { min: number; max: number };
  /** PRNG (default Math.random); pass mulberry32(seed) for reproducible runs. */
  random?: () => number;
  logger?: Logger;
  /** Wall clock in ms (default Date.now). */
  now?: () => number;
  /** Console log text from the base radio between frames (USB serial realism). */
  consoleLogs?: boolean;
  /** Time on air in ms of a LoRa frame of this many bytes (default LONG_FAST). */
  airtimeMs?: (onAirBytes: number) => number;
  /** More options for the base radio. */
  radio?: Pick<SimRadioOptions, "idleTimeoutMs" | "rxDuplicateFilter" | "firmwareVersion">;
}

export interface SendFromOptions {
  /** Destination node number (default broadcast). */
  to?: number;
  /** Channel index (default 0, the primary). */
  channel?: number;
  /** want_ack on a DM (cleared on broadcasts, as the firmware does). */
  wantAck?: boolean;
  /** Extra copies the base also hears: relayed duplicates with the same id and a lower hop_limit. */
  duplicates?: number;
}

export type AirListener = (packet: SimPacket) => void;

interface Handheld {
  readonly node: SimNode;
  readonly presets: readonly string[];
  readonly nextId: () => number;
  /** Where this handheld stands as heard by the base: mean SNR (dB) and RSSI (dBm). */
  readonly snr: number;
  readonly rssi: number;
  timer: NodeJS.Timeout | undefined;
}

/** Role numbers that do not rebroadcast (CLIENT_MUTE). */
const NON_RELAYING_ROLES = new Set([1]);
/** The longest text a handheld can send: Data must fit 239 bytes. */
const MAX_ON_AIR = 255;

export class SimMesh {
  /** The radio a station attaches to (serial, TCP or in process). */
  readonly baseRadio: SimRadio;
  readonly base: SimNode;
  private readonly options: SimMeshOptions;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly airtime: (onAirBytes: number) => number;
  private readonly log: Logger | undefined;
  private readonly handhelds = new Map<number, Handheld>();
  private readonly known = new Map<number, SimNode>();
  private readonly listeners = new Set<AirListener>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = false;

  constructor(options: SimMeshOptions) {
    if (options.intervalMs.min < 0 || options.intervalMs.max < options.intervalMs.min) {
      throw new RangeError(`bad intervalMs ${options.intervalMs.min}..${options.intervalMs.max}`);
    }
    this.options = options;
    this.base = options.base;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.airtime = options.airtimeMs ?? ((bytes) => loraAirtimeMs(bytes));
    this.log = options.logger?.child({ component: "sim-mesh" });
    for (const spec of options.handhelds) {
      if (spec.node.num === options.base.num || this.handhelds.has(spec.node.num)) {
        throw new RangeError(`duplicate node number ${hex32(spec.node.num)}`);
      }
      this.handhelds.set(spec.node.num, {
        node: spec.node,
        presets: spec.presets,
        nextId: createPacketIdGenerator(this.random),
        snr: Math.round((-10 + this.random() * 18) * 4) / 4,
        rssi: Math.round(-115 + this.random() * 45),
        timer: undefined,
      });
    }
    this.baseRadio = new SimRadio({
      ...options.radio,
      node: options.base,
      knownNodes: () => [...this.known.values()],
      now: this.now,
      random: this.random,
      airtimeMs: this.airtime,
      consoleLogs: options.consoleLogs ?? false,
      onTransmit: (packet) => this.onBaseTransmit(packet),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  /** The simulated handhelds, in the order given. */
  get handheldNodes(): SimNode[] {
    return [...this.handhelds.values()].map((h) => h.node);
  }

  /** Nodes the base radio has heard announce themselves. */
  knownNodes(): SimNode[] {
    return [...this.known.values()];
  }

  get started(): boolean {
    return this.running;
  }

  /** Every handheld announces itself (NODEINFO), then sends presets at random intervals. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.log?.info({ handhelds: this.handhelds.size }, "mesh started");
    for (const handheld of this.handhelds.values()) {
      this.announce(handheld);
      this.schedule(handheld);
    }
  }

  /** Stops the handhelds' timers and pending relays (the base radio stays attached). */
  stop(): void {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const handheld of this.handhelds.values()) handheld.timer = undefined;
    this.log?.info("mesh stopped");
  }

  /** Listens to every transmission on the simulated air (handhelds, relays and the base). */
  onAir(listener: AirListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes one handheld send `text` now; the base hears it (and `duplicates` relayed copies later). Returns the packet id. */
  sendFrom(num: number, text: string, options: SendFromOptions = {}): number {
    const handheld = this.handhelds.get(num);
    if (!handheld) throw new RangeError(`no simulated handheld ${hex32(num)}`);
    const to = options.to ?? BROADCAST_NUM;
    const packet: SimPacket = {
      from: num,
      to,
      id: handheld.nextId(),
      channel: options.channel ?? 0,
      hopLimit: DEFAULT_HOP_LIMIT,
      hopStart: DEFAULT_HOP_LIMIT,
      wantAck: to !== BROADCAST_NUM && options.wantAck === true,
      relayNode: lastByte(num),
      decoded: { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(text), bitfield: 0 },
    };
    const onAirBytes = ON_AIR_HEADER_BYTES + dataEncodedSize(packet.decoded);
    if (onAirBytes > MAX_ON_AIR) throw new RangeError(`text is too long for one packet (${onAirBytes} bytes on air)`);
    this.log?.info({ from: userId(num), id: packet.id, text }, "handheld sends");
    this.transmit(handheld, packet);
    const copies = Math.max(0, Math.floor(options.duplicates ?? 0));
    let delay = 0;
    for (let copy = 1; copy <= copies; copy++) {
      delay += this.relayDelayMs(onAirBytes);
      const relayer = this.pickRelayer(num);
      this.later(delay, () => {
        const relayed: SimPacket = {
          ...packet,
          hopLimit: Math.max(0, DEFAULT_HOP_LIMIT - copy),
          relayNode: relayer ? lastByte(relayer.node.num) : 0x7f,
        };
        this.transmit(relayer ?? handheld, relayed);
      });
    }
    return packet.id;
  }

  // ---------------------------------------------------------------- internals

  private announce(handheld: Handheld): void {
    this.known.set(handheld.node.num, handheld.node);
    this.transmit(handheld, {
      from: handheld.node.num,
      to: BROADCAST_NUM,
      id: handheld.nextId(),
      channel: 0,
      hopLimit: DEFAULT_HOP_LIMIT,
      hopStart: DEFAULT_HOP_LIMIT,
      wantAck: false,
      relayNode: lastByte(handheld.node.num),
      decoded: { portnum: PortNum.NODEINFO_APP, payload: encodeUser(userOf(handheld.node)), bitfield: 0 },
    });
  }

  private schedule(handheld: Handheld): void {
    if (!this.running || handheld.presets.length === 0) return;
    const { min, max } = this.options.intervalMs;
    handheld.timer = this.later(randomInt(this.random, min, max), () => {
      handheld.timer = undefined;
      if (!this.running) return;
      this.sendFrom(handheld.node.num, pick(this.random, handheld.presets));
      this.schedule(handheld);
    });
  }

  /** A handheld's (or relayer's) transmission: everyone hears it; the base radio gets it with rx metadata. */
  private transmit(sender: Handheld, packet: SimPacket): void {
    this.emit(packet);
    this.baseRadio.deliver({
      ...packet,
      rxTime: Math.floor(this.now() / 1000),
      rxSnr: Math.round((sender.snr + (this.random() - 0.5) * 3) * 4) / 4,
      rxRssi: Math.round(sender.rssi + (this.random() - 0.5) * 6),
    });
  }

  private onBaseTransmit(packet: SimPacket): void {
    this.emit(packet);
    const onAirBytes = ON_AIR_HEADER_BYTES + dataEncodedSize(packet.decoded);
    const text =
      packet.decoded.portnum === PortNum.TEXT_MESSAGE_APP ? new TextDecoder().decode(packet.decoded.payload) : undefined;
    this.log?.info({ to: packet.to, id: packet.id, portnum: packet.decoded.portnum, text }, "base radio transmitted");
    const destination = this.handhelds.get(packet.to);
    if (destination) {
      if (packet.wantAck === true) {
        // The destination heard it directly and answers with a real ACK (hop limit = hops used + 2).
        this.later(this.relayDelayMs(onAirBytes), () => {
          const hopLimit = Math.min(2, DEFAULT_HOP_LIMIT);
          this.transmit(destination, {
            from: destination.node.num,
            to: packet.from,
            id: destination.nextId(),
            channel: packet.channel ?? 0,
            hopLimit,
            hopStart: hopLimit,
            wantAck: false,
            relayNode: lastByte(destination.node.num),
            decoded: {
              portnum: PortNum.ROUTING_APP,
              payload: routingPayload(RoutingError.NONE),
              requestId: packet.id,
              bitfield: 0,
            },
          });
        });
      }
      return;
    }
    // Broadcasts, and DMs for nodes not here, are flooded: a neighbour rebroadcasts and the base
    // hears its own packet again (its implicit ACK).
    if ((packet.hopLimit ?? 0) <= 0) return;
    const relayer = this.pickRelayer(packet.from);
    if (!relayer) return;
    this.later(this.relayDelayMs(onAirBytes), () => {
      this.transmit(relayer, {
        ...packet,
        hopLimit: (packet.hopLimit ?? 1) - 1,
        relayNode: lastByte(relayer.node.num),
      });
    });
  }

  private pickRelayer(except: number): Handheld | undefined {
    const candidates = [...this.handhelds.values()].filter(
      (h) => h.node.num !== except && !NON_RELAYING_ROLES.has(h.node.role),
    );
    return candidates.length > 0 ? pick(this.random, candidates) : undefined;
  }

  /** A rebroadcast comes one time on air plus a contention wait after the original. */
  private relayDelayMs(onAirBytes: number): number {
    return this.airtime(onAirBytes) + Math.floor(this.random() * 16) * slotTimeMs();
  }

  private emit(packet: SimPacket): void {
    for (const listener of this.listeners) {
      try {
        listener(copyPacket(packet));
      } catch (error) {
        this.log?.error({ err: error }, "air listener threw");
      }
    }
  }

  private later(ms: number, callback: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }
}
