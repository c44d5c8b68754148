// An in-process connection to a simulated radio that still goes through the real framing bytes:
// a duplex pair, the radio on one end, the host's stream transport on the other.
import { Duplex } from "node:stream";
import { RadioError, createStreamTransport, type StreamTransportOptions, type Transport } from "../radio/index.ts";
import type { AttachOptions, SimRadio } from "./radio.ts";

/**
 * Two connected duplex streams (node 20 has no stream.duplexPair): what one writes, the other
 * reads, in order, on a later tick (as from a socket). Ending one ends the other's readable side;
 * destroying one destroys the other.
 */
export function duplexPair(onWrite?: (side: 0 | 1) => void): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const peerOf = (self: number): Duplex | undefined => ends[1 - self];
  const make = (self: number): Duplex =>
    new Duplex({
      read() {
        // data is pushed by the peer's write()
      },
      write(chunk: Buffer, _encoding, callback) {
        onWrite?.(self as 0 | 1);
        const copy = Buffer.from(chunk);
        process.nextTick(() => {
          const peer = peerOf(self);
          if (peer && !peer.destroyed) peer.push(copy);
          callback();
        });
      },
      final(callback) {
        process.nextTick(() => {
          const peer = peerOf(self);
          if (peer && !peer.destroyed) peer.push(null);
          callback();
        });
      },
      destroy(error, callback) {
        const peer = peerOf(self);
        if (peer && !peer.destroyed) process.nextTick(() => peer.destroy());
        callback(error);
      },
    });
  ends.push(make(0), make(1));
  const [a, b] = ends;
  if (!a || !b) throw new Error("unreachable");
  return [a, b];
}

/**
 * Connects to `radio` in process and returns the @meshtastic/core Transport for the host end
 * (the same transport RadioLink and MeshDevice use over serial or TCP).
 */
export function connectInProcess(
  radio: SimRadio,
  options: { attach?: AttachOptions; transport?: StreamTransportOptions } = {},
): Transport {
  const [deviceEnd, hostEnd] = duplexPair();
  radio.attach(deviceEnd, options.attach);
  return createStreamTransport(hostEnd, options.transport);
}

/**
 * A simulated radio's USB port, in process: `open()` connects a host to the radio as a serial
 * port would, `unplug()` pulls the cable (the host's stream ends; the radio, on its battery, keeps
 * hearing and holds what it hears for the next host in its to-phone queue) and `open()` then fails
 * as a missing port does until `plug()`. `onDeviceWrite` hears every write of the radio to its host.
 */
export class SimUsbPort {
  readonly radio: SimRadio;
  private connected = true;
  private current: { deviceEnd: Duplex; detach: () => void } | undefined;
  private readonly onDeviceWrite: (() => void) | undefined;

  constructor(radio: SimRadio, options: { onDeviceWrite?: () => void } = {}) {
    this.radio = radio;
    this.onDeviceWrite = options.onDeviceWrite;
  }

  get plugged(): boolean {
    return this.connected;
  }

  open(): Promise<Transport> {
    if (!this.connected) return Promise.reject(new RadioError("RADIO_PORT_NOT_FOUND", "the simulated radio is unplugged"));
    const [deviceEnd, hostEnd] = duplexPair((side) => {
      if (side === 0) this.onDeviceWrite?.();
    });
    const detach = this.radio.attach(deviceEnd);
    this.current = { deviceEnd, detach };
    return Promise.resolve(createStreamTransport(hostEnd));
  }

  unplug(): void {
    this.connected = false;
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    current.detach();
    current.deviceEnd.destroy();
  }

  plug(): void {
    this.connected = true;
  }
}
