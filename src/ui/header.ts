// The header's second line, as pure text: the relay's link, the channel's load over the last hour
// (a sparkline of one sample a minute), the airtime budget used and the transmit queue by priority.
import type { Words } from "./i18n.ts";

/** The relay to internet peers as the header shows it (the cli adapts the relay's own state). */
export interface RelayStatus {
  link: "off" | "connecting" | "up" | "down";
  /** Peers heard from on the broker. */
  peers: number;
  /** Records waiting to go to the peers. */
  pending: number;
  /** Peers that do not hold all of this station's log yet (by their signed vectors), and how many records each lacks. */
  behind?: Array<{ station: string; records: number }>;
  /** When the last record went to or came from a peer (ms since the epoch). */
  lastSyncAt?: number;
  /** Why the link is down, in the relay's words. */
  reason?: string;
}

/** One sample of the channel's utilisation a minute, the last hour of them. */
export const UTILIZATION_SAMPLES = 60;
const MINUTE_MS = 60_000;

export interface UtilizationHistory {
  /** Oldest first, at most UTILIZATION_SAMPLES, in percent. */
  samples: readonly number[];
  /** The minute (ms since the epoch / 60,000) of the newest sample. */
  minute: number | undefined;
}

export const emptyUtilization: UtilizationHistory = { samples: [], minute: undefined };

/**
 * The history with `percent` sampled at `now`: at most one sample a minute (the same history
 * when this minute has one already). A minute without a sample (the laptop slept) is not made up.
 */
export function sampleUtilization(history: UtilizationHistory, now: number, percent: number): UtilizationHistory {
  const minute = Math.floor(now / MINUTE_MS);
  if (history.minute !== undefined && minute <= history.minute) return history;
  const value = Number.isFinite(percent) ? Math.max(0, percent) : 0;
  const samples = history.samples.length >= UTILIZATION_SAMPLES ? history.samples.slice(1 - UTILIZATION_SAMPLES) : history.samples.slice();
  samples.push(value);
  return { samples, minute };
}

const BARS = "▁▂▃▄▅▆▇█";
/** The firmware holds back its own traffic above 25 % utilisation: a full bar means that much. */
const FULL_SCALE_PERCENT = 25;

/**
 * The samples in `width` cells, oldest on the left, each cell the highest sample it covers (a
 * busy minute is never averaged away). Cells before the first sample are blank.
 */
export function sparkline(samples: readonly number[], width: number): string {
  if (width <= 0) return "";
  const perCell = Math.max(1, Math.ceil(UTILIZATION_SAMPLES / width));
  const cells = Math.ceil(UTILIZATION_SAMPLES / perCell);
  const out: string[] = [];
  // Aligned to the newest sample: the rightmost cell holds the last minutes.
  const missing = cells * perCell - samples.length;
  for (let cell = 0; cell < cells; cell += 1) {
    let peak: number | undefined;
    for (let i = cell * perCell; i < (cell + 1) * perCell; i += 1) {
      const sample = samples[i - missing];
      if (sample !== undefined) peak = Math.max(peak ?? 0, sample);
    }
    if (peak === undefined) out.push(" ");
    else out.push(BARS[Math.min(BARS.length - 1, Math.floor((Math.min(peak, FULL_SCALE_PERCENT) / FULL_SCALE_PERCENT) * (BARS.length - 1) + 0.5))]!);
  }
  return out.join("");
}

/** How long ago, in the fewest words: "12 s", "5 min", "2 h". */
export function ago(since: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - since) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h`;
}

/** "relay up · 3 peers · 12 pending · sync 5 min ago", "relay down (broker refused) · 12 pending". */
export function relayText(relay: RelayStatus, now: number, w: Words): string {
  const state = relay.link === "up" ? w.relayUp : relay.link === "down" ? w.relayDown : relay.link === "connecting" ? w.relayConnecting : w.relayOff;
  const parts = [`${w.relay} ${state}${relay.link !== "up" && relay.reason ? ` (${relay.reason})` : ""}`];
  if (relay.link !== "off") parts.push(`${relay.peers} ${w.peers}`);
  if (relay.pending > 0 || relay.link !== "off") parts.push(`${relay.pending} ${w.pending}`);
  const behind = (relay.behind ?? []).filter((peer) => peer.records > 0);
  if (behind.length > 0) parts.push(`${w.behind}: ${behind.slice(0, 3).map((peer) => `${peer.station} ${peer.records}`).join(", ")}${behind.length > 3 ? ` +${behind.length - 3}` : ""}`);
  if (relay.lastSyncAt !== undefined) parts.push(`${w.sync} ${ago(relay.lastSyncAt, now)}`);
  return parts.join(" · ");
}

/** The symbol before the relay's words (never colour alone). */
export function relaySymbol(relay: RelayStatus): string {
  if (relay.link === "off") return "○";
  return relay.link === "up" ? "●" : relay.link === "down" ? "✗" : "◌";
}

/** Short names of the scheduler's priority classes, most urgent first. */
const CLASS_ORDER = ["life_safety", "incident", "request", "status", "shift", "checkin"] as const;

/** "tx 3: life 1 req 2" (only the classes with something queued), "tx 0". */
export function queueText(queued: Readonly<Record<string, number>>, w: Words): string {
  const known = new Set<string>(CLASS_ORDER);
  const order = [...CLASS_ORDER, ...Object.keys(queued).filter((name) => !known.has(name))];
  const total = Object.values(queued).reduce((sum, n) => sum + n, 0);
  const parts = order.filter((name) => (queued[name] ?? 0) > 0).map((name) => `${w.classes[name] ?? name} ${queued[name]}`);
  return parts.length === 0 ? `tx ${total}` : `tx ${total}: ${parts.join(" ")}`;
}
