// SimNet: a whole simulated mesh. Every node is a SimRadio (the device side of the phone API,
// attachable over TCP, a pty or in process) on top of a SimRouter (flooding, TX queue, duty
// cycle) on one SimChannel (positions, path loss, collisions). One injected clock drives it all:
// the process clock for `npm start`, a VirtualClock for drills.
import type { Logger } from "pino";
import { BROADCAST_NUM, DeviceRole } from "../radio/index.ts";
import { decodeAirPayload, decodeHeader, defaultChannel, type AirChannel, type AirHeader } from "./air.ts";
import { MODEM_PRESETS, REGION_DUTY_CYCLE, presetParams, type LoraParams } from "./airtime.ts";
import { SimChannel, type Jammer, type PathLossModel, type Position, type Transmission } from "./channel.ts";
import { realClock, type SimClock } from "./clock.ts";
import { lastByte, type SimNode } from "./node.ts";
import { copyPacket, hex32, type SimPacket } from "./packet.ts";
import { SimRadio, type SimRadioOptions } from "./radio.ts";
import { mulberry32 } from "./random.ts";
import { DUTY_CYCLE_LIMIT, SimRouter } from "./router.ts";

export interface SimNetOptions {
  clock?: SimClock;
  /** Seeds everything random (default: a random seed). */
  seed?: number;
  /** Modem preset name (default LONG_FAST) or explicit LoRa parameters. */
  preset?: string | LoraParams;
  /** Region code: sets the duty cycle (EU_868: 10 %; default US: none). */
  region?: string;
  pathLoss?: Partial<PathLossModel>;
  /** Extra probability that a receiver misses a decodable frame (default 0). */
  linkLoss?: number;
  captureDb?: number;
  /** Every radio runs the firmware's NodeInfo exchange (default off). */
  nodeInfoExchange?: boolean;
  /** Primary channel (default LongFast with the default key). */
  channel?: AirChannel;
  logger?: Logger;
}

export interface NetNodeSpec {
  node: SimNode;
  position?: Position;
  /** Config.DeviceConfig.RebroadcastMode (default: CORE_PORTNUMS_ONLY for ROUTER, ALL otherwise). */
  rebroadcastMode?: number;
  /** Transmit power, dBm (default 20). */
  txPowerDbm?: number;
  /** Channels this node has; default the net's primary. */
  channels?: readonly AirChannel[];
  /** Favourited node numbers (a CLIENT_BASE always relays, late, what is from or to them). */
  favorites?: readonly number[];
  radio?: Pick<SimRadioOptions, "idleTimeoutMs" | "firmwareVersion" | "consoleLogs" | "knownNodes">;
}

export interface NetNode {
  readonly node: SimNode;
  readonly radio: SimRadio;
  readonly router: SimRouter;
}

/** Every frame on the air, decoded with the net's primary channel when it can be. */
export interface AirFrame {
  /** The transmitting node (for a relay, the relayer). */
  transmitter: number;
  header: AirHeader;
  bytes: Uint8Array;
  startMs: number;
  airtimeMs: number;
  /** The packet as its transmitter sees it (undefined if not on the primary channel). */
  packet: SimPacket | undefined;
}

/** ROUTER, ROUTER_LATE, CLIENT_BASE. */
const ROUTER_LIKE = new Set([DeviceRole.ROUTER, 11, DeviceRole.CLIENT_BASE]);

export type DeliveryListener = (receiver: number, packet: SimPacket) => void;

export class SimNet {
  readonly clock: SimClock;
  readonly channel: SimChannel;
  readonly params: LoraParams;
  readonly random: () => number;
  readonly seed: number;
  readonly primary: AirChannel;
  /** The channel set of every node without its own: one array, so a frame is decrypted once for all of them (the decode cache is keyed by it). */
  private readonly primaryOnly: readonly AirChannel[];
  readonly dutyCyclePercent: number;
  private readonly nodeInfoExchange: boolean;
  private readonly nodes = new Map<number, NetNode>();
  private readonly frameListeners = new Set<(frame: AirFrame) => void>();
  private readonly deliveryListeners = new Set<DeliveryListener>();
  private readonly logger: Logger | undefined;

