import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BROADCAST_NUM,
  FrameDecoder,
  PortNum,
  decodeUser,
  encodeFrame,
  encodeToRadio,
  type FromRadio,
  type MeshPacket,
  type QueueStatus,
} from "../../src/radio/index.ts";
import {
  FirmwareStreamParser,
  RoutingError,
  SimRadio,
  duplexPair,
  routingErrorOf,
  type SimNode,
  type SimPacket,
  type SimRadioOptions,
} from "../../src/sim/index.ts";
import { attachRawHost, casesOf, fromHex, hex, settle } from "./harness.ts";

const BASE: SimNode = { num: 0x11223344, longName: "Base Station", shortName: "BASE", role: 12, hwModel: 31 };
const OTHERS: SimNode[] = [
  { num: 0x9e3b7a42, longName: "Medic 1", shortName: "M1", role: 0, hwModel: 7 },
  { num: 0xd4a2f06b, longName: "Marshal 1", shortName: "K1", role: 0, hwModel: 50 },
];

// Canonical frames, reference section 10.5.
const WANT_CONFIG_12345678 = fromHex("94 c3 00 06 18 f8 ac d1 91 01");
const WANT_CONFIG_69420 = fromHex("94 c3 00 04 18 ac 9e 04");
const WANT_CONFIG_69421 = fromHex("94 c3 00 04 18 ad 9e 04");
const HEARTBEAT = fromHex("94 c3 00 02 3a 00");
const HELLO_BCAST = fromHex(
  "94 c3 00 1b 0a 19 15 ff ff ff ff 22 09 08 01 12 05 68 65 6c 6c 6f 35 0d 0c 0b 0a 48 03 50 01",
);

let transmitted: SimPacket[];

function makeRadio(extra: Partial<SimRadioOptions> = {}): SimRadio {
  return new SimRadio({
    node: BASE,
    knownNodes: () => OTHERS,
    onTransmit: (packet) => transmitted.push(packet),
    random: mulberryLike(7),
    ...extra,
  });
}

