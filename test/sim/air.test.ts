// On-air frames: the sim's bytes are the real format, checked against the canonical vector in
// ../shared/reference/meshtastic-vectors.json §10.5 and decoded with the radio folder's codec
// (the one `meshaid decode` uses) and the default channel key.
import { describe, expect, it } from "vitest";
import { BROADCAST_NUM, DEFAULT_CHANNEL_KEY, channelHash, cryptAirPayload, decodeData, parseAirHeader } from "../../src/radio/index.ts";
import { decodeSimData, defaultChannel, encodeSimAirFrame, encodeSimData } from "../../src/sim/index.ts";
import { node, rig, text } from "./net-helpers.ts";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

describe("on-air frames", () => {
  it('match the canonical vector: broadcast "hello" from 0x11223344 id 0x0a0b0c0d, LongFast, hop 3/3, bitfield 1', () => {
    const data = { portnum: 1, payload: new TextEncoder().encode("hello"), bitfield: 1 };
    expect(hex(encodeSimData(data))).toBe("0801120568656c6c6f4801");
    const channel = defaultChannel("LongFast");
    expect(channel.hash).toBe(0x08);
    const frame = encodeSimAirFrame(
      { to: BROADCAST_NUM, from: 0x11223344, id: 0x0a0b0c0d, hopLimit: 3, hopStart: 3, wantAck: false, viaMqtt: false, channelHash: channel.hash, nextHop: 0, relayNode: 0x44 },
      data,
      channel.key,
    );
    expect(hex(frame)).toBe("ffffffff443322110d0c0b0a63080044fa8b3ae200e84b4b41ba72");
  });

  it("decodes the sim's Data codec both ways, including fixed32 fields", () => {
    const data = { portnum: 5, payload: Uint8Array.of(0x18, 0x00), requestId: 0xe405fc45, bitfield: 0 };
    const bytes = encodeSimData(data);
    expect(hex(bytes)).toBe("0805120218003545fc05e44800"); // the real ACK of §10.1 D2
    expect(decodeSimData(bytes)).toEqual(data);
    expect(() => decodeSimData(Uint8Array.of(0x12, 0x09, 0x01))).toThrow(RangeError);
  });

  it("what a simulated node transmits decrypts with the default key to the Data it sent", () => {
    const { net, clock, frames } = rig();
    const a = net.addNode({ node: node(0x11223344), position: { x: 0, y: 0 } });
    net.addNode({ node: node(0x55667788), position: { x: 500, y: 0 } });
    const id = a.radio.originate(text("NEED WATER"), { hopLimit: 3 });
    clock.advance(10_000);
    const original = frames.find((f) => f.transmitter === 0x11223344);
    expect(original).toBeDefined();
    const header = parseAirHeader(original!.bytes);
    expect(header).toMatchObject({ to: BROADCAST_NUM, from: 0x11223344, id, hopLimit: 3, hopStart: 3, relayNode: 0x44, nextHop: 0 });
    expect(header.channelHash).toBe(channelHash("LongFast", DEFAULT_CHANNEL_KEY));
    const data = decodeData(cryptAirPayload(DEFAULT_CHANNEL_KEY, header.id, header.from, original!.bytes.subarray(16)));
    expect(data.portnum).toBe(1);
    expect(new TextDecoder().decode(data.payload)).toBe("NEED WATER");
    expect(data.bitfield).toBe(0);
    // the relay rewrote only hop_limit and relay_node: the ciphertext is the same bytes
    const relay = frames.find((f) => f.transmitter === 0x55667788);
    expect(relay).toBeDefined();
    expect(hex(relay!.bytes.subarray(16))).toBe(hex(original!.bytes.subarray(16)));
    expect(parseAirHeader(relay!.bytes)).toMatchObject({ hopLimit: 2, hopStart: 3, relayNode: 0x88 });
  });

  it("a node on another channel neither decodes nor delivers the frame", () => {
    const { net, clock, deliveries } = rig();
    const a = net.addNode({ node: node(0x1001), position: { x: 0, y: 0 } });
    const other = { hash: 0x42, key: new Uint8Array(16).fill(0x11) };
    net.addNode({ node: node(0x1002), position: { x: 300, y: 0 }, channels: [other] });
    a.radio.originate(text("hi"));
    clock.advance(10_000);
    expect(deliveries.filter(([receiver]) => receiver === 0x1002)).toEqual([]);
  });
});
