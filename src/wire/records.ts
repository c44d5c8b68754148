// Encoding and decoding records with the protobufjs schema in field.proto: radio payloads (several
// records packed behind a tag and version byte) and the station's log entries.
import protobuf from "protobufjs";
import { fileURLToPath } from "node:url";
import { codeOf, MAX_CODE, nameOf, type Codebook, type CodebookCategory } from "./codebook.ts";
import { err, ok, WireError, type Result } from "./errors.ts";
import { AUTH_TAG_BYTES, AUTH_TRAILER_BYTES, authTag, authTrailerPlaceholder, endsWithAuthTrailer, verifyAuthTrailer, type AuthKey } from "./auth.ts";
import { MAX_LANDMARK } from "./site.ts";
import {
  ACK_CODES,
  CHECKIN_STATUSES,
  PRIORITIES,
  SEVERITIES,
  SHIFT_ACTIONS,
  SUPPLY_STATUSES,
  type FieldRecord,
  type Holding,
  type Place,
  type RecordAuth,
  type RecordBody,
  type RecordId,
  type RecordKind,
  type SeqRun,
  type StationControl,
  type SupplyLine,
  type SupplyOfferBody,
  type SupplyRequestBody,
} from "./types.ts";

// The schema ships beside this file; reading it once at load is the only I/O here.
const schema = protobuf.loadSync(fileURLToPath(new URL("./field.proto", import.meta.url)));
const RecordType = schema.lookupType("meshaid.field.v1.Record");
const LoggedRecordType = schema.lookupType("meshaid.field.v1.LoggedRecord");
const LegacyRecordType = schema.lookupType("meshaid.field.v1.LegacyRecord");

/** The first byte of every meshaid payload: wire type 7 makes it invalid as a protobuf key, and it is not printable text. */
export const PROTOCOL_TAG = 0x7f;
export const PROTOCOL_VERSION = 1;
/** Byte 1: version (high 4 bits), "several records" (bit 3), the first record's kind (bits 0-2; 7: given in the record). */
const SEVERAL = 0x08;
const KIND_IN_RECORD = 7;
/** The largest app payload on a private port (Meshtastic's 233-byte Data.payload less the private portnum's extra bytes). */
export const MAX_PAYLOAD_BYTES = 231;
/** meshaid's Meshtastic port number, in the private range 256..511. */
export const MESHAID_PORTNUM = 300;

const KINDS: readonly RecordKind[] = ["supply_request", "incident", "shift", "checkin", "supply_offer", "supply_status", "ack", "message"];
const MAX_TEXT_BYTES = 233;
const MAX_CALLSIGN_BYTES = 12;
const U32 = 0xffffffff;

/**
 * The protobufjs form of a Record (camelCase fields): from toObject only non-default fields are
 * set; on a decoded message itself (the log replay reads it so) unset scalars read their default
 * and unset `optional` fields read null.
 */
export interface RecordMessage {
  seqSkip?: number;
  kind?: number;
  landmark?: number;
  east?: number | null;
  north?: number | null;
  priority?: number;
  lines?: number[];
  state?: number;
  type?: number;
  severity?: number;
  casualties?: number;
  triage?: number[];
  hazards?: number[];
  refSeq?: number | null;
  etaMin?: number;
  refOrigin?: number | null;
  people?: number;
  responderOnScene?: boolean;
  needByMin?: number;
  role?: number;
  from?: string;
  to?: string;
  openItems?: number;
  lowStock?: number[];
  battery?: number | null;
  team?: number;
  acks?: { origin?: number; seqDeltas?: number[] }[];
  text?: string;
  lat?: number | null;
  lon?: number | null;
  codebook?: number;
  /** The record's own id when its origin is not the sender's (both or neither). */
  origOrigin?: number | null;
  origSeq?: number | null;
  /** A holding digest (held ACK) or the handheld records wanted (RESEND): 4-byte record hashes; the window only on a held ACK. */
  digest?: number[];
  digestWindowS?: number;
  /** The payload's authentication tag (src/wire/auth.ts): only on the last record of a payload. */
  auth?: Uint8Array;
}

/** A record to send: its per-origin sequence number and what it says. */
export interface OutgoingRecord {
  seq: number;
  body: RecordBody;
  /**
   * The record's own id when its origin is not the sender's (a peer's record put on the air):
   * carried in the record (fields 32, 33; needs PackOptions.origin). `seq` is then only its
   * position in the payload's chain: the records after it go on from `seq`, not from this id.
   */
  id?: RecordId;
}

export interface DecodedPayload {
  /** Ids use the origin the caller gave (the mesh header's sender). Empty for a control. */
  records: { id: RecordId; body: RecordBody }[];
  /** Base station to base station (a `held` ACK or a RESEND): never stored. */
  control?: StationControl;
  /** The sender's codebook hash, when this payload carried it. */
  codebook?: string;
  /** False when the sender's codebook differs from ours: its words may not be ours. */
  codebookMatches?: boolean;
  /**
   * When the payload carries an authentication tag: `valid` for the coalition key given, `invalid`
   * (another key, or the bytes or the claimed origin were changed), `unchecked` (no key given).
   */
  auth?: "valid" | "invalid" | "unchecked";
}

class Invalid extends Error {}

function invalid(what: string): never {
  throw new Invalid(what);
}

function whole(value: number | undefined, what: string, min = 0, max = U32): number {
  if (value === undefined || !Number.isInteger(value) || value < min || value > max) invalid(`${what} must be a whole number ${min}..${max}, not ${String(value)}`);
  return value;
}

function code(codebook: Codebook, category: CodebookCategory, name: string, what: string): number {
  return codeOf(codebook, category, name) ?? invalid(`unknown ${what} "${name}" (not in codebook ${codebook.hash})`);
}

function callsign(value: string, what: string): string {
  if (value === "" || Buffer.byteLength(value, "utf8") > MAX_CALLSIGN_BYTES) invalid(`${what} must be a callsign of 1..${MAX_CALLSIGN_BYTES} bytes`);
  return value;
}

function putPlace(message: RecordMessage, place: Place | undefined): void {
  if (place === undefined) return;
  if ("landmark" in place) message.landmark = whole(place.landmark, "landmark", 1, MAX_LANDMARK);
  else if ("east" in place) {
    const limit = 2 ** 31 - 1;
    message.east = whole(Math.round(place.east / 10) + limit, "east offset", 0, 2 * limit) - limit;
    message.north = whole(Math.round(place.north / 10) + limit, "north offset", 0, 2 * limit) - limit;
  } else {
    if (!(Math.abs(place.lat) <= 90 && Math.abs(place.lon) <= 180)) invalid("coordinates must be lat -90..90, lon -180..180");
    message.lat = Math.round(place.lat * 1e7);
    message.lon = Math.round(place.lon * 1e7);
  }
}

