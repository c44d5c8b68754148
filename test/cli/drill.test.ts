// `meshaid drill` as a user runs it: a child process on an example scenario.
import { describe, expect, it } from "vitest";
import { MESHAID_BIN, runMeshaid as meshaid } from "../helpers/cli.ts";
import { SimNet, VirtualClock, type SimAirFrame } from "../../src/sim/index.ts";

const SCENARIO = new URL("../../firmware-config/drills/router-modes.yaml", import.meta.url).pathname;


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
    expect(report["deliveredAt"]).toBe("station"); // meshaid's station at every base, by default
  });

  it("runs the example march, whose faults pull a base radio's cable and restart a station, with the stations in the loop", () => {
    const march = new URL("../../firmware-config/drills/march.yaml", import.meta.url).pathname;
    const run = meshaid(["drill", march, "--json", "--format", "meshaid"]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { deliveredAt: string; sent: number; delivered: number; bases: number };
    expect(report).toMatchObject({ deliveredAt: "station", bases: 2 });
    expect(report.delivered).toBeGreaterThan(report.sent * 0.8);
  }, 60_000); // a one-hour drill with two stations in a child process: seconds, more on a loaded machine

  it("counts at the base radios with --radio-only", () => {
    const run = meshaid(["drill", SCENARIO, "--json", "--radio-only", "--format", "text"]);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout) as Record<string, unknown>).toMatchObject({ deliveredAt: "radio", format: "text" });
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
    const invalid = meshaid(["drill", MESHAID_BIN]);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/meshaid drill: .*bin\.js/);
  }, 60_000); // three child processes: slow on a loaded machine
});

describe("meshaid decode on what the simulator puts on the air", () => {
  it("decodes a simulated frame with the default channel key to the text that was sent", () => {
    const clock = new VirtualClock();
    const net = new SimNet({ clock, seed: 11 });
    const frames: SimAirFrame[] = [];
    net.onFrame((frame) => frames.push(frame));
    net.addNode({ node: { num: 0x11223344, longName: "Medic 3", shortName: "M3", role: 0, hwModel: 9 }, position: { x: 0, y: 0 } });
    net.addNode({ node: { num: 0x55667788, longName: "Base", shortName: "BASE", role: 12, hwModel: 9 }, position: { x: 400, y: 0 } });
    const id = net.radio(0x11223344).originate({ portnum: 1, payload: new TextEncoder().encode("NEED WATER AT NORTH GATE") });
    clock.advance(10_000);
    const frame = frames.find((f) => f.transmitter === 0x11223344);
    expect(frame).toBeDefined();
    const run = meshaid(["decode", "--as", "air", Buffer.from(frame!.bytes).toString("hex")]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const decoded = JSON.parse(run.stdout.trim()) as { header: { from: string; id: string; hopStart: number; channelHash: string }; text: string };
    expect(decoded.text).toBe("NEED WATER AT NORTH GATE");
    expect(decoded.header).toMatchObject({ from: "0x11223344", id: `0x${id!.toString(16).padStart(8, "0")}`, hopStart: 3, channelHash: "0x08" });
  });
});
