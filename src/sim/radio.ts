// One simulated Meshtastic radio: the DEVICE side of the serial/TCP stream API, speaking the
// same bytes as firmware 2.7 (reference: ../shared/reference/meshtastic-protocol.md 1-3, 11).
//
// The host side (a station, @meshtastic/core's MeshDevice, the Python CLI) attaches a byte stream
// and sees: the firmware's frame parser and its quirks, the configure handshake in the exact
// order, QueueStatus after every packet and heartbeat, the 20-id duplicate filter, the rate
// limits, a 16-entry TX queue with LoRa time on air, want_ack retransmissions with implicit and
// real ACKs and MAX_RETRANSMIT, the 32-entry to-phone queue held until config_complete_id, the
// 15-minute idle close, `rebooted`, and optionally raw console log text between frames (serial).
//
// The radio's air side is two calls: `onTransmit(packet)` when a packet finishes going out, and
// `deliver(packet)` for a packet this radio hears. SimMesh (mesh.ts) connects them.
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import {
  BROADCAST_NUM,
  DeviceRole,
  PortNum,
  decodeToRadio,
  decodeUser,
  encodeFrame,
  encodeFromRadio,
  encodeTelemetry,
  encodeUser,
  type Data,
  type FromRadioInit,
  type MeshPacket,
  type ToRadio,
} from "../radio/index.ts";
import { MODEM_PRESETS, ON_AIR_HEADER_BYTES, airtimeMs as loraAirtimeMs, type LoraParams } from "./airtime.ts";
import { formatConsoleLine, type ConsoleLevel } from "./console-log.ts";
import {
  DEFAULT_HOP_LIMIT,
  SIM_FIRMWARE_VERSION,
  deviceUiConfig,
  metadata,
  myInfo,
  otherNodeInfo,
  ownNodeInfo,
  type HeardInfo,
} from "./device-config.ts";
import { FirmwareStreamParser } from "./firmware-parser.ts";
import { isTxAllowedChannelUtil, periodicAllowed, type PeriodicTraffic } from "./gates.ts";
import { lastByte, userId, userOf, type SimNode } from "./node.ts";
import {
  Priority,
  RoutingError,
  dataEncodedSize,
  fixPriority,
  hex32,
  phonePacketInit,
  routingPayload,
  type SimData,
  type SimPacket,
} from "./packet.ts";
import { createPacketIdGenerator } from "./random.ts";
import {
  RECENT_TO_RADIO_IDS,
  QUEUE_STATUS_QUEUE_SIZE,
  NODENUM_BROADCAST_NO_LORA,
  HOP_MAX,
  Errno,
  RATE_LIMIT_MS,
  EVICTING_PORTS,
  MAX_LORA_PAYLOAD_LEN,
  MAX_TX_QUEUE,
  TO_PHONE_QUEUE_SIZE,
  IDLE_TIMEOUT_MS,
  SPECIAL_NONCE_ONLY_CONFIG,
  SPECIAL_NONCE_ONLY_NODES,
  heartbeatNonce,
  channelLabel,
  checkNanopbLimits,
} from "./phone-api.ts";
import { realClock, type SimClock, type SimTimer } from "./clock.ts";
import { SimAdmin, type SimAdminOptions } from "./admin.ts";
import { RadioTransmitter, type RadioAir, type TxItem } from "./radio-air.ts";

export type { RadioAir } from "./radio-air.ts";
export { SPECIAL_NONCE_ONLY_CONFIG, SPECIAL_NONCE_ONLY_NODES, MAX_TX_QUEUE, TO_PHONE_QUEUE_SIZE, IDLE_TIMEOUT_MS } from "./phone-api.ts";

export interface SimRadioOptions {
  /** The firmware's NodeInfo exchange: greet nodes heard without a NodeInfo, answer NodeInfo requests (default off: unit tests count frames). */
  nodeInfoExchange?: boolean;
  node: SimNode;
  /** The other nodes this radio's NodeDB holds (the mesh adds the ones it hears). */
  knownNodes?: () => SimNode[];
  logger?: Logger;
  /** Wall clock in ms since the epoch (default: the clock's). */
  now?: () => number;
  /** Where the radio's timers run (default the process clock; a VirtualClock in drills). */
  clock?: SimClock;
  /**
   * The air below the radio (SimNet's router: queueing, carrier sense, time on air, flooding).
   * Without it the radio times its own transmissions and hands them to `onTransmit`.
   */
  air?: RadioAir;
  /**
   * What the device measures of the air (percent): channel utilisation over the last minute and
   * its own TX airtime over the hour. SimNet wires it to the node's router; without it the radio
   * reports its own TX airtime since boot for both.
   */
  airtimeStats?: () => { channelUtilization: number; airUtilTx: number };
  /** The region's duty cycle in percent (100 = none): the gate on periodic traffic (gates.ts). */
  dutyCyclePercent?: number;
  /** Raw firmware log lines between frames (USB serial realism). Per-attach override in attach(). */
  consoleLogs?: boolean;
  /** Called when a packet this radio sends has gone out over the air. */
  onTransmit?: (packet: SimPacket) => void;
  /** PRNG for packet ids and CSMA delays (default Math.random). */
  random?: () => number;
  /** Time on air in ms of a LoRa frame of this many bytes (default: LONG_FAST). */
  airtimeMs?: (onAirBytes: number) => number;
  /** The modem preset's parameters: time on air, slot time and the retransmission timeout (default LONG_FAST). */
  loraParams?: LoraParams;
  /** Close the API session after this long without a frame from the host; 0 = never (default 15 min). */
  idleTimeoutMs?: number;
  /** Drop a (from, id) heard before, as the firmware's PacketHistory does (default false: pass duplicates on). */
  rxDuplicateFilter?: boolean;
  firmwareVersion?: string;
  /** The admin module: settings store, canned-message module, reboot delay (src/sim/admin.ts). */
  admin?: SimAdminOptions & {
    /** How long the device is gone after a reboot before a host can connect again (default 2 s). */
    bootMs?: number;
  };
}


