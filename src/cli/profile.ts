// Device profiles (firmware-config/profiles/*.yaml): reading a template, filling it in for one
// radio, checking it against the firmware's limits before anything is written, rendering it for
// the official `meshtastic --configure`, and comparing a radio's settings with it. Pure: the
// caller reads the files and talks to the radio.
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import {
  CONFIG_SECTIONS,
  MODULE_SECTIONS,
  channelFromJson,
  channelToJson,
  channelUrl,
  configFromJson,
  decodeChannelUrl,
  configToJson,
  moduleConfigFromJson,
  moduleConfigToJson,
  type ConfigSection,
  type JsonObject,
  type ModuleSection,
} from "../radio/index.ts";
import { CANNED_MESSAGES_MAX_BYTES, CANNED_MESSAGES_MAX_ENTRIES, cannedMessagesFor, parseYamlText, type PresetTable } from "../wire/index.ts";

/** A profile that cannot be used: one line naming the file, the setting and the limit. */
export class ProfileError extends Error {
  override readonly name = "ProfileError";
}

/** The firmware's fixed buffers (nanopb max_size minus the terminator) and counts. */
export const LIMITS = {
  longNameBytes: 39,
  shortNameBytes: 4,
  channelNameBytes: 11,
  channels: 8,
  cannedBytes: CANNED_MESSAGES_MAX_BYTES,
  cannedEntries: CANNED_MESSAGES_MAX_ENTRIES,
} as const;

/** meshaid's channel key: AES-256. */
export const CHANNEL_KEY_BYTES = 32;

/** What a template is filled in with for one radio. */
export interface ProfileInputs {
  callsign: string;
  channelKey: Uint8Array;
  presets: PresetTable;
  /** Overrides config.lora.region (e.g. EU_868). */
  region?: string;
}

/** A profile filled in for one radio: what provisioning writes and checking compares. */
export interface DeviceProfile {
  /** The profile's name (the file name without .yaml). */
  name: string;
  owner: { longName: string; shortName: string };
  /** Full Channel JSON for index 0..n-1 (the first PRIMARY, the rest SECONDARY). */
  channels: JsonObject[];
  /** Only the fields the profile sets, per section, as the schema names them. */
  config: Partial<Record<ConfigSection, JsonObject>>;
  moduleConfig: Partial<Record<ModuleSection, JsonObject>>;
  cannedMessages?: string;
}

const PLACEHOLDER = /\{([a-z_]+)(?::([a-z0-9_-]+))?\}/gi;
const TOP_LEVEL = new Set(["owner", "owner_short", "ownerShort", "canned_messages", "channels", "channel_url", "channelUrl", "config", "module_config"]);

/**
 * Reads a profile template and fills it in. Throws a ProfileError (never anything else) for bad
 * YAML, an unknown key, a setting the schema does not have, or one over a firmware limit.
 */
export function readProfile(name: string, yamlText: string, source: string, inputs: ProfileInputs): DeviceProfile {
  const fail = (where: string, what: string): never => {
    throw new ProfileError(`${source}: ${where}: ${what}`);
  };
  let document: unknown;
  try {
    document = parseYamlText(yamlText);
  } catch (error) {
    return fail("not valid YAML", error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error));
  }
  if (!isObject(document)) return fail("top level", "expected a mapping with owner, owner_short, channels, config, module_config");
  for (const key of Object.keys(document)) {
    if (!TOP_LEVEL.has(key)) fail(key, `unknown key; a profile has ${[...TOP_LEVEL].join(", ")}`);
  }
  checkCallsign(inputs.callsign, fail);
  const filled = fillIn(document, inputs, fail) as JsonObject;

  const longName = text(filled["owner"], "owner", fail);
  const shortName = text(filled["owner_short"] ?? filled["ownerShort"], "owner_short", fail);
  checkName(longName, "owner", LIMITS.longNameBytes, fail);
  checkName(shortName, "owner_short", LIMITS.shortNameBytes, fail);

  // A file from `meshtastic --export-config` carries its channels (and LoRa settings) as a channel URL.
  const url = filled["channel_url"] ?? filled["channelUrl"];
  let fromUrl: { settings: unknown; loraConfig?: unknown } | undefined;
  if (url !== undefined) {
    if (filled["channels"] !== undefined) fail("channel_url", "give channels or channel_url, not both");
    try {
      const set = decodeChannelUrl(text(url, "channel_url", fail));
      fromUrl = { settings: set["settings"] ?? [], loraConfig: set["loraConfig"] };
    } catch (error) {
      if (error instanceof ProfileError) throw error;
      fail("channel_url", `not a Meshtastic channel URL (${schemaMessage(error)})`);
    }
  }
  const channels = readChannels(fromUrl ? fromUrl.settings : filled["channels"], fail);
  if (fromUrl && isObject(fromUrl.loraConfig) && filled["config"] === undefined) filled["config"] = {};
  if (fromUrl && isObject(fromUrl.loraConfig) && isObject(filled["config"]) && filled["config"]["lora"] === undefined) filled["config"]["lora"] = fromUrl.loraConfig;
  const config = readSections(filled["config"], "config", CONFIG_SECTIONS, fail, (section, value) => configToJson(configFromJson({ [section]: value }))[section] as JsonObject);
  const moduleConfig = readSections(filled["module_config"], "module_config", MODULE_SECTIONS, fail, (section, value) => moduleConfigToJson(moduleConfigFromJson({ [section]: value }))[section] as JsonObject);
  if (inputs.region !== undefined) {
    const lora = { ...config.lora, region: inputs.region };
    try {
      configFromJson({ lora });
    } catch {
      fail("--region", `"${inputs.region}" is not a LoRa region (e.g. US, EU_868, EU_433, UK_868, ANZ, IN, JP, KR, TW, RU, CN, NZ_865)`);
    }
    config.lora = lora;
  }
  checkRadioRules(config, fail);

  const profile: DeviceProfile = { name, owner: { longName, shortName }, channels, config, moduleConfig };
  if (filled["canned_messages"] !== undefined) {
    const canned = text(filled["canned_messages"], "canned_messages", fail);
    checkCannedMessages(canned, fail);
    profile.cannedMessages = canned;
  }
  return profile;
}

