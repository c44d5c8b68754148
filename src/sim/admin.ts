// The simulated radio's AdminModule: its settings (owner, config, module config, channels,
// canned messages), the admin messages that read and change them, edit transactions, and the
// reboot a commit causes. Reference: meshtastic-protocol.md section 6, firmware
// src/modules/AdminModule.cpp and CannedMessageModule.cpp.
//
// Like the firmware, settings live in RAM (what getters answer and the handshake reports) and in
// flash (what a reboot reloads). Outside a transaction a setter saves at once; inside one
// (begin_edit_settings) only RAM changes until commit_edit_settings saves and reboots. Flash is
// a SettingsStore the simulator owns: memory by default (it survives reboots), or a JSON file.
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Logger } from "pino";
import {
  CONFIG_SECTIONS,
  CONFIG_TYPE,
  EXCLUDED_CANNED_MESSAGES,
  MODULE_CONFIG_TYPE,
  MODULE_SECTIONS,
  channelFromJson,
  channelToJson,
  configFromJson,
  configToJson,
  decodeAdmin,
  encodeAdmin,
  moduleConfigFromJson,
  moduleConfigToJson,
  type ConfigSection,
  type FromRadioInit,
  type JsonObject,
  type ModuleSection,
} from "../radio/index.ts";
import { channels, configs, moduleConfigs, MAX_NUM_CHANNELS, SIM_FIRMWARE_VERSION } from "./device-config.ts";
import { userId, type SimNode } from "./node.ts";

/** What a device keeps in flash. JSON (proto3 mapping), so a file store is readable. */
export interface SimSettings {
  owner: { longName: string; shortName: string };
  config: Record<ConfigSection, JsonObject>;
  moduleConfig: Record<ModuleSection, JsonObject>;
  /** Index 0..7. */
  channels: JsonObject[];
  cannedMessages: string;
}

/** The device's flash. */
export interface SettingsStore {
  load(): SimSettings | undefined;
  save(settings: SimSettings): void;
}

export class MemorySettingsStore implements SettingsStore {
  private saved: SimSettings | undefined;
  load(): SimSettings | undefined {
    return this.saved === undefined ? undefined : clone(this.saved);
  }
  save(settings: SimSettings): void {
    this.saved = clone(settings);
  }
}

/** Settings in a JSON file (written whole, then renamed into place). */
export class FileSettingsStore implements SettingsStore {
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  load(): SimSettings | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return undefined; // a factory-fresh device
    }
    return JSON.parse(text) as SimSettings;
  }
  save(settings: SimSettings): void {
    writeFileSync(`${this.path}.tmp`, `${JSON.stringify(settings, null, 2)}\n`);
    renameSync(`${this.path}.tmp`, this.path);
  }
}

export interface SimAdminOptions {
  /** Flash (default: memory, kept across reboots of this radio). */
  store?: SettingsStore;
  /** Boards without a screen have no canned-message module (default true: it has one). */
  cannedMessageModule?: boolean;
  /** The firmware reboots this long after a commit or a setting that needs it (DEFAULT_REBOOT_SECONDS: 7 s). */
  rebootDelayMs?: number;
  logger?: Logger;
}

/** What one admin message did: the reply for the host (none when the firmware drops it) and a reboot to schedule. */
export interface AdminOutcome {
  reply?: { admin: Uint8Array } | { routing: number };
  rebootAfterMs?: number;
}

/** Routing.Error values the AdminModule answers with. */
const NONE = 0;
const BAD_REQUEST = 32;
/** nanopb max_size minus the terminator (mesh.options, channel.options, admin.options). */
const MAX_LONG_NAME = 39;
const MAX_SHORT_NAME = 4;
const MAX_CHANNEL_NAME = 11;
const MAX_PSK = 32;
const MAX_CANNED = 200;
const MAX_PASSKEY = 8;
/** min_node_info_broadcast_secs (Default.h). */
const MIN_NODE_INFO_SECS = 3600;
/** The session passkey is renewed when older than this (AdminModule::setPassKey). */
const PASSKEY_RENEW_MS = 150_000;
/** Config.DeviceConfig.Role / RebroadcastMode names the firmware rewrites. */
const ROUTER_ROLES = new Set(["ROUTER", "ROUTER_LATE"]);
const RETIRED_ROLES = new Set(["ROUTER_CLIENT", "REPEATER"]);