/** A packet a node's own firmware originates (a canned message picked on the handheld, a drill's traffic). */
export interface OriginateOptions {
  to?: number;
  channel?: number;
  wantAck?: boolean;
  hopLimit?: number;
  /** MeshPacket.Priority when the module sets its own (default: the firmware's fixPriority). */
  priority?: number;
}

/** NodeInfoModule: our NodeInfo goes to the mesh at most this often (allocReply; its scaling with the mesh's size is not modelled). */
export const NODEINFO_MIN_INTERVAL_MS = 10 * 60_000;
/** NodeInfoModule: a node that asked for our NodeInfo gets no new reply for this long. */
export const NODEINFO_REPLY_SUPPRESS_MS = 12 * 3_600_000;
/** Roles the firmware counts as preferred rebroadcasters: they do not greet new nodes (MeshService::handleFromRadio). */
const PREFERRED_REBROADCASTERS = new Set<number>([DeviceRole.ROUTER, 11 /* ROUTER_LATE */, DeviceRole.CLIENT_BASE]);
/** Roles whose NodeInfo never asks for a reply. */
const NO_REPLY_ROLES = new Set<number>([DeviceRole.TRACKER, 6 /* SENSOR */]);

export interface AttachOptions {
  /** Overrides the radio's consoleLogs for this connection (TCP never carries console text). */
  consoleLogs?: boolean;
  /** Destroy the stream when the idle timeout fires (TCP); serial only resets the session. */
  closeOnIdle?: boolean;
  /** A reboot ends this stream (TCP, native USB, in process: default); false: the stream stays and says `rebooted`. */
  dropOnReboot?: boolean;
}

interface Session {
  readonly stream: Duplex;
  readonly parser: FirmwareStreamParser;
  readonly consoleLogs: boolean;
  readonly closeOnIdle: boolean;
  readonly dropOnReboot: boolean;
  /** STATE_SEND_PACKETS: the handshake is complete and packets stream to the host. */
  streaming: boolean;
  readonly recentIds: number[];
  readonly lastAcceptedByPort: Map<number, number>;
  idleTimer: SimTimer | undefined;
  chatterTimer: SimTimer | undefined;
  cleanup: () => void;
}

/** How often the firmware logs its own device telemetry on the console. */
const TELEMETRY_LOG_INTERVAL_MS = 60_000;

interface QueueStatusInit {
  res: number;
  free: number;
  maxlen: number;
  meshPacketId: number;
}

export class SimRadio {
  readonly node: SimNode;
  private readonly options: SimRadioOptions;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly airtime: (onAirBytes: number) => number;
  private readonly lora: LoraParams;
  private nextPacketId: () => number;

  private session: Session | undefined;
  private rebootCount = 0;
  private bootAtMs: number;
  private readonly timers = new Set<SimTimer>();
  private readonly clock: SimClock;

  private toPhoneQueue: SimPacket[] = [];
  private queueStatusQueue: QueueStatusInit[] = [];
  /** The on-air side: the TX queue, time on air, want_ack retransmissions. */
  private readonly transmitter: RadioTransmitter;
  private readonly heardUsers = new Map<number, SimNode>();
  private readonly heardInfo = new Map<number, HeardInfo>();
  private readonly rxHistory: string[] = [];
  /** NodeInfoModule: when our NodeInfo last went to the mesh, and when each node last asked for ours. */
  private lastNodeInfoSentAt: number | undefined;
  private readonly nodeInfoAskedAt = new Map<number, number>();
  /** Settings and admin messages (provisioning). */
  readonly admin: SimAdmin;
  /** Until when (clock ms) the device is still booting and refuses hosts. */
  private bootingUntil = 0;

  constructor(options: SimRadioOptions) {
    this.options = options;
    this.node = options.node;
    this.log = options.logger?.child({ component: "sim-radio", node: userId(options.node.num) });
    this.clock = options.clock ?? realClock;
    this.now = options.now ?? (() => this.clock.now());
    this.random = options.random ?? Math.random;
    this.lora = options.loraParams ?? MODEM_PRESETS.LONG_FAST;
    this.airtime = options.airtimeMs ?? ((bytes) => loraAirtimeMs(bytes, this.lora));
    this.nextPacketId = createPacketIdGenerator(this.random);
    this.bootAtMs = this.now();
    this.transmitter = new RadioTransmitter({
      node: this.node,
      air: options.air,
      log: this.log,
      lora: this.lora,
      now: this.now,
      random: this.random,
      airtime: this.airtime,
      later: (ms, callback) => this.later(ms, callback),
      cancel: (timer) => this.cancel(timer),
      onTransmit: (packet) => this.options.onTransmit?.(packet),
      toPhone: (error, requestId, channel) => this.toPhone(this.localRouting(error, requestId, channel)),
      queueSpaceFreed: () => this.sendQueueStatus(Errno.OK, 0),
      consoleLog: (level, thread, message) => this.consoleLog(level, thread, message),
      channelUtilization: () => this.airStats().channelUtilization,
    });
    this.admin = new SimAdmin(options.node, this.now, { ...options.admin, ...(this.log ? { logger: this.log } : {}) });
  }

