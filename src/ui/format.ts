// Pure text for the console: times, record lines, the radio state in words.
import type { RadioState, RecordView } from "../station/index.ts";
import type { RecordBody } from "../wire/index.ts";

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
        : { text: "▲ REQUEST", color: "yellow", bold: false };
    case "incident":
      return body.casualties > 0
        ? { text: "✚ INCIDENT", color: "red", bold: true }
        : { text: "✚ INCIDENT", color: "magenta", bold: false };
    case "shift":
      return body.action === "on"
        ? { text: "● SHIFT", color: "green", bold: false }
        : { text: "● SHIFT", color: "cyan", bold: false };
  }
}

/**
 * A record's detail in three parts: only `main` (the free word) may be shortened to fit, so the
 * urgency and the quantity or casualty count always stay on screen.
 */
export interface DetailParts {
  lead: string;
  main: string;
  tail: string;
}

export function detailParts(body: RecordBody): DetailParts {
  switch (body.kind) {
    case "supply_request":
      return { lead: body.priority === "urgent" ? "urgent: " : "", main: word(body.item), tail: ` ×${body.quantity}` };
    case "incident":
      return {
        lead: "",
        main: word(body.incident),
        tail: `, ${body.casualties} ${body.casualties === 1 ? "casualty" : "casualties"}`,
      };
    case "shift":
      return { lead: "", main: body.action === "on" ? "on shift" : "off shift", tail: "" };
  }
}

/** "water ×1", "urgent: eyewash ×10", "injury, 1 casualty", "on shift". */
export function recordDetail(body: RecordBody): string {
  const { lead, main, tail } = detailParts(body);
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

/** "radio: connected", "radio: reconnecting (device rebooted)". */
export function radioText(radio: RadioState): string {
  if (isExpected(radio.status, radio.reason)) return `radio: ${radio.status}`;
  const words = (REASON_WORDS as Partial<Record<string, string>>)[radio.reason] ?? sanitize(radio.reason).replaceAll("-", " ");
  return `radio: ${radio.status} (${words})`;
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