export class SimAdmin {
  private readonly node: SimNode;
  private readonly store: SettingsStore;
  private readonly log: Logger | undefined;
  private readonly cannedModule: boolean;
  private readonly rebootDelayMs: number;
  private readonly now: () => number;
  /** RAM: what getters and the handshake see. */
  private ram: SimSettings;
  private editing = false;
  private passkey: { bytes: Uint8Array; at: number } | undefined;

  constructor(node: SimNode, now: () => number, options: SimAdminOptions = {}) {
    this.node = node;
    this.now = now;
    this.store = options.store ?? new MemorySettingsStore();
    this.log = options.logger;
    this.cannedModule = options.cannedMessageModule ?? true;
    this.rebootDelayMs = options.rebootDelayMs ?? 7_000;
    const saved = this.store.load();
    this.ram = saved ?? factorySettings(node);
    if (!saved) this.store.save(this.ram);
    this.applyIdentity();
  }

  /** The settings as RAM holds them (a copy). */
  settings(): SimSettings {
    return clone(this.ram);
  }

  /** Whether an edit transaction is open. */
  get inTransaction(): boolean {
    return this.editing;
  }

  /** The device boots: RAM is reloaded from flash; an uncommitted transaction is gone. */
  boot(): void {
    this.editing = false;
    this.ram = this.store.load() ?? factorySettings(this.node);
    this.applyIdentity();
  }

  /** The handshake's channel, config and module-config frames, from RAM. */
  handshakeFrames(): { channels: FromRadioInit[]; configs: FromRadioInit[]; moduleConfigs: FromRadioInit[] } {
    const configFrames = configs(this.node).map((frame): FromRadioInit => {
      const section = sectionOf(frame);
      if (!isConfigSection(section)) return frame; // sessionkey, deviceUi: always empty
      return { case: "config", value: configFromJson({ [section]: this.ram.config[section] }) };
    });
    const moduleFrames = moduleConfigs().map((frame): FromRadioInit => {
      const section = sectionOf(frame);
      if (!isModuleSection(section)) return frame;
      return { case: "moduleConfig", value: moduleConfigFromJson({ [section]: this.ram.moduleConfig[section] }) };
    });
    const channelFrames = this.ram.channels.map((channel): FromRadioInit => ({ case: "channel", value: channelFromJson(channel) }));
    return { channels: channelFrames, configs: configFrames, moduleConfigs: moduleFrames };
  }

  /** The handshake's DeviceMetadata with the modules this board leaves out (excluded_modules). */
  withModules(frame: FromRadioInit): FromRadioInit {
    if (this.cannedModule) return frame;
    return { ...frame, value: { ...(frame.value as JsonObject), excludedModules: EXCLUDED_CANNED_MESSAGES } };
  }

