// The preset table: the canned messages a handheld shows, per role, and the record each means.
// It lives in firmware-config/presets.yaml; provisioning writes the same strings to handhelds,
// and the station reads them back into records. Pure: the caller reads the file.
import { parseYamlText } from "./yaml.ts";
import { RECORD_KINDS, type RecordBody, type RecordKind } from "./types.ts";
import { isObject, type Codebook } from "./codebook.ts";
import { WireError } from "./errors.ts";
import { recordMessage, shareBody } from "./records.ts";

/** The firmware's limits on a device's canned-message list (CannedMessageModule). */
export const CANNED_MESSAGES_MAX_BYTES = 200;
export const CANNED_MESSAGES_MAX_ENTRIES = 50;

export interface Preset {
  text: string;
  roles: string[];
  body: RecordBody;
}

export interface PresetTable {
  version: number;
  presets: Preset[];
}

/** How handheld text is compared with the table: case, spacing and edges do not matter. */
export function normalizePresetText(text: string): string {
  return text.toUpperCase().normalize("NFC").replace(/\s+/g, " ").trim();
}

/** Parses and validates the table; a WireError names the entry and what is wrong with it. */
export function parsePresetTable(yamlText: string, codebook: Codebook, source = "presets.yaml"): PresetTable {
  const fail = (where: string, what: string): never => {
    throw new WireError("PRESET_TABLE_INVALID", `${source}: ${where}: ${what}`);
  };
  let document: unknown;
  try {
    document = parseYamlText(yamlText);
  } catch (cause) {
    throw new WireError("PRESET_TABLE_INVALID", `${source}: not valid YAML: ${String(cause)}`, { cause });
  }
  if (!isObject(document)) return fail("top level", "expected a mapping with `version` and `presets`");
  const version = document["version"];
  if (version !== 1) fail("version", `expected 1, found ${JSON.stringify(version)}`);
  const entries = document["presets"];
  if (!Array.isArray(entries) || entries.length === 0) return fail("presets", "expected a non-empty list");

  const seen = new Set<string>();
  const presets = entries.map((entry: unknown, index): Preset => {
    const where = `presets[${index}]`;
    if (!isObject(entry)) return fail(where, "expected a mapping with text, roles and record");
    const text = entry["text"];
    if (typeof text !== "string" || text.trim() === "") return fail(where, "`text` must be a non-empty string");
    if (text.includes("|")) fail(where, `"${text}" contains "|", the firmware's separator`);
    const key = normalizePresetText(text);
    if (seen.has(key)) fail(where, `"${text}" appears twice`);
    seen.add(key);
    const roles = entry["roles"];
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === "string")) {
      // An empty list: the station still reads the text (older handhelds), no handheld shows it.
      return fail(`${where} "${text}"`, "`roles` must be a list of role names");
    }
    // Shared by every record read from this preset: frozen, and its bytes kept by the log's encoder.
    return { text: text.trim(), roles: roles, body: shareBody(parseBody(entry["record"], codebook, `${where} "${text}"`, fail)) };
  });
  const table: PresetTable = { version: 1, presets };
  for (const role of new Set(presets.flatMap((preset) => preset.roles))) {
    const joined = cannedMessagesFor(table, role);
    const bytes = Buffer.byteLength(joined, "utf8");
    const count = joined.split("|").length;
    if (bytes > CANNED_MESSAGES_MAX_BYTES) fail(`role ${role}`, `canned messages take ${bytes} bytes; a device holds ${CANNED_MESSAGES_MAX_BYTES}`);
    if (count > CANNED_MESSAGES_MAX_ENTRIES) fail(`role ${role}`, `${count} canned messages; a device holds ${CANNED_MESSAGES_MAX_ENTRIES}`);
  }
  return table;
}

