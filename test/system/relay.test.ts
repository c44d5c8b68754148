// The relay with a REAL Mosquitto (MQTT 5) the test starts on a free loopback port: link flapping,
// broker restart and kill, a station killed with kill -9 and restarted (a child process), a peer
// offline for the whole run then joining, forged and replayed envelopes. After each, every
// record is in every peer's store exactly once.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Level } from "level";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import type { SendRequest } from "../../src/radio/index.ts";
import { Downlink, sealEnvelope, signingKeyPair } from "../../src/relay/index.ts";
import { TransmitScheduler } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { idsIn, keysFor, startRig, type Keys, type RelayRig } from "../helpers/relay.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const CHILD = fileURLToPath(new URL("./relay-child.ts", import.meta.url));
const dir = useTempDir("meshaid-relay-system-");
let broker: Mosquitto | undefined;
let rigs: RelayRig[] = [];
let children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  children = [];
  for (const rig of rigs) await rig.stop().catch(() => undefined);
  rigs = [];
  await broker?.stop("SIGKILL");
  broker = undefined;
});

function hear(rig: RelayRig, from: number, count: number, firstId = 1): void {
  for (let i = 0; i < count; i += 1) rig.radio.hear(from, firstId + i, i % 2 ? "NEED WATER" : "INJURED 1");
}

async function expectSame(rigsToCompare: RelayRig[], count: number): Promise<void> {
  for (const rig of rigsToCompare) await expect.poll(() => rig.store.count, { timeout: 30_000 }).toBe(count);
  const first = (await idsIn(rigsToCompare[0]!.store)).sort();
  expect(new Set(first).size).toBe(count);
  for (const rig of rigsToCompare.slice(1)) expect((await idsIn(rig.store)).sort()).toEqual(first);
}

const rig = (name: string, keys: Map<string, Keys>, extra: Partial<Parameters<typeof startRig>[0]> = {}): Promise<RelayRig> =>
  startRig({ name, dir: dir.path, url: broker!.url, keys, protocolVersion: 5, ...extra });

