// A one-hour soak (issue 10): `npm run bench -- soak`. The reference site (2 bases, 28 handhelds,
// 20 % link loss, LONG_FAST) at high traffic: every corpus line from its handheld every 3
// minutes (~900 records an hour, several times a busy action's rate), with faults injected: a
// handheld offline, one out of range, a jammer, a base radio's USB cable pulled and a base
// station killed (kill -9) and restarted. meshaid's real Station and LevelDB at both bases, on
// the virtual clock. The heap (after a full GC) is sampled every simulated 5 minutes:
// soakHeapGrowthMb is the last sample less the first (the baseline), soakHeapMaxGrowthMb the
// largest, soakHeapGrowthAfterWarmupMb the growth after the first 5 minutes (the boards still
// hold every record of the hour, so a little growth is data, not a leak); soakDeliveryRatio is what every base stored, against the same scenario without faults.
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parseScenario, type Scenario } from "../../src/sim/index.ts";
import { parseCodebook, parsePresetTable, parseSitePlan } from "../../src/wire/index.ts";
import { runFieldDrill, type FieldConfig } from "../../src/cli/drill.ts";
import { result, type BenchResult } from "./result.ts";

const SAMPLE_EVERY_MS = 5 * 60_000;
const MB = 1024 * 1024;

const corpus = readFileSync(new URL("../fixtures/corpus/field-traffic.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as { kind: string; text: string });

function scenario(withFaults: boolean): Scenario {
  const handhelds = Array.from({ length: 28 }, (_, i) => `h-${String(i + 1).padStart(2, "0")}`);
  const yaml = [
    `name: "bench: soak, 30 nodes, 20 % loss, high traffic${withFaults ? ", faults" : ""}"`,
    "seed: 11",
    "duration: 1h",
    "preset: LONG_FAST",
    "region: US",
    "format: meshaid",
    "site: { link_loss: 0.2 }",
    "background: { position_every: 15m, telemetry_every: 30m }",
    "nodes:",
    "  - { id: BASE-1, role: CLIENT_BASE, base: true, at: [0, 0] }",
    "  - { id: BASE-2, role: CLIENT_BASE, base: true, at: [1500, 500] }",
    "  - { group: h, count: 28, area: { center: [750, 250], radius: 1500 } }",
    "traffic:",
    ...corpus.map((line, i) => `  - { from: ${handhelds[i % handhelds.length]!}, text: ${JSON.stringify(line.text)}, kind: ${line.kind}, every: 3m }`),
    ...(withFaults
      ? [
          "faults:",
          "  - { type: offline, node: h-04, at: 8m, for: 10m }",
          "  - { type: out_of_range, node: h-09, at: 12m, for: 15m }",
          "  - { type: jammer, at: 20m, for: 3m, position: [750, 250], power: 10 }",
          "  - { type: unplugged, node: BASE-2, at: 30m, for: 4m }",
          "  - { type: station_restart, node: BASE-1, at: 40m, for: 30s }",
          "  - { type: station_restart, node: BASE-2, at: 50m, for: 30s }",
        ]
      : []),
  ].join("\n");
  return parseScenario(yaml, "soak.bench");
}

/** A full collection before each sample, so the figure is what is live, not what is garbage. */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    gc();
    gc();
  };
}

const fieldConfig = (name: string): string => readFileSync(new URL(`../../firmware-config/${name}`, import.meta.url), "utf8");
const codebook = parseCodebook(fieldConfig("codebook.yaml"));
const config: FieldConfig = { codebook, site: parseSitePlan(fieldConfig("site.yaml")), presets: parsePresetTable(fieldConfig("presets.yaml"), codebook) };

export async function run(): Promise<BenchResult[]> {
  const collect = collector();
  const samples: Array<{ atMin: number; heapMb: number }> = [];
  const soak = await runFieldDrill(scenario(true), "meshaid", {
    ...config,
    sample: {
      everyMs: SAMPLE_EVERY_MS,
      take: (simulatedMs) => {
        collect();
        samples.push({ atMin: simulatedMs / 60_000, heapMb: process.memoryUsage().heapUsed / MB });
      },
    },
  });
  const calm = await runFieldDrill(scenario(false), "meshaid", config);
  if (samples.length < 12) throw new Error(`the soak took ${samples.length} heap samples; an hour at 5 minutes takes 13`);
  const first = samples[0]!.heapMb;
  const growth = samples.map((sample) => sample.heapMb - first);
  process.stderr.write(`soak heap (MB, every 5 simulated minutes): ${samples.map((sample) => sample.heapMb.toFixed(1)).join(" ")}\n`);
  return [
    result("soak", "soakHeapGrowthMb", growth.at(-1)!, "MB heap after 1 simulated hour, less the first sample (baseline, MB)", first),
    result("soak", "soakHeapMaxGrowthMb", Math.max(...growth), "MB largest heap above the first sample", first),
    // The first 5 minutes fill what a running station keeps (feed, boards, roster, LevelDB caches).
    result("soak", "soakHeapGrowthAfterWarmupMb", samples.at(-1)!.heapMb - samples[1]!.heapMb, "MB from the 5-minute sample to the last (baseline: the 5-minute sample, MB)", samples[1]!.heapMb),
    result("soak", "soakDeliveryRatio", soak.deliveryRatio, "fraction stored by every base, with faults (baseline: no faults)", calm.deliveryRatio),
    result("soak", "soakDeliveredWithin2Min", soak.deliveredWithin2MinRatio, "fraction (baseline: no faults)", calm.deliveredWithin2MinRatio),
    result("soak", "soakRecordsSent", soak.sent, "records in the simulated hour (baseline: no faults)", calm.sent),
    result("soak", "soakSpeedup", soak.speedup, "x real time"),
  ];
}
