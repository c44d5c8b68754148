// Which serial port is the radio? `--port auto` and `meshaid ports`.
//
// The boards are data (hardware/boards.json): a USB vendor:product id says which boards a port
// could be. chooseRadioPort is pure and explains every candidate; the rest lists the ports.
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Logger } from "pino";
import { RadioError } from "./errors.ts";

export interface UsbId {
  /** 4 lowercase hex digits, e.g. "10c4". */
  vendorId: string;
  productId: string;
}

export interface Board {
  name: string;
  mcu: string;
  usb: UsbId[];
  notes: string;
}

/** A serial port as serialport's SerialPort.list() describes it (only `path` is certain). */
export interface PortInfo {
  path: string;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
  /** On Linux: the device's /dev/serial/by-id name. */
  pnpId?: string | undefined;
  locationId?: string | undefined;
  productId?: string | undefined;
  vendorId?: string | undefined;
}

export interface PortVerdict {
  path: string;
  chosen: boolean;
  /** Names of the boards whose USB id this port has (empty when none). */
  boards: string[];
  /** One line: why this port was or was not chosen. */
  reason: string;
}

export interface PortChoice {
  /** The port to open, or undefined when no candidate looks like a radio. */
  chosen: PortInfo | undefined;
  /** Every candidate, in the order given, with why it was or was not chosen. */
  verdicts: PortVerdict[];
}

export const BY_ID_DIR = "/dev/serial/by-id";
export const DEFAULT_BOARDS_FILE = new URL("../../hardware/boards.json", import.meta.url);

/**
 * Picks the radio among serial ports. A port is a candidate when its USB vendor:product id is a
 * known board's. When the same device appears twice (its /dev/ttyACM0 and its
 * /dev/serial/by-id/... link, recognised by the by-id name equal to the other's pnpId), the
 * by-id path wins: it survives re-plugging and re-enumeration. Among several radios the first
 * by path is chosen and the others say so.
 */
export function chooseRadioPort(candidates: readonly PortInfo[], boards: readonly Board[]): PortChoice {
  const reasons = new Map<PortInfo, Omit<PortVerdict, "path">>();
  const matches = new Map<PortInfo, string[]>();
  for (const port of candidates) {
    const id = usbIdOf(port);
    const names = id ? boards.filter((board) => board.usb.some((usb) => sameUsbId(usb, id))).map((board) => board.name) : [];
    matches.set(port, names);
  }

  // One representative per physical device: the by-id path when there is one.
  const representative = new Map<string, PortInfo>();
  for (const port of candidates) {
    const key = deviceKey(port);
    const current = representative.get(key);
    if (!current || (isById(port.path) && !isById(current.path))) representative.set(key, port);
  }
  for (const port of candidates) {
    const chosenTwin = representative.get(deviceKey(port));
    if (chosenTwin && chosenTwin !== port) {
      reasons.set(port, {
        chosen: false,
        boards: matches.get(port) ?? [],
        reason: `same device as ${chosenTwin.path}, which is preferred because its name survives re-plugging`,
      });
    }
  }

  const radios: PortInfo[] = [];
  for (const port of representative.values()) {
    const id = usbIdOf(port);
    const names = matches.get(port) ?? [];
    if (!id) {
      reasons.set(port, { chosen: false, boards: [], reason: "no USB vendor/product id: not a USB serial device" });
    } else if (names.length === 0) {
      reasons.set(port, {
        chosen: false,
        boards: [],
        reason: `USB ${id.vendorId}:${id.productId} is not a known Meshtastic board (hardware/boards.json); pass --port ${port.path} if it is one`,
      });
    } else {
      radios.push(port);
    }
  }
  radios.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const [chosen, ...others] = radios;
  if (chosen) {
    const id = usbIdOf(chosen);
    const names = matches.get(chosen) ?? [];
    reasons.set(chosen, { chosen: true, boards: names, reason: `USB ${id?.vendorId}:${id?.productId} matches ${names.join(", ")}` });
    for (const port of others) {
      const names = matches.get(port) ?? [];
      reasons.set(port, {
        chosen: false,
        boards: names,
        reason: `also looks like a radio (${names.join(", ")}), but ${chosen.path} comes first; pass --port ${port.path} to use this one`,
      });
    }
  }

  return {
    chosen,
    verdicts: candidates.map((port) => ({ path: port.path, ...(reasons.get(port) ?? { chosen: false, boards: [], reason: "duplicate entry" }) })),
  };
}