/** A tiny deterministic PRNG for the radio's CSMA waits and ids. */
function mulberryLike(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function packets(received: readonly FromRadio[]): MeshPacket[] {
  return received.flatMap((m) => (m.payloadVariant.case === "packet" ? [m.payloadVariant.value] : []));
}

function queueStatuses(received: readonly FromRadio[]): QueueStatus[] {
  return received.flatMap((m) => (m.payloadVariant.case === "queueStatus" ? [m.payloadVariant.value] : []));
}

function innerCase(message: FromRadio | undefined): string | undefined {
  const value = message?.payloadVariant.value as { payloadVariant?: { case?: string } } | undefined;
  return value?.payloadVariant?.case;
}

function innerValue(message: FromRadio | undefined): Record<string, unknown> {
  const value = message?.payloadVariant.value as { payloadVariant?: { value?: Record<string, unknown> } } | undefined;
  return value?.payloadVariant?.value ?? {};
}

function textPacket(id: number, text: string, extra: Record<string, unknown> = {}): Uint8Array {
  return encodeFrame(
    encodeToRadio({
      case: "packet",
      value: {
        to: BROADCAST_NUM,
        id,
        hopLimit: 3,
        wantAck: true,
        payloadVariant: { case: "decoded", value: { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(text) } },
        ...extra,
      },
    }),
  );
}

function privatePacket(id: number): Uint8Array {
  return encodeFrame(
    encodeToRadio({
      case: "packet",
      value: {
        to: OTHERS[0]!.num,
        id,
        hopLimit: 3,
        payloadVariant: { case: "decoded", value: { portnum: PortNum.PRIVATE_APP, payload: Uint8Array.of(1, 2, 3) } },
      },
    }),
  );
}

function heardText(from: number, id: number, text: string): SimPacket {
  return {
    from,
    to: BROADCAST_NUM,
    id,
    hopLimit: 3,
    hopStart: 3,
    rxSnr: 6.25,
    rxRssi: -80,
    decoded: { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(text), bitfield: 0 },
  };
}

async function handshake(host: ReturnType<typeof attachRawHost>): Promise<void> {
  host.write(WANT_CONFIG_12345678);
  await settle();
  expect(host.received.map((m) => m.payloadVariant)).toContainEqual({ case: "configCompleteId", value: 0x12345678 });
}

beforeEach(() => {
  transmitted = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("SimRadio handshake", () => {
  it("answers want_config_id in the firmware's exact order and counts (reference 2.2)", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    host.write(WANT_CONFIG_12345678);
    await settle();

    const expected = [
      "myInfo",
      "deviceuiConfig",
      "nodeInfo",
      "metadata",
      ...Array<string>(8).fill("channel"),
      ...Array<string>(10).fill("config"),
      ...Array<string>(16).fill("moduleConfig"),
      "nodeInfo",
      "nodeInfo",
      "configCompleteId",
    ];
    expect(casesOf(host.received)).toEqual(expected);

    const [my, , own] = host.received;
    expect(my?.payloadVariant.value).toMatchObject({ myNodeNum: BASE.num, minAppVersion: 30200 });
    expect(own?.payloadVariant.value).toMatchObject({
      num: BASE.num,
      isFavorite: true,
      user: { id: "!11223344", longName: "Base Station", shortName: "BASE", role: 12, hwModel: 31 },
    });
    expect(host.received[3]?.payloadVariant.value).toMatchObject({ hwModel: 31, role: 12, hasPKC: true });

    // Channels: canonical bytes of the default primary and a disabled one.
    expect(hex(host.payloads[4]!)).toBe("520b12071201013a02080d1801");
    for (let i = 1; i < 8; i++) {
      expect(host.received[4 + i]?.payloadVariant.value).toMatchObject({ index: i, role: 0 });
    }
    expect(hex(host.payloads[5]!)).toBe("520408011200");

    // Configs in tag order, with sessionkey and device_ui empty.
    const configCases = host.received.slice(12, 22).map(innerCase);
    expect(configCases).toEqual([
      "device",
      "position",
      "power",
      "network",
      "display",
      "lora",
      "bluetooth",
      "security",
      "sessionkey",
      "deviceUi",
    ]);
    expect(innerValue(host.received[17])).toMatchObject({
      region: 1,
      modemPreset: 0,
      usePreset: true,
      hopLimit: 3,
      txEnabled: true,
    });
    expect(innerValue(host.received[19])).toMatchObject({ serialEnabled: true });
    expect(hex(host.payloads[20]!)).toBe("2a024a00");
    expect(hex(host.payloads[21]!)).toBe("2a025200");

    // 13 module configs, then three empty ones.
    expect(host.received.slice(22, 38).map(innerCase)).toEqual([
      "mqtt",
      "serial",
      "externalNotification",
      "storeForward",
      "rangeTest",
      "telemetry",
      "cannedMessage",
      "audio",
      "remoteHardware",
      "neighborInfo",
      "ambientLighting",
      "detectionSensor",
      "paxcounter",
      undefined,
      undefined,
      undefined,
    ]);
    for (const payload of host.payloads.slice(35, 38)) expect(hex(payload)).toBe("4a00");

    // Other nodes, then config_complete_id (canonical bytes).
    expect(host.received.slice(38, 40).map((m) => (m.payloadVariant.value as { num: number }).num)).toEqual(
      OTHERS.map((n) => n.num),
    );
    expect(host.received[38]?.payloadVariant.value).toMatchObject({ user: { id: "!9e3b7a42", shortName: "M1" } });
    expect(hex(host.bytes().subarray(-10))).toBe("94c3000638f8acd19101");
  });

  it("omits other nodes for nonce 69420 and sends only nodes for 69421", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    host.write(WANT_CONFIG_69420);
    await settle();
    const configOnly = casesOf(host.received);
    expect(configOnly.filter((c) => c === "nodeInfo")).toHaveLength(1); // our own only
    expect(configOnly).toHaveLength(1 + 1 + 1 + 1 + 8 + 10 + 16 + 1);
    expect(host.received.at(-1)?.payloadVariant).toEqual({ case: "configCompleteId", value: 69420 });

    host.received.length = 0;
    host.write(WANT_CONFIG_69421);
    await settle();
    expect(casesOf(host.received)).toEqual(["nodeInfo", "nodeInfo", "nodeInfo", "configCompleteId"]);
    expect((host.received[0]?.payloadVariant.value as { num: number }).num).toBe(BASE.num);
    expect(host.received.at(-1)?.payloadVariant.value).toBe(69421);
  });

  it("lists nodes it only heard announce themselves over the air", async () => {
    const radio = makeRadio({ knownNodes: () => [] });
    const stranger: SimNode = { num: 0xa45dcd50, longName: "Meshtastic cd50", shortName: "cd50", role: 0, hwModel: 3 };
    const { encodeUser } = await import("../../src/radio/index.ts");
    radio.deliver({
      from: stranger.num,
      to: BROADCAST_NUM,
      id: 0x573c5a1c,
      decoded: { portnum: PortNum.NODEINFO_APP, payload: encodeUser({ id: "!a45dcd50", longName: "Meshtastic cd50", shortName: "cd50", hwModel: 3 }) },
    });
    const host = attachRawHost(radio);
    host.write(WANT_CONFIG_12345678);
    await settle();
    const nodeInfos = host.received.filter((m) => m.payloadVariant.case === "nodeInfo");
    expect(nodeInfos.map((m) => (m.payloadVariant.value as { num: number }).num)).toEqual([BASE.num, stranger.num]);
    // The NODEINFO packet itself was held and follows config_complete_id.
    const heard = packets(host.received);
    expect(heard).toHaveLength(1);
    expect(decodeUser((heard[0]!.payloadVariant.value as { payload: Uint8Array }).payload).longName).toBe("Meshtastic cd50");
  });
});

describe("SimRadio queue status and the send path", () => {
  it("answers a heartbeat with queueStatus {res 0, free 16, maxlen 16}, even before the handshake", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    host.write(HEARTBEAT);
    await settle();
    expect(hex(host.bytes())).toBe("94c300065a0410101810");
    expect(queueStatuses(host.received)).toEqual([expect.objectContaining({ res: 0, free: 16, maxlen: 16, meshPacketId: 0 })]);
  });

  it("answers a packet with queueStatus carrying its id, transmits it, and does not echo it", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    const before = host.bytes().length;

    host.write(HELLO_BCAST);
    await settle();
    expect(hex(host.bytes().subarray(before))).toBe("94c3000b5a09100f1810208d98ac50");
    expect(queueStatuses(host.received)).toEqual([
      expect.objectContaining({ res: 0, free: 15, maxlen: 16, meshPacketId: 0x0a0b0c0d }),
    ]);
    expect(transmitted).toHaveLength(0); // still in the TX queue

    await vi.advanceTimersByTimeAsync(2_000);
    expect(transmitted).toHaveLength(1);
    expect(transmitted[0]).toMatchObject({
      from: BASE.num,
      to: BROADCAST_NUM,
      id: 0x0a0b0c0d,
      hopLimit: 3,
      hopStart: 3,
      wantAck: false, // cleared on broadcasts
      relayNode: 0x44,
      priority: 100,
      decoded: { portnum: PortNum.TEXT_MESSAGE_APP, bitfield: 0 },
    });
    expect(new TextDecoder().decode(transmitted[0]!.decoded.payload)).toBe("hello");
    await settle();
    expect(packets(host.received)).toHaveLength(0); // no echo of our own broadcast
  });

  it("silently drops a packet whose id repeats one of the last 20", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;

    host.write(privatePacket(1000));
    host.write(privatePacket(1000));
    await settle();
    expect(queueStatuses(host.received).map((q) => q.meshPacketId)).toEqual([1000]);

    // After 20 other ids, 1000 has left the window and is accepted again.
    const sendPaced = async (id: number): Promise<void> => {
      host.write(privatePacket(id));
      await settle();
      await vi.advanceTimersByTimeAsync(1_000); // let the TX queue drain
    };
    for (let id = 1001; id <= 1019; id++) await sendPaced(id);
    await sendPaced(1000); // 19 others since: still remembered
    expect(queueStatuses(host.received).filter((q) => q.meshPacketId === 1000)).toHaveLength(1);
    await sendPaced(1020);
    await sendPaced(1000); // 20 others since: forgotten
    expect(queueStatuses(host.received).filter((q) => q.meshPacketId === 1000)).toHaveLength(2);
    expect(queueStatuses(host.received).every((q) => q.res === 0)).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transmitted.filter((p) => p.id === 1000)).toHaveLength(2);
  });

  it("rate-limits text to one per 2 s: a queueStatus, a RATE_LIMIT_EXCEEDED NAK, nothing on the air", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;

    host.write(textPacket(501, "one", { from: BASE.num }));
    host.write(textPacket(502, "two", { from: BASE.num }));
    await settle();
    expect(queueStatuses(host.received).map((q) => [q.res, q.meshPacketId])).toEqual([
      [0, 501],
      [0, 502],
    ]);
    const naks = packets(host.received);
    expect(naks).toHaveLength(1);
    const nak = naks[0]!;
    expect(nak).toMatchObject({ from: BASE.num, to: BASE.num });
    const data = nak.payloadVariant.value as { portnum: number; requestId: number; payload: Uint8Array };
    expect(data.portnum).toBe(PortNum.ROUTING_APP);
    expect(data.requestId).toBe(502);
    expect(routingErrorOf(data.payload)).toBe(RoutingError.RATE_LIMIT_EXCEEDED);

    await vi.advanceTimersByTimeAsync(2_000);
    host.write(textPacket(503, "three", { from: BASE.num }));
    await settle();
    await vi.advanceTimersByTimeAsync(30_000);
    const sentIds = new Set(transmitted.filter((p) => p.decoded.portnum === PortNum.TEXT_MESSAGE_APP).map((p) => p.id));
    expect([...sentIds]).toEqual([501, 503]);
  });

  it("gives a want_ack broadcast an implicit ACK when a neighbour rebroadcasts it", async () => {
    const radio = makeRadio({
      onTransmit: (packet) => {
        transmitted.push(packet);
        // a neighbour relays it a moment later; the radio hears its own packet
        setTimeout(() => radio.deliver({ ...packet, hopLimit: (packet.hopLimit ?? 1) - 1, relayNode: 0x42 }), 500);
      },
    });
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.write(textPacket(0x2a2b2c2d, "ACK WATER", { from: BASE.num }));
    await settle();
    await vi.advanceTimersByTimeAsync(3_000);
    await settle();
    const acks = packets(host.received);
    expect(acks).toHaveLength(1); // the implicit ACK, and not the relayed copy
    const data = acks[0]!.payloadVariant.value as { portnum: number; requestId: number; payload: Uint8Array };
    expect(acks[0]).toMatchObject({ from: BASE.num, to: BASE.num, priority: 120 });
    expect(data).toMatchObject({ portnum: PortNum.ROUTING_APP, requestId: 0x2a2b2c2d });
    expect(hex(data.payload)).toBe("1800");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(transmitted).toHaveLength(1); // no retransmission after the ACK
  });

  it("transmits a want_ack packet 3 times without an ACK, then NAKs MAX_RETRANSMIT", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.write(textPacket(0x0a0b0c0e, "anyone?", { from: BASE.num }));
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    await settle();
    expect(transmitted.map((p) => p.id)).toEqual([0x0a0b0c0e, 0x0a0b0c0e, 0x0a0b0c0e]);
    const naks = packets(host.received);
    expect(naks).toHaveLength(1);
    const data = naks[0]!.payloadVariant.value as { requestId: number; payload: Uint8Array };
    expect(data.requestId).toBe(0x0a0b0c0e);
    expect(routingErrorOf(data.payload)).toBe(RoutingError.MAX_RETRANSMIT);
  });
});

