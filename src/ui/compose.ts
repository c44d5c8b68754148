// Compose: what the coordinator is about to send, and what it costs on the air before it goes.
// Pure: the form is a value, keys make a new one, and the preview encodes with src/wire.
import type { Key } from "ink";
import { MESHAID_PORTNUM, PRIORITIES, SEVERITIES, packRecords, type Codebook, type Priority, type RecordBody } from "../wire/index.ts";

export type ComposeMode = "preset" | "request" | "incident" | "text";
export const COMPOSE_MODES: readonly ComposeMode[] = ["preset", "request", "incident", "text"];

/** Meshtastic's text port. */
const TEXT_PORTNUM = 1;
/** The 16-byte header in front of every LoRa payload. */
const ON_AIR_HEADER_BYTES = 16;
/** The longest text the radio link sends to handhelds (SendRequest.text: 200 bytes of UTF-8). */
export const TEXT_LIMIT_BYTES = 200;

export interface ComposeForm {
  mode: ComposeMode;
  /** The field with the cursor, within the mode's fields. */
  field: number;
  preset: number;
  item: number;
  quantity: string;
  priority: number;
  incident: number;
  casualties: string;
  severity: number;
  /** Index into the destinations; 0 is the whole channel. */
  to: number;
  text: string;
}

export interface PresetChoice {
  text: string;
  body: RecordBody;
}

/** What compose can offer: the cli passes the codebook, the preset table and the airtime model. */
export interface ComposeOptions {
  codebook: Codebook;
  presets: readonly PresetChoice[];
  /** LONG_FAST time on air (ms) of a LoRa frame of this many bytes, header included. */
  airtimeMs?: (onAirBytes: number) => number;
}

export interface Destination {
  callsign: string;
  /** The node number. */
  num: number;
}

export interface ComposeContext extends ComposeOptions {
  /** Nodes to send text to (the nodes heard); the channel comes before them. */
  destinations: readonly Destination[];
}

export type Outgoing =
  | { kind: "records"; bodies: RecordBody[]; payloads: Uint8Array[] }
  /** `to` undefined: the whole channel. */
  | { kind: "text"; to: Destination | undefined; text: string };

export interface ComposePreview {
  outgoing: Outgoing | undefined;
  /** App payload bytes (each payload for records). */
  payloadBytes: number;
  onAirBytes: number;
  airtimeMs: number | undefined;
  hex: string;
  error: string | undefined;
}

export const FIELDS: Record<ComposeMode, readonly string[]> = {
  preset: ["preset"],
  request: ["item", "quantity", "priority"],
  incident: ["incident", "casualties", "severity"],
  text: ["to", "text"],
};

export function newComposeForm(mode: ComposeMode = "preset"): ComposeForm {
  return { mode, field: 0, preset: 0, item: 0, quantity: "1", priority: 0, incident: 0, casualties: "0", severity: 0, to: 0, text: "" };
}

function varintLength(n: number): number {
  let length = 1;
  for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 0x80)) length += 1;
  return length;
}

