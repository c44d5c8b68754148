// RadioLink fed hostile serial streams: mutated real FromRadio frames (packets, node infos,
// positions, telemetry, captured payloads from test/fixtures) and random bytes. The link never
// throws to its listeners, never closes because of content, and still hears a good packet after.
import type { Duplex } from "node:stream";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { expect } from "vitest";
import pino from "pino";
import {
  BROADCAST_NUM,
  createStreamTransport,
  decodeToRadio,
  encodeFrame,
  encodeFromRadio,
  encodePosition,
  encodeTelemetry,
  encodeUser,
  FrameDecoder,
  MAX_FRAME_PAYLOAD,
  PortNum,
  RadioLink,
  type RadioEvent,
} from "../../src/radio/index.ts";
import { duplexPair } from "../radio/helpers.ts";
import { mutatedBytes, type FuzzInput } from "./fuzz.ts";

const MY_NODE = 0x0a0b0c0d;
const MARKER_ID = 0x7e57;

/** A radio that answers every want_config (a fuzzed `rebooted` makes the link ask again). */
function answerHandshakes(device: Duplex): void {
  const decoder = new FrameDecoder();
  device.on("data", (chunk: Buffer) => {
    for (const event of decoder.push(chunk)) {
      if (event.type !== "frame") continue;
      const variant = decodeToRadio(event.payload).payloadVariant;
      if (variant.case !== "wantConfigId") continue;
      device.write(encodeFrame(encodeFromRadio({ case: "myInfo", value: { myNodeNum: MY_NODE } })));
      device.write(encodeFrame(encodeFromRadio({ case: "configCompleteId", value: variant.value })));
    }
  });
}

function packet(portnum: number, payload: Uint8Array, id: number): Uint8Array {
  return encodeFromRadio({
    case: "packet",
    value: { from: 0x11223344, to: BROADCAST_NUM, id, rxTime: 1_750_000_000, rxSnr: 6, rxRssi: -90, hopLimit: 2, hopStart: 3, payloadVariant: { case: "decoded", value: { portnum, payload } } },
  });
}

const vectors = JSON.parse(readFileSync(new URL("../fixtures/meshtastic-vectors.json", import.meta.url), "utf8")) as { fromRadioPayloads: Array<{ hex: string }> };

const realFromRadio: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(...vectors.fromRadioPayloads.map((entry) => Uint8Array.from(Buffer.from(entry.hex, "hex")))),
  fc.string({ maxLength: 200 }).map((text) => packet(PortNum.TEXT_MESSAGE_APP, new TextEncoder().encode(text), 1)),
  fc.constant(packet(PortNum.NODEINFO_APP, encodeUser({ id: "!11223344", longName: "Medic 4", shortName: "MD4", hwModel: 7, role: 0 }), 2)),
  fc.constant(packet(PortNum.POSITION_APP, encodePosition({ latitudeI: 525_200_000, longitudeI: 134_050_000, altitude: 34, time: 1_750_000_010 }), 3)),
  fc.constant(packet(PortNum.TELEMETRY_APP, encodeTelemetry({ time: 1, variant: { case: "deviceMetrics", value: { batteryLevel: 80, channelUtilization: 12.5 } } }), 4)),
  fc.constant(encodeFromRadio({ case: "queueStatus", value: { res: 0, free: 10, maxlen: 16, meshPacketId: 0 } })),
  fc.constant(encodeFromRadio({ case: "rebooted", value: true })),
);

/** A stream of frames whose payloads are mutated, with raw garbage between them. */
export const linkStreams: fc.Arbitrary<FuzzInput> = fc
  .array(fc.oneof({ weight: 4, arbitrary: mutatedBytes(realFromRadio, 300).map((payload) => encodeFrame(payload.slice(0, MAX_FRAME_PAYLOAD))) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }), { minLength: 1, maxLength: 12 })
  .map((parts) => ({ bytes: Uint8Array.from(parts.flatMap((part) => [...part])) }));

function wellFormed(event: RadioEvent): void {
  if (event.type === "packet") {
    for (const value of [event.packet.from, event.packet.to, event.packet.id, event.packet.portnum]) expect(Number.isInteger(value)).toBe(true);
    expect(event.packet.payload).toBeInstanceOf(Uint8Array);
  }
  if (event.type === "node") expect(Number.isInteger(event.node.num)).toBe(true);
}

export async function linkHolds(input: FuzzInput): Promise<void> {
  const bytes = "bytes" in input ? input.bytes : new TextEncoder().encode(input.text);
  const [host, device] = duplexPair();
  answerHandshakes(device);
  const link = new RadioLink({ transport: createStreamTransport(host), logger: pino({ level: "silent" }), nonce: () => 4242 });
  const events: RadioEvent[] = [];
  const problems: unknown[] = [];
  link.subscribe((event) => {
    try {
      wellFormed(event);
      events.push(event);
    } catch (error) {
      problems.push(error);
    }
  });
  try {
    await link.start();
    device.write(bytes);
    // Whatever the garbage left half-read, enough zeros end it; then a good packet must arrive.
    device.write(new Uint8Array(MAX_FRAME_PAYLOAD + 4));
    device.write(Uint8Array.from([0x0a, ...encodeFrame(packet(PortNum.TEXT_MESSAGE_APP, new TextEncoder().encode("NEED WATER"), MARKER_ID))]));
    await expect.poll(() => events.some((event) => event.type === "packet" && event.packet.id === MARKER_ID), { timeout: 5_000, interval: 1 }).toBe(true);
    // A fuzzed `rebooted` makes the link configure again; the radio answers, so it ends connected.
    await expect.poll(() => link.status, { timeout: 5_000, interval: 1 }).toBe("connected");
    expect(problems).toEqual([]);
  } finally {
    await link.close();
  }
}

