// The field protocol: meshaid's compact records, the preset table, and (later) the codebook.
// Pure functions, no I/O beyond loading the schema that ships beside them.
export type * from "./types.ts";
export { WireError } from "./errors.ts";
export type { WireErrorCode, Result } from "./errors.ts";
export { encodeLoggedRecord, decodeLoggedRecord } from "./records.ts";
export {
  parsePresetTable,
  readPreset,
  presetsForRole,
  cannedMessagesFor,
  normalizePresetText,
  CANNED_MESSAGES_MAX_BYTES,
  CANNED_MESSAGES_MAX_ENTRIES,
} from "./presets.ts";
export type { Preset, PresetTable } from "./presets.ts";
export { ITEM_CODES, INCIDENT_CODES } from "./codes.ts";
