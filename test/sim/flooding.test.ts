// Managed flooding, roles, rebroadcast modes, collisions, the duty cycle and determinism, on a
// SimNet driven by a virtual clock (reference meshtastic-protocol.md 7, lora-airtime.md 4).
import { describe, expect, it } from "vitest";
import { BROADCAST_NUM, PortNum, decodeTelemetry } from "../../src/radio/index.ts";
import { RebroadcastMode, presetParams, loraAirtimeMs } from "../../src/sim/index.ts";
import { CLIENT, CLIENT_MUTE, ROUTER, node, privatePayload, rig, text, type Rig } from "./net-helpers.ts";

/** Nodes 0x1001.. on a line, 2 km apart: each hears only its neighbours at LONG_FAST. */
function chain(roles: number[], modes: Array<number | undefined> = []): Rig & { nums: number[] } {
  const r = rig();
  const nums = roles.map((role, i) => {
    const num = 0x1001 + i;
    const mode = modes[i];
    r.net.addNode({ node: node(num, role), position: { x: i * 2_000, y: 0 }, ...(mode !== undefined ? { rebroadcastMode: mode } : {}) });
    return num;
  });
  return { ...r, nums };
}

const receivers = (r: Rig, id: number): number[] => r.deliveries.filter(([, p]) => p.id === id).map(([receiver]) => receiver);

describe("managed flooding", () => {
  it("reaches 3 relays down a chain and stops at hop_limit 0", () => {
    const r = chain([CLIENT, CLIENT, CLIENT, CLIENT, CLIENT, CLIENT]);
    expect(r.net.channel.inRange(r.nums[0]!, r.nums[1]!)).toBe(true);
    expect(r.net.channel.inRange(r.nums[0]!, r.nums[2]!)).toBe(false);
    const id = r.net.radio(r.nums[0]!).originate(text("NEED WATER"), { hopLimit: 3 })!;
    r.clock.advance(60_000);
    expect(receivers(r, id)).toEqual(r.nums.slice(1, 5)); // 4 hops away at most; the 6th never hears it
    const got = r.deliveries.filter(([, p]) => p.id === id).map(([, p]) => p.hopLimit);
    expect(got).toEqual([3, 2, 1, 0]);
    const transmitters = r.frames.filter((f) => f.header.id === id).map((f) => f.transmitter);
    expect(transmitters).toEqual(r.nums.slice(0, 4)); // the node that got hop_limit 0 does not relay
    expect(r.frames.filter((f) => f.header.id === id).every((f) => f.header.hopStart === 3)).toBe(true);
  });

  it("CLIENT_MUTE does not relay", () => {
    const r = chain([CLIENT, CLIENT_MUTE, CLIENT]);
    const id = r.net.radio(r.nums[0]!).originate(text("GAS"))!;
    r.clock.advance(60_000);
    expect(receivers(r, id)).toEqual([r.nums[1]]);
    expect(r.net.get(r.nums[1]!).router.stats.relayed).toBe(0);
  });

  it("a default ROUTER (CORE_PORTNUMS_ONLY) drops private ports but relays text; with ALL it relays both", () => {
    const byDefault = chain([CLIENT, ROUTER, CLIENT]);
    const textId = byDefault.net.radio(byDefault.nums[0]!).originate(text("NEED ICE"))!;
    byDefault.clock.advance(30_000);
    const privateId = byDefault.net.radio(byDefault.nums[0]!).originate(privatePayload())!;
    byDefault.clock.advance(30_000);
    expect(receivers(byDefault, textId)).toEqual(byDefault.nums.slice(1));
    expect(receivers(byDefault, privateId)).toEqual([byDefault.nums[1]]);

    const relayAll = chain([CLIENT, ROUTER, CLIENT], [undefined, RebroadcastMode.ALL]);
    const id = relayAll.net.radio(relayAll.nums[0]!).originate(privatePayload())!;
    relayAll.clock.advance(30_000);
    expect(receivers(relayAll, id)).toEqual(relayAll.nums.slice(1));
  });

  it("CLIENTs that hear another relay first cancel theirs; a ROUTER relays first and never cancels", () => {
    // A source and five clients all within earshot of each other.
    const r = rig();
    r.net.addNode({ node: node(0x2000), position: { x: 0, y: 0 } });
    for (let i = 0; i < 5; i++) r.net.addNode({ node: node(0x2001 + i), position: { x: 200 * Math.cos(i), y: 200 * Math.sin(i) } });
    const id = r.net.radio(0x2000).originate(text("INJURED 1"))!;
    r.clock.advance(30_000);
    const relays = r.frames.filter((f) => f.header.id === id && f.transmitter !== 0x2000);
    expect(relays).toHaveLength(1);
    const cancelled = r.net.list().reduce((sum, n) => sum + n.router.stats.cancelled, 0);
    expect(cancelled).toBe(4);

    const withRouter = rig();
    withRouter.net.addNode({ node: node(0x3000), position: { x: 0, y: 0 } });
    for (let i = 0; i < 4; i++) withRouter.net.addNode({ node: node(0x3001 + i), position: { x: 200 * Math.cos(i), y: 200 * Math.sin(i) } });
    withRouter.net.addNode({ node: node(0x3100, ROUTER), position: { x: 0, y: 250 } });
    const second = withRouter.net.radio(0x3000).originate(text("INJURED 1"))!;
    withRouter.clock.advance(30_000);
    const relayed = withRouter.frames.filter((f) => f.header.id === second && f.transmitter !== 0x3000);
    expect(relayed.map((f) => f.transmitter)).toEqual([0x3100]);
  });

  it("suppresses duplicates by (from, id): each node's phone gets a packet once", () => {
    const r = rig();
    for (let i = 0; i < 8; i++) r.net.addNode({ node: node(0x4001 + i), position: { x: (i % 4) * 1_500, y: Math.floor(i / 4) * 1_500 } });
    const id = r.net.radio(0x4001).originate(text("ON SHIFT"), { hopLimit: 7 })!;
    r.clock.advance(120_000);
    const got = receivers(r, id);
    expect(got.length).toBe(7);
    expect(new Set(got).size).toBe(got.length);
  });
});

