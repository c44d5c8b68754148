// The optional Meshtastic-format uplink: the envelope carries the same encrypted bytes the
// simulator put on the air for the packet (and the c-sharp project's captured MQTT vector), the
// official protobufs in @meshtastic/core decode it, and only packets that may leave are
// published, through a real broker (aedes).
import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { Protobuf } from "@meshtastic/core";
import fc from "fast-check";
import mqtt from "mqtt";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHANNEL_KEY, PortNum, type ReceivedPacket } from "../../src/radio/index.ts";
import { gatewayId, MshUplink, parseRedaction, redactor } from "../../src/relay/index.ts";
import { defaultChannel, encodeSimAirFrame } from "../../src/sim/index.ts";
import type { FieldRecord } from "../../src/wire/index.ts";
import { useRelayRigs } from "../helpers/relay.ts";
import { presetRecord } from "../helpers/records.ts";

const relays = useRelayRigs();
const GATEWAY = 0xba5e0001;
const silent = pino({ level: "silent" });

interface OfficialEnvelope {
  packet?: { from: number; to: number; id: number; channel: number; hopLimit: number; hopStart: number; payloadVariant: { case: string | undefined; value?: unknown } };
  channelId: string;
  gatewayId: string;
}

/** Decoded with @meshtastic/core's own schema, not meshaid's facade. */
function official(bytes: Uint8Array): OfficialEnvelope {
  // @meshtastic/core's npm types do not resolve (see src/radio/protocol.ts): the schema is used as it ships.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-member-access
  return fromBinary(Protobuf.Mqtt.ServiceEnvelopeSchema, bytes);
}

function uplinkFor(options: Partial<ConstructorParameters<typeof MshUplink>[0]> = {}): MshUplink {
  return new MshUplink({
    client: { publish: () => undefined as never },
    region: "EU_868",
    channel: { name: "LongFast", key: DEFAULT_CHANNEL_KEY },
    gateway: () => GATEWAY,
    recordsOf: () => Promise.resolve([]),
    redact: (record) => record,
    logger: silent,
    ...options,
  });
}

function packet(fields: Partial<ReceivedPacket> = {}): ReceivedPacket {
  return { from: 0x1234, to: 0xffffffff, id: 77, channel: 0, portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode("NEED WATER"), rxTimeMs: undefined, rxSnr: 6, rxRssi: -90, hopLimit: 3, hopStart: 3, bitfield: 1, ...fields };
}

