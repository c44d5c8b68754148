// A typed view of the part of the Meshtastic device protocol meshaid uses.
//
// The schemas (descriptors) and the runtime are the official ones shipped in @meshtastic/core
// (@meshtastic/protobufs 2.7.8 bundled with @bufbuild/protobuf 2.8). The type declarations that
// ship with @meshtastic/protobufs on npm are broken (their namespaces are never declared), so the
// compiler sees `Protobuf` as `any`. This file is the one place that crosses that gap: it states
// the shapes meshaid relies on, field names exactly as the generated code has them, and every
// other module goes through the functions below.
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access */
import { Protobuf } from "@meshtastic/core";
import { create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";

/** Port numbers meshaid cares about (meshtastic/portnums.proto). */
export const PortNum = {
  TEXT_MESSAGE_APP: 1,
  POSITION_APP: 3,
  NODEINFO_APP: 4,
  ROUTING_APP: 5,
  ADMIN_APP: 6,
  TELEMETRY_APP: 67,
  PRIVATE_APP: 256,
} as const;

export const BROADCAST_NUM = 0xffffffff;

/** Device roles (Config.DeviceConfig.Role). */
export const DeviceRole = {
  CLIENT: 0,
  CLIENT_MUTE: 1,
  ROUTER: 2,
  TRACKER: 5,
  CLIENT_BASE: 12,
} as const;

/** An object with some of a message's fields, as @bufbuild/protobuf's `create` accepts it. */
export type ProtoInit = { readonly [field: string]: unknown };

export interface Data {
  portnum: number;
  payload: Uint8Array;
  wantResponse: boolean;
  dest: number;
  source: number;
  requestId: number;
  replyId: number;
  emoji: number;
  bitfield?: number;
}

export interface MeshPacket {
  from: number;
  to: number;
  channel: number;
  payloadVariant:
    | { case: "decoded"; value: Data }
    | { case: "encrypted"; value: Uint8Array }
    | { case: undefined; value?: undefined };
  id: number;
  rxTime: number;
  rxSnr: number;
  hopLimit: number;
  wantAck: boolean;
  priority: number;
  rxRssi: number;
  viaMqtt: boolean;
  hopStart: number;
  relayNode: number;
}

export interface User {
  id: string;
  longName: string;
  shortName: string;
  hwModel: number;
  role: number;
  publicKey: Uint8Array;
}

export interface NodeInfo {
  num: number;
  user?: User;
  snr: number;
  lastHeard: number;
  channel: number;
  hopsAway?: number;
}

export interface MyNodeInfo {
  myNodeNum: number;
  rebootCount: number;
  minAppVersion: number;
  pioEnv: string;
}

export interface QueueStatus {
  res: number;
  free: number;
  maxlen: number;
  meshPacketId: number;
}

export interface LogRecord {
  message: string;
  time: number;
  source: string;
  level: number;
}

export interface DeviceMetadata {
  firmwareVersion: string;
  deviceStateVersion: number;
  role: number;
  hwModel: number;
  hasPKC: boolean;
}

/** FromRadio, device to host. Variants meshaid does not read are kept opaque. */
export type FromRadioVariant =
  | { case: "packet"; value: MeshPacket }
  | { case: "myInfo"; value: MyNodeInfo }
  | { case: "nodeInfo"; value: NodeInfo }
  | { case: "config"; value: ProtoInit }
  | { case: "logRecord"; value: LogRecord }
  | { case: "configCompleteId"; value: number }
  | { case: "rebooted"; value: boolean }
  | { case: "moduleConfig"; value: ProtoInit }
  | { case: "channel"; value: ProtoInit }
  | { case: "queueStatus"; value: QueueStatus }
  | { case: "metadata"; value: DeviceMetadata }
  | { case: "fileInfo"; value: ProtoInit }
  | { case: "clientNotification"; value: ProtoInit }
  | { case: "deviceuiConfig"; value: ProtoInit }
  | { case: "xmodemPacket"; value: ProtoInit }
  | { case: "mqttClientProxyMessage"; value: ProtoInit }
  | { case: undefined; value?: undefined };

export interface FromRadio {
  payloadVariant: FromRadioVariant;
}

export type ToRadioVariant =
  | { case: "packet"; value: MeshPacket }
  | { case: "wantConfigId"; value: number }
  | { case: "disconnect"; value: boolean }
  // The schema bundled in @meshtastic/core 2.6.7 (protobufs 2.7.8) predates Heartbeat.nonce.
  | { case: "heartbeat"; value: ProtoInit }
  | { case: "xmodemPacket"; value: ProtoInit }
  | { case: "mqttClientProxyMessage"; value: ProtoInit }
  | { case: undefined; value?: undefined };

export interface ToRadio {
  payloadVariant: ToRadioVariant;
}

/** A variant to build: the same cases with partial values, as `create` fills in defaults. */
export type FromRadioInit = { case: NonNullable<FromRadioVariant["case"]>; value: unknown };
export type ToRadioInit = { case: NonNullable<ToRadioVariant["case"]>; value: unknown };

const Mesh = Protobuf.Mesh;

export function encodeFromRadio(variant: FromRadioInit): Uint8Array {
  return toBinary(Mesh.FromRadioSchema, create(Mesh.FromRadioSchema, { payloadVariant: variant }));
}

export function encodeToRadio(variant: ToRadioInit): Uint8Array {
  return toBinary(Mesh.ToRadioSchema, create(Mesh.ToRadioSchema, { payloadVariant: variant }));
}

/** Decodes a FromRadio payload; throws (a protobuf parse error) on bytes that are not one. */
export function decodeFromRadio(bytes: Uint8Array): FromRadio {
  return fromBinary(Mesh.FromRadioSchema, bytes) as FromRadio;
}

/** Decodes a ToRadio payload; throws (a protobuf parse error) on bytes that are not one. */
export function decodeToRadio(bytes: Uint8Array): ToRadio {
  return fromBinary(Mesh.ToRadioSchema, bytes) as ToRadio;
}

/** Encodes a User (the payload of a NODEINFO_APP packet). */
export function encodeUser(user: Partial<User>): Uint8Array {
  return toBinary(Mesh.UserSchema, create(Mesh.UserSchema, user));
}

export function decodeUser(bytes: Uint8Array): User {
  return fromBinary(Mesh.UserSchema, bytes) as User;
}

// --- application payloads (issue 4: delivery tracking, roster, captures) ----------------------

export interface Position {
  latitudeI?: number;
  longitudeI?: number;
  altitude?: number;
  time: number;
  precisionBits: number;
  satsInView: number;
  groundSpeed?: number;
}

export interface DeviceMetrics {
  batteryLevel?: number;
  voltage?: number;
  channelUtilization?: number;
  airUtilTx?: number;
  uptimeSeconds?: number;
}

export interface Telemetry {
  time: number;
  variant: { case: "deviceMetrics"; value: DeviceMetrics } | { case: string; value: unknown } | { case: undefined; value?: undefined };
}

const Telem = Protobuf.Telemetry;
const Mqtt = Protobuf.Mqtt;

export function decodeData(bytes: Uint8Array): Data {
  return fromBinary(Mesh.DataSchema, bytes) as Data;
}

export function encodeData(data: ProtoInit): Uint8Array {
  return toBinary(Mesh.DataSchema, create(Mesh.DataSchema, data));
}

export function decodeMeshPacket(bytes: Uint8Array): MeshPacket {
  return fromBinary(Mesh.MeshPacketSchema, bytes) as MeshPacket;
}

export function decodePosition(bytes: Uint8Array): Position {
  return fromBinary(Mesh.PositionSchema, bytes) as Position;
}

export function encodePosition(position: ProtoInit): Uint8Array {
  return toBinary(Mesh.PositionSchema, create(Mesh.PositionSchema, position));
}

export function decodeTelemetry(bytes: Uint8Array): Telemetry {
  return fromBinary(Telem.TelemetrySchema, bytes) as Telemetry;
}

export function encodeTelemetry(telemetry: ProtoInit): Uint8Array {
  return toBinary(Telem.TelemetrySchema, create(Telem.TelemetrySchema, telemetry));
}

/** Routing.error_reason of a ROUTING_APP payload (0 = NONE, an ACK), or undefined for a route request/reply. */
export function decodeRoutingError(bytes: Uint8Array): number | undefined {
  const routing = fromBinary(Mesh.RoutingSchema, bytes) as { variant: { case: string | undefined; value?: unknown } };
  return routing.variant.case === "errorReason" ? (routing.variant.value as number) : undefined;
}

export function encodeRouting(errorReason: number): Uint8Array {
  return toBinary(Mesh.RoutingSchema, create(Mesh.RoutingSchema, { variant: { case: "errorReason", value: errorReason } }));
}

/** Routing.Error names (pb27 mesh.proto; the bundled 2.7.8 schema lacks the newest). */
export const ROUTING_ERROR_NAMES: Readonly<Record<number, string>> = {
  0: "NONE",
  1: "NO_ROUTE",
  2: "GOT_NAK",
  3: "TIMEOUT",
  4: "NO_INTERFACE",
  5: "MAX_RETRANSMIT",
  6: "NO_CHANNEL",
  7: "TOO_LARGE",
  8: "NO_RESPONSE",
  9: "DUTY_CYCLE_LIMIT",
  32: "BAD_REQUEST",
  33: "NOT_AUTHORIZED",
  34: "PKI_FAILED",
  35: "PKI_UNKNOWN_PUBKEY",
  36: "ADMIN_BAD_SESSION_KEY",
  37: "ADMIN_PUBLIC_KEY_UNAUTHORIZED",
  38: "RATE_LIMIT_EXCEEDED",
  39: "PKI_SEND_FAIL_PUBLIC_KEY",
};

export function routingErrorName(code: number): string {
  return ROUTING_ERROR_NAMES[code] ?? `ERROR_${code}`;
}

/** The PortNum name ("TEXT_MESSAGE_APP"), or the number as text for ports the schema does not name. */
export function portName(portnum: number): string {
  const name = (Protobuf.Portnums.PortNum as Record<number, string | undefined>)[portnum];
  return name ?? String(portnum);
}

// JSON views (proto3 JSON mapping: camelCase names, enum names, bytes as base64) for `meshaid decode`.
type JsonValue = unknown;

export function dataToJson(bytes: Uint8Array): JsonValue {
  return toJson(Mesh.DataSchema, fromBinary(Mesh.DataSchema, bytes));
}

export function fromRadioToJson(bytes: Uint8Array): JsonValue {
  return toJson(Mesh.FromRadioSchema, fromBinary(Mesh.FromRadioSchema, bytes));
}

export function toRadioToJson(bytes: Uint8Array): JsonValue {
  return toJson(Mesh.ToRadioSchema, fromBinary(Mesh.ToRadioSchema, bytes));
}

export function meshPacketToJson(bytes: Uint8Array): JsonValue {
  return toJson(Mesh.MeshPacketSchema, fromBinary(Mesh.MeshPacketSchema, bytes));
}

/** meshtastic.ServiceEnvelope: what a gateway publishes on MQTT (mqtt.proto). */
export interface ServiceEnvelope {
  packet?: MeshPacket;
  channelId: string;
  gatewayId: string;
}

/** A ServiceEnvelope from a MeshPacket given as its fields (payloadVariant encrypted or decoded). */
export function encodeServiceEnvelope(envelope: { packet: ProtoInit; channelId: string; gatewayId: string }): Uint8Array {
  return toBinary(Mqtt.ServiceEnvelopeSchema, create(Mqtt.ServiceEnvelopeSchema, envelope));
}

export function decodeServiceEnvelope(bytes: Uint8Array): ServiceEnvelope {
  return fromBinary(Mqtt.ServiceEnvelopeSchema, bytes) as ServiceEnvelope;
}

export function serviceEnvelopeToJson(bytes: Uint8Array): JsonValue {
  return toJson(Mqtt.ServiceEnvelopeSchema, fromBinary(Mqtt.ServiceEnvelopeSchema, bytes));
}

/** The payload of a core port as JSON (Position, User, Routing, Telemetry), or undefined for other ports. */
export function payloadToJson(portnum: number, payload: Uint8Array): JsonValue {
  switch (portnum) {
    case PortNum.POSITION_APP:
      return toJson(Mesh.PositionSchema, fromBinary(Mesh.PositionSchema, payload));
    case PortNum.NODEINFO_APP:
      return toJson(Mesh.UserSchema, fromBinary(Mesh.UserSchema, payload));
    case PortNum.ROUTING_APP:
      return toJson(Mesh.RoutingSchema, fromBinary(Mesh.RoutingSchema, payload));
    case PortNum.TELEMETRY_APP:
      return toJson(Telem.TelemetrySchema, fromBinary(Telem.TelemetrySchema, payload));
    default:
      return undefined;
  }
}

// --- device settings and admin messages (issue 9: provisioning) -------------------------------
//
// Settings travel as the proto3 JSON mapping (camelCase field names, enum names, bytes as
// base64): the same form `meshtastic --export-config` writes and `--configure` reads, so a
// profile's sections are parsed and checked by the official schemas themselves.

/** A JSON object in the proto3 JSON mapping. */
export type JsonObject = { [key: string]: unknown };

/** Config sections a client sets (Config oneof names; sessionkey and deviceUi are not settings). */
export const CONFIG_SECTIONS = ["device", "position", "power", "network", "display", "lora", "bluetooth", "security"] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/** ModuleConfig sections (oneof names) in the firmware's order. */
export const MODULE_SECTIONS = [
  "mqtt",
  "serial",
  "externalNotification",
  "storeForward",
  "rangeTest",
  "telemetry",
  "cannedMessage",
  "audio",
  "remoteHardware",
  "neighborInfo",
  "ambientLighting",
  "detectionSensor",
  "paxcounter",
] as const;
export type ModuleSection = (typeof MODULE_SECTIONS)[number];

/** AdminMessage.ConfigType names, by section. */
export const CONFIG_TYPE: Readonly<Record<ConfigSection, string>> = {
  device: "DEVICE_CONFIG",
  position: "POSITION_CONFIG",
  power: "POWER_CONFIG",
  network: "NETWORK_CONFIG",
  display: "DISPLAY_CONFIG",
  lora: "LORA_CONFIG",
  bluetooth: "BLUETOOTH_CONFIG",
  security: "SECURITY_CONFIG",
};

/** AdminMessage.ModuleConfigType names, by section. */
export const MODULE_CONFIG_TYPE: Readonly<Record<ModuleSection, string>> = {
  mqtt: "MQTT_CONFIG",
  serial: "SERIAL_CONFIG",
  externalNotification: "EXTNOTIF_CONFIG",
  storeForward: "STOREFORWARD_CONFIG",
  rangeTest: "RANGETEST_CONFIG",
  telemetry: "TELEMETRY_CONFIG",
  cannedMessage: "CANNEDMSG_CONFIG",
  audio: "AUDIO_CONFIG",
  remoteHardware: "REMOTEHARDWARE_CONFIG",
  neighborInfo: "NEIGHBORINFO_CONFIG",
  ambientLighting: "AMBIENTLIGHTING_CONFIG",
  detectionSensor: "DETECTIONSENSOR_CONFIG",
  paxcounter: "PAXCOUNTER_CONFIG",
};

/** DeviceMetadata.excluded_modules bit of the canned-message module (ExcludedModules.CANNEDMSG_CONFIG). */
export const EXCLUDED_CANNED_MESSAGES = 0x0040;

const Admin = Protobuf.Admin;
const ConfigPb = Protobuf.Config;
const ModulePb = Protobuf.ModuleConfig;
const ChannelPb = Protobuf.Channel;
const JSON_OUT = { alwaysEmitImplicit: true } as const;

/**
 * A Config with one section set, from JSON ({ lora: {...} }), checked by the schema: throws an
 * Error naming the field (`cannot decode field meshtastic.Config.LoRaConfig.hop_limit ...`).
 */
export function configFromJson(json: JsonObject): ProtoInit {
  return fromJson(ConfigPb.ConfigSchema, json as never) as ProtoInit;
}

/** A Config (init or message) as JSON with every field present ({ lora: { usePreset: true, ... } }). */
export function configToJson(config: ProtoInit): JsonObject {
  return toJson(ConfigPb.ConfigSchema, create(ConfigPb.ConfigSchema, config), JSON_OUT) as JsonObject;
}

export function moduleConfigFromJson(json: JsonObject): ProtoInit {
  return fromJson(ModulePb.ModuleConfigSchema, json as never) as ProtoInit;
}

export function moduleConfigToJson(config: ProtoInit): JsonObject {
  return toJson(ModulePb.ModuleConfigSchema, create(ModulePb.ModuleConfigSchema, config), JSON_OUT) as JsonObject;
}

/** A Channel ({ index, role: "PRIMARY", settings: { name, psk (base64) ... } }) checked by the schema. */
export function channelFromJson(json: JsonObject): ProtoInit {
  return fromJson(ChannelPb.ChannelSchema, json as never) as ProtoInit;
}

export function channelToJson(channel: ProtoInit): JsonObject {
  return toJson(ChannelPb.ChannelSchema, create(ChannelPb.ChannelSchema, channel), JSON_OUT) as JsonObject;
}

export function userFromJson(json: JsonObject): ProtoInit {
  return fromJson(Mesh.UserSchema, json as never) as ProtoInit;
}

export function userToJson(user: ProtoInit): JsonObject {
  return toJson(Mesh.UserSchema, create(Mesh.UserSchema, user), JSON_OUT) as JsonObject;
}

export function metadataToJson(metadata: ProtoInit): JsonObject {
  return toJson(Mesh.DeviceMetadataSchema, create(Mesh.DeviceMetadataSchema, metadata), JSON_OUT) as JsonObject;
}

/**
 * Encodes an AdminMessage given as JSON ({ getConfigRequest: "LORA_CONFIG" }, { setConfig: { lora:
 * {...} } }, { beginEditSettings: true }, sessionPasskey as base64). Throws on a field the schema
 * does not have or a value it cannot hold.
 */
export function encodeAdmin(json: JsonObject): Uint8Array {
  return toBinary(Admin.AdminMessageSchema, fromJson(Admin.AdminMessageSchema, json as never));
}

/** Decodes an AdminMessage to JSON (only the fields set). Throws on bytes that are not one. */
export function decodeAdmin(bytes: Uint8Array): JsonObject {
  return toJson(Admin.AdminMessageSchema, fromBinary(Admin.AdminMessageSchema, bytes)) as JsonObject;
}

/**
 * A channel URL as the apps and `meshtastic --seturl` / `--configure` read it: a ChannelSet
 * (the channels' settings in index order, and the LoRa config) in unpadded base64url after
 * https://meshtastic.org/e/#.
 */
export function channelUrl(settings: readonly JsonObject[], lora: JsonObject): string {
  const set = fromJson(Protobuf.AppOnly.ChannelSetSchema, { settings, loraConfig: lora } as never);
  const bytes = toBinary(Protobuf.AppOnly.ChannelSetSchema, set);
  return `https://meshtastic.org/e/#${Buffer.from(bytes).toString("base64url")}`;
}

/** The ChannelSet of a channel URL as JSON ({ settings: [...], loraConfig: {...} }). Throws on a bad URL. */
export function decodeChannelUrl(url: string): JsonObject {
  const hash = url.indexOf("#");
  if (hash < 0) throw new Error("a channel URL has its settings after #");
  const bytes = Buffer.from(url.slice(hash + 1), "base64url");
  return toJson(Protobuf.AppOnly.ChannelSetSchema, fromBinary(Protobuf.AppOnly.ChannelSetSchema, bytes), JSON_OUT) as JsonObject;
}
