// The on-air codec: header layout, key expansion, channel hash and AES-CTR, against the values the
// reference gives (../shared/reference/meshtastic-protocol.md sections 4.1, 4.3, 9, 10.5).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  airNonce,
  channelHash,
  cryptAirPayload,
  DEFAULT_CHANNEL_KEY,
  encodeAirFrame,
  encodeAirHeader,
  expandChannelKey,
  lastByteOf,
  parseAirHeader,
  splitAirFrame,
  type AirHeader,
} from "../../src/radio/index.ts";

const hex = (bytes: Uint8Array | undefined): string | undefined => (bytes ? Buffer.from(bytes).toString("hex") : undefined);

describe("on-air codec", () => {
  it("expands channel keys as the firmware does", () => {
    expect(hex(expandChannelKey(Buffer.from("AQ==", "base64")))).toBe("d4f1bb3a20290759f0bcffabcf4e6901");
    expect(hex(expandChannelKey(Uint8Array.of(3)))).toBe("d4f1bb3a20290759f0bcffabcf4e6903"); // simple2
    expect(expandChannelKey(Uint8Array.of(0))).toBeUndefined();
    expect(expandChannelKey(new Uint8Array(0))).toBeUndefined();
    expect(hex(expandChannelKey(Uint8Array.of(1, 2)))).toBe(`0102${"00".repeat(14)}`);
    expect(expandChannelKey(new Uint8Array(20).fill(7))).toHaveLength(32);
    expect(expandChannelKey(new Uint8Array(32).fill(9))).toEqual(new Uint8Array(32).fill(9));
    expect(() => expandChannelKey(new Uint8Array(33))).toThrow(RangeError);
  });

  it("hashes channel names with the key: LongFast 0x08 and ShortSlow 0x77 on the default key", () => {
    expect(channelHash("LongFast", DEFAULT_CHANNEL_KEY)).toBe(0x08);
    expect(channelHash("ShortSlow", DEFAULT_CHANNEL_KEY)).toBe(0x77);
    expect(channelHash("MediumSlow", DEFAULT_CHANNEL_KEY)).toBe(0x18);
  });

  it("builds the reference frame: broadcast hello from 0x11223344, id 0x0a0b0c0d, LongFast, hop 3/3", () => {
    const header: AirHeader = { to: 0xffffffff, from: 0x11223344, id: 0x0a0b0c0d, hopLimit: 3, hopStart: 3, wantAck: false, viaMqtt: false, channelHash: 0x08, nextHop: 0, relayNode: 0x44 };
    const frame = encodeAirFrame(header, Buffer.from("0801120568656c6c6f4801", "hex"), DEFAULT_CHANNEL_KEY);
    expect(hex(frame)).toBe("ffffffff443322110d0c0b0a63080044fa8b3ae200e84b4b41ba72");
    expect(hex(airNonce(1777428186, 4202784164))).toBe("da66f16900000000a46581fa00000000");
    const { header: parsed, payload } = splitAirFrame(frame);
    expect(parsed).toEqual(header);
    expect(hex(cryptAirPayload(DEFAULT_CHANNEL_KEY, parsed.id, parsed.from, payload))).toBe("0801120568656c6c6f4801");
  });

  it("round-trips any header, and refuses frames that are too short or too long", () => {
    const headerArb = fc.record({
      to: fc.nat({ max: 0xffffffff }),
      from: fc.nat({ max: 0xffffffff }),
      id: fc.nat({ max: 0xffffffff }),
      hopLimit: fc.integer({ min: 0, max: 7 }),
      hopStart: fc.integer({ min: 0, max: 7 }),
      wantAck: fc.boolean(),
      viaMqtt: fc.boolean(),
      channelHash: fc.nat({ max: 255 }),
      nextHop: fc.nat({ max: 255 }),
      relayNode: fc.nat({ max: 255 }),
    });
    fc.assert(
      fc.property(headerArb, (header) => {
        expect(parseAirHeader(encodeAirHeader(header))).toEqual(header);
      }),
    );
    expect(() => parseAirHeader(new Uint8Array(15))).toThrow(RangeError);
    const header = parseAirHeader(new Uint8Array(16));
    expect(() => encodeAirFrame(header, new Uint8Array(240), DEFAULT_CHANNEL_KEY)).toThrow(RangeError);
    expect(encodeAirFrame(header, new Uint8Array(239), undefined)).toHaveLength(255);
  });

  it("maps a node's last byte 0x00 to 0xFF", () => {
    expect(lastByteOf(0x12345600)).toBe(0xff);
    expect(lastByteOf(0x2a6f1c01)).toBe(0x01);
  });
});
