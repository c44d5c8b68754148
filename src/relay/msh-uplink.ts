// Meshtastic's own MQTT format, optional (`meshaid start --relay ... --msh-uplink REGION`): what the
// radio hears, published as the firmware's MQTT module publishes it when a channel's uplink is on
// (MQTT::onSend in src/mqtt/MQTT.cpp), so Meshtastic maps and dashboards can read it:
//   topic   msh/<REGION>/2/e/<CHANNEL>/!<gateway>        (QoS 0, not retained)
//   payload ServiceEnvelope { packet, channel_id: the channel's name, gateway_id: "!%08x" }
// The packet goes encrypted, as it was on the air (the firmware's default, encryption_enabled):
// the radio's phone API gives it decrypted, so the Data is encoded again and encrypted with the
// channel key (AES-CTR, nonce from packet id and sender), which gives the on-air bytes back; with
// `encrypted: false`, decoded with `channel` the channel index, as the firmware does then.
//
// OFF by default: the coalition's traffic on a map is exactly what it must not be (public brokers
// and maps keep what they get). When on, only what this station would upload anyway goes:
// - only the primary channel (the one whose key and name the station has);
// - never a packet the radio got from MQTT (via_mqtt), as the firmware;
// - a handheld's packet only if its owner allows MQTT (bitfield OK_TO_MQTT, the firmware's
//   "DontMqttMeBro" rule for public servers, kept for every broker here);
// - redaction: a raw packet cannot be coarsened (its bytes are encrypted and signed by nothing;
//   changing one changes its meaning), so a packet goes only when every record the station read
//   from it would leave the station unchanged by the redaction rules; a packet with a record that
//   the rules coarsen (a place), trim (incident text, triage) or keep home stays home whole.
// The JSON variant (msh/<REGION>/2/json/...) is not published.
import { isDeepStrictEqual } from "node:util";
import type { MqttClient } from "mqtt";
import type { Logger } from "pino";
import { channelHash, cryptAirPayload, encodeData, encodeServiceEnvelope, type ReceivedPacket } from "../radio/index.ts";
import type { FieldRecord } from "../wire/index.ts";

/** Data.bitfield bit 0: the sender's owner allows its packets on MQTT. */
const OK_TO_MQTT = 1;

export interface MshUplinkOptions {
  client: Pick<MqttClient, "publish">;
  /** The LoRa region as Meshtastic names it in topics (EU_868, US, ...). */
  region: string;
  /** The primary channel: its name (the topic level and channel_id) and expanded key (undefined: no encryption). */
  channel: { name: string; key: Uint8Array | undefined };
  /** Publish the packet encrypted, as on the air (default), or decoded. */
  encrypted?: boolean;
  /** This station's node number (the gateway), once the radio said it. */
  gateway: () => number | undefined;
  /** The records the station read from this packet, once stored (none for a packet that is no record). */
  recordsOf: (packet: ReceivedPacket) => Promise<readonly FieldRecord[]>;
  /** What leaves the station of a record (the relay's redaction); undefined keeps it home. */
  redact: (record: FieldRecord) => FieldRecord | undefined;
  logger: Logger;
}

export interface MshUplinkState {
  published: number;
  /** Kept home: not OK_TO_MQTT, changed by redaction, another channel, or from MQTT. */
  withheld: number;
}

/** The firmware's gateway id: "!" and the node number in 8 hex digits. */
export function gatewayId(num: number): string {
  return `!${(num >>> 0).toString(16).padStart(8, "0")}`;
}

export class MshUplink {
  private readonly options: MshUplinkOptions;
  private readonly log: Logger;
  private published = 0;
  private withheld = 0;

  constructor(options: MshUplinkOptions) {
    this.options = options;
    this.log = options.logger.child({ module: "msh-uplink", region: options.region, channel: options.channel.name });
  }

  state(): MshUplinkState {
    return { published: this.published, withheld: this.withheld };
  }

  /** The topic a gateway publishes encrypted packets on. */
  topic(gateway: number): string {
    return `msh/${this.options.region}/2/e/${this.options.channel.name}/${gatewayId(gateway)}`;
  }

  /** A packet the radio heard: published if it may leave (see the top of this file). */
  async offer(packet: ReceivedPacket): Promise<void> {
    const gateway = this.options.gateway();
    const reason = await this.withheldBecause(packet, gateway);
    if (reason !== undefined || gateway === undefined) {
      this.withheld += 1;
      this.log.debug({ from: packet.from, id: packet.id, reason: reason ?? "node number not known yet" }, "heard packet not published in Meshtastic's format");
      return;
    }
    const bytes = this.envelope(packet, gateway);
    this.options.client.publish(this.topic(gateway), Buffer.from(bytes), { qos: 0 }, (error) => {
      if (error) this.log.warn({ err: error, from: packet.from, id: packet.id }, "Meshtastic-format publish failed (not retried: the firmware does not either)");
    });
    this.published += 1;
  }

  /** The ServiceEnvelope bytes for a packet heard by `gateway`. */
  envelope(packet: ReceivedPacket, gateway: number): Uint8Array {
    const { channel } = this.options;
    const fields = decodedFields(packet);
    const data = encodeData(fields);
    const encrypted = (this.options.encrypted ?? true) && channel.key !== undefined;
    const packetFields = {
      from: packet.from,
      to: packet.to,
      id: packet.id,
      channel: encrypted ? channelHash(channel.name, channel.key) : packet.channel,
      payloadVariant: encrypted ? { case: "encrypted", value: cryptAirPayload(channel.key as Uint8Array, packet.id, packet.from, data) } : { case: "decoded", value: fields },
      hopLimit: packet.hopLimit,
      hopStart: packet.hopStart,
      rxSnr: packet.rxSnr,
      rxRssi: packet.rxRssi,
      ...(packet.rxTimeMs !== undefined ? { rxTime: Math.floor(packet.rxTimeMs / 1000) } : {}),
    };
    return encodeServiceEnvelope({ packet: packetFields, channelId: channel.name, gatewayId: gatewayId(gateway) });
  }

  private async withheldBecause(packet: ReceivedPacket, gateway: number | undefined): Promise<string | undefined> {
    if (packet.channel !== 0) return "not the primary channel";
    if (packet.viaMqtt) return "came from MQTT";
    if (packet.from !== gateway && ((packet.bitfield ?? 0) & OK_TO_MQTT) === 0) return "its sender does not allow MQTT (OK_TO_MQTT)";
    const records = await this.options.recordsOf(packet);
    for (const record of records) {
      const leaving = this.options.redact(record);
      if (leaving === undefined || !isDeepStrictEqual(leaving, record)) return `redaction changes record ${record.id.origin}!${record.id.seq}`;
    }
    return undefined;
  }
}

/** Data as the sender wrote it, as far as the phone API tells (the fields the firmware sets on a text, record or routing packet). */
function decodedFields(packet: ReceivedPacket): Record<string, unknown> {
  return {
    portnum: packet.portnum,
    payload: packet.payload,
    ...(packet.wantResponse ? { wantResponse: true } : {}),
    ...(packet.requestId ? { requestId: packet.requestId } : {}),
    ...(packet.replyId ? { replyId: packet.replyId } : {}),
    ...(packet.bitfield !== undefined ? { bitfield: packet.bitfield } : {}),
  };
}
