// Compose: what the coordinator is about to send, and what it costs on the air before it goes.
// Pure: the form is a value, keys make a new one, and the preview encodes with src/wire.
import type { Key } from "ink";
import { ACK_CODES, CHECKIN_STATUSES, MESHAID_PORTNUM, PRIORITIES, SEVERITIES, SHIFT_ACTIONS, SUPPLY_STATUSES, packRecords, type Codebook, type Priority, type RecordBody, type RecordId } from "../wire/index.ts";

/** A form for every record kind the station sends, then free text to a handheld. */
export type ComposeMode = "preset" | "request" | "offer" | "status" | "incident" | "shift" | "checkin" | "ack" | "text";
export const COMPOSE_MODES: readonly ComposeMode[] = ["preset", "request", "offer", "status", "incident", "shift", "checkin", "ack", "text"];

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
  /** Index into the targets the status or acknowledgement is about (status: requests only). */
  target: number;
  status: number;
  eta: string;
  shiftAction: number;
  /** Index into the codebook's roles; 0 is no role. */
  role: number;
  /** Handoff: the outgoing and incoming callsigns. */
  from: string;
  handTo: string;
  checkin: number;
  battery: string;
  ackCode: number;
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

/** A record a status or an acknowledgement can be about (an open request or incident). */
export interface ComposeTarget {
  id: RecordId;
  kind: "supply_request" | "incident";
  /** The record in words ("urgent: eyewash ×10 @ North Gate MED7"). */
  label: string;
}

export interface ComposeContext extends ComposeOptions {
  /** Nodes to send text to (the nodes heard); the channel comes before them. */
  destinations: readonly Destination[];
  /** Open requests and incidents, for a status or an acknowledgement (absent: none). */
  targets?: readonly ComposeTarget[];
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
  offer: ["item", "quantity"],
  status: ["target", "status", "eta"],
  incident: ["incident", "casualties", "severity"],
  shift: ["shiftAction", "role", "from", "handTo"],
  checkin: ["checkin", "battery"],
  ack: ["target", "ackCode"],
  text: ["to", "text"],
};

export function newComposeForm(mode: ComposeMode = "preset"): ComposeForm {
  return {
    mode,
    field: 0,
    preset: 0,
    item: 0,
    quantity: "1",
    priority: 0,
    incident: 0,
    casualties: "0",
    severity: 0,
    to: 0,
    text: "",
    target: 0,
    status: 0,
    eta: "",
    shiftAction: 0,
    role: 0,
    from: "",
    handTo: "",
    checkin: 0,
    battery: "",
    ackCode: 0,
  };
}

/** The targets a form can be about: a supply status is about a request; an acknowledgement about either. */
export function targetsFor(form: ComposeForm, ctx: ComposeContext): readonly ComposeTarget[] {
  const targets = ctx.targets ?? [];
  return form.mode === "status" ? targets.filter((target) => target.kind === "supply_request") : targets;
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

export function roleNames(codebook: Codebook): string[] {
  return [...codebook.lists.roles.entries].sort((a, b) => a.code - b.code).map((entry) => entry.name);
}

/** A whole number typed into a field, or undefined when the field is empty. */
function wholeNumber(text: string, field: string, min: number, max: number): number | undefined | string {
  if (text === "") return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) return `${field} must be a whole number from ${min} to ${max}`;
  return n;
}

/** The body the supply-offer form describes. */
export function offerBody(form: ComposeForm, codebook: Codebook): RecordBody | string {
  const request = requestBody(form, codebook);
  if (typeof request === "string" || request.kind !== "supply_request") return request;
  return { kind: "supply_offer", lines: request.lines };
}

/** The body the supply-status form describes: about the chosen open request. */
export function statusBody(form: ComposeForm, ctx: ComposeContext): RecordBody | string {
  const target = targetsFor(form, ctx)[form.target];
  if (target === undefined) return "no open request to report on";
  const status = SUPPLY_STATUSES[form.status] ?? "acknowledged";
  const eta = wholeNumber(form.eta, "the ETA", 0, 1440);
  if (typeof eta === "string") return eta;
  return { kind: "supply_status", status, ref: target.id, ...(eta === undefined ? {} : { etaMin: eta }) };
}

/** The body the shift form describes; a handoff names at least who takes over. */
export function shiftBody(form: ComposeForm, codebook: Codebook): RecordBody | string {
  const action = SHIFT_ACTIONS[form.shiftAction] ?? "on";
  const role = form.role === 0 ? undefined : roleNames(codebook)[form.role - 1];
  if (action === "handoff" && form.handTo === "") return "a handoff needs the callsign taking over";
  return {
    kind: "shift",
    action,
    ...(role === undefined ? {} : { role }),
    ...(action === "handoff" ? { to: form.handTo, ...(form.from === "" ? {} : { from: form.from }) } : {}),
  };
}

