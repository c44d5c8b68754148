// The serial transport on real ports: serialport's native bindings on a pseudo-terminal pair made
// by socat (the host opens one end with openSerialTransport, the "device" opens the other).
// Needs socat on the PATH (Debian: apt-get install socat).
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { SerialPort } from "serialport";
import { describe, expect, it } from "vitest";
import {
  encodeFrame,
  encodeFromRadio,
  FrameDecoder,
  decodeToRadio,
  openSerialTransport,
  RadioError,
  RadioLink,
  SERIAL_WAKE_BYTES,
} from "../../src/radio/index.ts";
import { runTransportContract } from "../radio/transport-contract.ts";
import { ptyPair } from "../helpers/pty.ts";

const logger = pino({ level: "silent" });

function openDevicePort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: 115200 }, (error) => (error ? reject(error) : resolve(port)));
  });
}

async function closePort(port: SerialPort): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => port.close(() => resolve()));
}

runTransportContract("serial port on a socat pty pair", async () => {
  const pair = await ptyPair();
  const transport = await openSerialTransport({ path: pair.host, logger });
  const device = await openDevicePort(pair.device);
  return {
    transport,
    device,
    wakeBytes: SERIAL_WAKE_BYTES,
    endFromDevice: () => pair.stop(), // the pty goes away, as when the cable is pulled
    close: async () => {
      await transport.disconnect();
      await closePort(device);
      await pair.stop();
    },
  };
});

describe("openSerialTransport", () => {
  it("rejects a missing port with RADIO_PORT_NOT_FOUND and a one-line hint", async () => {
    const path = join(tmpdir(), "meshaid-no-such-port");
    const error = await openSerialTransport({ path, logger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RadioError);
    expect(error).toMatchObject({ code: "RADIO_PORT_NOT_FOUND" });
    expect((error as Error).message).toBe(`Serial port ${path} not found. Plug the radio in, or run \`meshaid ports\` to list candidates.`);
  });

  it("rejects a port another program holds with RADIO_PORT_BUSY", async () => {
    const pair = await ptyPair();
    const first = await openSerialTransport({ path: pair.host, logger });
    try {
      const error = await openSerialTransport({ path: pair.host, logger }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "RADIO_PORT_BUSY" });
      expect((error as Error).message).toContain(pair.host);
    } finally {
      await first.disconnect();
      await pair.stop();
    }
  });

  it("releases the port on disconnect, so the station can open it again", async () => {
    const pair = await ptyPair();
    try {
      const first = await openSerialTransport({ path: pair.host, logger });
      await first.disconnect();
      const second = await openSerialTransport({ path: pair.host, logger });
      await second.disconnect();
    } finally {
      await pair.stop();
    }
  });

  it("carries a RadioLink handshake over the pty", async () => {
    const pair = await ptyPair();
    const device = await openDevicePort(pair.device);
    const seen: string[] = [];
    const decoder = new FrameDecoder();
    device.on("data", (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        if (event.type !== "frame") continue; // the 0xC3 wake-up bytes come out as text
        const variant = decodeToRadio(event.payload).payloadVariant;
        seen.push(variant.case ?? "none");
        if (variant.case === "wantConfigId") {
          device.write("INFO  | 00:00:01 5 [SerialConsole] API mode\r\n");
          device.write(encodeFrame(encodeFromRadio({ case: "myInfo", value: { myNodeNum: 42 } })));
          device.write(encodeFrame(encodeFromRadio({ case: "configCompleteId", value: variant.value })));
        }
      }
    });
    const link = new RadioLink({ transport: await openSerialTransport({ path: pair.host, logger }), logger });
    const events: string[] = [];
    link.subscribe((event) => events.push(event.type === "status" ? `${event.status}/${event.reason}` : event.type));
    try {
      await link.start();
      expect(link.myNodeNum).toBe(42);
      expect(events).toEqual(["connecting/starting", "configuring/starting", "log", "my-node", "connected/handshake-complete"]);
      await link.close();
      await expect.poll(() => seen, { timeout: 5_000 }).toEqual(["wantConfigId", "disconnect"]);
    } finally {
      await link.close();
      await closePort(device);
      await pair.stop();
    }
  });
});
