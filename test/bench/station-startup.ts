// Run in a child process by station.bench.ts (so its memory is only what a station start takes):
// opens the store in argv[2], starts a station (rebuilding the boards from the log) and prints
// {startupMs, startupCpuMs, rssMb, records} as JSON.
import { Level } from "level";
import pino from "pino";
import { Station } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { codebook, presets } from "../helpers/config.ts";
import { ScriptedRadio } from "../helpers/radio.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: station-startup.ts DB_DIR");
const started = performance.now();
const cpuStarted = process.cpuUsage();
const store = await RecordStore.open(new Level<string, Uint8Array>(dir, { valueEncoding: "view" }), codebook);
const station = new Station({ name: "bench", radio: new ScriptedRadio(), store, presets, codebook, logger: pino({ level: "silent" }) });
await station.start();
const boards = station.boards();
const startupMs = performance.now() - started;
const cpu = process.cpuUsage(cpuStarted);
// CPU time of this process (all its threads, LevelDB's reads too): what start-up costs, less
// swayed than the wall time by the other work on a shared machine.
const startupCpuMs = (cpu.user + cpu.system) / 1000;
const rssMb = process.memoryUsage().rss / 2 ** 20;
if (process.env["MESHAID_BENCH_DEBUG"]) process.stderr.write(`${JSON.stringify(process.memoryUsage())}\n`);
process.stdout.write(`${JSON.stringify({ startupMs, startupCpuMs, rssMb, records: store.count, requests: boards.requests.length })}\n`);
await station.stop();
await store.close();
