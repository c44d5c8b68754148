// The relay's envelope: what one MQTT message carries, signed by the station that wrote it.
//
//   offset  size  field
//   0       4     magic "MAR1" (meshaid relay, version 1)
//   4       1     kind: 1 log batch, 2 version vector, 3 fill request
//   5       1     n = length of the coalition name (1..255), then n bytes of UTF-8
//   .       1     m = length of the signing station's name (1..255), then m bytes of UTF-8
//   .       4     b = length of the body (big-endian), then b bytes: JSON (see the body types)
//   .       64    Ed25519 signature, by the station named above, of "meshaid-relay-v1" followed
//                 by the SHA-512 digest of every byte before the signature
//
// A message is exactly that long: a byte more or less, or any byte changed, and it is refused.
// Record bodies travel as JSON with the codebook's names, not codes, so stations whose codebooks
// differ in version still read each other (a code unknown here stays "#57", as on the air).
// The digest is Node's (native) SHA-512: a batch is ~160 KB, and hashing it in JavaScript inside
// the signature cost more than storing its records. Keys are made with @noble/curves; a catch-up
// signs and checks a hundred signatures a second, so they are signed and verified by Node's native
// Ed25519 (OpenSSL, the same deterministic RFC 8032 signature and check), with noble's as the
// fallback where a key cannot be imported.
import { isUtf8 } from "node:buffer";
import { createHash, createPrivateKey, createPublicKey, sign as nativeSign, verify as nativeVerify, type KeyObject } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import type { FieldRecord } from "../wire/index.ts";

const MAGIC = [0x4d, 0x41, 0x52, 0x31]; // "MAR1"
const SIGNATURE_BYTES = 64;
/** The largest body accepted (a batch is cut well below it). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export const ENVELOPE_KINDS = { batch: 1, vector: 2, want: 3 } as const;
export type EnvelopeKind = keyof typeof ENVELOPE_KINDS;

/**
 * A run of the signer's own log: sequences `first`, `first + 1`, ... one per entry; null for a
 * record that redaction keeps home (its place in the sequence travels, nothing else).
 */
export interface BatchBody {
  /** Which log: a random id the station drew when its log began (a wiped station starts a new one). */
  log: string;
  first: number;
  records: Array<FieldRecord | null>;
}

/** How far the signer holds each station's log (`held`), and the head of its own (`head`). */
export interface VectorBody {
  /** The signer's log id (see BatchBody.log). */
  log: string;
  head: number;
  held: Record<string, number>;
}

/** The signer asks `station` for its log entries `from`..`to`. */
export interface WantBody {
  station: string;
  from: number;
  to: number;
  /** On ask/<owner>: the one station asked to answer (the others stay silent); without it, anyone holding the range answers. */
  by?: string;
}

export type Envelope =
  | { kind: "batch"; coalition: string; station: string; body: BatchBody }
  | { kind: "vector"; coalition: string; station: string; body: VectorBody }
  | { kind: "want"; coalition: string; station: string; body: WantBody };

export type EnvelopeCheck = { ok: true; envelope: Envelope } | { ok: false; reason: string };

const encoder = new TextEncoder();
const DOMAIN = new TextEncoder().encode("meshaid-relay-v1");

/** What the signature covers: a domain tag and the digest of the signed bytes. */
function signedMessage(signed: Uint8Array): Uint8Array {
  const digest = createHash("sha512").update(signed).digest();
  const message = new Uint8Array(DOMAIN.length + digest.length);
  message.set(DOMAIN, 0);
  message.set(digest, DOMAIN.length);
  return message;
}
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encodes and signs an envelope with the station's Ed25519 secret key (32 bytes). */
export function sealEnvelope(envelope: Envelope, secretKey: Uint8Array): Uint8Array {
  const coalition = encoder.encode(envelope.coalition);
  const station = encoder.encode(envelope.station);
  const body = encoder.encode(JSON.stringify(envelope.body));
  if (coalition.length < 1 || coalition.length > 255) throw new RangeError(`coalition name must be 1..255 bytes: "${envelope.coalition}"`);
  if (station.length < 1 || station.length > 255) throw new RangeError(`station name must be 1..255 bytes: "${envelope.station}"`);
  const signedLength = 4 + 1 + 1 + coalition.length + 1 + station.length + 4 + body.length;
  const out = new Uint8Array(signedLength + SIGNATURE_BYTES);
  const view = new DataView(out.buffer);
  let at = 0;
  out.set(MAGIC, at);
  at += 4;
  out[at++] = ENVELOPE_KINDS[envelope.kind];
  out[at++] = coalition.length;
  out.set(coalition, at);
  at += coalition.length;
  out[at++] = station.length;
  out.set(station, at);
  at += station.length;
  view.setUint32(at, body.length);
  at += 4;
  out.set(body, at);
  out.set(signBytes(signedMessage(out.subarray(0, signedLength)), secretKey), signedLength);
  return out;
}

