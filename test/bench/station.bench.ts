// Station ingest (issue 6 metric ingestRecordsPerSecond): text presets heard by the radio -> station -> LevelDB, records per second, against raw
// batched LevelDB writes of the same encoded records in the same run (the brief's target:
// 20,000 records/s, within 2x of the raw writes). MESHAID_BENCH_RECORDS sets the count.
import { Level } from "level";
import pino from "pino";
import { Station } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { encodeLoggedRecord } from "../../src/wire/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { tempDir } from "../helpers/tmp.ts";
import { result, type BenchResult } from "./result.ts";

const RECORDS = Number(process.env["MESHAID_BENCH_RECORDS"] ?? 5_000);
const BATCH = 1_000;

async function stationPath(dir: string): Promise<number> {
  const store = await RecordStore.open(new Level<string, Uint8Array>(dir, { valueEncoding: "view" }), codebook);
  const radio = new ScriptedRadio();
  const station = new Station({ name: "bench", radio, store, presets, codebook, logger: pino({ level: "silent" }) });
  await station.start();
  const started = performance.now();
  for (let i = 0; i < RECORDS; i += 1) radio.hear(0x10000 + (i % 50), i, "NEED WATER");
  await station.idle();
  const seconds = (performance.now() - started) / 1000;
  if (store.count !== RECORDS) throw new Error(`stored ${store.count} of ${RECORDS}`);
  await station.stop();
  await store.close();
  return RECORDS / seconds;
}

async function rawLevel(dir: string): Promise<number> {
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
  await db.open();
  const started = performance.now();
  for (let start = 0; start < RECORDS; start += BATCH) {
    const batch = db.batch();
    for (let i = start; i < Math.min(RECORDS, start + BATCH); i += 1) {
      const value = encodeLoggedRecord({
        id: { origin: 0x10000 + (i % 50), seq: i },
        receivedAt: Date.now(),
        body: { kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" },
        text: "NEED WATER",
      }, codebook);
      batch.put(`${i}`, value);
    }
    await batch.write();
  }
  const seconds = (performance.now() - started) / 1000;
  await db.close();
  return RECORDS / seconds;
}

export async function run(): Promise<BenchResult[]> {
  const a = await tempDir("meshaid-bench-");
  const b = await tempDir("meshaid-bench-");
  try {
    const baseline = await rawLevel(a.path);
    const station = await stationPath(b.path);
    return [result("station", "ingestRecordsPerSecond", station, "records/s", baseline)];
  } finally {
    await a.remove();
    await b.remove();
  }
}
