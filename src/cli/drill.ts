// `meshaid drill SCENARIO [--json]`: runs a drill scenario (docs/drills.md) on the simulated mesh
// under a virtual clock and prints the after-action report, or one JSON object.
import { readFileSync } from "node:fs";
import { ScenarioError, drillJson, formatDrillReport, parseScenario, runDrill, type TrafficFormat } from "../sim/index.ts";
import { payloadForText } from "../wire/index.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, DEFAULT_SITE_FILE, readCodebook, readSitePlan } from "./field-config.ts";

export interface DrillOptions {
  json?: boolean;
  /** meshaid, text or both: overrides the scenario's `format`. */
  format?: string;
  /** Overrides the scenario's seed. */
  seed?: string;
  /** The codebook and site plan meshaid's records are encoded with (defaults: firmware-config/). */
  codebook?: string;
  site?: string;
}

export function runDrillCommand(file: string, options: DrillOptions): number {
  const fail = (line: string): number => {
    process.stderr.write(`meshaid drill: ${line}\n`);
    return 1;
  };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return fail(`cannot read the scenario ${file}: ${(error as Error).message}`);
  }
  try {
    const scenario = parseScenario(text, file);
    if (options.format !== undefined) {
      const formats: Record<string, TrafficFormat[]> = { meshaid: ["meshaid"], text: ["text"], both: ["meshaid", "text"] };
      const chosen = formats[options.format];
      if (!chosen) return fail(`--format must be meshaid, text or both, not "${options.format}"`);
      scenario.formats = chosen;
    }
    if (options.seed !== undefined) {
      const seed = Number(options.seed);
      if (!Number.isInteger(seed) || seed < 0) return fail(`--seed must be a whole number, not "${options.seed}"`);
      scenario.seed = seed >>> 0;
    }
    // meshaid's traffic is the real wire bytes of each line, read with the coalition's codebook.
    const codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
    const site = readSitePlan(options.site ?? DEFAULT_SITE_FILE);
    const encodeRecords = (line: string, seq: number): Uint8Array | undefined => {
      const payload = payloadForText(line, { codebook, site }, seq);
      return payload.ok ? payload.value : undefined;
    };
    const results = scenario.formats.map((format) => runDrill(scenario, format, { encodeRecords }));
    if (options.json === true) process.stdout.write(`${JSON.stringify(drillJson(results))}\n`);
    else process.stdout.write(formatDrillReport(results));
    return 0;
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof ConfigFileError) return fail(error.message);
    throw error;
  }
}
