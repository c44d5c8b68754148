// The on-air format of a Meshtastic LoRa frame as the simulator uses it (reference
// meshtastic-protocol.md 4.1, 4.3, 9): the 16-byte little-endian PacketHeader, then the `Data`
// protobuf encrypted with AES-CTR under the channel key (nonce = packet id as u64 LE, from as u32
// LE, 4 zero bytes). Header, key expansion, hash and cipher are the radio folder's codec (the one
// `meshaid decode` uses); the Data codec here is a small nanopb-order encoder for the hot path.
// Channel packets only: the simulator does not model PKI DMs (AES-CCM, +12 bytes).
import {
  AIR_HEADER_BYTES,
  DEFAULT_CHANNEL_KEY,
  MAX_AIR_FRAME,
  channelHash as radioChannelHash,
  cryptAirPayload,
  encodeAirHeader,
  expandChannelKey,
  parseAirHeader,
  type AirHeader,
} from "../radio/index.ts";
import type { SimData } from "./packet.ts";

export type { AirHeader };
export const HEADER_BYTES = AIR_HEADER_BYTES;
export const MAX_LORA_PAYLOAD = MAX_AIR_FRAME;
/** The firmware's default channel key (Channels.h defaultpsk), what PSK `AQ==` expands to. */
export const DEFAULT_KEY = DEFAULT_CHANNEL_KEY;

export const encodeHeader = encodeAirHeader;
export const decodeHeader = parseAirHeader;

/** Rewrites hop_limit and relay_node in place, as a relay does (it never re-encrypts). */
export function setRelayFields(frame: Uint8Array, hopLimit: number, relayNode: number): void {
  frame[12] = ((frame[12] ?? 0) & ~0x07) | (hopLimit & 0x07);
  frame[15] = relayNode & 0xff;
}

/** Channels::getKey; an empty result means no encryption. */
export function expandPsk(psk: Uint8Array): Uint8Array {
  return expandChannelKey(psk) ?? new Uint8Array();
}

/** Channels::generateHash: XOR of the name's bytes and the expanded key's bytes. */
export function channelHash(name: string, key: Uint8Array): number {
  return radioChannelHash(name, key.length > 0 ? key : undefined) & 0xff;
}

/** AES-CTR with the firmware's nonce; encryption and decryption are the same. An empty key is no encryption. */
export function aesCtr(key: Uint8Array, id: number, from: number, bytes: Uint8Array): Uint8Array {
  return key.length === 0 ? bytes.slice() : cryptAirPayload(key, id, from, bytes);
}

// ---------------------------------------------------------------- Data protobuf (nanopb field order)

function pushVarint(out: number[], value: number): void {
  let v = value >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function pushFixed32(out: number[], tag: number, value: number | undefined): void {
  if ((value ?? 0) === 0) return;
  const v = (value ?? 0) >>> 0;
  out.push(tag, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/** meshtastic.Data as nanopb writes it (proto3 defaults omitted; `bitfield` is optional and written when set). */
export function encodeData(data: SimData): Uint8Array {
  const out: number[] = [];
  if (data.portnum !== 0) {
    out.push(0x08);
    pushVarint(out, data.portnum);
  }
  if (data.payload.length > 0) {
    out.push(0x12);
    pushVarint(out, data.payload.length);
    for (const byte of data.payload) out.push(byte);
  }
  if (data.wantResponse === true) out.push(0x18, 0x01);
  pushFixed32(out, 0x25, data.dest);
  pushFixed32(out, 0x2d, data.source);
  pushFixed32(out, 0x35, data.requestId);
  pushFixed32(out, 0x3d, data.replyId);
  pushFixed32(out, 0x45, data.emoji);
  if (data.bitfield !== undefined) {
    out.push(0x48);
    pushVarint(out, data.bitfield);
  }
  return Uint8Array.from(out);
}

/** Reads meshtastic.Data; throws a RangeError on bytes that are not one (as a wrong key produces). */
export function decodeData(bytes: Uint8Array): SimData {
  const data: SimData = { portnum: 0, payload: new Uint8Array() };
  let i = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (i >= bytes.length || shift > 28) throw new RangeError("truncated varint");
      const byte = bytes[i++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  };
  const fixed32 = (): number => {
    if (i + 4 > bytes.length) throw new RangeError("truncated fixed32");
    const v = ((bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24)) >>> 0;
    i += 4;
    return v;
  };
  while (i < bytes.length) {
    const key = varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      const value = varint();
      if (field === 1) data.portnum = value;
      else if (field === 3) data.wantResponse = value !== 0;
      else if (field === 9) data.bitfield = value;
    } else if (wire === 2) {
      const length = varint();
      if (i + length > bytes.length) throw new RangeError("truncated bytes field");
      if (field === 2) data.payload = bytes.slice(i, i + length);
      i += length;
    } else if (wire === 5) {
      const value = fixed32();
      if (field === 4) data.dest = value;
      else if (field === 5) data.source = value;
      else if (field === 6) data.requestId = value;
      else if (field === 7) data.replyId = value;
      else if (field === 8) data.emoji = value;
    } else if (wire === 1) {
      i += 8;
    } else {
      throw new RangeError(`unexpected wire type ${wire}`);
    }
  }
  if (i !== bytes.length) throw new RangeError("truncated field");
  return data;
}

// ---------------------------------------------------------------- whole frames

/** A channel as the air knows it: the hash in the header and the key. */
export interface AirChannel {
  hash: number;
  key: Uint8Array;
}

/** The primary channel every node ships with: "LongFast" (the preset's name), PSK AQ== (hash 0x08). */
export function defaultChannel(name = "LongFast"): AirChannel {
  return { hash: channelHash(name, DEFAULT_KEY), key: DEFAULT_KEY };
}

/** Header + AES-CTR(Data): the bytes a radio puts on the air. */
export function encodeAirFrame(header: AirHeader, data: SimData, key: Uint8Array): Uint8Array {
  const plain = encodeData(data);
  const cipher = aesCtr(key, header.id, header.from, plain);
  const frame = new Uint8Array(HEADER_BYTES + cipher.length);
  frame.set(encodeHeader(header), 0);
  frame.set(cipher, HEADER_BYTES);
  return frame;
}

/** Decrypts a frame's payload with the channel whose hash matches; undefined if none does or it does not decode (portnum 0). */
export function decodeAirPayload(frame: Uint8Array, header: AirHeader, channels: readonly AirChannel[]): SimData | undefined {
  for (const channel of channels) {
    if (channel.hash !== header.channelHash) continue;
    try {
      const data = decodeData(aesCtr(channel.key, header.id, header.from, frame.subarray(HEADER_BYTES)));
      if (data.portnum !== 0) return data;
    } catch {
      // not this channel: try the next with the same hash
    }
  }
  return undefined;
}
