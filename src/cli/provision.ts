// `meshaid provision` and `meshaid check`: set a radio up from a device profile through admin
// messages (one edit transaction, the reboot it causes, a read-back that reports every
// difference), walk a box of radios from a volunteer roster, and check a radio at the check-in
// table for drift from its profile (a wrong channel key included, shown as a fingerprint only).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parse as parseCsv } from "csv-parse/sync";
import pino, { type Logger } from "pino";
import {
  AdminError,
  AdminSession,
  CONFIG_SECTIONS,
  MODULE_SECTIONS,
  RadioError,
  connectTcpTransport,
  findRadioPort,
  listSerialPorts,
  openSerialTransport,
  scanRadioPorts,
  type AdminClient,
  type JsonObject,
  type Transport,
} from "../radio/index.ts";
import { WireError, type PresetTable } from "../wire/index.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, readCodebook, readPresetTable } from "./field-config.ts";
import { DEFAULT_PRESETS_FILE, PACKAGE_ROOT, defaultDataDir } from "./paths.ts";
import {
  CHANNEL_KEY_BYTES,
  ProfileError,
  compareWithProfile,
  keyFingerprint,
  readProfile,
  renderForOfficialTool,
  settingsChecked,
  type DeviceProfile,
  type Difference,
  type RadioSettings,
} from "./profile.ts";

export const PROFILES_DIR = join(PACKAGE_ROOT, "firmware-config", "profiles");

export interface ProvisionOptions {
  port?: string;
  profile?: string;
  callsign?: string;
  roster?: string;
  channelKey?: string;
  db?: string;
  region?: string;
  presets?: string;
  codebook?: string;
  /** Print the filled-in profile for `meshtastic --configure` instead of writing a radio. */
  printYaml?: boolean;
  /** Seconds the radio gets to come back after saving (default 90). */
  rebootTimeout?: string;
}

export interface CheckOptions {
  port?: string;
  profile?: string;
  callsign?: string;
  channelKey?: string;
  db?: string;
  region?: string;
  presets?: string;
  codebook?: string;
}

/** Where the command writes and asks. Tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Waits for the operator (Enter), or undefined when nobody is at a terminal. */
  ask?: (prompt: string) => Promise<string>;
  logger?: Logger;
}

export const processIo = (): Io => ({
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  ...(process.stdin.isTTY ? { ask: askOnTerminal } : {}),
});

/** A mistake the user can fix: printed as one line. */
class ProvisionError extends Error {}

export async function runProvision(options: ProvisionOptions, io: Io = processIo()): Promise<number> {
  try {
    const presets = loadPresets(options);
    if (options.roster !== undefined) return await provisionRoster(options, presets, io);
    if (options.profile === undefined || options.callsign === undefined) {
      throw new ProvisionError("say which profile and callsign: --profile medic --callsign M7 (or --roster volunteers.csv)");
    }
    const profile = loadProfile(options.profile, options.callsign, options, presets);
    if (options.printYaml) {
      io.out(renderForOfficialTool(profile).trimEnd());
      return 0;
    }
    if (options.port === undefined) throw new ProvisionError("say which radio: --port /dev/ttyACM0, --port auto or --port tcp://HOST:4403");
    const port = options.port === "auto" ? await onlyRadio() : options.port;
    const result = await provisionOne(port, profile, options, io);
    return result.differences.length === 0 ? 0 : 1;
  } catch (error) {
    return reportFailure(error, "provision", io);
  }
}

