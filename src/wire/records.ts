// Encoding and decoding records with the protobufjs schema in field.proto.
import protobuf from "protobufjs";
import { fileURLToPath } from "node:url";
import type { FieldRecord, RecordBody } from "./types.ts";
import { INCIDENT_CODES, ITEM_CODES, nameOf } from "./codes.ts";
import { WireError, type Result } from "./errors.ts";

// The schema ships beside this file; reading it once at load is the only I/O here.
const schema = protobuf.loadSync(fileURLToPath(new URL("./field.proto", import.meta.url)));
const LoggedRecordType = schema.lookupType("meshaid.field.v0.LoggedRecord");

const PRIORITY_URGENT = 1;

interface RecordMessage {
  seq?: number;
  supplyRequest?: { item?: number; quantity?: number; priority?: number };
  incident?: { type?: number; casualties?: number };
  shift?: { off?: boolean };
}

interface LoggedRecordMessage {
  origin?: number;
  record?: RecordMessage;
  receivedAt?: number | protobuf.Long;
  text?: string;
  sender?: string;
}

function codeOf(codes: Readonly<Record<string, number>>, name: string, what: string): number {
  const code = codes[name];
  if (code === undefined) throw new WireError("WIRE_UNKNOWN_CODE", `unknown ${what} "${name}"`);
  return code;
}

function bodyToMessage(seq: number, body: RecordBody): RecordMessage {
  switch (body.kind) {
    case "supply_request":
      return {
        seq,
        supplyRequest: {
          item: codeOf(ITEM_CODES, body.item, "item"),
          quantity: body.quantity,
          priority: body.priority === "urgent" ? PRIORITY_URGENT : 0,
        },
      };
    case "incident":
      return { seq, incident: { type: codeOf(INCIDENT_CODES, body.incident, "incident type"), casualties: body.casualties } };
    case "shift":
      return { seq, shift: { off: body.action === "off" } };
  }
}

function messageToBody(message: RecordMessage): RecordBody {
  if (message.supplyRequest) {
    const { item = 0, quantity = 0, priority = 0 } = message.supplyRequest;
    const name = nameOf(ITEM_CODES, item);
    if (name === undefined) throw new WireError("WIRE_UNKNOWN_CODE", `unknown item code ${item}`);
    return { kind: "supply_request", item: name, quantity: quantity || 1, priority: priority === PRIORITY_URGENT ? "urgent" : "normal" };
  }
  if (message.incident) {
    const { type = 0, casualties = 0 } = message.incident;
    const name = nameOf(INCIDENT_CODES, type);
    if (name === undefined) throw new WireError("WIRE_UNKNOWN_CODE", `unknown incident code ${type}`);
    return { kind: "incident", incident: name, casualties };
  }
  if (message.shift) return { kind: "shift", action: message.shift.off ? "off" : "on" };
  throw new WireError("WIRE_NO_BODY", "record has no body");
}

/** Encodes a record for the station's log. Throws a WireError for a code the lists lack. */
export function encodeLoggedRecord(record: FieldRecord): Uint8Array {
  const message: LoggedRecordMessage = {
    origin: record.id.origin,
    record: bodyToMessage(record.id.seq, record.body),
    receivedAt: record.receivedAt,
    text: record.text ?? "",
    sender: record.sender ?? "",
  };
  return LoggedRecordType.encode(LoggedRecordType.fromObject(message)).finish();
}

/** Decodes a log entry; never throws. */
export function decodeLoggedRecord(bytes: Uint8Array): Result<FieldRecord> {
  let message: LoggedRecordMessage;
  try {
    message = LoggedRecordType.toObject(LoggedRecordType.decode(bytes), { longs: Number });
  } catch (cause) {
    const truncated = cause instanceof Error && /index out of range|premature/i.test(cause.message);
    return {
      ok: false,
      error: new WireError(truncated ? "WIRE_TRUNCATED" : "WIRE_MALFORMED", `not a meshaid log entry: ${String(cause)}`, { cause }),
    };
  }
  try {
    const record = message.record ?? {};
    const value: FieldRecord = {
      id: { origin: message.origin ?? 0, seq: record.seq ?? 0 },
      receivedAt: Number(message.receivedAt ?? 0),
      body: messageToBody(record),
    };
    if (message.text) value.text = message.text;
    if (message.sender) value.sender = message.sender;
    return { ok: true, value };
  } catch (error) {
    if (error instanceof WireError) return { ok: false, error };
    throw error;
  }
}
