// The simulated radio behind a real pseudo-terminal pair (socat), opened by the host through
// serialport's native bindings, as a USB radio would be.
import { afterEach, expect, it } from "vitest";
import { SerialPort } from "serialport";
import { FrameDecoder, decodeFromRadio, type FromRadio } from "../../src/radio/index.ts";
import { DEMO_NODES, createDemoMesh, mulberry32, serveSerial } from "../../src/sim/index.ts";
import { ptyPair } from "../helpers/pty.ts";

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface SerialHost {
  received: FromRadio[];
  logs: string[];
  port: SerialPort;
}

async function openHost(path: string): Promise<SerialHost> {
  const port = new SerialPort({ path, baudRate: 115200, hupcl: false, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  const decoder = new FrameDecoder();
  const host: SerialHost = { received: [], logs: [], port };
  port.on("data", (chunk: Buffer) => {
    for (const event of decoder.push(chunk)) {
      if (event.type === "frame") host.received.push(decodeFromRadio(event.payload));
      else if (event.type === "log") host.logs.push(event.line);
    }
  });
  return host;
}

const closeHost = (host: SerialHost): Promise<void> => new Promise((resolve) => host.port.close(() => resolve()));

it("speaks the protocol over a real pty, with console text, across host reconnects", async () => {
  const pty = await ptyPair();
  cleanups.push(() => pty.stop());
  const { device, host: hostPath } = pty;
  const mesh = createDemoMesh({ presetsByRole: { medic: ["NEED WATER"], marshal: ["GAS"] }, random: mulberry32(1), intervalMs: { min: 600_000, max: 600_000 } });
  const served = await serveSerial(mesh.baseRadio, { path: device });
  cleanups.push(() => served.close());
  mesh.start();
  cleanups.push(() => mesh.stop());

  const first = await openHost(hostPath);
  first.port.write(Buffer.from([0x94, 0xc3, 0x00, 0x06, 0x18, 0xf8, 0xac, 0xd1, 0x91, 0x01]));
  await expect.poll(() => first.received.some((m) => m.payloadVariant.case === "configCompleteId"), { timeout: 5_000 }).toBe(true);
  expect(first.received.filter((m) => m.payloadVariant.case === "nodeInfo")).toHaveLength(4);
  expect(first.logs.some((line) => line.includes("[PhoneAPI] Client wants config"))).toBe(true);
  await closeHost(first);

  // The serial session survives the host going away (the firmware does not notice an unplug):
  // a new host hears packets at once, and a new handshake works.
  const second = await openHost(hostPath);
  const id = mesh.sendFrom(DEMO_NODES.medic1.num, "NEED WATER");
  await expect
    .poll(() => second.received.some((m) => m.payloadVariant.case === "packet" && m.payloadVariant.value.id === id), { timeout: 5_000 })
    .toBe(true);
  second.port.write(Buffer.from([0x94, 0xc3, 0x00, 0x04, 0x18, 0xac, 0x9e, 0x04]));
  await expect
    .poll(() => second.received.some((m) => m.payloadVariant.case === "configCompleteId" && m.payloadVariant.value === 69420), { timeout: 5_000 })
    .toBe(true);
  await closeHost(second);
});
