// Drills where the base stations act and talk to each other: operators acknowledge and dispatch
// handhelds' requests through Station.act (status records to the other base, replies to the
// handheld on the air), and the stations replicate over the relay through an in-process aedes
// broker, one of them cut off from the internet for a while.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runFieldDrill, type FieldConfig } from "../../src/cli/drill.ts";
import { ScenarioError, parseScenario, type DrillResult } from "../../src/sim/index.ts";
import { parseCodebook, parsePresetTable, parseSitePlan } from "../../src/wire/index.ts";

const fieldFile = (name: string): string => readFileSync(new URL(`../../firmware-config/${name}`, import.meta.url), "utf8");
const codebook = parseCodebook(fieldFile("codebook.yaml"));
const config: FieldConfig = { codebook, site: parseSitePlan(fieldFile("site.yaml")), presets: parsePresetTable(fieldFile("presets.yaml"), codebook) };

// Two bases 12 km apart: neither hears the other's handhelds, so what one stores reaches the
// other only over the internet.
const APART = `
seed: 6
duration: 12m
format: meshaid
relay: true
site: { shadowing_db: 0, fading_db: 0 }
nodes:
  - { id: BASE-W, base: true, role: CLIENT_BASE, at: [0, 0] }
  - { id: BASE-E, base: true, role: CLIENT_BASE, at: [12000, 0] }
  - { id: W1, at: [400, 0] }
  - { id: W2, at: [0, 400] }
  - { id: E1, at: [11600, 0] }
traffic:
  - { from: [W1, W2, E1], text: NEED WATER, kind: supply_request, every: 3m }
operators:
  - { station: BASE-W, acknowledge: 20s, dispatch: 1m, eta_min: 5 }
faults:
  - { type: internet_lost, node: BASE-E, at: 2m, for: 6m }
`;

const figures = (result: DrillResult) => ({ ...result, wallSeconds: 0, speedup: 0, outages: result.outages.map((o) => ({ ...o, catchUpWallMs: 0 })) });

describe("drills with operators and the stations' relay", () => {
  it("operators' status records reach the other base over the internet, their replies reach the handheld over the air, and a base cut off catches up", async () => {
    const scenario = parseScenario(APART, "apart");
    const result = await runFieldDrill(scenario, "meshaid", config);
    expect(result.sent).toBeGreaterThan(5);
    // What reached one base reached the other over the relay (no base hears the other's handhelds).
    expect(result.deliveryRatio).toBeGreaterThan(0.8);
    expect(result.paths.internet).toBeGreaterThanOrEqual(result.delivered);
    // BASE-W's operator took every request stored, including E1's, which BASE-W only got over the internet.
    const acknowledged = result.kinds["status:acknowledge"];
    expect(acknowledged?.sent).toBe(result.delivered);
    expect(result.kinds["status:dispatch"]?.sent).toBe(result.delivered);
    expect(acknowledged?.deliveryRatio).toBe(1);
    // Replies go to the handheld that asked: W1 and W2 hear BASE-W, E1 is 12 km away and does not.
    const replies = result.kinds["reply"];
    expect(replies?.sent).toBe(2 * result.delivered);
    expect(replies?.delivered).toBeGreaterThan(0);
    expect(result.failures.counts["reply lost on the air (the handheld never decoded it)"]).toBeGreaterThan(0);
    expect(result.downlink.refused).toBe(0);
    // While BASE-E was cut off, what BASE-W stored waited; it came when the link returned.
    expect(result.outages).toHaveLength(1);
    expect(result.outages[0]).toMatchObject({ station: "BASE-E", fromS: 120, forS: 360 });
    expect(result.outages[0]?.caughtUp).toBeGreaterThan(0);
    const late = result.kinds["supply_request"]?.latencyP95Ms ?? 0;
    expect(late).toBeGreaterThan(60_000); // some waited out the outage
  }, 120_000);

  it("the same seed gives the same drill, relay and operators included", async () => {
    const scenario = parseScenario(APART, "apart");
    const first = await runFieldDrill(scenario, "meshaid", config);
    const second = await runFieldDrill(scenario, "meshaid", config);
    expect(figures(second)).toEqual(figures(first));
  }, 120_000);

  it("refuses an internet fault without the relay, and an operator at a node that is not a base", () => {
    expect(() => parseScenario(APART.replace("relay: true", "relay: false"), "apart")).toThrow(/internet_lost needs the stations' relay/);
    expect(() => parseScenario(APART.replace("station: BASE-W", "station: W1"), "apart")).toThrow(ScenarioError);
    expect(() => parseScenario(APART.replace("acknowledge: 20s, dispatch: 1m, ", ""), "apart")).toThrow(/say what the operator does/);
  });
});
