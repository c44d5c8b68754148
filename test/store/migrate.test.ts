// A store written in the older two-key layout (log by id + arrival order) is rewritten at open to
// one key per record, keeping every record, its arrival number, its peer and its sealed bytes;
// a migration cut off half-way finishes at the next open, losing nothing.
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { checkStore, RecordCipher, RecordStore, StoreWriteError, type RecordDatabase } from "../../src/store/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";
import { twoKeyId, writeTwoKeyStore, type TwoKeyEntry } from "../helpers/two-key-store.ts";

const open = (path: string): RecordDatabase => new Level<string, Uint8Array>(path, { valueEncoding: "view" });

/** Every key of a sublevel. */
async function keysOf(db: RecordDatabase, name: string): Promise<string[]> {
  return db.sublevel<string, Uint8Array>(name, { valueEncoding: "view" }).keys().all();
}

/** Writes made through `db` fail after the first `after` synced batches (as when the disk goes away). */
function failWritesAfter(db: RecordDatabase, after: number): void {
  const real = db.batch.bind(db) as () => ReturnType<RecordDatabase["batch"]>;
  let writes = 0;
  Object.assign(db, {
    batch: (...args: unknown[]) => {
      if (args.length > 0) throw new Error("only chained batches are expected here");
      const batch = real();
      const write = batch.write.bind(batch);
      return Object.assign(batch, {
        write: async (options: { sync?: boolean }) => {
          writes += 1;
          if (writes > after) {
            await batch.close();
            throw new Error("disk went away");
          }
          return write(options);
        },
      });
    },
  });
}

const entries = (count: number): TwoKeyEntry[] => Array.from({ length: count }, (_, i) => ({ record: presetRecord(0x100 + (i % 5), 1000 + i), ...(i % 7 === 3 ? { via: "north" } : {}) }));

describe("migration from the two-key layout", () => {
  const dir = useTempDir();

  it("keeps every record, its arrival number, its peer and the count, dedups against them and appends after them", async () => {
    const written = entries(300);
    await writeTwoKeyStore(dir.path, written);
    const store = await RecordStore.open(open(dir.path), codebook);
    expect(store.count).toBe(300);
    const arrivals = await store.arrivalsAfter(-1, 1000);
    expect(arrivals.map((entry) => entry.n)).toEqual(written.map((_, i) => i));
    expect(arrivals.map((entry) => entry.record)).toEqual(written.map((entry) => entry.record));
    expect(arrivals.map((entry) => entry.via)).toEqual(written.map((entry) => entry.via));
    expect(arrivals.map((entry) => entry.key)).toEqual(written.map((entry) => twoKeyId(entry.record)));
    expect(await store.get(written[42]!.record.id)).toEqual(written[42]!.record);
    // A relayed record's key holds its peer: found by id all the same.
    expect(await store.get(written[3]!.record.id)).toEqual(written[3]!.record);
    expect(await store.getKeys([twoKeyId(written[3]!.record), "0000abcd!00000001", twoKeyId(written[4]!.record)])).toEqual([written[3]!.record, undefined, written[4]!.record]);
    expect(await store.lastSeq(0x100)).toBe(1295);
    expect(await store.append(written[7]!.record)).toEqual({ stored: false, count: 300 });
    expect(await store.append(presetRecord(0x999, 1))).toEqual({ stored: true, count: 301 });
    expect((await store.arrivalKeysAfter(299, 10)).map((entry) => entry.n)).toEqual([300]);
    await store.close();
    const db = open(dir.path);
    await db.open();
    expect(await keysOf(db, "log")).toEqual([]);
    expect(await keysOf(db, "arrival")).toEqual([]);
    expect(await checkStore(db, codebook)).toEqual({ records: 301, quarantined: [], quarantinedBefore: 0, countWas: undefined, migrated: 0 });
    await db.close();
  });

  it("finishes a migration cut off half-way at the next open, losing nothing and storing nothing twice", async () => {
    // Three synced batches of 4096: the second fails.
    const written = entries(10_000);
    await writeTwoKeyStore(dir.path, written);
    const broken = open(dir.path);
    failWritesAfter(broken, 1);
    await expect(RecordStore.open(broken, codebook)).rejects.toThrow(StoreWriteError);
    await broken.close();

    // In between, each record is in exactly one layout.
    const between = open(dir.path);
    await between.open();
    const moved = await keysOf(between, "records");
    const left = await keysOf(between, "log");
    expect(moved.length).toBeGreaterThan(0);
    expect(left.length).toBeGreaterThan(0);
    expect(moved.length + left.length).toBe(10_000);
    expect(new Set([...moved.map((key) => key.slice(17, 34)), ...left]).size).toBe(10_000);
    await between.close();

    const store = await RecordStore.open(open(dir.path), codebook);
    expect(store.count).toBe(10_000);
    const arrivals = await store.arrivalsAfter(-1, 20_000);
    expect(arrivals.map((entry) => entry.n)).toEqual(written.map((_, i) => i));
    expect(arrivals.map((entry) => entry.record.id)).toEqual(written.map((entry) => entry.record.id));
    expect(arrivals.map((entry) => entry.via)).toEqual(written.map((entry) => entry.via));
    expect(await store.appendMany(written.slice(0, 50).map((entry) => entry.record))).toEqual(Array.from({ length: 50 }, () => ({ stored: false, count: 10_000 })));
    await store.close();
  });

  it("moves sealed values as they are: an encrypted store still opens with its key", async () => {
    const { cipher } = await RecordCipher.create("migration passphrase");
    const written = entries(20);
    await writeTwoKeyStore(dir.path, written, { cipher });
    const db = open(dir.path);
    expect(await checkStore(db, codebook, { cipher })).toMatchObject({ records: 20, quarantined: [], migrated: 20 });
    const store = await RecordStore.open(db, codebook, { cipher });
    expect((await store.recent(100)).reverse()).toEqual(written.map((entry) => entry.record));
    await store.close();
  });

  it("puts records the old arrival order left out after the rest, and drops places naming no record", async () => {
    const written = entries(10).map((entry, i) => (i % 4 === 1 ? { ...entry, unlisted: true } : entry));
    await writeTwoKeyStore(dir.path, written, { staleArrivals: ["0000abcd!00000001", "not a key"] });
    const store = await RecordStore.open(open(dir.path), codebook);
    const arrivals = await store.arrivalsAfter(-1, 100);
    const listed = written.filter((entry) => !entry.unlisted);
    // The unlisted come last, in id order (the old log's key order).
    const unlisted = written.filter((entry) => entry.unlisted).sort((a, b) => twoKeyId(a.record).localeCompare(twoKeyId(b.record)));
    expect(arrivals.map((entry) => entry.record.id)).toEqual([...listed, ...unlisted].map((entry) => entry.record.id));
    expect(arrivals.map((entry) => entry.n)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(store.count).toBe(10);
    await store.close();
  });
});