function putLines(message: RecordMessage, codebook: Codebook, lines: readonly SupplyLine[] | undefined, required: boolean): void {
  if (lines === undefined || lines.length === 0) {
    if (required) invalid("a supply record names at least one item");
    return;
  }
  message.lines = lines.flatMap((line) => [code(codebook, "items", line.item, "item"), line.quantity === undefined ? 0 : whole(line.quantity, `quantity of ${line.item}`, 1)]);
}

function set<K extends keyof RecordMessage>(message: RecordMessage, key: K, value: RecordMessage[K] | undefined | 0 | false | ""): void {
  if (value === undefined || value === 0 || value === false || value === "" || (Array.isArray(value) && value.length === 0)) return;
  message[key] = value;
}

/** A body as a Record message. `origin` (the sender's node number) lets a reference to its own record omit the origin. Throws Invalid. */
function toMessage(body: RecordBody, codebook: Codebook, origin?: number): RecordMessage {
  const message: RecordMessage = {};
  set(message, "kind", KINDS.indexOf(body.kind));
  switch (body.kind) {
    case "supply_request":
      putLines(message, codebook, body.lines, true);
      set(message, "priority", PRIORITIES.indexOf(body.priority) >= 0 ? PRIORITIES.indexOf(body.priority) : invalid(`unknown priority "${body.priority}"`));
      putPlace(message, body.place);
      if (body.needByMin !== undefined) message.needByMin = whole(body.needByMin, "needByMin", 1);
      break;
    case "supply_offer":
      putLines(message, codebook, body.lines, true);
      putPlace(message, body.place);
      break;
    case "supply_status":
      set(message, "state", SUPPLY_STATUSES.indexOf(body.status) >= 0 ? SUPPLY_STATUSES.indexOf(body.status) : invalid(`unknown supply status "${body.status}"`));
      if (body.ref !== undefined) {
        message.refSeq = whole(body.ref.seq, "ref seq");
        if (body.ref.origin !== origin) message.refOrigin = whole(body.ref.origin, "ref origin");
      }
      if (body.etaMin !== undefined) message.etaMin = whole(body.etaMin, "etaMin", 1);
      putLines(message, codebook, body.lines, false);
      putPlace(message, body.place);
      break;
    case "incident": {
      set(message, "type", code(codebook, "incidents", body.incident, "incident type"));
      set(message, "severity", SEVERITIES.indexOf(body.severity) >= 0 ? SEVERITIES.indexOf(body.severity) : invalid(`unknown severity "${body.severity}"`));
      const triage = Object.entries(body.triage ?? {});
      const triaged = triage.reduce((sum, [name, count]) => sum + whole(count, `triage count ${name}`, 1), 0);
      set(message, "casualties", whole(whole(body.casualties, "casualties") - triaged, "casualties (at least the triaged ones)"));
      set(message, "triage", triage.flatMap(([name, count]) => [code(codebook, "triage", name, "triage category"), count]));
      set(message, "hazards", (body.hazards ?? []).map((hazard) => code(codebook, "hazards", hazard, "hazard")));
      if (body.people !== undefined) message.people = whole(body.people, "people", 1);
      set(message, "responderOnScene", body.responderOnScene === true);
      putPlace(message, body.place);
      break;
    }
    case "shift":
      set(message, "state", SHIFT_ACTIONS.indexOf(body.action) >= 0 ? SHIFT_ACTIONS.indexOf(body.action) : invalid(`unknown shift action "${body.action}"`));
      if (body.role !== undefined) message.role = code(codebook, "roles", body.role, "role");
      if (body.from !== undefined) message.from = callsign(body.from, "from");
      if (body.to !== undefined) message.to = callsign(body.to, "to");
      if (body.openItems !== undefined) message.openItems = whole(body.openItems, "openItems", 1);
      set(message, "lowStock", (body.lowStock ?? []).map((item) => code(codebook, "items", item, "item")));
      putPlace(message, body.place);
      break;
    case "checkin":
      set(message, "state", CHECKIN_STATUSES.indexOf(body.status) >= 0 ? CHECKIN_STATUSES.indexOf(body.status) : invalid(`unknown check-in status "${body.status}"`));
      if (body.battery !== undefined) message.battery = whole(body.battery, "battery", 0, 100);
      if (body.team !== undefined) message.team = whole(body.team, "team", 1);
      putPlace(message, body.place);
      break;
    case "ack": {
      set(message, "state", ACK_CODES.indexOf(body.code) >= 0 ? ACK_CODES.indexOf(body.code) : invalid(`unknown ack code "${body.code}"`));
      if (body.refs.length === 0) invalid("an ack acknowledges at least one record");
      const byOrigin = new Map<number, Set<number>>();
      for (const ref of body.refs) {
        const seqs = byOrigin.get(whole(ref.origin, "ack origin")) ?? new Set<number>();
        seqs.add(whole(ref.seq, "ack seq"));
        byOrigin.set(ref.origin, seqs);
      }
      message.acks = [...byOrigin.entries()]
        .sort(([a], [b]) => a - b)
        .map(([ackOrigin, seqs]) => {
          const sorted = [...seqs].sort((a, b) => a - b);
          return { origin: ackOrigin, seqDeltas: sorted.map((seq, i) => (i === 0 ? seq : seq - sorted[i - 1]!)) };
        });
      break;
    }
    case "message":
      if (typeof body.text !== "string" || body.text === "" || Buffer.byteLength(body.text, "utf8") > MAX_TEXT_BYTES) invalid(`message text must be 1..${MAX_TEXT_BYTES} bytes`);
      message.text = body.text;
      break;
    default:
      invalid(`unknown record kind "${(body as { kind: unknown }).kind as string}"`);
  }
  return message;
}

/** A body as a Record message, or a WireError naming what cannot be encoded. */
export function recordMessage(body: RecordBody, codebook: Codebook, origin?: number): Result<RecordMessage> {
  try {
    return ok(toMessage(body, codebook, origin));
  } catch (error) {
    if (error instanceof Invalid) return err("WIRE_INVALID_RECORD", `cannot encode a ${String(body.kind)} record: ${error.message}`);
    return err("WIRE_INVALID_RECORD", `cannot encode a ${String(body.kind)} record: ${String(error)}`, error);
  }
}

/** Whether an `optional` field was set (toObject leaves it out, a decoded message reads null). */
function isSet(value: number | null | undefined): value is number {
  return value !== undefined && value !== null;
}

