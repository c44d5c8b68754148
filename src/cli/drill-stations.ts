// Base stations for drills: meshaid's real Station on a throwaway LevelDB per base, connected to
// its simulated radio over an in-process USB port (`meshaid drill` without --radio-only). Loaded
// only when a drill runs the stations: LevelDB and the station are the heavy imports.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import pino from "pino";
import { RadioConnection } from "../radio/index.ts";
import type { DrillStation, DrillStationFactory } from "../sim/index.ts";
import { Station } from "../station/index.ts";
import { RecordStore, type AppendResult } from "../store/index.ts";
import { DrillStationError, type FieldConfig } from "./drill.ts";

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
