// Drill scenarios and runs: parsing with clear errors, determinism by seed, faults, roles.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ScenarioError, drillJson, formatDrillReport, parseDuration, parseScenario, runDrill, type DrillResult } from "../../src/sim/index.ts";

const example = (name: string): string => readFileSync(new URL(`../../firmware-config/drills/${name}`, import.meta.url), "utf8");

const SMALL = `
name: small
seed: 3
duration: 10m
format: both
nodes:
  - { id: BASE, role: CLIENT_BASE, base: true, at: [0, 0] }
  - { group: medic, count: 6, area: { center: [0, 0], radius: 1500 } }
  - { id: FAR, at: [3500, 0] }
traffic:
  - { from: medic, text: NEED WATER AT NORTH GATE, kind: supply_request, every: 2m }
  - { from: FAR, text: INJURED 1, kind: incident, at: 5m }
`;

/** Everything but the wall-clock figures. */
function simulated(result: DrillResult): Omit<DrillResult, "wallSeconds" | "speedup"> {
  const rest: Partial<DrillResult> = { ...result };
  delete rest.wallSeconds;
  delete rest.speedup;
  return rest as Omit<DrillResult, "wallSeconds" | "speedup">;
}

describe("scenario files", () => {
  it("reads the example march", () => {
    const scenario = parseScenario(example("march.yaml"), "march.yaml");
    expect(scenario.nodes).toHaveLength(25);
    expect(scenario.nodes.filter((n) => n.base).map((n) => n.id)).toEqual(["BASE-N", "BASE-S"]);
    expect(scenario.formats).toEqual(["meshaid", "text"]);
    expect(scenario.durationMs).toBe(3_600_000);
    expect(scenario.faults.map((f) => f.type)).toEqual(["offline", "out_of_range", "jammer", "unplugged", "station_restart"]);
    expect(scenario.traffic.find((t) => t.text === "ON SHIFT")?.from).toHaveLength(23); // "*": every non-base node
    expect(new Set(scenario.nodes.map((n) => n.num)).size).toBe(25);
    expect(scenario.nodes.find((n) => n.id === "MT-1")?.path).toHaveLength(2);
  });

  it("parses durations", () => {
    expect(parseDuration("90s", "x")).toBe(90_000);
    expect(parseDuration("1h30m", "x")).toBe(5_400_000);
    expect(parseDuration("500ms", "x")).toBe(500);
    expect(parseDuration(12, "x")).toBe(12_000);
    expect(() => parseDuration("soon", "x")).toThrow(/expected a duration/);
  });

  it.each([
    ["not: [valid", /not valid YAML/],
    ["nodes: []\ntraffic: []\ncolour: red", /unknown key "colour"/],
    ["nodes:\n  - { id: A, at: [0, 0] }\n  - { id: B, at: [1, 0] }\ntraffic:\n  - { from: A, text: HI, at: 1m }", /base: true/],
    ["nodes:\n  - { id: A, base: true, at: [0, 0] }\n  - { id: B, role: KING, at: [1, 0] }\ntraffic:\n  - { from: B, text: HI, at: 1m }", /role "KING"/],
    ["nodes:\n  - { id: A, base: true, at: [0, 0] }\n  - { id: B, at: [1, 0] }\ntraffic:\n  - { from: C, text: HI, at: 1m }", /"C" is neither a node nor a group/],
    ["nodes:\n  - { id: A, base: true, at: [0, 0] }\n  - { id: B }\ntraffic:\n  - { from: B, text: HI, at: 1m }", /give a position/],
    ["nodes:\n  - { id: A, base: true, at: [0, 0] }\n  - { id: B, at: [1, 0] }\ntraffic:\n  - { from: B, text: HI, at: 1m, every: 2m }", /exactly one of at/],
    ["preset: VERY_FAST\nnodes: []", /preset "VERY_FAST"/],
    ["nodes:\n  - { id: A, base: true, at: [0, 0] }\n  - { id: B, at: [1, 0] }\ntraffic:\n  - { from: B, text: HI, at: 1m }\noperators:\n  - { station: A, incidents: { dispatch: 1m } }", /operators\[0\]\.incidents: unknown key "dispatch"/],
    ["nodes:\n  - { id: A, base: true, at: [0, 0] }\n  - { id: B, at: [1, 0] }\ntraffic:\n  - { from: B, text: HI, at: 1m }\noperators:\n  - { station: A }", /incidents: \{ acknowledge, close \}/],
  ])("rejects %j with a clear error", (text, message) => {
    expect(() => parseScenario(text, "bad.yaml")).toThrow(ScenarioError);
    expect(() => parseScenario(text, "bad.yaml")).toThrow(message);
  });
});

