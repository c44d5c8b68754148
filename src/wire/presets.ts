// The preset table: the canned messages a handheld shows, per role, and the record each means.
// It lives in firmware-config/presets.yaml; provisioning writes the same strings to handhelds,
// and the station reads them back into records. Pure: the caller reads the file.
import { parse as parseYaml } from "yaml";
import type { RecordBody } from "./types.ts";
import { INCIDENT_CODES, ITEM_CODES } from "./codes.ts";
import { WireError } from "./errors.ts";

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
export function parsePresetTable(yamlText: string, source = "presets.yaml"): PresetTable {
  const fail = (where: string, what: string): never => {
    throw new WireError("PRESET_TABLE_INVALID", `${source}: ${where}: ${what}`);
  };
  let document: unknown;
  try {
    document = parseYaml(yamlText);
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
    if (!Array.isArray(roles) || roles.length === 0 || !roles.every((role) => typeof role === "string")) {
      return fail(`${where} "${text}"`, "`roles` must be a non-empty list of role names");
    }
    return { text: text.trim(), roles: roles, body: parseBody(entry["record"], `${where} "${text}"`, fail) };
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

function parseBody(value: unknown, where: string, fail: (where: string, what: string) => never): RecordBody {
  if (!isObject(value)) return fail(where, "`record` must be a mapping with a `kind`");
  const kind = value["kind"];
  const count = (field: string, fallback: number): number => {
    const n = value[field] ?? fallback;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) return fail(where, `\`${field}\` must be a whole number >= 0`);
    return n;
  };
  switch (kind) {
    case "supply_request": {
      const item = value["item"];
      if (typeof item !== "string" || ITEM_CODES[item] === undefined) {
        return fail(where, `unknown item ${JSON.stringify(item)}; known: ${Object.keys(ITEM_CODES).join(", ")}`);
      }
      const priority = value["priority"] ?? "normal";
      if (priority !== "normal" && priority !== "urgent") return fail(where, "`priority` must be normal or urgent");
      return { kind, item, quantity: count("quantity", 1), priority: priority };
    }
    case "incident": {
      const incident = value["incident"];
      if (typeof incident !== "string" || INCIDENT_CODES[incident] === undefined) {
        return fail(where, `unknown incident ${JSON.stringify(incident)}; known: ${Object.keys(INCIDENT_CODES).join(", ")}`);
      }
      return { kind, incident, casualties: count("casualties", 0) };
    }
    case "shift": {
      const action = value["action"];
      if (action !== "on" && action !== "off") return fail(where, "`action` must be on or off");
      return { kind, action };
    }
    default:
      return fail(where, `unknown record kind ${JSON.stringify(kind)}; known: supply_request, incident, shift`);
  }
}

/** The record a handheld's text means, or undefined when it is not a preset. */
export function readPreset(table: PresetTable, text: string): RecordBody | undefined {
  const key = normalizePresetText(text);
  return table.presets.find((preset) => normalizePresetText(preset.text) === key)?.body;
}

/** The preset texts a role's handheld shows, in table order. */
export function presetsForRole(table: PresetTable, role: string): string[] {
  return table.presets.filter((preset) => preset.roles.includes(role)).map((preset) => preset.text);
}

/** The canned-message string the firmware stores for a role: texts joined with "|". */
export function cannedMessagesFor(table: PresetTable, role: string): string {
  return presetsForRole(table, role).join("|");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
