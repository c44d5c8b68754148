// The simulated LoRa channel: where every node stands, what each link's path loss and SNR are,
// which frames a receiver decodes, loses below the preset's sensitivity, or loses to a
// collision (with capture when one frame is much stronger), half-duplex radios, jammers, and
// the airtime meters behind channel utilisation and the duty cycle.
import { airtimeMs, demodulationFloorSnr, noiseFloorDbm, type LoraParams } from "./airtime.ts";
import type { SimClock } from "./clock.ts";
import { mulberry32 } from "./random.ts";

export interface Position {
  /** Metres east of the site origin. */
  x: number;
  /** Metres north of the site origin. */
  y: number;
}

/** Log-distance path loss with per-link shadowing and per-frame fading. */
export interface PathLossModel {
  /** Loss at 1 m in dB, antenna and body losses included (default 40). */
  referenceLossDb: number;
  /** Path-loss exponent: 2 free space, 2.7-3.5 streets at head height (default 3.3). */
  exponent: number;
  /** Standard deviation of the static per-link shadowing, dB (default 4). */
  shadowingDb: number;
  /** Standard deviation of the per-frame fading, dB (default 2). */
  fadingDb: number;
}

export const DEFAULT_PATH_LOSS: PathLossModel = { referenceLossDb: 40, exponent: 3.3, shadowingDb: 4, fadingDb: 2 };

/** What the channel needs from a node's radio. */
export interface ChannelPort {
  readonly num: number;
  position(): Position;
  /** Transmit power in dBm. */
  readonly txPowerDbm: number;
  /** Powered and on the air. */
  online(): boolean;
  /** A frame this node decoded, with what its radio measured. */
  receive(reception: Reception): void;
  /** A frame this node detected but lost (collision, link loss): the radio still spent the time receiving it. */
  receiveFailed?(transmission: Transmission): void;
}

export interface Transmission {
  /** Sequence number on this channel. */
  readonly seq: number;
  readonly sender: number;
  readonly frame: Uint8Array;
  readonly startMs: number;
  readonly endMs: number;
  readonly airtimeMs: number;
  /** Decoded views of this frame, per channel set, computed once for every receiver. */
  readonly cache: Map<unknown, unknown>;
}

export interface Reception {
  readonly transmission: Transmission;
  readonly rssi: number;
  readonly snr: number;
}

interface Pending {
  transmission: Transmission;
  receiver: ChannelPort;
  rssi: number;
  snr: number;
  lost: "collision" | "half-duplex" | undefined;
}

export interface Jammer {
  position: Position;
  powerDbm: number;
}

export interface ChannelStats {
  transmissions: number;
  /** Receptions decoded. */
  received: number;
  /** Frames a receiver detected but lost to an overlapping frame. */
  collisions: number;
  /** Frames lost because the receiver was transmitting. */
  halfDuplex: number;
  /** Frames lost to the random link loss. */
  linkLoss: number;
  /** Links too weak to detect. */
  belowSensitivity: number;
}

export interface SimChannelOptions {
  clock: SimClock;
  params: LoraParams;
  /** Seeds the per-link shadowing (a fixed property of the site). */
  seed: number;
  random: () => number;
  pathLoss?: Partial<PathLossModel>;
  /** Probability that a receiver misses a decodable frame anyway (default 0). */
  linkLoss?: number;
  /** A frame this many dB stronger than an overlapping one survives it (default 6). */
  captureDb?: number;
}

/** Bucketed airtime, as the firmware's airtime.cpp keeps it. */
export class AirtimeMeter {
  private readonly channel = new Map<number, number>(); // 10 s bucket -> ms of RX + TX
  private readonly tx = new Map<number, number>(); // 1 min bucket -> ms of TX
  totalTxMs = 0;
  totalRxMs = 0;

  logTx(nowMs: number, ms: number): void {
    this.totalTxMs += ms;
    add(this.channel, Math.floor(nowMs / 10_000), ms, 6);
    add(this.tx, Math.floor(nowMs / 60_000), ms, 60);
  }

  logRx(nowMs: number, ms: number): void {
    this.totalRxMs += ms;
    add(this.channel, Math.floor(nowMs / 10_000), ms, 6);
  }

  /** Channel utilisation: RX + TX airtime over the last minute (six 10 s buckets), percent. */
  channelUtilization(nowMs: number): number {
    return (sumSince(this.channel, Math.floor(nowMs / 10_000) - 5) / 60_000) * 100;
  }

  /** This node's own TX airtime over the rolling hour (sixty 1 min buckets), percent. */
  txUtilization(nowMs: number): number {
    return (sumSince(this.tx, Math.floor(nowMs / 60_000) - 59) / 3_600_000) * 100;
  }
}

