// The log's keys. One key per record, in the order this station stored them:
//
//   sublevel "records": `<16-digit arrival number>!<origin 8 hex>!<seq 8 hex>` -> LoggedRecord bytes,
//   followed by "\n" and a peer station's name for a record that came from that peer through the relay.
//
// The arrival number comes first, so the log reads in arrival order and the newest record is the
// last key; the id follows, so the ids stored are read from the keys alone (the dedup set, at the
// first write). A record's id key (`<origin>!<seq>`, recordKey) names it outside the store
// (evidence, the relay's own log, the sealed value's additional data) and does not change when a
// record moves. Stores written before meshaid kept one key per record in "log" (by id) and another
// in "arrival" (by arrival number): migrate.ts rewrites them at open.
import type { RecordId } from "../wire/index.ts";

export const RECORDS_SUBLEVEL = "records";

/** Where a stored record is: its arrival number, id and the peer it came through. */
export interface LogPlace {
  n: number;
  origin: number;
  seq: number;
  via?: string;
}

const ZEROS = "0000000000000000";

export function arrivalKey(n: number): string {
  const digits = String(n);
  return ZEROS.slice(digits.length) + digits;
}

function hex8(n: number): string {
  const digits = (n >>> 0).toString(16);
  return ZEROS.slice(8 + digits.length) + digits;
}

/** A record's id as a key: `<origin 8 hex>!<seq 8 hex>`. */
export function recordKey(id: RecordId): string {
  return idKey(id.origin, id.seq);
}

export function idKey(origin: number, seq: number): string {
  return `${hex8(origin)}!${hex8(seq)}`;
}

/** Origins in hex, for the few nodes a station hears (a key is made for every record stored). */
const originHex = new Map<number, string>();

function hexOfOrigin(origin: number): string {
  let hex = originHex.get(origin);
  if (hex === undefined) {
    hex = hex8(origin);
    if (originHex.size < 4096) originHex.set(origin, hex);
  }
  return hex;
}

/** The key of a record in the log (without the sublevel's prefix). */
export function logKey(n: number, origin: number, seq: number, via?: string): string {
  const key = arrivalKey(n) + "!" + hexOfOrigin(origin) + "!" + hex8(seq);
  return via === undefined ? key : `${key}\n${via}`;
}

const LOG_KEY = /^(\d{16})!([0-9a-f]{8})!([0-9a-f]{8})(?:\n(.+))?$/s;

/** Reads a log key; undefined for one that is not of this layout (the integrity check quarantines it). */
export function parseLogKey(key: string): LogPlace | undefined {
  const match = LOG_KEY.exec(key);
  if (!match) return undefined;
  const place: LogPlace = { n: Number(match[1]), origin: parseInt(match[2]!, 16), seq: parseInt(match[3]!, 16) };
  if (match[4] !== undefined) place.via = match[4];
  return place;
}

const LOG_KEY_SHAPE = /^\d{16}![0-9a-f]{8}![0-9a-f]{8}(?:\n.+)?$/s;

/** Whether a key is of this layout (parseLogKey without building the place: the start check tests every key). */
export function isLogKey(key: string): boolean {
  return LOG_KEY_SHAPE.test(key);
}

/**
 * The parts of a key known to be of this layout (read from the log, or made by logKey), without
 * the check parseLogKey makes: the replay, the id index and the purge read them for every record.
 */
export function arrivalOf(key: string): number {
  return Number(key.slice(0, 16));
}

export function originOf(key: string): number {
  return parseInt(key.slice(17, 25), 16);
}

export function seqOf(key: string): number {
  return parseInt(key.slice(26, 34), 16);
}

/** The peer a relayed record came through; undefined for one stored here first. */
export function viaOf(key: string): string | undefined {
  return key.length > 35 ? key.slice(35) : undefined;
}

/** The id key inside a log key (what its value is sealed with). */
export function idKeyOf(key: string): string {
  return key.slice(17, 34);
}
