// meshaid's own records, as the rest of the program handles them. Codes travel on the air as
// small numbers (field.proto); here they are the codebook's stable names ("water", "kettle"),
// or "#57" for a code this station's codebook does not know (shown, never dropped).

/**
 * A record's identity: where it was first said and that origin's sequence number. It survives
 * retries, relays and reconnects. On the air the origin is the sender's node number from the mesh
 * header; for text heard from a stock handheld the sequence number is the sender's Meshtastic
 * packet id, the only thing every base station that hears it agrees on.
 */
export interface RecordId {
  /** The originating node number. */
  origin: number;
  seq: number;
}

/** Message priority: `normal` is the default and costs nothing on the air. */
export type Priority = "normal" | "high" | "urgent" | "low";
export const PRIORITIES: readonly Priority[] = ["normal", "high", "urgent", "low"];

/** CAP-like severity of an incident; `moderate`, the commonest, is the default. */
export type Severity = "moderate" | "minor" | "severe" | "extreme" | "unknown";
export const SEVERITIES: readonly Severity[] = ["moderate", "minor", "severe", "extreme", "unknown"];

export type SupplyStatus = "acknowledged" | "en_route" | "delivered" | "cancelled" | "unable";
export const SUPPLY_STATUSES: readonly SupplyStatus[] = ["acknowledged", "en_route", "delivered", "cancelled", "unable"];

export type ShiftAction = "on" | "off" | "handoff";
export const SHIFT_ACTIONS: readonly ShiftAction[] = ["on", "off", "handoff"];

export type CheckinStatus = "ok" | "needs_relief" | "need_assist" | "emergency" | "busy";
export const CHECKIN_STATUSES: readonly CheckinStatus[] = ["ok", "needs_relief", "need_assist", "emergency", "busy"];

export type AckCode = "received" | "wilco" | "unable" | "complete";
export const ACK_CODES: readonly AckCode[] = ["received", "wilco", "unable", "complete"];

/**
 * Where: a landmark of the site plan (one byte on the air), an offset from the site origin in
 * metres (multiples of 10 travel exactly), or, as a last resort, absolute coordinates.
 */
export type Place = { landmark: number } | { east: number; north: number } | { lat: number; lon: number };

/** One line of a supply record: an item name and, when said, how many. */
export interface SupplyLine {
  item: string;
  quantity?: number;
}

export interface SupplyRequestBody {
  kind: "supply_request";
  lines: SupplyLine[];
  priority: Priority;
  place?: Place;
  /** Wanted within this many minutes. */
  needByMin?: number;
}

export interface SupplyOfferBody {
  kind: "supply_offer";
  lines: SupplyLine[];
  place?: Place;
}

export interface SupplyStatusBody {
  kind: "supply_status";
  status: SupplyStatus;
  /** The request this is about, when the sender's device knew it. */
  ref?: RecordId;
  etaMin?: number;
  lines?: SupplyLine[];
  place?: Place;
}

export interface IncidentBody {
  kind: "incident";
  /** An incident type name from the codebook. */
  incident: string;
  severity: Severity;
  /** Casualties in total, triaged or not. */
  casualties: number;
  /** Casualties by triage category name (immediate, delayed, minor, expectant, dead); sums to at most `casualties`. */
  triage?: Record<string, number>;
  hazards?: string[];
  /** People involved or seen (a kettle's size, a group's size, arrests). */
  people?: number;
  responderOnScene?: boolean;
  place?: Place;
}

export interface ShiftBody {
  kind: "shift";
  action: ShiftAction;
  /** A role name from the codebook. */
  role?: string;
  /** The post. */
  place?: Place;
  /** Handoff: the outgoing and incoming callsigns (never names). */
  from?: string;
  to?: string;
  openItems?: number;
  /** Items running low at the post. */
  lowStock?: string[];
}

export interface CheckinBody {
  kind: "checkin";
  status: CheckinStatus;
  /** Battery in percent. */
  battery?: number;
  team?: number;
  place?: Place;
}

export interface AckBody {
  kind: "ack";
  code: AckCode;
  refs: RecordId[];
}

/** Text that was not read into a record: kept and shown as a plain message. */
export interface MessageBody {
  kind: "message";
  text: string;
}

export type RecordBody =
  | SupplyRequestBody
  | SupplyOfferBody
  | SupplyStatusBody
  | IncidentBody
  | ShiftBody
  | CheckinBody
  | AckBody
  | MessageBody;

export type RecordKind = RecordBody["kind"];
export const RECORD_KINDS: readonly RecordKind[] = ["supply_request", "incident", "shift", "checkin", "supply_offer", "supply_status", "ack", "message"];

/** A record as heard and stored by a base station. */
export interface FieldRecord {
  id: RecordId;
  /** When this base station first heard it (ms since the epoch, the station's clock). */
  receivedAt: number;
  body: RecordBody;
  /** The text it was read from, when it came as a preset or typed text. */
  text?: string;
  /** The sender's callsign, when the station knew it on arrival. */
  sender?: string;
  /** How the station knew who sent it, when it checks (it holds a coalition key); see RecordAuth. */
  auth?: RecordAuth;
}

/** A run of consecutive sequence numbers of one origin, both ends included. */
export type SeqRun = [from: number, to: number];

/** What a base station holds of one origin's records: ascending, disjoint, non-adjacent runs. */
export interface Holding {
  origin: number;
  runs: SeqRun[];
}

/**
 * Base station to base station on meshaid's port, never stored in the log. `latest` is the
 * sender's newest own sequence number (0: none yet), so a listener learns of records it missed
 * at the end of a sender's sequence too.
 * - `held` (an ACK, state 4): the records this station holds, per origin, as runs. Cumulative, so
 *   a lost one costs nothing but time; with no holdings it announces a base station.
 * - `resend` (kind 8): please put these records on the air again (their origin answers); with
 *   `hashes`, also the handheld records whose `recordHash` is one of them (any base holding one answers).
 */
export type StationControl = { kind: "held"; latest: number; holdings: Holding[]; digest?: HoldingDigest } | { kind: "resend"; latest: number; wanted: RecordId[]; hashes?: number[] };

/**
 * On a held ACK: the handheld records (another origin's, not a base station's) the sender stored in
 * its last `windowS` seconds, each as `recordHash(id)` (4 bytes). A base station that hears one
 * puts on the air those it stored in that window that the digest lacks, and asks (a resend with
 * `hashes`) for those it lists that it lacks. No hashes: none stored in the window.
 */
export interface HoldingDigest {
  windowS: number;
  hashes: number[];
}

/**
 * How the sender of a record was known: `mac`, a base station's payload with a valid coalition
 * tag; `station`, written by this station or a peer station whose relayed envelope was signed;
 * `handheld`, text from a stock handheld (which cannot authenticate: anyone with the channel key
 * could have sent it); `none`, a meshaid payload without a valid tag (not applied to the boards
 * when it changes shared state).
 */
export type RecordAuth = "mac" | "station" | "handheld" | "none";