function readPlace(message: RecordMessage): Place | undefined {
  if (message.landmark) {
    if (message.landmark > MAX_LANDMARK) invalid(`landmark ${message.landmark} is above ${MAX_LANDMARK}`);
    return { landmark: message.landmark };
  }
  if (isSet(message.east) || isSet(message.north)) {
    if (!isSet(message.east) || !isSet(message.north)) invalid("an offset needs both east and north");
    return { east: message.east * 10, north: message.north * 10 };
  }
  if (isSet(message.lat) || isSet(message.lon)) {
    if (!isSet(message.lat) || !isSet(message.lon)) invalid("coordinates need both lat and lon");
    const place = { lat: message.lat / 1e7, lon: message.lon / 1e7 };
    if (Math.abs(place.lat) > 90 || Math.abs(place.lon) > 180) invalid("coordinates out of range");
    return place;
  }
  return undefined;
}

function readLines(codebook: Codebook, values: number[] | undefined): SupplyLine[] {
  const lines: SupplyLine[] = [];
  const list = values ?? [];
  if (list.length % 2 !== 0) invalid("supply lines come in item, quantity pairs");
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === 0) invalid("item code 0");
    const line: SupplyLine = { item: codeName(codebook, "items", list[i]!) };
    if (list[i + 1]) line.quantity = list[i + 1]!;
    lines.push(line);
  }
  return lines;
}

function pick<T>(values: readonly T[], index: number | undefined, what: string): T {
  return values[index ?? 0] ?? unknownCode(`${what} ${String(index)}`);
}

/**
 * The name for a code read from the wire. 0 (none) in a list, or a code above MAX_CODE, is one no
 * codebook holds and the log could not store as "#n": the record is refused as an unknown code.
 */
function codeName(codebook: Codebook, category: CodebookCategory, code: number): string {
  if (code < 1 || code > MAX_CODE) unknownCode(`${category} code ${code} (codes are 1..${MAX_CODE}; 0 means none)`);
  return nameOf(codebook, category, code);
}

class UnknownCode extends Error {}
function unknownCode(what: string): never {
  throw new UnknownCode(what);
}

/** Sets the place on a body made just now (an object spread here cost a log replay ~0.1 s per 100,000 records). */
function withPlace<T extends { place?: Place }>(body: T, place: Place | undefined): T {
  if (place !== undefined) body.place = place;
  return body;
}

/** A Record message as a body. Throws Invalid or UnknownCode. */
function fromMessage(message: RecordMessage, codebook: Codebook, origin: number): RecordBody {
  const kind = pick(KINDS, message.kind, "record kind");
  const place = readPlace(message);
  switch (kind) {
    case "supply_request": {
      const lines = readLines(codebook, message.lines);
      if (lines.length === 0) invalid("a supply request without items");
      const body = withPlace<SupplyRequestBody>({ kind, lines, priority: pick(PRIORITIES, message.priority, "priority") }, place);
      if (message.needByMin) body.needByMin = message.needByMin;
      return body;
    }
    case "supply_offer": {
      const lines = readLines(codebook, message.lines);
      if (lines.length === 0) invalid("a supply offer without items");
      return withPlace<SupplyOfferBody>({ kind, lines }, place);
    }
    case "supply_status": {
      const body: RecordBody = { kind, status: pick(SUPPLY_STATUSES, message.state, "supply status") };
      if (isSet(message.refSeq)) body.ref = { origin: message.refOrigin ?? origin, seq: message.refSeq };
      if (message.etaMin) body.etaMin = message.etaMin;
      const lines = readLines(codebook, message.lines);
      if (lines.length > 0) body.lines = lines;
      return withPlace(body, place);
    }
    case "incident": {
      if (!message.type) invalid("an incident without a type");
      const triageValues = message.triage ?? [];
      if (triageValues.length % 2 !== 0) invalid("triage counts come in category, count pairs");
      const triage: Record<string, number> = {};
      let casualties = message.casualties ?? 0;
      for (let i = 0; i < triageValues.length; i += 2) {
        const name = codeName(codebook, "triage", triageValues[i]!);
        if (!triageValues[i + 1] || triage[name] !== undefined) invalid("a triage category appears twice or with no casualties");
        triage[name] = triageValues[i + 1]!;
        casualties += triageValues[i + 1]!;
      }
      if (casualties > U32) invalid("too many casualties");
      const body: RecordBody = { kind, incident: codeName(codebook, "incidents", message.type), severity: pick(SEVERITIES, message.severity, "severity"), casualties };
      if (triageValues.length > 0) body.triage = triage;
      if (message.hazards?.length) body.hazards = message.hazards.map((hazard) => codeName(codebook, "hazards", hazard));
      if (message.people) body.people = message.people;
      if (message.responderOnScene) body.responderOnScene = true;
      return withPlace(body, place);
    }
    case "shift": {
      const body: RecordBody = { kind, action: pick(SHIFT_ACTIONS, message.state, "shift action") };
      if (message.role) body.role = codeName(codebook, "roles", message.role);
      if (message.from) body.from = message.from;
      if (message.to) body.to = message.to;
      if (message.openItems) body.openItems = message.openItems;
      if (message.lowStock?.length) body.lowStock = message.lowStock.map((item) => codeName(codebook, "items", item));
      return withPlace(body, place);
    }
    case "checkin": {
      const body: RecordBody = { kind, status: pick(CHECKIN_STATUSES, message.state, "check-in status") };
      if (isSet(message.battery)) {
        if (message.battery > 100) invalid("battery above 100%");
        body.battery = message.battery;
      }
      if (message.team) body.team = message.team;
      return withPlace(body, place);
    }
    case "ack": {
      const refs: RecordId[] = [];
      for (const group of message.acks ?? []) {
        let seq = 0;
        (group.seqDeltas ?? []).forEach((delta, i) => {
          if (i > 0 && delta === 0) invalid("an ack lists a record twice");
          seq += delta;
          if (seq > U32) invalid("ack seq out of range");
          refs.push({ origin: group.origin ?? 0, seq });
        });
      }
      if (refs.length === 0) invalid("an ack without records");
      return { kind, code: pick(ACK_CODES, message.state, "ack code"), refs };
    }
    case "message":
      if (!message.text) invalid("a message without text");
      return { kind, text: message.text };
  }
}

function decodeMessage(bytes: Uint8Array): RecordMessage {
  return RecordType.toObject(RecordType.decode(bytes), { longs: Number });
}

