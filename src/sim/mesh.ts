// SimMesh: the `npm start` net on SimNet. One base radio (the radio a station attaches to) and
// handhelds standing a few hundred metres around it, which announce themselves (NODEINFO) and
// send presets from their canned messages at random intervals. Every node is a full simulated
// radio on the simulated channel: time on air, collisions, managed flooding, implicit and real
// ACKs. The clock is the process clock unless one is injected.
import type { Logger } from "pino";
import { BROADCAST_NUM, PortNum, encodeUser } from "../radio/index.ts";
import { ON_AIR_HEADER_BYTES, airtimeMs, slotTimeMs, CW_MAX, type LoraParams } from "./airtime.ts";
import type { SimClock, SimTimer } from "./clock.ts";
import { DEFAULT_HOP_LIMIT } from "./device-config.ts";
import { SimNet } from "./net.ts";
import { lastByte, userId, userOf, type SimNode } from "./node.ts";
import { copyPacket, dataEncodedSize, hex32, type SimPacket } from "./packet.ts";
import type { SimRadio, SimRadioOptions } from "./radio.ts";
import { pick, randomInt } from "./random.ts";

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
  /** PRNG (default Math.random); pass mulberry32(seed) for reproducible runs. It seeds the net. */
  random?: () => number;
  logger?: Logger;
  /** The clock (default: the process clock, real time). */
  clock?: SimClock;
  /** Console log text from the base radio between frames (USB serial realism). */
  consoleLogs?: boolean;
  /** Modem preset name or LoRa parameters (default LONG_FAST). */
  preset?: string | LoraParams;
  /** More options for the base radio. */
  radio?: Pick<SimRadioOptions, "idleTimeoutMs" | "firmwareVersion">;
}

export interface SendFromOptions {
  /** Destination node number (default broadcast). */
  to?: number;
  /** Channel index (default 0, the primary). */
  channel?: number;
  /** want_ack (on a broadcast: retransmitted until a neighbour relays it, as the apps send). */
  wantAck?: boolean;
  /**
   * Test injection: this many extra copies (same id, lower hop_limit) handed straight to the base
   * radio later, past its duplicate filter, as after a PacketHistory overflow or a reboot.
   */
  duplicates?: number;
}

export type AirListener = (packet: SimPacket) => void;

interface Handheld {
  readonly node: SimNode;
  readonly presets: readonly string[];
  readonly radio: SimRadio;
  timer: SimTimer | undefined;
}

const MAX_ON_AIR = 255;

export class SimMesh {
  /** The radio a station attaches to (serial, TCP or in process). */
  readonly baseRadio: SimRadio;
  readonly base: SimNode;
  /** The simulated mesh underneath (every node, the channel, the clock). */
  readonly net: SimNet;
  private readonly options: SimMeshOptions;
  private readonly random: () => number;
  private readonly log: Logger | undefined;
  private readonly handhelds = new Map<number, Handheld>();
  private readonly known = new Map<number, SimNode>();
  private readonly listeners = new Set<AirListener>();
  private readonly timers = new Set<SimTimer>();
  private running = false;

