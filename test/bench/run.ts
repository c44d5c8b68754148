// Benchmarks: `npm run bench -- NAME [--json]` (NAME omitted: all of them).
// Each prints a table; with --json, one JSON object a line:
// {bench, metric, value, unit, baseline, ratio}, the baseline measured in the same run.
import { parseArgs } from "node:util";
import type { Bench, BenchResult } from "./result.ts";

/** Registered benchmarks, loaded only when run. */
const BENCHES: Record<string, { description: string; load: () => Promise<{ run: Bench }> }> = {
  radio: { description: "frames/s through framing + FromRadio decode of a serial capture vs a plain Buffer scan for 94 C3", load: () => import("./radio.bench.ts") },
  station: { description: "records/s through the station path into LevelDB vs raw batched LevelDB writes", load: () => import("./station.bench.ts") },
  wire: { description: "field protocol over the corpus: bytes and LONG_FAST airtime of plain text vs JSON vs wire, packing, parser recall", load: () => import("./wire.bench.ts") },
  console: { description: "console frame time with 100,000 records in state, slowest screen vs an empty screen (target < 30 ms)", load: () => import("./console.bench.ts") },
  relay: { description: "catch-up of 100,000 records from one station to another through a local broker (aedes) after an outage vs raw publish of the same bytes", load: () => import("./relay.bench.ts") },
  sim: { description: "simulator speed (50 nodes, 3 hops, 1 h) and the reference drill (30 nodes, 20 % loss): meshaid records vs plain text", load: () => import("./sim.bench.ts") },
  peers: { description: "group delivery and gap repair: 3 stations, 200 records, 20 % loss per receiver: share held by all, airtime of held ACKs, resend requests and resends vs the first transmissions", load: () => import("./peers.bench.ts") },
  soak: { description: "one simulated hour at high traffic with faults (offline, out of range, jammer, unplugged, kill -9): heap every 5 simulated minutes vs the first sample, delivery vs no faults", load: () => import("./soak.bench.ts") },
  setup: { description: "provisioning one radio (read, edit transaction, reboot, read-back) over TCP vs the configure handshake alone; canned-message bytes vs the firmware's 200", load: () => import("./setup.bench.ts") },
};

function format(n: number | null): string {
  if (n === null) return "-";
  // Four significant digits below 1: a fraction of 0.98969 must not print as a target of 0.990 met.
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(4);
}

function printTable(results: BenchResult[]): void {
  const rows = [["bench", "metric", "value", "unit", "baseline", "ratio"], ...results.map((r) => [r.bench, r.metric, format(r.value), r.unit, format(r.baseline), format(r.ratio)])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ")}\n`);
}

const { values, positionals } = parseArgs({ options: { json: { type: "boolean", default: false } }, allowPositionals: true });
const names = positionals.length > 0 ? positionals : Object.keys(BENCHES);
for (const name of names) {
  const bench = BENCHES[name];
  if (!bench) {
    process.stderr.write(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(", ")}\n`);
    process.exit(2);
  }
  const results = await (await bench.load()).run();
  if (values.json) for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(`# ${name}: ${bench.description}\n`);
    printTable(results);
  }
}
