// The walking skeleton end to end on real parts: a simulated mesh whose base radio sits behind a
// socat pty pair, the station opening the other end with serialport's native bindings (as it
// opens /dev/ttyUSB0), LevelDB on disk, and the Ink console rendered by ink-testing-library.
import { afterEach, describe, expect, it } from "vitest";
import { render } from "ink-testing-library";
import { Level } from "level";
import pino from "pino";
import { openSerialTransport, RadioLink } from "../../src/radio/index.ts";
import { createDemoMesh, DEMO_NODES, serveSerial, type SimPacket } from "../../src/sim/index.ts";
import { Station } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { Console } from "../../src/ui/index.ts";
import { presetsForRole } from "../../src/wire/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { ptyPair, type PtyPair } from "../helpers/pty.ts";
import { tempDir } from "../helpers/tmp.ts";

const logger = pino({ level: "silent" });
const MEDIC = DEMO_NODES.medic1.num;

/** One run of the station over the serial pty, as `meshaid start --port <pty>` builds it. */
async function startStation(hostPath: string, dbPath: string) {
  const store = await RecordStore.open(new Level<string, Uint8Array>(dbPath, { valueEncoding: "view" }), codebook);
  const transport = await openSerialTransport({ path: hostPath, logger });
  const link = new RadioLink({ transport, logger });
  const station = new Station({ name: "Test base", radio: link, store, presets, codebook, logger });
  await station.start();
  await link.start();
  const ui = render(<Console station={station} onQuit={() => undefined} />);
  return {
    store,
    station,
    ui,
    async stop() {
      ui.unmount();
      await link.close();
      await station.stop();
      await store.close();
    },
  };
}

describe("one preset from a simulated handheld to the console, through real parts", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  it("is received over serial, stored in LevelDB, shown, and still there once after a restart", async () => {
    const pty: PtyPair = await ptyPair();
    cleanups.push(() => pty.stop());
    const dir = await tempDir();
    cleanups.push(() => dir.remove());

    const mesh = createDemoMesh({
      presetsByRole: { medic: presetsForRole(presets, "medic"), marshal: presetsForRole(presets, "marshal") },
      intervalMs: { min: 3_600_000, max: 7_200_000 }, // the test sends; the timers never fire
    });
    const heard: SimPacket[] = [];
    mesh.onAir((packet) => heard.push(packet));
    const device = await serveSerial(mesh.baseRadio, { path: pty.device });
    cleanups.push(() => device.close());
    mesh.start(); // handhelds announce themselves (NODEINFO), so the station knows callsigns
    cleanups.push(() => Promise.resolve(mesh.stop()));

    const first = await startStation(pty.host, `${dir.path}/db`);
    expect(first.station.snapshot().radio.status).toBe("connected");

    const id = mesh.sendFrom(MEDIC, "NEED WATER", { duplicates: 1 });
    await expect.poll(() => first.store.count, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => first.ui.lastFrame() ?? "", { timeout: 5_000 }).toMatch(/REQUEST\s+water\s+M1/);
    expect(first.ui.lastFrame()).toContain("1 record");
    // The relayed copy (same id) arrives too, and is not stored or shown twice.
    await expect.poll(() => heard.filter((packet) => packet.id === id).length, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await first.station.idle();
    expect(first.store.count).toBe(1);
    expect(await first.store.get({ origin: MEDIC, seq: id })).toMatchObject({ text: "NEED WATER", sender: "M1" });
    await first.stop();

    const second = await startStation(pty.host, `${dir.path}/db`);
    expect(second.store.count).toBe(1);
    expect(second.ui.lastFrame()).toMatch(/REQUEST\s+water\s+M1/);
    // Heard once more after the restart (a late relay): still one record.
    const original = heard.find((packet) => packet.id === id)!;
    mesh.baseRadio.deliver({ ...original, hopLimit: 0 });
    mesh.sendFrom(MEDIC, "INJURED 1");
    await expect.poll(() => second.store.count, { timeout: 15_000 }).toBe(2);
    await second.station.idle();
    expect(second.store.count).toBe(2);
    await expect.poll(() => second.ui.lastFrame() ?? "", { timeout: 5_000 }).toMatch(/INCIDENT\s+injury, 1 casualty\s+M1/);
    await second.stop();
  });
});
