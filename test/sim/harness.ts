// Test helpers: a raw host on the far end of a duplex pair, which decodes every frame the
// simulated radio writes (through the host's real FrameDecoder) and can write arbitrary bytes.
import { FrameDecoder, decodeFromRadio, encodeFrame, encodeToRadio, type FromRadio, type ToRadioInit } from "../../src/radio/index.ts";
import { duplexPair, type AttachOptions, type SimRadio } from "../../src/sim/index.ts";

export interface RawHost {
  /** Every FromRadio the radio wrote, in order. */
  readonly received: FromRadio[];
  /** The raw payload of each FromRadio, in order. */
  readonly payloads: Uint8Array[];
  /** Console log lines seen between frames. */
  readonly logs: string[];
  /** Every byte the radio wrote. */
  readonly bytes: () => Buffer;
  write(bytes: Uint8Array | number[]): void;
  send(variant: ToRadioInit): void;
  destroy(): void;
  readonly closed: () => boolean;
}

export function attachRawHost(radio: SimRadio, options?: AttachOptions): RawHost {
  const [deviceEnd, hostEnd] = duplexPair();
  radio.attach(deviceEnd, options);
  const decoder = new FrameDecoder();
  const received: FromRadio[] = [];
  const payloads: Uint8Array[] = [];
  const logs: string[] = [];
  const chunks: Buffer[] = [];
  let closed = false;
  hostEnd.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    for (const event of decoder.push(chunk)) {
      if (event.type === "frame") {
        payloads.push(event.payload);
        received.push(decodeFromRadio(event.payload));
      } else if (event.type === "log") {
        logs.push(event.line);
      }
    }
  });
  hostEnd.on("close", () => {
    closed = true;
  });
  return {
    received,
    payloads,
    logs,
    bytes: () => Buffer.concat(chunks),
    write: (bytes) => {
      hostEnd.write(Buffer.from(bytes));
    },
    send: (variant) => {
      hostEnd.write(encodeFrame(encodeToRadio(variant)));
    },
    destroy: () => {
      hostEnd.destroy();
    },
    closed: () => closed,
  };
}

/** Lets the duplex pair move bytes both ways (it delivers on process.nextTick, never faked). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((resolve) => process.nextTick(resolve));
}

export function hex(bytes: Uint8Array | number[]): string {
  return Buffer.from(bytes).toString("hex");
}

export function fromHex(text: string): number[] {
  return [...Buffer.from(text.replace(/\s+/g, ""), "hex")];
}

export function casesOf(received: readonly FromRadio[]): string[] {
  return received.map((message) => message.payloadVariant.case ?? "undefined");
}
