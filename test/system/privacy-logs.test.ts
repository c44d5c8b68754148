// Nothing personal in the log of a real run: `meshaid start --no-ui` on the simulated demo mesh
// (whose handhelds are "Medic 1" M1, "Medic 2" M2 and "Marshal 1" K1), stopped after it has
// stored records. The record events are the service's output by design (a callsign and what the
// record says, as on the console); every other log line names nodes by number only: no callsign,
// no long name, and no text anyone sent.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { useTempDir } from "../helpers/tmp.ts";

const CALLSIGNS = /\b(M1|M2|K1)\b/;
const LONG_NAMES = /Medic 1|Medic 2|Marshal 1/;

describe("the log of a real run", () => {
  const dir = useTempDir();
  const running: MeshaidProcess[] = [];
  afterEach(() => {
    for (const run of running.splice(0)) run.child.kill("SIGKILL");
  });

  it("names nodes by number only, outside the record events", async () => {
    const run = spawnMeshaid(["start", "--db", dir.path, "--no-ui"]);
    running.push(run);
    const events = (): Array<Record<string, unknown>> =>
      run
        .stdout()
        .split("\n")
        .filter((line) => line.startsWith("{") && line.endsWith("}"))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    await expect.poll(() => events().filter((event) => event["event"] === "record").length, { timeout: 40_000, interval: 200 }).toBeGreaterThanOrEqual(4);
    run.child.kill("SIGINT");
    expect(await run.exit).toBe(0);

    const all = events();
    const records = all.filter((event) => event["event"] === "record");
    const others = all.filter((event) => event["event"] !== "record");
    // What this test looks for is there to find: the record events carry the callsigns.
    expect(records.some((event) => CALLSIGNS.test(JSON.stringify(event)))).toBe(true);
    expect(others.length).toBeGreaterThan(5);
    for (const event of others) {
      const line = JSON.stringify(event);
      expect(line, line).not.toMatch(CALLSIGNS);
      expect(line, line).not.toMatch(LONG_NAMES);
    }
    for (const event of all) expect(JSON.stringify(event)).not.toMatch(LONG_NAMES);
    // Texts people sent stay out of every line but the record they became. (The simulator, which
    // plays the people, logs what its handhelds send: it is not in the field.)
    const texts = new Set(records.map((event) => (event["record"] as { text?: string }).text).filter((text): text is string => text !== undefined));
    expect(texts.size).toBeGreaterThan(0);
    for (const event of others.filter((event) => event["module"] !== "sim")) for (const text of texts) expect(JSON.stringify(event)).not.toContain(text);
    // The log file of a console run is the same logger: nothing is written there in --no-ui mode.
    expect(() => readFileSync(join(dir.path, "meshaid.log"), "utf8")).toThrow();
  }, 90_000);
});