export interface ScanOptions {
  boards?: readonly Board[];
  /** Lists the ports; SerialPort.list() by default, with a sysfs fallback on Linux. */
  list?: () => Promise<PortInfo[]>;
  /** Where the stable by-id links live (Linux). */
  byIdDir?: string;
  logger?: Logger;
}

/** Lists the serial ports (adding their /dev/serial/by-id links) and explains which is the radio. */
export async function scanRadioPorts(options: ScanOptions = {}): Promise<PortChoice> {
  const boards = options.boards ?? loadBoards();
  const ports = await (options.list ?? (() => listSerialPorts(options.logger)))();
  const candidates = withByIdLinks(ports, readByIdLinks(options.byIdDir ?? BY_ID_DIR));
  return chooseRadioPort(candidates, boards);
}

export interface FoundPort {
  path: string;
  info: PortInfo;
  boards: string[];
  verdicts: PortVerdict[];
}

/** The radio's port, or a RadioError RADIO_NO_PORT (or RADIO_PORT_LIST_FAILED) saying what to do. */
export async function findRadioPort(options: ScanOptions = {}): Promise<FoundPort> {
  const choice = await scanRadioPorts(options);
  const verdict = choice.verdicts.find((v) => v.chosen);
  if (!choice.chosen || !verdict) throw noPortError(choice.verdicts);
  options.logger?.info({ path: choice.chosen.path, boards: verdict.boards }, "radio port chosen");
  return { path: choice.chosen.path, info: choice.chosen, boards: verdict.boards, verdicts: choice.verdicts };
}

function noPortError(verdicts: readonly PortVerdict[]): RadioError {
  if (verdicts.length === 0) {
    return new RadioError(
      "RADIO_NO_PORT",
      "No serial ports found. Plug the radio in (a charge-only USB cable shows nothing), or use --port tcp://HOST for a network radio.",
    );
  }
  const paths = verdicts.map((v) => v.path).join(", ");
  return new RadioError(
    "RADIO_NO_PORT",
    `No Meshtastic radio among ${verdicts.length} serial port(s) (${paths}). Plug the radio in, or pass --port PATH; run \`meshaid ports\` to see why each was skipped.`,
  );
}

/** Reads and checks a boards file (hardware/boards.json by default). */
export function loadBoards(file: string | URL = DEFAULT_BOARDS_FILE): Board[] {
  const data: unknown = JSON.parse(readFileSync(file, "utf8"));
  const list = isObject(data) ? data["boards"] : undefined;
  if (!Array.isArray(list)) throw new Error(`${String(file)}: expected { "boards": [...] }`);
  return list.map((entry: unknown, index) => {
    const where = `${String(file)}: boards[${index}]`;
    if (!isObject(entry) || typeof entry["name"] !== "string" || typeof entry["mcu"] !== "string" || !Array.isArray(entry["usb"])) {
      throw new Error(`${where}: needs name, mcu and usb`);
    }
    const usb = (entry["usb"] as unknown[]).map((id) => {
      const vendorId = isObject(id) ? normaliseHex(id["vendorId"]) : undefined;
      const productId = isObject(id) ? normaliseHex(id["productId"]) : undefined;
      if (!vendorId || !productId) throw new Error(`${where}: usb ids are { vendorId, productId } in hex`);
      return { vendorId, productId };
    });
    return { name: entry["name"], mcu: entry["mcu"], usb, notes: typeof entry["notes"] === "string" ? entry["notes"] : "" };
  });
}