describe("the channel", () => {
  it("loses frames that overlap at a receiver, unless one is much stronger (capture)", () => {
    // B and C cannot hear each other (hidden terminals); both are in range of A.
    const equal = rig();
    equal.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    equal.net.addNode({ node: node(0xb), position: { x: -2_000, y: 0 } });
    equal.net.addNode({ node: node(0xc), position: { x: 2_000, y: 0 } });
    equal.net.radio(0xb).originate(text("NEED WATER"), { hopLimit: 0 });
    equal.net.radio(0xc).originate(text("NEED MEDIC"), { hopLimit: 0 });
    equal.clock.advance(10_000);
    expect(equal.deliveries.filter(([receiver]) => receiver === 0xa)).toEqual([]);
    expect(equal.net.channel.stats.collisions).toBe(2);

    const capture = rig();
    capture.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    capture.net.addNode({ node: node(0xb), position: { x: -2_100, y: 0 } });
    capture.net.addNode({ node: node(0xc), position: { x: 500, y: 0 } });
    expect(capture.net.channel.inRange(0xb, 0xc)).toBe(false);
    capture.net.radio(0xb).originate(text("NEED WATER"), { hopLimit: 0 });
    capture.net.radio(0xc).originate(text("NEED MEDIC"), { hopLimit: 0 });
    capture.clock.advance(10_000);
    const heard = capture.deliveries.filter(([receiver]) => receiver === 0xa).map(([, p]) => new TextDecoder().decode(p.decoded.payload));
    expect(heard).toEqual(["NEED MEDIC"]);
    expect(capture.net.channel.stats.collisions).toBe(1);
  });

  it("listens before talking: nodes in earshot do not collide", () => {
    const r = rig();
    r.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0xb), position: { x: 300, y: 0 } });
    r.net.addNode({ node: node(0xc), position: { x: 0, y: 300 } });
    r.net.radio(0xb).originate(text("NEED WATER"), { hopLimit: 0 });
    r.net.radio(0xc).originate(text("NEED MEDIC"), { hopLimit: 0 });
    r.clock.advance(10_000);
    expect(r.deliveries.filter(([receiver]) => receiver === 0xa)).toHaveLength(2);
    expect(r.net.channel.stats.collisions).toBe(0);
  });

  it("a jammer near a receiver drowns what it would otherwise hear", () => {
    const r = rig();
    r.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0xb), position: { x: 1_500, y: 0 } });
    const jammer = r.net.addJammer({ position: { x: 50, y: 0 }, powerDbm: 20 });
    r.net.radio(0xb).originate(text("NEED WATER"), { hopLimit: 0 });
    r.clock.advance(10_000);
    expect(r.deliveries).toEqual([]);
    r.net.removeJammer(jammer);
    r.net.radio(0xb).originate(text("NEED WATER"), { hopLimit: 0 });
    r.clock.advance(10_000);
    expect(r.deliveries).toHaveLength(1);
  });

  it("reports channel utilisation as the device does: RX + TX airtime over the last minute", () => {
    const r = rig();
    r.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0xb), position: { x: 300, y: 0 } });
    for (let i = 0; i < 6; i++) {
      r.net.radio(0xb).originate(text("NEED WATER"), { hopLimit: 0 });
      r.clock.advance(5_000);
    }
    const perFrame = loraAirtimeMs(16 + 16, presetParams("LONG_FAST")); // header + Data{1, "NEED WATER", bitfield 0}
    const expected = ((6 * perFrame) / 60_000) * 100;
    expect(r.net.get(0xa).router.channelUtilization()).toBeCloseTo(expected, 1);
    expect(r.net.get(0xb).router.channelUtilization()).toBeCloseTo(expected, 1);
    // ...and the device reports it in its telemetry, as firmware does
    const heard: number[] = [];
    r.net.onDelivery((receiver, packet) => {
      if (receiver !== 0xa || packet.decoded.portnum !== PortNum.TELEMETRY_APP) return;
      const telemetry = decodeTelemetry(packet.decoded.payload);
      if (telemetry.variant.case === "deviceMetrics") heard.push((telemetry.variant.value as { channelUtilization: number }).channelUtilization);
    });
    const reported = r.net.get(0xb).router.channelUtilization();
    r.net.radio(0xb).sendDeviceTelemetry();
    r.clock.advance(5_000);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toBeCloseTo(reported, 3);
    r.clock.advance(120_000);
    expect(r.net.get(0xa).router.channelUtilization()).toBe(0);
  });

  it("stops a node at the region's 10 % hourly duty cycle (EU_868), and not in the US", () => {
    const run = (region: string): { txPercent: number; drops: number } => {
      const r = rig({ region });
      r.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
      r.net.addNode({ node: node(0xb), position: { x: 300, y: 0 } });
      const big = { portnum: 256, payload: new Uint8Array(200) };
      // ~1.9 s frames, one every 10 s for an hour: 19 % airtime offered.
      for (let i = 0; i < 360; i++) {
        r.net.radio(0xa).originate(big, { hopLimit: 0 });
        r.clock.advance(10_000);
      }
      const router = r.net.get(0xa).router;
      return { txPercent: router.txUtilization(), drops: router.stats.dutyCycleDrops };
    };
    const eu = run("EU_868");
    expect(eu.drops).toBeGreaterThan(0);
    expect(eu.txPercent).toBeLessThan(10.5);
    expect(eu.txPercent).toBeGreaterThan(9);
    const us = run("US");
    expect(us.drops).toBe(0);
    expect(us.txPercent).toBeGreaterThan(15);
  });

  it("is deterministic by seed", () => {
    const run = (seed: number): string[] => {
      const r = rig({ seed, pathLoss: { shadowingDb: 6, fadingDb: 3 }, linkLoss: 0.2 });
      for (let i = 0; i < 10; i++) r.net.addNode({ node: node(0x5001 + i), position: { x: (i % 5) * 900, y: Math.floor(i / 5) * 900 } });
      for (let i = 0; i < 10; i++) {
        r.net.radio(0x5001 + i).originate(text(`MSG ${i}`));
        r.clock.advance(3_000);
      }
      r.clock.advance(60_000);
      return r.frames.map((f) => `${f.startMs}:${f.transmitter}:${Buffer.from(f.bytes).toString("hex")}`);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });
});

