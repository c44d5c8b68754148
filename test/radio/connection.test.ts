// RadioConnection against the simulated radio (src/sim) over real framed bytes in process and
// over TCP: reconnect after the stream ends, the peer closes, the radio reboots or goes silent,
// and a send queued before a fault goes out exactly once after it.
import type { Duplex } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BROADCAST_NUM,
  connectTcpTransport,
  createStreamTransport,
  DeviceRole,
  PortNum,
  RadioConnection,
  RadioError,
  type DeliveryUpdate,
  type RadioConnectionOptions,
  type RadioEvent,
  type Transport,
} from "../../src/radio/index.ts";
import { duplexPair, lastByte, mulberry32, serveTcp, SimMesh, type SimPacket, type SimTcpServer } from "../../src/sim/index.ts";

const BASE = { num: 0x2a6f1c01, longName: "Base", shortName: "BASE", role: DeviceRole.CLIENT_BASE, hwModel: 31 };
const MEDIC = { num: 0x9e3b7a42, longName: "Medic 1", shortName: "M1", role: DeviceRole.CLIENT, hwModel: 7 };

const pollOptions = { timeout: 5_000, interval: 2 };

/** Lets queued I/O (nextTicks, stream callbacks) run without moving the fake clock. */
async function settle(): Promise<void> {
  for (let round = 0; round < 10; round++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Rig {
  mesh: SimMesh;
  connection: RadioConnection;
  events: RadioEvent[];
  statuses: () => string[];
  deliveries: (id: string) => string[];
  /** Packets the base radio itself transmitted (not relayed copies). */
  transmitted: SimPacket[];
  /** The device ends of the streams opened so far. */
  deviceEnds: Duplex[];
  /** When false, open() fails as a missing serial port does. */
  plugged: { value: boolean };
}

function rig(options: { handhelds?: boolean; connection?: Partial<RadioConnectionOptions> } = {}): Rig {
  const mesh = new SimMesh({
    base: { ...BASE },
    handhelds: options.handhelds === false ? [] : [{ node: { ...MEDIC }, presets: [] }],
    intervalMs: { min: 1_000_000, max: 1_000_000 },
    random: mulberry32(42),
  });
  const deviceEnds: Duplex[] = [];
  const plugged = { value: true };
  const transmitted: SimPacket[] = [];
  mesh.onAir((packet) => {
    // The base's own transmissions (a neighbour's rebroadcast keeps `from` but carries its relay byte).
    if (packet.from === BASE.num && packet.relayNode === lastByte(BASE.num) && packet.decoded.portnum !== PortNum.ROUTING_APP) {
      transmitted.push(packet);
    }
  });
  const open = (): Promise<Transport> => {
    if (!plugged.value) {
      return Promise.reject(new RadioError("RADIO_PORT_NOT_FOUND", "Serial port /dev/ttySIM not found. Plug the radio in."));
    }
    const [deviceEnd, hostEnd] = duplexPair();
    deviceEnds.push(deviceEnd);
    mesh.baseRadio.attach(deviceEnd);
    return Promise.resolve(createStreamTransport(hostEnd));
  };
  const connection = new RadioConnection({
    open,
    logger: pino({ level: "silent" }),
    link: { heartbeatIntervalMs: 60_000, idleTimeoutMs: 300_000, handshakeTimeoutMs: 30_000 },
    initialBackoffMs: 1_000,
    maxBackoffMs: 8_000,
    ...options.connection,
  });
  const events: RadioEvent[] = [];
  connection.subscribe((event) => events.push(event));
  const statuses = (): string[] => events.flatMap((e) => (e.type === "status" ? [`${e.status}/${e.reason}`] : []));
  const deliveries = (id: string): string[] =>
    events.flatMap((e) => (e.type === "delivery" && e.delivery.id === id ? [deliveryText(e.delivery)] : []));
  return { mesh, connection, events, statuses, deliveries, transmitted, deviceEnds, plugged };
}

function deliveryText(d: DeliveryUpdate): string {
  return d.reason ? `${d.state}:${d.reason}` : d.state;
}

/** How many times the base radio put a packet with this first payload byte on the air. */
function timesOnAir(r: Rig, marker: number): number {
  return r.transmitted.filter((p) => p.decoded.payload[0] === marker).length;
}

async function connected(r: Rig): Promise<void> {
  await expect.poll(() => r.connection.status, pollOptions).toBe("connected");
}

describe("RadioConnection", () => {
  let current: Rig | undefined;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
  });

  afterEach(async () => {
    await current?.connection.close();
    current?.mesh.stop();
    current?.mesh.baseRadio.close();
    current = undefined;
    vi.useRealTimers();
  });

  it("connects, and close() ends in closed/user without reconnecting", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    expect(r.connection.myNodeNum).toBe(BASE.num);
    await r.connection.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(r.statuses()).toEqual(["connecting/starting", "configuring/starting", "connected/handshake-complete", "closed/user"]);
    expect(r.connection.connections).toBe(1);
  });

  it("fails start() with the open error when the first open fails, and does not retry", async () => {
    const r = (current = rig());
    r.plugged.value = false;
    await expect(r.connection.start()).rejects.toMatchObject({ code: "RADIO_PORT_NOT_FOUND" });
    expect(r.connection.status).toBe("closed");
    expect(r.statuses()).toEqual(["closed/unplugged"]);
  });

  it("reconnects with a fresh handshake when the stream ends, waiting out an unplugged port with backoff", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    r.plugged.value = false;
    r.deviceEnds[0]!.destroy(); // the cable is pulled
    await expect.poll(() => r.connection.status, pollOptions).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1_000 + 2_000);
    await settle();
    expect(r.connection.status).toBe("reconnecting");
    expect(r.connection.reason).toBe("unplugged");
    r.plugged.value = true;
    await vi.advanceTimersByTimeAsync(4_000);
    await connected(r);
    expect(r.statuses()).toEqual([
      "connecting/starting",
      "configuring/starting",
      "connected/handshake-complete",
      "reconnecting/stream-ended",
      "reconnecting/unplugged",
      "connecting/starting",
      "configuring/starting",
      "connected/handshake-complete",
    ]);
    expect(r.connection.connections).toBe(2);
  });

  it("looks for an unplugged port every second however far the backoff has grown, so the radio's to-phone queue is drained soon after", async () => {
    const r = (current = rig({ connection: { initialBackoffMs: 1_000, maxBackoffMs: 30_000 } }));
    await r.connection.start();
    await connected(r);
    r.plugged.value = false;
    r.deviceEnds[0]!.destroy(); // the cable is out for 100 s (the backoff reaches 30 s)
    for (let i = 0; i < 100; i++) await vi.advanceTimersByTimeAsync(1_000);
    expect(r.connection.reason).toBe("unplugged");
    r.plugged.value = true;
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    await connected(r);
    expect(r.connection.connections).toBe(2);
  });

  it("backs off further when links keep dropping right after connecting, and starts over after a stable one", async () => {
    const r = (current = rig({ connection: { initialBackoffMs: 1_000, maxBackoffMs: 8_000, stableAfterMs: 60_000 } }));
    await r.connection.start();
    await connected(r);
    const opensAfter = async (ms: number): Promise<number> => {
      await vi.advanceTimersByTimeAsync(ms);
      await settle();
      return r.connection.connections;
    };
    // Another client keeps taking the radio: each link dies at once.
    r.deviceEnds.at(-1)!.destroy();
    await settle();
    expect(await opensAfter(1_000)).toBe(2);
    await connected(r);
    r.deviceEnds.at(-1)!.destroy();
    await settle();
    expect(await opensAfter(1_999)).toBe(2);
    expect(await opensAfter(1)).toBe(3);
    await connected(r);
    r.deviceEnds.at(-1)!.destroy();
    await settle();
    expect(await opensAfter(3_999)).toBe(3);
    expect(await opensAfter(1)).toBe(4);
    await connected(r);
    await vi.advanceTimersByTimeAsync(60_000); // a stable link
    r.deviceEnds.at(-1)!.destroy();
    await settle();
    expect(await opensAfter(1_000)).toBe(5);
  });

  it("sends a record queued while the radio was unplugged exactly once after it is back", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    r.plugged.value = false;
    r.deviceEnds[0]!.destroy();
    await expect.poll(() => r.connection.status, pollOptions).toBe("reconnecting");
    const id = await r.connection.send({ record: Uint8Array.of(0xa1, 1, 2, 3) });
    expect(r.deliveries(id)).toEqual(["queued"]);
    r.plugged.value = true;
    await vi.advanceTimersByTimeAsync(1_000);
    await connected(r);
    await expect.poll(() => r.deliveries(id), pollOptions).toContain("sent");
    await vi.advanceTimersByTimeAsync(30_000);
    await settle();
    expect(timesOnAir(r, 0xa1)).toBe(1);
    expect(r.connection.queued).toBe(0);
  });

  it("re-handshakes after the radio reboots and sends what was queued during it exactly once", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    r.mesh.baseRadio.reboot();
    await expect.poll(() => r.statuses(), pollOptions).toContain("reconnecting/device-rebooted");
    const id = await r.connection.send({ record: Uint8Array.of(0xb2) });
    await connected(r);
    await expect.poll(() => r.deliveries(id), pollOptions).toContain("sent");
    await vi.advanceTimersByTimeAsync(30_000);
    await settle();
    expect(timesOnAir(r, 0xb2)).toBe(1);
    expect(r.statuses().slice(3)).toEqual(["reconnecting/device-rebooted", "configuring/device-rebooted", "connected/handshake-complete"]);
    expect(r.connection.connections).toBe(1); // the same stream: no reopen needed
  });

  it("reconnects when the radio stops answering although it answered heartbeats (idle-timeout)", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    await vi.advanceTimersByTimeAsync(60_000); // one heartbeat, answered with a QueueStatus
    await settle();
    r.mesh.baseRadio.close(); // the session is gone, the stream stays open: silence
    await vi.advanceTimersByTimeAsync(300_000);
    await settle();
    expect(r.statuses()).toContain("reconnecting/idle-timeout");
    await vi.advanceTimersByTimeAsync(1_000);
    await connected(r);
    expect(r.connection.connections).toBe(2);
  });

  it("does not hold a radio that never answers heartbeats to the idle timeout", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    r.mesh.baseRadio.close(); // silent from the start: like firmware 2.6, which ignores heartbeats
    await vi.advanceTimersByTimeAsync(3_600_000);
    await settle();
    expect(r.connection.status).toBe("connected");
  });

  it("tells delivery as far as there is evidence: a DM is confirmed by its destination, a broadcast only heard", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    const dm = await r.connection.send({ text: "ACK WATER ETA 5M", to: MEDIC.num });
    const bcast = await r.connection.send({ text: "ALL TO SECTOR C", wantAck: true });
    await vi.advanceTimersByTimeAsync(20_000);
    await settle();
    await vi.advanceTimersByTimeAsync(20_000);
    await expect.poll(() => r.deliveries(dm), pollOptions).toEqual(["queued", "sent", "confirmed"]);
    await expect.poll(() => r.deliveries(bcast), pollOptions).toEqual(["queued", "sent", "heard"]);
    const texts = r.transmitted.filter((p) => p.decoded.portnum === PortNum.TEXT_MESSAGE_APP);
    expect(texts.map((p) => p.to)).toEqual([MEDIC.num, BROADCAST_NUM]);
  });

  it("reports MAX_RETRANSMIT when nobody hears a want_ack DM", async () => {
    const r = (current = rig({ handhelds: false }));
    await r.connection.start();
    await connected(r);
    const id = await r.connection.send({ record: Uint8Array.of(0xc3), to: 0x12345678 });
    for (let i = 0; i < 12; i++) {
      await vi.advanceTimersByTimeAsync(5_000);
      await settle();
    }
    expect(r.deliveries(id)).toEqual(["queued", "sent", "failed:MAX_RETRANSMIT"]);
    expect(timesOnAir(r, 0xc3)).toBe(3); // the firmware's three transmissions, not ours
  });

  it("paces texts so the firmware's 2 s rate limit never drops one", async () => {
    const r = (current = rig());
    await r.connection.start();
    await connected(r);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await r.connection.send({ text: `MSG ${i}` }));
    for (let i = 0; i < 20; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await settle();
    }
    // Without want_ack nothing comes back but a rate-limit NAK would: none may.
    for (const id of ids) expect(r.deliveries(id)).toEqual(["queued", "sent"]);
    const texts = r.transmitted.filter((p) => p.decoded.portnum === PortNum.TEXT_MESSAGE_APP);
    expect(texts.map((p) => new TextDecoder().decode(p.decoded.payload))).toEqual(["MSG 0", "MSG 1", "MSG 2", "MSG 3"]);
  });
});