export async function runCheck(options: CheckOptions, io: Io = processIo()): Promise<number> {
  try {
    if (options.port === undefined) throw new ProvisionError("say which radio: --port /dev/ttyACM0, --port auto or --port tcp://HOST:4403");
    const presets = loadPresets(options);
    const logger = io.logger ?? quietLogger();
    const session = await AdminSession.open({ open: opener(options.port, logger), logger });
    try {
      const owner = await session.admin.getOwner();
      // Without --callsign the radio's own short name is taken as its callsign; the rest is checked against it.
      const callsign = options.callsign ?? (typeof owner["shortName"] === "string" ? owner["shortName"] : "");
      // Without --profile, the profile whose owner pattern ("Medic {callsign}") gives the radio's name.
      const profileName = options.profile ?? profileNamed(typeof owner["longName"] === "string" ? owner["longName"] : "", callsign);
      const profile = loadProfile(profileName, callsign, options, presets);
      const settings = await readRadioSettings(session.admin, profile);
      const differences = compareWithProfile(profile, settings);
      io.out(`radio ${nodeId(session.nodeNum)} "${String(owner["longName"])}" (${callsign}) against the ${profile.name} profile:`);
      reportDifferences(profile, differences, io);
      return differences.length === 0 ? 0 : 1;
    } finally {
      await session.close();
    }
  } catch (error) {
    return reportFailure(error, "check", io);
  }
}

interface Provisioned {
  nodeNum: number;
  differences: Difference[];
}

/** Applies a profile to the radio on `port` in one edit transaction, waits for the reboot and reads everything back. */
async function provisionOne(port: string, profile: DeviceProfile, options: ProvisionOptions, io: Io): Promise<Provisioned> {
  const logger = io.logger ?? quietLogger();
  const rebootTimeoutMs = options.rebootTimeout === undefined ? 90_000 : Number(options.rebootTimeout) * 1000;
  if (!Number.isFinite(rebootTimeoutMs) || rebootTimeoutMs <= 0) throw new ProvisionError(`--reboot-timeout must be a number of seconds, not "${options.rebootTimeout}"`);
  const session = await AdminSession.open({ open: opener(port, logger), logger, rebootTimeoutMs });
  try {
    const current = await readRadioSettings(session.admin, profile);
    const key = keyFingerprint((profile.channels[0]?.["settings"] as JsonObject | undefined)?.["psk"]);
    io.out(`radio ${nodeId(session.nodeNum)} "${String(current.owner["longName"])}" on ${port}: profile ${profile.name}, callsign ${profile.owner.shortName}, channel ${key}`);
    const writes = await applyProfile(session.admin, profile, current);
    io.out(`  ${writes} settings written in one edit transaction; saving (the radio reboots)...`);
    await session.commitAndWaitForReboot();
    io.out("  back after the reboot; reading the settings again...");
    const after = await readRadioSettings(session.admin, profile);
    const differences = compareWithProfile(profile, after);
    reportDifferences(profile, differences, io);
    return { nodeNum: session.nodeNum, differences };
  } finally {
    await session.close();
  }
}

/** Reads what the profile sets (and the channels and owner) from the radio. */
export async function readRadioSettings(admin: AdminClient, profile: DeviceProfile): Promise<RadioSettings> {
  const owner = await admin.getOwner();
  const channels: JsonObject[] = [];
  for (let index = 0; index < 8; index++) channels.push(await admin.getChannel(index));
  const config: RadioSettings["config"] = {};
  for (const section of CONFIG_SECTIONS) {
    if (profile.config[section] !== undefined || section === "device") config[section] = await admin.getConfig(section);
  }
  const moduleConfig: RadioSettings["moduleConfig"] = {};
  for (const section of MODULE_SECTIONS) {
    if (profile.moduleConfig[section] !== undefined) moduleConfig[section] = await admin.getModuleConfig(section);
  }
  const cannedMessages = profile.cannedMessages === undefined ? undefined : await admin.getCannedMessages();
  return { owner, config, moduleConfig, channels, cannedMessages };
}

/**
 * Writes the profile inside an open edit transaction (nothing is saved until the commit). Each
 * section is the radio's current one with the profile's fields on top, as `meshtastic
 * --configure` does. Returns how many admin messages set something.
 */
