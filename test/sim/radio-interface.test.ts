// The simulated radio interface below the flooding router, checked against what the firmware does
// (RadioLibInterface.cpp, MeshPacketQueue.cpp, FloodingRouter.cpp, ReliableRouter.cpp,
// airtime.cpp): the TX queue's order and eviction, the one transmit timer every reception
// restarts, failed receptions in channel utilisation, hop-limit upgrades, ROUTER_LATE and
// CLIENT_BASE, retransmission timers that wait out the airtime, and the periodic-traffic gates.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BROADCAST_NUM, DeviceRole, PortNum } from "../../src/radio/index.ts";
import {
  MODEM_PRESETS,
  Priority,
  SimRadio,
  TxQueue,
  VirtualClock,
  encodeSimAirFrame,
  isTxAllowedAirUtil,
  isTxAllowedChannelUtil,
  loraAirtimeMs,
  periodicAllowed,
  rebroadcastDelayWorstMs,
  retransmissionMs,
  slotTimeMs,
  type RadioAir,
  type SimPacket,
  type TxEntry,
} from "../../src/sim/index.ts";
import { CLIENT, node, privatePayload, rig, text, type Rig } from "./net-helpers.ts";

const SLOT = slotTimeMs(MODEM_PRESETS.LONG_FAST);
const ROUTER_LATE = 11;
const NO_HEADER = { to: BROADCAST_NUM, wantAck: false, viaMqtt: false, channelHash: 0, nextHop: 0, relayNode: 0 };

function entry(id: number, priority: number, fromUs: boolean, txAfter = 0): TxEntry {
  return { frame: new Uint8Array(), header: { ...NO_HEADER, from: 0x99, id, hopLimit: 3, hopStart: 3 }, priority, fromUs, txAfter };
}

/** A transmitter that is not a simulated node: it puts crafted frames on the channel. */
function injector(r: Rig, num: number, x: number): { send(packet: { from: number; id: number; hopLimit: number; hopStart?: number; relayNode?: number }, data?: { portnum: number; payload: Uint8Array }): void } {
  const port = { num, txPowerDbm: 20, position: () => ({ x, y: 0 }), online: () => true, receive: () => undefined };
  r.net.channel.attach(port);
  return {
    send(packet, data = privatePayload()) {
      const header = {
        ...NO_HEADER,
        from: packet.from,
        id: packet.id,
        hopLimit: packet.hopLimit,
        hopStart: packet.hopStart ?? 3,
        channelHash: r.net.primary.hash,
        relayNode: packet.relayNode ?? num & 0xff,
      };
      r.net.channel.transmit(port, encodeSimAirFrame(header, data, r.net.primary.key));
    },
  };
}

const framesOf = (r: Rig, transmitter: number, id?: number) => r.frames.filter((f) => f.transmitter === transmitter && (id === undefined || f.header.id === id));

describe("the TX queue (MeshPacketQueue)", () => {
  it("sends the late window last, then by priority, relays before our own at equal priority, arrival order otherwise", () => {
    const priorities = [Priority.DEFAULT, Priority.RELIABLE, Priority.RESPONSE, Priority.HIGH, Priority.ACK];
    const arbitraryEntry = fc.record({ priority: fc.constantFrom(...priorities), fromUs: fc.boolean(), late: fc.boolean() });
    fc.assert(
      fc.property(fc.array(arbitraryEntry, { maxLength: 40 }), (specs) => {
        const queue = new TxQueue(64);
        specs.forEach((spec, id) => queue.enqueue(entry(id, spec.priority, spec.fromUs, spec.late ? 1 : 0), 0));
        const out: number[] = [];
        for (let next = queue.dequeue(); next; next = queue.dequeue()) out.push(next.header.id);
        const rank = (id: number): number[] => {
          const spec = specs[id]!;
          return [spec.late ? 1 : 0, -spec.priority, spec.fromUs ? 1 : 0, id];
        };
        const expected = specs.map((_, id) => id).sort((a, b) => {
          const ra = rank(a);
          const rb = rank(b);
          for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
          return 0;
        });
        expect(out).toEqual(expected);
      }),
    );
  });

  it("when full, takes a higher-priority packet in place of the last lower one, and refuses the rest", () => {
    const queue = new TxQueue(3);
    for (let id = 1; id <= 3; id++) expect(queue.enqueue(entry(id, Priority.DEFAULT, true), 0).accepted).toBe(true);
    expect(queue.enqueue(entry(4, Priority.DEFAULT, false), 0)).toEqual({ accepted: false });
    const ack = queue.enqueue(entry(5, Priority.ACK, true), 0);
    expect(ack.accepted).toBe(true);
    expect(ack.evicted?.header.id).toBe(3);
    expect(queue.front()?.header.id).toBe(5);
  });

  it("a full node sends its own ACK before the relays it queued earlier", () => {
    const r = rig();
    r.net.addNode({ node: node(0x5001), position: { x: 0, y: 0 } });
    const far = injector(r, 0x5fff, 300);
    for (let id = 1; id <= 3; id++) {
      far.send({ from: 0x7000 + id, id, hopLimit: 3 });
      r.clock.advance(loraAirtimeMs(16 + 16) + 1); // heard; its relay queued behind a fresh contention wait
    }
    const ackId = r.net.radio(0x5001).originate({ portnum: PortNum.ROUTING_APP, payload: Uint8Array.of(0x18, 0x00), requestId: 42 }, { to: 0x7001 })!;
    r.clock.advance(60_000);
    const order = framesOf(r, 0x5001).map((f) => f.header.id);
    expect(order[0]).toBe(ackId);
    expect(order.slice(1).sort()).toEqual([1, 2, 3]);
  });
});

