// Gap fill from anyone and the outbox per peer, through a REAL Mosquitto (MQTT 5): the owner of a
// log goes offline for good, a station that never met it gets its whole log from a peer that holds
// it (the owner's signed batches, forwarded unchanged), and a forged forwarded batch is refused; a
// station restarted while a peer is away knows at once what that peer still lacks.
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { sealEnvelope } from "../../src/relay/index.ts";
import { Mosquitto } from "../helpers/mosquitto.ts";
import { idsIn, keysFor, startRig, type Keys, type RelayRig } from "../helpers/relay.ts";
import { presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-relay-forward-system-");
let broker: Mosquitto | undefined;
let rigs: RelayRig[] = [];

afterEach(async () => {
  for (const rig of rigs) await rig.stop().catch(() => undefined);
  rigs = [];
  await broker?.stop("SIGKILL");
  broker = undefined;
});

const rig = (name: string, keys: Map<string, Keys>, extra: Partial<Parameters<typeof startRig>[0]> = {}): Promise<RelayRig> =>
  startRig({ name, dir: dir.path, url: broker!.url, keys, protocolVersion: 5, ...extra });

async function writeOwn(station: RelayRig, count: number, origin: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => station.store.append(presetRecord(origin, i + 1))));
}

describe("relay through a real Mosquitto: gap fill from anyone, the outbox per peer", () => {
  it("with the owner offline, a peer fills a newcomer's gap with the owner's signed batches; a forged one is refused", async () => {
    broker = await Mosquitto.start(dir.path);
    const keys = keysFor(["north", "hub", "late", "mallory"]);
    const small = { relay: { batchRecords: 40 } };
    const north = await rig("north", keys, small);
    const hub = await rig("hub", keys, small);
    rigs = [north, hub];
    await writeOwn(north, 300, 0x4001);
    await expect.poll(() => hub.replica.held("north"), { timeout: 30_000 }).toBe(300);
    await north.stop();
    rigs = [hub];
    const late = await rig("late", keys, small);
    rigs.push(late);
    await expect.poll(() => late.replica.held("north"), { timeout: 45_000 }).toBe(300);
    expect(new Set(await idsIn(late.store)).size).toBe(300);

    // A trusted station signs a batch of its own on the forwarding topic of north's log: refused.
    const forger = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const forged = sealEnvelope({ kind: "batch", coalition: "test", station: "mallory", body: { log: late.replica.peerLog("north")!, first: 301, records: [presetRecord(0x6666, 1)] } }, keys.get("mallory")!.secretKey);
    await forger.publishAsync("meshaid/test/fill/late/north", Buffer.from(forged), { qos: 1 });
    // A genuine batch of north's that comes after: stored (so the forged one was looked at first, and refused).
    const genuine = sealEnvelope({ kind: "batch", coalition: "test", station: "north", body: { log: late.replica.peerLog("north")!, first: 301, records: [presetRecord(0x4001, 301)] } }, keys.get("north")!.secretKey);
    await forger.publishAsync("meshaid/test/fill/late/north", Buffer.from(genuine), { qos: 1 });
    await forger.endAsync();
    await expect.poll(() => late.replica.held("north"), { timeout: 15_000 }).toBe(301);
    const ids = await idsIn(late.store);
    expect(ids).not.toContain(`${0x6666}!1`);
    expect(ids).toContain(`${0x4001}!301`);
  });

  it("a station restarted while a peer is away knows what that peer lacks, and the backlog drains when it returns", async () => {
    broker = await Mosquitto.start(dir.path);
    const keys = keysFor(["north", "south"]);
    let north = await rig("north", keys);
    let south = await rig("south", keys);
    rigs = [north, south];
    await writeOwn(north, 20, 0x4001);
    await expect.poll(() => north.replica.peerHolds("south"), { timeout: 30_000 }).toBe(20);
    await south.stop();
    await writeOwn(north, 40, 0x4002);
    await expect.poll(() => north.replica.head, { timeout: 10_000 }).toBe(60);
    await north.stop();
    north = await rig("north", keys);
    rigs = [north];
    expect(north.relay.state().peers.find((peer) => peer.station === "south")?.behind).toBe(40);
    south = await rig("south", keys);
    rigs.push(south);
    await expect.poll(() => south.replica.held("north"), { timeout: 30_000 }).toBe(60);
    await expect.poll(() => north.relay.state().peers.find((peer) => peer.station === "south")?.behind, { timeout: 30_000 }).toBe(0);
  });
});
