// Three real base stations on the simulated mesh: each meshaid Station on its own LevelDB, its
// RadioConnection speaking the serial API to a simulated radio over an in-process USB cable, the
// radios on one simulated LoRa channel (real time on air, collisions, flooding). Station C is off
// the air while A's second record goes out: C finds the gap from A's next held ACK, asks, A
// resends, and A's record reaches all three stations (A sees "3/3").
import { afterEach, describe, expect, it, vi } from "vitest";
import { join } from "node:path";
import { Level } from "level";
import pino from "pino";
import { DeviceRole, RadioConnection } from "../../src/radio/index.ts";
import { SimNet, SimUsbPort } from "../../src/sim/index.ts";
import { Station, TransmitScheduler } from "../../src/station/index.ts";
import { PeerLog, RecordStore, SendLog, type RecordDatabase } from "../../src/store/index.ts";
import { decodePayload, MESHAID_PORTNUM, type RecordBody } from "../../src/wire/index.ts";
import { codebook, presets, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const logger = pino({ level: "silent" });
const A = 0xba5e000a;
const B = 0xba5e000b;
const C = 0xba5e000c;
const water = (quantity: number): RecordBody => ({ kind: "supply_request", lines: [{ item: "water", quantity }], priority: "normal", place: { landmark: 1 } });

describe("base stations on the simulated mesh", () => {
  const dir = useTempDir();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function base(net: SimNet, num: number, name: string, x: number): Promise<{ station: Station; store: RecordStore }> {
    const node = net.addNode({ node: { num, longName: `Base ${name}`, shortName: name, role: DeviceRole.CLIENT, hwModel: 31 }, position: { x, y: 0 } });
    const port = new SimUsbPort(node.radio);
    const radio = new RadioConnection({ open: () => port.open(), logger, initialBackoffMs: 5, maxBackoffMs: 50 });
    const db: RecordDatabase = new Level<string, Uint8Array>(join(dir.path, name), { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const scheduler = new TransmitScheduler({ sender: radio, minIntervalMs: 300, dutyCycle: 1 });
    const station = new Station({
      name,
      radio,
      store,
      presets,
      codebook,
      site,
      logger,
      scheduler,
      sends: await SendLog.open(db),
      peers: await PeerLog.open(db),
      peerTuning: { heldDelayMs: 300, firstAnnounceMs: 200, announceMs: 3000, graceMs: 1000, retryBaseMs: 3000 },
    });
    await station.start();
    await radio.start();
    cleanups.push(async () => {
      scheduler.close();
      await station.stop();
      await radio.close();
      await store.close();
    });
    return { station, store };
  }

  it("a record C missed is asked for and resent over the air, and A sees it reach all stations", async () => {
    const net = new SimNet({ seed: 7, preset: "SHORT_FAST" });
    cleanups.push(() => net.close());
    const a = await base(net, A, "A", 0);
    const b = await base(net, B, "B", 300);
    const c = await base(net, C, "C", -300);
    // Who put A's records on the air: A itself, and B relaying them (the mesh floods).
    const relayedByB = new Set<number>();
    net.onFrame((frame) => {
      const packet = frame.packet;
      if (frame.transmitter !== B || packet?.from !== A || packet.decoded.portnum !== MESHAID_PORTNUM) return;
      const decoded = decodePayload(packet.decoded.payload, codebook, A);
      if (decoded.ok) for (const record of decoded.value.records) relayedByB.add(record.id.seq);
    });
    await vi.waitFor(() => expect([a, b, c].every((s) => s.station.status().radio.status === "connected")).toBe(true), { timeout: 20_000 });
    await vi.waitFor(() => expect(a.station.status().origin).toBe(A), { timeout: 20_000 });

    const first = await a.station.send({ bodies: [water(10)] });
    expect(first.ok).toBe(true);
    await vi.waitFor(async () => expect(await c.store.get({ origin: A, seq: 1 })).toBeDefined(), { timeout: 30_000 });
    // C's radio goes off the air while A's second record goes out, and comes back once B has it.
    net.setOnline(C, false);
    const second = await a.station.send({ bodies: [water(20)] });
    expect(second.ok).toBe(true);
    await vi.waitFor(async () => expect(await b.store.get({ origin: A, seq: 2 })).toBeDefined(), { timeout: 30_000 });
    await vi.waitFor(() => expect(relayedByB.has(2)).toBe(true), { timeout: 30_000 });
    expect(await c.store.get({ origin: A, seq: 2 })).toBeUndefined();
    net.setOnline(C, true);

    // C learns from A's next held ACK that A's sequence reaches 2, asks, and A resends it.
    await vi.waitFor(async () => expect(await c.store.get({ origin: A, seq: 2 })).toBeDefined(), { timeout: 45_000 });
    await vi.waitFor(() => expect(a.station.status().gaps?.resent).toBeGreaterThanOrEqual(1), { timeout: 30_000 });
    expect(c.station.status().gaps?.asking).toEqual([]);
    // Group delivery: every base station holds both of A's records.
    await vi.waitFor(
      () => {
        const recent = a.station.snapshot().recent.filter((record) => record.id.origin === A);
        expect(recent.map((record) => record.delivery?.stations)).toEqual([
          { have: 3, of: 3, missing: [] },
          { have: 3, of: 3, missing: [] },
        ]);
      },
      { timeout: 30_000 },
    );
    expect(a.station.status().stations?.map((peer) => [peer.num, peer.holdsOurs, peer.missingOurs]).sort()).toEqual([
      [B, 2, 0],
      [C, 2, 0],
    ]);
  });
});