/** The firmware's limits on a canned-message string: at most 200 bytes and 50 entries. */
export function checkCannedMessages(canned: string, fail: (where: string, what: string) => never): void {
  const bytes = Buffer.byteLength(canned, "utf8");
  const entries = canned.split("|").length;
  if (bytes > LIMITS.cannedBytes) fail("canned_messages", `${bytes} bytes; a radio holds ${LIMITS.cannedBytes} (shorten or drop presets for this role)`);
  if (entries > LIMITS.cannedEntries) fail("canned_messages", `${entries} entries; a radio holds ${LIMITS.cannedEntries}`);
}

function checkCallsign(callsign: string, fail: (where: string, what: string) => never): void {
  if (!/^[A-Za-z0-9]{1,4}$/.test(callsign)) fail("--callsign", `"${callsign}" must be 1 to 4 letters or digits (it is the short name on screens and on the air)`);
}

function checkName(name: string, where: string, maxBytes: number, fail: (where: string, what: string) => never): void {
  if (name.trim() === "") fail(where, "must contain a character other than a space (the radio refuses a blank name)");
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > maxBytes) fail(where, `"${name}" is ${bytes} bytes; a radio holds ${maxBytes}`);
}

/** Rules of meshaid's own on top of the schema. */
function checkRadioRules(config: Partial<Record<ConfigSection, JsonObject>>, fail: (where: string, what: string) => never): void {
  const device = config.device ?? {};
  const role = device["role"];
  const mode = device["rebroadcastMode"];
  if (mode === "CORE_PORTNUMS_ONLY") fail("config.device.rebroadcastMode", "CORE_PORTNUMS_ONLY drops meshaid's records (private port 300); use ALL");
  if ((role === "ROUTER" || role === "ROUTER_LATE") && mode !== "ALL") {
    fail("config.device.rebroadcastMode", `a ${String(role)} must set ALL: its factory default CORE_PORTNUMS_ONLY drops meshaid's records (private port 300)`);
  }
  const lora = config.lora;
  if (lora?.["region"] === "UNSET") fail("config.lora.region", "UNSET: a radio without a region does not transmit; set the region where you are");
  if (lora?.["txEnabled"] === false) fail("config.lora.txEnabled", "false: the radio would never transmit");
  if (lora?.["usePreset"] === true && lora["hopLimit"] !== undefined && (Number(lora["hopLimit"]) < 1 || Number(lora["hopLimit"]) > 7)) {
    fail("config.lora.hopLimit", "must be 1 to 7");
  }
}

