// Properties of the host-side stream parser (src/radio/framing.ts).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder, MAX_FRAME_PAYLOAD, type FrameEvent } from "../../src/radio/index.ts";
import { concat } from "./helpers.ts";

const MAX_LOG_LINE_BYTES = 1024;

type Item = { kind: "frame"; payload: Uint8Array } | { kind: "log"; text: string; newline: boolean };

/** Payloads of 0..512 bytes, often with `94 C3` (and `94 C3 len`) planted inside. */
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: MAX_FRAME_PAYLOAD }), // mostly short
  fc.uint8Array({ maxLength: MAX_FRAME_PAYLOAD, size: "max" }), // any length up to 512
  fc.uint8Array({ minLength: MAX_FRAME_PAYLOAD, maxLength: MAX_FRAME_PAYLOAD }), // exactly 512
);
const payloadArb = fc
  .tuple(bytesArb, fc.array(fc.nat(), { maxLength: 4 }))
  .map(([bytes, spots]) => {
    const out = Uint8Array.from(bytes);
    for (const spot of spots) {
      if (out.length < 4) break;
      const at = spot % (out.length - 3);
      out.set([0x94, 0xc3, 0x00, spot & 0x0f], at);
    }
    return out;
  });

/**
 * Console text as the firmware prints it: printable ASCII plus multi-byte characters, one of
 * which (the em dash, E2 80 94) contains 0x94. No character whose UTF-8 starts with C3 (U+00C0
 * to U+00FF), so text never forms `94 C3` by itself.
 */
const textArb = fc
  .array(fc.constantFrom(..."abcXYZ019 |[]:=.,-_", "—", "°", "→"), { minLength: 1, maxLength: 80 })
  .map((chars) => chars.join(""))
  .filter((text) => text.trim().length > 0);

const itemArb: fc.Arbitrary<Item> = fc.oneof(
  payloadArb.map((payload) => ({ kind: "frame" as const, payload })),
  fc.tuple(textArb, fc.boolean()).map(([text, newline]) => ({ kind: "log" as const, text, newline })),
);

/** The stream bytes for items, and the events a correct parser gives for them. */
function render(items: readonly Item[]): { bytes: Uint8Array; expected: FrameEvent[] } {
  const parts: Uint8Array[] = [];
  const expected: FrameEvent[] = [];
  let pendingText = "";
  const endLine = (): void => {
    const line = pendingText.trimEnd();
    if (line.length > 0) expected.push({ type: "log", line });
    pendingText = "";
  };
  items.forEach((item, index) => {
    if (item.kind === "frame") {
      endLine();
      parts.push(encodeFrame(item.payload));
      expected.push({ type: "frame", payload: item.payload });
      return;
    }
    // Text without a newline is only allowed before a frame (or at the end), which ends the line.
    const newline = item.newline || items[index + 1]?.kind !== "frame";
    parts.push(Buffer.from(item.text + (newline ? "\r\n" : ""), "utf8"));
    pendingText += item.text;
    if (newline) endLine();
  });
  endLine();
  return { bytes: concat(parts), expected };
}

function decodeInChunks(bytes: Uint8Array, cuts: readonly number[]): FrameEvent[] {
  const decoder = new FrameDecoder();
  const events: FrameEvent[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    events.push(...decoder.push(bytes.subarray(from, cut)));
    from = cut;
  }
  events.push(...decoder.push(bytes.subarray(from)), ...decoder.flush());
  return events;
}

const decodeAll = (bytes: Uint8Array): FrameEvent[] => decodeInChunks(bytes, []);