  constructor(options: SimMeshOptions) {
    if (options.intervalMs.min < 0 || options.intervalMs.max < options.intervalMs.min) {
      throw new RangeError(`bad intervalMs ${options.intervalMs.min}..${options.intervalMs.max}`);
    }
    this.options = options;
    this.base = options.base;
    const seedSource = options.random ?? Math.random;
    this.net = new SimNet({
      seed: Math.floor(seedSource() * 2 ** 32),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.preset ? { preset: options.preset } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    this.random = this.net.random;
    this.log = options.logger?.child({ component: "sim-mesh" });
    const base = this.net.addNode({
      node: options.base,
      position: { x: 0, y: 0 },
      radio: { ...options.radio, consoleLogs: options.consoleLogs ?? false, knownNodes: () => [...this.known.values()] },
    });
    this.baseRadio = base.radio;
    for (const spec of options.handhelds) {
      if (spec.node.num === options.base.num || this.handhelds.has(spec.node.num)) {
        throw new RangeError(`duplicate node number ${hex32(spec.node.num)}`);
      }
      // A few hundred metres from the base, in any direction: one hop, in range of each other.
      const angle = this.random() * 2 * Math.PI;
      const distance = 300 + this.random() * 500;
      const entry = this.net.addNode({ node: spec.node, position: { x: Math.cos(angle) * distance, y: Math.sin(angle) * distance } });
      // Short-range presets: walk it in until the base hears it with a few dB to spare.
      for (let d = distance; d > 20 && !this.net.channel.inRange(spec.node.num, options.base.num, 3); d *= 0.8) {
        this.net.moveTo(spec.node.num, { x: Math.cos(angle) * d, y: Math.sin(angle) * d });
      }
      this.handhelds.set(spec.node.num, { node: spec.node, presets: spec.presets, radio: entry.radio, timer: undefined });
    }
    this.net.onFrame((frame) => {
      if (frame.packet) this.emit(frame.packet);
    });
  }

  get clock(): SimClock {
    return this.net.clock;
  }

  /** The simulated handhelds, in the order given. */
  get handheldNodes(): SimNode[] {
    return [...this.handhelds.values()].map((h) => h.node);
  }

  /** Nodes the base radio knows (the handhelds announce themselves at start). */
  knownNodes(): SimNode[] {
    return [...this.known.values()];
  }

  get started(): boolean {
    return this.running;
  }

  /** Every handheld announces itself (NODEINFO) within 2 s, then sends presets at random intervals. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.log?.info({ handhelds: this.handhelds.size }, "mesh started");
    for (const handheld of this.handhelds.values()) {
      this.known.set(handheld.node.num, handheld.node);
      this.later(randomInt(this.random, 0, 2_000), () => {
        handheld.radio.originate({ portnum: PortNum.NODEINFO_APP, payload: encodeUser(userOf(handheld.node)) });
      });
      this.schedule(handheld);
    }
  }

  /** Stops the handhelds' timers (the radios stay on the air and attached). */
  stop(): void {
    this.running = false;
    for (const timer of this.timers) this.net.clock.clearTimer(timer);
    this.timers.clear();
    for (const handheld of this.handhelds.values()) handheld.timer = undefined;
    this.log?.info("mesh stopped");
  }

  /** Listens to every transmission on the simulated air (handhelds, relays and the base). */
  onAir(listener: AirListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes one handheld send `text` (it goes on the air after its contention wait). Returns the packet id. */
  sendFrom(num: number, text: string, options: SendFromOptions = {}): number {
    const handheld = this.handhelds.get(num);
    if (!handheld) throw new RangeError(`no simulated handheld ${hex32(num)}`);
    const decoded = { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(text), bitfield: 0 };
    const onAirBytes = ON_AIR_HEADER_BYTES + dataEncodedSize(decoded);
    if (onAirBytes > MAX_ON_AIR) throw new RangeError(`text is too long for one packet (${onAirBytes} bytes on air)`);
    const to = options.to ?? BROADCAST_NUM;
    const id = handheld.radio.originate(decoded, {
      to,
      channel: options.channel ?? 0,
      wantAck: options.wantAck ?? false,
    });
    if (id === undefined) throw new Error(`the TX queue of ${userId(num)} is full`);
    this.log?.info({ from: userId(num), id, text }, "handheld sends");
    const copies = Math.max(0, Math.floor(options.duplicates ?? 0));
    const airtime = airtimeMs(onAirBytes, this.net.params);
    const slot = slotTimeMs(this.net.params);
    let delay = 2 * airtime + 2 * CW_MAX * slot;
    for (let copy = 1; copy <= copies; copy++) {
      delay += airtime + Math.floor(this.random() * 16) * slot;
      const relayer = this.pickRelayer(num);
      const relayed: SimPacket = {
        from: num,
        to,
        id,
        channel: options.channel ?? 0,
        hopLimit: Math.max(0, DEFAULT_HOP_LIMIT - copy),
        hopStart: DEFAULT_HOP_LIMIT,
        wantAck: false,
        relayNode: relayer ? lastByte(relayer.node.num) : 0x7f,
        decoded,
      };
      this.later(delay, () => {
        this.emit(relayed);
        this.baseRadio.deliver({ ...relayed, rxTime: Math.floor(this.net.clock.now() / 1000), rxSnr: 6, rxRssi: -90 });
      });
    }
    return id;
  }

  // ---------------------------------------------------------------- internals

  private schedule(handheld: Handheld): void {
    if (!this.running || handheld.presets.length === 0) return;
    const { min, max } = this.options.intervalMs;
    handheld.timer = this.later(randomInt(this.random, min, max), () => {
      handheld.timer = undefined;
      if (!this.running) return;
      try {
        this.sendFrom(handheld.node.num, pick(this.random, handheld.presets));
      } catch (error) {
        this.log?.warn({ err: error }, "handheld could not send");
      }
      this.schedule(handheld);
    });
  }

  private pickRelayer(except: number): Handheld | undefined {
    const candidates = [...this.handhelds.values()].filter((h) => h.node.num !== except && h.node.role !== 1);
    return candidates.length > 0 ? pick(this.random, candidates) : undefined;
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

  private later(ms: number, callback: () => void): SimTimer {
    const timer = this.net.clock.setTimer(ms, () => {
      this.timers.delete(timer);
      callback();
    });
    this.timers.add(timer);
    return timer;
  }
}
