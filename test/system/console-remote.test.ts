// `meshaid console` in a real terminal (a socat pty) attached to a `meshaid start --no-ui` child
// over its control socket: the feed and boards come from the running station, an acknowledgement
// goes back to it (its rights, its log, its audit trail), and `q` closes only the console.
import { spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { runMeshaid, spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const BIN = new URL("../../src/cli/bin.js", import.meta.url).pathname;

describe("the console of a running station", () => {
  const running: MeshaidProcess[] = [];
  afterEach(() => {
    for (const station of running.splice(0)) station.child.kill("SIGKILL");
  });

  it("shows the station's records and boards, acts through it, and quits leaving it running", async () => {
    const dir = await tempDir();
    const station = spawnMeshaid(["start", "--no-ui", "--db", dir.path]);
    running.push(station);
    await expect.poll(station.stdout, { timeout: 20_000 }).toContain("control socket listening");

    const command = `stty cols 80 rows 24; ${process.execPath} ${BIN} console --db ${dir.path} --operator C7; echo meshaid-exit=$?`;
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm-256color" };
    delete env.CI;
    delete env.CONTINUOUS_INTEGRATION;
    const socat = spawn("socat", ["-", `SYSTEM:${command},pty,setsid,ctty,stderr`], { stdio: ["pipe", "pipe", "pipe"], env });
    let screen = "";
    socat.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => socat.once("exit", (code) => resolve(code)));
    try {
      await expect.poll(() => screen, { timeout: 20_000 }).toContain("radio: connected");
      // A request to act on, whatever the simulated handhelds happen to send: one from this shell.
      expect(runMeshaid(["send", "NEED WATER", "--db", dir.path]).status).toBe(0);
      socat.stdin.write("2");
      await expect.poll(() => screen, { timeout: 40_000 }).toMatch(/\[2 Requests [1-9]\d*\]/);
      socat.stdin.write("a");
      await expect.poll(() => screen, { timeout: 10_000 }).toContain("✓ acknowledge");
      const status = JSON.parse(runMeshaid(["status", "--json", "--db", dir.path]).stdout) as { boards: { requests: { acknowledged: number } } };
      expect(status.boards.requests.acknowledged).toBeGreaterThanOrEqual(1);
      socat.stdin.write("q");
      expect(await exit).toBe(0);
      expect(screen).toContain("meshaid-exit=0");
      // The station runs on and still answers.
      expect(runMeshaid(["status", "--db", dir.path]).status).toBe(0);
      expect(station.stdout()).toMatch(/"actor":\{"callsign":"C7"/);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- screen (last 1500 chars) ---\n${stripVTControlCharacters(screen).slice(-1500)}`, { cause: error });
    } finally {
      socat.kill("SIGKILL");
      station.child.kill("SIGINT");
      await station.exit;
      await dir.remove();
    }
  }, 120_000);
});
