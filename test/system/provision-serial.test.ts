// `meshaid provision` and `meshaid check` as a user runs them, on a serial port: the command is
// a child process opening the host end of a socat pty with serialport's native bindings; the
// simulated radio (with its console log text between frames) sits on the device end. After the
// commit the radio reboots on the same port (a bridge-chip board: FromRadio.rebooted), and the
// command reads everything back.
import { mkdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SimRadio, serveSerial, type SimSerialPort } from "../../src/sim/index.ts";
import { spawnMeshaid } from "../helpers/cli.ts";
import { ptyPair, type PtyPair } from "../helpers/pty.ts";
import { tempDir } from "../helpers/tmp.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("provisioning over a serial port", () => {
  it("writes the medic profile, rides out the reboot, reads it back; check then passes", async () => {
    const dir = await tempDir();
    cleanups.push(() => dir.remove());
    mkdirSync(join(dir.path, "keys"));
    writeFileSync(join(dir.path, "keys", "channel.key"), `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    const pty: PtyPair = await ptyPair();
    cleanups.push(() => pty.stop());
    const radio = new SimRadio({
      node: { num: 0x0badcafe, longName: "Meshtastic cafe", shortName: "cafe", role: 0, hwModel: 7 },
      consoleLogs: true,
      admin: { rebootDelayMs: 200 },
    });
    const port: SimSerialPort = await serveSerial(radio, { path: pty.device });
    cleanups.push(() => port.close(), () => radio.close());

    const provision = spawnMeshaid(["provision", "--port", pty.host, "--profile", "medic", "--callsign", "M7", "--db", dir.path, "--region", "EU_868", "--reboot-timeout", "30"]);
    const code = await provision.exit;
    expect(provision.stderr()).toBe("");
    expect(code).toBe(0);
    expect(provision.stdout()).toMatch(/radio !0badcafe "Meshtastic cafe" on .*host: profile medic, callsign M7, channel key#[0-9a-f]{8}/);
    expect(provision.stdout()).toMatch(/saving \(the radio reboots\)[\s\S]*back after the reboot[\s\S]*ok: the radio matches the medic profile/);
    expect(radio.admin.settings()).toMatchObject({ owner: { longName: "Medic M7", shortName: "M7" }, config: { lora: { region: "EU_868" } } });

    const check = spawnMeshaid(["check", "--port", pty.host, "--profile", "medic", "--db", dir.path, "--region", "EU_868"]);
    expect(await check.exit).toBe(0);
    expect(check.stdout()).toMatch(/"Medic M7" \(M7\) against the medic profile:\n {2}ok/);
  });
});