  constructor(options: SimNetOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.seed = (options.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    this.random = mulberry32(this.seed);
    this.params = typeof options.preset === "string" ? presetParams(options.preset) : (options.preset ?? MODEM_PRESETS.LONG_FAST);
    const region = options.region ?? "US";
    const duty = REGION_DUTY_CYCLE[region];
    if (duty === undefined) throw new RangeError(`unknown region "${region}" (known: ${Object.keys(REGION_DUTY_CYCLE).join(", ")})`);
    this.dutyCyclePercent = duty;
    this.nodeInfoExchange = options.nodeInfoExchange ?? false;
    this.primary = options.channel ?? defaultChannel(presetChannelName(this.params));
    this.primaryOnly = [this.primary];
    this.logger = options.logger?.child({ component: "sim-net" });
    this.channel = new SimChannel({
      clock: this.clock,
      params: this.params,
      seed: this.seed,
      random: this.random,
      ...(options.pathLoss ? { pathLoss: options.pathLoss } : {}),
      ...(options.linkLoss !== undefined ? { linkLoss: options.linkLoss } : {}),
      ...(options.captureDb !== undefined ? { captureDb: options.captureDb } : {}),
    });
    this.channel.onTransmission((transmission) => this.emitFrame(transmission));
  }

  addNode(spec: NetNodeSpec): NetNode {
    const num = spec.node.num >>> 0;
    if (num <= 3 || num === BROADCAST_NUM) throw new RangeError(`node number ${hex32(num)} is reserved`);
    if (this.nodes.has(num)) throw new RangeError(`duplicate node number ${hex32(num)}`);
    const channels = spec.channels ?? this.primaryOnly;
    const holder: { radio?: SimRadio } = {};
    const favorites = new Set((spec.favorites ?? []).map((n) => n >>> 0));
    const router = new SimRouter({
      num,
      role: spec.node.role,
      ...(spec.rebroadcastMode !== undefined ? { rebroadcastMode: spec.rebroadcastMode } : {}),
      channel: this.channel,
      channels,
      clock: this.clock,
      random: this.random,
      params: this.params,
      position: spec.position ?? { x: 0, y: 0 },
      txPowerDbm: spec.txPowerDbm ?? 20,
      dutyCyclePercent: this.dutyCyclePercent,
      favorites,
      relayIsFavoriteRouter: (byte) => {
        const named = this.list().filter((other) => lastByte(other.node.num) === byte);
        const only = named.length === 1 ? named[0] : undefined;
        return only !== undefined && favorites.has(only.node.num) && ROUTER_LIKE.has(only.node.role);
      },
      deliver: (packet) => {
        holder.radio?.deliver(packet);
        for (const listener of this.deliveryListeners) listener(num, packet);
      },
      heardOwn: (packet) => holder.radio?.deliver(packet),
      overheard: (packet) => holder.radio?.overhear(packet),
      ackAgain: (packet) => holder.radio?.acknowledge(packet),
      airtimeSpent: (ms, exceptId) => holder.radio?.extendRetransmissions(ms, exceptId),
    });
    const radio = new SimRadio({
      node: spec.node,
      clock: this.clock,
      random: this.random,
      consoleLogs: spec.radio?.consoleLogs ?? false,
      ...(spec.radio?.idleTimeoutMs !== undefined ? { idleTimeoutMs: spec.radio.idleTimeoutMs } : {}),
      ...(spec.radio?.firmwareVersion !== undefined ? { firmwareVersion: spec.radio.firmwareVersion } : {}),
      knownNodes: spec.radio?.knownNodes ?? (() => []),
      nodeInfoExchange: this.nodeInfoExchange,
      ...(this.logger ? { logger: this.logger } : {}),
      air: { send: (packet, done) => router.sendLocal(packet, done), cancel: (id) => router.cancelLocal(id), free: () => router.queueFree() },
      loraParams: this.params,
      dutyCyclePercent: this.dutyCyclePercent,
      airtimeStats: () => ({ channelUtilization: router.channelUtilization(), airUtilTx: router.txUtilization() }),
    });
    holder.radio = radio;
    this.channel.attach(router);
    const entry: NetNode = { node: spec.node, radio, router };
    this.nodes.set(num, entry);
    return entry;
  }

  get size(): number {
    return this.nodes.size;
  }

  list(): NetNode[] {
    return [...this.nodes.values()];
  }

  get(num: number): NetNode {
    const entry = this.nodes.get(num >>> 0);
    if (!entry) throw new RangeError(`no simulated node ${hex32(num)}`);
    return entry;
  }

  has(num: number): boolean {
    return this.nodes.has(num >>> 0);
  }

  radio(num: number): SimRadio {
    return this.get(num).radio;
  }

  moveTo(num: number, position: Position): void {
    this.get(num).router.moveTo(position);
  }

  setOnline(num: number, online: boolean): void {
    this.get(num).router.setOnline(online);
  }

  addJammer(jammer: Jammer): number {
    return this.channel.addJammer(jammer);
  }

  removeJammer(id: number): void {
    this.channel.removeJammer(id);
  }

  /** Every frame as it goes on the air. */
  onFrame(listener: (frame: AirFrame) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** A node's firmware decoded a packet for it (or broadcast) for the first time: what its phone gets. */
  onDelivery(listener: DeliveryListener): () => void {
    this.deliveryListeners.add(listener);
    return () => this.deliveryListeners.delete(listener);
  }

  /** Stops every radio's timers and detaches hosts. */
  close(): void {
    for (const { radio } of this.nodes.values()) radio.close();
  }

  private emitFrame(transmission: Transmission): void {
    if (this.frameListeners.size === 0) return;
    const header = decodeHeaderOf(transmission);
    const data = decodeAirPayload(transmission.frame, header, [this.primary]);
    const packet: SimPacket | undefined = data
      ? {
          from: header.from,
          to: header.to,
          id: header.id,
          channel: 0,
          hopLimit: header.hopLimit,
          hopStart: header.hopStart,
          wantAck: header.wantAck,
          relayNode: header.relayNode,
          nextHop: header.nextHop,
          decoded: data,
        }
      : undefined;
    const frame: AirFrame = {
      transmitter: transmission.sender,
      header,
      bytes: transmission.frame,
      startMs: transmission.startMs,
      airtimeMs: transmission.airtimeMs,
      packet,
    };
    for (const listener of this.frameListeners) {
      try {
        listener({ ...frame, packet: packet ? copyPacket(packet) : undefined });
      } catch (error) {
        this.logger?.error({ err: error }, "frame listener threw");
      }
    }
  }
}

function decodeHeaderOf(transmission: Transmission): AirHeader {
  return decodeHeader(transmission.frame);
}

/** The channel name an unnamed primary channel gets: the preset's display name. */
function presetChannelName(params: LoraParams): string {
  for (const [name, value] of Object.entries(MODEM_PRESETS)) {
    if (value.sf === params.sf && value.bw === params.bw && value.cr === params.cr) {
      return name
        .toLowerCase()
        .split("_")
        .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
        .join("")
        .replace("Moderate", "Mod");
    }
  }
  return "Custom";
}

export { DUTY_CYCLE_LIMIT };
