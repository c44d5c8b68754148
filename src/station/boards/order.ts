// The one order the boards agree on: when a record was heard, then its id. Every station that
// holds the same records sorts them alike, whatever order they arrived in.
import type { FieldRecord, RecordId } from "../../wire/index.ts";
import type { BoardAct } from "../types.ts";

export function compareRecords(a: FieldRecord, b: FieldRecord): number {
  return a.receivedAt - b.receivedAt || (a.id.origin >>> 0) - (b.id.origin >>> 0) || (a.id.seq >>> 0) - (b.id.seq >>> 0);
}

/** The log key of a record id ("<origin 8 hex>!<seq 8 hex>"), the same as the store's. */
export function idKey(id: RecordId): string {
  return `${hex8(id.origin)}!${hex8(id.seq)}`;
}

export function hex8(n: number): string {
  const hex = (n >>> 0).toString(16);
  return hex.length === 8 ? hex : "00000000".slice(hex.length) + hex;
}

/** Who sent a record: its callsign when the storing station knew it, else its node id. */
export function senderOf(record: FieldRecord): string {
  return record.sender ?? `!${hex8(record.id.origin)}`;
}

export function actOf(record: FieldRecord): BoardAct {
  return { id: { ...record.id }, by: senderOf(record), at: record.receivedAt };
}

/** Inserts into a list kept sorted by `compareRecords`, unless a record with that id is there. */
export function insertSorted(list: FieldRecord[], record: FieldRecord): boolean {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const c = compareRecords(list[mid] as FieldRecord, record);
    if (c === 0) return false;
    if (c < 0) low = mid + 1;
    else high = mid;
  }
  const at = list[low];
  if (at && at.id.origin === record.id.origin && at.id.seq === record.id.seq) return false;
  list.splice(low, 0, record);
  return true;
}
