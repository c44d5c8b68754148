// The serial framer fed hostile bytes: it never throws, never holds more than one frame and one
// log line, cuts the same events wherever chunk boundaries fall, and finds a frame after garbage.
import fc from "fast-check";
import { expect } from "vitest";
import { encodeFrame, FrameDecoder, MAX_FRAME_PAYLOAD, type FrameEvent } from "../../src/radio/index.ts";
import { mutatedBytes, type FuzzInput } from "./fuzz.ts";

const validStream = fc
  .array(fc.oneof(fc.uint8Array({ maxLength: 80 }).map((payload) => encodeFrame(payload)), fc.string({ maxLength: 60 }).map((text) => new TextEncoder().encode(`${text}\n`))), { maxLength: 8 })
  .map((parts) => Uint8Array.from(parts.flatMap((part) => [...part])));

export const streams: fc.Arbitrary<FuzzInput> = mutatedBytes(validStream, 2000).map((bytes) => ({ bytes }));

function bytesOf(input: FuzzInput): Uint8Array {
  return "bytes" in input ? input.bytes : new TextEncoder().encode(input.text);
}

/** The property every stream must keep; also replayed on kept regression inputs. */
export function framerHolds(input: FuzzInput): void {
  const bytes = bytesOf(input);
  const whole = new FrameDecoder();
  const events: FrameEvent[] = [...whole.push(bytes), ...whole.flush()];
  for (const event of events) {
    if (event.type === "frame") expect(event.payload.length).toBeLessThanOrEqual(MAX_FRAME_PAYLOAD);
    if (event.type === "log") expect(Buffer.byteLength(event.line)).toBeLessThanOrEqual(1024 * 3); // U+FFFD for each bad byte of a 1024-byte line
    if (event.type === "discard") expect(event.length).toBeGreaterThan(MAX_FRAME_PAYLOAD);
  }
  // Byte by byte gives the same events as all at once.
  const single = new FrameDecoder();
  const oneByOne: FrameEvent[] = [];
  for (const byte of bytes) oneByOne.push(...single.push(Uint8Array.of(byte)));
  oneByOne.push(...single.flush());
  expect(oneByOne).toEqual(events);
  // After any garbage, a newline and a frame, the frame comes out (the framer cannot wedge).
  const afterwards = new FrameDecoder();
  afterwards.push(bytes);
  // A pending header can swallow up to 3 + 512 bytes: a frame of zeros that long ends it.
  afterwards.push(new Uint8Array(MAX_FRAME_PAYLOAD + 4));
  const marker = Uint8Array.of(0x08, 0x2a);
  const found = afterwards.push(Uint8Array.from([0x0a, ...encodeFrame(marker)]));
  expect(found.some((event) => event.type === "frame" && Buffer.from(event.payload).equals(Buffer.from(marker)))).toBe(true);
}

