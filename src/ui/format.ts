// Pure text for the console: times, record lines, the radio state in words.
import type { RadioState, RecordDelivery, RecordView } from "../station/index.ts";
import type { Words } from "./i18n.ts";
import type { CodebookCategory, RecordBody, SupplyLine } from "../wire/index.ts";

type LinkStatus = RadioState["status"];
type LinkReason = RadioState["reason"];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** HH:MM:SS in the local time zone. */
export function formatTime(time: Date | number): string {
  const date = typeof time === "number" ? new Date(time) : time;
  if (Number.isNaN(date.getTime())) return "--:--:--";
  return `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`;
}

/**
 * Makes text heard on the air safe to print: control characters (ESC would let a hostile
 * sender drive the coordinator's terminal), bidirectional overrides and line breaks become "?".
 */
export function sanitize(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const unsafe =
      code < 0x20 ||
      (code >= 0x7f && code <= 0x9f) ||
      code === 0x200e ||
      code === 0x200f ||
      code === 0x2028 ||
      code === 0x2029 ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069);
    out += unsafe ? "?" : char;
  }
  return out;
}

/** A codebook word as people read it ("tear_gas" -> "tear gas"). */
function word(code: string): string {
  return sanitize(code).replaceAll("_", " ");
}

/**
 * Codebook names in the coordinator's words: the codebook's labels in a language (the command
 * line builds one), or by default the names themselves ("tear_gas" -> "tear gas").
 */
export type Labeller = (category: CodebookCategory, name: string) => string;

const plainWords: Labeller = (_category, name) => name.replaceAll("_", " ");

export interface KindLabel {
  /** A symbol and a word, so the kind never depends on colour alone. */
  text: string;
  color: string;
  bold: boolean;
}

/** Colour is a secondary cue: urgent requests and incidents with casualties stand out. */
export function kindLabel(body: RecordBody): KindLabel {
  switch (body.kind) {
    case "supply_request":
      return body.priority === "urgent"
        ? { text: "▲ REQUEST", color: "red", bold: true }
        : { text: "▲ REQUEST", color: "yellow", bold: body.priority === "high" };
    case "incident":
      return body.casualties > 0 || body.severity === "extreme"
        ? { text: "✚ INCIDENT", color: "red", bold: true }
        : { text: "✚ INCIDENT", color: "magenta", bold: body.severity === "severe" };
    case "shift":
      return body.action === "on"
        ? { text: "● SHIFT", color: "green", bold: false }
        : { text: "● SHIFT", color: "cyan", bold: false };
    case "checkin":
      return body.status === "emergency" || body.status === "need_assist"
        ? { text: "✓ CHECK-IN", color: "red", bold: true }
        : { text: "✓ CHECK-IN", color: "green", bold: false };
    case "supply_offer":
      return { text: "△ OFFER", color: "blue", bold: false };
    case "supply_status":
      return { text: "➜ SUPPLY", color: "blue", bold: false };
    case "ack":
      return { text: "✔ ACK", color: "gray", bold: false };
    case "message":
      return { text: "✉ MESSAGE", color: "white", bold: false };
  }
}

/**
 * A record's detail in three parts: only `main` (the free words) may be shortened to fit, so the
 * urgency and the quantity or casualty count always stay on screen.
 */
export interface DetailParts {
  lead: string;
  main: string;
  tail: string;
}

/** `place` is where the record says, in words (RecordView.place). */
export function detailParts(body: RecordBody, place?: string, labels: Labeller = plainWords): DetailParts {
  const at = place ? ` @ ${sanitize(place)}` : "";
  const item = (name: string): string => sanitize(labels("items", name));
  const lines = (list: readonly SupplyLine[]): string => list.map((line) => `${item(line.item)}${line.quantity === undefined ? "" : ` ×${line.quantity}`}`).join(", ");
  switch (body.kind) {
    case "supply_request": {
      const lead = body.priority === "urgent" || body.priority === "high" ? `${body.priority}: ` : "";
      const [first] = body.lines;
      if (body.lines.length === 1 && first) return { lead, main: item(first.item), tail: `${first.quantity === undefined ? "" : ` ×${first.quantity}`}${at}` };
      return { lead, main: lines(body.lines), tail: at };
    }
    case "incident": {
      const counts = [`${body.casualties} ${body.casualties === 1 ? "casualty" : "casualties"}`];
      if (body.people) counts.push(`${body.people} people`);
      return { lead: body.severity === "extreme" || body.severity === "severe" ? `${body.severity}: ` : "", main: sanitize(labels("incidents", body.incident)), tail: `, ${counts.join(", ")}${at}` };
    }
    case "shift": {
      const main = body.action === "handoff" ? `handoff${body.from || body.to ? ` ${sanitize(body.from ?? "?")} → ${sanitize(body.to ?? "?")}` : ""}` : body.action === "on" ? "on shift" : "off shift";
      return { lead: "", main: `${main}${body.role ? ` (${sanitize(labels("roles", body.role))})` : ""}`, tail: at };
    }
    case "checkin":
      return { lead: "", main: word(body.status), tail: `${body.battery === undefined ? "" : `, battery ${body.battery}%`}${at}` };
    case "supply_offer":
      return { lead: "", main: lines(body.lines), tail: at };
    case "supply_status":
      return { lead: `${word(body.status)}${body.lines && body.lines.length > 0 ? ": " : ""}`, main: body.lines ? lines(body.lines) : "", tail: `${body.etaMin ? `, ETA ${body.etaMin} min` : ""}${at}` };
    case "ack":
      return { lead: `${word(body.code)}: `, main: `${body.refs.length} ${body.refs.length === 1 ? "record" : "records"}`, tail: "" };
    case "message":
      return { lead: "", main: `"${sanitize(body.text)}"`, tail: "" };
  }
}