describe("the Meshtastic-format envelope", () => {
  it("carries the bytes the simulator put on the air for the same packet, and the official schema decodes it", () => {
    const channel = defaultChannel("LongFast");
    const uplink = uplinkFor();
    fc.assert(
      fc.property(
        fc.record({
          from: fc.integer({ min: 1, max: 0xfffffffe }),
          to: fc.constantFrom(0xffffffff, 0x0a0b0c0d),
          id: fc.integer({ min: 1, max: 0xffffffff }),
          portnum: fc.constantFrom(PortNum.TEXT_MESSAGE_APP, 300, PortNum.ROUTING_APP),
          payload: fc.uint8Array({ minLength: 0, maxLength: 200 }),
          bitfield: fc.constantFrom(0, 1, 2, 3),
          requestId: fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: undefined }),
          hopStart: fc.integer({ min: 0, max: 7 }),
        }),
        (p) => {
          const hopLimit = Math.min(p.hopStart, 2);
          const frame = encodeSimAirFrame(
            { to: p.to, from: p.from, id: p.id, hopLimit, wantAck: false, viaMqtt: false, hopStart: p.hopStart, channelHash: channel.hash, nextHop: 0, relayNode: 0 },
            { portnum: p.portnum, payload: p.payload, bitfield: p.bitfield, ...(p.requestId !== undefined ? { requestId: p.requestId } : {}) },
            channel.key,
          );
          const heard = packet({ from: p.from, to: p.to, id: p.id, portnum: p.portnum, payload: p.payload, bitfield: p.bitfield, hopLimit, hopStart: p.hopStart, ...(p.requestId !== undefined ? { requestId: p.requestId } : {}) });
          const envelope = official(uplink.envelope(heard, GATEWAY));
          expect(envelope.channelId).toBe("LongFast");
          expect(envelope.gatewayId).toBe(gatewayId(GATEWAY));
          expect(envelope.packet).toMatchObject({ from: p.from, to: p.to, id: p.id, channel: channel.hash, hopLimit, hopStart: p.hopStart });
          expect(envelope.packet?.payloadVariant.case).toBe("encrypted");
          expect(Buffer.from(envelope.packet?.payloadVariant.value as Uint8Array).toString("hex")).toBe(Buffer.from(frame.subarray(16)).toString("hex"));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reproduces a captured MQTT packet's encrypted bytes (meshtastic/c-sharp's vector)", () => {
    const vectors = JSON.parse(readFileSync(new URL("../fixtures/meshtastic-vectors.json", import.meta.url), "utf8")) as { mqtt: Array<{ serviceEnvelopeJson: { packet: { from: number; to: number; id: number; encrypted: string; hopLimit: number; hopStart: number }; channelId: string; gatewayId: string } }> };
    const vector = vectors.mqtt[0]!.serviceEnvelopeJson;
    // The plaintext Data: NODEINFO_APP, a User payload, want_response (firmware older than 2.5: no bitfield).
    const user = Buffer.from("0a09216661383136356134120f4d65736874617374696320363561341a04363561342206f412fa8165a4282b", "hex");
    const heard = packet({ from: vector.packet.from, to: vector.packet.to, id: vector.packet.id, portnum: PortNum.NODEINFO_APP, payload: new Uint8Array(user), wantResponse: true, hopLimit: vector.packet.hopLimit, hopStart: vector.packet.hopStart });
    delete heard.bitfield;
    const envelope = official(uplinkFor().envelope(heard, 0xfa8165a4));
    expect(Buffer.from(envelope.packet?.payloadVariant.value as Uint8Array).toString("base64")).toBe(vector.packet.encrypted);
    expect(envelope.packet?.channel).toBe(8);
    expect(envelope.gatewayId).toBe(vector.gatewayId);
    expect(envelope.channelId).toBe(vector.channelId);
  });

  it("goes decoded, with the channel index, when asked", () => {
    const envelope = official(uplinkFor({ encrypted: false }).envelope(packet(), GATEWAY));
    expect(envelope.packet?.channel).toBe(0);
    expect(envelope.packet?.payloadVariant.case).toBe("decoded");
    expect(envelope.packet?.payloadVariant.value).toMatchObject({ portnum: PortNum.TEXT_MESSAGE_APP, bitfield: 1 });
  });
});

describe("what the Meshtastic-format uplink publishes", () => {
  it("only packets whose sender allows MQTT, on the primary channel, not from MQTT, whose records redaction leaves whole", async () => {
    const broker = await relays.broker();
    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    const watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    const got: Array<{ topic: string; id: number | undefined }> = [];
    watcher.on("message", (topic, payload) => got.push({ topic, id: official(payload).packet?.id }));
    await watcher.subscribeAsync("msh/#", { qos: 0 });
    try {
      // Records the station read from each packet: 1 a supply request with no place, 2 an incident (free text dropped by the shipped rules).
      const water = presetRecord(0x1234, 1);
      const injured: FieldRecord = { id: { origin: 0x1234, seq: 2 }, receivedAt: 1, body: { kind: "incident", incident: "injury", severity: "moderate", casualties: 1 }, text: "INJURED 1" };
      const records = new Map<number, FieldRecord[]>([[1, [water]], [2, [injured]]]);
      const redact = redactor(parseRedaction({ kinds: { incident: { drop: ["triage", "text"], place: "landmark" }, supply_request: { place: "landmark" } } }, "redaction.yaml"));
      const uplink = uplinkFor({ client: publisher, recordsOf: (heard) => Promise.resolve(records.get(heard.id) ?? []), redact });
      await uplink.offer(packet({ id: 1 })); // published
      await uplink.offer(packet({ id: 2 })); // the incident's text would leave: home
      await uplink.offer(packet({ id: 3, bitfield: 0 })); // its owner did not allow MQTT
      await uplink.offer(packet({ id: 4, channel: 1 })); // a secondary channel
      await uplink.offer(packet({ id: 5, viaMqtt: true })); // it came from MQTT
      await uplink.offer(packet({ id: 6, from: GATEWAY, bitfield: 0 })); // this station's own radio: always
      await expect.poll(() => got.length, { timeout: 10_000 }).toBe(2);
      expect(got).toEqual([
        { topic: `msh/EU_868/2/e/LongFast/${gatewayId(GATEWAY)}`, id: 1 },
        { topic: `msh/EU_868/2/e/LongFast/${gatewayId(GATEWAY)}`, id: 6 },
      ]);
      expect(uplink.state()).toEqual({ published: 2, withheld: 4 });
    } finally {
      await publisher.endAsync();
      await watcher.endAsync();
    }
  });
});