function decodeFailure(cause: unknown, what: string): Result<never> {
  if (cause instanceof WireError) return { ok: false, error: cause };
  if (cause instanceof UnknownCode) return err("WIRE_UNKNOWN_CODE", `${what}: unknown ${cause.message} (a newer meshaid?)`);
  if (cause instanceof Invalid) return err("WIRE_MALFORMED", `${what}: ${cause.message}`);
  const message = cause instanceof Error ? cause.message : String(cause);
  const truncated = /index out of range|premature/i.test(message);
  return err(truncated ? "WIRE_TRUNCATED" : "WIRE_MALFORMED", `${what}: ${truncated ? "the bytes end mid-record" : message}`, cause);
}

// ---- radio payloads ----

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** Reads a varint of at most 5 bytes; undefined when it runs past the end. */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 5; i += 1) {
    value += (bytes[i]! & 0x7f) * scale;
    if ((bytes[i]! & 0x80) === 0) return { value, next: i + 1 };
    scale *= 0x80;
  }
  return undefined;
}

export interface PackOptions {
  /** Payload limit in bytes (default and maximum 231, the private-port limit). */
  maxBytes?: number;
  /** The sender's node number: references to its own records then omit the origin. */
  origin?: number;
  /** Attach the codebook hash (to the first payload only); a station does this now and then, e.g. with a check-in. */
  withCodebookHash?: boolean;
  /** End every payload with an authentication tag for `origin` (required then) under this coalition key. */
  auth?: AuthKey;
}

/**
 * Packs records into as few radio payloads as the limit allows, in order. A record that does not
 * fit in a payload even alone is refused with WIRE_TOO_LARGE: nothing is ever truncated.
 */
export function packRecords(records: readonly OutgoingRecord[], codebook: Codebook, options: PackOptions = {}): Result<Uint8Array[]> {
  const auth = options.auth;
  if (auth && options.origin === undefined) return err("WIRE_INVALID_RECORD", "authenticated payloads need the sender's node number (origin)");
  // The tag's bytes are kept free in every payload.
  const maxBytes = Math.min(options.maxBytes ?? MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES) - (auth ? AUTH_TRAILER_BYTES : 0);
  const messages: RecordMessage[] = [];
  for (const [index, record] of records.entries()) {
    if (!Number.isInteger(record.seq) || record.seq < 0 || record.seq > U32) return err("WIRE_INVALID_RECORD", `record ${index}: seq must be a whole number 0..${U32}`);
    // A reference to the record's own origin omits the origin: a record with its own id is read against that id.
    const message = recordMessage(record.body, codebook, record.id?.origin ?? options.origin);
    if (!message.ok) return err("WIRE_INVALID_RECORD", `record ${index} (seq ${record.seq}): ${message.error.message}`);
    const id = record.id;
    if (id !== undefined) {
      if (options.origin === undefined) return err("WIRE_INVALID_RECORD", `record ${index} (seq ${record.seq}): a record with its own id needs the sender's node number (origin)`);
      if (!Number.isInteger(id.origin) || id.origin < 0 || id.origin > U32 || !Number.isInteger(id.seq) || id.seq < 0 || id.seq > U32) return err("WIRE_INVALID_RECORD", `record ${index}: its id must be whole numbers 0..${U32}`);
      if (id.origin === options.origin) {
        if (id.seq !== record.seq) return err("WIRE_INVALID_RECORD", `record ${index}: the sender's own record is sent at its own seq (${id.seq}), not ${record.seq}`);
      } else {
        message.value.origOrigin = id.origin;
        message.value.origSeq = id.seq;
      }
    }
    messages.push(message.value);
  }
  if (options.withCodebookHash && messages[0]) messages[0].codebook = Number.parseInt(codebook.hash, 16);

  const payloads: Uint8Array[] = [];
  let firstSeq = 0;
  let firstKind = 0;
  let group: Uint8Array[] = [];
  let previousSeq = 0;
  // Without the tag (maxBytes leaves room for it), but with the length prefix it makes the last record's.
  const trailerBytes = auth ? AUTH_TRAILER_BYTES : 0;
  const size = (parts: Uint8Array[]): number =>
    2 +
    varint(firstSeq).length +
    (parts.length === 1 ? parts[0]!.length : parts.reduce((sum, part, index) => sum + varint(part.length + (index === parts.length - 1 ? trailerBytes : 0)).length + part.length, 0));
  const flush = (): void => {
    if (group.length === 0) return;
    const layout = (PROTOCOL_VERSION << 4) | (group.length > 1 ? SEVERAL : 0) | Math.min(firstKind, KIND_IN_RECORD);
    const out = [PROTOCOL_TAG, layout, ...varint(firstSeq)];
    for (const [index, part] of group.entries()) {
      // The tag is the last field of the last record: its length prefix counts it.
      const trailer = auth && index === group.length - 1 ? authTrailerPlaceholder() : [];
      if (group.length > 1) out.push(...varint(part.length + trailer.length));
      out.push(...part, ...trailer);
    }
    const payload = Uint8Array.from(out);
    if (auth) payload.set(authTag(auth, options.origin as number, payload.subarray(0, payload.length - AUTH_TRAILER_BYTES)), payload.length - AUTH_TAG_BYTES);
    payloads.push(payload);
    group = [];
  };
  for (const [index, record] of records.entries()) {
    const message = messages[index]!;
    if (group.length > 0) {
      const skip = (record.seq - previousSeq - 1 + 2 ** 32) % 2 ** 32;
      const bytes = RecordType.encode(skip === 0 ? message : { ...message, seqSkip: skip }).finish();
      if (size([...group, bytes]) <= maxBytes) {
        group.push(bytes);
        previousSeq = record.seq;
        continue;
      }
      flush();
    }
    firstSeq = record.seq;
    previousSeq = record.seq;
    firstKind = message.kind ?? 0;
    // The first record's kind travels in the header byte (unless it is 7 or more).
    const first: RecordMessage = { ...message };
    if (firstKind < KIND_IN_RECORD) delete first.kind;
    const bytes = RecordType.encode(first).finish();
    if (size([bytes]) > maxBytes) {
      return err("WIRE_TOO_LARGE", `record ${index} (seq ${record.seq}, ${record.body.kind}) takes ${size([bytes])} bytes; a payload holds ${maxBytes}: shorten it`);
    }
    group = [bytes];
  }
  flush();
  return ok(payloads);
}