/** What an envelope says it is, before its signature is checked (to find the signer's key). */
export interface EnvelopeHeader {
  kind: EnvelopeKind;
  coalition: string;
  station: string;
  /** Where the signature starts (= the number of signed bytes). */
  signedLength: number;
  bodyStart: number;
}

/** Reads the header; never throws. */
export function readHeader(bytes: Uint8Array): { ok: true; header: EnvelopeHeader } | { ok: false; reason: string } {
  if (bytes.length < 4 + 1 + 2 + 2 + 4 + SIGNATURE_BYTES) return { ok: false, reason: `too short for an envelope (${bytes.length} bytes)` };
  if (MAGIC.some((byte, index) => bytes[index] !== byte)) return { ok: false, reason: "not a meshaid relay envelope (magic)" };
  const kindByte = bytes[4];
  const kind = (Object.keys(ENVELOPE_KINDS) as EnvelopeKind[]).find((name) => ENVELOPE_KINDS[name] === kindByte);
  if (!kind) return { ok: false, reason: `unknown envelope kind ${kindByte ?? "?"}` };
  let at = 5;
  const text = (): string | undefined => {
    const length = bytes[at] ?? 0;
    if (length === 0 || at + 1 + length > bytes.length) return undefined;
    try {
      const value = decoder.decode(bytes.subarray(at + 1, at + 1 + length));
      at += 1 + length;
      return value;
    } catch {
      return undefined;
    }
  };
  const coalition = text();
  if (coalition === undefined) return { ok: false, reason: "bad coalition name" };
  const station = text();
  if (station === undefined) return { ok: false, reason: "bad station name" };
  if (at + 4 > bytes.length) return { ok: false, reason: "truncated before the body length" };
  const bodyLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
  at += 4;
  if (bodyLength > MAX_BODY_BYTES) return { ok: false, reason: `body of ${bodyLength} bytes is over the limit` };
  if (at + bodyLength + SIGNATURE_BYTES !== bytes.length) return { ok: false, reason: `length mismatch: ${bytes.length} bytes for a body of ${bodyLength}` };
  return { ok: true, header: { kind, coalition, station, signedLength: at + bodyLength, bodyStart: at } };
}

/**
 * Checks an envelope against the signer's public key and decodes its body; never throws. A
 * reason is given for anything refused: a wrong length, a bad signature (forged or altered),
 * a body that is not what its kind says.
 */
export function openEnvelope(bytes: Uint8Array, publicKeyOf: (station: string) => Uint8Array | undefined): EnvelopeCheck {
  const read = readHeader(bytes);
  if (!read.ok) return read;
  const { header } = read;
  const publicKey = publicKeyOf(header.station);
  if (!publicKey) return { ok: false, reason: `station "${header.station}" is not in the trust list` };
  let valid: boolean;
  try {
    valid = verifySignature(bytes.subarray(header.signedLength), signedMessage(bytes.subarray(0, header.signedLength)), publicKey);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: `bad signature for station "${header.station}" (forged or altered)` };
  let body: unknown;
  try {
    // Node's native UTF-8 check and decode: a batch body is ~160 KB.
    const text = bytes.subarray(header.bodyStart, header.signedLength);
    if (!isUtf8(text)) throw new Error("not UTF-8");
    body = JSON.parse(Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString("utf8"));
  } catch {
    return { ok: false, reason: "body is not JSON" };
  }
  const checked = checkBody(header.kind, body);
  if (typeof checked === "string") return { ok: false, reason: checked };
  return { ok: true, envelope: { kind: header.kind, coalition: header.coalition, station: header.station, body: checked } as Envelope };
}