  /** Handles one AdminMessage from the local client (from == 0: trusted, no passkey needed). */
  handle(payload: Uint8Array): AdminOutcome {
    let message: JsonObject;
    try {
      message = decodeAdmin(payload);
      checkSizes(message);
    } catch (error) {
      // nanopb fails to decode it: the firmware drops the packet with no ACK and no response.
      this.log?.warn({ err: error }, "admin message the firmware cannot decode: dropped");
      return {};
    }
    const [variant] = Object.keys(message).filter((key) => key !== "sessionPasskey");
    const value = variant === undefined ? undefined : message[variant];
    this.log?.debug({ variant }, "admin message");
    switch (variant) {
      case "getOwnerRequest":
        return this.respond({ getOwnerResponse: { id: userId(this.node.num), ...this.ram.owner, hwModel: this.node.hwModel, role: this.ram.config.device["role"] ?? "CLIENT" } });
      case "getConfigRequest": {
        const section = configSectionOfType(String(value));
        if (!section) return this.respond({ getConfigResponse: {} });
        return this.respond({ getConfigResponse: { [section]: this.ram.config[section] } });
      }
      case "getModuleConfigRequest": {
        const section = moduleSectionOfType(String(value));
        if (!section) return this.respond({ getModuleConfigResponse: {} });
        return this.respond({ getModuleConfigResponse: { [section]: this.ram.moduleConfig[section] } });
      }
      case "getChannelRequest": {
        const index = Number(value) - 1;
        const channel = this.ram.channels[index];
        if (!Number.isInteger(index) || !channel) return routing(BAD_REQUEST);
        return this.respond({ getChannelResponse: channel });
      }
      case "getCannedMessageModuleMessagesRequest":
        if (!this.cannedModule) return routing(NONE); // no module: only the generic ACK
        return this.respond({ getCannedMessageModuleMessagesResponse: this.ram.cannedMessages });
      case "getDeviceMetadataRequest":
        return this.respond({
          getDeviceMetadataResponse: {
            firmwareVersion: SIM_FIRMWARE_VERSION,
            deviceStateVersion: 24,
            canShutdown: true,
            hasBluetooth: true,
            role: this.ram.config.device["role"] ?? "CLIENT",
            hwModel: this.node.hwModel,
            hasPKC: true,
            excludedModules: this.cannedModule ? 0 : EXCLUDED_CANNED_MESSAGES,
          },
        });
      case "getRingtoneRequest":
        // The official CLI's --export-config waits for this answer (the simulated boards have no buzzer tune set).
        return this.respond({ getRingtoneResponse: "" });
      case "beginEditSettings":
        this.editing = true;
        return routing(NONE);
      case "commitEditSettings":
        this.editing = false;
        this.store.save(this.ram);
        return { ...routing(NONE), rebootAfterMs: this.rebootDelayMs };
      case "setOwner":
        return this.setOwner(value as JsonObject);
      case "setChannel":
        return this.setChannel(value as JsonObject);
      case "setConfig":
        return this.setConfig(value as JsonObject);
      case "setModuleConfig":
        return this.setModuleConfig(value as JsonObject);
      case "setCannedMessageModuleMessages": {
        if (!this.cannedModule) return routing(NONE);
        const text = String(value);
        // An empty string is ignored (it cannot clear the list); the module saves at once, outside any transaction.
        if (text !== "") {
          this.ram.cannedMessages = text;
          this.saveOutsideTransaction("cannedMessages");
        }
        return routing(NONE);
      }
      case "rebootSeconds":
        return { ...routing(NONE), rebootAfterMs: Math.max(0, Number(value)) * 1000 };
      default:
        // Whatever the simulator does not model gets the ACK the AdminModule gives when no reply exists.
        return routing(NONE);
    }
  }

  private respond(message: JsonObject): AdminOutcome {
    return { reply: { admin: encodeAdmin({ ...message, sessionPasskey: this.currentPasskey() }) } };
  }

  private currentPasskey(): string {
    const nowMs = this.now();
    if (!this.passkey || nowMs - this.passkey.at > PASSKEY_RENEW_MS) this.passkey = { bytes: randomBytes(8), at: nowMs };
    return Buffer.from(this.passkey.bytes).toString("base64");
  }

  private setOwner(user: JsonObject): AdminOutcome {
    const longName = typeof user["longName"] === "string" ? user["longName"] : "";
    const shortName = typeof user["shortName"] === "string" ? user["shortName"] : "";
    // Names must hold a non-space character; an empty field leaves the name as it is.
    if ((longName !== "" && longName.trim() === "") || (shortName !== "" && shortName.trim() === "")) return routing(BAD_REQUEST);
    if (longName !== "") this.ram.owner.longName = longName;
    if (shortName !== "") this.ram.owner.shortName = shortName;
    this.applyIdentity();
    this.saveOutsideTransaction("owner");
    return routing(NONE); // no reboot for the owner
  }

  private setChannel(channel: JsonObject): AdminOutcome {
    const index = typeof channel["index"] === "number" ? channel["index"] : 0;
    if (!Number.isInteger(index) || index < 0 || index >= MAX_NUM_CHANNELS) return routing(BAD_REQUEST);
    const next = channelToJson(channelFromJson({ ...channel, index }));
    if (next["role"] === "PRIMARY") {
      // A new primary demotes the old one.
      this.ram.channels = this.ram.channels.map((other) => (other["role"] === "PRIMARY" && other["index"] !== index ? { ...other, role: "SECONDARY" } : other));
    }
    this.ram.channels[index] = next;
    this.saveOutsideTransaction("channel");
    return routing(NONE); // saved, no reboot
  }

