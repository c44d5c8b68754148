// checkStore on a real LevelDB: entries that no longer decode, whose key is not of the log's layout
// or whose id is stored at an earlier place go to quarantine with the reason, and the record count
// is made to agree with the log.
import { rm } from "node:fs/promises";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { checkStore, RecordStore, type RecordDatabase } from "../../src/store/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

async function storeWith(path: string, n: number): Promise<void> {
  const store = await RecordStore.open(new Level<string, Uint8Array>(path, { valueEncoding: "view" }), codebook);
  await Promise.all(Array.from({ length: n }, (_, i) => store.append(presetRecord(0x100 + (i % 7), i))));
  await store.close();
}

function open(path: string): RecordDatabase {
  return new Level<string, Uint8Array>(path, { valueEncoding: "view" });
}

describe("checkStore", () => {
  const dir = useTempDir();

  it("finds nothing to mend in a healthy store", async () => {
    await storeWith(dir.path, 50);
    const db = open(dir.path);
    const report = await checkStore(db, codebook);
    expect(report).toEqual({ records: 50, quarantined: [], quarantinedBefore: 0, countWas: undefined, migrated: 0 });
    await db.close();
  });

  it("leaves a record relayed from a peer where it is, still marked as the peer's (the relay must not publish it as this station's)", async () => {
    const store = await RecordStore.open(open(dir.path), codebook);
    await store.append(presetRecord(0x100, 1));
    await store.appendMany([presetRecord(0x200, 2)], { via: "north" });
    const before = await store.arrivalKeysAfter(-1, 10);
    await store.close();
    for (const decode of [false, true]) {
      const db = open(dir.path);
      expect(await checkStore(db, codebook, { decode })).toEqual({ records: 2, quarantined: [], quarantinedBefore: 0, countWas: undefined, migrated: 0 });
      await db.close();
    }
    const again = await RecordStore.open(open(dir.path), codebook);
    expect(await again.arrivalKeysAfter(-1, 10)).toEqual(before);
    expect(before[1]).toMatchObject({ via: "north" });
    await again.close();
  });

  it("moves an entry that no longer decodes to quarantine, with the reason, and the store reads the rest", async () => {
    await storeWith(dir.path, 20);
    const db = open(dir.path);
    const log = db.sublevel<string, Uint8Array>("records", { valueEncoding: "view" });
    const keys = await log.keys().all();
    await log.put(keys[3]!, Uint8Array.of(0xff, 0xff, 0xff));
    const report = await checkStore(db, codebook, { now: () => 42 });
    expect(report.records).toBe(19);
    expect(report.quarantined).toEqual([{ key: keys[3], reason: expect.any(String) as string }]);
    expect(report.countWas).toBe(20);
    const kept = JSON.parse((await db.sublevel<string, string>("quarantine", { valueEncoding: "utf8" }).get(keys[3]!))!) as { reason: string; hex: string; at: number };
    expect(kept).toEqual({ reason: report.quarantined[0]!.reason, hex: "ffffff", at: 42 });
    const store = await RecordStore.open(db, codebook);
    expect(store.count).toBe(19);
    const problems: unknown[] = [];
    expect((await store.recent(100, (entry) => problems.push(entry))).length).toBe(19);
    expect(problems).toEqual([]);
    // Its id is free again: the record heard again is stored.
    const lost = Number.parseInt(keys[3]!.slice(26, 34), 16);
    expect(await store.append(presetRecord(0x100 + (lost % 7), lost))).toMatchObject({ stored: true, count: 20 });
    await store.close();
    // A second check finds the store in order and remembers what was quarantined.
    const again = open(dir.path);
    expect(await checkStore(again, codebook)).toMatchObject({ records: 20, quarantined: [], quarantinedBefore: 1, countWas: undefined });
    await again.close();
  });

  it("quarantines a second entry of an id and an entry whose key is not of the log's layout, after a clean stop too, and fixes the count", async () => {
    for (const decode of [true, false]) {
      await storeWith(dir.path, 10);
      const db = open(dir.path);
      const log = db.sublevel<string, Uint8Array>("records", { valueEncoding: "view" });
      const [first] = await log.keys({ limit: 1 }).all();
      const bytes = (await log.get(first!))!;
      // The same id again at a later place (as a faulty copy could leave it), and a stray key.
      const twice = `0000000000000099${first!.slice(16)}`;
      await log.batch([
        { type: "put", key: twice, value: bytes },
        { type: "put", key: "stray", value: bytes },
      ]);
      await db.sublevel<string, string>("meta", { valueEncoding: "utf8" }).put("count", "3");
      const report = await checkStore(db, codebook, { decode });
      expect(report).toMatchObject({ records: 10, countWas: 3 });
      expect(report.quarantined.map((entry) => entry.key).sort()).toEqual([twice, "stray"]);
      const store = await RecordStore.open(db, codebook);
      expect(store.count).toBe(10);
      expect((await store.recent(100)).length).toBe(10);
      // Appends after the check go after the last record kept.
      await store.append(presetRecord(0x999, 1));
      expect((await store.arrivalKeysAfter(-1, 100)).map((entry) => entry.n)).toEqual([...Array.from({ length: 10 }, (_, i) => i), 10]);
      expect((await store.recent(1))[0]!.id).toEqual({ origin: 0x999, seq: 1 });
      await store.close();
      await rm(dir.path, { recursive: true, force: true });
    }
  });
});
