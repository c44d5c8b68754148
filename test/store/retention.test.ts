// Retention limits per record kind: the file's reader and the store's purge.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { checkStore, expired, parseRetention, RecordStore, RetentionError } from "../../src/store/index.ts";
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
});
