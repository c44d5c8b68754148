// Drill scenarios: a YAML file (docs/drills.md) read into a checked, fully-resolved Scenario.
// Every error names the file and the entry, and says what was expected.
import { parseYamlText } from "../wire/index.ts";
import { DeviceRole } from "../radio/index.ts";
import { MODEM_PRESETS, REGION_DUTY_CYCLE } from "./airtime.ts";
import type { PathLossModel, Position } from "./channel.ts";
import { mulberry32 } from "./random.ts";
import { RebroadcastMode } from "./router.ts";

export type TrafficFormat = "meshaid" | "text";

export interface ScenarioNode {
  /** The name used in the file (a callsign: no real names on the air). */
  id: string;
  num: number;
  shortName: string;
  role: number;
  rebroadcastMode?: number;
  base: boolean;
  position: Position;
  /** Waypoints: where the node is at a time (ms from the start); straight lines between. */
  path: Array<{ atMs: number; position: Position }>;
  txPowerDbm: number;
  /** The group it came from, if any. */
  group?: string;
  /** Node ids it has favourited (a CLIENT_BASE always relays, late, what is from or to them). */
  favorites: string[];
}

export interface ScenarioTraffic {
  /** Node ids that send it. */
  from: string[];
  /** The preset text (what plain-text practice sends). */
  text: string;
  /** The record kind it means (for the report), default "message". */
  kind: string;
  /** Bytes of the meshaid record it stands for (default 12). */
  recordBytes: number;
  urgent: boolean;
  /** Once per sender at this time (ms). */
  atMs?: number;
  /** Or at a rate: each sender sends at exponential intervals with this mean (ms). */
  everyMs?: number;
  startMs: number;
  untilMs: number;
}

export type ScenarioFault =
  | { type: "offline"; node: string; atMs: number; forMs?: number }
  | { type: "out_of_range"; node: string; atMs: number; forMs?: number }
  /** A base radio's USB cable pulled and put back: the radio holds what it hears in its 32-packet to-phone queue; the station reconnects. */
  | { type: "unplugged"; node: string; atMs: number; forMs?: number }
  /** A base station killed (kill -9) and started again `forMs` later on the same database. */
  | { type: "station_restart"; node: string; atMs: number; forMs: number }
  | { type: "jammer"; atMs: number; forMs?: number; position: Position; powerDbm: number }
  /** A base station's internet link cut (the relay's broker unreachable) and, `forMs` later, back. */
  | { type: "internet_lost"; node: string; atMs: number; forMs?: number };

/** The actions an operator verb takes on a supply request (Station.act). */
export const OPERATOR_VERBS = ["acknowledge", "dispatch", "deliver", "cancel"] as const;
/** The actions an operator takes on an incident report (Station.act): received, then closed. */
export const INCIDENT_VERBS = ["acknowledge", "close"] as const;
export type OperatorVerb = (typeof OPERATOR_VERBS)[number] | (typeof INCIDENT_VERBS)[number];

/**
 * Coordinators at base stations: each supply request (and incident report) from a handheld is
 * taken by the first base with an operator for it that stores it, who acts on it (`Station.act`)
 * these delays after it arrived.
 */
export interface ScenarioOperator {
  /** Base node ids. */
  stations: string[];
  /** The role in decision-rights.yaml the operator acts as (default coordinator). */
  role: string;
  /** Verb -> delay after the request reached the station (ms). */
  steps: Array<{ verb: OperatorVerb; afterMs: number }>;
  /** The same for incident reports (`incidents: { acknowledge: 1m, close: 20m }`). */
  incidentSteps: Array<{ verb: OperatorVerb; afterMs: number }>;
  /** dispatch: minutes until it arrives (the handheld's reply says "ETA n"). */
  etaMin: number;
}

export interface Scenario {
  name: string;
  seed: number;
  durationMs: number;
  preset: string;
  region: string;
  pathLoss: Partial<PathLossModel>;
  linkLoss: number;
  hopLimit: number;
  /** What the traffic is carried as: meshaid's records, plain text, or both side by side. */
  formats: TrafficFormat[];
  /** Background chatter per node (0 = none). */
  background: { positionEveryMs: number; telemetryEveryMs: number; nodeInfo: boolean; nodeInfoExchange: boolean; knownNodes: "none" | "all" };
  nodes: ScenarioNode[];
  traffic: ScenarioTraffic[];
  faults: ScenarioFault[];
  operators: ScenarioOperator[];
  /** The stations replicate their logs to each other over the internet relay (an in-process MQTT broker). */
  relay: boolean;
}

export class ScenarioError extends Error {
  readonly code = "SCENARIO_INVALID";
}