/** Encodes records into exactly one payload, or refuses with WIRE_TOO_LARGE when they do not fit together. */
export function encodePayload(records: readonly OutgoingRecord[], codebook: Codebook, options: PackOptions = {}): Result<Uint8Array> {
  if (records.length === 0) return err("WIRE_INVALID_RECORD", "a payload carries at least one record");
  const packed = packRecords(records, codebook, options);
  if (!packed.ok) return packed;
  if (packed.value.length > 1) {
    return err("WIRE_TOO_LARGE", `${records.length} records need ${packed.value.length} payloads of at most ${options.maxBytes ?? MAX_PAYLOAD_BYTES} bytes; use packRecords to split them`);
  }
  return ok(packed.value[0]!);
}

/** Whether bytes look like a meshaid payload (the tag byte), before decoding them. */
export function isMeshaidPayload(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === PROTOCOL_TAG;
}

/**
 * Decodes a radio payload heard from `origin`. Never throws: a typed WireError names what is wrong.
 * With the coalition key, an authentication tag is checked (`auth` in the result).
 */
export function decodePayload(bytes: Uint8Array, codebook: Codebook, origin: number, auth?: AuthKey): Result<DecodedPayload> {
  if (bytes.length === 0 || bytes[0] !== PROTOCOL_TAG) {
    const first = bytes.length === 0 ? "an empty payload" : `first byte 0x${bytes[0]!.toString(16).padStart(2, "0")}`;
    return err("WIRE_FOREIGN", `not a meshaid payload (${first}, expected tag 0x${PROTOCOL_TAG.toString(16)})`);
  }
  if (bytes.length < 2) return err("WIRE_TRUNCATED", "a meshaid payload cut after its tag byte");
  const layout = bytes[1]!;
  if (layout >> 4 !== PROTOCOL_VERSION) return err("WIRE_VERSION", `meshaid protocol version ${layout >> 4}; this station reads version ${PROTOCOL_VERSION}: update meshaid`);
  const head = readVarint(bytes, 2);
  if (!head) return err("WIRE_TRUNCATED", "a meshaid payload cut in its header");
  if (head.value > U32) return err("WIRE_MALFORMED", "first sequence number out of range");
  const several = (layout & SEVERAL) !== 0;
  const firstKind = layout & KIND_IN_RECORD;
  let seq = head.value;
  const parts: Uint8Array[] = [];
  if (!several) parts.push(bytes.subarray(head.next));
  else {
    let at = head.next;
    while (at < bytes.length) {
      const length = readVarint(bytes, at);
      if (!length || length.next + length.value > bytes.length) return err("WIRE_TRUNCATED", `record ${parts.length + 1}: the bytes end mid-record`);
      parts.push(bytes.subarray(length.next, length.next + length.value));
      at = length.next + length.value;
    }
    if (parts.length < 2) return err("WIRE_MALFORMED", "a payload marked as several records holds fewer than two");
  }
  const decoded: DecodedPayload = { records: [] };
  for (const [index, part] of parts.entries()) {
    try {
      const message = decodeMessage(part);
      if (message.auth !== undefined) {
        // One encoding: the tag's own bytes, once, at the very end of the payload.
        const last = index === parts.length - 1 && part.byteOffset + part.length === bytes.byteOffset + bytes.length;
        if (!last || message.auth.length !== AUTH_TAG_BYTES || !endsWithAuthTrailer(part) || decodeMessage(part.subarray(0, part.length - AUTH_TRAILER_BYTES)).auth !== undefined) {
          invalid("an authentication tag must be the last 8-byte field of the payload, once");
        }
        decoded.auth = auth ? (verifyAuthTrailer(auth, origin, bytes) ? "valid" : "invalid") : "unchecked";
      }
      if (index > 0) seq = (seq + 1 + (message.seqSkip ?? 0)) % 2 ** 32;
      else if (message.seqSkip) invalid("the first record skips no sequence numbers");
      if (index === 0 && firstKind < KIND_IN_RECORD) {
        // One encoding per record: a first record whose kind the header gives carries none.
        if (message.kind !== undefined) invalid("the first record's kind is in the header byte");
        message.kind = firstKind;
      } else if (index === 0 && (message.kind ?? 0) < KIND_IN_RECORD) invalid(`header kind ${KIND_IN_RECORD} means a record kind of ${KIND_IN_RECORD} or more`);
      if (message.codebook !== undefined) {
        decoded.codebook = (message.codebook >>> 0).toString(16).padStart(8, "0");
        decoded.codebookMatches = decoded.codebook === codebook.hash;
      }
      const hasOrigOrigin = isSet(message.origOrigin);
      if (hasOrigOrigin !== isSet(message.origSeq)) invalid("a record's own id gives both its origin and its seq");
      if (!isControl(message) && (message.digest?.length || message.digestWindowS)) invalid("a digest travels only on a held ACK or a RESEND");
      if (isControl(message)) {
        if (several) invalid("a held ACK or a RESEND travels alone in its payload");
        if (hasOrigOrigin) invalid("a held ACK or a RESEND is the sender's own");
        decoded.control = controlFromMessage(message, seq);
        continue;
      }
      // A record with its own id (another origin's, put on the air by this sender) keeps it; the chain goes on from `seq`.
      const id: RecordId = hasOrigOrigin ? { origin: message.origOrigin! >>> 0, seq: message.origSeq! } : { origin, seq };
      if (hasOrigOrigin && id.origin === origin) invalid("a record of the sender's own carries no id of its own");
      decoded.records.push({ id, body: fromMessage(message, codebook, id.origin) });
    } catch (cause) {
      return decodeFailure(cause, `record ${index + 1} of the payload from !${(origin >>> 0).toString(16)}`);
    }
  }
  return ok(decoded);
}

// ---- base station to base station: held ACKs and RESENDs ----

const ACK_KIND = 6;
const HELD_STATE = 4;
const RESEND_KIND = 8;

function isControl(message: RecordMessage): boolean {
  return (message.kind === ACK_KIND && message.state === HELD_STATE) || message.kind === RESEND_KIND;
}

/** Runs as AckRef values: start, length - 1, then (seqs missing before, length - 1) per further run. */
function runValues(runs: readonly SeqRun[]): number[] {
  const values: number[] = [];
  let end = -1;
  for (const [from, to] of runs) {
    whole(from, "run start");
    whole(to, "run end");
    if (to < from) invalid(`run ${from}..${to} ends before it starts`);
    if (end >= 0 && from <= end + 1) invalid("runs must be ascending with a gap between them");
    values.push(end < 0 ? from : from - end - 1, to - from);
    end = to;
  }
  return values;
}

function runsFrom(values: readonly number[]): SeqRun[] {
  if (values.length % 2 !== 0) invalid("held runs come in pairs");
  const runs: SeqRun[] = [];
  let end = -1;
  for (let i = 0; i < values.length; i += 2) {
    if (i > 0 && values[i] === 0) invalid("held runs that touch");
    const from = end < 0 ? values[i]! : end + 1 + values[i]!;
    end = from + values[i + 1]!;
    if (end > U32) invalid("held seq out of range");
    runs.push([from, end]);
  }
  if (runs.length === 0) invalid("a holding without runs");
  return runs;
}