function add(buckets: Map<number, number>, bucket: number, ms: number, keep: number): void {
  buckets.set(bucket, (buckets.get(bucket) ?? 0) + ms);
  if (buckets.size > keep + 2) for (const key of buckets.keys()) if (key <= bucket - keep) buckets.delete(key);
}

function sumSince(buckets: Map<number, number>, first: number): number {
  let sum = 0;
  for (const [key, value] of buckets) if (key >= first) sum += value;
  return sum;
}

const dbmToMw = (dbm: number): number => 10 ** (dbm / 10);
const mwToDbm = (mw: number): number => 10 * Math.log10(mw);

export class SimChannel {
  readonly params: LoraParams;
  readonly stats: ChannelStats = { transmissions: 0, received: 0, collisions: 0, halfDuplex: 0, linkLoss: 0, belowSensitivity: 0 };
  private readonly clock: SimClock;
  private readonly random: () => number;
  private readonly seed: number;
  private readonly model: PathLossModel;
  private readonly linkLoss: number;
  private readonly captureDb: number;
  private readonly floorSnr: number;
  private readonly noiseDbm: number;
  private readonly ports = new Map<number, ChannelPort>();
  /** Per link (lower node number, then higher): its fixed shadowing in dB. */
  private readonly shadowing = new Map<number, Map<number, number>>();
  /** Per link (sender, then receiver): the mean path loss and the position objects it was computed for (a node that moves gets a new one). */
  private readonly losses = new Map<number, Map<number, { from: Position; to: Position; db: number }>>();
  /** Frames arriving at each receiver right now. */
  private readonly arriving = new Map<number, Pending[]>();
  /** When each node's current transmission ends. */
  private readonly transmittingUntil = new Map<number, number>();
  private readonly jammers = new Map<number, Jammer>();
  private readonly listeners = new Set<(transmission: Transmission) => void>();
  private nextSeq = 1;
  private nextJammer = 1;

  constructor(options: SimChannelOptions) {
    this.clock = options.clock;
    this.params = options.params;
    this.random = options.random;
    this.seed = options.seed >>> 0;
    this.model = { ...DEFAULT_PATH_LOSS, ...options.pathLoss };
    this.linkLoss = options.linkLoss ?? 0;
    this.captureDb = options.captureDb ?? 6;
    this.floorSnr = demodulationFloorSnr(options.params);
    this.noiseDbm = noiseFloorDbm(options.params);
    if (this.linkLoss < 0 || this.linkLoss > 1) throw new RangeError(`linkLoss must be within 0..1, got ${this.linkLoss}`);
  }

  attach(port: ChannelPort): void {
    if (this.ports.has(port.num)) throw new RangeError(`node ${port.num} is already on the channel`);
    this.ports.set(port.num, port);
  }