const ROLES: Record<string, number> = {
  CLIENT: DeviceRole.CLIENT,
  CLIENT_MUTE: DeviceRole.CLIENT_MUTE,
  ROUTER: DeviceRole.ROUTER,
  ROUTER_LATE: 11,
  CLIENT_BASE: DeviceRole.CLIENT_BASE,
  TRACKER: DeviceRole.TRACKER,
};

type Raw = Record<string, unknown>;

/** "90s", "15m", "1h30m", "500ms", or a number of seconds, to milliseconds. */
export function parseDuration(value: unknown, where: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value !== "string") throw new ScenarioError(`${where}: expected a duration like 90s, 15m or 1h, got ${JSON.stringify(value)}`);
  const text = value.trim();
  const parts = /^(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*(?:(\d+(?:\.\d+)?)s)?\s*(?:(\d+)ms)?$/.exec(text);
  if (!parts || text === "") throw new ScenarioError(`${where}: expected a duration like 90s, 15m or 1h, got "${text}"`);
  const [, h, m, s, ms] = parts;
  return Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0);
}

function position(value: unknown, where: string): Position {
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v))) {
    return { x: value[0] as number, y: value[1] as number };
  }
  throw new ScenarioError(`${where}: expected a position [x, y] in metres, got ${JSON.stringify(value)}`);
}

function record(value: unknown, where: string): Raw {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ScenarioError(`${where}: expected a mapping`);
  return value as Raw;
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ScenarioError(`${where}: expected a list`);
  return value;
}

function str(value: unknown, where: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || value === "") throw new ScenarioError(`${where}: expected a non-empty string`);
  return value;
}

function num(value: unknown, where: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ScenarioError(`${where}: expected a number`);
  return value;
}

function only(raw: Raw, keys: string[], where: string): void {
  for (const key of Object.keys(raw)) {
    if (!keys.includes(key)) throw new ScenarioError(`${where}: unknown key "${key}" (expected one of: ${keys.join(", ")})`);
  }
}

/** A stable node number for a name (FNV-1a), never reserved, never the broadcast address. */
function nodeNumber(id: string, taken: Set<number>): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(id)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  let candidate = hash;
  while (candidate <= 3 || candidate === 0xffffffff || taken.has(candidate)) candidate = (candidate + 0x9e3779b1) >>> 0;
  taken.add(candidate);
  return candidate;
}