function seqDeltas(seqs: readonly number[]): number[] {
  const sorted = [...new Set(seqs.map((seq) => whole(seq, "seq")))].sort((a, b) => a - b);
  return sorted.map((seq, i) => (i === 0 ? seq : seq - sorted[i - 1]!));
}

function controlFromMessage(message: RecordMessage, latest: number): StationControl {
  const groups = message.acks ?? [];
  if (message.kind === RESEND_KIND) {
    const wanted: RecordId[] = [];
    for (const group of groups) {
      let seq = 0;
      (group.seqDeltas ?? []).forEach((delta, i) => {
        if (i > 0 && delta === 0) invalid("a resend names a record twice");
        seq += delta;
        if (seq > U32) invalid("resend seq out of range");
        wanted.push({ origin: group.origin ?? 0, seq });
      });
    }
    const hashes = message.digest ?? [];
    if (message.digestWindowS) invalid("a resend carries no digest window");
    if (wanted.length === 0 && hashes.length === 0) invalid("a resend without records");
    return { kind: "resend", latest, wanted, ...(hashes.length > 0 ? { hashes } : {}) };
  }
  const holdings: Holding[] = groups.map((group) => ({ origin: group.origin ?? 0, runs: runsFrom(group.seqDeltas ?? []) }));
  if (!message.digestWindowS) {
    if (message.digest?.length) invalid("a holding digest without its window");
    return { kind: "held", latest, holdings };
  }
  return { kind: "held", latest, holdings, digest: { windowS: message.digestWindowS, hashes: message.digest ?? [] } };
}

function hashList(hashes: readonly number[]): number[] {
  return hashes.map((hash) => whole(hash, "record hash"));
}

function controlMessage(control: StationControl): RecordMessage {
  if (control.kind === "resend") {
    const hashes = hashList(control.hashes ?? []);
    if (control.wanted.length === 0 && hashes.length === 0) invalid("a resend names at least one record");
    const byOrigin = new Map<number, number[]>();
    for (const id of control.wanted) byOrigin.set(whole(id.origin, "origin"), [...(byOrigin.get(id.origin) ?? []), id.seq]);
    const acks = [...byOrigin.entries()].sort(([a], [b]) => a - b).map(([origin, seqs]) => ({ origin, seqDeltas: seqDeltas(seqs) }));
    return { kind: RESEND_KIND, ...(acks.length > 0 ? { acks } : {}), ...(hashes.length > 0 ? { digest: hashes } : {}) };
  }
  const acks = control.holdings.map((holding) => {
    if (holding.runs.length === 0) invalid(`the holding of !${(holding.origin >>> 0).toString(16)} has no runs`);
    return { origin: whole(holding.origin, "origin"), seqDeltas: runValues(holding.runs) };
  });
  const digest = control.digest ? { ...(control.digest.hashes.length > 0 ? { digest: hashList(control.digest.hashes) } : {}), digestWindowS: whole(control.digest.windowS, "digest window", 1) } : {};
  return { state: HELD_STATE, ...(acks.length > 0 ? { acks } : {}), ...digest };
}

/** A control's one record, tagged like records (the trailer ends it) when `signer` is given. */
function controlPayload(control: StationControl, signer?: { origin: number; auth: AuthKey }): Uint8Array {
  const message = controlMessage(control);
  const kind = control.kind === "resend" ? KIND_IN_RECORD : ACK_KIND;
  const body = RecordType.encode(control.kind === "resend" ? message : { ...message, kind: undefined }).finish();
  const payload = Uint8Array.from([PROTOCOL_TAG, (PROTOCOL_VERSION << 4) | kind, ...varint(whole(control.latest, "latest seq")), ...body, ...(signer ? authTrailerPlaceholder() : [])]);
  if (signer) payload.set(authTag(signer.auth, signer.origin, payload.subarray(0, payload.length - AUTH_TRAILER_BYTES)), payload.length - AUTH_TAG_BYTES);
  return payload;
}

/**
 * A held ACK or a RESEND as payloads (each travels alone): split across several when its
 * holdings or wanted records do not fit in one. A single holding too large even alone is refused
 * with WIRE_TOO_LARGE (the caller keeps fewer runs). With the coalition key (and the sender's
 * `origin`) each payload ends with the same tag as records (src/wire/auth.ts).
 */
export function packControl(control: StationControl, options: { maxBytes?: number; origin?: number; auth?: AuthKey } = {}): Result<Uint8Array[]> {
  const maxBytes = Math.min(options.maxBytes ?? MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES);
  if (control.kind === "resend" && control.wanted.length === 0 && (control.hashes ?? []).length === 0) return err("WIRE_INVALID_RECORD", "cannot encode a resend control: it names no records");
  if (options.auth && options.origin === undefined) return err("WIRE_INVALID_RECORD", "an authenticated control needs the sender's node number (origin)");
  const signer = options.auth ? { origin: options.origin as number, auth: options.auth } : undefined;
  try {
    // The digest rides on the first payload of a held ACK; a resend's wanted ids and hashes are spread like its records.
    const parts: StationControl[] =
      control.kind === "held"
        ? control.holdings.length === 0
          ? [control]
          : control.holdings.map((holding, index) => ({ kind: "held", latest: control.latest, holdings: [holding], ...(index === 0 && control.digest ? { digest: control.digest } : {}) }))
        : [...control.wanted.map((id): StationControl => ({ kind: "resend", latest: control.latest, wanted: [id] })), ...(control.hashes ?? []).map((hash): StationControl => ({ kind: "resend", latest: control.latest, wanted: [], hashes: [hash] }))];
    const payloads: Uint8Array[] = [];
    let current: StationControl | undefined;
    let currentBytes: Uint8Array | undefined;
    for (const part of parts) {
      const joined: StationControl | undefined =
        current === undefined
          ? undefined
          : current.kind === "held" && part.kind === "held"
            ? { ...current, holdings: [...current.holdings, ...part.holdings] }
            : current.kind === "resend" && part.kind === "resend"
              ? { ...current, wanted: [...current.wanted, ...part.wanted], ...(current.hashes || part.hashes ? { hashes: [...(current.hashes ?? []), ...(part.hashes ?? [])] } : {}) }
              : undefined;
      const joinedBytes = joined ? controlPayload(joined, signer) : undefined;
      if (joined && joinedBytes && joinedBytes.length <= maxBytes) {
        current = joined;
        currentBytes = joinedBytes;
        continue;
      }
      if (currentBytes) payloads.push(currentBytes);
      current = part;
      currentBytes = controlPayload(part, signer);
      if (currentBytes.length > maxBytes) return err("WIRE_TOO_LARGE", `a ${control.kind} control takes ${currentBytes.length} bytes for one origin; a payload holds ${maxBytes}: send fewer runs`);
    }
    if (currentBytes) payloads.push(currentBytes);
    return ok(payloads);
  } catch (error) {
    if (error instanceof Invalid) return err("WIRE_INVALID_RECORD", `cannot encode a ${control.kind} control: ${error.message}`);
    throw error;
  }
}