async function applyProfile(admin: AdminClient, profile: DeviceProfile, current: RadioSettings): Promise<number> {
  let writes = 0;
  await admin.beginEdit();
  await admin.setOwner(profile.owner);
  writes++;
  for (let index = 0; index < 8; index++) {
    const wanted = profile.channels[index];
    if (wanted) await admin.setChannel(wanted);
    else if (current.channels[index]?.["role"] !== "DISABLED") await admin.setChannel({ index, role: "DISABLED" });
    else continue;
    writes++;
  }
  const device = { ...current.config.device, ...profile.config.device };
  await admin.setConfig("device", device);
  writes++;
  if (profile.config.device?.["role"] !== undefined && current.config.device?.["role"] !== profile.config.device["role"]) {
    // A role change makes the firmware install the role's defaults after our settings (a ROUTER
    // gets CORE_PORTNUMS_ONLY, which drops meshaid's port). The same role again keeps ours.
    await admin.setConfig("device", device);
    writes++;
  }
  for (const section of CONFIG_SECTIONS) {
    const fields = profile.config[section];
    if (section === "device" || fields === undefined) continue;
    await admin.setConfig(section, { ...current.config[section], ...fields });
    writes++;
  }
  for (const section of MODULE_SECTIONS) {
    const fields = profile.moduleConfig[section];
    if (fields === undefined) continue;
    await admin.setModuleConfig(section, { ...current.moduleConfig[section], ...fields });
    writes++;
  }
  if (profile.cannedMessages !== undefined && current.cannedMessages !== undefined) {
    await admin.setCannedMessages(profile.cannedMessages);
    writes++;
  }
  return writes;
}

function reportDifferences(profile: DeviceProfile, differences: readonly Difference[], io: Io): void {
  if (differences.length === 0) {
    io.out(`  ok: the radio matches the ${profile.name} profile (${settingsChecked(profile)} settings checked)`);
    return;
  }
  io.out(`  ${differences.length} difference(s) from the ${profile.name} profile:`);
  for (const difference of differences) io.out(`  DIFFERS ${difference.setting}: profile ${difference.expected}, radio ${difference.actual}`);
}

// --- the roster: a box of radios -----------------------------------------------------------------

interface RosterRow {
  line: number;
  callsign: string;
  profile: string;
  port?: string;
  label?: string;
}

async function provisionRoster(options: ProvisionOptions, presets: PresetTable, io: Io): Promise<number> {
  const rows = readRoster(options.roster ?? "");
  // Every row is checked (profile, callsign, limits) before any radio is touched.
  const profiles = rows.map((row) => {
    try {
      return loadProfile(row.profile, row.callsign, options, presets);
    } catch (error) {
      throw new ProvisionError(`${options.roster} line ${row.line} (${row.callsign}): ${(error as Error).message}`);
    }
  });
  // With --port auto, radios already plugged in (the station's own, say) are never touched: each
  // roster line waits for a radio that appears.
  const alreadyThere = options.port === "auto" && rows.some((row) => row.port === undefined) ? new Set(await radioPorts()) : new Set<string>();
  if (alreadyThere.size > 0) io.out(`radios already plugged in are left alone: ${[...alreadyThere].join(", ")}`);
  const failures: string[] = [];
  let matched = 0;
  for (const [i, row] of rows.entries()) {
    const profile = profiles[i];
    if (!profile) continue;
    const port = row.port ?? options.port;
    if (port === undefined) throw new ProvisionError(`${options.roster} line ${row.line}: no port; give --port auto (or a port column)`);
    io.out(`[${i + 1}/${rows.length}] ${progressBar(i, rows.length)} ${row.callsign} (${row.profile})`);
    const path = await waitForRadio(port, row, io, alreadyThere);
    try {
      const result = await provisionOne(path, profile, options, io);
      if (result.differences.length === 0) matched++;
      else failures.push(`${row.callsign}: ${result.differences.length} difference(s)`);
      io.out(labelLine(row, profile, result.nodeNum));
    } catch (error) {
      const line = error instanceof Error ? error.message : String(error);
      io.err(`  ${row.callsign} failed: ${line}`);
      failures.push(`${row.callsign}: ${line}`);
    }
    if (port === "auto" && i < rows.length - 1) await waitForUnplug(path, io);
  }
  io.out(`[${rows.length}/${rows.length}] ${progressBar(rows.length, rows.length)} done: ${matched} of ${rows.length} radios match their profile`);
  for (const failure of failures) io.out(`  NOT DONE ${failure}`);
  return failures.length === 0 ? 0 : 1;
}

