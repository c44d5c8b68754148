// Outages with a real broker (aedes in process): a peer offline for the whole run, a broker
// restart, a station restart; forged and replayed envelopes. Every record arrives once.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import mqtt from "mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { sealEnvelope, signingKeyPair } from "../../src/relay/index.ts";
import { idsIn, keysFor, useRelayRigs, type RelayRig } from "../helpers/relay.ts";
import { presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-relay-");
const relays = useRelayRigs();
const broker = relays.broker;

function hear(rig: RelayRig, from: number, count: number, firstId = 1): void {
  for (let i = 0; i < count; i += 1) rig.radio.hear(from, firstId + i, i % 2 ? "NEED WATER" : "INJURED 1");
}

async function expectSame(rigsToCompare: RelayRig[], count: number): Promise<void> {
  for (const rig of rigsToCompare) await expect.poll(() => rig.store.count, { timeout: 20_000 }).toBe(count);
  const first = (await idsIn(rigsToCompare[0]!.store)).sort();
  expect(new Set(first).size).toBe(count);
  for (const rig of rigsToCompare.slice(1)) expect((await idsIn(rig.store)).sort()).toEqual(first);
}

/** A logger whose lines the test can read. */
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

describe("relay outages", () => {
  it("a peer offline for the whole run gets everything from the owner when it joins", async () => {
    const { url } = await broker();
    const keys = keysFor(["north", "south", "late"]);
    const north = await relays.rig({ name: "north", dir: dir.path, url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url, keys });
    hear(north, 0x11, 40);
    hear(south, 0x22, 25);
    await expectSame([north, south], 65);
    const late = await relays.rig({ name: "late", dir: dir.path, url, keys });
    await expectSame([north, south, late], 65);
    hear(late, 0x33, 5);
    await expectSame([north, south, late], 70);
  });

  it("a broker restart (sessions lost) loses nothing and stores nothing twice", async () => {
    const first = await broker();
    const keys = keysFor(["north", "south"]);
    const north = await relays.rig({ name: "north", dir: dir.path, url: first.url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url: first.url, keys });
    hear(north, 0x11, 20);
    await expectSame([north, south], 20);
    await first.close();
    hear(north, 0x11, 30, 1000); // heard while the broker is down
    hear(south, 0x22, 10);
    await expect.poll(() => north.relay.state().link).toBe("down");
    await broker(first.port);
    await expectSame([north, south], 60);
    await expect.poll(() => north.relay.state().outboxPending, { timeout: 10_000 }).toBe(0);
  });

  it("a station stops promptly while the broker is down, and its outbox waits on disk", async () => {
    const first = await broker();
    const keys = keysFor(["north", "south"]);
    let north = await relays.rig({ name: "north", dir: dir.path, url: first.url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url: first.url, keys });
    await first.close();
    await expect.poll(() => north.relay.state().link).toBe("down");
    hear(north, 0x11, 12);
    await north.station.idle();
    await north.stop(); // resolves: mqtt.js is not left waiting for acknowledgements that cannot come
    await broker(first.port);
    north = await relays.rig({ name: "north", dir: dir.path, url: first.url, keys });
    await expectSame([north, south], 12);
  });

  it("a peer whose data was wiped starts a new log under the same name, and it is followed again", async () => {
    const { url } = await broker();
    const keys = keysFor(["north", "south"]);
    let north = await relays.rig({ name: "north", dir: dir.path, url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url, keys });
    hear(north, 0x11, 10);
    await expect.poll(() => south.store.count, { timeout: 10_000 }).toBe(10);
    await north.stop();
    await rm(join(dir.path, "north"), { recursive: true, force: true }); // meshaid wipe
    north = await relays.rig({ name: "north", dir: dir.path, url, keys });
    hear(north, 0x11, 4, 500);
    await expect.poll(() => south.store.count, { timeout: 10_000 }).toBe(14);
    expect(south.replica.held("north")).toBe(4);
  });

  it("a station restarted sends what the broker had not acknowledged, once", async () => {
    const { url } = await broker();
    const keys = keysFor(["north", "south"]);
    let north = await relays.rig({ name: "north", dir: dir.path, url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url, keys });
    hear(north, 0x11, 10);
    await expectSame([north, south], 10);
    await north.stop();
    // Its log and outbox are read back from disk: numbering continues, nothing is sent twice.
    north = await relays.rig({ name: "north", dir: dir.path, url, keys });
    hear(north, 0x11, 15, 500);
    await expectSame([north, south], 25);
    expect(north.replica.head).toBe(25);
    expect(south.replica.held("north")).toBe(25);
  });

  it("link flapping mid-stream loses nothing and stores nothing twice", async () => {
    const { url } = await broker();
    const keys = keysFor(["north", "south"]);
    const north = await relays.rig({ name: "north", dir: dir.path, url, keys, relay: { batchRecords: 5, window: 2 } });
    const south = await relays.rig({ name: "south", dir: dir.path, url, keys, relay: { batchRecords: 5, window: 2 } });
    for (let round = 0; round < 6; round += 1) {
      hear(north, 0x11, 20, round * 100);
      hear(south, 0x22, 5, round * 100);
      await north.station.idle();
      (round % 2 ? south : north).client.stream.destroy(); // the link drops mid-stream
    }
    await expectSame([north, south], 150);
    await expect.poll(() => north.relay.state().outboxPending, { timeout: 10_000 }).toBe(0);
  });

  it("rejects forged, altered, untrusted and replayed envelopes with a logged reason", async () => {
    const { url } = await broker();
    const keys = keysFor(["north", "south", "east"]);
    const log = capturedLogger();
    const north = await relays.rig({ name: "north", dir: dir.path, url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url, keys, logger: log.logger });
    const spy = await mqtt.connectAsync(url, { protocolVersion: 4 });
    const captured: Buffer[] = [];
    spy.on("message", (_topic, payload) => captured.push(payload));
    await spy.subscribeAsync("meshaid/test/log/north", { qos: 1 });
    hear(north, 0x11, 3);
    await expectSame([north, south], 3);
    await expect.poll(() => captured.length).toBeGreaterThan(0);

    const intruder = signingKeyPair();
    const forged = sealEnvelope({ kind: "batch", coalition: "test", station: "north", body: { log: "0123456789abcdef", first: 4, records: [presetRecord(0x66, 1)] } }, intruder.secretKey);
    const altered = Buffer.from(captured[0]!);
    altered[altered.length - 100] = altered[altered.length - 100]! ^ 1;
    const untrusted = sealEnvelope({ kind: "batch", coalition: "test", station: "mallory", body: { log: "0123456789abcdef", first: 1, records: [presetRecord(0x67, 1)] } }, intruder.secretKey);
    await spy.publishAsync("meshaid/test/log/north", Buffer.from(forged), { qos: 1 });
    await spy.publishAsync("meshaid/test/log/north", altered, { qos: 1 });
    await spy.publishAsync("meshaid/test/log/mallory", Buffer.from(untrusted), { qos: 1 });
    await spy.publishAsync("meshaid/test/log/north", captured[0]!, { qos: 1 });
    await spy.publishAsync("meshaid/test/log/east", captured[0]!, { qos: 1 }); // north's batch on east's topic
    await spy.endAsync();

    const reasons = (): string[] => log.lines().filter((line) => String(line["msg"]).startsWith("relayed envelope rejected")).map((line) => String(line["reason"] ?? line["msg"]));
    await expect.poll(() => reasons().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    const all = reasons().join("\n");
    expect(all).toMatch(/bad signature for station "north"/);
    expect(all).toMatch(/"mallory" is not in the trust list/);
    expect(all).toMatch(/replayed/);
    expect(all).toMatch(/signed by "north" on the topic of "east"/);
    expect(south.store.count).toBe(3);
    expect(south.replica.held("north")).toBe(3);
  });
});
