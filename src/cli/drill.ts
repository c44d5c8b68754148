// `meshaid drill SCENARIO [--json]`: runs a drill scenario (docs/drills.md) on the simulated mesh
// under a virtual clock and prints the after-action report, or one JSON object. Each base runs
// meshaid's real Station (drill-stations.ts) on a LevelDB in a temporary folder, connected to its simulated radio
// over an in-process USB port: delivered means stored by every base station. With --radio-only,
// delivery is counted at the base radios instead (faster; no station in the loop).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DecisionRightsError, parseDecisionRights, type DecisionRights } from "../station/index.ts";
import {
  ScenarioError,
  drillJson,
  formatDrillReport,
  parseScenario,
  runDrill,
  runStationDrill,
  type DrillResult,
  type StationDrillOptions,
  type Scenario,
  type TrafficFormat,
} from "../sim/index.ts";
import { decodePayload, payloadForText, type Codebook, type PresetTable, type SitePlan } from "../wire/index.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, DEFAULT_SITE_FILE, readCodebook, readPresetTable, readSitePlan } from "./field-config.ts";
import { DEFAULT_PRESETS_FILE, PACKAGE_ROOT } from "./paths.ts";

const DEFAULT_RIGHTS_FILE = join(PACKAGE_ROOT, "firmware-config", "decision-rights.yaml");

export interface FieldConfig {
  codebook: Codebook;
  site: SitePlan;
  presets: PresetTable;
  /** Who may act from which station (the operators' actions); default firmware-config/decision-rights.yaml. */
  rights?: DecisionRights;
}

/** A drill's station could not be started: the message names the base and what to try. */
export class DrillStationError extends Error {}

export interface DrillOptions {
  json?: boolean;
  /** meshaid, text or both: overrides the scenario's `format`. */
  format?: string;
  /** Overrides the scenario's seed. */
  seed?: string;
  /** The codebook and site plan meshaid's records are encoded with (defaults: firmware-config/). */
  codebook?: string;
  site?: string;
  /** The preset table the stations read handheld text with (default: firmware-config/presets.yaml). */
  presets?: string;
  /** Count delivery at the base radios, without running the stations. */
  radioOnly?: boolean;
}

export async function runDrillCommand(file: string, options: DrillOptions): Promise<number> {
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
    const codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
    const site = readSitePlan(options.site ?? DEFAULT_SITE_FILE);
    const presets = readPresetTable(options.presets ?? DEFAULT_PRESETS_FILE, codebook);
    const results: DrillResult[] = [];
    for (const format of scenario.formats) results.push(await runFieldDrill(scenario, format, { codebook, site, presets, radioOnly: options.radioOnly === true }));
    if (options.json === true) process.stdout.write(`${JSON.stringify(drillJson(results))}\n`);
    else process.stdout.write(formatDrillReport(results));
    return 0;
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof ConfigFileError || error instanceof DrillStationError || error instanceof DecisionRightsError) return fail(error.message);
    throw error;
  }
}

/**
 * Runs one drill with meshaid's records as their real wire bytes (each line read with the
 * coalition's codebook and site plan), the stations real unless `radioOnly`.
 */
export async function runFieldDrill(scenario: Scenario, format: TrafficFormat, config: FieldConfig & { radioOnly?: boolean; sample?: StationDrillOptions["sample"] }): Promise<DrillResult> {
  const encodeRecords = (line: string, seq: number): Uint8Array | undefined => {
    const payload = payloadForText(line, { codebook: config.codebook, site: config.site }, seq);
    return payload.ok ? payload.value : undefined;
  };
  // The seqs a station's payload carries: its status records are told from its held ACKs and resend requests.
  const recordSeqs = (payload: Uint8Array): number[] => {
    const decoded = decodePayload(payload, config.codebook, 0);
    return decoded.ok ? decoded.value.records.map((record) => record.id.seq) : [];
  };
  if (config.radioOnly === true) return runDrill(scenario, format, { encodeRecords });
  const { drillStations } = await import("./drill-stations.ts");
  const rights = config.rights ?? parseDecisionRights(readFileSync(DEFAULT_RIGHTS_FILE, "utf8"), config.codebook);
  const stations = drillStations({ ...config, rights }, { relay: scenario.relay, preset: scenario.preset });
  try {
    return await runStationDrill(scenario, format, { encodeRecords, recordSeqs, stations: stations.factory, ...(config.sample ? { sample: config.sample } : {}) });
  } finally {
    await stations.remove();
  }
}

