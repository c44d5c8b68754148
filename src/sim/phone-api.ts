// The firmware's phone-API limits and a few pure helpers the simulated radio uses (reference
// meshtastic-protocol.md 1-3; fw27 PhoneAPI, MeshService, Router).
import { PortNum, type ToRadio } from "../radio/index.ts";

/** want_config_id values with a special meaning (fw27 PhoneAPI.h, since 2.6.8). */
export const SPECIAL_NONCE_ONLY_CONFIG = 69420;
export const SPECIAL_NONCE_ONLY_NODES = 69421;

/** MAX_TX_QUEUE: the radio's transmit queue. */
export const MAX_TX_QUEUE = 16;
/** MAX_RX_TOPHONE on every board but classic ESP32. */
export const TO_PHONE_QUEUE_SIZE = 32;
/** PhoneAPI remembers this many ToRadio packet ids (wasSeenRecently). */
export const RECENT_TO_RADIO_IDS = 20;
/** The QueueStatus queue towards the phone. */
export const QUEUE_STATUS_QUEUE_SIZE = 2;
/** SERIAL_CONNECTION_TIMEOUT and TCP_IDLE_TIMEOUT_MS. */
export const IDLE_TIMEOUT_MS = 15 * 60 * 1000;
/** Constants.DATA_PAYLOAD_LEN, the nanopb bound on Data.payload. */
export const DATA_PAYLOAD_LEN = 233;
/** nanopb bound on MeshPacket.encrypted. */
export const ENCRYPTED_MAX = 256;
export const MAX_LORA_PAYLOAD_LEN = 255;
/** The originator transmits a want_ack packet this many times in all (NUM_RELIABLE_RETX). */
export const NUM_RELIABLE_RETX = 3;
export const NODENUM_BROADCAST_NO_LORA = 1;
export const HOP_MAX = 7;

/** Results in QueueStatus.res (fw27 MeshTypes.h). */
export const Errno = { OK: 0, UNKNOWN: 32, SHOULD_RELEASE: 35 } as const;

/** Per-portnum limits on packets from the phone, from the last accepted one (PhoneAPI, 2.7.0+). */
export const RATE_LIMIT_MS: Readonly<Record<number, number>> = {
  [PortNum.TEXT_MESSAGE_APP]: 2_000,
  [PortNum.POSITION_APP]: 10_000,
  8: 10_000, // WAYPOINT_APP
  11: 10_000, // ALERT_APP
  [PortNum.TELEMETRY_APP]: 10_000,
  70: 30_000, // TRACEROUTE_APP
};

/** TEXT_MESSAGE_APP and RANGE_TEST_APP evict the oldest entry of a full to-phone queue. */
export const EVICTING_PORTS = new Set<number>([PortNum.TEXT_MESSAGE_APP, 66]);

/**
 * Heartbeat.nonce (field 1, firmware 2.7.23+). The schema bundled with @meshtastic/core predates
 * it, so it arrives as an unknown field; read it from there when the typed field is absent.
 */
export function heartbeatNonce(heartbeat: unknown): number {
  const value = heartbeat as { nonce?: unknown; $unknown?: Array<{ no: number; wireType: number; data: Uint8Array }> };
  if (typeof value.nonce === "number") return value.nonce;
  const field = value.$unknown?.find((f) => f.no === 1 && f.wireType === 0);
  if (!field) return 0;
  let nonce = 0;
  let shift = 0;
  for (const byte of field.data) {
    nonce += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return nonce;
}

export function channelLabel(index: number): string {
  return index === 0 ? "0x8" : String(index); // channel 0 is LongFast with the default key: hash 0x08
}

/** nanopb rejects a whole ToRadio whose bytes fields exceed their max_size (mesh.options). */
export function checkNanopbLimits(message: ToRadio): void {
  const variant = message.payloadVariant;
  if (variant.case !== "packet") return;
  const inner = variant.value.payloadVariant;
  if (inner.case === "decoded" && inner.value.payload.length > DATA_PAYLOAD_LEN) {
    throw new RangeError(`Data.payload is ${inner.value.payload.length} bytes (max ${DATA_PAYLOAD_LEN})`);
  }
  if (inner.case === "encrypted" && inner.value.length > ENCRYPTED_MAX) {
    throw new RangeError(`MeshPacket.encrypted is ${inner.value.length} bytes (max ${ENCRYPTED_MAX})`);
  }
}
