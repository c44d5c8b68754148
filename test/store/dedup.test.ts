// The store's dedup check runs against the ids in memory (read from the log's keys at the first
// write): a record is stored once within a batch, across batches, across a reopen, after a purge,
// and when a relayed batch and a single append bring the same record.
import { join } from "node:path";
import fc from "fast-check";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { RecordStore, recordKey } from "../../src/store/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-dedup-");

const open = (name: string): Promise<RecordStore> => RecordStore.open(new Level<string, Uint8Array>(join(dir.path, name), { valueEncoding: "view" }), codebook);

async function storedKeys(store: RecordStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of store.all()) for (const record of page) keys.push(recordKey(record.id));
  return keys;
}

describe("RecordStore dedup", () => {
  it("stores an id heard twice in one batch once: the first append is stored, the second is not", async () => {
    const store = await open("batch");
    const outcomes = await Promise.all([store.append(presetRecord(7, 1)), store.append(presetRecord(7, 1)), store.append(presetRecord(7, 2))]);
    expect(outcomes).toEqual([
      { stored: true, count: 1 },
      { stored: false, count: 2 },
      { stored: true, count: 2 },
    ]);
    expect(await storedKeys(store)).toHaveLength(2);
    expect(await store.arrivalKeysAfter(-1, 10)).toHaveLength(2);
    await store.close();
  });

  it("knows the ids stored before a reopen, however the next write comes (append or a relayed batch)", async () => {
    let store = await open("reopen");
    await Promise.all([1, 2, 3].map((seq) => store.append(presetRecord(7, seq))));
    await store.close();
    store = await open("reopen");
    const again = await Promise.all([store.append(presetRecord(7, 2)), store.append(presetRecord(7, 4))]);
    expect(again.map((outcome) => outcome.stored)).toEqual([false, true]);
    await store.close();
    store = await open("reopen");
    const relayed = await store.appendMany([presetRecord(7, 1), presetRecord(7, 4), presetRecord(7, 5)], { via: "north" });
    expect(relayed.map((outcome) => !(outcome instanceof Error) && outcome.stored)).toEqual([false, false, true]);
    expect(store.count).toBe(5);
    expect(await storedKeys(store)).toHaveLength(5);
    await store.close();
  });

  it("stores a record once when the radio's append and a peer's relayed batch race", async () => {
    const store = await open("race");
    const record = presetRecord(9, 0x3003);
    const [single, batch] = await Promise.all([store.append(record), store.appendMany([record, presetRecord(9, 0x3004)], { via: "north" })]);
    const batchStored = batch.map((outcome) => !(outcome instanceof Error) && outcome.stored);
    // Whichever wrote first stored it; the other found it stored.
    expect(Number(single.stored) + Number(batchStored[0])).toBe(1);
    expect(batchStored[1]).toBe(true);
    expect(store.count).toBe(2);
    expect(await storedKeys(store)).toHaveLength(2);
    await store.close();
  });

  it("stores a purged id again when it is heard again", async () => {
    const store = await open("purge");
    await Promise.all([store.append(presetRecord(7, 1)), store.append(presetRecord(7, 2))]);
    expect(await store.purge((record) => record.id.seq === 1)).toBe(1);
    expect((await Promise.all([store.append(presetRecord(7, 1)), store.append(presetRecord(7, 2))])).map((outcome) => outcome.stored)).toEqual([true, false]);
    expect(await store.arrivalKeysAfter(-1, 10)).toHaveLength(2);
    await store.close();
  });

  it("tells a receiver (appendTo) how each append of a batch ended, once the batch is on disk", async () => {
    const store = await open("receiver");
    const told: string[] = [];
    const receiver = (name: string) => ({
      resolve: (stored: boolean, count: number) => told.push(`${name}: ${stored ? "stored" : "again"} ${count}`),
      reject: (error: unknown) => told.push(`${name}: refused (${(error as Error).message.includes("unknown item") ? "unknown item" : String(error)})`),
    });
    const bad = presetRecord(7, 3);
    bad.body = { kind: "supply_request", lines: [{ item: "unicorn", quantity: 1 }], priority: "normal" };
    store.appendTo(presetRecord(7, 1), receiver("a"));
    store.appendTo(bad, receiver("bad"));
    store.appendTo(presetRecord(7, 1), receiver("a again"));
    store.appendTo(presetRecord(7, 2), receiver("b"));
    expect(told).toEqual([]); // nothing is told before the write
    await store.close(); // waits for the write
    expect(told).toEqual(["bad: refused (unknown item)", "a: stored 1", "a again: again 2", "b: stored 2"]);
  });

  it("stores every id once over appends, relayed batches and reopens in any order", async () => {
    let run = 0;
    const id = fc.record({ origin: fc.integer({ min: 1, max: 3 }), seq: fc.integer({ min: 0, max: 20 }) });
    const step = fc.oneof(fc.record({ appends: fc.array(id, { minLength: 1, maxLength: 12 }) }), fc.record({ relayed: fc.array(id, { minLength: 1, maxLength: 12 }) }), fc.constant({ reopen: true as const }));
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const name = `p${run++}`;
        let store = await open(name);
        const expected = new Set<string>();
        for (const item of steps) {
          if ("reopen" in item) {
            await store.close();
            store = await open(name);
            continue;
          }
          const records = ("appends" in item ? item.appends : item.relayed).map((at) => presetRecord(at.origin, at.seq));
          const before = expected.size;
          for (const record of records) expected.add(recordKey(record.id));
          const outcomes = "appends" in item ? await Promise.all(records.map((record) => store.append(record))) : await store.appendMany(records, { via: "peer" });
          expect(outcomes.filter((outcome) => !(outcome instanceof Error) && outcome.stored)).toHaveLength(expected.size - before);
        }
        expect(store.count).toBe(expected.size);
        expect(new Set(await storedKeys(store))).toEqual(expected);
        expect(await store.arrivalKeysAfter(-1, 1000)).toHaveLength(expected.size);
        await store.close();
      }),
      { numRuns: 20 },
    );
  });
});
