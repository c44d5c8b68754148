// The field protocol (issue 3): for every line of the example corpus, built from its `meaning`,
// the bytes and LONG_FAST time on air of the plain text people send today, of a JSON object
// with the same content, and of meshaid's wire format; per kind and in total. Also the targets:
// supplyRequestBytes (<= 10), corpusBytesRatio (<= 0.25), packedAirtimeRatio (<= 0.6) and
// parserRecall (>= 0.9, the misses are listed by test/wire/parse.test.ts).
import { airtimeMs, MODEM_PRESETS } from "../../src/sim/index.ts";
import { decodePayload, encodePayload, MESHAID_PORTNUM, packRecords, type RecordBody, type Severity } from "../../src/wire/index.ts";
import { corpus, ITEM_MEANINGS, parserRecall, type CorpusLine } from "../helpers/corpus.ts";
import { codebook, site } from "../helpers/records.ts";
import { result, type BenchResult } from "./result.ts";

const TEXT_PORTNUM = 1;
const SENDER = 0x2a6f1c02;
const REQUESTER = 0x2a6f1c07;
const HEADER_BYTES = 16;

function varintLength(n: number): number {
  let length = 1;
  for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 0x80)) length += 1;
  return length;
}

/** Bytes on the air: the 16-byte mesh header and the Data protobuf (portnum, payload) around the app payload. */
function onAirBytes(payloadBytes: number, portnum: number): number {
  return HEADER_BYTES + 1 + varintLength(portnum) + 1 + varintLength(payloadBytes) + payloadBytes;
}

function airtime(payloadBytes: number, portnum: number): number {
  return airtimeMs(onAirBytes(payloadBytes, portnum), MODEM_PRESETS.LONG_FAST);
}

