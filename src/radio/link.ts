// The radio link: one Transport to one radio, the configure handshake, heartbeats, and the
// radio's output turned into RadioEvents. Nothing above this file sees protobufs.
// Reference: ../shared/reference/meshtastic-protocol.md section 2.
//
// The state machine (every transition carries a reason):
//
//   connecting --(want_config_id sent)--> configuring --(config_complete_id == nonce)--> connected
//   configuring|connected --(FromRadio.rebooted)--> reconnecting --(new want_config_id)--> configuring
//   connected --(no frame for idleTimeoutMs although the radio answers heartbeats)--> closed (idle-timeout)
//   any --(stream ended / read or write error / handshake timeout / close())--> closed
//
// `closed` is final: RadioConnection (connection.ts) reconnects by opening a new Transport and
// starting a new RadioLink on it.
import { randomInt } from "node:crypto";
import type { Logger } from "pino";
import { RadioError } from "./errors.ts";
import { decodeFromRadio, decodePosition, decodeTelemetry, decodeUser, encodeToRadio, PortNum } from "./protocol.ts";
import type { DeviceMetrics, FromRadio, MeshPacket, NodeInfo, Position, ProtoInit, ToRadioInit, User } from "./protocol.ts";
import { DEVICE_DISCONNECTED } from "./transport.ts";
import type { DeviceOutput, Transport } from "./transport.ts";
import type {
  DeviceTelemetry,
  HeardVia,
  LinkReason,
  LinkStatus,
  NodePosition,
  RadioEvent,
  RadioListener,
  RadioNode,
  RadioSource,
  ReceivedPacket,
} from "./types.ts";

/** want_config_id values with a special meaning to firmware 2.6.8+ (PhoneAPI.h). */
export const SPECIAL_NONCE_ONLY_CONFIG = 69420;
export const SPECIAL_NONCE_ONLY_NODES = 69421;

export interface RadioLinkOptions {
  transport: Transport;
  logger: Logger;
  /** A heartbeat keeps the firmware's 15-minute serial (and TCP idle) timeout away (default 60 s). */
  heartbeatIntervalMs?: number;
  /**
   * Once the radio has answered a heartbeat (firmware 2.7.4+ replies with a QueueStatus), a link
   * with no frame at all for this long has stalled and is closed with reason idle-timeout
   * (default 5 min). Radios that never answer heartbeats are not held to it.
   */
  idleTimeoutMs?: number;
  /** How long the radio gets to finish the configure handshake. */
  handshakeTimeoutMs?: number;
  /** Source of want_config_id nonces (tests pin it). Must give a uint32 other than 0, 69420, 69421. */
  nonce?: () => number;
}

/** How long close() waits for the disconnect message to be written before dropping the stream. */
const DISCONNECT_WRITE_TIMEOUT_MS = 1_000;

const randomNonce = (): number => randomInt(1, 0xffff_ffff);

export class RadioLink implements RadioSource {
  private readonly transport: Transport;
  private readonly logger: Logger;
  private readonly heartbeatIntervalMs: number;
  private readonly idleTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  /** When the last frame arrived (Date.now()), for the idle watchdog. */
  private lastFrameAt = 0;
  private heartbeatsAnswered = false;
  private readonly drawNonceFrom: () => number;
  private readonly listeners = new Set<RadioListener>();

  private currentStatus: LinkStatus = "connecting";
  private currentReason: LinkReason = "starting";
  private nodeNum: number | undefined;
  private configuredHopLimit: number | undefined;
  /** The nonce of the handshake in progress (or the last one completed). */
  private nonce: number | undefined;
  private writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  private reader: ReadableStreamDefaultReader<DeviceOutput> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private started: Promise<void> | undefined;
  private pendingStart: { resolve: () => void; reject: (error: RadioError) => void } | undefined;
  private closing: Promise<void> | undefined;
  private released: Promise<void> | undefined;

