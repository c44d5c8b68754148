// Station (issue 6):
// - ingestRecordsPerSecond: presets heard by the radio -> station (read, dedup, boards) -> LevelDB
//   (synced group commits), records per second, against raw batched LevelDB writes of the same
//   encoded records in the same run (target: 20,000 records/s, within 2x of the raw writes). The
//   median of nine alternating runs of each (MESHAID_BENCH_ROUNDS; a run of 20,000 records takes
//   about a tenth of a second, so one collection of the old generation or one wait for a core
//   moves a single run by a third: three runs were not enough to tell a change from noise), after
//   one unmeasured run of each (a station runs for
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
//   integrityCheckCleanMs: the same after a clean stop (entries read, not decoded);
//   integrityCheckUnchangedMs: opening the database after a clean stop that left its files as they
//   are (cli/database.ts: the files hashed and compared with the clean stop's mark, the log not read).
// - startupMs, rssMb: a fresh process opens a store holding 100,000 records (MESHAID_BENCH_STORED),
//   rebuilds the boards and is ready (targets: < 1000 ms, < 150 MB). The child
//   (station-startup.ts) is compiled with the options the `meshaid` bin compiles meshaid with
//   (src/cli/build.js) and run by plain node with source maps on, as `meshaid start` runs; it
//   loads only what a station start loads (the field config without the tests' record
//   generators), and rssMb is read once the boards' cards are made. startupCpuMs: the CPU time
//   that start-up took in the child (all its threads), for reading startupMs on a loaded machine
//   (`uptime`): wall time above it is time spent waiting for a core.
// - startReadyMs, startReadyCpuMs, startReadyRssMb: `meshaid start` itself (the bin, the simulated
//   mesh, a clean-stopped data folder holding the same records, marked as meshaid marks a clean
//   stop: its files' hash, so the start check reads no record) from spawn until it says its radio
//   is connected: wall time, the CPU time of the process (/proc, 10 ms ticks; Linux) and its RSS then;
//   baseline: the same command run from the sources through tsx (as the bin did before), median
//   of three alternating runs of each.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Level } from "level";
import pino from "pino";
import { PortNum } from "../../src/radio/index.ts";
import { Station } from "../../src/station/index.ts";
import { checkStore, RecordCipher, RecordStore } from "../../src/store/index.ts";
import { encodeLoggedRecord, type FieldRecord } from "../../src/wire/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { tempDir } from "../helpers/tmp.ts";
import { MESHAID_BIN } from "../helpers/cli.ts";
import { compile, defaultCacheDir, PACKAGE_ROOT } from "../../src/cli/build.js";
import { markCleanStop, openDatabase } from "../../src/cli/database.ts";
import { result, type BenchResult } from "./result.ts";

const RECORDS = Number(process.env["MESHAID_BENCH_RECORDS"] ?? 20_000);
const STORED = Number(process.env["MESHAID_BENCH_STORED"] ?? 100_000);
const ROUNDS = Number(process.env["MESHAID_BENCH_ROUNDS"] ?? 9);
const BATCH = 1_000;
const TEXTS = ["NEED WATER", "INJURED 1", "ON SHIFT", "NEED WATER", "OK"];
/**
 * The texts as the radio hands them over: bytes, a fresh copy per packet (as each packet read from
 * the serial port is). Encoding the text is the handheld's work, not the station's: TextEncoder
 * cost ~0.7 µs a packet, a tenth of the station path, charged to the station before.
 */
const PAYLOADS = TEXTS.map((text) => new TextEncoder().encode(text));

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
  for (let i = 0; i < RECORDS; i += 1) radio.hearBytes(0x10000 + (i % 50), i, PAYLOADS[i % PAYLOADS.length]!.slice(), PortNum.TEXT_MESSAGE_APP);
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

