// `meshaid start` in a real terminal: the Ink console under a pseudo-terminal (socat's EXEC with
// pty), drawn within seconds; screens switch by number and Tab, a request is acknowledged
// through the station, help and the language switch answer; `q` quits with exit code 0 and the cursor given back.
import { spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { runMeshaid } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const BIN = new URL("../../src/cli/bin.js", import.meta.url).pathname;

describe("the console in a terminal", () => {
  it("opens on the simulated mesh, shows records, switches screens, acknowledges a request, and quits on q", async () => {
    const dir = await tempDir();
    // socat runs the station on a pty (sized 80x24 with stty) as its terminal; we read what it
    // draws and type q. The shell prints the station's exit code after it.
    const command = `stty cols 80 rows 24; ${process.execPath} ${BIN} start --db ${dir.path}; echo meshaid-exit=$?`;
    // Ink draws only the last frame when it believes it runs in CI (the CI or CONTINUOUS_INTEGRATION
    // variable): a person at this terminal would see nothing until quitting, so neither goes to the station.
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm-256color" };
    delete env.CI;
    delete env.CONTINUOUS_INTEGRATION;
    const socat = spawn("socat", ["-", `SYSTEM:${command},pty,setsid,ctty,stderr`], { stdio: ["pipe", "pipe", "pipe"], env });
    let screen = "";
    socat.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => socat.once("exit", (code) => resolve(code)));
    try {
      await expect.poll(() => screen, { timeout: 15_000 }).toContain("radio: connected");
      await expect.poll(() => screen, { timeout: 20_000 }).toMatch(/(REQUEST|INCIDENT|SHIFT)/);
      expect(screen).toContain("q quit");
      expect(screen).toContain("[1 Feed]");
      // Another screen by its number, then by Tab; the help overlay; the language switch.
      socat.stdin.write("2");
      await expect.poll(() => screen, { timeout: 10_000 }).toMatch(/\[2 Requests \d+\]/);
      // Act on a request once one is open (one sent from this shell through the control socket,
      // whatever the simulated handhelds happen to send): the station checks the rights, logs and audits it.
      expect(runMeshaid(["send", "NEED WATER", "--db", dir.path]).status).toBe(0);
      await expect.poll(() => screen, { timeout: 30_000 }).toMatch(/\[2 Requests [1-9]\d*\]/);
      socat.stdin.write("a");
      await expect.poll(() => screen, { timeout: 10_000 }).toContain("✓ acknowledge");
      socat.stdin.write("\t");
      await expect.poll(() => screen, { timeout: 10_000 }).toMatch(/\[3 Incidents \d+\]/);
      socat.stdin.write("?");
      await expect.poll(() => screen, { timeout: 10_000 }).toContain("switch screen");
      socat.stdin.write("?");
      socat.stdin.write("l");
      await expect.poll(() => screen, { timeout: 10_000 }).toContain("q salir");
      // The acknowledgement's reply may still be queued for the air: then q asks first, y quits.
      let exited = false;
      void exit.then(() => (exited = true));
      socat.stdin.write("q");
      await expect.poll(() => exited || /not sent yet|sin enviar/.test(screen), { timeout: 10_000 }).toBe(true);
      if (!exited) socat.stdin.write("y");
      expect(await exit).toBe(0);
      expect(screen).toContain("meshaid-exit=0");
      expect(screen).toContain("\u001b[?25h"); // the cursor is shown again on the way out
    } catch (error) {
      // What the terminal showed last, to see where it stopped.
      throw new Error(`${(error as Error).message}\n--- screen (last 1500 chars) ---\n${stripVTControlCharacters(screen).slice(-1500)}`, { cause: error });
    } finally {
      socat.kill("SIGKILL");
      await dir.remove();
    }
  }, 120_000);
});