/** "water ×1", "urgent: eyewash ×10 @ North Gate", "injury, 1 casualty", "on shift". */
export function recordDetail(body: RecordBody, place?: string, labels?: Labeller): string {
  const { lead, main, tail } = detailParts(body, place, labels);
  return lead + main + tail;
}

/** At most `max` characters, with an ellipsis when shortened. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : text;
}

/** The sender's callsign, safe to print and at most 12 characters. */
export function senderLabel(record: RecordView): string {
  return clip(sanitize(record.sender), 12);
}

const REASON_WORDS: Record<LinkReason, string> = {
  starting: "starting",
  "handshake-complete": "handshake complete",
  "device-rebooted": "device rebooted",
  "stream-ended": "connection lost",
  "read-error": "read error",
  "write-error": "write error",
  "handshake-timeout": "radio did not answer",
  "idle-timeout": "radio went silent",
  unplugged: "radio unplugged",
  "open-failed": "cannot open the radio",
  user: "stopped by operator",
};

/** Reasons that only repeat what the status already says. */
function isExpected(status: LinkStatus, reason: LinkReason): boolean {
  return (status === "connected" && reason === "handshake-complete") || reason === "starting";
}

/** "radio: connected", "radio: reconnecting (device rebooted)"; in Spanish with `w` from i18n. */
export function radioText(radio: RadioState, w?: Words): string {
  const status = w?.radioStatus[radio.status] ?? radio.status;
  if (isExpected(radio.status, radio.reason)) return `radio: ${status}`;
  const words = w?.radioReasons[radio.reason] ?? (REASON_WORDS as Partial<Record<string, string>>)[radio.reason] ?? sanitize(radio.reason).replaceAll("-", " ");
  return `radio: ${status} (${words})`;
}

export function radioColor(radio: RadioState): string {
  switch (radio.status) {
    case "connected":
      return "green";
    case "closed":
      return "red";
    default:
      return "yellow";
  }
}

/** A symbol for each delivery state, so the state never rests on colour alone. */
const DELIVERY_SYMBOLS: Record<RecordDelivery["state"], string> = {
  queued: "◷",
  sent: "↑",
  heard: "◐",
  confirmed: "✔",
  failed: "✗",
  unknown: "?",
};

/**
 * Where one of this station's own records stands, in words that claim no more than the radio
 * knows: a neighbour's rebroadcast is "heard by a neighbour", never "delivered".
 */
export function deliveryText(delivery: RecordDelivery, w: Words): string {
  const symbol = DELIVERY_SYMBOLS[delivery.state] ?? "?";
  const reason = delivery.reason === undefined || delivery.reason === "" ? undefined : sanitize(delivery.reason).replaceAll("_", " ").toLowerCase();
  switch (delivery.state) {
    case "failed":
      return `${symbol} ${w.deliveryFailed}: ${reason ?? w.deliveryNoReason}`;
    case "unknown":
      return `${symbol} ${w.deliveryUnknown}: ${reason ?? w.deliveryNoAnswer}`;
    default:
      return `${symbol} ${w.delivery[delivery.state]}`;
  }
}

/** Which base stations hold a record: "2/3 stations". */
export function stationsText(delivery: RecordDelivery, w: Words): string | undefined {
  const stations = delivery.stations;
  return stations === undefined ? undefined : `${stations.have}/${stations.of} ${w.stations}`;
}

/** A delivery short enough for a feed line: the group's count when other base stations are known. */
export function deliveryShort(delivery: RecordDelivery, w: Words): string {
  const stations = stationsText(delivery, w);
  return stations === undefined ? deliveryText(delivery, w) : `${DELIVERY_SYMBOLS[delivery.state] ?? "?"} ${stations}`;
}

/** A delivery in full, for the detail: the radio's state, then the stations that hold it and those that do not yet. */
export function deliveryLong(delivery: RecordDelivery, w: Words): string {
  const stations = stationsText(delivery, w);
  if (stations === undefined) return deliveryText(delivery, w);
  const missing = delivery.stations?.missing ?? [];
  return `${deliveryText(delivery, w)} · ${stations}${missing.length > 0 ? ` (${w.stationsMissing} ${missing.map(sanitize).join(", ")})` : ""}`;
}

/** A suggested offer in words: "water x30 @ First Aid, 120 m · MED2". */
export function matchText(match: { item: string; quantity?: number; place?: string; distanceM?: number; by: string }, labels: Labeller = plainWords, w?: Words): string {
  const what = `${sanitize(labels("items", match.item))}${match.quantity === undefined ? "" : ` x${match.quantity}`}`;
  const where = match.place === undefined ? "" : ` @ ${sanitize(match.place)}`;
  const far = match.distanceM === undefined ? "" : `, ${formatMetres(match.distanceM)}${w ? ` ${w.away}` : ""}`;
  return `${what}${where}${far} · ${sanitize(match.by)}`;
}

function formatMetres(metres: number): string {
  return metres >= 1000 ? `${(metres / 1000).toFixed(1)} km` : `${Math.round(metres / 10) * 10} m`;
}

export function deliveryColor(delivery: RecordDelivery): string | undefined {
  switch (delivery.state) {
    case "confirmed":
      return "green";
    case "failed":
      return "red";
    case "unknown":
      return "yellow";
    default:
      return undefined;
  }
}
