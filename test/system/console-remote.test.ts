// `meshaid console` in a real terminal (a socat pty) attached to a `meshaid start --no-ui` child
// over its control socket: the feed and boards come from the running station, an acknowledgement
// goes back to it (its rights, its log, its audit trail), and `q` closes only the console.
import { afterEach, describe, expect, it } from "vitest";
import { runMeshaid, spawnMeshaid, type MeshaidProcess } from "../helpers/cli.ts";
import { meshaidInTerminal } from "../helpers/pty.ts";
import { tempDir } from "../helpers/tmp.ts";

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

    const terminal = meshaidInTerminal(["console", "--db", dir.path, "--operator", "C7"]);
    const { screen } = terminal;
    try {
      await expect.poll(screen, { timeout: 20_000 }).toContain("radio: connected");
      // A request to act on, whatever the simulated handhelds happen to send: one from this shell.
      expect(runMeshaid(["send", "NEED WATER", "--db", dir.path]).status).toBe(0);
      terminal.type("2");
      await expect.poll(screen, { timeout: 40_000 }).toMatch(/\[2 Requests [1-9]\d*\]/);
      terminal.type("a");
      await expect.poll(screen, { timeout: 10_000 }).toContain("✓ acknowledge");
      const status = JSON.parse(runMeshaid(["status", "--json", "--db", dir.path]).stdout) as { boards: { requests: { acknowledged: number } } };
      expect(status.boards.requests.acknowledged).toBeGreaterThanOrEqual(1);
      terminal.type("q");
      expect(await terminal.exit).toBe(0);
      expect(screen()).toContain("meshaid-exit=0");
      // The station runs on and still answers.
      expect(runMeshaid(["status", "--db", dir.path]).status).toBe(0);
      expect(station.stdout()).toMatch(/"actor":\{"callsign":"C7"/);
    } catch (error) {
      throw terminal.explain(error);
    } finally {
      terminal.kill();
      station.child.kill("SIGINT");
      await station.exit;
      await dir.remove();
    }
  }, 120_000);
});