/** Replaces {callsign}, {channel_key} and {presets:ROLE} in every string. */
function fillIn(value: unknown, inputs: ProfileInputs, fail: (where: string, what: string) => never, where = ""): unknown {
  if (typeof value === "string") {
    return value.replace(PLACEHOLDER, (_match, key: string, argument: string | undefined) => {
      switch (key) {
        case "callsign":
          return inputs.callsign;
        case "channel_key":
          return Buffer.from(inputs.channelKey).toString("base64");
        case "presets": {
          if (!argument) return fail(where || "placeholder", "{presets:ROLE} needs a role, e.g. {presets:medic}");
          const canned = cannedMessagesFor(inputs.presets, argument);
          if (canned === "") fail(where || "placeholder", `the preset table has no presets for the role "${argument}"`);
          return canned;
        }
        default:
          return fail(where || "placeholder", `unknown placeholder {${key}}; known: {callsign}, {channel_key}, {presets:ROLE}`);
      }
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => fillIn(item, inputs, fail, `${where}[${index}]`));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) out[key] = fillIn(item, inputs, fail, where ? `${where}.${key}` : key);
    return out;
  }
  return value;
}

function readChannels(value: unknown, fail: (where: string, what: string) => never): JsonObject[] {
  if (!Array.isArray(value) || value.length === 0) return fail("channels", "expected a list with at least the primary channel (name and psk)");
  if (value.length > LIMITS.channels) fail("channels", `${value.length} channels; a radio has ${LIMITS.channels}`);
  return value.map((entry: unknown, index): JsonObject => {
    const where = `channels[${index}]`;
    if (!isObject(entry)) return fail(where, "expected a mapping with name and psk");
    const name = text(entry["name"], `${where}.name`, fail);
    if (Buffer.byteLength(name, "utf8") > LIMITS.channelNameBytes) fail(`${where}.name`, `"${name}" is ${Buffer.byteLength(name, "utf8")} bytes; a radio holds ${LIMITS.channelNameBytes}`);
    const psk = text(entry["psk"], `${where}.psk`, fail);
    if (Buffer.from(psk, "base64").length !== CHANNEL_KEY_BYTES) fail(`${where}.psk`, `must be ${CHANNEL_KEY_BYTES} bytes in base64 (AES-256); use the {channel_key} placeholder`);
    const channel = { index, role: index === 0 ? "PRIMARY" : "SECONDARY", settings: entry };
    try {
      return channelToJson(channelFromJson(channel));
    } catch (error) {
      return fail(where, schemaMessage(error));
    }
  });
}

/**
 * Reads `config` or `module_config`: each section checked by the schema; only the fields the
 * profile sets are kept, under the names the schema gives them (camelCase) and normalised values.
 */
function readSections<S extends string>(
  value: unknown,
  where: string,
  known: readonly S[],
  fail: (where: string, what: string) => never,
  normalise: (section: S, value: JsonObject) => JsonObject,
): Partial<Record<S, JsonObject>> {
  if (value === undefined) return {};
  if (!isObject(value)) return fail(where, "expected a mapping of sections");
  const out: Partial<Record<S, JsonObject>> = {};
  for (const [rawSection, fields] of Object.entries(value)) {
    const section = camel(rawSection) as S;
    if (!known.includes(section)) fail(`${where}.${rawSection}`, `unknown section; known: ${known.join(", ")}`);
    if (!isObject(fields)) return fail(`${where}.${rawSection}`, "expected a mapping of settings");
    let full: JsonObject;
    try {
      full = normalise(section, fields);
    } catch (error) {
      return fail(`${where}.${rawSection}`, schemaMessage(error));
    }
    const kept: JsonObject = {};
    for (const key of Object.keys(fields)) kept[camel(key)] = full[camel(key)];
    out[section] = kept;
  }
  return out;
}

/** The profile as `meshtastic --configure` reads it: placeholders filled, channels as a channel_url. */
export function renderForOfficialTool(profile: DeviceProfile): string {
  const lora = profile.config.lora ?? {};
  const document: JsonObject = {
    owner: profile.owner.longName,
    owner_short: profile.owner.shortName,
    channel_url: channelUrl(
      profile.channels.map((channel) => channel["settings"] as JsonObject),
      lora,
    ),
  };
  if (profile.cannedMessages !== undefined) document["canned_messages"] = profile.cannedMessages;
  document["config"] = profile.config;
  document["module_config"] = profile.moduleConfig;
  return `# start of Meshtastic configure yaml (meshaid profile ${profile.name}, ${profile.owner.shortName}; contains the channel key: keep it safe, delete it after use)\n${stringify(document)}`;
}

/** What a radio has, as read back through admin messages. */
export interface RadioSettings {
  owner: JsonObject;
  config: Partial<Record<ConfigSection, JsonObject>>;
  moduleConfig: Partial<Record<ModuleSection, JsonObject>>;
  /** Index 0..7. */
  channels: JsonObject[];
  /** undefined: the radio has no canned-message module. */
  cannedMessages: string | undefined;
}