describe("drills", () => {
  it("the same seed gives the same drill; another seed another", () => {
    const scenario = parseScenario(SMALL, "small");
    const first = runDrill(scenario, "meshaid");
    const second = runDrill(scenario, "meshaid");
    expect(first.sent).toBeGreaterThan(10);
    expect(simulated(second)).toEqual(simulated(first));
    const other = runDrill({ ...scenario, seed: 4 }, "meshaid");
    expect(simulated(other)).not.toEqual(simulated(first));
  });

  it("carries meshaid traffic as the payloads the encoder gives, each origin's records numbered in turn", () => {
    const scenario = parseScenario(SMALL, "small");
    const calls: Array<{ text: string; seq: number }> = [];
    const big = runDrill(scenario, "meshaid", {
      encodeRecords: (text, seq) => {
        calls.push({ text, seq });
        return new Uint8Array(200); // far larger than the modelled 12 bytes: more airtime per record
      },
    });
    const modelled = runDrill(scenario, "meshaid");
    expect(calls.length).toBe(big.sent);
    expect(new Set(calls.map((call) => call.text))).toEqual(new Set(["NEED WATER AT NORTH GATE", "INJURED 1"]));
    expect(calls.filter((call) => call.text === "INJURED 1").map((call) => call.seq)).toEqual([1]);
    expect(big.airtimeMs).toBeGreaterThan(modelled.airtimeMs * 2);
  });

  it("runs far faster than real time and reports what --json promises", () => {
    const scenario = parseScenario(SMALL, "small");
    const results = scenario.formats.map((format) => runDrill(scenario, format));
    const json = drillJson(results);
    for (const key of ["nodes", "simulatedSeconds", "wallSeconds", "speedup", "sent", "delivered", "deliveryRatio", "latencyP50Ms", "latencyP95Ms", "airtimeMs", "peakChannelUtilization"]) {
      expect(json).toHaveProperty(key);
    }
    expect(json["nodes"]).toBe(8);
    expect(json["simulatedSeconds"]).toBe(720); // 10 minutes and the 2-minute drain
    expect(json["speedup"]).toBeGreaterThan(10);
    expect((json["baseline"] as DrillResult).format).toBe("text");
    const first = results[0]!;
    expect(first.delivered).toBeLessThanOrEqual(first.sent);
    expect(first.peakChannelUtilization).toBeGreaterThan(0);
    expect(first.utilizationPerMinute).toHaveLength(12);
    const report = formatDrillReport(results);
    expect(report).toContain("Drill: small");
    expect(report).toMatch(/delivery ratio\s+\d+\.\d %\s+\d+\.\d %/);
    expect(report).toContain("supply_request");
    expect(report).toContain("What failed and why:");
  });

  it("a default ROUTER stops meshaid's private-port records but not plain text; rebroadcast ALL carries both", () => {
    const scenario = parseScenario(example("router-modes.yaml"), "router-modes.yaml");
    const meshaid = runDrill(scenario, "meshaid");
    const text = runDrill(scenario, "text");
    expect(meshaid.sent).toBeGreaterThan(5);
    expect(meshaid.delivered).toBe(0);
    expect(text.deliveryRatio).toBeGreaterThan(0.9);
    const hill = scenario.nodes.find((n) => n.id === "HILL")!;
    hill.rebroadcastMode = 0; // ALL
    expect(runDrill(scenario, "meshaid").deliveryRatio).toBeGreaterThan(0.9);
  });

  it("faults: a radio off loses what its user sends meanwhile; a jammer at the base loses everything while it is on", () => {
    const base = `
seed: 9
duration: 20m
site: { shadowing_db: 0, fading_db: 0 }
nodes:
  - { id: BASE, base: true, at: [0, 0] }
  - { id: M1, at: [500, 0] }
  - { id: M2, at: [0, 500] }
traffic:
  - { from: [M1, M2], text: NEED WATER, every: 1m }
`;
    const clean = runDrill(parseScenario(base, "clean"), "meshaid");
    expect(clean.deliveryRatio).toBeGreaterThan(0.95);
    expect(clean.transmissionsPerRecord.originals).toBe(1); // every record went on the air once from its sender
    expect(clean.transmissionsPerRecord.relays).toBeGreaterThan(0);
    const offline = runDrill(parseScenario(`${base}faults:\n  - { type: offline, node: M1, at: 5m, for: 10m }\n`, "offline"), "meshaid");
    expect(offline.failures.counts["sender's radio was off"]).toBeGreaterThan(3);
    const jammed = runDrill(parseScenario(`${base}faults:\n  - { type: jammer, at: 5m, for: 10m, position: [10, 0], power: 20 }\n`, "jammed"), "meshaid");
    expect(jammed.deliveryRatio).toBeLessThan(0.6);
    expect(jammed.failures.counts["lost on the air (range, collisions, jamming)"]).toBeGreaterThan(3);
    const away = runDrill(parseScenario(`${base}faults:\n  - { type: out_of_range, node: M2, at: 5m, for: 10m }\n`, "away"), "meshaid");
    expect(away.deliveryRatio).toBeLessThan(clean.deliveryRatio);
  });

  it("a base radio unplugged from its station holds 32 packets for it: the backlog arrives late, the rest is lost", () => {
    const busy = `
seed: 4
duration: 40m
site: { shadowing_db: 0, fading_db: 0 }
background: { nodeinfo: false }
nodes:
  - { id: BASE, base: true, at: [0, 0] }
  - { id: M1, at: [500, 0] }
  - { id: M2, at: [0, 500] }
traffic:
  - { from: [M1, M2], text: NEED WATER, every: 1m }
`;
    const short = runDrill(parseScenario(`${busy}faults:\n  - { type: station_restart, node: BASE, at: 10m }\n`, "restart"), "meshaid");
    const long = runDrill(parseScenario(`${busy}faults:\n  - { type: unplugged, node: BASE, at: 5m, for: 30m }\n`, "unplugged"), "meshaid");
    const clean = runDrill(parseScenario(busy, "clean"), "meshaid");
    expect(clean.deliveryRatio).toBeGreaterThan(0.95);
    expect(short.delivered).toBe(clean.delivered); // 10 s away: nothing lost
    // 30 minutes at ~2 records a minute: about 60 heard, 32 held, the rest dropped (a private port does not evict)
    expect(long.delivered).toBeLessThan(clean.delivered - 15);
    expect(long.latencyP95Ms).toBeGreaterThan(10 * 60_000);
    expect(() => parseScenario(`${busy}faults:\n  - { type: unplugged, node: M1, at: 5m }\n`, "bad")).toThrow(/needs a base node/);
  });
});