describe("SimRadio TX queue and special requests", () => {
  it("reports res 32 when the 16-entry TX queue is full, then a queueStatus with id 0 when it frees", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    for (let id = 2001; id <= 2017; id++) host.write(privatePacket(id));
    await settle();
    const statuses = queueStatuses(host.received);
    expect(statuses.map((q) => q.free)).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
    expect(statuses.at(-1)).toMatchObject({ res: 32, meshPacketId: 2017 });
    expect(statuses.slice(0, 16).every((q) => q.res === 0)).toBe(true);
    await vi.advanceTimersByTimeAsync(300); // the CSMA wait ends: the first packet leaves the queue
    await settle();
    expect(queueStatuses(host.received).at(-1)).toMatchObject({ res: 0, free: 1, maxlen: 16, meshPacketId: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(transmitted.map((p) => p.id)).toEqual(Array.from({ length: 16 }, (_, i) => 2001 + i));
  });

  it("broadcasts its own NodeInfo for a heartbeat with nonce 1, without a queueStatus", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.write(fromHex("94 c3 00 04 3a 02 08 01"));
    await settle();
    await vi.advanceTimersByTimeAsync(2_000);
    await settle();
    expect(host.received).toHaveLength(0);
    expect(transmitted).toHaveLength(1);
    expect(transmitted[0]).toMatchObject({ from: BASE.num, to: BROADCAST_NUM, decoded: { portnum: PortNum.NODEINFO_APP } });
    expect(decodeUser(transmitted[0]!.decoded.payload)).toMatchObject({ id: "!11223344", longName: "Base Station" });
  });

  it("answers to=1 (broadcast, never over LoRa) with res 35 and sends nothing", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.send({
      case: "packet",
      value: { to: 1, id: 3001, payloadVariant: { case: "decoded", value: { portnum: PortNum.PRIVATE_APP, payload: Uint8Array.of(1) } } },
    });
    await settle();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(queueStatuses(host.received)).toEqual([expect.objectContaining({ res: 35, meshPacketId: 3001 })]);
    expect(transmitted).toHaveLength(0);
  });

  it("ACKs a want_ack packet to itself (local admin) without sending anything", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.write(fromHex("94 c3 00 1b 0a 19 15 44 33 22 11 22 09 08 06 12 03 80 04 01 18 01 35 00 01 00 00 48 03 50 01")); // begin_edit_settings
    await settle();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(casesOf(host.received)).toEqual(["queueStatus", "packet"]);
    const ack = packets(host.received)[0]!;
    const data = ack.payloadVariant.value as { portnum: number; requestId: number; payload: Uint8Array };
    expect(ack).toMatchObject({ from: BASE.num, to: BASE.num });
    expect(data).toMatchObject({ portnum: PortNum.ROUTING_APP, requestId: 0x100 });
    expect(routingErrorOf(data.payload)).toBe(RoutingError.NONE);
    expect(transmitted).toHaveLength(0);
  });

  it("stops streaming after ToRadio.disconnect until a new want_config_id", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.write(fromHex("94 c3 00 02 20 01"));
    await settle();
    expect(radio.streaming).toBe(false);
    radio.deliver(heardText(OTHERS[0]!.num, 44, "NEED ICE"));
    await settle();
    expect(host.received).toHaveLength(0);
    host.write(WANT_CONFIG_12345678);
    await settle();
    expect(packets(host.received).map((p) => p.id)).toEqual([44]);
  });
});