describe("the transmit timer (RadioLibInterface)", () => {
  it("a CLIENT's relay starts at least 2*CWmax slots after the last frame its radio heard end, decoded or not", () => {
    // A busy little net: every node a CLIENT, some pairs out of earshot.
    const r = rig({ seed: 9, pathLoss: { shadowingDb: 4, fadingDb: 2 }, linkLoss: 0.2 });
    const nums = Array.from({ length: 12 }, (_, i) => 0x6001 + i);
    nums.forEach((num, i) => r.net.addNode({ node: node(num, CLIENT), position: { x: (i % 4) * 900, y: Math.floor(i / 4) * 900 } }));
    const heardEnds = new Map<number, number[]>();
    for (const num of nums) {
      const router = r.net.get(num).router;
      const receive = router.receive.bind(router);
      const receiveFailed = router.receiveFailed.bind(router);
      const note = (): void => void heardEnds.set(num, [...(heardEnds.get(num) ?? []), r.clock.now()]);
      router.receive = (reception) => {
        note();
        receive(reception);
      };
      router.receiveFailed = (transmission) => {
        note();
        receiveFailed(transmission);
      };
    }
    // One originator: the others only ever queue relays. (A node whose own packet is at the front
    // waits that packet's short delay, and a relay queued meanwhile goes first: that is the firmware too.)
    for (let k = 0; k < 20; k++) r.clock.setTimer(k * 1_500, () => r.net.radio(nums[0]!).originate(privatePayload(), { hopLimit: 3 }));
    r.clock.advance(120_000);
    const relays = r.frames.filter((f) => f.header.from !== f.transmitter);
    expect(relays.length).toBeGreaterThan(20);
    expect(r.net.channel.stats.collisions + r.net.channel.stats.linkLoss).toBeGreaterThan(0);
    for (const relay of relays) {
      const before = (heardEnds.get(relay.transmitter) ?? []).filter((end) => end <= relay.startMs);
      const last = Math.max(...before);
      expect(relay.startMs - last).toBeGreaterThanOrEqual(16 * SLOT);
    }
  });

  it("counts frames lost to a collision in channel utilisation, as the device does (RX_ALL)", () => {
    // Two senders 4 km apart cannot hear each other; the node midway hears both, equally strong.
    const r = rig();
    r.net.addNode({ node: node(0x7001), position: { x: -2_000, y: 0 } });
    r.net.addNode({ node: node(0x7002), position: { x: 0, y: 0 } });
    r.net.addNode({ node: node(0x7003), position: { x: 2_000, y: 0 } });
    r.net.radio(0x7001).originate(privatePayload(40));
    r.net.radio(0x7003).originate(privatePayload(40));
    r.clock.advance(3_000);
    const originals = r.frames.filter((f) => f.transmitter === f.header.from);
    expect(originals).toHaveLength(2);
    expect(r.net.channel.stats.collisions).toBeGreaterThanOrEqual(2);
    expect(r.deliveries.filter(([receiver]) => receiver === 0x7002)).toHaveLength(0);
    const airtime = originals.reduce((sum, f) => sum + f.airtimeMs, 0);
    expect(r.net.get(0x7002).router.channelUtilization()).toBeCloseTo((airtime / 60_000) * 100, 5);
  });
});

