// Authentication of base-station records on the air. Channel messages are encrypted with the
// channel key but not authenticated: anyone holding the key can claim any node number. A base
// station therefore ends each meshaid payload with a short tag: a truncated HMAC-SHA256, keyed by
// the coalition key, over the sender's node number and every payload byte before the tag. It
// travels as field 40 (`auth`) of the payload's last record, so a decoder that does not check it
// simply skips it, and the protocol version stays 1. Stock handhelds cannot add one.
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { FieldRecord, RecordBody } from "./types.ts";

/** Bytes of the truncated HMAC: 64 bits, forging one takes ~2^63 tries over a slow radio. */
export const AUTH_TAG_BYTES = 8;
/** Field 40, wire type 2 (length-delimited) as a varint key, then the length byte. */
const AUTH_PREFIX = [0xc2, 0x02, AUTH_TAG_BYTES] as const;
/** What the tag adds to a payload: key, length, tag. */
export const AUTH_TRAILER_BYTES = AUTH_PREFIX.length + AUTH_TAG_BYTES;

/** The key that authenticates records between base stations (derive it with `coalitionAuthKey`). */
export interface AuthKey {
  readonly key: Uint8Array;
  /** 8 hex digits that identify the key without revealing it (for logs and `meshaid status`). */
  readonly fingerprint: string;
}

const SALT = Buffer.from("meshaid coalition", "utf8");
const INFO = Buffer.from("meshaid field auth v1", "utf8");

/**
 * The authentication key, derived by HKDF-SHA256 from a coalition secret (a separate coalition
 * key, or the channel key when the coalition has only that). Its own key: a tag never reveals
 * the secret, and the secret's other uses never weaken the tag.
 */
export function coalitionAuthKey(secret: Uint8Array): AuthKey {
  if (secret.length < 16) throw new RangeError(`a coalition secret needs at least 16 bytes, not ${secret.length}`);
  const key = new Uint8Array(hkdfSync("sha256", secret, SALT, INFO, 32));
  const fingerprint = createHmac("sha256", key).update("fingerprint").digest("hex").slice(0, 8);
  return { key, fingerprint };
}

/** The tag over origin (4 bytes, big-endian) and the payload bytes before the trailer. */
export function authTag(auth: AuthKey, origin: number, signed: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(origin >>> 0);
  return new Uint8Array(createHmac("sha256", auth.key).update(head).update(signed).digest().subarray(0, AUTH_TAG_BYTES));
}

/** The trailer's key and length bytes, with a zeroed tag after them. */
export function authTrailerPlaceholder(): number[] {
  return [...AUTH_PREFIX, ...new Array<number>(AUTH_TAG_BYTES).fill(0)];
}

/** Whether a payload ends with a trailer's key and length (the decoder confirms it by protobuf). */
export function endsWithAuthTrailer(bytes: Uint8Array): boolean {
  const at = bytes.length - AUTH_TRAILER_BYTES;
  return at >= 0 && AUTH_PREFIX.every((byte, i) => bytes[at + i] === byte);
}

/** Whether the payload's trailer holds the right tag for this origin. Constant time. */
export function verifyAuthTrailer(auth: AuthKey, origin: number, bytes: Uint8Array): boolean {
  if (!endsWithAuthTrailer(bytes)) return false;
  const expected = authTag(auth, origin, bytes.subarray(0, bytes.length - AUTH_TRAILER_BYTES));
  return timingSafeEqual(expected, bytes.subarray(bytes.length - AUTH_TAG_BYTES));
}

/** Kinds that change shared state (a request's status, who is on shift, an incident closed or acknowledged). */
const STATE_CHANGING_KINDS = new Set<RecordBody["kind"]>(["supply_status", "shift", "ack"]);

export function changesSharedState(body: RecordBody): boolean {
  return STATE_CHANGING_KINDS.has(body.kind);
}

/**
 * Whether a record moves the boards: everything does, except a state change in a meshaid payload
 * whose coalition tag was missing or wrong (anyone with the channel key could have sent it under
 * a base station's number). It stays in the log and on the feed, marked.
 */
export function appliesToBoards(record: Pick<FieldRecord, "auth" | "body">): boolean {
  return !(record.auth === "none" && changesSharedState(record.body));
}