/** Reads a scenario file's text. `file` names it in errors. */
export function parseScenario(text: string, file = "scenario"): Scenario {
  let doc: unknown;
  try {
    doc = parseYamlText(text);
  } catch (error) {
    throw new ScenarioError(`${file}: not valid YAML: ${(error as Error).message}`);
  }
  const raw = record(doc, file);
  only(raw, ["name", "seed", "duration", "preset", "region", "site", "hop_limit", "format", "background", "nodes", "traffic", "faults", "operators", "relay"], file);
  const seed = num(raw["seed"], `${file}: seed`, 1) >>> 0;
  const random = mulberry32(seed ^ 0x5ce7a210);
  const preset = str(raw["preset"], `${file}: preset`, "LONG_FAST");
  if (!(preset in MODEM_PRESETS)) throw new ScenarioError(`${file}: preset "${preset}" is not one of ${Object.keys(MODEM_PRESETS).join(", ")}`);
  const region = str(raw["region"], `${file}: region`, "US");
  if (!(region in REGION_DUTY_CYCLE)) throw new ScenarioError(`${file}: region "${region}" is not one of ${Object.keys(REGION_DUTY_CYCLE).join(", ")}`);
  const durationMs = parseDuration(raw["duration"] ?? "1h", `${file}: duration`);
  if (durationMs <= 0) throw new ScenarioError(`${file}: duration must be more than 0`);

  const site = raw["site"] === undefined ? {} : record(raw["site"], `${file}: site`);
  only(site, ["path_loss_exponent", "reference_loss_db", "shadowing_db", "fading_db", "link_loss"], `${file}: site`);
  const pathLoss: Partial<PathLossModel> = {};
  if (site["path_loss_exponent"] !== undefined) pathLoss.exponent = num(site["path_loss_exponent"], `${file}: site.path_loss_exponent`);
  if (site["reference_loss_db"] !== undefined) pathLoss.referenceLossDb = num(site["reference_loss_db"], `${file}: site.reference_loss_db`);
  if (site["shadowing_db"] !== undefined) pathLoss.shadowingDb = num(site["shadowing_db"], `${file}: site.shadowing_db`);
  if (site["fading_db"] !== undefined) pathLoss.fadingDb = num(site["fading_db"], `${file}: site.fading_db`);
  const linkLoss = num(site["link_loss"], `${file}: site.link_loss`, 0);
  if (linkLoss < 0 || linkLoss >= 1) throw new ScenarioError(`${file}: site.link_loss must be within 0..1 (a fraction of frames lost)`);

  const formatRaw = raw["format"] ?? "meshaid";
  const formats: TrafficFormat[] =
    formatRaw === "both" ? ["meshaid", "text"] : formatRaw === "meshaid" || formatRaw === "text" ? [formatRaw] : [];
  if (formats.length === 0) throw new ScenarioError(`${file}: format must be meshaid, text or both`);

  const bg = raw["background"] === undefined ? {} : record(raw["background"], `${file}: background`);
  only(bg, ["position_every", "telemetry_every", "nodeinfo", "nodeinfo_exchange", "known_nodes"], `${file}: background`);
  const knownNodes = bg["known_nodes"] ?? "none";
  if (knownNodes !== "none" && knownNodes !== "all") throw new ScenarioError(`${file}: background.known_nodes must be none (radios start with empty node lists) or all (they already know each other)`);
  const background: Scenario["background"] = {
    positionEveryMs: bg["position_every"] === undefined ? 0 : parseDuration(bg["position_every"], `${file}: background.position_every`),
    telemetryEveryMs: bg["telemetry_every"] === undefined ? 0 : parseDuration(bg["telemetry_every"], `${file}: background.telemetry_every`),
    nodeInfo: bg["nodeinfo"] === undefined ? true : bg["nodeinfo"] === true,
    nodeInfoExchange: bg["nodeinfo_exchange"] === undefined ? true : bg["nodeinfo_exchange"] === true,
    knownNodes: knownNodes === "all" ? "all" : "none",
  };

  const taken = new Set<number>();
  const nodes: ScenarioNode[] = [];
  const groups = new Map<string, string[]>();
  const byId = new Map<string, ScenarioNode>();
  const addNode = (node: ScenarioNode, where: string): void => {
    if (byId.has(node.id)) throw new ScenarioError(`${where}: node "${node.id}" is defined twice`);
    byId.set(node.id, node);
    nodes.push(node);
  };
  list(raw["nodes"], `${file}: nodes`).forEach((entry, index) => {
    const where = `${file}: nodes[${index}]`;
    const n = record(entry, where);
    only(n, ["id", "group", "count", "role", "base", "at", "area", "line", "path", "rebroadcast", "power", "favorites"], where);
    const favoriteNames = list(n["favorites"], `${where}.favorites`).map((name, i) => str(name, `${where}.favorites[${i}]`));
    const roleName = str(n["role"], `${where}.role`, "CLIENT");
    const role = ROLES[roleName];
    if (role === undefined) throw new ScenarioError(`${where}: role "${roleName}" is not one of ${Object.keys(ROLES).join(", ")}`);
    let rebroadcastMode: number | undefined;
    if (n["rebroadcast"] !== undefined) {
      const mode = str(n["rebroadcast"], `${where}.rebroadcast`);
      rebroadcastMode = (RebroadcastMode as Record<string, number>)[mode];
      if (rebroadcastMode === undefined) throw new ScenarioError(`${where}: rebroadcast "${mode}" is not one of ${Object.keys(RebroadcastMode).join(", ")}`);
    }
    const base = n["base"] === true;
    const txPowerDbm = num(n["power"], `${where}.power`, 20);
    const path = list(n["path"], `${where}.path`).map((step, i) => {
      const s = record(step, `${where}.path[${i}]`);
      only(s, ["at", "to"], `${where}.path[${i}]`);
      return { atMs: parseDuration(s["at"], `${where}.path[${i}].at`), position: position(s["to"], `${where}.path[${i}].to`) };
    });
    path.sort((a, b) => a.atMs - b.atMs);
    const count = n["group"] !== undefined ? num(n["count"], `${where}.count`, 1) : 1;
    if (!Number.isInteger(count) || count < 1 || count > 500) throw new ScenarioError(`${where}: count must be a whole number from 1 to 500`);
    const positions: Position[] = [];
    if (n["at"] !== undefined) {
      for (let i = 0; i < count; i++) positions.push(position(n["at"], `${where}.at`));
    } else if (n["area"] !== undefined) {
      const area = record(n["area"], `${where}.area`);
      const center = position(area["center"] ?? [0, 0], `${where}.area.center`);
      const radius = num(area["radius"], `${where}.area.radius`);
      for (let i = 0; i < count; i++) {
        const r = radius * Math.sqrt(random());
        const a = random() * 2 * Math.PI;
        positions.push({ x: center.x + r * Math.cos(a), y: center.y + r * Math.sin(a) });
      }
    } else if (n["line"] !== undefined) {
      const line = record(n["line"], `${where}.line`);
      const from = position(line["from"], `${where}.line.from`);
      const to = position(line["to"], `${where}.line.to`);
      for (let i = 0; i < count; i++) {
        const f = count === 1 ? 0 : i / (count - 1);
        positions.push({ x: from.x + (to.x - from.x) * f, y: from.y + (to.y - from.y) * f });
      }
    } else {
      throw new ScenarioError(`${where}: give a position: at: [x, y], area: {center, radius} or line: {from, to}`);
    }
    if (n["group"] !== undefined) {
      const group = str(n["group"], `${where}.group`);
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `${group}-${String(i + 1).padStart(2, "0")}`;
        ids.push(id);
        addNode(
          { id, num: nodeNumber(id, taken), shortName: shortNameOf(group, i + 1), role, ...(rebroadcastMode !== undefined ? { rebroadcastMode } : {}), base, position: positions[i]!, path, txPowerDbm, group, favorites: favoriteNames },
          where,
        );
      }
      groups.set(group, [...(groups.get(group) ?? []), ...ids]);
    } else {
      const id = str(n["id"], `${where}.id`);
      addNode({ id, num: nodeNumber(id, taken), shortName: id.slice(0, 4).toUpperCase(), role, ...(rebroadcastMode !== undefined ? { rebroadcastMode } : {}), base, position: positions[0]!, path, txPowerDbm, favorites: favoriteNames }, where);
    }
  });
  if (nodes.length < 2) throw new ScenarioError(`${file}: a drill needs at least two nodes`);
  if (!nodes.some((n) => n.base)) throw new ScenarioError(`${file}: mark at least one node base: true (a base station's radio)`);

  const resolveSenders = (value: unknown, where: string): string[] => {
    const names = Array.isArray(value) ? value : [value];
    const out: string[] = [];
    for (const name of names) {
      const text = str(name, where);
      if (text === "*") out.push(...nodes.filter((n) => !n.base).map((n) => n.id));
      else if (groups.has(text)) out.push(...(groups.get(text) ?? []));
      else if (byId.has(text)) out.push(text);
      else throw new ScenarioError(`${where}: "${text}" is neither a node nor a group (or * for every non-base node)`);
    }
    return out;
  };

  // Favourites name nodes or groups, read once every node is known.
  for (const node of nodes) {
    const named = node.favorites.flatMap((name) => resolveSenders(name, `${file}: node ${node.id}: favorites`));
    node.favorites = [...new Set(named)].filter((id) => id !== node.id);
  }
  const traffic = list(raw["traffic"], `${file}: traffic`).map((entry, index): ScenarioTraffic => {
    const where = `${file}: traffic[${index}]`;
    const t = record(entry, where);
    only(t, ["from", "text", "kind", "record_bytes", "urgent", "at", "every", "start", "until"], where);
    const text = str(t["text"], `${where}.text`);
    if (new TextEncoder().encode(text).length > 200) throw new ScenarioError(`${where}: text is longer than 200 bytes`);
    const recordBytes = num(t["record_bytes"], `${where}.record_bytes`, 12);
    if (recordBytes < 1 || recordBytes > 231) throw new ScenarioError(`${where}: record_bytes must be within 1..231`);
    if ((t["at"] === undefined) === (t["every"] === undefined)) throw new ScenarioError(`${where}: give exactly one of at: (once) or every: (a rate)`);
    return {
      from: resolveSenders(t["from"], `${where}.from`),
      text,
      kind: str(t["kind"], `${where}.kind`, "message"),
      recordBytes,
      urgent: t["urgent"] === true,
      ...(t["at"] !== undefined ? { atMs: parseDuration(t["at"], `${where}.at`) } : {}),
      ...(t["every"] !== undefined ? { everyMs: parseDuration(t["every"], `${where}.every`) } : {}),
      startMs: t["start"] === undefined ? 0 : parseDuration(t["start"], `${where}.start`),
      untilMs: t["until"] === undefined ? durationMs : parseDuration(t["until"], `${where}.until`),
    };
  });
  if (traffic.length === 0) throw new ScenarioError(`${file}: traffic is empty: nothing to measure`);

  const faults = list(raw["faults"], `${file}: faults`).map((entry, index): ScenarioFault => {
    const where = `${file}: faults[${index}]`;
    const f = record(entry, where);
    only(f, ["type", "node", "at", "for", "position", "power"], where);
    const atMs = parseDuration(f["at"], `${where}.at`);
    const forMs = f["for"] === undefined ? undefined : parseDuration(f["for"], `${where}.for`);
    const type = str(f["type"], `${where}.type`);
    const timing = { atMs, ...(forMs !== undefined ? { forMs } : {}) };
    if (type === "offline" || type === "out_of_range" || type === "unplugged" || type === "station_restart" || type === "internet_lost") {
      const node = str(f["node"], `${where}.node`);
      if (!byId.has(node)) throw new ScenarioError(`${where}: no node "${node}"`);
      if (type === "internet_lost") {
        if (byId.get(node)?.base !== true) throw new ScenarioError(`${where}: internet_lost needs a base node (one with base: true); "${node}" is not`);
        if (raw["relay"] !== true) throw new ScenarioError(`${where}: internet_lost needs the stations' relay: add "relay: true" to the scenario`);
        return { type, node, ...timing };
      }
      if (type === "unplugged" || type === "station_restart") {
        if (byId.get(node)?.base !== true) throw new ScenarioError(`${where}: ${type} needs a base node (one with base: true); "${node}" is not`);
        if (type === "station_restart") return { type, node, atMs, forMs: forMs ?? 10_000 }; // default: 10 s of downtime
        return { type, node, atMs, ...(forMs !== undefined ? { forMs } : {}) };
      }
      return { type, node, ...timing };
    }
    if (type === "jammer") {
      return { type, ...timing, position: position(f["position"], `${where}.position`), powerDbm: num(f["power"], `${where}.power`, 20) };
    }
    throw new ScenarioError(`${where}: type "${type}" is not one of offline, out_of_range, unplugged, station_restart, jammer, internet_lost`);
  });

  const bases = nodes.filter((n) => n.base).map((n) => n.id);
  const operators = list(raw["operators"], `${file}: operators`).map((entry, index): ScenarioOperator => {
    const where = `${file}: operators[${index}]`;
    const o = record(entry, where);
    only(o, ["station", "role", "eta_min", "incidents", ...OPERATOR_VERBS], where);
    const station = o["station"] ?? "*";
    const stations = station === "*" ? bases : (Array.isArray(station) ? station : [station]).map((id, i) => str(id, `${where}.station[${i}]`));
    for (const id of stations) if (!bases.includes(id)) throw new ScenarioError(`${where}: "${id}" is not a base node (one with base: true)`);
    const steps = OPERATOR_VERBS.filter((verb) => o[verb] !== undefined).map((verb) => ({ verb, afterMs: parseDuration(o[verb], `${where}.${verb}`) }));
    const incidents = o["incidents"] === undefined ? {} : record(o["incidents"], `${where}.incidents`);
    only(incidents, [...INCIDENT_VERBS], `${where}.incidents`);
    const incidentSteps = INCIDENT_VERBS.filter((verb) => incidents[verb] !== undefined).map((verb) => ({ verb, afterMs: parseDuration(incidents[verb], `${where}.incidents.${verb}`) }));
    if (steps.length === 0 && incidentSteps.length === 0) {
      throw new ScenarioError(`${where}: say what the operator does: ${OPERATOR_VERBS.join(", ")} for supply requests, incidents: { ${INCIDENT_VERBS.join(", ")} } for incident reports (each with a delay, e.g. acknowledge: 30s)`);
    }
    const byDelay = (a: { afterMs: number }, b: { afterMs: number }): number => a.afterMs - b.afterMs;
    return { stations, role: str(o["role"], `${where}.role`, "coordinator"), steps: steps.sort(byDelay), incidentSteps: incidentSteps.sort(byDelay), etaMin: num(o["eta_min"], `${where}.eta_min`, 10) };
  });
  if (raw["relay"] !== undefined && typeof raw["relay"] !== "boolean") throw new ScenarioError(`${file}: relay must be true or false`);

  const hopLimit = num(raw["hop_limit"], `${file}: hop_limit`, 3);
  if (!Number.isInteger(hopLimit) || hopLimit < 0 || hopLimit > 7) throw new ScenarioError(`${file}: hop_limit must be 0..7`);
  return {
    name: str(raw["name"], `${file}: name`, file),
    seed,
    durationMs,
    preset,
    region,
    pathLoss,
    linkLoss,
    hopLimit,
    formats,
    background,
    nodes,
    traffic,
    faults,
    operators,
    relay: raw["relay"] === true,
  };
}

function shortNameOf(group: string, index: number): string {
  const prefix = group.replace(/[^A-Za-z]/g, "").slice(0, 1).toUpperCase() || "N";
  return `${prefix}${index}`.slice(0, 4);
}