  constructor(options: RadioLinkOptions) {
    this.transport = options.transport;
    this.logger = options.logger;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 60_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 30_000;
    this.drawNonceFrom = options.nonce ?? randomNonce;
  }

  get status(): LinkStatus {
    return this.currentStatus;
  }

  /** Why the link is in its current status. */
  get reason(): LinkReason {
    return this.currentReason;
  }

  /** config.lora.hop_limit as the radio reported it in the handshake (what its own packets use). */
  get hopLimit(): number | undefined {
    return this.configuredHopLimit;
  }

  /** The radio's own node number, once its MyNodeInfo has arrived. */
  get myNodeNum(): number | undefined {
    return this.nodeNum;
  }

  subscribe(listener: RadioListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Reads the radio and runs the configure handshake. Resolves when the radio has sent its
   * config_complete_id; rejects with a RadioError (RADIO_HANDSHAKE_TIMEOUT, RADIO_STREAM_ENDED,
   * RADIO_WRITE_FAILED, RADIO_CLOSED) otherwise, and the link is then closed. Idempotent.
   */
  start(): Promise<void> {
    if (this.started) return this.started;
    if (this.currentStatus === "closed") {
      this.started = Promise.reject(new RadioError("RADIO_CLOSED", "The radio link was closed before it started."));
      return this.started;
    }
    const nonce = this.drawNonce(); // before any side effect: a bad nonce source throws here
    this.started = new Promise<void>((resolve, reject) => {
      this.pendingStart = { resolve, reject };
    });
    this.transition("connecting", "starting");
    this.writer = this.transport.toDevice.getWriter();
    const reader = this.transport.fromDevice.getReader();
    this.reader = reader;
    void this.readLoop(reader);
    this.requestConfig(nonce, "starting");
    return this.started;
  }

  /**
   * Writes one ToRadio.packet (a MeshPacket init: to, channel, id, want_ack, decoded ...).
   * Resolves once the bytes are handed to the stream; rejects with RADIO_NOT_CONNECTED unless the
   * handshake is complete, or RADIO_WRITE_FAILED.
   */
  async sendPacket(packet: ProtoInit): Promise<void> {
    const writer = this.writer;
    if (this.currentStatus !== "connected" || !writer) {
      throw new RadioError("RADIO_NOT_CONNECTED", `The radio link is ${this.currentStatus}; the packet stays queued until it reconnects.`);
    }
    try {
      await writer.write(encodeToRadio({ case: "packet", value: packet }));
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const failure = new RadioError("RADIO_WRITE_FAILED", `Writing to the radio failed: ${text}.`, { cause: error });
      this.fail("write-error", failure);
      throw failure;
    }
  }

  /** Says goodbye to the radio (ToRadio.disconnect), stops the timers and drops the stream. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // --- the state machine ----------------------------------------------------------------------

  private transition(status: LinkStatus, reason: LinkReason): void {
    const from = this.currentStatus;
    this.currentStatus = status;
    this.currentReason = reason;
    if (status !== "connected") this.stopHeartbeat();
    this.logger.info({ from, status, reason }, "radio link status");
    this.emit({ type: "status", status, reason });
  }

  /** Sends want_config_id and waits (bounded) for the matching config_complete_id. */
  private requestConfig(nonce: number, reason: LinkReason): void {
    this.nonce = nonce;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = setTimeout(() => {
      this.fail(
        "handshake-timeout",
        new RadioError(
          "RADIO_HANDSHAKE_TIMEOUT",
          `The radio did not finish the configure handshake within ${this.handshakeTimeoutMs / 1000} s. Check that it runs Meshtastic firmware with serial API enabled, then reconnect it.`,
        ),
      );
    }, this.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.send({ case: "wantConfigId", value: nonce });
    this.transition("configuring", reason);
  }

  private handshakeComplete(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.transition("connected", "handshake-complete");
    this.lastFrameAt = Date.now();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    this.pendingStart?.resolve();
    this.pendingStart = undefined;
  }

  private heartbeat(): void {
    const silentMs = Date.now() - this.lastFrameAt;
    if (this.heartbeatsAnswered && silentMs >= this.idleTimeoutMs) {
      this.fail(
        "idle-timeout",
        new RadioError(
          "RADIO_IDLE_TIMEOUT",
          `The radio sent nothing for ${Math.round(silentMs / 1000)} s although it answers heartbeats. Reconnecting; if it repeats, power-cycle the radio.`,
        ),
      );
      return;
    }
    this.send({ case: "heartbeat", value: {} });
  }

  /** The link is over for a reason other than close(): stream end, an I/O error, a timeout. */
  private fail(reason: LinkReason, error: RadioError): void {
    if (this.currentStatus === "closed") return;
    this.stopTimers();
    this.transition("closed", reason);
    if (this.pendingStart) {
      this.pendingStart.reject(error);
      this.pendingStart = undefined;
    } else {
      this.logger.warn({ reason, err: error }, "radio link closed");
    }
    void this.release();
  }

  private async shutdown(): Promise<void> {
    const wasOpen = this.currentStatus !== "closed";
    this.stopTimers();
    if (wasOpen) {
      this.transition("closed", "user");
      this.pendingStart?.reject(new RadioError("RADIO_CLOSED", "The radio link was closed before the handshake completed."));
      this.pendingStart = undefined;
      if (this.writer) await this.sayGoodbye(this.writer);
    }
    await this.release();
  }

  private async sayGoodbye(writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        writer.write(encodeToRadio({ case: "disconnect", value: true })),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, DISCONNECT_WRITE_TIMEOUT_MS);
          timer.unref();
        }),
      ]);
    } catch (error) {
      this.logger.debug({ err: error }, "could not send disconnect to the radio");
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets go of the transport (once): the stream is dropped and the reader released. */
  private release(): Promise<void> {
    this.released ??= (async () => {
      try {
        await this.transport.disconnect();
      } catch (error) {
        this.logger.debug({ err: error }, "transport disconnect failed");
      }
      await this.reader?.cancel().catch(() => undefined);
    })();
    return this.released;
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private stopTimers(): void {
    this.stopHeartbeat();
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  // --- reading ------------------------------------------------------------------------------

  private async readLoop(reader: ReadableStreamDefaultReader<DeviceOutput>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.currentStatus === "closed") break;
        this.handleOutput(value);
      }
      this.fail("stream-ended", streamEnded("the stream ended"));
    } catch (error) {
      this.fail("read-error", streamEnded(error instanceof Error ? error.message : String(error), error));
    }
  }

  private handleOutput(output: DeviceOutput): void {
    switch (output.type) {
      case "packet":
        this.handleFrame(output.data);
        return;
      case "debug":
        this.emit({ type: "log", line: output.data });
        return;
      case "status": {
        if (output.data.status !== DEVICE_DISCONNECTED) return;
        const why = output.data.reason ?? "stream-ended";
        this.fail(why.startsWith("read-error") ? "read-error" : "stream-ended", streamEnded(why));
        return;
      }
    }
  }

  private handleFrame(bytes: Uint8Array): void {
    this.lastFrameAt = Date.now();
    let message: FromRadio;
    try {
      message = decodeFromRadio(bytes);
    } catch (error) {
      this.logger.warn({ bytes: bytes.length, err: error }, "undecodable FromRadio payload skipped");
      return;
    }
    const variant = message.payloadVariant;
    switch (variant.case) {
      case "myInfo":
        this.nodeNum = variant.value.myNodeNum;
        this.emit({ type: "my-node", num: variant.value.myNodeNum });
        return;
      case "nodeInfo":
        this.onNodeInfo(variant.value);
        return;
      case "configCompleteId":
        if (this.currentStatus === "configuring" && variant.value === this.nonce) this.handshakeComplete();
        else this.logger.debug({ id: variant.value, nonce: this.nonce }, "config_complete_id of another handshake ignored");
        return;
      case "rebooted":
        // The radio forgot our handshake (and any API session): ask for its config again.
        this.transition("reconnecting", "device-rebooted");
        this.requestConfig(this.drawNonce(), "device-rebooted");
        return;
      case "packet":
        this.onPacket(variant.value);
        return;
      case "config": {
        const config = variant.value as { payloadVariant?: { case?: string; value?: { hopLimit?: unknown } } };
        const hopLimit = config.payloadVariant?.case === "lora" ? config.payloadVariant.value?.hopLimit : undefined;
        if (typeof hopLimit === "number" && hopLimit >= 1 && hopLimit <= 7) this.configuredHopLimit = hopLimit;
        return;
      }
      case "queueStatus": {
        const { res, free, maxlen, meshPacketId } = variant.value;
        if (meshPacketId === 0) this.heartbeatsAnswered = true;
        this.emit({ type: "queue-status", res, free, maxlen, packetId: meshPacketId });
        return;
      }
      case "clientNotification": {
        // What the firmware tells a user (duty cycle reached, rate limited ...): worth a log line.
        const note = variant.value as { message?: unknown; replyId?: unknown };
        const text = typeof note.message === "string" ? note.message : "";
        this.logger.warn({ replyId: note.replyId, notification: text }, "radio notification");
        this.emit({ type: "log", line: `[notification] ${text}` });
        return;
      }
      case "logRecord": {
        const { source, message: text } = variant.value;
        this.emit({ type: "log", line: source ? `[${source}] ${text}` : text });
        return;
      }
      default:
        this.logger.trace({ variant: variant.case }, "FromRadio not used by meshaid");
    }
  }

  private onNodeInfo(info: NodeInfo): void {
    if (!info.user) {
      this.logger.debug({ num: info.num }, "node without user info skipped");
      return;
    }
    const node = radioNode(info.num, info.user);
    if (info.lastHeard > 0) node.lastHeardMs = info.lastHeard * 1000;
    this.emit({ type: "node", node });
  }

  private onPacket(packet: MeshPacket): void {
    if (packet.payloadVariant.case !== "decoded") {
      this.logger.debug({ from: packet.from, id: packet.id }, "packet the radio could not decrypt skipped");
      return;
    }
    const data = packet.payloadVariant.value;
    const rxTimeMs = packet.rxTime > 0 ? packet.rxTime * 1000 : undefined;
    const heard: HeardVia = { rxSnr: packet.rxSnr, rxRssi: packet.rxRssi };
    if (rxTimeMs !== undefined) heard.rxTimeMs = rxTimeMs;
    if (packet.hopStart > 0 && packet.hopStart >= packet.hopLimit) heard.hopsAway = packet.hopStart - packet.hopLimit;
    if (data.portnum === PortNum.POSITION_APP) {
      const position = this.decodeOrWarn(packet, "POSITION", () => nodePosition(decodePosition(data.payload)));
      if (position) this.emit({ type: "position", from: packet.from, position, heard });
    }
    if (data.portnum === PortNum.TELEMETRY_APP) {
      const telemetry = this.decodeOrWarn(packet, "TELEMETRY", () => decodeTelemetry(data.payload));
      if (telemetry?.variant.case === "deviceMetrics") {
        const m = telemetry.variant.value as DeviceMetrics;
        const metrics: DeviceTelemetry = {};
        if (m.batteryLevel !== undefined) metrics.batteryLevel = m.batteryLevel;
        if (m.voltage !== undefined) metrics.voltage = m.voltage;
        if (m.channelUtilization !== undefined) metrics.channelUtilization = m.channelUtilization;
        if (m.airUtilTx !== undefined) metrics.airUtilTx = m.airUtilTx;
        if (m.uptimeSeconds !== undefined) metrics.uptimeSeconds = m.uptimeSeconds;
        this.emit({ type: "telemetry", from: packet.from, telemetry: metrics, heard });
      }
    }
    if (data.portnum === PortNum.NODEINFO_APP) {
      let user: User;
      try {
        user = decodeUser(data.payload);
      } catch (error) {
        this.logger.warn({ from: packet.from, id: packet.id, bytes: data.payload.length, err: error }, "undecodable NODEINFO payload skipped");
        return;
      }
      const node = radioNode(packet.from, user);
      if (rxTimeMs !== undefined) node.lastHeardMs = rxTimeMs;
      this.emit({ type: "node", node, heard });
      return;
    }
    const received: ReceivedPacket = {
      from: packet.from,
      to: packet.to,
      id: packet.id,
      channel: packet.channel,
      portnum: data.portnum,
      payload: data.payload,
      rxTimeMs,
      rxSnr: packet.rxSnr,
      rxRssi: packet.rxRssi,
      hopLimit: packet.hopLimit,
      hopStart: packet.hopStart,
    };
    if (data.requestId) received.requestId = data.requestId;
    if (data.replyId) received.replyId = data.replyId;
    if (data.wantResponse) received.wantResponse = true;
    if (data.bitfield !== undefined) received.bitfield = data.bitfield;
    if (packet.viaMqtt) received.viaMqtt = true;
    this.emit({ type: "packet", packet: received });
  }

  /** Decodes a core payload; a bad one is logged and gives undefined. */
  private decodeOrWarn<T>(packet: MeshPacket, what: string, decode: () => T): T | undefined {
    try {
      return decode();
    } catch (error) {
      const payload = packet.payloadVariant.case === "decoded" ? packet.payloadVariant.value.payload : new Uint8Array(0);
      this.logger.warn({ from: packet.from, id: packet.id, bytes: payload.length, err: error }, `undecodable ${what} payload skipped`);
      return undefined;
    }
  }

  // --- writing and events -------------------------------------------------------------------

  private send(variant: ToRadioInit): void {
    const writer = this.writer;
    if (!writer) return;
    writer.write(encodeToRadio(variant)).catch((error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      this.fail("write-error", new RadioError("RADIO_WRITE_FAILED", `Writing to the radio failed: ${text}.`, { cause: error }));
    });
  }

  private emit(event: RadioEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, event: event.type }, "radio event listener threw");
      }
    }
  }

  private drawNonce(): number {
    for (let attempt = 0; attempt < 8; attempt++) {
      const nonce = this.drawNonceFrom();
      if (Number.isInteger(nonce) && nonce > 0 && nonce <= 0xffff_ffff && nonce !== SPECIAL_NONCE_ONLY_CONFIG && nonce !== SPECIAL_NONCE_ONLY_NODES) {
        return nonce;
      }
    }
    throw new RangeError("the nonce source must give a uint32 other than 0, 69420 and 69421");
  }
}

function radioNode(num: number, user: User): RadioNode {
  return {
    num,
    userId: user.id || `!${num.toString(16).padStart(8, "0")}`,
    longName: user.longName,
    shortName: user.shortName,
    role: user.role,
    hwModel: user.hwModel,
    ...(user.publicKey?.length ? { publicKey: Buffer.from(user.publicKey).toString("hex") } : {}),
  };
}

/** A Position in degrees, or null when it carries no fix (latitude and longitude absent). */
function nodePosition(position: Position): NodePosition | null {
  if (position.latitudeI === undefined || position.longitudeI === undefined) return null;
  const out: NodePosition = {
    latitude: position.latitudeI / 1e7,
    longitude: position.longitudeI / 1e7,
    precisionBits: position.precisionBits,
  };
  if (position.altitude !== undefined) out.altitude = position.altitude;
  if (position.time > 0) out.timeMs = position.time * 1000;
  return out;
}

function streamEnded(why: string, cause?: unknown): RadioError {
  return new RadioError(
    "RADIO_STREAM_ENDED",
    `The connection to the radio ended (${why}). Check the cable or the network, then reconnect.`,
    cause === undefined ? undefined : { cause },
  );
}

