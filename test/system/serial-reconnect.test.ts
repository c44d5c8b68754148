// Faults on a real serial link: the simulated radio behind a socat pty pair, the station's
// RadioConnection on the other end through serialport's native bindings. Killing socat in the
// middle of a frame is a yanked USB cable; a new pty pair is the radio plugged back in (under a
// new name, as a re-enumerated native-USB board). Needs socat on the PATH.
import pino from "pino";
import { SerialPort } from "serialport";
import { afterEach, expect, it } from "vitest";
import { openSerialTransport, RadioConnection, type RadioEvent } from "../../src/radio/index.ts";
import { DEMO_NODES, createDemoMesh, lastByte, mulberry32, type SimMesh, type SimPacket } from "../../src/sim/index.ts";
import { ptyPair, type PtyPair } from "../helpers/pty.ts";

const logger = pino({ level: "silent" });
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function openDevice(path: string): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  port.on("error", () => undefined); // the pty vanishing under it is the point of these tests
  return port;
}

/** Plugs the radio in on a fresh pty pair (console text on, as on USB). */
async function plugIn(mesh: SimMesh): Promise<{ pair: PtyPair; device: SerialPort }> {
  const pair = await ptyPair();
  const device = await openDevice(pair.device);
  mesh.baseRadio.attach(device, { consoleLogs: true });
  cleanups.push(async () => {
    if (device.isOpen) await new Promise<void>((resolve) => device.close(() => resolve()));
    await pair.stop();
  });
  return { pair, device };
}

function setup(): { mesh: SimMesh; sentByBase: (marker: number) => number } {
  const mesh = createDemoMesh({ presetsByRole: { medic: ["NEED WATER"], marshal: ["GAS"] }, random: mulberry32(3), intervalMs: { min: 600_000, max: 600_000 } });
  cleanups.push(() => mesh.baseRadio.close());
  const onAir: SimPacket[] = [];
  mesh.onAir((packet) => onAir.push(packet));
  const sentByBase = (marker: number): number =>
    onAir.filter((p) => p.from === DEMO_NODES.base.num && p.relayNode === lastByte(DEMO_NODES.base.num) && p.decoded.payload[0] === marker).length;
  return { mesh, sentByBase };
}

const slow = { timeout: 20_000, interval: 20 };

/**
 * The radio stops reading (a hung radio, or the frame lost in the cable): what the station writes
 * now is written but never answered, so it stays queued across the fault that follows.
 */
function stall(mesh: SimMesh): void {
  mesh.baseRadio.close();
}

/**
 * Waits until a sentinel record sent last is on the air: the queue is first in, first out, so
 * anything written again after the fault would be on the air before it.
 */
async function afterEverythingSent(connection: RadioConnection, sentByBase: (marker: number) => number): Promise<void> {
  await connection.send({ record: Uint8Array.of(0x5e) });
  await expect.poll(() => sentByBase(0x5e), slow).toBe(1);
}

it("reconnects and re-handshakes after the serial link dies mid-frame; records queued before and during the fault are sent once", async () => {
  const { mesh, sentByBase } = setup();
  let plugged = await plugIn(mesh);
  let hostPath = plugged.pair.host;
  const connection = new RadioConnection({
    open: () => openSerialTransport({ path: hostPath, logger }),
    logger,
    initialBackoffMs: 100,
    maxBackoffMs: 400,
  });
  cleanups.push(() => connection.close());
  const events: RadioEvent[] = [];
  connection.subscribe((event) => events.push(event));
  const statuses = (): string[] => events.flatMap((e) => (e.type === "status" ? [`${e.status}/${e.reason}`] : []));
  const states = (id: string): string[] => events.flatMap((e) => (e.type === "delivery" && e.delivery.id === id ? [e.delivery.state] : []));
  await connection.start();
  await expect.poll(() => connection.status, slow).toBe("connected");
  expect(events.some((e) => e.type === "log")).toBe(true); // console text came through between frames

  // Queued before the fault: written to a radio that no longer answers, so never accepted.
  stall(mesh);
  const before = await connection.send({ record: Uint8Array.of(0xaa, 1) });
  expect(connection.queued).toBe(1);
  // A console line and half a frame (the line is out once the frame's header is read), then the cable is yanked.
  plugged.device.write(Buffer.concat([Buffer.from("INFO  | 12:00:00 9 [Router] about to be unplugged\r\n"), Buffer.from([0x94, 0xc3, 0x00, 0x30, 0x12, 0x2e, 0x0d])]));
  await expect.poll(() => events.some((e) => e.type === "log" && e.line.includes("about to be unplugged")), slow).toBe(true);
  await plugged.pair.stop();
  await expect.poll(() => connection.status, slow).toBe("reconnecting");
  const during = await connection.send({ record: Uint8Array.of(0xab, 0xcd) });
  await expect.poll(() => connection.reason, slow).toBe("unplugged");
  expect(states(before)).toEqual(["queued"]);

  plugged = await plugIn(mesh);
  hostPath = plugged.pair.host;
  await expect.poll(() => connection.status, slow).toBe("connected");
  await afterEverythingSent(connection, sentByBase);
  expect(sentByBase(0xaa)).toBe(1);
  expect(sentByBase(0xab)).toBe(1);
  expect(states(before)).toEqual(["queued", "sent"]);
  expect(states(during)).toEqual(["queued", "sent"]);
  expect(connection.queued).toBe(0);
  expect(connection.connections).toBe(2);
  const after = statuses().slice(statuses().indexOf("connected/handshake-complete") + 1);
  expect(after[0]).toMatch(/^reconnecting\/(stream-ended|read-error)$/);
  expect(after).toContain("reconnecting/unplugged");
  expect(after.slice(-3)).toEqual(["connecting/starting", "configuring/starting", "connected/handshake-complete"]);
});

it("re-handshakes over the same port when the radio reboots; records queued before and during the reboot are sent once", async () => {
  const { mesh, sentByBase } = setup();
  const plugged = await plugIn(mesh);
  const connection = new RadioConnection({ open: () => openSerialTransport({ path: plugged.pair.host, logger }), logger, initialBackoffMs: 100 });
  cleanups.push(() => connection.close());
  const statuses: string[] = [];
  connection.subscribe((event) => {
    if (event.type === "status") statuses.push(`${event.status}/${event.reason}`);
  });
  await connection.start();
  await expect.poll(() => connection.status, slow).toBe("connected");
  // Queued before the fault: the radio hangs, the record is written but not answered; then the
  // radio comes back by rebooting (on the same port, as a radio behind a USB-UART bridge does).
  stall(mesh);
  await connection.send({ record: Uint8Array.of(0xbd) });
  expect(connection.queued).toBe(1);
  mesh.baseRadio.attach(plugged.device, { consoleLogs: true, dropOnReboot: false });
  mesh.baseRadio.reboot();
  await connection.send({ record: Uint8Array.of(0xbe) });
  await expect.poll(() => statuses, slow).toContain("reconnecting/device-rebooted");
  await expect.poll(() => connection.status, slow).toBe("connected");
  await afterEverythingSent(connection, sentByBase);
  expect(sentByBase(0xbd)).toBe(1);
  expect(sentByBase(0xbe)).toBe(1);
  expect(statuses.slice(-3)).toEqual(["reconnecting/device-rebooted", "configuring/device-rebooted", "connected/handshake-complete"]);
  expect(connection.connections).toBe(1);
  expect(connection.queued).toBe(0);
});
