// The simulator's view of a mesh packet: a plain, always-decoded MeshPacket (the simulated air
// carries no ciphertext), with helpers for the firmware's sizes, priorities and routing replies.
import { PortNum } from "../radio/index.ts";

/** meshtastic.Data, as a plain object. */
export interface SimData {
  portnum: number;
  payload: Uint8Array;
  wantResponse?: boolean;
  dest?: number;
  source?: number;
  requestId?: number;
  replyId?: number;
  emoji?: number;
  /** bit0 ok_to_mqtt, bit1 want_response; every firmware >= 2.5 sets it on packets it originates. */
  bitfield?: number;
}

/**
 * A mesh packet on the simulated air. `channel` is the channel INDEX (the real air carries a
 * hash; every simulated node shares the default channel set). The rx fields are the receiver's.
 */
export interface SimPacket {
  from: number;
  to: number;
  id: number;
  decoded: SimData;
  channel?: number;
  hopLimit?: number;
  hopStart?: number;
  wantAck?: boolean;
  viaMqtt?: boolean;
  /** Last byte of the node that transmitted this copy (0 = unknown). */
  relayNode?: number;
  nextHop?: number;
  /** MeshPacket.Priority; not sent over the air (receivers see 0). */
  priority?: number;
  /** Receive time, seconds since the epoch. */
  rxTime?: number;
  rxSnr?: number;
  rxRssi?: number;
}

/** MeshPacket.Priority values the firmware assigns (MeshPacketQueue.cpp fixPriority). */
export const Priority = {
  BACKGROUND: 10,
  DEFAULT: 64,
  RELIABLE: 70,
  RESPONSE: 80,
  HIGH: 100,
  ACK: 120,
} as const;

/** Routing.Error values the simulator generates. */
export const RoutingError = {
  NONE: 0,
  MAX_RETRANSMIT: 5,
  TOO_LARGE: 7,
  RATE_LIMIT_EXCEEDED: 38,
} as const;

export function fixPriority(data: SimData, wantAck: boolean): number {
  if (data.portnum === PortNum.ROUTING_APP) return Priority.ACK;
  if (data.portnum === PortNum.TEXT_MESSAGE_APP || data.portnum === PortNum.ADMIN_APP) return Priority.HIGH;
  if ((data.requestId ?? 0) !== 0) return Priority.RESPONSE;
  if (wantAck || data.wantResponse === true) return Priority.RELIABLE;
  return Priority.DEFAULT;
}

function varintLength(value: number): number {
  let length = 1;
  for (let v = value >>> 0; v >= 0x80; v >>>= 7) length++;
  return length;
}

/** Bytes of the encoded `Data` protobuf (all its tags are one byte). */
export function dataEncodedSize(data: SimData): number {
  let size = 0;
  if (data.portnum !== 0) size += 1 + varintLength(data.portnum);
  if (data.payload.length > 0) size += 1 + varintLength(data.payload.length) + data.payload.length;
  if (data.wantResponse === true) size += 2;
  for (const fixed of [data.dest, data.source, data.requestId, data.replyId, data.emoji]) {
    if ((fixed ?? 0) !== 0) size += 5;
  }
  if (data.bitfield !== undefined) size += 1 + varintLength(data.bitfield);
  return size;
}

/** A Routing{error_reason} payload, as nanopb writes it (the oneof member even when 0: `18 00`). */
export function routingPayload(error: number): Uint8Array {
  const bytes = [0x18];
  let value = error >>> 0;
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  bytes.push(value);
  return Uint8Array.from(bytes);
}

/** Reads Routing.error_reason back from a ROUTING_APP payload (undefined for route requests/replies). */
export function routingErrorOf(payload: Uint8Array): number | undefined {
  if (payload[0] !== 0x18) return undefined;
  let value = 0;
  let shift = 0;
  for (let i = 1; i < payload.length && i < 6; i++) {
    const byte = payload[i] ?? 0;
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return value >>> 0;
    shift += 7;
  }
  return undefined;
}

/** The FromRadio.packet init for a packet delivered to the phone. */
export function phonePacketInit(packet: SimPacket): Record<string, unknown> {
  const { decoded } = packet;
  return {
    from: packet.from,
    to: packet.to,
    channel: packet.channel ?? 0,
    id: packet.id,
    rxTime: packet.rxTime ?? 0,
    rxSnr: packet.rxSnr ?? 0,
    hopLimit: packet.hopLimit ?? 0,
    wantAck: packet.wantAck ?? false,
    priority: packet.priority ?? 0,
    rxRssi: packet.rxRssi ?? 0,
    viaMqtt: packet.viaMqtt ?? false,
    hopStart: packet.hopStart ?? 0,
    nextHop: packet.nextHop ?? 0,
    relayNode: packet.relayNode ?? 0,
    payloadVariant: {
      case: "decoded",
      value: {
        portnum: decoded.portnum,
        payload: decoded.payload,
        wantResponse: decoded.wantResponse ?? false,
        dest: decoded.dest ?? 0,
        source: decoded.source ?? 0,
        requestId: decoded.requestId ?? 0,
        replyId: decoded.replyId ?? 0,
        emoji: decoded.emoji ?? 0,
        ...(decoded.bitfield !== undefined ? { bitfield: decoded.bitfield } : {}),
      },
    },
  };
}

/** A deep-enough copy so listeners cannot change the sender's packet. */
export function copyPacket(packet: SimPacket): SimPacket {
  return { ...packet, decoded: { ...packet.decoded, payload: packet.decoded.payload.slice() } };
}

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}