describe("SimRadio parser and bad input", () => {
  it("reproduces the firmware parser quirk: 94 94 C3 loses the frame", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    host.write([0x94, ...HEARTBEAT]);
    await settle();
    expect(host.received).toHaveLength(0);
    host.write(HEARTBEAT);
    await settle();
    expect(casesOf(host.received)).toEqual(["queueStatus"]);

    // The host's own decoder would have found it: the quirk is the device's alone.
    const hostEvents = new FrameDecoder().push(Uint8Array.from([0x94, ...HEARTBEAT]));
    expect(hostEvents.filter((e) => e.type === "frame")).toHaveLength(1);
  });

  it("parses byte at a time with the firmware's rules", () => {
    const parser = new FirmwareStreamParser();
    // a length above 512 restarts the hunt; the bytes after it are searched for START1
    expect(parser.push(Uint8Array.from([0x94, 0xc3, 0x02, 0x01, ...HEARTBEAT]))).toHaveLength(1);
    // split at every byte
    const frames = HEARTBEAT.flatMap((b) => parser.push(Uint8Array.of(b)));
    expect(frames.map((f) => hex(f))).toEqual(["3a00"]);
    // an empty frame is a frame
    expect(parser.push(Uint8Array.from([0x94, 0xc3, 0, 0])).map((f) => f.length)).toEqual([0]);
    // a truncated frame swallows what follows until its length is reached
    expect(parser.push(Uint8Array.from([0x94, 0xc3, 0x00, 0x08, 0x3a, 0x00]))).toHaveLength(0);
    expect(parser.push(Uint8Array.from(HEARTBEAT))).toHaveLength(1);
    expect(parser.push(Uint8Array.from(HEARTBEAT))).toHaveLength(1);
  });

  it("ignores undecodable and over-long ToRadio without a reply, and keeps answering", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.write([0x94, 0xc3, 0x00, 0x03, 0x0a, 0x05, 0x01]); // a packet field claiming 5 bytes, 1 present
    host.write([0x94, 0xc3, 0x00, 0x02, 0xff, 0xff]); // field number 0 is invalid
    const oversize = encodeFrame(
      encodeToRadio({
        case: "packet",
        value: { to: BROADCAST_NUM, id: 77, payloadVariant: { case: "decoded", value: { portnum: PortNum.PRIVATE_APP, payload: new Uint8Array(234) } } },
      }),
    );
    host.write(oversize); // Data.payload above nanopb's 233
    await settle();
    expect(host.received).toHaveLength(0);
    host.write(HEARTBEAT);
    await settle();
    expect(casesOf(host.received)).toEqual(["queueStatus"]);
  });

  it("NAKs TOO_LARGE when the encoded Data does not fit a LoRa frame", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    host.send({
      case: "packet",
      value: { to: BROADCAST_NUM, id: 78, payloadVariant: { case: "decoded", value: { portnum: PortNum.PRIVATE_APP, payload: new Uint8Array(233) } } },
    });
    await settle();
    expect(queueStatuses(host.received)).toEqual([expect.objectContaining({ res: 7, meshPacketId: 78 })]);
    const nak = packets(host.received)[0]!.payloadVariant.value as { requestId: number; payload: Uint8Array };
    expect(nak.requestId).toBe(78);
    expect(routingErrorOf(nak.payload)).toBe(RoutingError.TOO_LARGE);
  });
});

