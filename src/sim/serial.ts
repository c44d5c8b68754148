// A simulated radio behind a serial port: the device end of a pseudo-terminal pair (socat), so a
// host opens the other end exactly as it would open a USB radio (/dev/ttyACM0). Console log text
// flows between frames by default, as on a real USB serial console.
import type { SimRadio } from "./radio.ts";

export interface SerialServeOptions {
  /** The device end of the pty pair. */
  path: string;
  /** Ignored by a pty, as by native USB boards; 115200 like the firmware. */
  baudRate?: number;
  /** Raw firmware log lines between frames (default true). */
  consoleLogs?: boolean;
}

export interface SimSerialPort {
  path: string;
  close(): Promise<void>;
}

export async function serveSerial(radio: SimRadio, options: SerialServeOptions): Promise<SimSerialPort> {
  // Loaded when a port is served: `meshaid start` loads the simulator, seldom its serial side.
  const { SerialPort } = await import("serialport");
  const port = new SerialPort({ path: options.path, baudRate: options.baudRate ?? 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  radio.attach(port, { consoleLogs: options.consoleLogs ?? true, closeOnIdle: false, dropOnReboot: false });
  return {
    path: options.path,
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) {
          resolve();
          return;
        }
        port.close(() => resolve());
      }),
  };
}
