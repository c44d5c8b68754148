// RecordStore.replace on a real LevelDB: the explicit operation that puts a genuine record in
// place of a forgery that took its id first. The forgery's bytes are kept as evidence (sealed as
// they were), the count stays, the record moves to the end of the arrival order once, and appends
// racing it are neither lost nor doubled.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { RecordCipher, RecordStore, recordKey } from "../../src/store/index.ts";
import type { FieldRecord } from "../../src/wire/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const BASE = 0xba5e0002;
const forged: FieldRecord = { ...presetRecord(BASE, 7, "water"), auth: "none", text: "FORGED MARKER" };
const genuine: FieldRecord = { ...presetRecord(BASE, 7, "blanket"), auth: "mac", text: "GENUINE MARKER" };
const unauthenticated = (stored: FieldRecord): boolean => stored.auth === "none";

describe("RecordStore.replace", () => {
  const dir = useTempDir();
  const open = (cipher?: RecordCipher) => RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook, cipher ? { cipher } : {});

  it("replaces only when the stored record is what the caller says, keeps the count, moves it to the end of the arrival order once, and keeps the forgery as evidence", async () => {
    const store = await open();
    await store.append(presetRecord(0x100, 1));
    await store.append(forged);
    await store.append(presetRecord(0x100, 2));
    expect(await store.replace(genuine, () => false)).toBeUndefined();
    expect(await store.replace({ ...genuine, id: { origin: BASE, seq: 8 } }, unauthenticated)).toBeUndefined(); // none stored
    expect(await store.get(genuine.id)).toMatchObject({ auth: "none" });

    const seen: Array<{ first: number; last: number; relayedOnly: boolean }> = [];
    store.subscribeArrivals((written) => seen.push(written));
    const replaced = await store.replace(genuine, unauthenticated);
    expect(replaced).toMatchObject({ auth: "none", text: "FORGED MARKER" });
    expect(seen).toEqual([{ first: 3, last: 3, relayedOnly: false }]);
    expect(await store.replace(genuine, unauthenticated)).toBeUndefined(); // the genuine one stays
    expect(store.count).toBe(3);
    expect((await store.arrivalKeysAfter(-1, 10)).map((arrival) => arrival.key)).toEqual([recordKey({ origin: 0x100, seq: 1 }), recordKey({ origin: 0x100, seq: 2 }), recordKey(genuine.id)]);
    expect((await store.recent(10)).map((record) => record.text)).toEqual(["GENUINE MARKER", "NEED WATER", "NEED WATER"]);
    expect(await store.evidence()).toEqual([{ key: recordKey(genuine.id), record: expect.objectContaining({ text: "FORGED MARKER" }) as unknown }]);
    await store.close();

    const again = await open();
    expect(again.count).toBe(3);
    expect(await again.get(genuine.id)).toMatchObject({ auth: "mac", text: "GENUINE MARKER" });
    expect((await again.evidence()).length).toBe(1);
    // A purge of the record takes its evidence with it (retention covers both).
    expect(await again.purge((record) => record.id.origin === BASE)).toBe(1);
    expect(await again.evidence()).toEqual([]);
    await again.close();
  });

  it("keeps a relayed replacement marked as the peer's", async () => {
    const store = await open();
    await store.append(forged);
    await store.replace(genuine, unauthenticated, { via: "north" });
    expect(await store.arrivalKeysAfter(-1, 10)).toEqual([{ n: 1, key: recordKey(genuine.id), via: "north" }]);
    await store.close();
  });

  it("loses and doubles nothing that is appended while it runs", async () => {
    const store = await open();
    await store.append(forged);
    const racing = Array.from({ length: 200 }, (_, i) => presetRecord(0x300, i + 1));
    const appends = racing.map((record, i) => (i % 2 === 0 ? store.append(record) : store.appendMany([record]).then((out) => out[0])));
    const [replaced] = await Promise.all([store.replace(genuine, unauthenticated), ...appends]);
    expect(replaced).toBeDefined();
    expect(store.count).toBe(201);
    const keys = (await store.arrivalKeysAfter(-1, 1000)).map((arrival) => arrival.key);
    expect(keys).toHaveLength(201);
    expect(new Set(keys).size).toBe(201);
    await store.close();
  });

  it("with --encrypt, the evidence stays sealed on disk and reads back with the key", async () => {
    const { cipher } = await RecordCipher.create("correct horse battery staple");
    const store = await open(cipher);
    await store.append(forged);
    await store.replace(genuine, unauthenticated);
    expect((await store.evidence())[0]?.record).toMatchObject({ text: "FORGED MARKER" });
    await store.close();
    const raw = Buffer.concat(readdirSync(dir.path, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => readFileSync(join(entry.parentPath, entry.name))));
    expect(["FORGED MARKER", "GENUINE MARKER"].filter((needle) => raw.includes(needle))).toEqual([]);
  });
});