export interface Difference {
  /** Where, as in the profile: "config.lora.modemPreset", "channels[0].psk". */
  setting: string;
  expected: string;
  actual: string;
}

/** Every setting of the profile the radio does not have. Keys show as fingerprints, never in full. */
export function compareWithProfile(profile: DeviceProfile, radio: RadioSettings): Difference[] {
  const differences: Difference[] = [];
  const differ = (setting: string, expected: unknown, actual: unknown): void => {
    if (!sameValue(expected, actual)) differences.push({ setting, expected: show(expected), actual: show(actual) });
  };
  differ("owner", profile.owner.longName, radio.owner["longName"]);
  differ("owner_short", profile.owner.shortName, radio.owner["shortName"]);
  for (let index = 0; index < LIMITS.channels; index++) {
    const expected = profile.channels[index];
    const actual = radio.channels[index] ?? {};
    const where = `channels[${index}]`;
    if (!expected) {
      if (actual["role"] !== undefined && actual["role"] !== "DISABLED") differences.push({ setting: `${where}`, expected: "DISABLED", actual: `${show(actual["role"])} "${show(settingsOf(actual)["name"])}"` });
      continue;
    }
    differ(`${where}.role`, expected["role"], actual["role"]);
    const want = settingsOf(expected);
    const have = settingsOf(actual);
    differ(`${where}.name`, want["name"], have["name"]);
    const wantKey = keyFingerprint(want["psk"]);
    const haveKey = keyFingerprint(have["psk"]);
    if (wantKey !== haveKey) differences.push({ setting: `${where}.psk`, expected: wantKey, actual: `${haveKey} (a different channel key: this radio cannot talk to the net)` });
    const wantPrecision = (want["moduleSettings"] as JsonObject | undefined)?.["positionPrecision"];
    if (wantPrecision !== undefined) differ(`${where}.moduleSettings.positionPrecision`, wantPrecision, (have["moduleSettings"] as JsonObject | undefined)?.["positionPrecision"] ?? 0);
  }
  for (const section of CONFIG_SECTIONS) {
    const fields = profile.config[section];
    if (!fields) continue;
    for (const [key, value] of Object.entries(fields)) differ(`config.${section}.${key}`, value, radio.config[section]?.[key]);
  }
  for (const section of MODULE_SECTIONS) {
    const fields = profile.moduleConfig[section];
    if (!fields) continue;
    for (const [key, value] of Object.entries(fields)) differ(`module_config.${section}.${key}`, value, radio.moduleConfig[section]?.[key]);
  }
  if (profile.cannedMessages !== undefined) {
    if (radio.cannedMessages === undefined) differences.push({ setting: "canned_messages", expected: profile.cannedMessages, actual: "(no canned-message module: a board without a screen)" });
    else differ("canned_messages", profile.cannedMessages, radio.cannedMessages);
  }
  return differences;
}

/** How many settings compareWithProfile looks at. */
export function settingsChecked(profile: DeviceProfile): number {
  const sections = [...Object.values(profile.config), ...Object.values(profile.moduleConfig)].reduce((sum, fields) => sum + Object.keys(fields ?? {}).length, 0);
  return 2 + profile.channels.length * 3 + sections + (profile.cannedMessages === undefined ? 0 : 1);
}

/** A short, printable fingerprint of a channel key: "key#1a2b3c4d" (SHA-256). The key itself is never shown. */
export function keyFingerprint(psk: unknown): string {
  const bytes = typeof psk === "string" ? Buffer.from(psk, "base64") : psk instanceof Uint8Array ? Buffer.from(psk) : Buffer.alloc(0);
  if (bytes.length === 0) return "no key (unencrypted)";
  if (bytes.length === 1) return bytes[0] === 0 ? "no key (unencrypted)" : `the public default key #${bytes[0]}`;
  return `key#${createHash("sha256").update(bytes).digest("hex").slice(0, 8)}`;
}

function settingsOf(channel: JsonObject): JsonObject {
  const settings = channel["settings"];
  return isObject(settings) ? settings : {};
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function show(value: unknown): string {
  if (value === undefined || value === null) return "(not set)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function text(value: unknown, where: string, fail: (where: string, what: string) => never): string {
  if (typeof value === "number") return String(value);
  if (typeof value !== "string") return fail(where, "expected text");
  return value;
}

/** snake_case -> camelCase, as the official tool accepts both. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function schemaMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^cannot decode /, "the radio's schema cannot read ").replace(/meshtastic\./g, "");
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