/** Bytes on the air: the mesh header and the Data protobuf (portnum, payload) around the app payload. */
export function onAirBytes(payloadBytes: number, portnum: number): number {
  return ON_AIR_HEADER_BYTES + 1 + varintLength(portnum) + 1 + varintLength(payloadBytes) + payloadBytes;
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

export function itemNames(codebook: Codebook): string[] {
  return [...codebook.lists.items.entries].sort((a, b) => a.code - b.code).map((entry) => entry.name);
}

export function incidentNames(codebook: Codebook): string[] {
  return [...codebook.lists.incidents.entries].sort((a, b) => a.code - b.code).map((entry) => entry.name);
}

/** The body the incident form describes. */
export function incidentBody(form: ComposeForm, codebook: Codebook): RecordBody | string {
  const incident = incidentNames(codebook)[form.incident];
  if (incident === undefined) return "the codebook has no incident types";
  const casualties = Number(form.casualties || "0");
  if (!Number.isInteger(casualties) || casualties < 0) return "casualties must be a whole number";
  return { kind: "incident", incident, severity: SEVERITIES[form.severity] ?? "moderate", casualties };
}

/** The body the supply-request form describes. */
export function requestBody(form: ComposeForm, codebook: Codebook): RecordBody | string {
  const item = itemNames(codebook)[form.item];
  if (item === undefined) return "the codebook has no items";
  const quantity = Number(form.quantity);
  if (form.quantity !== "" && (!Number.isInteger(quantity) || quantity < 1)) return "the quantity must be a whole number";
  const priority: Priority = PRIORITIES[form.priority] ?? "normal";
  return { kind: "supply_request", lines: [form.quantity === "" ? { item } : { item, quantity }], priority };
}

export function composePreview(form: ComposeForm, ctx: ComposeContext): ComposePreview {
  const none = { outgoing: undefined, payloadBytes: 0, onAirBytes: 0, airtimeMs: undefined, hex: "" };
  if (form.mode === "text") {
    const bytes = new TextEncoder().encode(form.text);
    const air = onAirBytes(bytes.length, TEXT_PORTNUM);
    const base = { payloadBytes: bytes.length, onAirBytes: air, airtimeMs: ctx.airtimeMs?.(air), hex: hexOf(bytes) };
    if (form.text.trim() === "") return { ...base, outgoing: undefined, error: "type the text" };
    if (bytes.length > TEXT_LIMIT_BYTES) return { ...base, outgoing: undefined, error: `${bytes.length - TEXT_LIMIT_BYTES} bytes too long` };
    const to = form.to === 0 ? undefined : ctx.destinations[form.to - 1];
    return { ...base, outgoing: { kind: "text", to, text: form.text }, error: undefined };
  }
  let body: RecordBody | string;
  if (form.mode === "preset") body = ctx.presets[form.preset]?.body ?? "no presets";
  else if (form.mode === "incident") body = incidentBody(form, ctx.codebook);
  else body = requestBody(form, ctx.codebook);
  if (typeof body === "string") return { ...none, error: body };
  // The sequence number is the station's to give; 1 stands in for it (a varint of one byte).
  const packed = packRecords([{ seq: 1, body }], ctx.codebook);
  if (!packed.ok) return { ...none, error: packed.error.message };
  const payloads = packed.value;
  const payloadBytes = payloads.reduce((sum, p) => sum + p.length, 0);
  const air = payloads.reduce((sum, p) => sum + onAirBytes(p.length, MESHAID_PORTNUM), 0);
  const airtime = ctx.airtimeMs ? payloads.reduce((sum, p) => sum + ctx.airtimeMs!(onAirBytes(p.length, MESHAID_PORTNUM)), 0) : undefined;
  return { outgoing: { kind: "records", bodies: [body], payloads }, payloadBytes, onAirBytes: air, airtimeMs: airtime, hex: payloads.map(hexOf).join(" | "), error: undefined };
}

function wrap(index: number, delta: number, count: number): number {
  if (count <= 0) return 0;
  return (((index + delta) % count) + count) % count;
}

/** A key in the compose form: a new form, and whether to send it. Esc is the caller's. */
export function composeKey(form: ComposeForm, input: string, key: Key, ctx: ComposeContext): { form: ComposeForm; send: boolean } {
  const fields = FIELDS[form.mode];
  const field = fields[form.field] ?? fields[0]!;
  if (key.return) return { form, send: true };
  if (key.tab) {
    const mode = COMPOSE_MODES[wrap(COMPOSE_MODES.indexOf(form.mode), key.shift ? -1 : 1, COMPOSE_MODES.length)]!;
    return { form: { ...form, mode, field: 0 }, send: false };
  }
  if (field === "preset" && (key.upArrow || key.downArrow)) {
    return { form: { ...form, preset: wrap(form.preset, key.upArrow ? -1 : 1, ctx.presets.length) }, send: false };
  }
  if (key.upArrow || key.downArrow) return { form: { ...form, field: wrap(form.field, key.upArrow ? -1 : 1, fields.length) }, send: false };
  const step = key.leftArrow ? -1 : key.rightArrow ? 1 : 0;
  if (step !== 0) {
    if (field === "item") return { form: { ...form, item: wrap(form.item, step, itemNames(ctx.codebook).length) }, send: false };
    if (field === "priority") return { form: { ...form, priority: wrap(form.priority, step, PRIORITIES.length) }, send: false };
    if (field === "incident") return { form: { ...form, incident: wrap(form.incident, step, incidentNames(ctx.codebook).length) }, send: false };
    if (field === "severity") return { form: { ...form, severity: wrap(form.severity, step, SEVERITIES.length) }, send: false };
    if (field === "to") return { form: { ...form, to: wrap(form.to, step, ctx.destinations.length + 1) }, send: false };
    if (field === "preset") return { form: { ...form, preset: wrap(form.preset, step, ctx.presets.length) }, send: false };
    return { form, send: false };
  }
  if (key.backspace || key.delete) {
    if (field === "quantity") return { form: { ...form, quantity: form.quantity.slice(0, -1) }, send: false };
    if (field === "casualties") return { form: { ...form, casualties: form.casualties.slice(0, -1) }, send: false };
    if (field === "text") return { form: { ...form, text: [...form.text].slice(0, -1).join("") }, send: false };
    return { form, send: false };
  }
  if (key.ctrl || key.meta || key.escape || input === "") return { form, send: false };
  if (field === "quantity" && /^\d+$/.test(input)) return { form: { ...form, quantity: (form.quantity + input).slice(0, 5) }, send: false };
  if (field === "casualties" && /^\d+$/.test(input)) return { form: { ...form, casualties: (form.casualties === "0" ? input : form.casualties + input).slice(0, 4) }, send: false };
  // Free text takes what is typed, without control characters.
  if (field === "text") return { form: { ...form, text: form.text + input.replace(/\p{Cc}/gu, "") }, send: false };
  return { form, send: false };
}