describe("the radio on the simulated air", () => {
  it("ACKs a DM again when its originator retransmits it (the first ACK was lost)", () => {
    const r = rig({ linkLoss: 0.35, seed: 3 });
    r.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0xb), position: { x: 500, y: 0 } });
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(r.net.radio(0xa).originate(text(`DM ${i}`), { to: 0xb, wantAck: true })!);
      r.clock.advance(60_000);
    }
    const acksFromB = (id: number): number =>
      r.frames.filter((f) => f.transmitter === 0xb && f.packet?.decoded.portnum === PortNum.ROUTING_APP && f.packet.decoded.requestId === id).length;
    const confirmed = new Set(
      r.deliveries.filter(([receiver, p]) => receiver === 0xa && p.decoded.portnum === PortNum.ROUTING_APP).map(([, p]) => p.decoded.requestId),
    );
    expect(ids.some((id) => acksFromB(id) >= 2)).toBe(true); // re-ACKed on a retransmission
    expect(confirmed.size).toBeGreaterThanOrEqual(14); // 35 % loss each way, 3 tries: about 80 %
    // B's phone got each DM once, however many times it was sent
    const atB = r.deliveries.filter(([receiver, p]) => receiver === 0xb && p.decoded.portnum === PortNum.TEXT_MESSAGE_APP).map(([, p]) => p.id);
    expect(new Set(atB).size).toBe(atB.length);
  });

  it("gets its implicit ACK when a neighbour relays its want_ack broadcast, and MAX_RETRANSMIT when no one does", () => {
    const r = rig();
    r.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0xb), position: { x: 1_500, y: 0 } }); // far: a short contention window
    const id = r.net.radio(0xa).originate(text("ACK WATER"), { wantAck: true })!;
    r.clock.advance(30_000);
    expect(r.frames.filter((f) => f.header.id === id).map((f) => f.transmitter)).toEqual([0xa, 0xb]); // no retransmission

    const alone = rig();
    alone.net.addNode({ node: node(0xa), position: { x: 0, y: 0 } });
    alone.net.addNode({ node: node(0xb, CLIENT_MUTE), position: { x: 300, y: 0 } });
    const lonely = alone.net.radio(0xa).originate(text("ACK WATER"), { wantAck: true, to: BROADCAST_NUM })!;
    alone.clock.advance(120_000);
    expect(alone.frames.filter((f) => f.header.id === lonely)).toHaveLength(3); // NUM_RELIABLE_RETX
  });
});