/** The fields each kind of preset record may set (src/wire/types.ts). */
const FIELDS: Record<RecordKind, string[]> = {
  supply_request: ["kind", "lines", "priority", "place", "needByMin"],
  supply_offer: ["kind", "lines", "place"],
  supply_status: ["kind", "status", "ref", "etaMin", "lines", "place"],
  incident: ["kind", "incident", "severity", "casualties", "triage", "hazards", "people", "responderOnScene", "place"],
  shift: ["kind", "action", "role", "place", "from", "to", "openItems", "lowStock"],
  checkin: ["kind", "status", "battery", "team", "place"],
  ack: ["kind", "code", "refs"],
  message: ["kind", "text"],
};

function parseBody(value: unknown, codebook: Codebook, where: string, fail: (where: string, what: string) => never): RecordBody {
  if (!isObject(value)) return fail(where, "`record` must be a mapping with a `kind`");
  const spec: Record<string, unknown> = { ...value };
  // Shorthands: `item` (+ `quantity`) for a one-line supply record; an incident's severity defaults to its codebook type's.
  if ((spec["kind"] === "supply_request" || spec["kind"] === "supply_offer") && spec["item"] !== undefined) {
    const line: Record<string, unknown> = { item: spec["item"] };
    if (spec["quantity"] !== undefined) line["quantity"] = spec["quantity"];
    spec["lines"] = [line];
    delete spec["item"];
    delete spec["quantity"];
  }
  if (spec["kind"] === "supply_request") spec["priority"] ??= "normal";
  if (spec["kind"] === "incident") {
    const type = typeof spec["incident"] === "string" ? codebook.lists.incidents.byName.get(spec["incident"]) : undefined;
    if (type === undefined) return fail(where, `unknown incident ${JSON.stringify(spec["incident"])}; known: ${codebook.lists.incidents.entries.map((e) => e.name).join(", ")}`);
    spec["severity"] ??= type.severity ?? "moderate";
    spec["casualties"] ??= 0;
  }
  if (typeof spec["place"] === "number") spec["place"] = { landmark: spec["place"] };
  if (!RECORD_KINDS.includes(spec["kind"] as RecordKind)) return fail(where, `unknown record kind ${JSON.stringify(spec["kind"])}; known: ${RECORD_KINDS.join(", ")}`);
  // A misspelt field would silently change what a preset means: refuse it.
  for (const key of Object.keys(spec)) {
    if (!FIELDS[spec["kind"] as RecordKind].includes(key)) fail(where, `unknown field "${key}" for a ${String(spec["kind"])} record; known: ${FIELDS[spec["kind"] as RecordKind].join(", ")}`);
  }
  const body = spec as unknown as RecordBody;
  const checked = recordMessage(body, codebook);
  if (!checked.ok) return fail(where, checked.error.message.replace(/^cannot encode an? \w+ record: /, ""));
  return body;
}

/** The record a handheld's text means, or undefined when it is not a preset. */
export function readPreset(table: PresetTable, text: string): RecordBody | undefined {
  const index = presetIndex(table);
  // Most texts are a canned message exactly as the table has it: no normalizing for those.
  return index.get(text) ?? index.get(normalizePresetText(text));
}

/** Each table's bodies by normalized text and by text as written, built once: a station reads every text it hears. */
const presetIndexes = new WeakMap<PresetTable["presets"], Map<string, RecordBody>>();

function presetIndex(table: PresetTable): Map<string, RecordBody> {
  // Keyed by the list, so a table given another list is indexed again.
  let index = presetIndexes.get(table.presets);
  if (!index) {
    index = new Map();
    // The first wins, as in table order (parsePresetTable refuses two that normalize alike).
    for (const preset of table.presets) if (!index.has(normalizePresetText(preset.text))) index.set(normalizePresetText(preset.text), preset.body);
    for (const preset of table.presets) if (!index.has(preset.text)) index.set(preset.text, index.get(normalizePresetText(preset.text)) as RecordBody);
    presetIndexes.set(table.presets, index);
  }
  return index;
}

/** The preset texts a role's handheld shows, in table order. */
export function presetsForRole(table: PresetTable, role: string): string[] {
  return table.presets.filter((preset) => preset.roles.includes(role)).map((preset) => preset.text);
}

/** The canned-message string the firmware stores for a role: texts joined with "|". */
export function cannedMessagesFor(table: PresetTable, role: string): string {
  return presetsForRole(table, role).join("|");
}
