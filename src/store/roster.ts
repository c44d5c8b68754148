// meshaid's own roster of nodes (sublevel "roster"), kept from what the radio hears (NODEINFO,
// POSITION, TELEMETRY and the receive metadata of every packet), independent of the radio's
// node database, which evicts nodes at big events. A projection: losing it loses no record.
//
// Keys: node number as 8 hex digits. Values: RosterEntry as JSON.
import type { RadioEvent } from "../radio/index.ts";
import type { RecordDatabase } from "./record-store.ts";
import { textValueEncoding, type RecordCipher } from "./cipher.ts";

export interface RosterPosition {
  latitude: number;
  longitude: number;
  altitude?: number;
  /** When the fix was taken (ms since the epoch), if the node said. */
  timeMs?: number;
  precisionBits: number;
}

export interface RosterEntry {
  num: number;
  /** "!a1b2c3d4". */
  userId: string;
  /** The short name (up to 4 characters): the callsign on screens. */
  callsign?: string;
  longName?: string;
  /** Config.DeviceConfig.Role number. */
  role?: number;
  /** HardwareModel number. */
  hwModel?: number;
  /** 0..100, 101 = external power. */
  batteryLevel?: number;
  voltage?: number;
  /** Percent. */
  channelUtilization?: number;
  /** Percent. */
  airUtilTx?: number;
  /** Of the last packet heard from it. */
  snr?: number;
  rssi?: number;
  hopsAway?: number;
  /** When it was last heard (ms since the epoch). */
  lastHeardMs?: number;
  lastPosition?: RosterPosition;
}

type Patch = Partial<Omit<RosterEntry, "num" | "userId">>;

/** What a radio event says about a node, or undefined if nothing. Pure. */
export function rosterPatch(event: RadioEvent, nowMs: number): { num: number; patch: Patch } | undefined {
  switch (event.type) {
    case "node": {
      const { node, heard } = event;
      const patch: Patch = { callsign: node.shortName, longName: node.longName, role: node.role, hwModel: node.hwModel };
      if (heard) Object.assign(patch, heardPatch(heard, nowMs));
      else if (node.lastHeardMs !== undefined) patch.lastHeardMs = node.lastHeardMs;
      return { num: node.num, patch };
    }
    case "position":
      return { num: event.from, patch: { ...heardPatch(event.heard, nowMs), lastPosition: { ...event.position } } };
    case "telemetry":
      return { num: event.from, patch: { ...heardPatch(event.heard, nowMs), ...event.telemetry } };
    case "packet": {
      const p = event.packet;
      const heard: Parameters<typeof heardPatch>[0] = { rxSnr: p.rxSnr, rxRssi: p.rxRssi };
      if (p.rxTimeMs !== undefined) heard.rxTimeMs = p.rxTimeMs;
      if (p.hopStart > 0 && p.hopStart >= p.hopLimit) heard.hopsAway = p.hopStart - p.hopLimit;
      return { num: p.from, patch: heardPatch(heard, nowMs) };
    }
    default:
      return undefined;
  }
}

function heardPatch(heard: { rxTimeMs?: number; rxSnr: number; rxRssi: number; hopsAway?: number }, nowMs: number): Patch {
  const patch: Patch = { lastHeardMs: heard.rxTimeMs ?? nowMs };
  // A packet the radio generated itself (rssi 0, snr 0) says nothing about the link.
  if (heard.rxRssi !== 0 || heard.rxSnr !== 0) {
    patch.snr = heard.rxSnr;
    patch.rssi = heard.rxRssi;
  }
  if (heard.hopsAway !== undefined) patch.hopsAway = heard.hopsAway;
  return patch;
}

export class RosterStore {
  private readonly nodes;
  private readonly entries = new Map<number, RosterEntry>();
  private writes: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  private constructor(db: RecordDatabase, now: () => number, cipher: RecordCipher | undefined) {
    this.nodes = db.sublevel<string, string>("roster", { valueEncoding: textValueEncoding(cipher, "roster") });
    this.now = now;
  }

  /** Loads the roster from the sublevel "roster" of an open database (the caller closes it). */
  static async open(db: RecordDatabase, options: { now?: () => number; cipher?: RecordCipher } = {}): Promise<RosterStore> {
    const store = new RosterStore(db, options.now ?? Date.now, options.cipher);
    for await (const [key, value] of store.nodes.iterator()) {
      try {
        const entry = JSON.parse(value) as RosterEntry;
        if (typeof entry.num === "number") store.entries.set(entry.num, entry);
      } catch {
        // a projection: an entry that does not parse is rebuilt the next time the node is heard
        void key;
      }
    }
    return store;
  }

  get size(): number {
    return this.entries.size;
  }

  get(num: number): RosterEntry | undefined {
    const entry = this.entries.get(num);
    return entry ? structuredClone(entry) : undefined;
  }

  /** Every node, most recently heard first. */
  list(): RosterEntry[] {
    return [...this.entries.values()].map((e) => structuredClone(e)).sort((a, b) => (b.lastHeardMs ?? 0) - (a.lastHeardMs ?? 0));
  }

  /** Folds a radio event into the roster; resolves with the updated entry once written (undefined if the event says nothing). */
  async apply(event: RadioEvent): Promise<RosterEntry | undefined> {
    const update = rosterPatch(event, this.now());
    if (!update) return undefined;
    const { num, patch } = update;
    const before = this.entries.get(num);
    const entry: RosterEntry = { ...before, ...patch, num, userId: `!${(num >>> 0).toString(16).padStart(8, "0")}` };
    // Never go back in time: a stale NodeDB entry from a handshake must not undo a fresher one.
    if (before?.lastHeardMs !== undefined && (entry.lastHeardMs ?? 0) < before.lastHeardMs) entry.lastHeardMs = before.lastHeardMs;
    this.entries.set(num, entry);
    const key = (num >>> 0).toString(16).padStart(8, "0");
    const value = JSON.stringify(entry);
    const write = this.writes.then(() => this.nodes.put(key, value));
    this.writes = write.catch(() => undefined);
    await write;
    return structuredClone(entry);
  }

  /**
   * Forgets nodes not heard since `cutoffMs` (retention: the roster keeps no one longer than the
   * coalition decides). Resolves with how many were removed.
   */
  async prune(cutoffMs: number): Promise<number> {
    const stale = [...this.entries.values()].filter((entry) => (entry.lastHeardMs ?? 0) < cutoffMs).map((entry) => entry.num);
    for (const num of stale) this.entries.delete(num);
    const keys = stale.map((num) => (num >>> 0).toString(16).padStart(8, "0"));
    const write = this.writes.then(() => this.nodes.batch(keys.map((key) => ({ type: "del" as const, key }))));
    this.writes = write.catch(() => undefined);
    await write;
    return stale.length;
  }

  /** Waits for pending writes. */
  async flush(): Promise<void> {
    await this.writes;
  }
}
