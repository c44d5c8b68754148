// `meshaid start` in a real terminal: the Ink console under a pseudo-terminal (socat's EXEC with
// pty), drawn within seconds; screens switch by number and Tab, a request is acknowledged
// through the station, help and the language switch answer; `q` quits with exit code 0 and the
// cursor given back; started again, it shows what was stored.
import { describe, expect, it } from "vitest";
import { runMeshaid } from "../helpers/cli.ts";
import { meshaidInTerminal } from "../helpers/pty.ts";
import { tempDir } from "../helpers/tmp.ts";

describe("the console in a terminal", () => {
  it("opens on the simulated mesh, shows records, switches screens, acknowledges a request, quits on q, and shows the records again after a restart", async () => {
    const dir = await tempDir();
    const terminal = meshaidInTerminal(["start", "--db", dir.path]);
    const { screen } = terminal;
    try {
      await expect.poll(screen, { timeout: 15_000 }).toContain("radio: connected");
      await expect.poll(screen, { timeout: 20_000 }).toMatch(/(REQUEST|INCIDENT|SHIFT)/);
      expect(screen()).toContain("q quit");
      expect(screen()).toContain("[1 Feed]");
      // Another screen by its number, then by Tab; the help overlay; the language switch.
      terminal.type("2");
      await expect.poll(screen, { timeout: 10_000 }).toMatch(/\[2 Requests \d+\]/);
      // Act on a request once one is open (one sent from this shell through the control socket,
      // whatever the simulated handhelds happen to send): the station checks the rights, logs and audits it.
      expect(runMeshaid(["send", "NEED WATER", "--db", dir.path]).status).toBe(0);
      await expect.poll(screen, { timeout: 30_000 }).toMatch(/\[2 Requests [1-9]\d*\]/);
      terminal.type("a");
      await expect.poll(screen, { timeout: 10_000 }).toContain("✓ acknowledge");
      terminal.type("\t");
      await expect.poll(screen, { timeout: 10_000 }).toMatch(/\[3 Incidents \d+\]/);
      terminal.type("?");
      await expect.poll(screen, { timeout: 10_000 }).toContain("switch screen");
      terminal.type("?");
      terminal.type("l");
      await expect.poll(screen, { timeout: 10_000 }).toContain("q salir");
      // A record only this test writes, on the feed, to look for after a restart.
      terminal.type("1");
      expect(runMeshaid(["send", "restart check 42", "--db", dir.path]).status).toBe(0);
      await expect.poll(screen, { timeout: 10_000 }).toContain("restart check 42");
      // The acknowledgement's reply may still be queued for the air: then q asks first, y quits.
      terminal.type("q");
      await expect.poll(() => terminal.exited() || /not sent yet|sin enviar/.test(screen()), { timeout: 10_000 }).toBe(true);
      if (!terminal.exited()) terminal.type("y");
      expect(await terminal.exit).toBe(0);
      expect(screen()).toContain("meshaid-exit=0");
      expect(screen()).toContain("\u001b[?25h"); // the cursor is shown again on the way out
    } catch (error) {
      throw terminal.explain(error);
    } finally {
      terminal.kill();
    }
    // Started again, the console shows what was stored before.
    const again = meshaidInTerminal(["start", "--db", dir.path]);
    try {
      await expect.poll(again.screen, { timeout: 15_000 }).toContain("restart check 42");
      again.type("q");
      await expect.poll(() => again.exited() || /not sent yet|sin enviar/.test(again.screen()), { timeout: 10_000 }).toBe(true);
      if (!again.exited()) again.type("y");
      expect(await again.exit).toBe(0);
    } catch (error) {
      throw again.explain(error);
    } finally {
      again.kill();
      await dir.remove();
    }
  }, 120_000);
});
