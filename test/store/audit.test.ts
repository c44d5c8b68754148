import { describe, expect, it } from "vitest";
import { Level } from "level";
import { AuditTrail, RecordStore } from "../../src/store/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

describe("AuditTrail", () => {
  const dir = useTempDir();
  const openDb = (): Level<string, Uint8Array> => new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });

  it("numbers entries in order, keeps them across a reopen, and goes on numbering after the last", async () => {
    let db = openDb();
    let trail = await AuditTrail.open(db);
    const entry = { at: 1, station: "Base", actor: { callsign: "C1", role: "coordinator" }, action: "approve_purchase", outcome: "done" as const, purchase: { item: "water", quantity: 24, cost: 18.5 } };
    const written = await Promise.all([trail.append(entry), trail.append({ ...entry, at: 2, outcome: "refused", reason: "no" })]);
    expect(written.map((e) => e.n)).toEqual([0, 1]);
    await db.close();

    db = openDb();
    trail = await AuditTrail.open(db);
    expect(trail.size).toBe(2);
    expect((await trail.append({ ...entry, at: 3 })).n).toBe(2);
    expect((await trail.list()).map((e) => [e.n, e.at, e.outcome])).toEqual([[0, 1, "done"], [1, 2, "refused"], [2, 3, "done"]]);
    expect((await trail.list({ from: 1, limit: 1 })).map((e) => e.n)).toEqual([1]);
    expect((await trail.list())[0]).toEqual({ n: 0, ...entry });
    await db.close();
  });

  it("lives beside the log in the same database without touching it", async () => {
    const db = openDb();
    const store = await RecordStore.open(db, codebook);
    const trail = await AuditTrail.open(db);
    await store.append(presetRecord(0xb1, 7));
    await store.append(presetRecord(0xb1, 3));
    await trail.append({ at: 1, station: "Base", actor: { callsign: "C1", role: "coordinator" }, action: "dispatch", outcome: "done", record: { origin: 0xb1, seq: 7 } });
    expect(store.count).toBe(2);
    expect(await store.lastSeq(0xb1)).toBe(7);
    expect(await store.lastSeq(0xb2)).toBeUndefined();
    await store.close();
  });
});
