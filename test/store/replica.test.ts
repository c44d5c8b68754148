// The relay's side of the store: what peers still lack holds retention back, copies of peers'
// signed batches are found by range and purged by age, and every peer's hold survives a reopen.
import { join } from "node:path";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { pruneForwardCopies, RecordStore, recordKey, recordsOwedToPeers, ReplicaStore } from "../../src/store/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-replica-");

async function open(name: string): Promise<{ store: RecordStore; replica: ReplicaStore; db: Level<string, Uint8Array> }> {
  const db = new Level<string, Uint8Array>(join(dir.path, name), { valueEncoding: "view" });
  const store = await RecordStore.open(db, codebook);
  return { store, replica: await ReplicaStore.open(db), db };
}

describe("ReplicaStore, per peer", () => {
  it("retention keeps what the furthest-behind peer lacks, and the holds survive a reopen", async () => {
    let { store, replica, db } = await open("owed");
    const records = Array.from({ length: 10 }, (_, i) => presetRecord(0x10, i + 1));
    for (const record of records) await store.append(record);
    await replica.absorb(store);
    expect(await recordsOwedToPeers(db)).toEqual(new Set()); // no peer heard yet
    await replica.setPeerHolds("south", 7);
    await replica.setPeerHolds("east", 4);
    expect(await recordsOwedToPeers(db)).toEqual(new Set(records.slice(4).map((record) => recordKey(record.id))));
    await store.close();
    ({ store, replica, db } = await open("owed"));
    expect(replica.peerHolds("east")).toBe(4);
    await replica.forgetPeer("east");
    expect(await recordsOwedToPeers(db)).toEqual(new Set(records.slice(7).map((record) => recordKey(record.id))));
    await store.close();
  });

  it("finds copies of a peer's batches covering a range, and purges them by age", async () => {
    const { store, replica, db } = await open("copies");
    const log = "0123456789abcdef";
    const bytes = (n: number): Uint8Array => new Uint8Array([n]);
    await replica.keepEnvelope("north", log, 1, 50, bytes(1), 1000);
    await replica.keepEnvelope("north", log, 51, 100, bytes(2), 1000);
    await replica.keepEnvelope("north", log, 40, 120, bytes(3), 5000); // overlaps both, reaches further
    await replica.keepEnvelope("north", log, 201, 250, bytes(4), 5000); // after a gap
    await replica.keepEnvelope("north-2", log, 1, 500, bytes(5), 5000); // another station
    const covering = await replica.envelopesCovering("north", log, 45, 300, 10);
    expect(covering.map((copy) => [copy.first, copy.last, copy.bytes[0]])).toEqual([
      [40, 120, 3],
      [201, 250, 4],
    ]);
    expect(await replica.envelopesCovering("north", "fedcba9876543210", 1, 10, 10)).toEqual([]);
    expect(await pruneForwardCopies(db, 2000)).toBe(2);
    expect((await replica.envelopesCovering("north", log, 1, 300, 10)).map((copy) => copy.bytes[0])).toEqual([3, 4]);
    expect((await replica.envelopesCovering("north", log, 1, 300, 1)).length).toBe(1);
    await store.close();
  });
});
