// Drills with meshaid's real Station at every base (src/cli/drill.ts composes it): each on a
// LevelDB in a temporary folder, on its simulated radio over an in-process USB port, on the
// drill's virtual clock. Delivered means stored on disk by every base station.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { runFieldDrill, type FieldConfig } from "../../src/cli/drill.ts";
import { drillStations } from "../../src/cli/drill-stations.ts";
import { parseScenario, runStationDrill } from "../../src/sim/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { parseCodebook, parsePresetTable, parseSitePlan, payloadForText } from "../../src/wire/index.ts";

const fieldFile = (name: string): string => readFileSync(new URL(`../../firmware-config/${name}`, import.meta.url), "utf8");
const codebook = parseCodebook(fieldFile("codebook.yaml"));
const config: FieldConfig = { codebook, site: parseSitePlan(fieldFile("site.yaml")), presets: parsePresetTable(fieldFile("presets.yaml"), codebook) };

const BUSY = `
seed: 4
duration: 40m
site: { shadowing_db: 0, fading_db: 0 }
background: { nodeinfo: false }
nodes:
  - { id: BASE, base: true, role: CLIENT_BASE, at: [0, 0] }
  - { id: BASE-2, base: true, role: CLIENT_BASE, at: [800, 300] }
  - { id: M1, at: [500, 0] }
  - { id: M2, at: [0, 500] }
traffic:
  - { from: [M1, M2], text: NEED WATER, kind: supply_request, every: 1m }
`;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe("drills with the real station", () => {
  it("counts a record delivered once every base station has it on disk, for meshaid records and plain text", async () => {
    const scenario = parseScenario(BUSY, "busy");
    for (const format of ["meshaid", "text"] as const) {
      const stations = drillStations(config);
      cleanups.push(() => void stations.remove());
      const encodeRecords = (line: string, seq: number): Uint8Array | undefined => {
        const payload = payloadForText(line, config, seq);
        return payload.ok ? payload.value : undefined;
      };
      const result = await runStationDrill(scenario, format, { stations: stations.factory, encodeRecords });
      const radioOnly = await runFieldDrill(scenario, format, { ...config, radioOnly: true });
      expect(result.sent).toBeGreaterThan(60);
      expect(result.deliveryRatio).toBeGreaterThan(0.95);
      // The stations stored every record their radios handed them: the same as counting at the radios.
      expect(result.delivered).toBe(radioOnly.delivered);
      for (const base of ["BASE", "BASE-2"]) {
        const db = new Level<string, Uint8Array>(join(stations.root, base), { valueEncoding: "view" });
        const store = await RecordStore.open(db, codebook);
        expect(store.count).toBeGreaterThanOrEqual(result.delivered);
        await store.close();
      }
    }
  });

  it("a station killed and restarted loses nothing its radio held meanwhile; the same seed gives the same drill", async () => {
    const clean = await runFieldDrill(parseScenario(BUSY, "clean"), "meshaid", config);
    const restart = parseScenario(`${BUSY}faults:\n  - { type: station_restart, node: BASE, at: 10m, for: 2m }\n`, "restart");
    const restarted = await runFieldDrill(restart, "meshaid", config);
    expect(restarted.delivered).toBe(clean.delivered);
    expect(restarted.latencyP95Ms).toBeGreaterThan(clean.latencyP95Ms ?? 0); // the backlog reached it after the restart
    const again = await runFieldDrill(restart, "meshaid", config);
    expect({ ...again, wallSeconds: 0, speedup: 0 }).toEqual({ ...restarted, wallSeconds: 0, speedup: 0 });
  });

  it("the stations' timers run on the drill's clock: a status record jammed at the other base is asked for again after the next announcement and arrives", async () => {
    // BASE-2's operator acknowledges M1's request while a jammer next to BASE drowns everything
    // there. Nothing more comes from BASE-2 until its announcement (every 10 simulated minutes):
    // it says how far BASE-2's sequence reaches, BASE finds the gap, asks, and BASE-2 resends.
    const jammed = parseScenario(
      `
seed: 3
duration: 15m
site: { shadowing_db: 0, fading_db: 0 }
background: { nodeinfo: false }
operators:
  - { station: BASE-2, acknowledge: 30s }
nodes:
  - { id: BASE, base: true, role: CLIENT_BASE, at: [0, 0] }
  - { id: BASE-2, base: true, role: CLIENT_BASE, at: [800, 0] }
  - { id: M1, at: [400, 100] }
traffic:
  - { from: M1, text: NEED WATER, kind: supply_request, at: 1m }
faults:
  - { type: jammer, at: 80s, for: 100s, position: [-10, 0], power: 30 }
`,
      "jammed",
    );
    const result = await runFieldDrill(jammed, "meshaid", config);
    expect(result.delivered).toBe(1);
    const status = result.kinds["status:acknowledge"];
    expect(status?.sent).toBe(1);
    expect(status?.delivered).toBe(1);
    expect(status?.latencyP50Ms).toBeGreaterThan(8 * 60_000); // not on its first transmission: after the announcement
    const again = await runFieldDrill(jammed, "meshaid", config);
    expect({ ...again, wallSeconds: 0, speedup: 0 }).toEqual({ ...result, wallSeconds: 0, speedup: 0 });
  });

  it("a handheld's record jammed at one base reaches the other over the air (holding digests), within the 2 minutes; the same seed gives the same drill", async () => {
    // A jammer next to BASE-2 drowns M1's request there; BASE stores it. A handheld's record has no
    // per-station sequence, so no gap shows: BASE-2 learns of it from a holding digest and gets it
    // pushed with its own id, without the internet.
    const jammed = parseScenario(
      `
seed: 3
duration: 6m
site: { shadowing_db: 0, fading_db: 0 }
background: { nodeinfo: false }
nodes:
  - { id: BASE, base: true, role: CLIENT_BASE, at: [0, 0] }
  - { id: BASE-2, base: true, role: CLIENT_BASE, at: [800, 0] }
  - { id: M1, at: [300, 100] }
traffic:
  - { from: M1, text: NEED WATER, kind: supply_request, at: 1m }
faults:
  - { type: jammer, at: 55s, for: 40s, position: [810, 0], power: 30 }
`,
      "jammed handheld",
    );
    const radioOnly = await runFieldDrill(jammed, "meshaid", { ...config, radioOnly: true });
    expect(radioOnly.delivered).toBe(0); // on the air it reached only BASE
    expect(radioOnly.failures.examples[0]).toMatchObject({ from: "M1", missing: ["BASE-2"] });
    const result = await runFieldDrill(jammed, "meshaid", config);
    expect(result.delivered).toBe(1);
    expect(result.deliveredWithin2MinRatio).toBe(1);
    expect(result.latencyP50Ms).toBeGreaterThan(35_000); // after the jammer, not on the first transmission
    const again = await runFieldDrill(jammed, "meshaid", config);
    expect({ ...again, wallSeconds: 0, speedup: 0 }).toEqual({ ...result, wallSeconds: 0, speedup: 0 });
  });

  it("operators acknowledge and close incident reports as they act on supply requests: the records reach the other base, no text goes to the handheld", async () => {
    const scenario = parseScenario(
      `
seed: 2
duration: 20m
site: { shadowing_db: 0, fading_db: 0 }
background: { nodeinfo: false }
operators:
  - { station: BASE, acknowledge: 30s, incidents: { acknowledge: 1m, close: 10m } }
nodes:
  - { id: BASE, base: true, role: CLIENT_BASE, at: [0, 0] }
  - { id: BASE-2, base: true, role: CLIENT_BASE, at: [800, 300] }
  - { id: M1, at: [500, 0] }
  - { id: M2, at: [0, 500] }
traffic:
  - { from: M1, text: INJURED 1, kind: incident, at: 2m }
  - { from: M2, text: NEED WATER, kind: supply_request, at: 3m }
`,
      "incidents",
    );
    const result = await runFieldDrill(scenario, "meshaid", config);
    expect(result.delivered).toBe(2);
    expect(result.kinds["incident:acknowledge"]).toMatchObject({ sent: 1, delivered: 1 });
    expect(result.kinds["incident:close"]).toMatchObject({ sent: 1, delivered: 1 });
    expect(result.kinds["incident:close"]?.latencyP50Ms).toBeLessThan(2 * 60_000);
    expect(result.kinds["status:acknowledge"]).toMatchObject({ sent: 1, delivered: 1 });
    expect(result.kinds["reply"]).toMatchObject({ sent: 1, delivered: 1 }); // the supply request's only
    expect(result.downlink).toMatchObject({ sent: 4, delivered: 4, refused: 0 });
  });

  it("an operator's action planned for later (closing an incident) does not hold up one due now", async () => {
    const scenario = parseScenario(
      `
seed: 2
duration: 10m
site: { shadowing_db: 0, fading_db: 0 }
background: { nodeinfo: false }
operators:
  - { station: BASE, acknowledge: 30s, incidents: { close: 12m } }
nodes:
  - { id: BASE, base: true, role: CLIENT_BASE, at: [0, 0] }
  - { id: BASE-2, base: true, role: CLIENT_BASE, at: [800, 300] }
  - { id: M1, at: [500, 0] }
  - { id: M2, at: [0, 500] }
traffic:
  - { from: M1, text: INJURED 1, kind: incident, at: 1m }
  - { from: M2, text: NEED WATER, kind: supply_request, at: 3m }
`,
      "later",
    );
    const result = await runFieldDrill(scenario, "meshaid", config);
    expect(result.kinds["incident:close"]).toBeUndefined(); // due after the drill's end
    expect(result.kinds["status:acknowledge"]).toMatchObject({ sent: 1, delivered: 1 });
  });

  it("a radio unplugged for 30 minutes: its station reconnects when it is plugged back and gets the 32 packets the radio held", async () => {
    const clean = await runFieldDrill(parseScenario(BUSY, "clean"), "meshaid", config);
    const unplugged = await runFieldDrill(parseScenario(`${BUSY}faults:\n  - { type: unplugged, node: BASE, at: 5m, for: 30m }\n`, "unplugged"), "meshaid", config);
    // ~2 records a minute: about 10 before, 60 during (32 held, the rest dropped: a private port does not evict), 10 after.
    expect(unplugged.delivered).toBeLessThan(clean.delivered - 15);
    expect(unplugged.delivered).toBeGreaterThan(32 + 15); // the backlog and what came after the reconnect
    expect(unplugged.latencyP95Ms).toBeGreaterThan(10 * 60_000);
  });
});
