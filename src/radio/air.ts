// The on-air LoRa frame: the 16-byte little-endian PacketHeader, then the Data protobuf
// encrypted with the channel key (AES-CTR). Used by `meshaid decode` for SDR captures and by the
// simulator for real on-air bytes.
// Reference: ../shared/reference/meshtastic-protocol.md sections 4.1 (header), 4.3 (channel
// hash) and 9 (key expansion, AES-CTR nonce).
import { createCipheriv } from "node:crypto";

export const AIR_HEADER_BYTES = 16;
/** MAX_LORA_PAYLOAD_LEN: a LoRa frame carries at most 255 bytes. */
export const MAX_AIR_FRAME = 255;

/** The firmware's default channel key (`defaultpsk`), which the one-byte PSK `AQ==` expands to. */
export const DEFAULT_CHANNEL_KEY: Uint8Array = Uint8Array.from([
  0xd4, 0xf1, 0xbb, 0x3a, 0x20, 0x29, 0x07, 0x59, 0xf0, 0xbc, 0xff, 0xab, 0xcf, 0x4e, 0x69, 0x01,
]);

export interface AirHeader {
  to: number;
  from: number;
  id: number;
  hopLimit: number;
  wantAck: boolean;
  viaMqtt: boolean;
  hopStart: number;
  /** The channel hash (0 for a PKI direct message). */
  channelHash: number;
  nextHop: number;
  relayNode: number;
}

/** Reads the 16-byte header; throws a RangeError for a frame shorter than that. */
export function parseAirHeader(frame: Uint8Array): AirHeader {
  if (frame.length < AIR_HEADER_BYTES) {
    throw new RangeError(`an on-air frame has a ${AIR_HEADER_BYTES}-byte header; got ${frame.length} bytes`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const flags = frame[12] ?? 0;
  return {
    to: view.getUint32(0, true),
    from: view.getUint32(4, true),
    id: view.getUint32(8, true),
    hopLimit: flags & 0x07,
    wantAck: (flags & 0x08) !== 0,
    viaMqtt: (flags & 0x10) !== 0,
    hopStart: (flags >> 5) & 0x07,
    channelHash: frame[13] ?? 0,
    nextHop: frame[14] ?? 0,
    relayNode: frame[15] ?? 0,
  };
}

export function airFlags(header: Pick<AirHeader, "hopLimit" | "wantAck" | "viaMqtt" | "hopStart">): number {
  return (header.hopLimit & 0x07) | (header.wantAck ? 0x08 : 0) | (header.viaMqtt ? 0x10 : 0) | ((header.hopStart & 0x07) << 5);
}

export function encodeAirHeader(header: AirHeader): Uint8Array {
  const bytes = new Uint8Array(AIR_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, header.to >>> 0, true);
  view.setUint32(4, header.from >>> 0, true);
  view.setUint32(8, header.id >>> 0, true);
  bytes[12] = airFlags(header);
  bytes[13] = header.channelHash & 0xff;
  bytes[14] = header.nextHop & 0xff;
  bytes[15] = header.relayNode & 0xff;
  return bytes;
}

/**
 * A channel PSK as the firmware expands it (Channels::getKey): empty or `00` means no
 * encryption (undefined); one byte N selects the default key with its last byte raised by N-1;
 * 2..15 bytes are zero-padded to AES-128, 17..31 to AES-256; 16 and 32 bytes are used as-is.
 */
export function expandChannelKey(psk: Uint8Array): Uint8Array | undefined {
  if (psk.length === 0) return undefined;
  if (psk.length === 1) {
    const index = psk[0] ?? 0;
    if (index === 0) return undefined;
    const key = DEFAULT_CHANNEL_KEY.slice();
    key[15] = ((key[15] ?? 0) + index - 1) & 0xff;
    return key;
  }
  if (psk.length === 16 || psk.length === 32) return psk.slice();
  if (psk.length > 32) throw new RangeError(`a channel key has at most 32 bytes; got ${psk.length}`);
  const key = new Uint8Array(psk.length < 16 ? 16 : 32);
  key.set(psk);
  return key;
}

/** The AES-CTR nonce: packet id as u64 LE, sender as u32 LE, then four zero bytes (the counter). */
export function airNonce(id: number, from: number): Uint8Array {
  const nonce = new Uint8Array(16);
  const view = new DataView(nonce.buffer);
  view.setUint32(0, id >>> 0, true);
  view.setUint32(8, from >>> 0, true);
  return nonce;
}

/** Encrypts or decrypts (the same operation) a payload with an expanded channel key. */
export function cryptAirPayload(key: Uint8Array, id: number, from: number, bytes: Uint8Array): Uint8Array {
  const algorithm = key.length === 32 ? "aes-256-ctr" : key.length === 16 ? "aes-128-ctr" : undefined;
  if (!algorithm) throw new RangeError(`an expanded channel key has 16 or 32 bytes; got ${key.length}`);
  const cipher = createCipheriv(algorithm, key, airNonce(id, from));
  const out = Buffer.concat([cipher.update(bytes), cipher.final()]);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The channel hash on air: XOR of the channel name's bytes and of the expanded key's bytes. */
export function channelHash(name: string, key: Uint8Array | undefined): number {
  let hash = 0;
  for (const byte of new TextEncoder().encode(name)) hash ^= byte;
  for (const byte of key ?? []) hash ^= byte;
  return hash;
}

/** The last byte of a node number as next_hop/relay_node carry it (0 maps to 0xFF). */
export function lastByteOf(num: number): number {
  const byte = num & 0xff;
  return byte === 0 ? 0xff : byte;
}

export interface AirFrame {
  header: AirHeader;
  /** The bytes after the header, as on air (encrypted unless the channel has no key). */
  payload: Uint8Array;
}

export function splitAirFrame(frame: Uint8Array): AirFrame {
  return { header: parseAirHeader(frame), payload: frame.subarray(AIR_HEADER_BYTES) };
}

/** Builds an on-air frame from a header and the encoded Data (encrypted with `key` unless undefined). */
export function encodeAirFrame(header: AirHeader, data: Uint8Array, key: Uint8Array | undefined): Uint8Array {
  const body = key ? cryptAirPayload(key, header.id, header.from, data) : data;
  if (AIR_HEADER_BYTES + body.length > MAX_AIR_FRAME) {
    throw new RangeError(`an on-air frame has at most ${MAX_AIR_FRAME} bytes; this one would have ${AIR_HEADER_BYTES + body.length}`);
  }
  const frame = new Uint8Array(AIR_HEADER_BYTES + body.length);
  frame.set(encodeAirHeader(header));
  frame.set(body, AIR_HEADER_BYTES);
  return frame;
}