/** Native signing keys, by the secret key array the caller holds (never as text): importing one costs more than a signature. */
const signingKeys = new WeakMap<Uint8Array, KeyObject | null>();

function signBytes(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  let key = signingKeys.get(secretKey);
  if (key === undefined) {
    try {
      const jwk = { kty: "OKP", crv: "Ed25519", d: Buffer.from(secretKey).toString("base64url"), x: Buffer.from(ed25519.getPublicKey(secretKey)).toString("base64url") };
      key = createPrivateKey({ key: jwk, format: "jwk" });
    } catch {
      key = null; // not a key OpenSSL takes: noble signs
    }
    signingKeys.set(secretKey, key);
  }
  return key === null ? ed25519.sign(message, secretKey) : new Uint8Array(nativeSign(null, message, key));
}

/** Native key objects, by public key (base64url): importing one costs more than a check. */
const keyObjects = new Map<string, KeyObject | null>();

function verifySignature(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== 32) return false;
  const x = Buffer.from(publicKey).toString("base64url");
  let key = keyObjects.get(x);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    } catch {
      key = null; // not a point OpenSSL takes: noble decides
    }
    if (keyObjects.size > 1024) keyObjects.clear();
    keyObjects.set(x, key);
  }
  if (key === null) return ed25519.verify(signature, message, publicKey, { zip215: false });
  return nativeVerify(null, message, key, signature);
}

function isLogId(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{16}$/.test(value);
}

function isSeq(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function checkBody(kind: EnvelopeKind, body: unknown): BatchBody | VectorBody | WantBody | string {
  if (typeof body !== "object" || body === null) return "body is not an object";
  const b = body as Record<string, unknown>;
  switch (kind) {
    case "batch": {
      if (!isLogId(b["log"])) return "batch without a log id";
      if (!isSeq(b["first"]) || b["first"] < 1) return "batch without a first sequence";
      if (!Array.isArray(b["records"]) || b["records"].length === 0) return "batch without records";
      for (const record of b["records"] as unknown[]) if (record !== null && !isRecord(record)) return "batch holds something that is not a record";
      return { log: b["log"], first: b["first"], records: b["records"] as Array<FieldRecord | null> };
    }
    case "vector": {
      if (!isLogId(b["log"])) return "vector without a log id";
      if (!isSeq(b["head"])) return "vector without a head";
      const held = b["held"];
      if (typeof held !== "object" || held === null || Array.isArray(held)) return "vector without held";
      for (const value of Object.values(held)) if (!isSeq(value)) return "vector with a bad sequence";
      return { log: b["log"], head: b["head"], held: held as Record<string, number> };
    }
    case "want": {
      if (typeof b["station"] !== "string" || !isSeq(b["from"]) || !isSeq(b["to"]) || b["from"] < 1 || b["to"] < b["from"]) return "bad fill request";
      if (b["by"] !== undefined && (typeof b["by"] !== "string" || b["by"] === "")) return "bad fill request";
      return { station: b["station"], from: b["from"], to: b["to"], ...(typeof b["by"] === "string" ? { by: b["by"] } : {}) };
    }
  }
}

function isRecord(value: unknown): value is FieldRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  const id = r["id"] as Record<string, unknown> | undefined;
  const body = r["body"] as Record<string, unknown> | undefined;
  return (
    typeof id === "object" && id !== null && isSeq(id["origin"]) && isSeq(id["seq"]) && id["origin"] <= 0xffffffff && id["seq"] <= 0xffffffff &&
    typeof r["receivedAt"] === "number" &&
    typeof body === "object" && body !== null && typeof body["kind"] === "string"
  );
}

/** A fresh Ed25519 key pair (secret 32 bytes, public 32 bytes). */
export function signingKeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const { secretKey, publicKey } = ed25519.keygen();
  return { secretKey, publicKey };
}

/** The public key of a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}