  /** Whether a host stream is attached. */
  get attached(): boolean {
    return this.session !== undefined;
  }

  /** Whether the attached host completed the handshake and receives packets as they arrive. */
  get streaming(): boolean {
    return this.session?.streaming === true;
  }

  /** Packets waiting in the to-phone queue (held until a host completes a handshake). */
  get queuedForPhone(): number {
    return this.toPhoneQueue.length;
  }

  /** The air side: called when a packet this radio sends has gone out (SimMesh sets it). */
  get onTransmit(): ((packet: SimPacket) => void) | undefined {
    return this.options.onTransmit;
  }

  set onTransmit(listener: ((packet: SimPacket) => void) | undefined) {
    this.options.onTransmit = listener;
  }

  /**
   * Speaks the stream protocol over `stream` until it ends or is detached. One host at a time:
   * attaching another stream destroys the previous one, as the firmware's TCP server
   * force-closes the previous connection. Returns a function that detaches (without closing).
   */
  attach(stream: Duplex, options: AttachOptions = {}): () => void {
    if (this.now() < this.bootingUntil) {
      stream.destroy(); // still booting: nobody answers
      return () => undefined;
    }
    const previous = this.session;
    if (previous) {
      this.endSession(previous, "replaced by a new connection");
      previous.stream.destroy();
    }
    const session: Session = {
      stream,
      parser: new FirmwareStreamParser(),
      consoleLogs: options.consoleLogs ?? this.options.consoleLogs ?? false,
      closeOnIdle: options.closeOnIdle ?? false,
      dropOnReboot: options.dropOnReboot ?? true,
      streaming: false,
      recentIds: [],
      lastAcceptedByPort: new Map(),
      idleTimer: undefined,
      chatterTimer: undefined,
      cleanup: () => undefined,
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk;
      for (const payload of session.parser.push(bytes)) {
        if (this.session !== session) return;
        this.handleToRadio(session, payload);
      }
    };
    const onEnd = (): void => {
      this.endSession(session, "host closed the stream");
      if (!stream.destroyed) stream.destroy();
    };
    const onClose = (): void => this.endSession(session, "stream closed");
    const onError = (error: Error): void => {
      this.log?.warn({ err: error }, "stream error");
      this.endSession(session, "stream error");
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("close", onClose);
    stream.on("error", onError);
    session.cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onClose);
      stream.off("error", onError);
    };
    this.session = session;
    this.armIdleTimer(session);
    this.armChatter(session);
    this.log?.info({ consoleLogs: session.consoleLogs }, "host attached");
    return () => this.endSession(session, "detached");
  }

  /**
   * A packet this radio heard over the air. Packets for us or broadcast go to the phone (held in
   * the to-phone queue until a host completes its handshake); our own packets relayed back are
   * implicit ACKs; a want_ack packet for us is ACKed over the air.
   */
  deliver(heard: SimPacket): void {
    const nowMs = this.now();
    const hopLimit = heard.hopLimit ?? DEFAULT_HOP_LIMIT;
    const packet: SimPacket = {
      ...heard,
      channel: heard.channel ?? 0,
      hopLimit,
      hopStart: heard.hopStart ?? hopLimit,
      rxTime: heard.rxTime ?? Math.floor(nowMs / 1000),
      decoded: { ...heard.decoded, payload: heard.decoded.payload.slice() },
    };
    const { decoded } = packet;
    if (packet.from === this.node.num) {
      // Someone rebroadcast our packet: an implicit ACK if we are still waiting for one.
      if (this.transmitter.awaitsAck(packet.id)) {
        this.consoleLog("DEBUG", "Router", `Rx someone rebroadcasting for us (id=${hex32(packet.id)})`);
        this.stopRetransmission(packet.id);
        this.toPhone(this.localRouting(RoutingError.NONE, packet.id, packet.channel ?? 0));
      }
      return;
    }
    if (packet.from === 0 || packet.from === BROADCAST_NUM) return;
    this.consoleLog(
      "DEBUG",
      "RadioIf",
      `Lora RX (id=${hex32(packet.id)} fr=${hex32(packet.from)} to=${hex32(packet.to)}, WantAck=${packet.wantAck ? 1 : 0}, ` +
        `HopLim=${hopLimit} Ch=${channelLabel(packet.channel ?? 0)} Portnum=${decoded.portnum} rxtime=${packet.rxTime} ` +
        `rxSNR=${packet.rxSnr ?? 0} rxRSSI=${packet.rxRssi ?? 0})`,
    );
    const hopStart = packet.hopStart ?? hopLimit;
    this.heardInfo.set(packet.from, {
      lastHeard: packet.rxTime ?? Math.floor(nowMs / 1000),
      snr: packet.rxSnr ?? 0,
      hopsAway: Math.max(0, hopStart - hopLimit),
    });
    const knewSender = this.options.nodeInfoExchange !== true || (decoded.portnum !== PortNum.NODEINFO_APP && this.knows(packet.from));
    if (decoded.portnum === PortNum.NODEINFO_APP) this.learnUser(packet.from, decoded.payload);

    if (this.options.rxDuplicateFilter === true) {
      const key = `${packet.from}:${packet.id}`;
      if (this.rxHistory.includes(key)) {
        this.consoleLog("DEBUG", "Router", `Ignore dupe incoming msg (id=${hex32(packet.id)})`);
        return;
      }
      this.rxHistory.push(key);
      if (this.rxHistory.length > 100) this.rxHistory.shift();
    }

    const toUs = packet.to === this.node.num;
    if (!toUs && packet.to !== BROADCAST_NUM) return; // not ours: only relays care
    if (this.options.nodeInfoExchange === true) this.exchangeNodeInfo(packet, knewSender);
    if (toUs && decoded.portnum === PortNum.ROUTING_APP && (decoded.requestId ?? 0) !== 0) {
      this.stopRetransmission(decoded.requestId ?? 0);
    }
    if (toUs && packet.wantAck === true && decoded.portnum !== PortNum.ROUTING_APP) {
      this.sendAckOverAir(packet);
    }
    if (decoded.portnum === PortNum.TEXT_MESSAGE_APP) {
      const text = new TextDecoder().decode(decoded.payload);
      this.consoleLog("INFO", "Router", `Received text msg from=${hex32(packet.from)}, id=${hex32(packet.id)}, msg=${text}`);
    }
    this.toPhone(packet);
  }

  /** A NodeInfo for another node, overheard: the NodeDB learns its sender (NodeInfoModule is promiscuous). */
  overhear(packet: SimPacket): void {
    if (packet.decoded.portnum === PortNum.NODEINFO_APP && packet.from !== this.node.num) this.learnUser(packet.from, packet.decoded.payload);
  }

  /**
   * A packet this node's own firmware originates, as when its user picks a canned message: into
   * the TX queue as the phone API would put it (no rate limit). Returns the packet id, or
   * undefined when the TX queue is full.
   */
  originate(data: SimData, options: OriginateOptions = {}): number | undefined {
    const to = options.to ?? BROADCAST_NUM;
    const hopLimit = Math.min(HOP_MAX, options.hopLimit ?? DEFAULT_HOP_LIMIT);
    const wantAck = options.wantAck ?? false;
    const packet: SimPacket = {
      from: this.node.num,
      to,
      id: this.nextPacketId(),
      channel: options.channel ?? 0,
      hopLimit,
      hopStart: hopLimit,
      wantAck: to === BROADCAST_NUM ? false : wantAck,
      viaMqtt: false,
      relayNode: lastByte(this.node.num),
      nextHop: 0,
      priority: fixPriority(data, wantAck),
      decoded: { ...data, payload: data.payload.slice(), bitfield: data.bitfield ?? 0 },
    };
    if (options.priority !== undefined) packet.priority = options.priority;
    const res = this.enqueueTx({ packet, reliable: wantAck, retransmission: false });
    return res === Errno.OK ? packet.id : undefined;
  }

  /**
   * NodeInfoModule::sendOurNodeInfo: our User to `to` (a broadcast asking for replies goes zero
   * hops), at background priority; skipped above 40 % channel utilisation and within 10 minutes
   * of the last one. Returns the packet id, or undefined when skipped or the TX queue is full.
   */
  sendOwnNodeInfo(to: number = BROADCAST_NUM, wantReplies = false, hopLimit?: number): number | undefined {
    const nowMs = this.now();
    if (!isTxAllowedChannelUtil(this.airStats().channelUtilization, false)) return undefined;
    if (this.lastNodeInfoSentAt !== undefined && nowMs - this.lastNodeInfoSentAt < NODEINFO_MIN_INTERVAL_MS) return undefined;
    const wantResponse = wantReplies && !NO_REPLY_ROLES.has(this.node.role);
    this.lastNodeInfoSentAt = nowMs;
    const data: SimData = { portnum: PortNum.NODEINFO_APP, payload: encodeUser(userOf(this.node)), wantResponse, bitfield: wantResponse ? 2 : 0 };
    const hops = wantResponse && to === BROADCAST_NUM ? 0 : hopLimit;
    return this.originate(data, { to, priority: Priority.BACKGROUND, ...(hops !== undefined ? { hopLimit: hops } : {}) });
  }

  /** Nodes whose User this radio holds (its NodeDB): for a drill's report, the roster the radio hands its station. */
  knownUsers(): number {
    return this.nodeList().length;
  }

  /** ACKs a want_ack packet addressed to us once more (its originator retransmitted: our ACK got lost). */
  acknowledge(packet: SimPacket): void {
    if (packet.to !== this.node.num || packet.wantAck !== true || packet.decoded.portnum === PortNum.ROUTING_APP) return;
    this.sendAckOverAir(packet);
  }

  /** Channel utilisation and TX airtime as the device reports them (percent). */
  airStats(): { channelUtilization: number; airUtilTx: number } {
    if (this.options.airtimeStats) return this.options.airtimeStats();
    const own = (100 * this.transmitter.airtimeSpentMs) / Math.max(1, this.now() - this.bootAtMs);
    return { channelUtilization: own, airUtilTx: own };
  }

  /** Whether this node's firmware sends its periodic `kind` now (channel utilisation and duty-cycle gates). */
  periodicAllowed(kind: PeriodicTraffic): boolean {
    return periodicAllowed(kind, this.node.role, this.airStats(), this.options.dutyCyclePercent ?? 100);
  }

  /**
   * Broadcasts this node's device metrics (TELEMETRY_APP), as the firmware does every 30 minutes
   * by default: battery, voltage, channel utilisation, air_util_tx, uptime. Returns the packet id.
   */
  sendDeviceTelemetry(): number | undefined {
    const nowMs = this.now();
    const { channelUtilization, airUtilTx } = this.airStats();
    const payload = encodeTelemetry({
      time: Math.floor(nowMs / 1000),
      variant: {
        case: "deviceMetrics",
        value: { batteryLevel: 101, voltage: 4.2, channelUtilization, airUtilTx, uptimeSeconds: Math.floor((nowMs - this.bootAtMs) / 1000) },
      },
    });
    return this.originate({ portnum: PortNum.TELEMETRY_APP, payload });
  }

  /** The device reboots: FromRadio{rebooted} on the attached stream; RAM state (queues, session) is lost. */
  reboot(): void {
    for (const timer of this.timers) this.clock.clearTimer(timer);
    this.timers.clear();
    this.toPhoneQueue = [];
    this.queueStatusQueue = [];
    this.transmitter.reset();
    this.rxHistory.length = 0;
    this.lastNodeInfoSentAt = undefined;
    this.nodeInfoAskedAt.clear();
    this.rebootCount++;
    this.bootAtMs = this.now();
    this.transmitter.airtimeSpentMs = 0;
    this.nextPacketId = createPacketIdGenerator(this.random);
    this.log?.info({ rebootCount: this.rebootCount }, "rebooted");
    const session = this.session;
    if (!session) return;
    session.streaming = false;
    session.recentIds.length = 0;
    session.lastAcceptedByPort.clear();
    session.parser.reset();
    this.armIdleTimer(session);
    this.armChatter(session);
    this.consoleLog("INFO", "Main", "//\\ E S H T /\\ S T / C");
    this.consoleLog("INFO", "Main", `Booted, wake cause 0 (boot count ${this.rebootCount}), reset_reason=reset`);
    this.send(session, { case: "rebooted", value: true });
  }

  /** Detaches the host and stops every timer (the radio can be attached again). */
  close(): void {
    if (this.session) this.endSession(this.session, "radio closed");
    for (const timer of this.timers) this.clock.clearTimer(timer);
    this.timers.clear();
    this.transmitter.reset();
  }

  // ---------------------------------------------------------------- host side

  private endSession(session: Session, reason: string): void {
    if (this.session !== session) return;
    session.cleanup();
    if (session.idleTimer) this.cancel(session.idleTimer);
    if (session.chatterTimer) this.cancel(session.chatterTimer);
    this.session = undefined;
    this.log?.info({ reason }, "host detached");
  }

  private armIdleTimer(session: Session): void {
    if (session.idleTimer) this.cancel(session.idleTimer);
    session.idleTimer = undefined;
    const timeout = this.options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    if (timeout <= 0) return;
    session.idleTimer = this.later(timeout, () => {
      session.idleTimer = undefined;
      if (this.session !== session) return;
      this.consoleLog("INFO", "SerialConsole", "Connection timed out: no frame from the client");
      this.log?.info("host idle timeout: session closed");
      session.streaming = false;
      if (session.closeOnIdle) {
        this.endSession(session, "idle timeout");
        session.stream.destroy();
      }
    });
  }

  /** On serial, the console keeps talking even when nothing happens: the periodic telemetry line. */
  private armChatter(session: Session): void {
    if (!session.consoleLogs) return;
    session.chatterTimer = this.later(TELEMETRY_LOG_INTERVAL_MS, () => {
      session.chatterTimer = undefined;
      if (this.session !== session) return;
      const uptimeMs = Math.max(1, this.now() - this.bootAtMs);
      const { channelUtilization, airUtilTx } = this.airStats();
      this.consoleLog(
        "INFO",
        "DeviceTelemetry",
        `Send: air_util_tx=${airUtilTx.toFixed(6)}, channel_utilization=${channelUtilization.toFixed(6)}, ` +
          `battery_level=101, voltage=4.200000, uptime=${Math.floor(uptimeMs / 1000)}`,
      );
      this.armChatter(session);
    });
  }

  private handleToRadio(session: Session, payload: Uint8Array): void {
    this.armIdleTimer(session); // every framed ToRadio is contact, even one that does not decode
    let message: ToRadio;
    try {
      message = decodeToRadio(payload);
      checkNanopbLimits(message);
    } catch (error) {
      this.consoleLog("ERROR", "SerialConsole", "Error: ignore malformed toradio");
      this.log?.debug({ err: error, bytes: payload.length }, "ignored a malformed ToRadio");
      return;
    }
    const variant = message.payloadVariant;
    switch (variant.case) {
      case "wantConfigId":
        this.sendConfig(session, variant.value);
        return;
      case "packet":
        this.handlePhonePacket(session, variant.value);
        return;
      case "heartbeat":
        if (heartbeatNonce(variant.value) === 1) {
          this.consoleLog("INFO", "PhoneAPI", "Client requested our NodeInfo broadcast (heartbeat nonce 1)");
          this.broadcastOwnNodeInfo();
        } else {
          this.send(session, { case: "queueStatus", value: this.queueStatus(Errno.OK, 0) });
        }
        return;
      case "disconnect":
        this.consoleLog("INFO", "PhoneAPI", "Disconnect from phone");
        session.streaming = false;
        return;
      case "xmodemPacket":
      case "mqttClientProxyMessage":
        this.log?.debug({ variant: variant.case }, "ToRadio variant not simulated; ignored");
        return;
      case undefined:
        return; // an empty ToRadio: keep-alive only
    }
  }

  private sendConfig(session: Session, nonce: number): void {
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const uptime = Math.floor((nowMs - this.bootAtMs) / 1000);
    session.streaming = false;
    this.consoleLog("INFO", "PhoneAPI", `Client wants config, nonce=${nonce}`);
    const frames: FromRadioInit[] = [];
    const onlyNodes = nonce === SPECIAL_NONCE_ONLY_NODES;
    if (!onlyNodes) frames.push(myInfo(this.node, this.rebootCount), deviceUiConfig());
    frames.push(ownNodeInfo(this.node, nowSeconds, uptime, this.airStats()));
    if (!onlyNodes) {
      frames.push(this.admin.withModules(metadata(this.node, this.options.firmwareVersion ?? SIM_FIRMWARE_VERSION)));
      const settings = this.admin.handshakeFrames();
      frames.push(...settings.channels, ...settings.configs, ...settings.moduleConfigs);
    }
    if (nonce !== SPECIAL_NONCE_ONLY_CONFIG) {
      for (const node of this.nodeList()) frames.push(otherNodeInfo(node, this.heardInfo.get(node.num)));
    }
    frames.push({ case: "configCompleteId", value: nonce });
    for (const frame of frames) this.send(session, frame);
    this.consoleLog("INFO", "PhoneAPI", `Config Send Complete, nonce=${nonce}`);
    this.log?.info({ nonce, frames: frames.length }, "handshake sent");
    session.streaming = true;
    this.flushToPhone(session);
  }

  private handlePhonePacket(session: Session, packet: MeshPacket): void {
    if (packet.id !== 0) {
      if (session.recentIds.includes(packet.id)) {
        this.consoleLog("WARN", "PhoneAPI", `Ignore packet id ${hex32(packet.id)}: seen recently`);
        return; // silently: no QueueStatus
      }
      session.recentIds.push(packet.id);
      if (session.recentIds.length > RECENT_TO_RADIO_IDS) session.recentIds.shift();
    }
    const decoded = packet.payloadVariant.case === "decoded" ? packet.payloadVariant.value : undefined;
    if (decoded) {
      const limit = RATE_LIMIT_MS[decoded.portnum];
      if (limit !== undefined) {
        const nowMs = this.now();
        const last = session.lastAcceptedByPort.get(decoded.portnum);
        if (last !== undefined && nowMs - last < limit) {
          this.consoleLog("WARN", "PhoneAPI", `Rate limit portnum ${decoded.portnum}`);
          const id = packet.id !== 0 ? packet.id : this.nextPacketId();
          this.sendQueueStatus(Errno.OK, id);
          if (decoded.portnum === PortNum.TEXT_MESSAGE_APP) {
            this.routingError(RoutingError.RATE_LIMIT_EXCEEDED, packet.from, id, packet.channel);
          }
          return;
        }
        session.lastAcceptedByPort.set(decoded.portnum, nowMs);
      }
    }
    this.sendToMesh(packet, decoded);
  }

  /** MeshService::handleToRadio + Router::sendLocal for a packet from the phone. */
  private sendToMesh(packet: MeshPacket, decoded: Data | undefined): void {
    const id = packet.id !== 0 ? packet.id : this.nextPacketId();
    if (!decoded) {
      this.log?.debug({ id }, "pre-encrypted packet from the phone: not simulated, dropped");
      this.sendQueueStatus(Errno.OK, id);
      return;
    }
    if (packet.to === this.node.num) {
      this.sendQueueStatus(Errno.OK, id);
      if (decoded.portnum === PortNum.ADMIN_APP) {
        this.handleAdmin(decoded.payload, id, packet.channel);
        return;
      }
      // Other local deliveries: the ACK a module that does not reply gets.
      if (packet.wantAck) this.toPhone(this.localRouting(RoutingError.NONE, id, packet.channel));
      return;
    }
    if (packet.to === NODENUM_BROADCAST_NO_LORA) {
      this.sendQueueStatus(Errno.SHOULD_RELEASE, id);
      return;
    }
    const data: SimData = {
      portnum: decoded.portnum,
      payload: decoded.payload.slice(),
      wantResponse: decoded.wantResponse,
      dest: decoded.dest,
      source: decoded.source,
      requestId: decoded.requestId,
      replyId: decoded.replyId,
      emoji: decoded.emoji,
      bitfield: decoded.wantResponse ? 2 : 0,
    };
    if (dataEncodedSize(data) + ON_AIR_HEADER_BYTES > MAX_LORA_PAYLOAD_LEN) {
      this.consoleLog("WARN", "Router", `Packet too large: ${dataEncodedSize(data)} bytes`);
      this.sendQueueStatus(RoutingError.TOO_LARGE, id);
      this.toPhone(this.localRouting(RoutingError.TOO_LARGE, id, packet.channel));
      return;
    }
    let hopLimit = packet.hopLimit;
    if (packet.wantAck && hopLimit === 0) hopLimit = DEFAULT_HOP_LIMIT;
    if (hopLimit > HOP_MAX) hopLimit = DEFAULT_HOP_LIMIT;
    const broadcast = packet.to === BROADCAST_NUM;
    const onAir: SimPacket = {
      from: this.node.num,
      to: packet.to,
      id,
      channel: packet.channel,
      hopLimit,
      hopStart: hopLimit,
      wantAck: broadcast ? false : packet.wantAck,
      viaMqtt: false,
      relayNode: lastByte(this.node.num),
      nextHop: 0,
      priority: packet.priority !== 0 ? packet.priority : fixPriority(data, packet.wantAck),
      decoded: data,
    };
    const res = this.enqueueTx({ packet: onAir, reliable: packet.wantAck, retransmission: false });
    this.sendQueueStatus(res, id);
  }

  /** An AdminMessage from the host (admin.ts): its reply, and the reboot a commit schedules. */
  private handleAdmin(payload: Uint8Array, requestId: number, channel: number): void {
    const outcome = this.admin.handle(payload);
    const reply = outcome.reply;
    if (reply && "admin" in reply) {
      const packet = this.localRouting(RoutingError.NONE, requestId, channel);
      this.toPhone({ ...packet, decoded: { portnum: PortNum.ADMIN_APP, payload: reply.admin, requestId } });
    } else if (reply) {
      this.toPhone(this.localRouting(reply.routing, requestId, channel));
    }
    if (outcome.rebootAfterMs === undefined) return;
    this.later(outcome.rebootAfterMs, () => {
      // Saved settings are reloaded; a socket or native-USB host loses its stream while the device boots.
      const session = this.session;
      if (session?.dropOnReboot) {
        this.endSession(session, "device rebooting");
        session.stream.destroy();
        this.bootingUntil = this.now() + (this.options.admin?.bootMs ?? 2_000);
      }
      this.admin.boot();
      this.reboot();
    });
  }

  // ---------------------------------------------------------------- towards the phone

  private send(session: Session, variant: FromRadioInit): void {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(encodeFromRadio(variant));
    } catch (error) {
      this.log?.error({ err: error, variant: variant.case }, "could not encode a FromRadio");
      return;
    }
    if (session.stream.destroyed || !session.stream.writable) return;
    session.stream.write(frame);
  }

  private queueStatus(res: number, meshPacketId: number): QueueStatusInit {
    const free = this.options.air ? this.options.air.free() : MAX_TX_QUEUE - this.transmitter.queued;
    return { res, free, maxlen: MAX_TX_QUEUE, meshPacketId };
  }

  /** QueueStatus for a packet: to the host now if it is streaming, else into the 2-entry queue. */
  private sendQueueStatus(res: number, meshPacketId: number): void {
    const status = this.queueStatus(res, meshPacketId);
    const session = this.session;
    if (session?.streaming) {
      this.send(session, { case: "queueStatus", value: status });
      return;
    }
    if (this.queueStatusQueue.length >= QUEUE_STATUS_QUEUE_SIZE) this.queueStatusQueue.shift();
    this.queueStatusQueue.push(status);
  }

  /** MeshService::sendToPhone: the to-phone queue, 32 entries, text evicts the oldest, others are dropped. */
  private toPhone(packet: SimPacket): void {
    const session = this.session;
    if (session?.streaming) {
      this.send(session, { case: "packet", value: phonePacketInit(packet) });
      return;
    }
    if (this.toPhoneQueue.length >= TO_PHONE_QUEUE_SIZE) {
      if (!EVICTING_PORTS.has(packet.decoded.portnum)) {
        this.log?.warn({ id: packet.id, portnum: packet.decoded.portnum }, "to-phone queue full: packet dropped");
        return;
      }
      const evicted = this.toPhoneQueue.shift();
      this.log?.warn({ evicted: evicted?.id }, "to-phone queue full: oldest packet dropped");
    }
    this.toPhoneQueue.push(packet);
  }

  private flushToPhone(session: Session): void {
    const statuses = this.queueStatusQueue;
    this.queueStatusQueue = [];
    for (const status of statuses) this.send(session, { case: "queueStatus", value: status });
    const packets = this.toPhoneQueue;
    this.toPhoneQueue = [];
    for (const packet of packets) this.send(session, { case: "packet", value: phonePacketInit(packet) });
  }

  /** A ROUTING_APP packet the radio generates for its own client (implicit ACK or local NAK). */
  private localRouting(error: number, requestId: number, channel: number): SimPacket {
    return {
      from: this.node.num,
      to: this.node.num,
      id: this.nextPacketId(),
      channel,
      priority: fixPriority({ portnum: PortNum.ROUTING_APP, payload: new Uint8Array() }, false),
      rxTime: Math.floor(this.now() / 1000),
      hopLimit: 0,
      hopStart: 0,
      decoded: { portnum: PortNum.ROUTING_APP, payload: routingPayload(error), requestId },
    };
  }

  /** sendAckNak: to ourselves it goes to the phone; to anyone else (e.g. node 0, a client's from=0) over the air. */
  private routingError(error: number, to: number, requestId: number, channel: number): void {
    if (to === this.node.num) {
      this.toPhone(this.localRouting(error, requestId, channel));
      return;
    }
    const data: SimData = { portnum: PortNum.ROUTING_APP, payload: routingPayload(error), requestId, bitfield: 0 };
    this.originate(data, { to, channel });
  }

  // ---------------------------------------------------------------- towards the air (radio-air.ts)

  private enqueueTx(item: TxItem): number {
    return this.transmitter.enqueue(item);
  }

  /** ReliableRouter: the airtime of every packet received or sent meanwhile is added to a pending retransmission's timer (radio-air.ts). */
  extendRetransmissions(ms: number, exceptId?: number): void {
    this.transmitter.extendRetransmissions(ms, exceptId);
  }

  private stopRetransmission(id: number): void {
    this.transmitter.stopRetransmission(id);
  }

  /** A real ACK for a want_ack packet addressed to us (ReliableRouter::sniffReceived). */
  private sendAckOverAir(packet: SimPacket): void {
    const hopLimit = this.responseHopLimit(packet);
    const data: SimData = {
      portnum: PortNum.ROUTING_APP,
      payload: routingPayload(RoutingError.NONE),
      requestId: packet.id,
      bitfield: 0,
    };
    this.originate(data, { to: packet.from, channel: packet.channel ?? 0, hopLimit });
  }

  /**
   * The firmware's NodeInfo exchange. A NodeInfo asking for a reply (to us, or broadcast by a
   * direct neighbour) gets ours unless that node asked within 12 hours (NodeInfoModule); a packet
   * from a node we hold no User for makes a node that is not a preferred rebroadcaster send it
   * ours, asking for a reply, below 25 % channel utilisation and within hop_limit + 2 hops
   * (MeshService::handleFromRadio). Both go through sendOwnNodeInfo's rate limit.
   */
  private exchangeNodeInfo(packet: SimPacket, knewSender: boolean): void {
    const { decoded } = packet;
    const hopsUsed = Math.max(0, (packet.hopStart ?? 0) - (packet.hopLimit ?? 0));
    if (decoded.portnum === PortNum.NODEINFO_APP) {
      if (decoded.wantResponse !== true) return;
      const nowMs = this.now();
      const asked = this.nodeInfoAskedAt.get(packet.from);
      this.nodeInfoAskedAt.set(packet.from, nowMs);
      if (asked !== undefined && nowMs - asked < NODEINFO_REPLY_SUPPRESS_MS) return;
      const direct = packet.to === BROADCAST_NUM && hopsUsed === 0;
      if (packet.to !== this.node.num && !direct) return;
      this.sendOwnNodeInfo(packet.from, false, direct ? 0 : this.responseHopLimit(packet));
      return;
    }
    if (knewSender || PREFERRED_REBROADCASTERS.has(this.node.role)) return;
    if (decoded.portnum === PortNum.TELEMETRY_APP && (decoded.requestId ?? 0) !== 0) return;
    if (!isTxAllowedChannelUtil(this.airStats().channelUtilization, true)) return;
    if (hopsUsed > DEFAULT_HOP_LIMIT + 2) return;
    this.sendOwnNodeInfo(packet.from, true);
  }

  /** MeshModule::getResponseHopLimit: as many hops as the request used, plus two, at most the default. */
  private responseHopLimit(packet: SimPacket): number {
    const hopStart = packet.hopStart ?? 0;
    const hopsUsed = Math.max(0, hopStart - (packet.hopLimit ?? 0));
    return hopStart === 0 ? 0 : Math.min(hopsUsed + 2, DEFAULT_HOP_LIMIT);
  }

  private knows(num: number): boolean {
    return this.heardUsers.has(num) || (this.options.knownNodes?.() ?? []).some((node) => node.num === num);
  }

  private broadcastOwnNodeInfo(): void {
    const data: SimData = { portnum: PortNum.NODEINFO_APP, payload: encodeUser(userOf(this.node)), bitfield: 0 };
    this.originate(data);
  }

  // ---------------------------------------------------------------- NodeDB, logs, timers

  private learnUser(num: number, payload: Uint8Array): void {
    try {
      const user = decodeUser(payload);
      this.heardUsers.set(num, {
        num,
        longName: user.longName,
        shortName: user.shortName,
        role: user.role,
        hwModel: user.hwModel,
      });
    } catch (error) {
      this.log?.debug({ err: error, from: num }, "undecodable NODEINFO payload");
    }
  }

  /** Other nodes in the NodeDB: the mesh's known nodes, then ones only heard over the air. */
  private nodeList(): SimNode[] {
    const list: SimNode[] = [];
    const seen = new Set<number>([this.node.num]);
    for (const node of this.options.knownNodes?.() ?? []) {
      if (seen.has(node.num)) continue;
      seen.add(node.num);
      list.push(node);
    }
    for (const node of this.heardUsers.values()) {
      if (seen.has(node.num)) continue;
      seen.add(node.num);
      list.push(node);
    }
    return list;
  }

  private consoleLog(level: ConsoleLevel, thread: string, message: string): void {
    const session = this.session;
    if (!session?.consoleLogs || session.stream.destroyed || !session.stream.writable) return;
    const nowMs = this.now();
    const uptime = Math.max(0, Math.floor((nowMs - this.bootAtMs) / 1000));
    session.stream.write(Buffer.from(formatConsoleLine(level, thread, message, nowMs, uptime), "utf8"));
  }

  private later(ms: number, callback: () => void): SimTimer {
    const timer = this.clock.setTimer(ms, () => {
      this.timers.delete(timer);
      callback();
    });
    this.timers.add(timer);
    return timer;
  }

  private cancel(timer: SimTimer): void {
    this.clock.clearTimer(timer);
    this.timers.delete(timer);
  }
}