// ---- the station's log ----

/** A LoggedRecord as encoded, or as decoded (then unset messages read null, and the uint64 a Long). */
interface LoggedRecordMessage {
  origin?: number;
  v0?: { seq?: number; supplyRequest?: { item?: number; quantity?: number; priority?: number } | null; incident?: { type?: number; casualties?: number } | null; shift?: { off?: boolean } | null } | null;
  receivedAt?: number | protobuf.Long;
  text?: string;
  sender?: string;
  seq?: number;
  record?: RecordMessage | null;
  codebook?: number;
  auth?: number;
}

/** How a record's sender was known, as the log stores it (0: not checked). */
const AUTH_CODES: readonly (RecordAuth | undefined)[] = [undefined, "mac", "station", "handheld", "none"];

/**
 * Bodies marked shared (deep-frozen: a preset table's), each with what the log writes for it under
 * the codebook last used: fields 7 (its Record bytes, length first) and 8 (the codebook's hash), ready
 * to copy (null until first written). One lookup per record.
 */
const sharedBodies = new WeakMap<RecordBody, { codebook: Codebook; tail: Uint8Array } | null>();

/**
 * Marks a body that many records share and nobody changes (a preset table's): it is frozen, with
 * everything in it, and the log's encoder keeps its Record bytes instead of encoding it again for
 * every record (a station logs the same few presets all day). Returns the body.
 */
export function shareBody<T extends RecordBody>(body: T): T {
  deepFreeze(body);
  if (!sharedBodies.has(body)) sharedBodies.set(body, null);
  return body;
}

function deepFreeze(value: object): void {
  for (const inner of Object.values(value)) if (typeof inner === "object" && inner !== null) deepFreeze(inner as object);
  Object.freeze(value);
}

/** Fields 7 and 8 of a LoggedRecord for a shared body, or undefined (not shared, refers to another record, or does not encode: the full path says why). */
function sharedTail(body: RecordBody, codebook: Codebook): Uint8Array | undefined {
  const kept = sharedBodies.get(body);
  // A status's reference leaves out its origin when it is the sender's own: the bytes depend on the record.
  if (kept === undefined || body.kind === "supply_status") return undefined;
  if (kept !== null && kept.codebook === codebook) return kept.tail;
  const message = recordMessage(body, codebook);
  if (!message.ok) return undefined;
  const bytes = RecordType.encode(message.value).finish();
  const hash = Number.parseInt(codebook.hash, 16) >>> 0;
  const tail = new Uint8Array(1 + varintSize(bytes.length) + bytes.length + (hash ? 5 : 0));
  const at = writeVarint(tail, writeVarint(tail, 0, 58), bytes.length); // 7: record
  tail.set(bytes, at);
  if (hash) writeFixed32(tail, writeTag(tail, at + bytes.length, 69), hash); // 8: codebook
  sharedBodies.set(body, { codebook, tail });
  return tail;
}

/**
 * A LoggedRecord around a shared body, written straight into one buffer: the same bytes as
 * LoggedRecordType.encode (fields in number order, zero scalars left out as proto3 does, the
 * Record as its bytes, length first; a property test holds the two to the same bytes). A
 * protobufjs Writer allocates an operation per field: on the path every heard preset takes, that
 * was most of what encoding cost. Undefined for what only the Writer writes alike (ids or times
 * that are not whole numbers in range, text with unpaired surrogates).
 */
function loggedAround(record: FieldRecord, tail: Uint8Array): Uint8Array | undefined {
  const { origin, seq } = record.id;
  const { receivedAt, text = "", sender = "" } = record;
  if (!isUint32(origin) || !isUint32(seq) || !Number.isSafeInteger(receivedAt) || receivedAt < 0) return undefined;
  if ((text !== "" && UNPAIRED_SURROGATE.test(text)) || (sender !== "" && UNPAIRED_SURROGATE.test(sender))) return undefined;
  const auth = record.auth === undefined ? 0 : AUTH_CODES.indexOf(record.auth) >>> 0;
  const utf8 = protobuf.util.utf8;
  const textBytes = text === "" ? 0 : utf8.length(text);
  const senderBytes = sender === "" ? 0 : utf8.length(sender);
  let size = tail.length;
  if (origin) size += 5;
  if (receivedAt) size += 1 + varintSize(receivedAt);
  if (textBytes) size += 1 + varintSize(textBytes) + textBytes;
  if (senderBytes) size += 1 + varintSize(senderBytes) + senderBytes;
  if (seq) size += 1 + varintSize(seq);
  if (auth) size += 1 + varintSize(auth);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (origin) at = writeFixed32(out, writeTag(out, at, 13), origin); // 1: origin
  if (receivedAt) at = writeVarint(out, writeVarint(out, at, 24), receivedAt); // 3: received_at
  if (textBytes) {
    at = writeVarint(out, writeVarint(out, at, 34), textBytes); // 4: text
    at += utf8.write(text, out, at);
  }
  if (senderBytes) {
    at = writeVarint(out, writeVarint(out, at, 42), senderBytes); // 5: sender
    at += utf8.write(sender, out, at);
  }
  if (seq) at = writeVarint(out, writeVarint(out, at, 48), seq); // 6: seq
  out.set(tail, at); // 7: record, 8: codebook
  at += tail.length;
  if (auth) writeVarint(out, writeVarint(out, at, 72), auth); // 9: auth
  return out;
}

/** Writes a tag byte; the position after it. */
function writeTag(out: Uint8Array, at: number, tag: number): number {
  out[at] = tag;
  return at + 1;
}

/** Writes a fixed32 little-endian; the position after it. */
function writeFixed32(out: Uint8Array, at: number, value: number): number {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = value >>> 24;
  return at + 4;
}

/** Writes a varint (a whole number up to 2^53); the position after it. */
function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at] = (value % 0x80) | 0x80;
    at += 1;
    value = Math.floor(value / 0x80);
  }
  out[at] = value;
  return at + 1;
}

