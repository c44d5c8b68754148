// The one order the boards agree on: when a record was heard, then its id. Every station that
// holds the same records sorts them alike, whatever order they arrived in.
//
// The boards keep, of each record they fold, an `Act` (id, time, sender): a few numbers and a
// shared string, never the decoded record, so 100,000 records cost little memory and the
// decoded objects die young (cheap for the garbage collector).
import type { FieldRecord, RecordId } from "../../wire/index.ts";
import type { BoardAct } from "../types.ts";

/** Who did what when: a record's id, when it was heard and its sender (undefined: unknown). */
export class Act {
  readonly origin: number;
  readonly seq: number;
  readonly at: number;
  readonly sender: string | undefined;

  constructor(origin: number, seq: number, at: number, sender: string | undefined) {
    this.origin = origin;
    this.seq = seq;
    this.at = at;
    this.sender = sender;
  }

  /** As a card shows it. */
  view(): BoardAct {
    return { id: { origin: this.origin, seq: this.seq }, by: this.sender ?? `!${hex8(this.origin)}`, at: this.at };
  }

  /** The callsign, or the node id ("!2a6f1c02") when the storing station did not know it. */
  get by(): string {
    return this.sender ?? `!${hex8(this.origin)}`;
  }

  get key(): string {
    return idKey(this);
  }
}

/** The boards' order of two acts (or records' acts): time heard, then origin, then seq. */
export function compareActs(a: Act, b: Act): number {
  return a.at - b.at || (a.origin >>> 0) - (b.origin >>> 0) || (a.seq >>> 0) - (b.seq >>> 0);
}

/** The boards' order of a record against an act, without making an act of the record. */
export function compareToAct(record: FieldRecord, act: Act): number {
  return record.receivedAt - act.at || (record.id.origin >>> 0) - (act.origin >>> 0) || (record.id.seq >>> 0) - (act.seq >>> 0);
}

/** The log key of a record id ("<origin 8 hex>!<seq 8 hex>"), the same as the store's. */
export function idKey(id: RecordId): string {
  return `${hex8(id.origin)}!${hex8(id.seq)}`;
}

/** The id a log key names, or undefined when it is not one. */
export function parseIdKey(key: string): RecordId | undefined {
  if (!/^[0-9a-f]{8}![0-9a-f]{8}$/.test(key)) return undefined;
  return { origin: parseInt(key.slice(0, 8), 16), seq: parseInt(key.slice(9), 16) };
}

export function hex8(n: number): string {
  const hex = (n >>> 0).toString(16);
  return hex.length === 8 ? hex : "00000000".slice(hex.length) + hex;
}

/** Who sent a record: its callsign when the storing station knew it, else its node id. */
export function senderOf(record: FieldRecord): string {
  return record.sender ?? nodeIdOf(record.id.origin);
}

/** Node ids ("!1a2b3c4d") made so far: a board asks for one per record whose sender has no callsign. */
const nodeIds = new Map<number, string>();

function nodeIdOf(origin: number): string {
  let id = nodeIds.get(origin);
  if (id === undefined) {
    id = `!${hex8(origin)}`;
    if (nodeIds.size < 4096) nodeIds.set(origin, id);
  }
  return id;
}

/**
 * Values by record id, in two levels of number-keyed maps: no key string is made per record
 * (a string per record was most of a rebuild's garbage), and ids compare as numbers.
 */
export class IdMap<V> {
  private readonly byOrigin = new Map<number, Map<number, V>>();

  get(origin: number, seq: number): V | undefined {
    return this.byOrigin.get(origin >>> 0)?.get(seq >>> 0);
  }

  has(origin: number, seq: number): boolean {
    return this.byOrigin.get(origin >>> 0)?.has(seq >>> 0) ?? false;
  }

  set(origin: number, seq: number, value: V): void {
    let seqs = this.byOrigin.get(origin >>> 0);
    if (!seqs) this.byOrigin.set(origin >>> 0, (seqs = new Map<number, V>()));
    seqs.set(seq >>> 0, value);
  }

  delete(origin: number, seq: number): void {
    this.byOrigin.get(origin >>> 0)?.delete(seq >>> 0);
  }

  *values(): IterableIterator<V> {
    for (const seqs of this.byOrigin.values()) yield* seqs.values();
  }
}

/**
 * One copy of each string the boards keep (callsigns, items): a decoded record brings its own
 * copy of "M12", and a board that keeps 20,000 of them should hold one.
 */
export class Interner {
  private readonly strings = new Map<string, string>();

  of(value: string): string;
  of(value: string | undefined): string | undefined;
  of(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }
}

/** The act of a record, its sender interned. */
export function actOf(record: FieldRecord, strings: Interner): Act {
  return new Act(record.id.origin >>> 0, record.id.seq >>> 0, record.receivedAt, strings.of(record.sender));
}

/** Inserts into a list kept sorted by `compareActs`, unless an act with that id is there. */
export function insertSorted<T extends Act>(list: T[], item: T): boolean {
  let low = 0;
  let high = list.length;
  // Records mostly arrive in order: check the end first.
  const last = list[high - 1];
  if (last === undefined || compareActs(last, item) < 0) low = high;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const c = compareActs(list[mid] as T, item);
    if (c === 0) return false;
    if (c < 0) low = mid + 1;
    else high = mid;
  }
  const at = list[low];
  if (at && at.origin === item.origin && at.seq === item.seq) return false;
  list.splice(low, 0, item);
  return true;
}
