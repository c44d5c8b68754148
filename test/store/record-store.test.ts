import { describe, expect, it } from "vitest";
import { Level } from "level";
import { RecordStore } from "../../src/store/index.ts";
import { parseCodebook } from "../../src/wire/index.ts";
import { codebook, configText, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

/** The next batch written to `db` fails as a full disk would; later ones are written. */
function failFirstBatchWrite(db: Level<string, Uint8Array>): void {
  const batch = db.batch.bind(db);
  let fail = true;
  db.batch = ((...args: Parameters<typeof db.batch>) => {
    const chained = batch(...args);
    if (fail) {
      fail = false;
      chained.write = () => Promise.reject(new Error("disk full"));
    }
    return chained;
  }) as typeof db.batch;
}

describe("RecordStore on LevelDB", () => {
  const dir = useTempDir();
  const openStore = (): Promise<RecordStore> => RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);

  it("stores a record once however often it is appended", async () => {
    const store = await openStore();
    expect(await store.append(presetRecord(7, 1))).toEqual({ stored: true, count: 1 });
    expect(await store.append(presetRecord(7, 1))).toEqual({ stored: false, count: 1 });
    expect(await store.append(presetRecord(8, 1))).toEqual({ stored: true, count: 2 });
    await store.close();
  });

  it("reads every record once across its pages, and a reader that stops early leaves the store usable", async () => {
    const store = await openStore();
    // More than two pages (the next page is read while the last is handed out).
    await store.appendMany(Array.from({ length: 4500 }, (_, i) => presetRecord(0x100 + (i % 3), i)));
    const seen = new Set<string>();
    let pages = 0;
    for await (const page of store.all()) {
      pages += 1;
      for (const record of page) seen.add(`${record.id.origin}:${record.id.seq}`);
    }
    expect(seen.size).toBe(4500);
    expect(pages).toBeGreaterThan(2);
    for await (const page of store.all()) {
      expect(page.length).toBeGreaterThan(0);
      break; // a read of the next page is in flight
    }
    expect(await store.append(presetRecord(0x200, 1))).toEqual({ stored: true, count: 4501 });
    expect((await store.recent(2)).map((record) => record.id.origin)).toEqual([0x200, 0x102]);
    await store.close();
  });

  it("deduplicates appends that race each other", async () => {
    const store = await openStore();
    const results = await Promise.all(Array.from({ length: 10 }, () => store.append(presetRecord(9, 42))));
    expect(results.filter((result) => result.stored)).toHaveLength(1);
    expect(store.count).toBe(1);
    await store.close();
  });

  it("keeps records, their order and the count across a close and reopen", async () => {
    const first = await openStore();
    for (let seq = 1; seq <= 5; seq += 1) await first.append(presetRecord(0x2a6f1c01, seq));
    await first.close();

    const second = await openStore();
    expect(second.count).toBe(5);
    const recent = await second.recent(3);
    expect(recent.map((record) => record.id.seq)).toEqual([5, 4, 3]);
    expect(await second.append(presetRecord(0x2a6f1c01, 3))).toEqual({ stored: false, count: 5 });
    await second.append(presetRecord(0x2a6f1c01, 6));
    expect((await second.recent(1))[0]?.id.seq).toBe(6);
    expect(await second.get({ origin: 0x2a6f1c01, seq: 2 })).toEqual(presetRecord(0x2a6f1c01, 2));
    await second.close();
  });

  it("writes nothing for a record the wire cannot encode, and keeps working", async () => {
    const store = await openStore();
    const bad = presetRecord(1, 1);
    bad.body = { kind: "supply_request", lines: [{ item: "unicorn", quantity: 1 }], priority: "normal" };
    await expect(store.append(bad)).rejects.toThrow(/unknown item/);
    expect(store.count).toBe(0);
    expect(await store.append(presetRecord(1, 2))).toEqual({ stored: true, count: 1 });
    await store.close();
  });

  it("reports an entry that no longer decodes instead of hiding it", async () => {
    const store = await openStore();
    await store.append(presetRecord(1, 1));
    await store.append(presetRecord(1, 2));
    await store.close();

    const raw = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const log = raw.sublevel<string, Uint8Array>("records", { valueEncoding: "view" });
    const [first] = await log.keys({ limit: 1 }).all();
    expect(first).toBe("0000000000000000!00000001!00000001"); // arrival 0, origin 1, seq 1
    await log.put(first!, new Uint8Array([0xff, 0xff, 0xff]));
    await raw.close();

    const reopened = await openStore();
    const corrupt: string[] = [];
    const recent = await reopened.recent(10, (entry) => corrupt.push(entry.key));
    expect(recent.map((record) => record.id.seq)).toEqual([2]);
    expect(corrupt).toEqual([first]);
    await reopened.close();
  });

  it("says when the log was written with another codebook, and still reads it", async () => {
    let store = await openStore();
    await store.append({ ...presetRecord(7, 1), body: { kind: "incident", incident: "kettle", severity: "severe", casualties: 0, hazards: ["tear_gas"] } });
    expect(store.codebookChangedFrom).toBeUndefined();
    await store.close();
    const newer = parseCodebook(configText("codebook.yaml").replace("items:\n", "items:\n  300: { name: glitter, en: glitter }\n"));
    store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), newer);
    expect(store.codebookChangedFrom).toBe(codebook.hash);
    expect((await store.get({ origin: 7, seq: 1 }))?.body).toEqual({ kind: "incident", incident: "kettle", severity: "severe", casualties: 0, hazards: ["tear_gas"] });
    await store.close();
  });
});

