// The Meshtastic stream framing, host side: `94 C3 len_hi len_lo` + protobuf (len <= 512).
//
// A byte-at-a-time state machine, so that where a chunk boundary falls never matters, the memory
// it holds is bounded (one frame), and no byte sequence can wedge it. Bytes outside a frame are
// the device's console text (serial only): they come out as log lines.
// Reference: ../shared/reference/meshtastic-protocol.md sections 1.1, 1.2 and 1.6.

export const FRAME_START1 = 0x94;
export const FRAME_START2 = 0xc3;
export const FRAME_HEADER_BYTES = 4;
/** MAX_TO_FROM_RADIO_SIZE in the firmware (PhoneAPI.h). */
export const MAX_FRAME_PAYLOAD = 512;
/** Console text longer than this without a newline is cut into lines of this size. */
const MAX_LOG_LINE = 1024;

export type FrameEvent =
  | { type: "frame"; payload: Uint8Array }
  | { type: "log"; line: string }
  | { type: "discard"; reason: "length-over-512"; length: number };

/** Frames one payload for the device. Throws a RangeError above the 512-byte limit. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`frame payload is ${payload.length} bytes; the device accepts at most ${MAX_FRAME_PAYLOAD}`);
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  frame[0] = FRAME_START1;
  frame[1] = FRAME_START2;
  frame[2] = payload.length >> 8;
  frame[3] = payload.length & 0xff;
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

const ParserState = {
  hunt: 0, // looking for START1; other bytes are console text
  start2: 1, // saw START1
  lenHi: 2,
  lenLo: 3,
  payload: 4,
} as const;
type ParserStateValue = (typeof ParserState)[keyof typeof ParserState];

/**
 * Splits a byte stream from the device into frames and console log lines.
 * Unlike the firmware's own parser, a byte that breaks a header is looked at again as a
 * possible START1, so `94 94 C3 ...` still finds the frame, and a lone 0x94 inside log text
 * (UTF-8 em dash `E2 80 94`) costs nothing but that byte's place in the text.
 */
export class FrameDecoder {
  private state: ParserStateValue = ParserState.hunt;
  private length = 0;
  private payload = new Uint8Array(MAX_FRAME_PAYLOAD);
  private received = 0;
  private text: number[] = [];
  private readonly utf8 = new TextDecoder("utf-8", { fatal: false });

  /** Feeds bytes in; returns what they completed, in stream order. */
  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    for (const byte of chunk) this.pushByte(byte, events);
    return events;
  }

  /** At end of stream: hands out pending console text; a partial frame is dropped. */
  flush(): FrameEvent[] {
    const events: FrameEvent[] = [];
    this.state = ParserState.hunt;
    this.endLine(events);
    return events;
  }

  private pushByte(byte: number, events: FrameEvent[]): void {
    switch (this.state) {
      case ParserState.hunt:
        if (byte === FRAME_START1) this.state = ParserState.start2;
        else this.textByte(byte, events);
        return;
      case ParserState.start2:
        if (byte === FRAME_START2) {
          this.state = ParserState.lenHi;
        } else {
          // The START1 we held was text after all; this byte may begin a frame itself.
          this.textByte(FRAME_START1, events);
          this.state = ParserState.hunt;
          this.pushByte(byte, events);
        }
        return;
      case ParserState.lenHi:
        this.length = byte << 8;
        this.state = ParserState.lenLo;
        return;
      case ParserState.lenLo:
        this.length |= byte;
        if (this.length > MAX_FRAME_PAYLOAD) {
          events.push({ type: "discard", reason: "length-over-512", length: this.length });
          this.state = ParserState.hunt;
          return;
        }
        this.endLine(events); // console text before a frame is a complete line
        this.received = 0;
        if (this.length === 0) {
          events.push({ type: "frame", payload: new Uint8Array(0) });
          this.state = ParserState.hunt;
        } else {
          this.state = ParserState.payload;
        }
        return;
      case ParserState.payload:
        this.payload[this.received++] = byte;
        if (this.received === this.length) {
          events.push({ type: "frame", payload: this.payload.slice(0, this.length) });
          this.state = ParserState.hunt;
        }
        return;
    }
  }

  private textByte(byte: number, events: FrameEvent[]): void {
    if (byte === 0x0a) {
      this.endLine(events);
      return;
    }
    this.text.push(byte);
    if (this.text.length >= MAX_LOG_LINE) this.endLine(events);
  }

  private endLine(events: FrameEvent[]): void {
    if (this.text.length === 0) return;
    const line = this.utf8
      .decode(Uint8Array.from(this.text))
      // eslint-disable-next-line no-control-regex -- the firmware colours its log levels with ESC[..m
      .replace(/\x1b\[[0-9;]*m/g, "")
      .replace(/\r$/, "")
      .trimEnd();
    this.text = [];
    if (line.length > 0) events.push({ type: "log", line });
  }
}