function readRoster(file: string): RosterRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ProvisionError(`cannot read the roster ${file}: ${(error as Error).message}`);
  }
  let records: Array<Record<string, string>>;
  try {
    records = parseCsv<Record<string, string>>(text, { columns: (header: string[]) => header.map((name) => name.trim().toLowerCase()), skip_empty_lines: true, trim: true, comment: "#" });
  } catch (error) {
    throw new ProvisionError(`${file}: not valid CSV: ${(error as Error).message}`);
  }
  if (records.length === 0) throw new ProvisionError(`${file}: no radios; expected a header line "callsign,profile" (optional: port, label) and one line per radio`);
  const seen = new Set<string>();
  return records.map((record, index) => {
    const line = index + 2;
    const callsign = record["callsign"] ?? "";
    const profile = record["profile"] ?? "";
    if (callsign === "" || profile === "") throw new ProvisionError(`${file} line ${line}: needs a callsign and a profile (columns "callsign,profile")`);
    if (seen.has(callsign.toUpperCase())) throw new ProvisionError(`${file} line ${line}: callsign ${callsign} appears twice`);
    seen.add(callsign.toUpperCase());
    const row: RosterRow = { line, callsign, profile };
    if (record["port"]) row.port = record["port"];
    if (record["label"]) row.label = record["label"];
    return row;
  });
}

/**
 * Waits for the radio of this row: with `auto`, a radio port that was not there before (its
 * /dev/serial/by-id name when it has one: native-USB boards come back under it after the
 * reboot); otherwise the operator's Enter at a terminal.
 */
async function waitForRadio(port: string, row: RosterRow, io: Io, alreadyThere: ReadonlySet<string>): Promise<string> {
  if (port !== "auto") {
    if (io.ask) await io.ask(`  connect the radio for ${row.callsign} to ${port}, then press Enter `);
    return port;
  }
  io.out(`  plug in the radio for ${row.callsign}...`);
  for (;;) {
    const fresh = (await radioPorts()).filter((path) => !alreadyThere.has(path));
    const chosen = fresh.find((path) => path.includes("/serial/by-id/")) ?? fresh[0];
    if (chosen !== undefined) return chosen;
    await sleep(1_000);
  }
}

/**
 * `--port auto` for one radio: the one radio plugged in, by its /dev/serial/by-id name when it has
 * one (a native-USB board comes back under it after the reboot). Several radios: refuse rather
 * than rewrite the station's own.
 */
async function onlyRadio(): Promise<string> {
  const found = await findRadioPort();
  const radios = found.verdicts.filter((verdict) => verdict.boards.length > 0 && !verdict.reason.startsWith("same device as"));
  if (radios.length > 1) {
    throw new ProvisionError(`${radios.length} radios are plugged in (${radios.map((verdict) => verdict.path).join(", ")}): pass --port PATH, or unplug all but the one to set up`);
  }
  return found.path;
}

/** Serial ports whose USB id is a known board's (both a device's tty and its by-id link). */
async function radioPorts(): Promise<string[]> {
  try {
    return (await scanRadioPorts()).verdicts.filter((verdict) => verdict.boards.length > 0).map((verdict) => verdict.path);
  } catch (error) {
    if (error instanceof RadioError) return [];
    throw error;
  }
}

async function waitForUnplug(path: string, io: Io): Promise<void> {
  io.out(`  unplug it (${path}) and plug in the next one`);
  while ((await listSerialPorts()).some((port) => port.path === path) || existsSync(path)) await sleep(1_000);
}

function labelLine(row: RosterRow, profile: DeviceProfile, nodeNum: number): string {
  const key = keyFingerprint((profile.channels[0]?.["settings"] as JsonObject | undefined)?.["psk"]);
  const fields = ["LABEL", row.callsign, profile.name, nodeId(nodeNum), profile.owner.longName, key, new Date().toISOString().slice(0, 10)];
  if (row.label) fields.push(row.label);
  return fields.join(" | ");
}

