// Replication through a real broker (aedes in process, MQTT 3.1.1): two and three stations.
import { describe, expect, it } from "vitest";
import { idsIn, keysFor, useRelayRigs, type RelayRig } from "../helpers/relay.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-relay-");
const relays = useRelayRigs();

function hear(rig: RelayRig, from: number, count: number, firstId = 1): void {
  for (let i = 0; i < count; i += 1) rig.radio.hear(from, firstId + i, i % 2 ? "NEED WATER" : "INJURED 1");
}

async function sorted(rig: RelayRig): Promise<string[]> {
  return (await idsIn(rig.store)).sort();
}

describe("relay between stations through aedes", () => {
  it("two stations end with the same records, each once", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["north", "south"]);
    const north = await relays.rig({ name: "north", dir: dir.path, url: broker.url, keys });
    const south = await relays.rig({ name: "south", dir: dir.path, url: broker.url, keys });
    hear(north, 0x1001, 30);
    hear(south, 0x2002, 20);
    await expect.poll(() => north.store.count, { timeout: 15_000 }).toBe(50);
    await expect.poll(() => south.store.count, { timeout: 15_000 }).toBe(50);
    expect(await sorted(north)).toEqual(await sorted(south));
    await expect.poll(() => north.relay.state().outboxPending, { timeout: 10_000 }).toBe(0);
    expect(north.replica.held("south")).toBe(20);
    expect(south.replica.held("north")).toBe(30);
  });

  it("three stations: a record heard by two of them is stored once everywhere", async () => {
    const broker = await relays.broker();
    const keys = keysFor(["a", "b", "c"]);
    const rigs: RelayRig[] = [];
    for (const name of ["a", "b", "c"]) rigs.push(await relays.rig({ name, dir: dir.path, url: broker.url, keys }));
    const [a, b, c] = rigs as [RelayRig, RelayRig, RelayRig];
    hear(a, 0x10, 10);
    hear(b, 0x10, 10); // the same handheld packets, heard by both a and b
    hear(c, 0x30, 5);
    for (const rig of rigs) await expect.poll(() => rig.store.count, { timeout: 15_000 }).toBe(15);
    const ids = await sorted(a);
    expect(new Set(ids).size).toBe(15);
    expect(await sorted(b)).toEqual(ids);
    expect(await sorted(c)).toEqual(ids);
    await expect.poll(() => c.replica.held("a"), { timeout: 10_000 }).toBe(10);
    await expect.poll(() => c.replica.held("b"), { timeout: 10_000 }).toBe(10);
  });
});