describe("managed flooding against the firmware", () => {
  it("a copy heard with more hops left replaces the relay still queued (perhapsHandleUpgradedPacket)", () => {
    const r = rig();
    r.net.addNode({ node: node(0x8001), position: { x: 0, y: 0 } });
    const near = injector(r, 0x8fff, 300);
    near.send({ from: 0x8100, id: 77, hopLimit: 1, relayNode: 0x22 }); // a relay's copy first
    r.clock.advance(loraAirtimeMs(16 + 20) + 1); // heard; its relay (hop 0) waits
    near.send({ from: 0x8100, id: 77, hopLimit: 3, relayNode: 0x00 }); // then the original
    r.clock.advance(30_000);
    const relayed = framesOf(r, 0x8001, 77);
    expect(relayed.map((f) => f.header.hopLimit)).toEqual([2]);
    expect(r.net.get(0x8001).router.stats.upgraded).toBe(1);
  });

  it("ROUTER_LATE relays with a client's delay and, hearing another relay, moves its copy late instead of cancelling", () => {
    for (const role of [CLIENT, ROUTER_LATE]) {
      const r = rig();
      r.net.addNode({ node: node(0x9001, role), position: { x: 0, y: 0 } });
      const near = injector(r, 0x9fff, 300);
      near.send({ from: 0x9100, id: 5, hopLimit: 3 });
      const firstEnd = r.clock.now() + loraAirtimeMs(16 + 20);
      r.clock.advance(loraAirtimeMs(16 + 20) + 1);
      near.send({ from: 0x9100, id: 5, hopLimit: 2, relayNode: 0x33 }); // another node's relay, heard while ours waits
      const dupEnd = r.clock.now() + loraAirtimeMs(16 + 20);
      r.clock.advance(60_000);
      const ours = framesOf(r, 0x9001, 5);
      if (role === CLIENT) {
        expect(ours).toHaveLength(0);
        expect(r.net.get(0x9001).router.stats.cancelled).toBe(1);
        continue;
      }
      expect(ours).toHaveLength(1);
      expect(ours[0]!.startMs - firstEnd).toBeGreaterThanOrEqual(16 * SLOT); // not a ROUTER's early slot
      expect(ours[0]!.startMs - dupEnd).toBeGreaterThanOrEqual(rebroadcastDelayWorstMs(-20));
      expect(r.net.get(0x9001).router.stats).toMatchObject({ cancelled: 0, delayedLate: 1 });
    }
  });

  it("CLIENT_BASE is a ROUTER_LATE for its favourites and a CLIENT for everyone else", () => {
    const r = rig();
    r.net.addNode({ node: node(0xa001, DeviceRole.CLIENT_BASE), position: { x: 0, y: 0 }, favorites: [0xa100] });
    const near = injector(r, 0xafff, 300);
    for (const from of [0xa100, 0xa200]) {
      near.send({ from, id: 9, hopLimit: 3 });
      r.clock.advance(loraAirtimeMs(16 + 20) + 1);
      near.send({ from, id: 9, hopLimit: 2, relayNode: 0x44 });
      r.clock.advance(60_000);
    }
    const relayed = framesOf(r, 0xa001).map((f) => f.header.from);
    expect(relayed).toEqual([0xa100]);
    expect(r.net.get(0xa001).router.stats).toMatchObject({ cancelled: 1, delayedLate: 1 });
  });
});

describe("hop limits between router-like nodes (Router::shouldDecrementHopLimit)", () => {
  it("a CLIENT_BASE relaying after its favourite ROUTER keeps the hop_limit; after anyone else, or on the first hop, it spends one", () => {
    const relayed = (favorite: boolean, hopLimit: number): number[] => {
      const r = rig();
      r.net.addNode({ node: node(0xd0aa, DeviceRole.ROUTER), position: { x: 100_000, y: 0 } }); // the favourite, out of earshot
      r.net.addNode({ node: node(0xd001, DeviceRole.CLIENT_BASE), position: { x: 0, y: 0 }, favorites: favorite ? [0xd0aa] : [] });
      injector(r, 0xdfff, 300).send({ from: 0xd100, id: 3, hopLimit, relayNode: 0xaa }); // as if the router relayed it
      r.clock.advance(30_000);
      return framesOf(r, 0xd001, 3).map((f) => f.header.hopLimit);
    };
    expect(relayed(true, 2)).toEqual([2]);
    expect(relayed(false, 2)).toEqual([1]);
    expect(relayed(true, 3)).toEqual([2]); // hop_start = hop_limit: heard from the originator itself
  });
});