function progressBar(done: number, total: number): string {
  const width = 20;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

// --- inputs ----------------------------------------------------------------------------------

function loadPresets(options: { presets?: string; codebook?: string }): PresetTable {
  const codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
  return readPresetTable(options.presets ?? DEFAULT_PRESETS_FILE, codebook);
}

/** A profile by name (firmware-config/profiles/NAME.yaml) or path, filled in for one radio. */
function loadProfile(nameOrFile: string, callsign: string, options: { channelKey?: string; db?: string; region?: string }, presets: PresetTable): DeviceProfile {
  const file = /[/\\]|\.ya?ml$/.test(nameOrFile) ? resolve(nameOrFile) : join(PROFILES_DIR, `${nameOrFile}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    const known = listProfiles().join(", ") || "none";
    throw new ProvisionError(`no profile ${nameOrFile} (${file}); the profiles are: ${known}`);
  }
  const channelKey = readChannelKey(options);
  return readProfile(basename(file).replace(/\.ya?ml$/, ""), text, file, {
    callsign,
    channelKey,
    presets,
    ...(options.region !== undefined ? { region: options.region } : {}),
  });
}

/** The shipped profile whose `owner:` pattern, filled with the callsign, is this long name. */
function profileNamed(longName: string, callsign: string): string {
  for (const name of listProfiles()) {
    const match = /^owner:\s*"?([^"\n#]*)"?/m.exec(readFileSync(join(PROFILES_DIR, `${name}.yaml`), "utf8"));
    if (match?.[1]?.trim().replaceAll("{callsign}", callsign) === longName) return name;
  }
  throw new ProvisionError(`the radio's name "${longName}" fits no profile (${listProfiles().join(", ")}): say which it should have with --profile`);
}

function listProfiles(): string[] {
  try {
    return readdirSync(PROFILES_DIR).filter((name) => name.endsWith(".yaml")).map((name) => name.slice(0, -5));
  } catch {
    return [];
  }
}

/** The station's channel key: <data dir>/keys/channel.key (base64 of 32 bytes, from `meshaid keygen`), or --channel-key FILE. */
export function readChannelKey(options: { channelKey?: string; db?: string }): Uint8Array {
  const file = options.channelKey ?? join(resolve(options.db ?? defaultDataDir()), "keys", "channel.key");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ProvisionError(
      options.channelKey === undefined
        ? `no channel key at ${file}: run \`meshaid keygen\` first (or pass --channel-key FILE)`
        : `cannot read the channel key ${file}; pass the channel.key that \`meshaid keygen\` wrote`,
    );
  }
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== CHANNEL_KEY_BYTES) {
    throw new ProvisionError(`${file} is not a channel key (base64 of ${CHANNEL_KEY_BYTES} bytes); make a new one with \`meshaid keygen\``);
  }
  return new Uint8Array(key);
}

/** How to open the radio, again after each reboot: a serial path, `auto` (found again each time), or tcp://host:port. */
function opener(port: string, logger: Logger): () => Promise<Transport> {
  if (port.startsWith("tcp://")) {
    let url: URL;
    try {
      url = new URL(port);
    } catch {
      throw new ProvisionError(`--port ${port} is not a tcp://HOST:PORT address`);
    }
    return () => connectTcpTransport({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 4403) });
  }
  return async () => {
    const path = port === "auto" ? (await findRadioPort()).path : port;
    return openSerialTransport({ path, logger: logger.child({ module: "serial", port: path }) });
  };
}

function reportFailure(error: unknown, command: string, io: Io): number {
  if (
    error instanceof ProvisionError ||
    error instanceof ProfileError ||
    error instanceof RadioError ||
    error instanceof AdminError ||
    error instanceof WireError ||
    error instanceof ConfigFileError
  ) {
    io.err(`meshaid ${command}: ${error.message}`);
    return 1;
  }
  io.err(`meshaid ${command} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return 1;
}

/** Log lines on stderr only for errors (the reboot's dropped link is expected); MESHAID_LOG_LEVEL=debug shows every step. */
function quietLogger(): Logger {
  return pino({ level: process.env["MESHAID_LOG_LEVEL"] ?? "error" }, pino.destination({ dest: 2, sync: true }));
}

function nodeId(num: number): string {
  return `!${(num >>> 0).toString(16).padStart(8, "0")}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

async function askOnTerminal(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<string>((answer) => rl.question(prompt, answer));
  } finally {
    rl.close();
  }
}
