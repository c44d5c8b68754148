// Station (issue 6):
// - ingestRecordsPerSecond: presets heard by the radio -> station (read, dedup, boards) -> LevelDB
//   (synced group commits), records per second, against raw batched LevelDB writes of the same
//   encoded records in the same run (target: 20,000 records/s, within 2x of the raw writes). The
//   median of three alternating runs of each, after one unmeasured run of each (a station runs for
//   hours: its steady state, not the first pass through code the JIT has not compiled yet, which
//   costs the longer station path more than the raw loop). MESHAID_BENCH_RECORDS sets the count. The raw writes
//   are not synced; ingestVsSyncedRaw compares with raw batches of 1,000 synced to disk, as the
//   station's group commits are.
// - ingestRecordsPerCpuSecond: the same two paths (station, raw unsynced) in CPU time (user +
//   system, all the process's threads) instead of wall time: on a machine shared with other work,
//   wall time also counts waiting for a core, which the longer run suffers more.
// - ingestEncryptedRecordsPerSecond: the station path with records encrypted at rest (--encrypt),
//   against the same path unencrypted in the same run.
// - integrityCheckMs: the check meshaid start runs on the log before the station after an unclean
//   stop (crash, kill, power cut), on the store of STORED records (on top of startupMs);
//   integrityCheckCleanMs: the same after a clean stop (entries read, not decoded).
// - startupMs, rssMb: a fresh process opens a store holding 100,000 records (MESHAID_BENCH_STORED),
//   rebuilds the boards and is ready (targets: < 1000 ms, < 150 MB). The child loads only what a
//   station start loads (the field config without the tests' record generators), and rssMb is
//   read once the boards' cards are made. startupCpuMs: the CPU time that start-up took in the
//   child (all its threads), for reading startupMs on a loaded machine (`uptime`): wall time
//   above it is time spent waiting for a core.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Level } from "level";
import pino from "pino";
import { Station } from "../../src/station/index.ts";
import { checkStore, RecordCipher, RecordStore } from "../../src/store/index.ts";
import { encodeLoggedRecord, type FieldRecord } from "../../src/wire/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { tempDir } from "../helpers/tmp.ts";
import { result, type BenchResult } from "./result.ts";

const RECORDS = Number(process.env["MESHAID_BENCH_RECORDS"] ?? 20_000);
const STORED = Number(process.env["MESHAID_BENCH_STORED"] ?? 100_000);
const BATCH = 1_000;
const TEXTS = ["NEED WATER", "INJURED 1", "ON SHIFT", "NEED WATER", "OK"];

/** Records per second of wall time and per second of CPU time. */
interface Rate {
  wall: number;
  cpu: number;
}

function rate(records: number, started: number, cpu: NodeJS.CpuUsage): Rate {
  const used = process.cpuUsage(cpu);
  return { wall: records / ((performance.now() - started) / 1000), cpu: records / ((used.user + used.system) / 1e6) };
}

async function stationPath(dir: string, cipher?: RecordCipher): Promise<Rate> {
  const store = await RecordStore.open(new Level<string, Uint8Array>(dir, { valueEncoding: "view" }), codebook, cipher ? { cipher } : {});
  const radio = new ScriptedRadio();
  const station = new Station({ name: "bench", radio, store, presets, codebook, logger: pino({ level: "silent" }) });
  await station.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < RECORDS; i += 1) radio.hear(0x10000 + (i % 50), i, TEXTS[i % TEXTS.length]!);
  await station.idle();
  const measured = rate(RECORDS, started, cpu);
  if (store.count !== RECORDS) throw new Error(`stored ${store.count} of ${RECORDS}`);
  await station.stop();
  await store.close();
  return measured;
}

async function rawLevel(dir: string, sync = false): Promise<Rate> {
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: "view" });
  await db.open();
  const cpu = process.cpuUsage();
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
    await batch.write({ sync });
  }
  const measured = rate(RECORDS, started, cpu);
  await db.close();
  return measured;
}