describe("retransmissions (ReliableRouter)", () => {
  /** A radio over an air that sends after `queuedMs` and records what it was given. */
  function radioOnInstantAir(utilization = 0, queuedMs = 0): { radio: SimRadio; clock: VirtualClock; sent: SimPacket[] } {
    const clock = new VirtualClock();
    const sent: SimPacket[] = [];
    const air: RadioAir = {
      send: (packet, done) => {
        sent.push(packet);
        clock.setTimer(queuedMs, () => done());
        return true;
      },
      cancel: () => undefined,
      free: () => 16,
    };
    const radio = new SimRadio({
      node: node(0xb001),
      clock,
      air,
      random: () => 0.5,
      idleTimeoutMs: 0,
      airtimeStats: () => ({ channelUtilization: utilization, airUtilTx: 0 }),
    });
    return { radio, clock, sent };
  }

  it("waits out the airtime of what the radio heard or sent meanwhile before retransmitting", () => {
    const data = text("NEED WATER");
    const bytes = 16 + 2 + 2 + data.payload.length + 2; // header, portnum, payload, bitfield
    const timeout = retransmissionMs(bytes);
    const plain = radioOnInstantAir();
    plain.radio.originate(data, { wantAck: true });
    plain.clock.advance(timeout + 1);
    expect(plain.sent).toHaveLength(2);

    const busy = radioOnInstantAir();
    busy.radio.originate(data, { wantAck: true });
    busy.clock.advance(timeout / 2);
    busy.radio.extendRetransmissions(1_500); // a frame heard meanwhile
    busy.clock.advance(timeout / 2 + 1);
    expect(busy.sent).toHaveLength(1);
    busy.clock.advance(1_500);
    expect(busy.sent).toHaveLength(2);
  });

  it("starts the retransmission timer when the packet is queued, not when it finally goes on the air", () => {
    const data = text("NEED WATER");
    const timeout = retransmissionMs(16 + 2 + 2 + data.payload.length + 2);
    const slow = radioOnInstantAir(0, 3_000); // three seconds in the TX queue behind a busy channel
    slow.radio.originate(data, { wantAck: true });
    slow.clock.advance(timeout + 1);
    expect(slow.sent).toHaveLength(2);
  });

  it("waits longer on a busy channel: the window grows with channel utilisation", () => {
    expect(retransmissionMs(40, MODEM_PRESETS.LONG_FAST, 60)).toBeGreaterThan(retransmissionMs(40));
    const data = text("NEED WATER");
    const busy = radioOnInstantAir(60);
    busy.radio.originate(data, { wantAck: true });
    busy.clock.advance(retransmissionMs(16 + 2 + 2 + data.payload.length + 2) + 1);
    expect(busy.sent).toHaveLength(1);
  });
});

describe("the periodic-traffic gates (airtime.cpp)", () => {
  it("holds position and telemetry back above 25 % channel utilisation (40 % for the impolite roles)", () => {
    expect(isTxAllowedChannelUtil(24.9, true)).toBe(true);
    expect(isTxAllowedChannelUtil(25, true)).toBe(false);
    expect(isTxAllowedChannelUtil(39.9, false)).toBe(true);
    expect(isTxAllowedChannelUtil(40, false)).toBe(false);
    const busy = { channelUtilization: 30, airUtilTx: 0 };
    expect(periodicAllowed("position", DeviceRole.CLIENT, busy, 100)).toBe(false);
    expect(periodicAllowed("position", DeviceRole.TRACKER, busy, 100)).toBe(true);
    expect(periodicAllowed("telemetry", DeviceRole.CLIENT, busy, 100)).toBe(false);
    expect(periodicAllowed("telemetry", DeviceRole.ROUTER, busy, 100)).toBe(true);
    expect(periodicAllowed("nodeinfo", DeviceRole.CLIENT, busy, 100)).toBe(true);
  });

  it("stops periodic traffic at half the region's duty cycle, never where there is none", () => {
    expect(isTxAllowedAirUtil(4.9, 10)).toBe(true);
    expect(isTxAllowedAirUtil(5, 10)).toBe(false);
    expect(isTxAllowedAirUtil(99, 100)).toBe(true);
    const spent = { channelUtilization: 0, airUtilTx: 6 };
    expect(periodicAllowed("nodeinfo", DeviceRole.CLIENT, spent, 10)).toBe(false);
    expect(periodicAllowed("telemetry", DeviceRole.CLIENT, spent, 10)).toBe(false);
    expect(periodicAllowed("position", DeviceRole.CLIENT, spent, 10)).toBe(true);
  });

  it("a simulated radio applies them to what it measures", () => {
    const radio = new SimRadio({ node: node(0xc001), clock: new VirtualClock(), idleTimeoutMs: 0, airtimeStats: () => ({ channelUtilization: 30, airUtilTx: 1 }) });
    expect(radio.periodicAllowed("position")).toBe(false);
    expect(radio.periodicAllowed("nodeinfo")).toBe(true);
  });
});
