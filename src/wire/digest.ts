// The short hash a holding digest lists a record by (field.proto, fields 34-35): base stations
// compare what each stored of the handheld records (which carry no per-station sequence, so no
// gap can be seen) with 4 bytes a record instead of its 8-byte id. Two different records share a
// hash with odds of about one in 2^32 per pair: a record missed because of it is left to the relay.
import { createHash } from "node:crypto";
import type { RecordId } from "./types.ts";

/** The first 4 bytes (big-endian) of SHA-256 over the record's origin and seq (4 bytes each, big-endian). */
export function recordHash(id: RecordId): number {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(id.origin >>> 0, 0);
  bytes.writeUInt32BE(id.seq >>> 0, 4);
  return createHash("sha256").update(bytes).digest().readUInt32BE(0);
}