  /** Listens to every transmission as it starts. */
  onTransmission(listener: (transmission: Transmission) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  addJammer(jammer: Jammer): number {
    const id = this.nextJammer++;
    this.jammers.set(id, { ...jammer });
    return id;
  }

  removeJammer(id: number): void {
    this.jammers.delete(id);
  }

  /** Mean path loss between two nodes in dB (distance and the link's shadowing; no fading). */
  pathLossDb(a: ChannelPort, b: ChannelPort): number {
    const pa = a.position();
    const pb = b.position();
    // Every frame asks for every link: the log and the shadowing lookup are done once per position.
    let row = this.losses.get(a.num);
    if (!row) {
      row = new Map();
      this.losses.set(a.num, row);
    }
    const known = row.get(b.num);
    if (known && known.from === pa && known.to === pb) return known.db;
    const db = this.meanPathLossDb(a, b, pa, pb);
    row.set(b.num, { from: pa, to: pb, db });
    return db;
  }

  private meanPathLossDb(a: ChannelPort, b: ChannelPort, pa: Position, pb: Position): number {
    const distance = Math.max(1, Math.hypot(pa.x - pb.x, pa.y - pb.y));
    return this.model.referenceLossDb + 10 * this.model.exponent * Math.log10(distance) + this.linkShadowing(a.num, b.num);
  }

  /** The mean SNR `to` hears `from` at, in dB (no fading, no jammer). */
  linkSnr(from: number, to: number): number {
    const a = this.ports.get(from);
    const b = this.ports.get(to);
    if (!a || !b) throw new RangeError(`no node ${a ? to : from} on the channel`);
    return a.txPowerDbm - this.pathLossDb(a, b) - this.noiseDbm;
  }

  /** Whether `to` can decode `from` on average (SNR at least `marginDb` above the preset's floor). */
  inRange(from: number, to: number, marginDb = 0): boolean {
    return this.linkSnr(from, to) >= this.floorSnr + marginDb;
  }

  /** Carrier sense: the node hears a frame right now (CAD before TX). */
  busy(num: number): number | undefined {
    const now = this.clock.now();
    let until: number | undefined;
    for (const pending of this.arriving.get(num) ?? []) {
      if (pending.transmission.endMs > now) until = Math.max(until ?? 0, pending.transmission.endMs);
    }
    return until;
  }

  transmitting(num: number): boolean {
    return (this.transmittingUntil.get(num) ?? 0) > this.clock.now();
  }

  /** Puts a frame on the air from `sender`; returns the transmission (it ends after its time on air). */
  transmit(sender: ChannelPort, frame: Uint8Array): Transmission {
    const now = this.clock.now();
    const airtime = airtimeMs(frame.length, this.params);
    const transmission: Transmission = {
      seq: this.nextSeq++,
      sender: sender.num,
      frame,
      startMs: now,
      endMs: now + airtime,
      airtimeMs: airtime,
      cache: new Map(),
    };
    this.stats.transmissions++;
    this.transmittingUntil.set(sender.num, transmission.endMs);
    // Half duplex: whatever the sender was receiving is lost.
    for (const pending of this.arriving.get(sender.num) ?? []) {
      if (pending.lost === undefined) pending.lost = "half-duplex";
    }
    const started: Pending[] = [];
    for (const receiver of this.ports.values()) {
      if (receiver === sender || !receiver.online()) continue;
      const rssi = sender.txPowerDbm - this.pathLossDb(sender, receiver) + this.fading();
      const snr = rssi - this.noiseAt(receiver);
      if (snr < this.floorSnr) {
        this.stats.belowSensitivity++;
        continue;
      }
      const pending: Pending = { transmission, receiver, rssi, snr, lost: this.transmitting(receiver.num) ? "half-duplex" : undefined };
      const list = this.arriving.get(receiver.num) ?? [];
      for (const other of list) {
        if (other.transmission.endMs <= now) continue;
        if (rssi >= other.rssi + this.captureDb) {
          other.lost ??= "collision";
        } else if (other.rssi >= rssi + this.captureDb) {
          pending.lost ??= "collision";
        } else {
          other.lost ??= "collision";
          pending.lost ??= "collision";
        }
      }
      list.push(pending);
      this.arriving.set(receiver.num, list);
      started.push(pending);
    }
    for (const listener of this.listeners) listener(transmission);
    this.clock.setTimer(airtime, () => this.finish(transmission, started));
    return transmission;
  }

  private finish(transmission: Transmission, receptions: Pending[]): void {
    const now = this.clock.now();
    for (const pending of receptions) {
      const list = this.arriving.get(pending.receiver.num);
      if (list) {
        const index = list.indexOf(pending);
        if (index >= 0) list.splice(index, 1);
      }
      if (pending.lost === "collision") {
        this.stats.collisions++;
        if (pending.receiver.online()) pending.receiver.receiveFailed?.(transmission);
        continue;
      }
      if (pending.lost === "half-duplex" || !pending.receiver.online()) {
        this.stats.halfDuplex++;
        continue;
      }
      if (this.linkLoss > 0 && this.random() < this.linkLoss) {
        this.stats.linkLoss++;
        pending.receiver.receiveFailed?.(transmission);
        continue;
      }
      this.stats.received++;
      pending.receiver.receive({ transmission, rssi: Math.round(pending.rssi), snr: Math.round(pending.snr * 4) / 4 });
    }
    if ((this.transmittingUntil.get(transmission.sender) ?? 0) <= now) this.transmittingUntil.delete(transmission.sender);
  }

  /** Noise plus every jammer's power at the receiver, in dBm. */
  private noiseAt(receiver: ChannelPort): number {
    if (this.jammers.size === 0) return this.noiseDbm;
    let mw = dbmToMw(this.noiseDbm);
    const at = receiver.position();
    for (const jammer of this.jammers.values()) {
      const distance = Math.max(1, Math.hypot(jammer.position.x - at.x, jammer.position.y - at.y));
      const loss = this.model.referenceLossDb + 10 * this.model.exponent * Math.log10(distance);
      mw += dbmToMw(jammer.powerDbm - loss);
    }
    return mwToDbm(mw);
  }

  private fading(): number {
    return this.model.fadingDb > 0 ? gaussian(this.random) * this.model.fadingDb : 0;
  }

  /** Static, symmetric shadowing of one link: a property of the site, seeded. */
  private linkShadowing(a: number, b: number): number {
    if (this.model.shadowingDb <= 0) return 0;
    const lo = Math.min(a, b) >>> 0;
    const hi = Math.max(a, b) >>> 0;
    let row = this.shadowing.get(lo);
    if (!row) {
      row = new Map();
      this.shadowing.set(lo, row);
    }
    let value = row.get(hi);
    if (value === undefined) {
      const random = mulberry32((this.seed ^ Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b)) >>> 0);
      value = gaussian(random) * this.model.shadowingDb;
      row.set(hi, value);
    }
    return value;
  }
}

/** A standard normal deviate (Box-Muller). */
export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