/** The body the check-in form describes. */
export function checkinBody(form: ComposeForm): RecordBody | string {
  const battery = wholeNumber(form.battery, "the battery", 0, 100);
  if (typeof battery === "string") return battery;
  return { kind: "checkin", status: CHECKIN_STATUSES[form.checkin] ?? "ok", ...(battery === undefined ? {} : { battery }) };
}

/** The body the acknowledgement form describes: about the chosen open request or incident. */
export function ackBody(form: ComposeForm, ctx: ComposeContext): RecordBody | string {
  const target = targetsFor(form, ctx)[form.target];
  if (target === undefined) return "no open request or incident to acknowledge";
  return { kind: "ack", code: ACK_CODES[form.ackCode] ?? "received", refs: [target.id] };
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

/** The record the form describes, or why it cannot be sent. */
export function formBody(form: ComposeForm, ctx: ComposeContext): RecordBody | string {
  switch (form.mode) {
    case "preset":
      return ctx.presets[form.preset]?.body ?? "no presets";
    case "request":
      return requestBody(form, ctx.codebook);
    case "offer":
      return offerBody(form, ctx.codebook);
    case "status":
      return statusBody(form, ctx);
    case "incident":
      return incidentBody(form, ctx.codebook);
    case "shift":
      return shiftBody(form, ctx.codebook);
    case "checkin":
      return checkinBody(form);
    case "ack":
      return ackBody(form, ctx);
    case "text":
      return "free text is not a record";
  }
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
  const body = formBody(form, ctx);
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
    const count = choiceCount(field, form, ctx);
    if (count === undefined) return { form, send: false };
    const choice = field as ChoiceField;
    return { form: { ...form, [choice]: wrap(form[choice], step, count) }, send: false };
  }
  const typed = TYPED_FIELDS[field];
  if (!typed) return { form, send: false };
  const name = field as TypedField;
  if (key.backspace || key.delete) return { form: { ...form, [name]: [...form[name]].slice(0, -1).join("") }, send: false };
  if (key.ctrl || key.meta || key.escape || input === "") return { form, send: false };
  // A lone 0 is replaced by the first digit typed (casualties start at 0).
  const current = typed.kind === "digits" && form[name] === "0" ? "" : form[name];
  if (typed.kind === "digits") return /^\d+$/.test(input) ? { form: { ...form, [name]: (current + input).slice(0, typed.max) }, send: false } : { form, send: false };
  if (typed.kind === "callsign") {
    const clean = input.toUpperCase().replace(/[^A-Z0-9_-]/g, "");
    return { form: { ...form, [name]: [...(current + clean)].slice(0, typed.max).join("") }, send: false };
  }
  // Free text takes what is typed, without control characters.
  return { form: { ...form, [name]: current + input.replace(/\p{Cc}/gu, "") }, send: false };
}

type ChoiceField = "preset" | "item" | "priority" | "incident" | "severity" | "to" | "target" | "status" | "shiftAction" | "role" | "checkin" | "ackCode";
type TypedField = "quantity" | "casualties" | "eta" | "battery" | "from" | "handTo" | "text";

/** Fields typed into: digits (at most `max` of them), a callsign, or free text. */
const TYPED_FIELDS: Partial<Record<string, { kind: "digits" | "callsign" | "text"; max: number }>> = {
  quantity: { kind: "digits", max: 5 },
  casualties: { kind: "digits", max: 4 },
  eta: { kind: "digits", max: 4 },
  battery: { kind: "digits", max: 3 },
  from: { kind: "callsign", max: 10 },
  handTo: { kind: "callsign", max: 10 },
  text: { kind: "text", max: Infinity },
};

/** How many values a choice field cycles through (←→), or undefined when the field is typed. */
export function choiceCount(field: string, form: ComposeForm, ctx: ComposeContext): number | undefined {
  switch (field) {
    case "preset":
      return ctx.presets.length;
    case "item":
      return itemNames(ctx.codebook).length;
    case "priority":
      return PRIORITIES.length;
    case "incident":
      return incidentNames(ctx.codebook).length;
    case "severity":
      return SEVERITIES.length;
    case "to":
      return ctx.destinations.length + 1;
    case "target":
      return targetsFor(form, ctx).length;
    case "status":
      return SUPPLY_STATUSES.length;
    case "shiftAction":
      return SHIFT_ACTIONS.length;
    case "role":
      return roleNames(ctx.codebook).length + 1;
    case "checkin":
      return CHECKIN_STATUSES.length;
    case "ackCode":
      return ACK_CODES.length;
    default:
      return undefined;
  }
}
