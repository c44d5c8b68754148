import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BROADCAST_NUM, PortNum, decodeUser, type MeshPacket } from "../../src/radio/index.ts";
import {
  DEMO_NODES,
  RoutingError,
  SimMesh,
  createDemoMesh,
  mulberry32,
  routingErrorOf,
  type SimMeshOptions,
  type SimPacket,
} from "../../src/sim/index.ts";
import { attachRawHost, settle } from "./harness.ts";

const MEDIC = ["NEED WATER", "NEED ICE", "INJURED 1", "ON SHIFT"];
const MARSHAL = ["NEED MEDIC", "GAS", "OFF SHIFT"];
const INTERVAL = { min: 3_000, max: 8_000 };

interface Delivery {
  at: number;
  packet: SimPacket;
}

function recordDeliveries(mesh: SimMesh): Delivery[] {
  const deliveries: Delivery[] = [];
  const original = mesh.baseRadio.deliver.bind(mesh.baseRadio);
  vi.spyOn(mesh.baseRadio, "deliver").mockImplementation((packet) => {
    deliveries.push({ at: Date.now(), packet });
    original(packet);
  });
  return deliveries;
}

function textOf(packet: SimPacket): string {
  return new TextDecoder().decode(packet.decoded.payload);
}

function demo(seed: number, extra: Partial<SimMeshOptions> = {}): SimMesh {
  if (Object.keys(extra).length === 0) {
    return createDemoMesh({ presetsByRole: { medic: MEDIC, marshal: MARSHAL }, random: mulberry32(seed) });
  }
  return new SimMesh({
    base: DEMO_NODES.base,
    handhelds: [
      { node: DEMO_NODES.medic1, presets: MEDIC },
      { node: DEMO_NODES.marshal1, presets: MARSHAL },
    ],
    intervalMs: INTERVAL,
    random: mulberry32(seed),
    ...extra,
  });
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2025, 5, 1, 12, 0, 0) });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("SimMesh", () => {
  it("has each handheld announce itself with NODEINFO before its first preset", async () => {
    const mesh = demo(1);
    const deliveries = recordDeliveries(mesh);
    mesh.start();
    const handhelds = [DEMO_NODES.medic1, DEMO_NODES.medic2, DEMO_NODES.marshal1];
    expect(mesh.knownNodes().map((n) => n.num)).toEqual(handhelds.map((n) => n.num));
    await vi.advanceTimersByTimeAsync(30_000);
    mesh.stop();
    for (const node of handhelds) {
      const mine = deliveries.filter((d) => d.packet.from === node.num);
      expect(mine.length).toBeGreaterThan(1);
      const { packet } = mine[0]!;
      expect(packet).toMatchObject({ from: node.num, to: BROADCAST_NUM, hopLimit: 3, hopStart: 3 });
      expect(packet.decoded.portnum).toBe(PortNum.NODEINFO_APP);
      const user = decodeUser(packet.decoded.payload);
      expect(user).toMatchObject({
        id: `!${node.num.toString(16).padStart(8, "0")}`,
        longName: node.longName,
        shortName: node.shortName,
        role: node.role,
        hwModel: node.hwModel,
      });
      expect(user.publicKey).toHaveLength(32);
      expect(mine.slice(1).every((d) => d.packet.decoded.portnum === PortNum.TEXT_MESSAGE_APP)).toBe(true);
    }
  });

  it("sends presets from each handheld's list at intervals within bounds, and the base hears nearly all", async () => {
    const mesh = demo(42);
    const deliveries = recordDeliveries(mesh);
    const originals: Delivery[] = [];
    mesh.onAir((packet) => {
      if (packet.decoded.portnum === PortNum.TEXT_MESSAGE_APP && packet.hopLimit === packet.hopStart) originals.push({ at: Date.now(), packet });
    });
    mesh.start();
    await vi.advanceTimersByTimeAsync(120_000);
    mesh.stop();
    await vi.advanceTimersByTimeAsync(10_000); // the last relays land

    const byNode = new Map<number, Delivery[]>();
    for (const d of originals) byNode.set(d.packet.from, [...(byNode.get(d.packet.from) ?? []), d]);
    expect([...byNode.keys()].sort()).toEqual([DEMO_NODES.medic1.num, DEMO_NODES.medic2.num, DEMO_NODES.marshal1.num].sort());
    for (const [num, sent] of byNode) {
      const presets = num === DEMO_NODES.marshal1.num ? MARSHAL : MEDIC;
      // 120 s at 3..8 s apart: between 15 and 40 sends
      expect(sent.length).toBeGreaterThanOrEqual(15);
      expect(sent.length).toBeLessThanOrEqual(40);
      // The scheduled gaps on average: each send also waits for a quiet channel (the radio restarts
      // its contention wait after every frame it hears), so a single gap can be shorter or longer.
      const meanGap = (sent[sent.length - 1]!.at - sent[0]!.at) / (sent.length - 1);
      expect(meanGap).toBeGreaterThanOrEqual(INTERVAL.min);
      expect(meanGap).toBeLessThanOrEqual(INTERVAL.max + 1_000);
      for (const { packet } of sent) {
        expect(presets).toContain(textOf(packet));
        expect(packet).toMatchObject({ to: BROADCAST_NUM, hopLimit: 3, hopStart: 3, channel: 0 });
      }
      // the firmware's id scheme: never 0, low 10 bits count up by one per packet
      const ids = sent.map((d) => d.packet.id);
      expect(ids.every((id) => id > 0 && id <= 0xffffffff)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      for (let i = 1; i < ids.length; i++) expect(ids[i]! & 0x3ff).toBe((ids[i - 1]! + 1) & 0x3ff);
    }
    const heard = deliveries.filter((d) => d.packet.decoded.portnum === PortNum.TEXT_MESSAGE_APP);
    expect(new Set(heard.map((d) => `${d.packet.from}:${d.packet.id}`)).size).toBe(heard.length); // the router filters duplicates
    expect(heard.length).toBeGreaterThanOrEqual(0.8 * originals.length);
    for (const { at, packet } of heard) {
      expect(packet.rxTime).toBe(Math.floor(at / 1000));
      expect(packet.rxSnr).toBeGreaterThanOrEqual(-20);
      expect(packet.rxSnr).toBeLessThanOrEqual(12);
      expect(packet.rxRssi).toBeGreaterThanOrEqual(-135);
      expect(packet.rxRssi).toBeLessThanOrEqual(-50);
    }
    // all three presets lists got used beyond one entry
    expect(new Set(heard.map((d) => textOf(d.packet))).size).toBeGreaterThan(3);
  });

  it("is reproducible with the same seed", async () => {
    const run = async (): Promise<string[]> => {
      const mesh = demo(7);
      const deliveries = recordDeliveries(mesh);
      mesh.start();
      await vi.advanceTimersByTimeAsync(30_000);
      mesh.stop();
      vi.restoreAllMocks();
      return deliveries.map((d) => `${d.at - Date.now()}:${d.packet.from}:${d.packet.id}:${textOf(d.packet)}`);
    };
    const first = await run();
    const second = await run();
    expect(first.length).toBeGreaterThan(5);
    expect(second).toEqual(first);
  });

  it("stops sending after stop()", async () => {
    const mesh = demo(3);
    const deliveries = recordDeliveries(mesh);
    mesh.start();
    await vi.advanceTimersByTimeAsync(20_000);
    mesh.stop();
    await vi.advanceTimersByTimeAsync(5_000); // what was already queued or on the air lands
    const count = deliveries.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(deliveries).toHaveLength(count);
  });

  it("delivers a relayed duplicate with the same (from, id) and a lower hop_limit", async () => {
    const mesh = demo(5);
    const deliveries = recordDeliveries(mesh);
    const id = mesh.sendFrom(DEMO_NODES.medic1.num, "NEED WATER", { duplicates: 1 });
    expect(deliveries).toHaveLength(0); // on the air after its contention wait and time on air
    await vi.advanceTimersByTimeAsync(1_500);
    expect(deliveries).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(deliveries).toHaveLength(2);
    const [original, copy] = deliveries.map((d) => d.packet);
    expect([original!.from, original!.id]).toEqual([DEMO_NODES.medic1.num, id]);
    expect([copy!.from, copy!.id]).toEqual([DEMO_NODES.medic1.num, id]);
    expect(original!.hopLimit).toBe(3);
    expect(copy!.hopLimit).toBe(2);
    expect(copy!.hopStart).toBe(3);
    expect(copy!.relayNode).not.toBe(original!.relayNode);
    expect(deliveries[1]!.at).toBeGreaterThan(deliveries[0]!.at);
    expect(textOf(copy!)).toBe("NEED WATER");
  });

  it("streams what the handhelds send to the attached host, duplicates included", async () => {
    const mesh = demo(9);
    mesh.start();
    const host = attachRawHost(mesh.baseRadio);
    host.write([0x94, 0xc3, 0x00, 0x06, 0x18, 0xf8, 0xac, 0xd1, 0x91, 0x01]);
    await settle();
    const nodeInfos = host.received.filter((m) => m.payloadVariant.case === "nodeInfo");
    expect(nodeInfos).toHaveLength(4); // own + three handhelds
    const id = mesh.sendFrom(DEMO_NODES.marshal1.num, "GAS", { duplicates: 2 });
    await vi.advanceTimersByTimeAsync(8_000); // the original and both copies are in
    await settle();
    const all = host.received
      .flatMap((m) => (m.payloadVariant.case === "packet" ? [m.payloadVariant.value] : []))
      .filter((p: MeshPacket) => p.id === id);
    expect(all.map((p) => [p.from, p.hopLimit])).toEqual([
      [DEMO_NODES.marshal1.num, 3],
      [DEMO_NODES.marshal1.num, 2],
      [DEMO_NODES.marshal1.num, 1],
    ]);
    mesh.stop();
  });

  it("relays the base's broadcasts (its implicit ACK) and ACKs its want_ack DMs to a handheld", async () => {
    const mesh = demo(11, { preset: "SHORT_TURBO" });
    const air: SimPacket[] = [];
    mesh.onAir((packet) => air.push(packet));
    mesh.start();
    const host = attachRawHost(mesh.baseRadio);
    host.write([0x94, 0xc3, 0x00, 0x06, 0x18, 0xf8, 0xac, 0xd1, 0x91, 0x01]);
    await settle();
    host.received.length = 0;
    host.send({
      case: "packet",
      value: {
        from: DEMO_NODES.base.num,
        to: BROADCAST_NUM,
        id: 0x01020304,
        wantAck: true,
        hopLimit: 3,
        payloadVariant: { case: "decoded", value: { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode("ACK WATER ETA 5M") } },
      },
    });
    host.send({
      case: "packet",
      value: {
        from: DEMO_NODES.base.num,
        to: DEMO_NODES.medic1.num,
        id: 0x01020305,
        wantAck: true,
        hopLimit: 3,
        payloadVariant: { case: "decoded", value: { portnum: PortNum.PRIVATE_APP, payload: Uint8Array.of(9, 9) } },
      },
    });
    await settle();
    await vi.advanceTimersByTimeAsync(2_000);
    await settle();

    const fromBase = air.filter((p) => p.from === DEMO_NODES.base.num);
    expect(fromBase.filter((p) => p.id === 0x01020304).map((p) => p.hopLimit)).toEqual([3, 2]); // sent + relayed
    const realAck = air.find((p) => p.from === DEMO_NODES.medic1.num && p.decoded.portnum === PortNum.ROUTING_APP);
    expect(realAck).toMatchObject({ to: DEMO_NODES.base.num, decoded: { requestId: 0x01020305 } });

    const routing = host.received
      .flatMap((m) => (m.payloadVariant.case === "packet" ? [m.payloadVariant.value] : []))
      .filter((p) => p.payloadVariant.case === "decoded" && p.payloadVariant.value.portnum === PortNum.ROUTING_APP)
      .map((p) => {
        const data = p.payloadVariant.value as { requestId: number; payload: Uint8Array };
        return { from: p.from, requestId: data.requestId, error: routingErrorOf(data.payload) };
      });
    expect(routing).toContainEqual({ from: DEMO_NODES.base.num, requestId: 0x01020304, error: RoutingError.NONE });
    expect(routing).toContainEqual({ from: DEMO_NODES.medic1.num, requestId: 0x01020305, error: RoutingError.NONE });
    mesh.stop();
  });

  it("rejects unknown senders and texts too long for one packet", () => {
    const mesh = demo(1);
    expect(() => mesh.sendFrom(0x12345678, "hi")).toThrow(RangeError);
    expect(() => mesh.sendFrom(DEMO_NODES.medic1.num, "x".repeat(233))).toThrow(RangeError);
    expect(() => mesh.sendFrom(DEMO_NODES.medic1.num, "x".repeat(232))).not.toThrow();
  });
});
