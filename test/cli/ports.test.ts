// `meshaid ports` as a user reads it: one line per port with why it was or was not chosen, the
// stable /dev/serial/by-id name preferred, and the exit code saying whether a radio was found.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPorts } from "../../src/cli/ports.ts";
import type { PortInfo } from "../../src/radio/index.ts";
import { useTempDir } from "../helpers/tmp.ts";

const builtIn: PortInfo = { path: "/dev/ttyS0" };
const gps: PortInfo = { path: "/dev/ttyACM1", vendorId: "1546", productId: "01a7", manufacturer: "u-blox AG" };

async function ports(list: PortInfo[], byIdDir: string): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runPorts({ list: () => Promise.resolve(list), byIdDir }, (line) => lines.push(line));
  return { code, lines };
}

describe("meshaid ports", () => {
  const dir = useTempDir();

  it("lists every port with its reason and names the by-id path --port auto would use", async () => {
    const dev = join(dir.path, "dev");
    mkdirSync(join(dev, "serial/by-id"), { recursive: true });
    const usb = join(dev, "ttyUSB0");
    writeFileSync(usb, "");
    const byId = join(dev, "serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0");
    symlinkSync(usb, byId);
    const heltec: PortInfo = { path: usb, vendorId: "10c4", productId: "ea60", manufacturer: "Silicon Labs" };
    const { code, lines } = await ports([builtIn, gps, heltec], join(dev, "serial/by-id"));
    expect(code).toBe(0);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe("  /dev/ttyS0: no USB vendor/product id: not a USB serial device");
    expect(lines[1]).toBe("  /dev/ttyACM1: USB 1546:01a7 is not a known Meshtastic board (hardware/boards.json); pass --port /dev/ttyACM1 if it is one");
    expect(lines[2]).toBe(`  ${usb} [Silicon Labs CP210x USB-UART bridge, Heltec WiFi LoRa 32 V3, LilyGO T-Beam]: same device as ${byId}, which is preferred because its name survives re-plugging`);
    expect(lines[3]).toMatch(new RegExp(`^\\* ${byId.replaceAll("/", "\\/")} \\[.*Heltec WiFi LoRa 32 V3.*\\]: USB 10c4:ea60 matches `));
    expect(lines[4]).toBe(`--port auto would use ${byId}`);
  });

  it("says so, and exits 1, when no port is a radio or there is no port at all", async () => {
    const none = join(dir.path, "no-by-id");
    const skipped = await ports([builtIn, gps], none);
    expect(skipped.code).toBe(1);
    expect(skipped.lines.at(-1)).toBe("--port auto finds no radio: none of these ports is a known board (hardware/boards.json).");
    const empty = await ports([], none);
    expect(empty).toEqual({ code: 1, lines: ["No serial ports found. Plug the radio in with a data (not charge-only) USB cable."] });
  });
});