describe("SimRadio to-phone queue and sessions", () => {
  it("holds heard packets until config_complete_id, then streams them in order", async () => {
    const radio = makeRadio();
    radio.deliver(heardText(OTHERS[0]!.num, 1, "NEED WATER")); // no client attached
    const host = attachRawHost(radio);
    radio.deliver(heardText(OTHERS[1]!.num, 2, "INJURED 1")); // attached, no handshake yet
    host.write(HEARTBEAT);
    await settle();
    expect(casesOf(host.received)).toEqual(["queueStatus"]);
    expect(radio.queuedForPhone).toBe(2);

    host.write(WANT_CONFIG_12345678);
    await settle();
    const cases = casesOf(host.received);
    const complete = cases.indexOf("configCompleteId");
    expect(cases.slice(complete + 1)).toEqual(["packet", "packet"]);
    expect(cases.slice(0, complete)).not.toContain("packet");
    const heard = packets(host.received);
    expect(heard.map((p) => [p.from, p.id])).toEqual([
      [OTHERS[0]!.num, 1],
      [OTHERS[1]!.num, 2],
    ]);
    expect(heard[0]).toMatchObject({ hopLimit: 3, hopStart: 3, rxSnr: 6.25, rxRssi: -80 });

    radio.deliver(heardText(OTHERS[0]!.num, 3, "NEED ICE")); // now streamed at once
    await settle();
    expect(packets(host.received).map((p) => p.id)).toEqual([1, 2, 3]);
  });

  it("keeps 32 packets for the phone: text evicts the oldest, other ports are dropped", async () => {
    const radio = makeRadio();
    for (let id = 1; id <= 33; id++) radio.deliver(heardText(OTHERS[0]!.num, id, `T${id}`));
    radio.deliver({ ...heardText(OTHERS[0]!.num, 100, "x"), decoded: { portnum: PortNum.PRIVATE_APP, payload: Uint8Array.of(1) } });
    expect(radio.queuedForPhone).toBe(32);
    const host = attachRawHost(radio);
    await handshake(host);
    const ids = packets(host.received).map((p) => p.id);
    expect(ids).toHaveLength(32);
    expect(ids[0]).toBe(2);
    expect(ids.at(-1)).toBe(33);
  });

  it("delivers only broadcasts and packets for us, and ACKs a want_ack DM over the air", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    host.received.length = 0;
    radio.deliver({ ...heardText(OTHERS[0]!.num, 10, "not for us"), to: OTHERS[1]!.num });
    radio.deliver({ ...heardText(OTHERS[0]!.num, 11, "for us"), to: BASE.num, wantAck: true, hopStart: 3, hopLimit: 3 });
    await settle();
    expect(packets(host.received).map((p) => p.id)).toEqual([11]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(transmitted).toHaveLength(1);
    expect(transmitted[0]).toMatchObject({ from: BASE.num, to: OTHERS[0]!.num, hopLimit: 2, hopStart: 2, decoded: { portnum: PortNum.ROUTING_APP, requestId: 11 } });
    expect(routingErrorOf(transmitted[0]!.decoded.payload)).toBe(RoutingError.NONE);
  });

  it("emits rebooted on reboot() and streams nothing until a new handshake", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    const before = host.bytes().length;
    radio.reboot();
    await settle();
    expect(hex(host.bytes().subarray(before))).toBe("94c300024001");
    radio.deliver(heardText(OTHERS[0]!.num, 5, "NEED WATER"));
    await settle();
    expect(casesOf(host.received).at(-1)).toBe("rebooted");
    host.write(WANT_CONFIG_12345678);
    await settle();
    expect(casesOf(host.received).at(-1)).toBe("packet");
    expect(host.received.find((m) => m.payloadVariant.case === "myInfo" && m.payloadVariant.value.rebootCount === 1)).toBeDefined();
  });

  it("serves one client at a time: a new attach closes the previous stream", async () => {
    const radio = makeRadio();
    const first = attachRawHost(radio);
    await handshake(first);
    const second = attachRawHost(radio);
    await settle();
    expect(first.closed()).toBe(true);
    expect(radio.streaming).toBe(false); // the new client has not asked for config yet
    radio.deliver(heardText(OTHERS[0]!.num, 9, "ON SHIFT"));
    second.write(WANT_CONFIG_12345678);
    await settle();
    expect(packets(second.received).map((p) => p.id)).toEqual([9]);
  });

  it("closes the session after 15 minutes without a frame; heartbeats keep it open", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio, { closeOnIdle: true });
    await handshake(host);
    await vi.advanceTimersByTimeAsync(14 * 60_000);
    host.write(HEARTBEAT);
    await settle();
    await vi.advanceTimersByTimeAsync(14 * 60_000);
    expect(radio.attached).toBe(true);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    await settle();
    expect(radio.attached).toBe(false);
    expect(host.closed()).toBe(true);
  });

  it("ends the session when the host's stream ends, keeping heard packets for the next host", async () => {
    const radio = makeRadio();
    const [deviceEnd, hostEnd] = duplexPair();
    radio.attach(deviceEnd);
    hostEnd.end();
    await settle();
    expect(radio.attached).toBe(false);
    radio.deliver(heardText(OTHERS[0]!.num, 21, "GAS"));
    const host = attachRawHost(radio);
    await handshake(host);
    expect(packets(host.received).map((p) => p.id)).toEqual([21]);
  });

  it("interleaves console log text between frames when consoleLogs is on, never inside one", async () => {
    const radio = makeRadio({ consoleLogs: true, now: () => Date.UTC(2025, 5, 1, 12, 0, 1) });
    const host = attachRawHost(radio);
    await handshake(host);
    radio.deliver(heardText(OTHERS[0]!.num, 0x1234, "NEED WATER — now"));
    await settle();
    expect(host.logs.some((line) => /^INFO {2}\| 12:00:01 \d+ \[PhoneAPI\] Client wants config, nonce=305419896$/.test(line))).toBe(true);
    expect(host.logs).toContain("INFO  | 12:00:01 0 [Router] Received text msg from=0x9e3b7a42, id=0x00001234, msg=NEED WATER — now");
    expect(host.bytes().includes(Buffer.from("\x1b[32mINFO  \x1b[0m| "))).toBe(true);
    expect(packets(host.received).map((p) => p.id)).toEqual([0x1234]);
    expect(casesOf(host.received).filter((c) => c === "configCompleteId")).toHaveLength(1);
  });

  it("keeps logging device telemetry on the console while idle", async () => {
    const radio = makeRadio({ consoleLogs: true });
    const host = attachRawHost(radio);
    await vi.advanceTimersByTimeAsync(125_000);
    await settle();
    expect(host.logs.filter((line) => line.includes("[DeviceTelemetry] Send: air_util_tx="))).toHaveLength(2);
    expect(host.received).toHaveLength(0); // no frames before the host sends one
  });

  it("writes no console text when consoleLogs is off", async () => {
    const radio = makeRadio();
    const host = attachRawHost(radio);
    await handshake(host);
    radio.deliver(heardText(OTHERS[0]!.num, 0x1234, "NEED WATER"));
    await settle();
    expect(host.logs).toEqual([]);
  });
});
