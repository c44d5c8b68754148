// A radio on USB serial: serialport's native bindings under the stream transport.
// Reference: ../shared/reference/meshtastic-protocol.md sections 1.4 (wake-up) and 1.5 (settings).
import type { Logger } from "pino";
import { RadioError } from "./errors.ts";
import { createStreamTransport } from "./transport.ts";
import type { Transport } from "./transport.ts";

/**
 * Sent once before the first frame: wakes a sleeping device and, because none of it is START1,
 * leaves the device's parser hunting for a fresh `94 C3` whatever it was in the middle of.
 */
export const SERIAL_WAKE_BYTES: Uint8Array = new Uint8Array(32).fill(0xc3);
/** How long the device gets to wake up after the wake bytes (the Python client's 100 ms). */
export const SERIAL_WAKE_DELAY_MS = 100;

export interface SerialTransportOptions {
  /** e.g. /dev/ttyUSB0, /dev/serial/by-id/usb-..., COM3. */
  path: string;
  /** 115200 is the firmware's speed; native-USB boards ignore it. */
  baudRate?: number;
  logger: Logger;
}

/**
 * Opens a serial port to a radio. HUPCL is off so that closing the port does not drop DTR and
 * reset an ESP32 behind a CP210x/CH34x auto-reset circuit. The port is locked against other
 * processes (a radio serves one client at a time).
 * Rejects with a RadioError (RADIO_PORT_NOT_FOUND, RADIO_PORT_BUSY, RADIO_PORT_DENIED,
 * RADIO_PORT_OPEN_FAILED) whose message says what to try.
 */
export async function openSerialTransport(options: SerialTransportOptions): Promise<Transport> {
  const { path, baudRate = 115200, logger } = options;
  // Loaded when a port is opened: a station on TCP or the simulator does not load the native bindings.
  const { SerialPort } = await import("serialport");
  const port = new SerialPort({ path, baudRate, hupcl: false, lock: true, autoOpen: false });
  await new Promise<void>((resolve, reject) => {
    port.open((error) => (error ? reject(serialOpenError(path, error)) : resolve()));
  });
  logger.info({ path, baudRate }, "serial port open");
  port.on("close", (error?: Error) => {
    if (error) logger.warn({ path, err: error }, "serial port lost (unplugged?)");
    else logger.debug({ path }, "serial port closed");
  });
  return createStreamTransport(port, {
    wakeBytes: SERIAL_WAKE_BYTES,
    wakeDelayMs: SERIAL_WAKE_DELAY_MS,
    onDiscard: (length) => logger.warn({ path, length }, "discarded a frame header with a length over 512"),
    release: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  });
}

/**
 * Turns serialport's open failure (its errors carry only a message such as
 * "Error: No such file or directory, cannot open /dev/ttyUSB0") into a RadioError.
 */
export function serialOpenError(path: string, error: Error): RadioError {
  const text = error.message;
  const list = "run `meshaid ports` to list candidates";
  if (/no such file|ENOENT|not found|cannot find/i.test(text)) {
    return new RadioError(
      "RADIO_PORT_NOT_FOUND",
      `Serial port ${path} not found. Plug the radio in, or ${list}.`,
      { cause: error },
    );
  }
  if (/cannot lock port|resource temporarily unavailable|resource busy|EBUSY|EAGAIN/i.test(text)) {
    return new RadioError(
      "RADIO_PORT_BUSY",
      `Serial port ${path} is in use by another program (another meshaid, the meshtastic CLI, a serial monitor or ModemManager). Close it and try again.`,
      { cause: error },
    );
  }
  if (/permission denied|access denied|EACCES|EPERM/i.test(text)) {
    return new RadioError(
      "RADIO_PORT_DENIED",
      `Permission denied opening serial port ${path}. Add your user to the dialout group (then log in again), or install the rules from \`meshaid udev\`.`,
      { cause: error },
    );
  }
  return new RadioError(
    "RADIO_PORT_OPEN_FAILED",
    `Could not open serial port ${path}: ${firstLine(text)}. Check the cable and the path, or ${list}.`,
    { cause: error },
  );
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").replace(/\.$/, "").trim();
}
