// RecordStore.appendMany (a relayed batch in one write): every id stored once however appends and
// batches interleave, with duplicates inside a batch and against the disk; a purge and a reopen
// keep the dedup exact.
import { join } from "node:path";
import fc from "fast-check";
import { Level } from "level";
import { describe, expect, it } from "vitest";
import { RecordStore, recordKey } from "../../src/store/index.ts";
import type { FieldRecord } from "../../src/wire/index.ts";
import { codebook, presetRecord } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-append-many-");

const open = (name: string): Promise<RecordStore> => RecordStore.open(new Level<string, Uint8Array>(join(dir.path, name), { valueEncoding: "view" }), codebook);

async function storedIds(store: RecordStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of store.all()) for (const record of page) ids.push(recordKey(record.id));
  return ids;
}

describe("RecordStore.appendMany", () => {
  it("stores each id once, whether it came alone, in a batch, twice in a batch or racing both", async () => {
    let run = 0;
    const idSpace = fc.record({ origin: fc.integer({ min: 1, max: 4 }), seq: fc.integer({ min: 1, max: 30 }) });
    const step = fc.oneof(fc.record({ one: idSpace }), fc.record({ many: fc.array(idSpace, { minLength: 1, maxLength: 25 }) }));
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const store = await open(`p${run++}`);
        const expected = new Set<string>();
        const writes: Array<Promise<unknown>> = [];
        let freshFromBatches = 0;
        for (const item of steps) {
          const records: FieldRecord[] = ("one" in item ? [item.one] : item.many).map((id) => presetRecord(id.origin, id.seq));
          for (const record of records) expected.add(recordKey(record.id));
          if ("one" in item) writes.push(store.append(records[0]!));
          else writes.push(store.appendMany(records, { via: "peer" }).then((outcomes) => (freshFromBatches += outcomes.filter((outcome) => !(outcome instanceof Error) && outcome.stored).length)));
        }
        await Promise.all(writes);
        const ids = await storedIds(store);
        expect(ids.length).toBe(expected.size);
        expect(new Set(ids)).toEqual(expected);
        expect(store.count).toBe(expected.size);
        expect(freshFromBatches).toBeLessThanOrEqual(expected.size);
        await store.close();
      }),
      { numRuns: 25 },
    );
  });

  it("after a purge the purged id can be stored again, and after a reopen a stored one is not", async () => {
    let store = await open("purge");
    const [a, b] = [presetRecord(1, 1), presetRecord(1, 2)];
    expect((await store.appendMany([a, b, a], { via: "peer" })).map((outcome) => !(outcome instanceof Error) && outcome.stored)).toEqual([true, true, false]);
    expect(await store.purge((record) => record.id.seq === 1)).toBe(1);
    expect((await store.appendMany([a, b], { via: "peer" })).map((outcome) => !(outcome instanceof Error) && outcome.stored)).toEqual([true, false]);
    await store.close();
    store = await open("purge");
    expect((await store.appendMany([a, b, presetRecord(1, 3)])).map((outcome) => !(outcome instanceof Error) && outcome.stored)).toEqual([false, false, true]);
    expect(store.count).toBe(3);
    const arrivals = await store.arrivalsAfter(-1, 10);
    expect(arrivals.map((arrival) => arrival.via)).toEqual(["peer", "peer", undefined]);
    await store.close();
  });
});