const INCIDENTS: Record<string, string> = {
  injury: "injury",
  "chemical irritant": "chemical",
  "crowd containment": "kettle",
  "all clear": "all_clear",
  medical: "illness",
  "vehicle into crowd": "vehicle",
  "missing person": "missing_person",
  "hostile group": "hostile_group",
  arrests: "arrests",
  fire: "fire",
  hazmat: "utility_hazard",
  "near miss": "near_miss",
  "police movement": "police_movement",
};
const HAZARDS: Record<string, string> = { chemical: "tear_gas", "route blocked": "route_blocked", "exits blocked": "containment", "gas leak": "structural", structural: "structural", "acoustic weapon": "acoustic" };
const ROLES: Record<string, string> = { "marshal lead": "marshal_lead", "medic team": "medic", "net control": "net_control", "supply runner": "runner", "safety observer": "safety_lead" };
const TRIAGE: Record<string, string> = { immediate: "immediate", delayed: "delayed", minor: "minor" };
const REQUESTS: Record<string, string> = { ambulance: "ambulance", "legal observer": "legal_observer", "medic team": "medic" };
const STATUSES: Record<string, "en_route" | "delivered" | "cancelled"> = { en_route: "en_route", delivered: "delivered", cancelled: "cancelled" };

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the bench has no mapping for ${what}`);
  return value;
}

function place(label: unknown): { place?: { landmark: number } } {
  if (typeof label !== "string") return {};
  return { place: { landmark: must(site.landmarks.find((landmark) => landmark.label === label)?.code, `place ${label}`) } };
}

function item(words: string): string {
  return must(ITEM_MEANINGS[words]?.[0], `item ${words}`);
}

function supplyLines(meaning: Record<string, unknown>) {
  const items = (meaning["items"] as { item: string; qty: number | null }[] | undefined) ?? [{ item: meaning["item"] as string, qty: meaning["qty"] as number | null }];
  return items.map(({ item: words, qty }) => (qty === null ? { item: item(words) } : { item: item(words), quantity: qty }));
}

/** The records a corpus line means (what a meshaid handheld or the station would send). */
function recordsOf(line: CorpusLine): RecordBody[] {
  const m = line.meaning;
  switch (line.kind) {
    case "supply_request":
      return [{ kind: "supply_request", lines: supplyLines(m), priority: m["priority"] as "normal" | "urgent" | "high", ...place(m["place"]) }];
    case "supply_offer":
      return [{ kind: "supply_offer", lines: supplyLines(m), ...place(m["place"]) }];
    case "supply_status": {
      // A runner answers the medic's request (another origin); the medic cancels their own.
      const status = must(STATUSES[m["state"] as string], `state ${String(m["state"])}`);
      const body: RecordBody = { kind: "supply_status", status, ref: { origin: status === "cancelled" ? SENDER : REQUESTER, seq: 137 } };
      if (typeof m["eta_min"] === "number") body.etaMin = m["eta_min"];
      return [body];
    }
    case "incident": {
      const counts = (m["casualties"] as Record<string, number> | undefined) ?? {};
      const triage = Object.fromEntries(Object.entries(counts).filter(([name]) => name !== "unknown").map(([name, n]) => [must(TRIAGE[name], `triage ${name}`), n]));
      const body: RecordBody = {
        kind: "incident",
        incident: must(INCIDENTS[m["type"] as string], `incident ${String(m["type"])}`),
        severity: m["severity"] as Severity,
        casualties: Object.values(counts).reduce((sum, n) => sum + n, 0),
        ...place(m["place"]),
      };
      if (Object.keys(triage).length > 0) body.triage = triage;
      if (Array.isArray(m["hazards"])) body.hazards = (m["hazards"] as string[]).map((hazard) => must(HAZARDS[hazard], `hazard ${hazard}`));
      if (typeof m["people"] === "number") body.people = m["people"];
      if (m["responder_on_scene"] === true) body.responderOnScene = true;
      const records: RecordBody[] = [body];
      if (typeof m["request"] === "string") records.push({ kind: "supply_request", lines: [{ item: must(REQUESTS[m["request"]], `request ${m["request"]}`), quantity: 1 }], priority: "urgent", ...place(m["place"]) });
      return records;
    }
    case "shift_handoff": {
      const event = m["event"] as string;
      const body: RecordBody = { kind: "shift", action: event === "on_shift" ? "on" : event === "off_shift" ? "off" : "handoff", ...place(m["post"]) };
      if (typeof m["role"] === "string") body.role = must(ROLES[m["role"]], `role ${m["role"]}`);
      const from = m["from"] ?? m["who"];
      if (typeof from === "string") body.from = from;
      if (typeof m["to"] === "string") body.to = m["to"];
      if (typeof m["open_items"] === "number") body.openItems = m["open_items"];
      if (Array.isArray(m["stock_low"])) body.lowStock = (m["stock_low"] as string[]).map(item);
      return [body];
    }
    case "checkin": {
      const body: RecordBody = { kind: "checkin", status: m["status"] === "needs relief" ? "needs_relief" : "ok", ...place(m["place"]) };
      if (typeof m["battery_pct"] === "number") body.battery = m["battery_pct"];
      if (typeof m["team"] === "string") body.team = Number(/\d+/.exec(m["team"])?.[0]);
      return [body];
    }
  }
}

function payloadOf(records: RecordBody[], seq: number): Uint8Array {
  const encoded = encodePayload(records.map((body, i) => ({ seq: seq + i, body })), codebook, { origin: SENDER });
  if (!encoded.ok) throw encoded.error;
  const decoded = decodePayload(encoded.value, codebook, SENDER);
  if (!decoded.ok || decoded.value.records.length !== records.length) throw new Error("a corpus record does not round-trip");
  return encoded.value;
}

interface Tally {
  text: number;
  json: number;
  wire: number;
  textMs: number;
  jsonMs: number;
  wireMs: number;
}

export function run(): Promise<BenchResult[]> {
  const bench = "wire";
  const results: BenchResult[] = [];
  const bytes = (text: string) => Buffer.byteLength(text, "utf8");

  // One item, a quantity, a landmark (seq 137: a sender's 137th record).
  const request: RecordBody = { kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "normal", place: { landmark: 1 } };
  results.push(result(bench, "supplyRequestBytes", payloadOf([request], 137).length, "bytes", bytes("Need 20 water at North Gate")));

  const tallies = new Map<string, Tally>();
  const all: RecordBody[] = [];
  let seq = 1;
  let onePerPacketMs = 0;
  for (const line of corpus) {
    const records = recordsOf(line);
    const wire = payloadOf(records, seq);
    for (const body of records) {
      onePerPacketMs += airtime(payloadOf([body], seq).length, MESHAID_PORTNUM);
      all.push(body);
      seq += 1;
    }
    const json = JSON.stringify(line.meaning);
    for (const key of [line.kind, "total"]) {
      const tally = tallies.get(key) ?? { text: 0, json: 0, wire: 0, textMs: 0, jsonMs: 0, wireMs: 0 };
      tally.text += bytes(line.text);
      tally.json += bytes(json);
      tally.wire += wire.length;
      tally.textMs += airtime(bytes(line.text), TEXT_PORTNUM);
      tally.jsonMs += airtime(bytes(json), TEXT_PORTNUM);
      tally.wireMs += airtime(wire.length, MESHAID_PORTNUM);
      tallies.set(key, tally);
    }
  }
  const total = tallies.get("total")!;
  results.push(result(bench, "corpusBytesRatio", total.wire / total.text, "ratio"));

  const packed = packRecords(all.map((body, i) => ({ seq: 1 + i, body })), codebook, { origin: SENDER });
  if (!packed.ok) throw packed.error;
  const packedMs = packed.value.reduce((sum, payload) => sum + airtime(payload.length, MESHAID_PORTNUM), 0);
  results.push(result(bench, "packedAirtimeRatio", packedMs / onePerPacketMs, "ratio"));
  results.push(result(bench, "packedPayloads", packed.value.length, "payloads", all.length));

  const recall = parserRecall();
  results.push(result(bench, "parserRecall", recall.hits / recall.total, "ratio"));

  for (const [kind, tally] of tallies) {
    results.push(result(bench, `${kind}.textBytes`, tally.text, "bytes"));
    results.push(result(bench, `${kind}.jsonBytes`, tally.json, "bytes", tally.text));
    results.push(result(bench, `${kind}.wireBytes`, tally.wire, "bytes", tally.text));
    results.push(result(bench, `${kind}.textAirtime`, tally.textMs, "ms LONG_FAST"));
    results.push(result(bench, `${kind}.jsonAirtime`, tally.jsonMs, "ms LONG_FAST", tally.textMs));
    results.push(result(bench, `${kind}.wireAirtime`, tally.wireMs, "ms LONG_FAST", tally.textMs));
  }
  return Promise.resolve(results);
}