  private setConfig(config: JsonObject): AdminOutcome {
    const [section] = Object.keys(config);
    if (!isConfigSection(section)) return routing(NONE);
    const previous = this.ram.config[section];
    const incoming = { ...(config[section] as JsonObject) };
    let reboot = true;
    if (section === "lora") {
      if (incoming["region"] === "LORA_24") return routing(BAD_REQUEST); // the simulated boards are sub-GHz
      reboot = false;
    }
    if (section === "device") {
      const role = typeof incoming["role"] === "string" ? incoming["role"] : "CLIENT";
      if (RETIRED_ROLES.has(role)) incoming["role"] = "CLIENT";
      if (typeof incoming["role"] === "string" && ROUTER_ROLES.has(incoming["role"]) && incoming["rebroadcastMode"] === "NONE") incoming["rebroadcastMode"] = "ALL";
      if (typeof incoming["nodeInfoBroadcastSecs"] === "number" && incoming["nodeInfoBroadcastSecs"] < MIN_NODE_INFO_SECS) incoming["nodeInfoBroadcastSecs"] = MIN_NODE_INFO_SECS;
      reboot = previous["role"] !== incoming["role"] || previous["rebroadcastMode"] !== incoming["rebroadcastMode"];
    }
    if (section === "security" && incoming["privateKey"] === undefined) {
      // A set without the private key keeps the node's identity key pair.
      incoming["privateKey"] = previous["privateKey"];
      incoming["publicKey"] = previous["publicKey"];
    }
    if (section === "network" && incoming["wifiPsk"] === "sekrit") incoming["wifiPsk"] = previous["wifiPsk"];
    this.ram.config[section] = normaliseConfig(section, incoming);
    if (section === "device" && previous["role"] !== this.ram.config.device["role"]) this.installRoleDefaults(String(this.ram.config.device["role"]));
    if (section === "device") this.applyIdentity();
    return this.saveOutsideTransaction("config", reboot);
  }

  private setModuleConfig(config: JsonObject): AdminOutcome {
    const [section] = Object.keys(config);
    if (!isModuleSection(section)) return routing(NONE);
    this.ram.moduleConfig[section] = normaliseModule(section, config[section] as JsonObject);
    return this.saveOutsideTransaction("module config", true);
  }

  /**
   * NodeDB::installRoleDefaults, run when the role changes, after the new device config is in
   * place: a ROUTER's rebroadcast mode becomes CORE_PORTNUMS_ONLY (it stops relaying private
   * ports such as meshaid's) and routers report telemetry rarely. Set the device config again
   * with the same role to keep another rebroadcast mode.
   */
  private installRoleDefaults(role: string): void {
    if (role === "ROUTER") {
      this.ram.config.device["rebroadcastMode"] = "CORE_PORTNUMS_ONLY";
      this.ram.moduleConfig.telemetry["deviceUpdateInterval"] = 43_200;
    } else if (role === "ROUTER_LATE") {
      this.ram.moduleConfig.telemetry["deviceUpdateInterval"] = 86_400;
    }
  }

  /** Outside a transaction a setter saves (and maybe reboots) at once; inside, RAM waits for the commit. */
  private saveOutsideTransaction(what: string, reboot = false): AdminOutcome {
    if (this.editing) return routing(NONE);
    this.store.save(this.ram);
    this.log?.debug({ what }, "settings saved");
    return reboot ? { ...routing(NONE), rebootAfterMs: this.rebootDelayMs } : routing(NONE);
  }

  /** The node's announced identity follows the owner and the device role. */
  private applyIdentity(): void {
    this.node.longName = this.ram.owner.longName;
    this.node.shortName = this.ram.owner.shortName;
    const role = this.ram.config.device["role"];
    const number = typeof role === "string" ? ROLE_NUMBERS[role] : undefined;
    if (number !== undefined) this.node.role = number;
  }
}