describe("FrameDecoder", () => {
  it("finds every frame and log line of a mixed stream, payloads with 94 C3 included", () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 8 }), (items) => {
        const { bytes, expected } = render(items);
        expect(decodeAll(bytes)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("gives the same events wherever a single cut falls (every index)", () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 4 }), (items) => {
        const { bytes, expected } = render(items);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const events = decodeInChunks(bytes, [cut]);
          if (JSON.stringify(events) !== JSON.stringify(expected)) expect({ cut, events }).toEqual({ cut, events: expected });
        }
      }),
      { numRuns: 25 },
    );
  });

  it("gives the same events for any chunking, down to one byte at a time", () => {
    fc.assert(
      fc.property(
        fc.array(itemArb, { maxLength: 8 }).chain((items) => {
          const { bytes } = render(items);
          return fc.tuple(fc.constant(items), fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }));
        }),
        ([items, cuts]) => {
          const { bytes, expected } = render(items);
          expect(decodeInChunks(bytes, cuts)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
    const { bytes, expected } = render([
      { kind: "log", text: "INFO  | x—y", newline: true },
      { kind: "frame", payload: Uint8Array.of(0x94, 0xc3, 0x00, 0x01, 0x94) },
    ]);
    const oneByOne = Array.from({ length: bytes.length }, (_, i) => i);
    expect(decodeInChunks(bytes, oneByOne)).toEqual(expected);
  });

  it("never throws on arbitrary bytes, and bounds every event", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096, size: "max" }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const events = decodeInChunks(
          bytes,
          cuts.map((cut) => cut % (bytes.length + 1)),
        );
        for (const event of events) {
          if (event.type === "frame") expect(event.payload.length).toBeLessThanOrEqual(MAX_FRAME_PAYLOAD);
          // a line holds at most 1024 input bytes; each invalid byte decodes to U+FFFD (3 bytes in UTF-8)
          if (event.type === "log") expect(Buffer.byteLength(event.line, "utf8")).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES * 3);
          if (event.type === "discard") expect(event.length).toBeGreaterThan(MAX_FRAME_PAYLOAD);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("resynchronises after garbage: a valid frame after any garbage ending outside a header is found", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600, size: "max" }), payloadArb, (garbage, payload) => {
        // Garbage that ends in the hunt state: make sure no header is left open by padding
        // with enough non-0x94 bytes to complete any frame the garbage started.
        const pad = new Uint8Array(MAX_FRAME_PAYLOAD + 4).fill(0x0a);
        const events = decodeAll(concat([garbage, pad, encodeFrame(payload)]));
        expect(events.at(-1)).toEqual({ type: "frame", payload });
      }),
      { numRuns: 200 },
    );
  });

  it("treats a stray 0x94 as text and still finds the frame after it (94 94 C3 ...)", () => {
    const events = decodeAll(Uint8Array.of(0x94, 0x94, 0xc3, 0x00, 0x02, 0x40, 0x01));
    expect(events).toEqual([
      { type: "log", line: "\ufffd" },
      { type: "frame", payload: Uint8Array.of(0x40, 0x01) },
    ]);
    // an em dash right before a frame
    expect(decodeAll(concat([Buffer.from("a—"), encodeFrame(Uint8Array.of(7))]))).toEqual([
      { type: "log", line: "a—" },
      { type: "frame", payload: Uint8Array.of(7) },
    ]);
  });

  it("discards a header with a length over 512 and hunts again", () => {
    const events = decodeAll(concat([Uint8Array.of(0x94, 0xc3, 0x02, 0x01), encodeFrame(Uint8Array.of(1, 2))]));
    expect(events).toEqual([
      { type: "discard", reason: "length-over-512", length: 513 },
      { type: "frame", payload: Uint8Array.of(1, 2) },
    ]);
    expect(decodeAll(Uint8Array.of(0x94, 0xc3, 0xff, 0xff))).toEqual([{ type: "discard", reason: "length-over-512", length: 0xffff }]);
  });

  // What happens to a truncated frame: the parser has no timeout and no CRC (like the firmware),
  // so the header's length is believed. The next `length - received` bytes are taken as the rest
  // of its payload, whatever they are, and it comes out as one (corrupt) frame, which the
  // protobuf decode upstream rejects (RadioLink logs and skips it). Everything after that point
  // parses normally: frames that start after the swallowed bytes are found intact.
  it("a truncated frame swallows exactly its missing bytes, then parsing resumes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_FRAME_PAYLOAD }).chain((length) =>
          fc.tuple(
            fc.constant(length),
            fc.integer({ min: 0, max: length - 1 }),
            fc.uint8Array({ minLength: length, maxLength: length }),
            fc.array(payloadArb, { minLength: 1, maxLength: 3 }),
          ),
        ),
        ([length, received, filler, later]) => {
          const missing = length - received;
          const truncated = concat([Uint8Array.of(0x94, 0xc3, length >> 8, length & 0xff), filler.subarray(0, received)]);
          const swallowed = filler.subarray(received, received + missing); // any bytes at all, even headers
          const events = decodeAll(concat([truncated, swallowed, ...later.map(encodeFrame)]));
          expect(events).toEqual([
            { type: "frame", payload: concat([filler.subarray(0, received), swallowed]) },
            ...later.map((payload) => ({ type: "frame", payload })),
          ]);
        },
      ),
      { numRuns: 200 },
    );
    // Concretely: a 10-byte frame cut after 3 bytes eats the 6-byte frame that follows and one
    // byte more; the frame after that is found.
    const rebooted = encodeFrame(Uint8Array.of(0x40, 0x01));
    const events = decodeAll(
      concat([Uint8Array.of(0x94, 0xc3, 0x00, 0x0a, 1, 2, 3), rebooted, Uint8Array.of(0x0a), encodeFrame(Uint8Array.of(9, 9))]),
    );
    expect(events).toEqual([
      { type: "frame", payload: Uint8Array.of(1, 2, 3, 0x94, 0xc3, 0x00, 0x02, 0x40, 0x01, 0x0a) },
      { type: "frame", payload: Uint8Array.of(9, 9) },
    ]);
  });

  it("drops a partial frame at end of stream and hands out pending text", () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(concat([Buffer.from("tail text"), Uint8Array.of(0x94, 0xc3, 0x00, 0x05, 1)]))).toEqual([
      { type: "log", line: "tail text" },
    ]);
    expect(decoder.flush()).toEqual([]);
    const text = new FrameDecoder();
    expect(text.push(Buffer.from("no newline yet"))).toEqual([]);
    expect(text.flush()).toEqual([{ type: "log", line: "no newline yet" }]);
  });

  it("cuts endless console text into bounded lines", () => {
    const events = decodeAll(new Uint8Array(5000).fill(0x41));
    expect(events.length).toBeGreaterThan(1);
    for (const event of events) expect(event.type === "log" && event.line.length).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
    expect(events.map((event) => (event.type === "log" ? event.line : "")).join("")).toBe("A".repeat(5000));
  });
});