/** In a `u` pattern a pair is one code point: this finds only a surrogate without its other half. */
const UNPAIRED_SURROGATE = /\p{Surrogate}/u;

function isUint32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= U32;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size += 1;
  }
  return size;
}

/** Encodes a record for the station's log. Throws a WireError for a record the codebook cannot encode (nothing is written). */
export function encodeLoggedRecord(record: FieldRecord, codebook: Codebook): Uint8Array {
  const tail = sharedTail(record.body, codebook);
  const around = tail && loggedAround(record, tail);
  if (around) return around;
  const message = recordMessage(record.body, codebook, record.id.origin);
  if (!message.ok) throw message.error;
  const logged: LoggedRecordMessage = { origin: record.id.origin, receivedAt: record.receivedAt, record: message.value, codebook: Number.parseInt(codebook.hash, 16) };
  if (record.id.seq) logged.seq = record.id.seq;
  if (record.text) logged.text = record.text;
  if (record.sender) logged.sender = record.sender;
  if (record.auth !== undefined) logged.auth = AUTH_CODES.indexOf(record.auth);
  return LoggedRecordType.encode(logged).finish();
}

const V0_ITEMS = ["", "water", "food", "eyewash", "gauze", "medic", "cold_pack", "sunscreen", "blanket"];
const V0_INCIDENTS = ["", "injury", "heat_illness", "chemical", "arrests", "crowd_crush"];

function fromLegacy(v0: NonNullable<LoggedRecordMessage["v0"]>): RecordBody {
  if (v0.supplyRequest) {
    const item = V0_ITEMS[v0.supplyRequest.item ?? 0] || invalid(`a 0.1 log entry with item code ${v0.supplyRequest.item ?? 0}`);
    return { kind: "supply_request", lines: [{ item, quantity: v0.supplyRequest.quantity || 1 }], priority: v0.supplyRequest.priority === 1 ? "urgent" : "normal" };
  }
  if (v0.incident) {
    const incident = V0_INCIDENTS[v0.incident.type ?? 0] || invalid(`a 0.1 log entry with incident code ${v0.incident.type ?? 0}`);
    return { kind: "incident", incident, severity: "moderate", casualties: v0.incident.casualties ?? 0 };
  }
  if (v0.shift) return { kind: "shift", action: v0.shift.off ? "off" : "on" };
  return invalid("a 0.1 log entry without a body");
}

/** Decodes a log entry; never throws. Entries written by meshaid 0.1 are read too. */
export function decodeLoggedRecord(bytes: Uint8Array, codebook: Codebook): Result<FieldRecord> {
  try {
    // Field by field with protobufjs's Reader (its wire rules and errors), into the record itself:
    // no message object, no Long per time, no copy of the record's bytes (a replay reads 100,000).
    const reader = protobuf.Reader.create(bytes);
    let origin = 0;
    let seq = 0;
    let receivedAt = 0;
    let text = "";
    let sender = "";
    let auth = 0;
    let bodyStart = -1;
    let bodyEnd = -1;
    let v0: LoggedRecordMessage["v0"];
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      switch (tag) {
        case 13: // 1: origin
          origin = reader.fixed32();
          break;
        case 18: // 2: v0
          v0 = LegacyRecordType.decode(reader, reader.uint32()) as NonNullable<LoggedRecordMessage["v0"]>;
          break;
        case 24: // 3: received_at
          receivedAt = readUint64(reader);
          break;
        case 34: // 4: text
          text = reader.string();
          break;
        case 42: // 5: sender
          sender = reader.string();
          break;
        case 48: // 6: seq
          seq = reader.uint32();
          break;
        case 58: {
          // 7: record, read by loggedBody
          const length = reader.uint32();
          bodyStart = reader.pos;
          reader.skip(length);
          bodyEnd = reader.pos;
          break;
        }
        case 72: // 9: auth
          auth = reader.uint32();
          break;
        default: // 8 (the codebook's hash: the store's codebook reads it), and fields a newer meshaid adds
          reader.skipType(tag & 7);
      }
    }
    let body: RecordBody;
    if (bodyStart >= 0) body = loggedBody(reader.buf, bodyStart, bodyEnd, codebook, origin);
    else if (v0) {
      body = fromLegacy(v0);
      seq = v0.seq ?? 0;
    } else return err("WIRE_NO_BODY", "log entry has no record");
    const value: FieldRecord = { id: { origin, seq }, receivedAt, body };
    if (text) value.text = text;
    if (sender) value.sender = sender;
    if (auth) value.auth = AUTH_CODES[auth] ?? unknownCode(`authentication code ${auth}`);
    return ok(value);
  } catch (cause) {
    return decodeFailure(cause, "not a meshaid log entry");
  }
}

/** A uint64 varint as a number, as protobufjs's LongBits.toNumber(true) gives it, without the Long for the times a log holds. */
function readUint64(reader: protobuf.Reader): number {
  const buf = reader.buf;
  let value = 0;
  let scale = 1;
  // Up to 7 bytes (below 2^49, milliseconds to the year 19,800) the sum is exact.
  for (let at = reader.pos; at < reader.len && at < reader.pos + 7; at += 1) {
    const byte = buf[at] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      reader.pos = at + 1;
      return value;
    }
    scale *= 0x80;
  }
  return protobuf.util.LongBits.from(reader.uint64()).toNumber(true);
}

/** Bodies read from the log, by their bytes, per codebook (the codes are its): shared, frozen. */
const loggedBodies = new WeakMap<Codebook, Map<string, RecordBody>>();
/** Bodies kept per codebook, at most; when full, it starts again (the presets heard most come back first). */
const MAX_LOGGED_BODIES = 1024;

/**
 * A logged record's body from its bytes (`start` to `end` in `buf`): decoded once per distinct body
 * and shared (shareBody: frozen, and its bytes kept for writing it again). A status (its reference
 * may take the record's origin) and a plain message (its own text) are decoded each time.
 */
function loggedBody(buf: Uint8Array, start: number, end: number, codebook: Codebook, origin: number): RecordBody {
  let known = loggedBodies.get(codebook);
  if (!known) loggedBodies.set(codebook, (known = new Map<string, RecordBody>()));
  const key = (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)).toString("latin1", start, end);
  const kept = known.get(key);
  if (kept) return kept;
  const body = fromMessage(RecordType.decode(buf.subarray(start, end)) as RecordMessage, codebook, origin);
  if (body.kind === "supply_status" || body.kind === "message") return body;
  if (known.size >= MAX_LOGGED_BODIES) known.clear();
  known.set(key, shareBody(body));
  return body;
}

