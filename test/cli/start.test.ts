// `meshaid start` as a user runs it: the real composition root in a child process (simulated
// mesh over loopback TCP, LevelDB on disk), headless because stdin is not a terminal.
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.ts";
import { spawnMeshaid as meshaid, type MeshaidProcess as Run } from "../helpers/cli.ts";

const RECORD_LINE = /^\S+Z (M1|M2|K1) (supply_request|incident|shift) .+$/m;

describe("meshaid start", () => {
  const running: Run[] = [];
  afterEach(() => {
    for (const run of running) run.child.kill("SIGKILL");
    running.length = 0;
  });

  it("runs the station on a simulated mesh, stores what it hears, and shows it again after a restart", async () => {
    const dir = await tempDir();
    try {
      const first = meshaid(["start", "--db", dir.path]);
      running.push(first);
      await expect.poll(first.stdout, { timeout: 15_000 }).toContain(`meshaid: data in ${dir.path}`);
      await expect.poll(first.stdout, { timeout: 15_000 }).toContain("radio: connected (handshake-complete)");
      await expect.poll(first.stdout, { timeout: 20_000, interval: 100 }).toMatch(RECORD_LINE);
      first.child.kill("SIGINT");
      expect(await first.exit).toBe(0);
      const heard = first.stdout().match(new RegExp(RECORD_LINE.source, "gm")) ?? [];
      expect(heard.length).toBeGreaterThan(0);

      const second = meshaid(["start", "--db", dir.path]);
      running.push(second);
      await expect.poll(second.stdout, { timeout: 15_000 }).toContain(heard[0]!);
      second.child.kill("SIGINT");
      expect(await second.exit).toBe(0);
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it("says in one line what is wrong with a missing serial port", async () => {
    const dir = await tempDir();
    try {
      const run = meshaid(["start", "--db", dir.path, "--port", `${dir.path}/ttyNOPE`]);
      expect(await run.exit).toBe(1);
      expect(run.stderr()).toBe(`meshaid: Serial port ${dir.path}/ttyNOPE not found. Plug the radio in, or run \`meshaid ports\` to list candidates.\n`);
    } finally {
      await dir.remove();
    }
  });

  it("refuses a second station on the same data folder with a clear line", async () => {
    const dir = await tempDir();
    try {
      const first = meshaid(["start", "--db", dir.path]);
      running.push(first);
      await expect.poll(first.stdout, { timeout: 15_000 }).toContain("radio: connected");
      const second = meshaid(["start", "--db", dir.path]);
      expect(await second.exit).toBe(1);
      expect(second.stderr()).toMatch(/^meshaid: the database .* is in use: is another meshaid running with this data folder\?/);
      first.child.kill("SIGINT");
      expect(await first.exit).toBe(0);
    } finally {
      await dir.remove();
    }
  }, 30_000);

  it("lists its commands with --help", async () => {
    const run = meshaid(["--help"]);
    expect(await run.exit).toBe(0);
    expect(run.stdout()).toMatch(/Commands:[\s\S]*start[\s\S]*ports/);
  });
});
