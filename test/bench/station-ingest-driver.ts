// Profiling driver (not a bench): N records heard by a ScriptedRadio through the real station into a
// fresh LevelDB. `node --cpu-prof --import tsx test/bench/station-ingest-driver.ts [N] [rounds]`.
import { Level } from "level";
import pino from "pino";
import { PortNum } from "../../src/radio/index.ts";
import { Station } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { tempDir } from "../helpers/tmp.ts";

const RECORDS = Number(process.argv[2] ?? 50_000);
const TEXTS = ["NEED WATER", "INJURED 1", "ON SHIFT", "NEED WATER", "OK"];
// Bytes, a fresh copy per packet, as in station.bench.ts.
const PAYLOADS = TEXTS.map((text) => new TextEncoder().encode(text));
const ROUNDS = Number(process.argv[3] ?? 3);
for (let round = 0; round < ROUNDS; round += 1) {
const dir = await tempDir("meshaid-prof-");
try {
  const store = await RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
  const radio = new ScriptedRadio();
  const station = new Station({ name: "prof", radio, store, presets, codebook, logger: pino({ level: "silent" }) });
  await station.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < RECORDS; i += 1) radio.hearBytes(0x10000 + (i % 50), i, PAYLOADS[i % PAYLOADS.length]!.slice(), PortNum.TEXT_MESSAGE_APP);
  await station.idle();
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - started;
  process.stdout.write(`${RECORDS} records: ${(RECORDS / (ms / 1000)).toFixed(0)} rec/s wall, ${(RECORDS / ((used.user + used.system) / 1e6)).toFixed(0)} rec/cpu-s\n`);
  await station.stop();
  await store.close();
} finally {
  await dir.remove();
}
}
