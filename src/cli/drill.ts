// `meshaid drill SCENARIO [--json]`: runs a drill scenario (docs/drills.md) on the simulated mesh
// under a virtual clock and prints the after-action report, or one JSON object. Each base runs
// meshaid's real Station on a LevelDB in a temporary folder, connected to its simulated radio
// over an in-process USB port: delivered means stored by every base station. With --radio-only,
// delivery is counted at the base radios instead (faster; no station in the loop).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import pino from "pino";
import { RadioConnection } from "../radio/index.ts";
import {
  ScenarioError,
  drillJson,
  formatDrillReport,
  parseScenario,
  runDrill,
  runStationDrill,
  type DrillResult,
  type DrillStation,
  type DrillStationFactory,
  type Scenario,
  type TrafficFormat,
} from "../sim/index.ts";
import { Station } from "../station/index.ts";
import { RecordStore, type AppendResult } from "../store/index.ts";
import { payloadForText, type Codebook, type PresetTable, type SitePlan } from "../wire/index.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, DEFAULT_SITE_FILE, readCodebook, readPresetTable, readSitePlan } from "./field-config.ts";
import { DEFAULT_PRESETS_FILE } from "./paths.ts";

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
    if (error instanceof ScenarioError || error instanceof ConfigFileError || error instanceof DrillStationError) return fail(error.message);
    throw error;
  }
}

/** A drill's station could not be started: the message names the base and what to try. */
export class DrillStationError extends Error {}

export interface FieldConfig {
  codebook: Codebook;
  site: SitePlan;
  presets: PresetTable;
}

/**
 * Runs one drill with meshaid's records as their real wire bytes (each line read with the
 * coalition's codebook and site plan), the stations real unless `radioOnly`.
 */
export async function runFieldDrill(scenario: Scenario, format: TrafficFormat, config: FieldConfig & { radioOnly?: boolean }): Promise<DrillResult> {
  const encodeRecords = (line: string, seq: number): Uint8Array | undefined => {
    const payload = payloadForText(line, { codebook: config.codebook, site: config.site }, seq);
    return payload.ok ? payload.value : undefined;
  };
  if (config.radioOnly === true) return runDrill(scenario, format, { encodeRecords });
  const stations = drillStations(config);
  try {
    return await runStationDrill(scenario, format, { encodeRecords, stations: stations.factory });
  } finally {
    stations.remove();
  }
}

/**
 * Base stations for a drill: meshaid's Station on a LevelDB in a temporary folder per base (kept
 * across a restart, removed by `remove()`), its RadioConnection reconnecting quickly (the drill's
 * clock waits for it), logs discarded, nothing sent on the air (no scheduler).
 */
export function drillStations(config: FieldConfig): { factory: DrillStationFactory; root: string; remove(): void } {
  // Throwaway databases: in memory-backed /dev/shm where there is one (synced writes cost nothing there).
  const root = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "meshaid-drill-"));
  const logger = pino({ level: "silent" });
  const factory: DrillStationFactory = async (base, port, stored) => {
    const path = join(root, base.id);
    let store: RecordStore;
    try {
      store = await RecordStore.open(new Level<string, Uint8Array>(path, { valueEncoding: "view" }), config.codebook);
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new DrillStationError(`cannot open the drill database of base ${base.id} in ${path}: ${cause} (is the temporary folder full? try --radio-only)`);
    }
    // What the station handed to the store and is not on disk yet, so the drill can wait for it.
    const inFlight = new Set<Promise<AppendResult>>();
    const tracked = new Proxy(store, {
      get(target, property, receiver) {
        if (property !== "append") return Reflect.get(target, property, receiver) as unknown;
        return (...args: Parameters<RecordStore["append"]>) => {
          const appended = target.append(...args);
          inFlight.add(appended);
          const done = (): void => void inFlight.delete(appended);
          appended.then(done, done);
          return appended;
        };
      },
    });
    const radio = new RadioConnection({ open: () => port.open(), logger, initialBackoffMs: 5, maxBackoffMs: 50 });
    const station = new Station({ name: base.id, radio, store: tracked, presets: config.presets, codebook: config.codebook, site: config.site, logger, origin: base.num });
    const unsubscribe = station.subscribe((event) => {
      if (event.type === "record") stored(event.record.id.origin, event.record.id.seq);
    });
    await station.start();
    await radio.start();
    let stopped = false;
    const handle: DrillStation = {
      get connected() {
        return radio.status === "connected";
      },
      async settled() {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        await station.idle(); // shown (and so reported) in the order heard
      },
      async kill() {
        if (stopped) return;
        stopped = true;
        unsubscribe();
        await station.stop();
        await radio.close();
        await Promise.allSettled([...inFlight]);
        await store.close();
      },
    };
    return handle;
  };
  return { factory, root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
