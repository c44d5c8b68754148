// `meshaid drill` as a user runs it: a child process on an example scenario.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const BIN = new URL("../../src/cli/bin.js", import.meta.url).pathname;
const SCENARIO = new URL("../../firmware-config/drills/router-modes.yaml", import.meta.url).pathname;

function meshaid(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("meshaid drill", () => {
  it("prints one JSON object with --json", () => {
    const run = meshaid(["drill", SCENARIO, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(report).toMatchObject({ nodes: 5, format: "meshaid", runs: ["meshaid", "text"] });
    for (const key of ["simulatedSeconds", "wallSeconds", "speedup", "sent", "delivered", "deliveryRatio", "latencyP50Ms", "latencyP95Ms", "airtimeMs", "peakChannelUtilization"]) {
      expect(report).toHaveProperty(key);
    }
    expect(report["speedup"]).toBeGreaterThan(100);
  });

  it("prints the after-action report, and can run one format only", () => {
    const run = meshaid(["drill", SCENARIO, "--format", "text"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Drill: Hilltop router, default rebroadcast mode");
    expect(run.stdout).toContain("plain text");
    expect(run.stdout).not.toContain("meshaid records");
    expect(run.stdout).toContain("Channel utilisation");
  });

  it("says what is wrong with a missing file, a bad scenario or a bad option", () => {
    const missing = meshaid(["drill", "/nonexistent/drill.yaml"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^meshaid drill: cannot read the scenario \/nonexistent\/drill\.yaml/);
    const bad = meshaid(["drill", SCENARIO, "--format", "json"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--format must be meshaid, text or both");
    const invalid = meshaid(["drill", BIN]);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/meshaid drill: .*bin\.js/);
  });
});
