// checkStore on a real LevelDB: entries that no longer decode go to quarantine with the reason,
// and the arrival order and the record count are made to agree with the log.
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
    expect(report).toEqual({ records: 50, quarantined: [], quarantinedBefore: 0, countWas: undefined, arrivalAdded: 0, arrivalRemoved: 0 });
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
      expect(await checkStore(db, codebook, { decode })).toEqual({ records: 2, quarantined: [], quarantinedBefore: 0, countWas: undefined, arrivalAdded: 0, arrivalRemoved: 0 });
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
    const log = db.sublevel<string, Uint8Array>("log", { valueEncoding: "view" });
    const keys: string[] = [];
    for await (const key of log.keys()) keys.push(key);
    await log.put(keys[3]!, Uint8Array.of(0xff, 0xff, 0xff));
    const report = await checkStore(db, codebook, { now: () => 42 });
    expect(report.records).toBe(19);
    expect(report.quarantined).toEqual([{ key: keys[3], reason: expect.any(String) as string }]);
    expect(report.countWas).toBe(20);
    expect(report.arrivalRemoved).toBe(1);
    const kept = JSON.parse((await db.sublevel<string, string>("quarantine", { valueEncoding: "utf8" }).get(keys[3]!))!) as { reason: string; hex: string; at: number };
    expect(kept).toEqual({ reason: report.quarantined[0]!.reason, hex: "ffffff", at: 42 });
    const store = await RecordStore.open(db, codebook);
    expect(store.count).toBe(19);
    const problems: unknown[] = [];
    expect((await store.recent(100, (entry) => problems.push(entry))).length).toBe(19);
    expect(problems).toEqual([]);
    await store.close();
    // A second check finds the store in order and remembers what was quarantined.
    const again = open(dir.path);
    expect(await checkStore(again, codebook)).toMatchObject({ records: 19, quarantined: [], quarantinedBefore: 1, countWas: undefined });
    await again.close();
  });

  it("puts records missing from the arrival order back at its end and fixes the count", async () => {
    await storeWith(dir.path, 10);
    const db = open(dir.path);
    const arrival = db.sublevel<string, string>("arrival", { valueEncoding: "utf8" });
    const orders: string[] = [];
    for await (const key of arrival.keys()) orders.push(key);
    await arrival.batch(orders.slice(0, 4).map((key) => ({ type: "del" as const, key })));
    await db.sublevel<string, string>("meta", { valueEncoding: "utf8" }).put("count", "3");
    const report = await checkStore(db, codebook);
    expect(report).toMatchObject({ records: 10, arrivalAdded: 4, arrivalRemoved: 0, countWas: 3 });
    const store = await RecordStore.open(db, codebook);
    expect(store.count).toBe(10);
    expect((await store.recent(100)).length).toBe(10);
    // Appends after the check go after the restored entries.
    await store.append(presetRecord(0x999, 1));
    expect((await store.recent(1))[0]!.id).toEqual({ origin: 0x999, seq: 1 });
    await store.close();
  });
});
