// `meshaid status` and `meshaid send` as a user runs them: child processes talking to a
// `meshaid start --no-ui` child (a simulated mesh, LevelDB on disk) over its control socket.
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { MESHAID_BIN, spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { useTempDir } from "../helpers/tmp.ts";

/** Runs `meshaid ARGS` to the end without blocking the event loop (the station child keeps running). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MESHAID_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("meshaid status and send", () => {
  const dir = useTempDir();
  const running: MeshaidProcess[] = [];
  afterEach(() => {
    for (const station of running.splice(0)) station.child.kill("SIGKILL");
  });

  async function startStation(): Promise<MeshaidProcess> {
    const station = spawnMeshaid(["start", "--no-ui", "--db", dir.path]);
    running.push(station);
    await expect.poll(station.stdout, { timeout: 20_000 }).toContain("control socket listening");
    await expect.poll(station.stdout, { timeout: 20_000 }).toContain('"status":"connected"');
    return station;
  }

  it("says in one line that no station is running", async () => {
    const result = await run(["status", "--db", dir.path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`meshaid: no station is running with data folder ${dir.path}: start one with \`meshaid start --no-ui --db ${dir.path}\`\n`);
  });

  it("reports the running station and has it log and send a preset; the socket is the owner's only and goes with the station", async () => {
    const station = await startStation();
    const socket = join(dir.path, "meshaid.sock");
    expect(statSync(socket).mode & 0o777).toBe(0o600);

    const status = await run(["status", "--db", dir.path]);
    expect(status.stderr).toBe("");
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^station {3}Base station \(![0-9a-f]{8}\)\nradio {5}connected \(handshake-complete\)\nrecords {3}\d+\n/);

    const sent = await run(["send", "NEED WATER", "--as", "C1", "--db", dir.path]);
    expect(sent.stderr).toBe("");
    expect(sent.stdout).toMatch(/^logged 1 record \([0-9a-f]{8}!00000001\), read as preset; 1 packet queued for the air\n$/);
    // The station logged it as its own record (a JSON line on its stdout) and the simulated mesh relays it.
    await expect.poll(station.stdout, { timeout: 10_000 }).toMatch(/"event":"record".*"seq":1\}.*"sender":"C1"/);
    // Heard once a handheld of the real-time simulated mesh rebroadcasts it: on a loaded machine the
    // first attempt can fail, and the station tries again 30 s later (its retry policy), so wait for one retry.
    await expect.poll(async () => (JSON.parse((await run(["status", "--json", "--db", dir.path])).stdout) as { deliveries: { heard: number } }).deliveries.heard, { timeout: 75_000, interval: 500 }).toBe(1);

    const refused = await run(["send", "ETA 5", "--to", "QQ9", "--db", dir.path]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe("meshaid: not sent: no node with callsign QQ9 has been heard: check the Nodes tab, or send to the channel\n");

    station.child.kill("SIGINT");
    expect(await station.exit).toBe(0);
    expect(existsSync(socket)).toBe(false);
  }, 150_000);

  it("replaces the socket a killed station left behind", async () => {
    const first = await startStation();
    first.child.kill("SIGKILL");
    await first.exit;
    expect(existsSync(join(dir.path, "meshaid.sock"))).toBe(true);
    await startStation();
    const status = await run(["status", "--json", "--db", dir.path]);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: "Base station", radio: { status: "connected" } });
  }, 90_000);
});