describe("relay through a real Mosquitto", () => {
  it("link flapping and a broker restart (SIGTERM, then kill -9): nothing lost, nothing twice", async () => {
    broker = await Mosquitto.start(dir.path);
    const keys = keysFor(["north", "south", "east"]);
    rigs = [await rig("north", keys, { relay: { batchRecords: 7, window: 3 } }), await rig("south", keys), await rig("east", keys)];
    const [north, south, east] = rigs as [RelayRig, RelayRig, RelayRig];
    for (let round = 0; round < 4; round += 1) {
      hear(north, 0x11, 25, round * 100);
      hear(south, 0x22, 5, round * 100);
      await north.station.idle();
      rigs[round % 3]!.client.stream.destroy(); // the link drops mid-stream
    }
    await expectSame(rigs, 120);
    await broker.stop("SIGTERM");
    hear(north, 0x11, 30, 1000); // heard while the broker is down
    hear(east, 0x33, 10, 1000);
    await broker.run();
    await expectSame(rigs, 160);
    await broker.stop("SIGKILL"); // whatever it had not saved is gone: the owners fill the gaps
    hear(south, 0x22, 20, 2000);
    await broker.run();
    hear(north, 0x11, 10, 3000);
    await expectSame(rigs, 190);
    await expect.poll(() => north.relay.state().outboxPending, { timeout: 20_000 }).toBe(0);
    expect(east.replica.held("north")).toBe(north.replica.head);
    expect(north.replica.held("south")).toBe(south.replica.head);
  });

  it("a station killed with kill -9 and restarted: every record it acknowledged reaches the peer, once", async () => {
    broker = await Mosquitto.start(dir.path);
    const keys = keysFor(["north", "south"]);
    const south = await rig("south", keys);
    rigs = [south];
    const keysJson = JSON.stringify(Object.fromEntries([...keys].map(([name, k]) => [name, { secretKey: Buffer.from(k.secretKey).toString("base64"), publicKey: Buffer.from(k.publicKey).toString("base64") }])));
    const acked = new Set<string>();
    const startChild = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir.path, "north", broker!.url, keysJson], { stdio: ["pipe", "pipe", "inherit"] });
      children.push(child);
      let ready: () => void = () => undefined;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (line === "READY") ready();
        else if (line.startsWith("ACK ")) acked.add(line.slice(4).replace(" ", "!"));
      });
      await isReady;
      return child;
    };
    const send = (child: ChildProcess, from: number, count: number, firstId: number): void => {
      for (let i = 0; i < count; i += 1) child.stdin!.write(`${from} ${firstId + i} ${i % 2 ? "NEED WATER" : "INJURED 1"}\n`);
    };
    let north = await startChild();
    send(north, 0x11, 300, 1);
    await expect.poll(() => acked.size, { timeout: 30_000 }).toBeGreaterThan(100);
    north.kill("SIGKILL");
    await new Promise((resolve) => north.once("exit", resolve));
    const ackedBeforeKill = new Set(acked);
    north = await startChild();
    send(north, 0x11, 300, 1); // the radio hears them again (some were stored before the kill)
    send(north, 0x11, 50, 1000);
    north.stdin!.end();
    await new Promise((resolve) => north.once("exit", resolve));

    const northStore = await RecordStore.open(new Level<string, Uint8Array>(join(dir.path, "north"), { valueEncoding: "view" }), codebook);
    const northIds = (await idsIn(northStore)).sort();
    await northStore.close();
    expect(northIds.length).toBe(350);
    for (const id of ackedBeforeKill) expect(northIds).toContain(`${id.split("!")[0]}!${id.split("!")[1]}`);
    await expect.poll(() => south.store.count, { timeout: 30_000 }).toBe(350);
    expect((await idsIn(south.store)).sort()).toEqual(northIds);
  });

  it("a peer offline for the whole run joins and gets everything; forged and replayed envelopes are rejected", async () => {
    broker = await Mosquitto.start(dir.path);
    const keys = keysFor(["north", "south", "late"]);
    rigs = [await rig("north", keys), await rig("south", keys)];
    const [north, south] = rigs as [RelayRig, RelayRig];
    const spy = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const captured: Buffer[] = [];
    spy.on("message", (_topic, payload) => captured.push(payload));
    await spy.subscribeAsync("meshaid/test/log/north", { qos: 1 });
    hear(north, 0x11, 40);
    hear(south, 0x22, 15);
    await expectSame(rigs, 55);
    const late = await rig("late", keys);
    rigs.push(late);
    await expectSame(rigs, 55);

    await spy.unsubscribeAsync("meshaid/test/log/north");
    const recorded = [...captured];
    const intruder = signingKeyPair();
    const forged = sealEnvelope({ kind: "batch", coalition: "test", station: "north", body: { log: "0123456789abcdef", first: 41, records: [presetRecord(0x66, 1)] } }, intruder.secretKey);
    await spy.publishAsync("meshaid/test/log/north", Buffer.from(forged), { qos: 1 });
    for (const bytes of recorded) await spy.publishAsync("meshaid/test/log/north", bytes, { qos: 1 }); // replayed
    const altered = Buffer.from(recorded[0]!);
    altered[60] = altered[60]! ^ 0x20;
    await spy.publishAsync("meshaid/test/log/north", altered, { qos: 1 });
    await spy.endAsync();
    hear(north, 0x11, 5, 500); // the link still works after the attack
    await expectSame(rigs, 60);
    for (const station of rigs.slice(1)) expect(station.replica.held("north")).toBe(45);
  });

  it("the downlink budget holds under a flood from the internet", async () => {
    broker = await Mosquitto.start(dir.path);
    const keys = keysFor(["here", "hub"]);
    const HANDHELD = 0x1234;
    const sent: SendRequest[] = [];
    const scheduler = new TransmitScheduler({ sender: { send: (request) => Promise.resolve(String(sent.push(request))) }, minIntervalMs: 0 });
    const airtimeMs = (bytes: number): number => 400 + 8 * bytes;
    const late: { downlink?: Downlink } = {};
    const here = await rig("here", keys, { relay: { downlink: { offer: (records, from) => late.downlink!.offer(records, from) } } });
    const downlink = new Downlink({ scheduler, store: here.store, heardHere: (node) => node === HANDHELD, airtimeMs, budgetMs: 10_000, logger: pino({ level: "silent" }) });
    late.downlink = downlink;
    const hub = await rig("hub", keys);
    rigs = [here, hub];
    try {
      here.radio.hear(HANDHELD, 100, "NEED WATER");
      await expect.poll(() => hub.store.count, { timeout: 20_000 }).toBe(1);
      const flood = 2000;
      await Promise.all(
        Array.from({ length: flood }, (_, i) =>
          hub.store.append({ id: { origin: 0x9999, seq: i + 1 }, receivedAt: 1_750_000_000_000 + i, body: { kind: "supply_status", status: "en_route", ref: { origin: HANDHELD, seq: 100 }, etaMin: 1 + (i % 60) } }),
        ),
      );
      await expect.poll(() => here.store.count, { timeout: 30_000 }).toBe(flood + 1);
      await expect.poll(() => downlink.state().sent + downlink.state().withheld, { timeout: 10_000 }).toBe(flood);
      const state = downlink.state();
      expect(state.airtimeUsedMs).toBeLessThanOrEqual(10_000);
      expect(state.sent).toBeGreaterThan(0);
      expect(state.sent).toBeLessThanOrEqual(Math.ceil(10_000 / airtimeMs(Buffer.byteLength("ENRT WATER ETA 5"))));
      expect(state.withheld).toBe(flood - state.sent);
    } finally {
      scheduler.close();
    }
  });
});