describe("RecordStore group commit", () => {
  const dir = useTempDir();

  it("writes appends that arrive together in a few synced batches, dedup exact, every one on disk when it resolves", async () => {
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const batches: unknown[] = [];
    const batch = db.batch.bind(db);
    db.batch = ((...args: Parameters<typeof db.batch>) => {
      batches.push(args);
      return batch(...args);
    }) as typeof db.batch;
    // 300 distinct ids, each appended twice, interleaved, plus one the wire cannot encode.
    const bad = presetRecord(1, 999);
    bad.body = { kind: "supply_request", lines: [{ item: "unicorn", quantity: 1 }], priority: "normal" };
    const appends = Array.from({ length: 600 }, (_, i) => store.append(presetRecord(1, i % 300)));
    const refused = expect(store.append(bad)).rejects.toThrow(/unknown item/);
    const results = await Promise.all(appends);
    await refused;
    expect(results.filter((result) => result.stored)).toHaveLength(300);
    expect(results.slice(0, 300).every((result) => result.stored)).toBe(true);
    expect(results.filter((result) => result.stored).map((result) => result.count)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.length).toBeLessThan(10);
    expect(store.count).toBe(300);
    await store.close();

    const reopened = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    expect(reopened.count).toBe(300);
    expect((await reopened.recent(3)).map((record) => record.id.seq)).toEqual([299, 298, 297]);
    let all = 0;
    for await (const page of reopened.all()) all += page.length;
    expect(all).toBe(300);
    await reopened.close();
  });

  it("fails every append of a batch whose write fails, and writes the next batch", async () => {
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    failFirstBatchWrite(db);
    const first = [store.append(presetRecord(2, 1)), store.append(presetRecord(2, 2))];
    await expect(Promise.all(first)).rejects.toThrow(/disk full/);
    expect(store.count).toBe(0);
    expect(await store.append(presetRecord(2, 1))).toEqual({ stored: true, count: 1 });
    await store.close();
  });

  it("puts a batch made behind a write that fails together again: a copy of a record in the failed write is stored, not taken as stored", async () => {
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    failFirstBatchWrite(db);
    // More than one batch holds (4096), appended at once: the second is made while the first is written.
    const first = Array.from({ length: 4096 }, (_, i) => store.append(presetRecord(3, i)));
    const again = store.append(presetRecord(3, 0));
    const fresh = store.append(presetRecord(4, 1));
    const outcomes = await Promise.allSettled(first);
    expect(outcomes.every((outcome) => outcome.status === "rejected" && /disk full/.test(String(outcome.reason)))).toBe(true);
    expect(await again).toEqual({ stored: true, count: 1 });
    expect(await fresh).toEqual({ stored: true, count: 2 });
    expect(await store.get({ origin: 3, seq: 0 })).toEqual(presetRecord(3, 0));
    expect(await store.get({ origin: 3, seq: 1 })).toBeUndefined();
    await store.close();
  });
});
