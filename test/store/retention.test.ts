// Retention limits per record kind: the file's reader and the store's purge.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { checkStore, dueAt, expired, parseRetention, RecordStore, RetentionError } from "../../src/store/index.ts";
import type { FieldRecord } from "../../src/wire/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const DAY = 86_400_000;

describe("parseRetention", () => {
  it("reads the shipped file and durations in minutes, hours and days; forever keeps", () => {
    const shipped = parseRetention(readFileSync(new URL("../../firmware-config/retention.yaml", import.meta.url), "utf8"));
    expect(shipped.message).toBe(3 * DAY);
    expect(parseRetention("version: 1\nkeep: { checkin: 90m, shift: 12h, incident: forever }")).toEqual({ checkin: 90 * 60_000, shift: 12 * 3_600_000 });
  });

  it("names the file and entry of a mistake, and throws nothing but a RetentionError", () => {
    expect(() => parseRetention("version: 1\nkeep: { mesage: 2d }", "r.yaml")).toThrow(/^r\.yaml: keep: unknown record kind "mesage"/);
    expect(() => parseRetention("version: 1\nkeep: { message: 2 weeks }", "r.yaml")).toThrow(/r\.yaml: keep: message: "2 weeks" is not a duration/);
    expect(() => parseRetention("version: 2\nkeep: {}")).toThrow(RetentionError);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.anything().map((value) => `version: 1\nkeep: ${JSON.stringify(value)}`)), (text) => {
        try {
          parseRetention(text);
        } catch (error) {
          expect(error).toBeInstanceOf(RetentionError);
        }
      }),
    );
  });
});