describe("RadioConnection over TCP", () => {
  let server: SimTcpServer | undefined;
  let mesh: SimMesh | undefined;
  let connection: RadioConnection | undefined;

  afterEach(async () => {
    await connection?.close();
    await server?.close();
    mesh?.baseRadio.close();
  });

  it("reconnects when the TCP peer closes, and sends a record queued meanwhile exactly once", async () => {
    mesh = new SimMesh({ base: { ...BASE }, handhelds: [{ node: { ...MEDIC }, presets: [] }], intervalMs: { min: 1e6, max: 1e6 }, random: mulberry32(7) });
    const onAir: SimPacket[] = [];
    mesh.onAir((packet) => onAir.push(packet));
    server = await serveTcp(mesh.baseRadio);
    const { host, port } = server;
    let opens = 0;
    connection = new RadioConnection({
      open: () => {
        opens += 1;
        return connectTcpTransport({ host, port });
      },
      logger: pino({ level: "silent" }),
      initialBackoffMs: 50,
    });
    const statuses: string[] = [];
    const deliveries: string[] = [];
    connection.subscribe((event) => {
      if (event.type === "status") statuses.push(`${event.status}/${event.reason}`);
      if (event.type === "delivery") deliveries.push(event.delivery.state);
    });
    await connection.start();
    await expect.poll(() => connection?.status, pollOptions).toBe("connected");
    // Another client takes the radio: meshtasticd force-closes our connection.
    const [intruder] = duplexPair();
    mesh.baseRadio.attach(intruder);
    await expect.poll(() => statuses, pollOptions).toContain("reconnecting/stream-ended");
    await connection.send({ record: Uint8Array.of(0xd4, 4) });
    await expect.poll(() => deliveries, { timeout: 10_000, interval: 5 }).toContain("sent");
    expect(opens).toBe(2);
    await expect.poll(() => onAir.filter((p) => p.from === BASE.num && p.relayNode === lastByte(BASE.num) && p.decoded.payload[0] === 0xd4).length, { timeout: 10_000 }).toBe(1);
    expect(statuses.slice(-3)).toEqual(["connecting/starting", "configuring/starting", "connected/handshake-complete"]);
  });

  it("sends a record queued before the TCP peer closed exactly once after reconnecting", async () => {
    mesh = new SimMesh({ base: { ...BASE }, handhelds: [{ node: { ...MEDIC }, presets: [] }], intervalMs: { min: 1e6, max: 1e6 }, random: mulberry32(9) });
    const onAir: SimPacket[] = [];
    mesh.onAir((packet) => onAir.push(packet));
    const sentByBase = (marker: number): number => onAir.filter((p) => p.from === BASE.num && p.relayNode === lastByte(BASE.num) && p.decoded.payload[0] === marker).length;
    server = await serveTcp(mesh.baseRadio);
    const { host, port } = server;
    connection = new RadioConnection({ open: () => connectTcpTransport({ host, port }), logger: pino({ level: "silent" }), initialBackoffMs: 50 });
    const statuses: string[] = [];
    connection.subscribe((event) => {
      if (event.type === "status") statuses.push(`${event.status}/${event.reason}`);
    });
    await connection.start();
    await expect.poll(() => connection?.status, pollOptions).toBe("connected");
    // The radio stops answering: the record is written but not accepted, so it stays queued.
    mesh.baseRadio.close();
    await connection.send({ record: Uint8Array.of(0xd5, 5) });
    expect(connection.queued).toBe(1);
    // Another client connects: meshtasticd force-closes our connection, then that client leaves.
    const intruder = await connectTcpTransport({ host, port });
    await expect.poll(() => statuses, pollOptions).toContain("reconnecting/stream-ended");
    await intruder.disconnect();
    await expect.poll(() => connection?.status, { timeout: 10_000, interval: 5 }).toBe("connected");
    // First in, first out: once a record sent last is on the air, a second copy would be too.
    await connection.send({ record: Uint8Array.of(0x5e) });
    await expect.poll(() => sentByBase(0x5e), { timeout: 10_000 }).toBe(1);
    expect(sentByBase(0xd5)).toBe(1);
    expect(connection.queued).toBe(0);
  });
});
