// Gap fill from anyone, and the outbox per peer (aedes in process): a station that holds a third
// station's log fills a newcomer's gap while the owner is offline, with the owner's own signed
// batches; a forged or altered forwarded batch is refused; how far each peer holds this station's
// log (its signed vector) survives a restart.
import { Writable } from "node:stream";
import mqtt from "mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { openEnvelope, sealEnvelope } from "../../src/relay/index.ts";
import { idsIn, keysFor, useRelayRigs, type RelayRig } from "../helpers/relay.ts";
import { presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-relay-forward-");
const relays = useRelayRigs();

function capturedLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines: () => lines };
}

async function writeOwn(rig: RelayRig, count: number, origin = 0x4001): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => rig.store.append(presetRecord(origin, i + 1))));
}

describe("gap fill from anyone", () => {
  it("a peer fills a newcomer's gap in the owner's log while the owner is offline; forged forwarded batches are refused", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["north", "hub", "late", "mallory"]);
    const hubLog = capturedLogger();
    const lateLog = capturedLogger();
    const small = { batchRecords: 50 };
    const north = await relays.rig({ name: "north", dir: dir.path, url: broker.url, keys, relay: small });
    const hub = await relays.rig({ name: "hub", dir: dir.path, url: broker.url, keys, logger: hubLog.logger, relay: small });
    await writeOwn(north, 420);
    await expect.poll(() => hub.replica.held("north"), { timeout: 20_000 }).toBe(420);
    // North goes offline for good; a station that never met it joins.
    await north.stop();
    const late = await relays.rig({ name: "late", dir: dir.path, url: broker.url, keys, logger: lateLog.logger, relay: small });
    await expect.poll(() => late.replica.held("north"), { timeout: 30_000 }).toBe(420);
    expect(late.store.count).toBe(420);
    expect(new Set(await idsIn(late.store)).size).toBe(420);
    expect(hubLog.lines().some((line) => line["msg"] === "filling a peer's gap in another station's log with its signed batches" && line["owner"] === "north")).toBe(true);

    // Mallory is trusted (for its own log) and can publish: it tries to slip records into north's log.
    const spy = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    const forwardTopic = "meshaid/test/fill/late/north";
    const northLog = late.replica.peerLog("north") as string;
    const mallory = keys.get("mallory")!;
    const ownSigned = sealEnvelope({ kind: "batch", coalition: "test", station: "mallory", body: { log: northLog, first: 421, records: [presetRecord(0x6666, 1)] } }, mallory.secretKey);
    const posingAsNorth = sealEnvelope({ kind: "batch", coalition: "test", station: "north", body: { log: northLog, first: 421, records: [presetRecord(0x6666, 2)] } }, mallory.secretKey);
    // A genuine batch of north's, one record changed.
    const genuine = sealEnvelope({ kind: "batch", coalition: "test", station: "north", body: { log: northLog, first: 421, records: [presetRecord(0x4001, 421)] } }, keys.get("north")!.secretKey);
    const altered = Buffer.from(genuine);
    const at = altered.indexOf(Buffer.from('"seq":421'));
    altered[at + 7] = "9".charCodeAt(0);
    expect(openEnvelope(altered, (name) => keys.get(name)?.publicKey).ok).toBe(false);
    for (const bytes of [ownSigned, posingAsNorth, altered]) await spy.publishAsync(forwardTopic, Buffer.from(bytes), { qos: 1 });
    await spy.endAsync();
    const reasons = (): string => lateLog.lines().filter((line) => String(line["msg"]).startsWith("relayed envelope rejected")).map((line) => String(line["reason"])).join("\n");
    await expect.poll(reasons, { timeout: 10_000 }).toMatch(/signed by "mallory" on the topic of "north"/);
    await expect.poll(() => (reasons().match(/bad signature for station "north"/g) ?? []).length, { timeout: 10_000 }).toBe(2);
    expect(late.replica.held("north")).toBe(420);
    expect(late.store.count).toBe(420);
  });
});

describe("who answers an ask", () => {
  it("with the owner away and two stations holding its log, one of them fills a newcomer's gap; the other stays silent", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["north", "east", "west", "late"]);
    const small = { batchRecords: 50 };
    const north = await relays.rig({ name: "north", dir: dir.path, url: broker.url, keys, relay: small });
    const holders = { east: capturedLogger(), west: capturedLogger() };
    const east = await relays.rig({ name: "east", dir: dir.path, url: broker.url, keys, logger: holders.east.logger, relay: small });
    const west = await relays.rig({ name: "west", dir: dir.path, url: broker.url, keys, logger: holders.west.logger, relay: small });
    await writeOwn(north, 420);
    await expect.poll(() => east.replica.held("north"), { timeout: 20_000 }).toBe(420);
    await expect.poll(() => west.replica.held("north"), { timeout: 20_000 }).toBe(420);
    await north.stop();
    // Every copy of north's batches that goes to the newcomer, whoever forwards it.
    const spy = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    let fills = 0;
    spy.on("message", () => (fills += 1));
    await spy.subscribeAsync("meshaid/test/fill/late/north", { qos: 1 });
    try {
      // A slower stall check on the newcomer: a fill that is flowing is never taken for a silent holder.
      const late = await relays.rig({ name: "late", dir: dir.path, url: broker.url, keys, relay: { ...small, stallMs: 1000 } });
      await expect.poll(() => late.replica.held("north"), { timeout: 30_000 }).toBe(420);
      expect(late.store.count).toBe(420);
      const forwarded = (logs: { lines: () => Array<Record<string, unknown>> }): boolean => logs.lines().some((line) => line["msg"] === "filling a peer's gap in another station's log with its signed batches" && line["owner"] === "north");
      expect([forwarded(holders.east), forwarded(holders.west)].filter(Boolean)).toHaveLength(1);
      // Each of north's 9 batches reached the newcomer once (two answering holders would send 18).
      expect(fills).toBe(Math.ceil(420 / 50));
    } finally {
      await spy.endAsync();
    }
  });
});

describe("the outbox per peer", () => {
  it("how far each peer holds this station's log survives a restart, and the backlog drains when the peer returns", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["north", "south"]);
    let north = await relays.rig({ name: "north", dir: dir.path, url: broker.url, keys });
    let south = await relays.rig({ name: "south", dir: dir.path, url: broker.url, keys });
    await writeOwn(north, 30);
    await expect.poll(() => north.replica.peerHolds("south"), { timeout: 20_000 }).toBe(30);
    expect(north.relay.state().peers.find((peer) => peer.station === "south")?.behind).toBe(0);
    await south.stop();
    await writeOwn(north, 50, 0x4002);
    await expect.poll(() => north.replica.head, { timeout: 10_000 }).toBe(80);
    // North restarts while south is away: its backlog for south is known at once, from disk.
    await north.stop();
    north = await relays.rig({ name: "north", dir: dir.path, url: broker.url, keys });
    expect(north.replica.peerHolds("south")).toBe(30);
    expect(north.relay.state().peers.find((peer) => peer.station === "south")?.behind).toBe(50);
    south = await relays.rig({ name: "south", dir: dir.path, url: broker.url, keys });
    await expect.poll(() => south.replica.held("north"), { timeout: 20_000 }).toBe(80);
    await expect.poll(() => north.relay.state().peers.find((peer) => peer.station === "south")?.behind, { timeout: 20_000 }).toBe(0);
    expect(north.replica.peerHolds("south")).toBe(80);
  });
});
