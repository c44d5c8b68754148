// A byte stream to a radio (a serial port, a TCP socket, an in-process pipe) as the Transport
// that @meshtastic/core's MeshDevice and meshaid's RadioLink both speak: unframed ToRadio
// payloads in, FromRadio payloads and console log lines out.
import type { Duplex } from "node:stream";
import { encodeFrame, FrameDecoder } from "./framing.ts";

// @meshtastic/core's Transport and DeviceOutput, written out: its published declarations never
// declare the `Types` namespace they export, so through it these would silently be `any`. The
// shapes are the same, so a Transport made here is one that MeshDevice accepts.

/** What comes from the device: a FromRadio payload, a console log line, or a status change. */
export type DeviceOutput =
  | { type: "packet"; data: Uint8Array }
  | { type: "debug"; data: string }
  | { type: "status"; data: { status: number; reason?: string } };

/** Unframed ToRadio payloads in, DeviceOutput out. */
export interface Transport {
  toDevice: WritableStream<Uint8Array>;
  fromDevice: ReadableStream<DeviceOutput>;
  disconnect(): Promise<void>;
}

/** @meshtastic/core's DeviceStatusEnum value for "disconnected", used on the status output. */
export const DEVICE_DISCONNECTED = 2;

export interface StreamTransportOptions {
  /** Bytes written once before anything else (e.g. the serial wake-up sequence). */
  wakeBytes?: Uint8Array;
  /** Pause after the wake bytes before the first frame, so a sleeping device is awake for it. */
  wakeDelayMs?: number;
  /** Called for frames whose length field exceeds 512 (logged by the caller). */
  onDiscard?: (length: number) => void;
  /**
   * Lets go of the underlying resource. The default destroys the stream, which is right for a
   * socket; a serial port must be closed instead (destroying a SerialPort leaves its file
   * descriptor, and its lock, open).
   */
  release?: () => Promise<void>;
}

/**
 * Wraps a Node duplex stream. Reads are pulled (backpressure reaches the stream), writes wait
 * for the stream to accept each frame, and the end of the stream ends `fromDevice` after a
 * final status output, so a reader always learns why the data stopped.
 */
export function createStreamTransport(stream: Duplex, options: StreamTransportOptions = {}): Transport {
  const decoder = new FrameDecoder();
  let finished = false;
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??=
      options.release?.() ??
      new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        stream.once("close", () => resolve());
        stream.destroy();
      });
    return released;
  };

  const fromDevice = new ReadableStream<DeviceOutput>({
    start(controller) {
      const emit = (events: ReturnType<FrameDecoder["push"]>): void => {
        for (const event of events) {
          if (event.type === "frame") controller.enqueue({ type: "packet", data: event.payload });
          else if (event.type === "log") controller.enqueue({ type: "debug", data: event.line });
          else options.onDiscard?.(event.length);
        }
      };
      const finish = (reason: string): void => {
        if (finished) return;
        finished = true;
        emit(decoder.flush());
        controller.enqueue({ type: "status", data: { status: DEVICE_DISCONNECTED, reason } });
        controller.close();
      };
      stream.on("data", (chunk: Buffer) => {
        if (finished) return;
        emit(decoder.push(chunk));
        if ((controller.desiredSize ?? 1) <= 0) stream.pause();
      });
      stream.once("end", () => finish("stream-ended"));
      stream.once("close", () => finish("stream-ended"));
      // `on`, not `once`: a second error from a dying stream must not become an uncaught one.
      stream.on("error", (error: Error) => finish(`read-error: ${error.message}`));
    },
    pull() {
      stream.resume();
    },
    cancel() {
      finished = true; // the reader is gone: nothing may be enqueued any more
      void release();
    },
  });

  let wakeSent = options.wakeBytes === undefined;
  const toDevice = new WritableStream<Uint8Array>({
    async write(payload) {
      if (!wakeSent && options.wakeBytes) {
        wakeSent = true;
        await writeBytes(stream, options.wakeBytes);
        if (options.wakeDelayMs) await new Promise((resolve) => setTimeout(resolve, options.wakeDelayMs));
      }
      await writeBytes(stream, encodeFrame(payload));
    },
    close() {
      stream.end();
    },
    abort() {
      void release();
    },
  });

  return {
    fromDevice,
    toDevice,
    disconnect: release,
  };
}

function writeBytes(stream: Duplex, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new Error("the radio stream is closed"));
      return;
    }
    stream.write(bytes, (error) => (error ? reject(error) : resolve()));
  });
}
