// RadioLink against a scripted fake radio that speaks real framed protobufs over an in-process pipe.
import type { Duplex } from "node:stream";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BROADCAST_NUM,
  createStreamTransport,
  encodeFrame,
  encodeFromRadio,
  encodePosition,
  encodeTelemetry,
  encodeUser,
  FrameDecoder,
  PortNum,
  RadioError,
  RadioLink,
  decodeToRadio,
  type FromRadioInit,
  type RadioEvent,
  type ToRadio,
} from "../../src/radio/index.ts";
import { capturingLogger, duplexPair } from "./helpers.ts";

const MY_NODE = 0x0a0b0c0d;
const MEDIC = 0x11223344;

/** A radio that answers want_config like firmware 2.7 (abridged) and records what the host sent. */
class FakeRadio {
  readonly received: ToRadio[] = [];
  answerConfig = true;
  private readonly decoder = new FrameDecoder();

  readonly end: Duplex;

  constructor(end: Duplex) {
    this.end = end;
    end.on("data", (chunk: Buffer) => {
      for (const event of this.decoder.push(chunk)) {
        if (event.type === "frame") this.onToRadio(decodeToRadio(event.payload));
      }
    });
  }

  cases(): string[] {
    return this.received.map((message) => message.payloadVariant.case ?? "none");
  }

  wantConfigIds(): number[] {
    return this.received.flatMap((m) => (m.payloadVariant.case === "wantConfigId" ? [m.payloadVariant.value] : []));
  }

  send(variant: FromRadioInit): void {
    this.end.write(encodeFrame(encodeFromRadio(variant)));
  }

  sendRaw(payload: Uint8Array): void {
    this.end.write(encodeFrame(payload));
  }

  sendText(line: string): void {
    this.end.write(Buffer.from(`${line}\r\n`));
  }

  sendPacket(from: number, portnum: number, payload: Uint8Array, id: number, data: Record<string, unknown> = {}): void {
    this.send({
      case: "packet",
      value: {
        from,
        to: BROADCAST_NUM,
        id,
        channel: 0,
        rxTime: 1_750_000_000,
        rxSnr: 6.5,
        rxRssi: -91,
        hopLimit: 2,
        hopStart: 3,
        payloadVariant: { case: "decoded", value: { portnum, payload, ...data } },
      },
    });
  }

  private onToRadio(message: ToRadio): void {
    this.received.push(message);
    const variant = message.payloadVariant;
    if (variant.case !== "wantConfigId" || !this.answerConfig) return;
    this.send({ case: "myInfo", value: { myNodeNum: MY_NODE, rebootCount: 3, minAppVersion: 30200 } });
    this.send({ case: "metadata", value: { firmwareVersion: "2.7.26.54e0d8d", hwModel: 43 } });
    this.send({ case: "channel", value: { index: 0 } });
    this.send({
      case: "nodeInfo",
      value: { num: MY_NODE, user: { id: "!0a0b0c0d", longName: "Base North", shortName: "BASN", hwModel: 43, role: 12 }, lastHeard: 1_750_000_000 },
    });
    this.send({ case: "nodeInfo", value: { num: 0x99, lastHeard: 0 } }); // no user: not a roster entry
    this.send({ case: "configCompleteId", value: variant.value });
  }
}

interface Rig {
  link: RadioLink;
  radio: FakeRadio;
  events: RadioEvent[];
  statuses: () => string[];
  warnings: () => Array<{ msg: string; [key: string]: unknown }>;
}