/** SerialPort.list(); where it fails (Linux without udevadm, e.g. in a container) the ports are read from sysfs. */
export async function listSerialPorts(logger?: Logger): Promise<PortInfo[]> {
  try {
    // Loaded when ports are listed (see serial.ts).
    const { SerialPort } = await import("serialport");
    return await SerialPort.list();
  } catch (error) {
    if (process.platform !== "linux") {
      throw new RadioError("RADIO_PORT_LIST_FAILED", `Could not list serial ports: ${String(error)}. Pass --port PATH.`, { cause: error });
    }
    logger?.debug({ err: error }, "SerialPort.list() failed; reading /sys/class/tty instead");
    return listSysfsPorts();
  }
}

/** USB serial ports (ttyUSB*, ttyACM*) with their USB ids, from Linux sysfs. */
export function listSysfsPorts(sysClassTty = "/sys/class/tty", devDir = "/dev"): PortInfo[] {
  let names: string[];
  try {
    names = readdirSync(sysClassTty).filter((name) => /^tty(USB|ACM)\d+$/.test(name));
  } catch {
    return [];
  }
  return names.sort().map((name) => {
    const port: PortInfo = { path: join(devDir, name) };
    let dir: string;
    try {
      dir = realpathSync(join(sysClassTty, name, "device"));
    } catch {
      return port;
    }
    // Walk up from the interface to the USB device, which has idVendor/idProduct.
    for (let level = 0; level < 4; level++, dir = dirname(dir)) {
      const vendorId = readAttribute(dir, "idVendor");
      if (vendorId === undefined) continue;
      port.vendorId = vendorId;
      port.productId = readAttribute(dir, "idProduct");
      port.manufacturer = readAttribute(dir, "manufacturer");
      port.serialNumber = readAttribute(dir, "serial");
      break;
    }
    return port;
  });
}

/** Map from a real device path (/dev/ttyACM0) to its by-id link. */
export function readByIdLinks(dir = BY_ID_DIR): Map<string, string> {
  const links = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return links; // no such directory: not Linux, or no USB serial device plugged in
  }
  for (const name of names.sort()) {
    try {
      links.set(realpathSync(join(dir, name)), join(dir, name));
    } catch {
      // a dangling link from a device that just went away
    }
  }
  return links;
}

/** Adds, for each port with a by-id link, a twin candidate on that link. */
export function withByIdLinks(ports: readonly PortInfo[], links: ReadonlyMap<string, string>): PortInfo[] {
  const out: PortInfo[] = [];
  for (const port of ports) {
    const link = links.get(port.path);
    if (link === undefined || isById(port.path)) {
      out.push(port);
      continue;
    }
    const pnpId = basename(link);
    out.push({ ...port, pnpId }, { ...port, path: link, pnpId });
  }
  return out;
}

function isById(path: string): boolean {
  return path.includes("/serial/by-id/");
}

/** Ports with the same key are the same physical device. */
function deviceKey(port: PortInfo): string {
  if (isById(port.path)) return `id:${basename(port.path)}`;
  return port.pnpId ? `id:${port.pnpId}` : `path:${port.path}`;
}

function usbIdOf(port: PortInfo): UsbId | undefined {
  const vendorId = normaliseHex(port.vendorId);
  const productId = normaliseHex(port.productId);
  return vendorId && productId ? { vendorId, productId } : undefined;
}

function sameUsbId(a: UsbId, b: UsbId): boolean {
  return normaliseHex(a.vendorId) === b.vendorId && normaliseHex(a.productId) === b.productId;
}

/** "0x10C4", "10C4", "10c4" -> "10c4"; anything else -> undefined. */
function normaliseHex(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const hex = value.trim().toLowerCase().replace(/^0x/, "");
  return /^[0-9a-f]{1,4}$/.test(hex) ? hex.padStart(4, "0") : undefined;
}

function readAttribute(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), "utf8").trim();
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