/** station-startup.ts compiled as the bin compiles meshaid, run as the bin runs it. */
async function startup(dir: string): Promise<{ startupMs: number; startupCpuMs: number; rssMb: number }> {
  // Beside the bin's compiles, where npm packages resolve from node_modules as they do for meshaid.
  const cache = defaultCacheDir(PACKAGE_ROOT);
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, ".tmp-bench-"));
  try {
    await compile({ entryPoints: [fileURLToPath(new URL("./station-startup.ts", import.meta.url))], outdir: out });
    const { stdout } = await promisify(execFile)(process.execPath, ["--enable-source-maps", join(out, "station-startup.mjs"), dir], { encoding: "utf8" });
    return JSON.parse(stdout) as { startupMs: number; startupCpuMs: number; rssMb: number };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

interface Ready {
  ms: number;
  cpuMs: number;
  rssMb: number;
}

/** A running process's CPU time and RSS from /proc (Linux); NaN elsewhere. */
function procUsage(pid: number): { cpuMs: number; rssMb: number } {
  try {
    // /proc/PID/stat fields 14 and 15: user and system time in clock ticks (USER_HZ, 100 a second).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return { cpuMs: (Number(fields[11]) + Number(fields[12])) * 10, rssMb: rssKb / 1024 };
  } catch {
    return { cpuMs: NaN, rssMb: NaN };
  }
}

/** `meshaid start` on `dataDir` until its radio is connected; then stopped as a service is (SIGTERM). */
async function startReady(command: string[], dataDir: string): Promise<Ready> {
  const started = performance.now();
  const child = spawn(process.execPath, [...command, "start", "--db", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const ready = await new Promise<Ready | undefined>((resolve) => {
    const watch = (chunk: Buffer): void => {
      out += chunk.toString();
      if (!out.includes("radio: connected")) return;
      resolve({ ms: performance.now() - started, ...procUsage(child.pid!) });
      child.stdout.off("data", watch);
      child.stdout.resume();
    };
    child.stdout.on("data", watch);
    void exited.then(() => resolve(undefined));
  });
  child.kill("SIGTERM");
  const code = await exited;
  if (!ready || code !== 0) throw new Error(`meshaid start (${command.join(" ")}) ${ready ? `exited ${code}` : "never connected"}: ${err.trim()}`);
  return ready;
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
  for (let round = 0; round <= ROUNDS; round += 1) {
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
  // A data folder as `meshaid start --db` keeps it: the database in db/, stopped cleanly.
  const dbPath = join(stored.path, "db");
  try {
    await fill(dbPath, STORED);
    // Marked as `meshaid start` marks a clean stop (with the hash of the database's files).
    const closed = new Level<string, Uint8Array>(dbPath, { valueEncoding: "view" });
    await closed.open();
    await closed.close();
    markCleanStop(closed, dbPath);
    const { startupMs, startupCpuMs, rssMb } = await startup(dbPath);
    const compiled: Ready[] = [];
    const fromSources: Ready[] = [];
    for (let round = 0; round < 3; round += 1) {
      compiled.push(await startReady([MESHAID_BIN], stored.path));
      fromSources.push(await startReady(["--import", "tsx", fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))], stored.path));
    }
    // The check `meshaid start` runs before the station (store's checkStore) on the same store.
    const db = new Level<string, Uint8Array>(dbPath, { valueEncoding: "view" });
    const checkStarted = performance.now();
    await checkStore(db, codebook);
    const integrityCheckMs = performance.now() - checkStarted;
    const cleanStarted = performance.now();
    await checkStore(db, codebook, { decode: false });
    const integrityCheckCleanMs = performance.now() - cleanStarted;
    await db.close();
    markCleanStop(db, dbPath);
    const unchangedStarted = performance.now();
    const unchanged = await openDatabase(dbPath, codebook);
    const integrityCheckUnchangedMs = performance.now() - unchangedStarted;
    await unchanged.db.close();
    if (unchanged.read !== "nothing") throw new Error(`the database was read (${unchanged.read}) after a clean stop that left it unchanged`);
    return [
      result("station", "ingestRecordsPerSecond", median(wall(station)), "records/s", median(wall(raw))),
      // Context: the same against raw batches that are synced to disk, as every station batch is.
      result("station", "ingestVsSyncedRaw", median(wall(station)), "records/s", median(wall(rawSynced))),
      result("station", "ingestRecordsPerCpuSecond", median(station.map((r) => r.cpu)), "records/cpu-s", median(raw.map((r) => r.cpu))),
      result("station", "startupMs", startupMs, "ms"),
      result("station", "startupCpuMs", startupCpuMs, "ms"),
      result("station", "rssMb", rssMb, "MB"),
      result("station", "startReadyMs", median(compiled.map((r) => r.ms)), "ms", median(fromSources.map((r) => r.ms))),
      result("station", "startReadyCpuMs", median(compiled.map((r) => r.cpuMs)), "ms", median(fromSources.map((r) => r.cpuMs))),
      result("station", "startReadyRssMb", median(compiled.map((r) => r.rssMb)), "MB", median(fromSources.map((r) => r.rssMb))),
      // Issue 10: records sealed at rest (AES-256-GCM) against the same path unencrypted, same run.
      result("station", "ingestEncryptedRecordsPerSecond", median(wall(encrypted)), "records/s", median(wall(station))),
      result("station", "integrityCheckMs", integrityCheckMs, "ms"),
      result("station", "integrityCheckCleanMs", integrityCheckCleanMs, "ms"),
      result("station", "integrityCheckUnchangedMs", integrityCheckUnchangedMs, "ms"),
    ];
  } finally {
    await stored.remove();
  }
}