function rig(options: { heartbeatIntervalMs?: number; handshakeTimeoutMs?: number; nonces?: number[] } = {}): Rig {
  const [host, device] = duplexPair();
  const { logger, warnings } = capturingLogger();
  const nonces = [...(options.nonces ?? [12345, 67890, 13579])];
  const link = new RadioLink({
    transport: createStreamTransport(host),
    logger,
    nonce: () => nonces.shift() ?? 424242,
    ...(options.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
    ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
  });
  const events: RadioEvent[] = [];
  link.subscribe((event) => events.push(event));
  return {
    link,
    radio: new FakeRadio(device),
    events,
    statuses: () => events.flatMap((e) => (e.type === "status" ? [`${e.status}/${e.reason}`] : [])),
    warnings,
  };
}

const pollOptions = { timeout: 5_000, interval: 2 };

/** Lets queued I/O (nextTicks, microtasks, stream callbacks) run, without moving the fake clock. */
async function settle(): Promise<void> {
  for (let round = 0; round < 10; round++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("RadioLink", () => {
  let current: Rig | undefined;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  });

  afterEach(async () => {
    await current?.link.close();
    current = undefined;
    vi.useRealTimers();
  });

  it("runs the configure handshake: connecting -> configuring -> connected", async () => {
    const r = (current = rig());
    expect(r.link.status).toBe("connecting");
    await r.link.start();
    expect(r.statuses()).toEqual(["connecting/starting", "configuring/starting", "connected/handshake-complete"]);
    expect(r.link.status).toBe("connected");
    expect(r.link.reason).toBe("handshake-complete");
    expect(r.radio.wantConfigIds()).toEqual([12345]);
    expect(r.link.myNodeNum).toBe(MY_NODE);
    expect(r.events.filter((e) => e.type !== "status")).toEqual([
      { type: "my-node", num: MY_NODE },
      {
        type: "node",
        node: { num: MY_NODE, userId: "!0a0b0c0d", longName: "Base North", shortName: "BASN", role: 12, hwModel: 43, lastHeardMs: 1_750_000_000_000 },
      },
    ]);
  });

  it("ignores a config_complete_id that is not its nonce", async () => {
    const r = (current = rig());
    r.radio.answerConfig = false;
    const started = r.link.start();
    await expect.poll(() => r.radio.wantConfigIds(), pollOptions).toEqual([12345]);
    r.radio.send({ case: "configCompleteId", value: 12346 });
    r.radio.sendText("INFO  | marker");
    await expect.poll(() => r.events.some((e) => e.type === "log"), pollOptions).toBe(true);
    expect(r.link.status).toBe("configuring");
    r.radio.send({ case: "configCompleteId", value: 12345 });
    await started;
    expect(r.link.status).toBe("connected");
  });

  it("turns packets, node infos and log output into events; garbage is logged and skipped", async () => {
    const r = (current = rig());
    await r.link.start();
    r.events.length = 0;
    r.radio.sendPacket(MEDIC, PortNum.TEXT_MESSAGE_APP, Buffer.from("NEED WATER"), 0xdead01);
    r.radio.sendRaw(Uint8Array.of(0x0f, 0xff, 0xff)); // not a FromRadio (wire type 7)
    r.radio.sendPacket(MEDIC, PortNum.NODEINFO_APP, encodeUser({ id: "!11223344", longName: "Medic 4", shortName: "MD4", hwModel: 7, role: 0 }), 0xdead02);
    r.radio.sendPacket(MEDIC, PortNum.NODEINFO_APP, Uint8Array.of(0x0a, 0x05, 0x41), 0xdead03); // truncated User
    r.radio.sendText("\x1b[32mINFO \x1b[0m| 12:00:00 65 [Router] heard something");
    r.radio.send({ case: "logRecord", value: { message: "as a record", source: "Router", level: 20 } });
    r.radio.sendPacket(MEDIC, PortNum.PRIVATE_APP, Uint8Array.of(1, 2, 3), 0xdead04);
    await expect.poll(() => r.events.length, pollOptions).toBe(5);
    expect(r.events).toEqual([
      {
        type: "packet",
        packet: {
          from: MEDIC,
          to: BROADCAST_NUM,
          id: 0xdead01,
          channel: 0,
          portnum: PortNum.TEXT_MESSAGE_APP,
          payload: new Uint8Array(Buffer.from("NEED WATER")),
          rxTimeMs: 1_750_000_000_000,
          rxSnr: 6.5,
          rxRssi: -91,
          hopLimit: 2,
          hopStart: 3,
        },
      },
      {
        type: "node",
        node: { num: MEDIC, userId: "!11223344", longName: "Medic 4", shortName: "MD4", role: 0, hwModel: 7, lastHeardMs: 1_750_000_000_000 },
        heard: { rxTimeMs: 1_750_000_000_000, rxSnr: 6.5, rxRssi: -91, hopsAway: 1 },
      },
      { type: "log", line: "INFO | 12:00:00 65 [Router] heard something" },
      { type: "log", line: "[Router] as a record" },
      r.events[4],
    ]);
    expect(r.events[4]).toMatchObject({ type: "packet", packet: { id: 0xdead04, portnum: PortNum.PRIVATE_APP, payload: Uint8Array.of(1, 2, 3) } });
    const warned = r.warnings();
    expect(warned.map((w) => w.msg)).toEqual(["undecodable FromRadio payload skipped", "undecodable NODEINFO payload skipped"]);
    expect(warned[0]).toMatchObject({ bytes: 3 });
    expect(warned[1]).toMatchObject({ bytes: 3, from: MEDIC });
    expect(r.link.status).toBe("connected");
  });

  it("reads POSITION and TELEMETRY into events for the roster, and passes QueueStatus on", async () => {
    const r = (current = rig());
    await r.link.start();
    r.events.length = 0;
    r.radio.sendPacket(MEDIC, PortNum.POSITION_APP, encodePosition({ latitudeI: 525_200_000, longitudeI: 134_050_000, altitude: 34, time: 1_750_000_010, precisionBits: 13 }), 0x61);
    r.radio.sendPacket(MEDIC, PortNum.POSITION_APP, encodePosition({ time: 1_750_000_010 }), 0x62); // no fix: no position event
    r.radio.sendPacket(MEDIC, PortNum.TELEMETRY_APP, encodeTelemetry({ time: 1, variant: { case: "deviceMetrics", value: { batteryLevel: 71, voltage: 3.9, channelUtilization: 12.5, airUtilTx: 1.5, uptimeSeconds: 3600 } } }), 0x63);
    r.radio.sendPacket(MEDIC, PortNum.TELEMETRY_APP, Uint8Array.of(0x12, 0x05, 0x08), 0x64); // truncated: logged, no telemetry event
    r.radio.send({ case: "queueStatus", value: { res: 0, free: 15, maxlen: 16, meshPacketId: 0x0a0b0c0d } });
    await expect.poll(() => r.events.length, pollOptions).toBe(7);
    const heard = { rxTimeMs: 1_750_000_000_000, rxSnr: 6.5, rxRssi: -91, hopsAway: 1 };
    expect(r.events.filter((e) => e.type !== "packet")).toEqual([
      { type: "position", from: MEDIC, position: { latitude: 52.52, longitude: 13.405, altitude: 34, timeMs: 1_750_000_010_000, precisionBits: 13 }, heard },
      { type: "telemetry", from: MEDIC, telemetry: { batteryLevel: 71, voltage: expect.closeTo(3.9, 5) as number, channelUtilization: 12.5, airUtilTx: 1.5, uptimeSeconds: 3600 }, heard },
      { type: "queue-status", res: 0, free: 15, maxlen: 16, packetId: 0x0a0b0c0d },
    ]);
    expect(r.events.filter((e) => e.type === "packet")).toHaveLength(4); // the packets themselves still go up
    expect(r.warnings().map((w) => w.msg)).toEqual(["undecodable TELEMETRY payload skipped"]);
  });

  it("closes with idle-timeout when the radio falls silent after answering heartbeats, not before", async () => {
    const r = (current = rig({ heartbeatIntervalMs: 60_000 }));
    await r.link.start();
    await vi.advanceTimersByTimeAsync(600_000); // this radio never answers heartbeats: nothing happens
    await settle();
    expect(r.link.status).toBe("connected");
    r.radio.send({ case: "queueStatus", value: { res: 0, free: 16, maxlen: 16, meshPacketId: 0 } }); // a heartbeat reply
    await settle();
    await vi.advanceTimersByTimeAsync(240_000);
    await settle();
    expect(r.link.status).toBe("connected");
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(r.statuses().at(-1)).toBe("closed/idle-timeout");
  });

  it("survives any FromRadio the radio may send: no throw, still connected, garbage only logged", async () => {
    const r = (current = rig());
    await r.link.start();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (payload) => {
        r.radio.sendRaw(payload);
      }),
      { numRuns: 300 },
    );
    r.radio.send({ case: "clientNotification", value: { message: "Duty cycle limit exceeded. You can send again in 12 mins.", level: 40 } });
    await expect.poll(() => r.events.some((e) => e.type === "log" && e.line.startsWith("[notification] Duty cycle")), pollOptions).toBe(true);
    // (random bytes may spell `rebooted`: the link then re-handshakes, and must end up connected)
    await expect.poll(() => r.link.status, pollOptions).toBe("connected");
  });

  it("remembers the radio's configured hop limit (config.lora.hop_limit)", async () => {
    const r = (current = rig());
    await r.link.start();
    expect(r.link.hopLimit).toBeUndefined();
    r.radio.send({ case: "config", value: { payloadVariant: { case: "device", value: { role: 12 } } } });
    r.radio.send({ case: "config", value: { payloadVariant: { case: "lora", value: { hopLimit: 5, region: 3 } } } });
    await expect.poll(() => r.link.hopLimit, pollOptions).toBe(5);
  });

  it("passes an ACK's request id through (ROUTING_APP, reference 3.4)", async () => {
    const r = (current = rig());
    await r.link.start();
    r.events.length = 0;
    r.radio.sendPacket(MEDIC, PortNum.ROUTING_APP, Uint8Array.of(0x18, 0x00), 0x51, { requestId: 0xdead01 });
    r.radio.sendPacket(MEDIC, PortNum.TEXT_MESSAGE_APP, Buffer.from("ok"), 0x52, { replyId: 0xdead01 });
    await expect.poll(() => r.events.length, pollOptions).toBe(2);
    expect(r.events[0]).toMatchObject({ type: "packet", packet: { portnum: PortNum.ROUTING_APP, id: 0x51, requestId: 0xdead01, payload: Uint8Array.of(0x18, 0x00) } });
    expect(r.events[0]?.type === "packet" && "replyId" in r.events[0].packet).toBe(false);
    expect(r.events[1]).toMatchObject({ type: "packet", packet: { id: 0x52, replyId: 0xdead01 } });
    expect(r.events[1]?.type === "packet" && "requestId" in r.events[1].packet).toBe(false);
  });

  it("passes want_response, the bitfield (OK_TO_MQTT) and via_mqtt through, for the Meshtastic-format uplink", async () => {
    const r = (current = rig());
    await r.link.start();
    r.events.length = 0;
    r.radio.sendPacket(MEDIC, PortNum.TEXT_MESSAGE_APP, Buffer.from("ok"), 0x61, { bitfield: 1, wantResponse: true });
    r.radio.sendPacket(MEDIC, PortNum.TEXT_MESSAGE_APP, Buffer.from("old"), 0x62);
    r.radio.send({ case: "packet", value: { from: MEDIC, to: BROADCAST_NUM, id: 0x63, channel: 0, hopLimit: 2, hopStart: 3, viaMqtt: true, payloadVariant: { case: "decoded", value: { portnum: PortNum.TEXT_MESSAGE_APP, payload: Buffer.from("mqtt"), bitfield: 0 } } } });
    await expect.poll(() => r.events.length, pollOptions).toBe(3);
    expect(r.events[0]).toMatchObject({ type: "packet", packet: { id: 0x61, bitfield: 1, wantResponse: true } });
    expect(r.events[0]?.type === "packet" && "viaMqtt" in r.events[0].packet).toBe(false);
    const plain = r.events[1];
    expect(plain?.type === "packet" && ["bitfield", "wantResponse", "viaMqtt"].some((field) => field in plain.packet)).toBe(false);
    expect(r.events[2]).toMatchObject({ type: "packet", packet: { id: 0x63, bitfield: 0, viaMqtt: true } });
  });

  it("re-runs the handshake with a fresh nonce when the radio reboots", async () => {
    const r = (current = rig());
    await r.link.start();
    r.radio.send({ case: "rebooted", value: true });
    await expect.poll(() => r.statuses().length, pollOptions).toBe(6);
    expect(r.statuses().slice(3)).toEqual(["reconnecting/device-rebooted", "configuring/device-rebooted", "connected/handshake-complete"]);
    expect(r.radio.wantConfigIds()).toEqual([12345, 67890]);
  });

  it("sends a heartbeat every interval while connected, and stops on close", async () => {
    const r = (current = rig({ heartbeatIntervalMs: 60_000 }));
    await r.link.start();
    const heartbeats = (): number => r.radio.cases().filter((c) => c === "heartbeat").length;
    await vi.advanceTimersByTimeAsync(59_999);
    await settle();
    expect(heartbeats()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(heartbeats()).toBe(1);
    await vi.advanceTimersByTimeAsync(120_000);
    await settle();
    expect(heartbeats()).toBe(3);
    await r.link.close();
    await vi.advanceTimersByTimeAsync(600_000);
    await settle();
    expect(r.radio.cases()).toEqual(["wantConfigId", "heartbeat", "heartbeat", "heartbeat", "disconnect"]);
  });

  it("defaults to a heartbeat every minute", async () => {
    const r = (current = rig());
    await r.link.start();
    await vi.advanceTimersByTimeAsync(59_999);
    await settle();
    expect(r.radio.cases()).toEqual(["wantConfigId"]);
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(r.radio.cases()).toEqual(["wantConfigId", "heartbeat"]);
  });

  it("keeps one heartbeat schedule across a reboot, none while re-configuring", async () => {
    const r = (current = rig({ heartbeatIntervalMs: 60_000 }));
    await r.link.start();
    r.radio.answerConfig = false;
    r.radio.send({ case: "rebooted", value: true });
    await settle();
    expect(r.link.status).toBe("configuring");
    await vi.advanceTimersByTimeAsync(20_000);
    await settle();
    expect(r.radio.cases()).toEqual(["wantConfigId", "wantConfigId"]);
    r.radio.send({ case: "configCompleteId", value: 67890 });
    await settle();
    expect(r.link.status).toBe("connected");
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(r.radio.cases()).toEqual(["wantConfigId", "wantConfigId", "heartbeat"]);
  });

  it("rejects start() with RADIO_HANDSHAKE_TIMEOUT when the radio never answers", async () => {
    const r = (current = rig());
    r.radio.answerConfig = false;
    const started = r.link.start().catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(r.link.status).toBe("configuring");
    await vi.advanceTimersByTimeAsync(1);
    const error = await started;
    expect(error).toBeInstanceOf(RadioError);
    expect(error).toMatchObject({ code: "RADIO_HANDSHAKE_TIMEOUT" });
    expect(r.statuses()).toEqual(["connecting/starting", "configuring/starting", "closed/handshake-timeout"]);
  });

  it("rejects start() with RADIO_STREAM_ENDED when the stream ends during the handshake", async () => {
    const r = (current = rig());
    r.radio.answerConfig = false;
    const started = r.link.start().catch((error: unknown) => error);
    await expect.poll(() => r.radio.wantConfigIds(), pollOptions).toEqual([12345]);
    r.radio.end.end();
    expect(await started).toMatchObject({ code: "RADIO_STREAM_ENDED" });
    expect(r.link.status).toBe("closed");
    expect(r.link.reason).toBe("stream-ended");
  });

  it("goes to closed/stream-ended when the radio goes away after the handshake", async () => {
    const r = (current = rig());
    await r.link.start();
    r.radio.end.destroy();
    await expect.poll(() => r.link.status, pollOptions).toBe("closed");
    expect(r.statuses().at(-1)).toBe("closed/stream-ended");
    await vi.advanceTimersByTimeAsync(600_000);
    expect(r.radio.cases()).toEqual(["wantConfigId"]); // no heartbeats into a dead stream
  });

  it("close() is idempotent: one disconnect, one closed/user", async () => {
    const r = (current = rig());
    await r.link.start();
    await Promise.all([r.link.close(), r.link.close()]);
    await r.link.close();
    expect(r.statuses().filter((s) => s.startsWith("closed"))).toEqual(["closed/user"]);
    await expect.poll(() => r.radio.cases(), pollOptions).toEqual(["wantConfigId", "disconnect"]);
    await expect(r.link.start()).resolves.toBeUndefined(); // start() was already done
  });

  it("close() during the handshake rejects start() with RADIO_CLOSED", async () => {
    const r = (current = rig());
    r.radio.answerConfig = false;
    const started = r.link.start().catch((error: unknown) => error);
    await r.link.close();
    expect(await started).toMatchObject({ code: "RADIO_CLOSED" });
    expect(r.statuses().at(-1)).toBe("closed/user");
    const fresh = rig();
    await fresh.link.close();
    await expect(fresh.link.start()).rejects.toMatchObject({ code: "RADIO_CLOSED" });
  });

  it("stops delivering to an unsubscribed listener, and survives a throwing one", async () => {
    const r = (current = rig());
    const seen: RadioEvent[] = [];
    const unsubscribe = r.link.subscribe((event) => seen.push(event));
    r.link.subscribe(() => {
      throw new Error("listener bug");
    });
    await r.link.start();
    expect(seen.length).toBeGreaterThan(0);
    const count = seen.length;
    unsubscribe();
    r.radio.sendText("later");
    await expect.poll(() => r.events.at(-1), pollOptions).toEqual({ type: "log", line: "later" });
    expect(seen).toHaveLength(count);
  });

  it("never asks with the special nonces 69420/69421", async () => {
    const r = (current = rig({ nonces: [69420, 69421, 0, 5] }));
    await r.link.start();
    expect(r.radio.wantConfigIds()).toEqual([5]);
    const stuck = rig({ nonces: Array.from({ length: 20 }, () => 69420) });
    expect(() => stuck.link.start()).toThrow(RangeError);
    expect(stuck.link.status).toBe("connecting");
    await stuck.link.close();
  });

  it("draws random nonces by default", async () => {
    const [host, device] = duplexPair();
    const radio = new FakeRadio(device);
    const link = new RadioLink({ transport: createStreamTransport(host), logger: capturingLogger().logger });
    await link.start();
    const [nonce] = radio.wantConfigIds();
    expect(nonce).toBeGreaterThan(0);
    expect([69420, 69421]).not.toContain(nonce);
    await link.close();
  });
});
