// The field protocol: meshaid's compact records, the codebook, the site plan, the preset table
// and the typed-text reader. Pure functions, no I/O beyond loading the schema that ships beside
// them: callers read firmware-config/ files and pass their text.
export type * from "./types.ts";
export { PRIORITIES, SEVERITIES, SUPPLY_STATUSES, SHIFT_ACTIONS, CHECKIN_STATUSES, ACK_CODES, RECORD_KINDS } from "./types.ts";
export { WireError } from "./errors.ts";
export type { WireErrorCode, Result } from "./errors.ts";
export {
  encodeLoggedRecord,
  decodeLoggedRecord,
  shareBody,
  packRecords,
  encodePayload,
  decodePayload,
  packControl,
  isMeshaidPayload,
  recordMessage,
  PROTOCOL_TAG,
  PROTOCOL_VERSION,
  MAX_PAYLOAD_BYTES,
  MESHAID_PORTNUM,
} from "./records.ts";
export type { OutgoingRecord, DecodedPayload, PackOptions, RecordMessage } from "./records.ts";
export { parseCodebook, codebookData, codebookFromData, codeOf, nameOf, labelOf, CODEBOOK_CATEGORIES, MAX_CODE } from "./codebook.ts";
export type { Codebook, CodebookCategory, CodebookEntry, CodeList } from "./codebook.ts";
export { parseSitePlan, describePlace, placeFor, landmarkByCode, MAX_LANDMARK } from "./site.ts";
export type { SitePlan, Landmark } from "./site.ts";
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
export { parseText, CONFIDENT } from "./parse.ts";
export type { ParseOptions, ParsedText } from "./parse.ts";
export { describeRecord, labelledRecord } from "./describe.ts";
export type { DescribeOptions } from "./describe.ts";
export { parseYamlText } from "./yaml.ts";
export { payloadForText } from "./compose.ts";
export { recordHash } from "./digest.ts";
export { coalitionAuthKey, authTag, appliesToBoards, changesSharedState, AUTH_TAG_BYTES, AUTH_TRAILER_BYTES } from "./auth.ts";
export type { AuthKey } from "./auth.ts";
