// A simulated node's identity, and the identity-derived values real firmware reports.
import { createPrivateKey, createPublicKey } from "node:crypto";
import type { User } from "../radio/index.ts";
import { mulberry32 } from "./random.ts";

/** A simulated Meshtastic node. */
export interface SimNode {
  /** Node number (real ones are the last 4 bytes of the MAC; 0..3 are reserved). */
  num: number;
  /** User.long_name (at most 39 characters on the firmware). */
  longName: string;
  /** User.short_name: up to 4 characters, the callsign on screens. */
  shortName: string;
  /** Config.DeviceConfig.Role number (DeviceRole). */
  role: number;
  /** HardwareModel number (e.g. 7 T_ECHO, 9 RAK4631, 43 HELTEC_V3, 50 T_DECK). */
  hwModel: number;
}

/** The Meshtastic user id of a node: "!%08x". */
export function userId(num: number): string {
  return `!${(num >>> 0).toString(16).padStart(8, "0")}`;
}

/** The node's byte in relay_node / next_hop: its last byte, with 0x00 mapped to 0xFF (NodeDB.h). */
export function lastByte(num: number): number {
  const byte = num & 0xff;
  return byte === 0 ? 0xff : byte;
}

export interface NodeKeys {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const keyCache = new Map<number, NodeKeys>();

/** A real X25519 key pair derived deterministically from the node number (the firmware's PKC keys). */
export function nodeKeys(num: number): NodeKeys {
  const cached = keyCache.get(num);
  if (cached) return cached;
  const random = mulberry32(num ^ 0x5eed_c0de);
  const seed = Buffer.alloc(32);
  for (let i = 0; i < seed.length; i++) seed[i] = Math.floor(random() * 256);
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const keys = { publicKey: new Uint8Array(spki.subarray(spki.length - 32)), privateKey: new Uint8Array(seed) };
  keyCache.set(num, keys);
  return keys;
}

/** The User message (NODEINFO_APP payload and NodeInfo.user) a node announces. */
export function userOf(node: SimNode): User {
  return {
    id: userId(node.num),
    longName: node.longName,
    shortName: node.shortName,
    hwModel: node.hwModel,
    role: node.role,
    publicKey: nodeKeys(node.num).publicKey,
  };
}