/** Config.DeviceConfig.Role numbers by name. */
const ROLE_NUMBERS: Readonly<Record<string, number>> = {
  CLIENT: 0,
  CLIENT_MUTE: 1,
  ROUTER: 2,
  TRACKER: 5,
  SENSOR: 6,
  TAK: 7,
  CLIENT_HIDDEN: 8,
  LOST_AND_FOUND: 9,
  TAK_TRACKER: 10,
  ROUTER_LATE: 11,
  CLIENT_BASE: 12,
};

/** The factory settings a fresh radio has (device-config.ts), as JSON. */
function factorySettings(node: SimNode): SimSettings {
  const config = {} as Record<ConfigSection, JsonObject>;
  for (const frame of configs(node)) {
    const json = configToJson(frame.value as JsonObject);
    for (const section of CONFIG_SECTIONS) if (json[section] !== undefined) config[section] = json[section] as JsonObject;
  }
  const moduleConfig = {} as Record<ModuleSection, JsonObject>;
  for (const frame of moduleConfigs()) {
    const json = moduleConfigToJson(frame.value as JsonObject);
    for (const section of MODULE_SECTIONS) if (json[section] !== undefined) moduleConfig[section] = json[section] as JsonObject;
  }
  for (const section of CONFIG_SECTIONS) config[section] ??= normaliseConfig(section, {});
  for (const section of MODULE_SECTIONS) moduleConfig[section] ??= normaliseModule(section, {});
  return {
    owner: { longName: node.longName, shortName: node.shortName },
    config,
    moduleConfig,
    channels: channels().map((frame) => channelToJson(frame.value as JsonObject)),
    cannedMessages: "Hi|Bye|Yes|No|Ok",
  };
}

function normaliseConfig(section: ConfigSection, value: JsonObject): JsonObject {
  return configToJson(configFromJson({ [section]: value }))[section] as JsonObject;
}

function normaliseModule(section: ModuleSection, value: JsonObject): JsonObject {
  return moduleConfigToJson(moduleConfigFromJson({ [section]: value }))[section] as JsonObject;
}

/** Rejects, as nanopb does, strings and bytes longer than the firmware's fixed buffers. */
function checkSizes(message: JsonObject): void {
  const tooLong = (what: string, bytes: number, max: number): void => {
    if (bytes > max) throw new RangeError(`${what} is ${bytes} bytes (max ${max})`);
  };
  const utf8 = (value: unknown): number => (typeof value === "string" ? Buffer.byteLength(value, "utf8") : 0);
  const base64 = (value: unknown): number => (typeof value === "string" ? Buffer.from(value, "base64").length : 0);
  tooLong("session_passkey", base64(message["sessionPasskey"]), MAX_PASSKEY);
  tooLong("set_canned_message_module_messages", utf8(message["setCannedMessageModuleMessages"]), MAX_CANNED);
  const owner = message["setOwner"] as JsonObject | undefined;
  if (owner) {
    tooLong("User.long_name", utf8(owner["longName"]), MAX_LONG_NAME);
    tooLong("User.short_name", utf8(owner["shortName"]), MAX_SHORT_NAME);
  }
  const settings = (message["setChannel"] as JsonObject | undefined)?.["settings"] as JsonObject | undefined;
  if (settings) {
    tooLong("ChannelSettings.name", utf8(settings["name"]), MAX_CHANNEL_NAME);
    tooLong("ChannelSettings.psk", base64(settings["psk"]), MAX_PSK);
  }
}

function routing(error: number): AdminOutcome {
  return { reply: { routing: error } };
}

function sectionOf(frame: FromRadioInit): string | undefined {
  const value = frame.value as { payloadVariant?: { case?: string } } | undefined;
  return value?.payloadVariant?.case;
}

function isConfigSection(section: string | undefined): section is ConfigSection {
  return (CONFIG_SECTIONS as readonly string[]).includes(section ?? "");
}

function isModuleSection(section: string | undefined): section is ModuleSection {
  return (MODULE_SECTIONS as readonly string[]).includes(section ?? "");
}

function configSectionOfType(type: string): ConfigSection | undefined {
  return CONFIG_SECTIONS.find((section) => CONFIG_TYPE[section] === type);
}

function moduleSectionOfType(type: string): ModuleSection | undefined {
  return MODULE_SECTIONS.find((section) => MODULE_CONFIG_TYPE[section] === type);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