/** A store holding `count` records of every board's kinds. */
async function fill(dir: string, count: number): Promise<void> {
  const store = await RecordStore.open(new Level<string, Uint8Array>(dir, { valueEncoding: "view" }), codebook);
  const t0 = Date.now() - count;
  for (let start = 0; start < count; start += 10_000) {
    const appends: Array<Promise<unknown>> = [];
    for (let i = start; i < Math.min(count, start + 10_000); i += 1) {
      const origin = 0x10000 + (i % 200);
      const bodies: FieldRecord["body"][] = [
        { kind: "supply_request", lines: [{ item: "water", quantity: 2 }], priority: "normal", place: { landmark: 1 } },
        { kind: "supply_status", status: "en_route", etaMin: 5, ref: { origin, seq: i - 1 } },
        { kind: "incident", incident: "injury", severity: "moderate", casualties: 1 },
        { kind: "shift", action: "on", role: "medic" },
        { kind: "checkin", status: "ok", battery: 70 },
      ];
      appends.push(store.append({ id: { origin, seq: i }, receivedAt: t0 + i, body: bodies[i % bodies.length]!, sender: `M${i % 200}` }));
    }
    await Promise.all(appends);
  }
  await store.close();
}

async function startup(dir: string): Promise<{ startupMs: number; startupCpuMs: number; rssMb: number }> {
  const script = fileURLToPath(new URL("./station-startup.ts", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", script, dir], { encoding: "utf8" });
  return JSON.parse(stdout) as { startupMs: number; startupCpuMs: number; rssMb: number };
}

const wall = (rates: Rate[]): number[] => rates.map((r) => r.wall);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(): Promise<BenchResult[]> {
  const raw: Rate[] = [];
  const rawSynced: Rate[] = [];
  const station: Rate[] = [];
  const encrypted: Rate[] = [];
  const { cipher } = await RecordCipher.create("bench passphrase");
  // Round 0 warms both paths up and is not counted.
  for (let round = 0; round < 4; round += 1) {
    const a = await tempDir("meshaid-bench-");
    const b = await tempDir("meshaid-bench-");
    const c = await tempDir("meshaid-bench-");
    const d = await tempDir("meshaid-bench-");
    const counted = (rates: Rate[], rate: Rate): void => void (round > 0 && rates.push(rate));
    try {
      counted(raw, await rawLevel(a.path));
      counted(station, await stationPath(b.path));
      counted(rawSynced, await rawLevel(c.path, true));
      counted(encrypted, await stationPath(d.path, cipher));
    } finally {
      await a.remove();
      await b.remove();
      await c.remove();
      await d.remove();
    }
  }
  const stored = await tempDir("meshaid-bench-");
  try {
    await fill(stored.path, STORED);
    const { startupMs, startupCpuMs, rssMb } = await startup(stored.path);
    // The check `meshaid start` runs before the station (store's checkStore) on the same store.
    const db = new Level<string, Uint8Array>(stored.path, { valueEncoding: "view" });
    const checkStarted = performance.now();
    await checkStore(db, codebook);
    const integrityCheckMs = performance.now() - checkStarted;
    const cleanStarted = performance.now();
    await checkStore(db, codebook, { decode: false });
    const integrityCheckCleanMs = performance.now() - cleanStarted;
    await db.close();
    return [
      result("station", "ingestRecordsPerSecond", median(wall(station)), "records/s", median(wall(raw))),
      // Context: the same against raw batches that are synced to disk, as every station batch is.
      result("station", "ingestVsSyncedRaw", median(wall(station)), "records/s", median(wall(rawSynced))),
      result("station", "ingestRecordsPerCpuSecond", median(station.map((r) => r.cpu)), "records/cpu-s", median(raw.map((r) => r.cpu))),
      result("station", "startupMs", startupMs, "ms"),
      result("station", "startupCpuMs", startupCpuMs, "ms"),
      result("station", "rssMb", rssMb, "MB"),
      // Issue 10: records sealed at rest (AES-256-GCM) against the same path unencrypted, same run.
      result("station", "ingestEncryptedRecordsPerSecond", median(wall(encrypted)), "records/s", median(wall(station))),
      result("station", "integrityCheckMs", integrityCheckMs, "ms"),
      result("station", "integrityCheckCleanMs", integrityCheckCleanMs, "ms"),
    ];
  } finally {
    await stored.remove();
  }
}