describe("RecordStore.purge", () => {
  const dir = useTempDir();

  it("deletes records past their kind's limit with their place in the arrival order, and keeps appending meanwhile", async () => {
    const now = 100 * DAY;
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    const old = Array.from({ length: 30 }, (_, i) => ({ ...presetRecord(0x100, i), receivedAt: now - 40 * DAY }));
    const oldMessages = Array.from({ length: 5 }, (_, i) => ({ id: { origin: 0x200, seq: i }, receivedAt: now - 4 * DAY, body: { kind: "message" as const, text: "hello" } }));
    const fresh = Array.from({ length: 20 }, (_, i) => ({ ...presetRecord(0x300, i), receivedAt: now - DAY }));
    await Promise.all([...old, ...oldMessages, ...fresh].map((record) => store.append(record)));
    const limits = parseRetention("version: 1\nkeep: { supply_request: 30d, message: 3d }");
    const purging = store.purge((record) => expired(limits, record, now));
    const during = store.append({ ...presetRecord(0x400, 1), receivedAt: now });
    expect(await purging).toBe(35);
    expect((await during).stored).toBe(true);
    expect(store.count).toBe(21);
    expect((await store.recent(1000)).map((record) => record.id.origin).sort((a, b) => a - b)).toEqual([...Array.from({ length: 20 }, () => 0x300), 0x400]);
    expect(await store.get({ origin: 0x100, seq: 3 })).toBeUndefined();
    expect(await store.purge((record) => expired(limits, record, now))).toBe(0);
    await store.close();
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    expect(await checkStore(db, codebook)).toMatchObject({ records: 21, quarantined: [], countWas: undefined });
    await db.close();
  });

  it("reads the log without holding up appends: one made while it reads is stored before the purge ends", async () => {
    const now = 100 * DAY;
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    await Promise.all(Array.from({ length: 5000 }, (_, i) => store.append({ ...presetRecord(0x100 + (i % 5), i), receivedAt: now - (i < 100 ? 40 : 1) * DAY })));
    const done: string[] = [];
    let during: Promise<unknown> | undefined;
    const purging = store.purge((record) => {
      during ??= store.append({ ...presetRecord(0x400, 1), receivedAt: now }).then(() => done.push("append"));
      return now - record.receivedAt > 30 * DAY;
    });
    expect(await purging.then((purged) => (done.push("purge"), purged))).toBe(100);
    await during;
    expect(done).toEqual(["append", "purge"]);
    expect(store.count).toBe(4901);
    await store.close();
  });

  it("leaves a record replaced while it reads (its new place is read at the next purge), and keeps the count exact", async () => {
    const now = 100 * DAY;
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    const forged = { ...presetRecord(0xba5e0002, 7, "water"), auth: "none" as const, receivedAt: now - 40 * DAY };
    await store.append(forged);
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.append({ ...presetRecord(0x100, i), receivedAt: now - 40 * DAY })));
    let replacing: Promise<unknown> | undefined;
    const due = (record: FieldRecord): boolean => {
      replacing ??= store.replace({ ...forged, auth: "mac" }, (stored) => stored.auth === "none");
      return now - record.receivedAt > 30 * DAY;
    };
    expect(await store.purge(due)).toBe(10);
    expect(await replacing).toMatchObject({ auth: "none" });
    expect(store.count).toBe(1);
    expect(await store.get(forged.id)).toMatchObject({ auth: "mac" });
    expect(await store.purge(due)).toBe(1);
    expect(store.count).toBe(0);
    await store.close();
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    expect(await checkStore(db, codebook)).toMatchObject({ records: 0, quarantined: [], countWas: undefined });
    await db.close();
  });

  it("with a horizon reads only what it stored since the last purge while nothing read then can have fallen due; after that, or under other rules, all", async () => {
    const t0 = 100 * DAY;
    const limits = parseRetention("version: 1\nkeep: { message: 3d }");
    const horizon = (now: number, rules = JSON.stringify(limits)) => ({ rules, now, dueAt: (record: FieldRecord) => dueAt(limits, record) });
    let read = 0;
    const due = (now: number) => (record: FieldRecord): boolean => (read++, expired(limits, record, now));
    const message = (seq: number, receivedAt: number): FieldRecord => ({ id: { origin: 0x200, seq }, receivedAt, body: { kind: "message", text: "hello" } });
    const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.append(message(i, t0))));
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.append({ ...presetRecord(0x100, i), receivedAt: t0 })));
    const purge = async (now: number, rules?: string): Promise<{ purged: number; read: number }> => {
      read = 0;
      const purged = await store.purge(due(now), horizon(now, rules));
      return { purged, read };
    };
    expect(await purge(t0 + DAY)).toEqual({ purged: 0, read: 15 });
    await Promise.all(Array.from({ length: 3 }, (_, i) => store.append(message(100 + i, t0 + DAY))));
    expect(await purge(t0 + 2 * DAY)).toEqual({ purged: 0, read: 3 });
    expect(await purge(t0 + 3 * DAY + 1)).toEqual({ purged: 10, read: 18 }); // the first ten fell due
    expect(await purge(t0 + 3 * DAY + 2)).toEqual({ purged: 0, read: 0 });
    expect(await purge(t0 + 3 * DAY + 2, "other rules")).toEqual({ purged: 0, read: 8 });
    expect(await purge(t0 + 4 * DAY + 1)).toEqual({ purged: 3, read: 8 });
    expect(store.count).toBe(5);
    await store.close();
  });

  it("does not give again the arrival numbers a purge has read: a record stored after the newest were purged and the store reopened is read by the next purge", async () => {
    const t0 = 100 * DAY;
    const limits = parseRetention("version: 1\nkeep: { message: 3d }");
    const horizon = { rules: JSON.stringify(limits), now: t0 + 4 * DAY, dueAt: (record: FieldRecord) => dueAt(limits, record) };
    const message = (seq: number): FieldRecord => ({ id: { origin: 0x200, seq }, receivedAt: t0, body: { kind: "message", text: "hello" } });
    let store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.append(message(i))));
    expect(await store.purge((record) => expired(limits, record, horizon.now), horizon)).toBe(5);
    await store.close();
    store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
    await store.append(message(99)); // as old as the others (a peer's record, relayed late)
    expect((await store.arrivalKeysAfter(-1, 10)).map((arrival) => arrival.n)).toEqual([5]);
    expect(await store.purge((record) => expired(limits, record, horizon.now), horizon)).toBe(1);
    expect(store.count).toBe(0);
    await store.close();
  });
});
