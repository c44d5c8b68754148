// The on-air format of a Meshtastic LoRa frame (reference meshtastic-protocol.md 4.1, 4.3, 9):
// a 16-byte little-endian PacketHeader, then the `Data` protobuf encrypted with AES-CTR under
// the channel key (nonce = packet id as u64 LE, from as u32 LE, 4 zero bytes). Channel packets
// only: the simulator does not model PKI DMs (AES-CCM, +12 bytes).
//
// (The radio folder is growing its own codec for `meshaid decode`, issue 4; the lead merges them.)
import { createCipheriv } from "node:crypto";
import type { SimData } from "./packet.ts";

export const HEADER_BYTES = 16;
export const MAX_LORA_PAYLOAD = 255;
/** The firmware's default channel key (Channels.h defaultpsk), what PSK `AQ==` expands to. */
export const DEFAULT_KEY = Uint8Array.from([0xd4, 0xf1, 0xbb, 0x3a, 0x20, 0x29, 0x07, 0x59, 0xf0, 0xbc, 0xff, 0xab, 0xcf, 0x4e, 0x69, 0x01]);

const FLAG_HOP_LIMIT = 0x07;
const FLAG_WANT_ACK = 0x08;
const FLAG_VIA_MQTT = 0x10;
const FLAG_HOP_START = 0xe0;

/** The PacketHeader fields. */
export interface AirHeader {
  to: number;
  from: number;
  id: number;
  hopLimit: number;
  wantAck: boolean;
  viaMqtt: boolean;
  hopStart: number;
  /** Channel hash (0 for PKI). */
  channel: number;
  nextHop: number;
  relayNode: number;
}

export function encodeHeader(header: AirHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, header.to >>> 0, true);
  view.setUint32(4, header.from >>> 0, true);
  view.setUint32(8, header.id >>> 0, true);
  bytes[12] =
    (header.hopLimit & FLAG_HOP_LIMIT) |
    (header.wantAck ? FLAG_WANT_ACK : 0) |
    (header.viaMqtt ? FLAG_VIA_MQTT : 0) |
    ((header.hopStart << 5) & FLAG_HOP_START);
  bytes[13] = header.channel & 0xff;
  bytes[14] = header.nextHop & 0xff;
  bytes[15] = header.relayNode & 0xff;
  return bytes;
}

export function decodeHeader(frame: Uint8Array): AirHeader {
  if (frame.length < HEADER_BYTES) throw new RangeError(`a LoRa frame is at least ${HEADER_BYTES} bytes, got ${frame.length}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const flags = frame[12] ?? 0;
  return {
    to: view.getUint32(0, true),
    from: view.getUint32(4, true),
    id: view.getUint32(8, true),
    hopLimit: flags & FLAG_HOP_LIMIT,
    wantAck: (flags & FLAG_WANT_ACK) !== 0,
    viaMqtt: (flags & FLAG_VIA_MQTT) !== 0,
    hopStart: (flags & FLAG_HOP_START) >> 5,
    channel: frame[13] ?? 0,
    nextHop: frame[14] ?? 0,
    relayNode: frame[15] ?? 0,
  };
}

/** Rewrites hop_limit and relay_node in place, as a relay does (it never re-encrypts). */
export function setRelayFields(frame: Uint8Array, hopLimit: number, relayNode: number): void {
  frame[12] = ((frame[12] ?? 0) & ~FLAG_HOP_LIMIT) | (hopLimit & FLAG_HOP_LIMIT);
  frame[15] = relayNode & 0xff;
}

/** Channels::getKey: a 1-byte PSK n>0 is the default key with its last byte + (n-1); short keys are zero-padded. */
export function expandPsk(psk: Uint8Array): Uint8Array {
  if (psk.length === 0) return new Uint8Array();
  if (psk.length === 1) {
    const index = psk[0] ?? 0;
    if (index === 0) return new Uint8Array();
    const key = DEFAULT_KEY.slice();
    key[15] = ((key[15] ?? 0) + index - 1) & 0xff;
    return key;
  }
  if (psk.length === 16 || psk.length === 32) return psk.slice();
  const padded = new Uint8Array(psk.length < 16 ? 16 : 32);
  padded.set(psk.subarray(0, padded.length));
  return padded;
}

/** Channels::generateHash: XOR of the name's bytes and the expanded key's bytes. */
export function channelHash(name: string, key: Uint8Array): number {
  let hash = 0;
  for (const byte of new TextEncoder().encode(name)) hash ^= byte;
  for (const byte of key) hash ^= byte;
  return hash & 0xff;
}

/** AES-CTR with the firmware's nonce; encryption and decryption are the same. An empty key is no encryption. */
export function aesCtr(key: Uint8Array, id: number, from: number, bytes: Uint8Array): Uint8Array {
  if (key.length === 0) return bytes.slice();
  const nonce = Buffer.alloc(16);
  nonce.writeUInt32LE(id >>> 0, 0);
  nonce.writeUInt32LE(from >>> 0, 8);
  const cipher = createCipheriv(key.length === 32 ? "aes-256-ctr" : "aes-128-ctr", key, nonce);
  return new Uint8Array(Buffer.concat([cipher.update(bytes), cipher.final()]));
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
    if (channel.hash !== header.channel) continue;
    try {
      const data = decodeData(aesCtr(channel.key, header.id, header.from, frame.subarray(HEADER_BYTES)));
      if (data.portnum !== 0) return data;
    } catch {
      // not this channel: try the next with the same hash
    }
  }
  return undefined;
}
