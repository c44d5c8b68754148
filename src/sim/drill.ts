// Drills: a scenario run on a SimNet under a virtual clock, measured, and reported. What counts
// as delivered: every base station's radio decoded the record (what its station would ingest).
import { BROADCAST_NUM, PortNum, encodeUser, parseAirHeader } from "../radio/index.ts";
import type { ChannelStats, Position } from "./channel.ts";
import { VirtualClock } from "./clock.ts";
import { SimNet } from "./net.ts";
import { PERIODIC_RETRY_MS, type PeriodicTraffic } from "./gates.ts";
import { EVICTING_PORTS, TO_PHONE_QUEUE_SIZE } from "./phone-api.ts";
import type { SimNode } from "./node.ts";
import { userOf } from "./node.ts";
import { mulberry32 } from "./random.ts";
import { emptyRouterStats, type RouterStats } from "./router.ts";
import type { Scenario, ScenarioNode, TrafficFormat } from "./scenario.ts";

/** After the last traffic, the drill runs this long so what is in flight can land. */
export const DRAIN_MS = 120_000;
/** The brief's bar: urgent records reach every base station within 2 minutes. */
export const DEADLINE_MS = 120_000;
const SAMPLE_MS = 10_000;
const MOVE_STEP_MS = 5_000;

export interface KindStats {
  sent: number;
  delivered: number;
  deliveryRatio: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  airtimePerRecordMs: number | null;
}

export interface Undelivered {
  from: string;
  kind: string;
  sentAtS: number;
  reason: string;
  /** Base stations that never got it. */
  missing: string[];
}

export interface DrillResult {
  scenario: string;
  format: TrafficFormat;
  preset: string;
  region: string;
  seed: number;
  nodes: number;
  bases: number;
  simulatedSeconds: number;
  wallSeconds: number;
  speedup: number;
  sent: number;
  delivered: number;
  deliveryRatio: number;
  /** Fraction of what was sent that reached every base within 2 minutes. */
  deliveredWithin2MinRatio: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  /** Every frame on the channel, background and relays included. */
  airtimeMs: number;
  /** Frames that carried the traffic (originals, relays, retransmissions). */
  trafficAirtimeMs: number;
  /** trafficAirtimeMs per record delivered. */
  airtimePerRecordMs: number | null;
  /** Highest channel utilisation any node reported (percent, its last-minute window). */
  peakChannelUtilization: number;
  /** Per minute: the highest channel utilisation any node reported. */
  utilizationPerMinute: number[];
  kinds: Record<string, KindStats>;
  channel: ChannelStats;
  routers: RouterStats;
  failures: { counts: Record<string, number>; examples: Undelivered[] };
  /** Timers the virtual clock ran. */
  events: number;
  /** Periodic firmware traffic (position, telemetry, nodeinfo) held back by the channel-utilisation and duty-cycle gates. */
  backgroundHeldBack: number;
}

interface Message {
  key: string;
  from: ScenarioNode;
  kind: string;
  sentAt: number;
  pending: Set<number>;
  latest: number;
  airtimeMs: number;
  transmitted: boolean;
  failure?: string;
}

export interface RunDrillOptions {
  /**
   * The meshaid payload for a line of traffic text (records numbered from `seq`), e.g. wire's
   * payloadForText with the coalition's codebook. Without it, or when it returns undefined, a
   * meshaid record is modelled as `record_bytes` random bytes on the private port.
   */
  encodeRecords?: (text: string, seq: number) => Uint8Array | undefined;
}

/** Runs one scenario with its traffic carried as `format`. Same scenario and seed, same result (except wall time). */
export function runDrill(scenario: Scenario, format: TrafficFormat, options: RunDrillOptions = {}): DrillResult {
  const clock = new VirtualClock();
  const start = clock.now();
  const net = new SimNet({
    clock,
    seed: scenario.seed,
    preset: scenario.preset,
    region: scenario.region,
    pathLoss: scenario.pathLoss,
    linkLoss: scenario.linkLoss,
  });
  const simNodes = new Map<string, SimNode>();
  const byNum = new Map<number, ScenarioNode>();
  for (const n of scenario.nodes) {
    const node: SimNode = { num: n.num, longName: n.id, shortName: n.shortName, role: n.role, hwModel: 9 };
    simNodes.set(n.id, node);
    byNum.set(n.num, n);
    net.addNode({
      node,
      position: n.position,
      txPowerDbm: n.txPowerDbm,
      ...(n.rebroadcastMode !== undefined ? { rebroadcastMode: n.rebroadcastMode } : {}),
      favorites: n.favorites.map((id) => scenario.nodes.find((other) => other.id === id)?.num ?? 0).filter((num) => num !== 0),
      radio: { idleTimeoutMs: 0 },
    });
  }
  const bases = scenario.nodes.filter((n) => n.base);
  const messages = new Map<string, Message>();
  const allMessages: Message[] = [];
  const offline = new Set<string>();
  let airtimeMs = 0;

  net.channel.onTransmission((transmission) => {
    airtimeMs += transmission.airtimeMs;
    const header = parseAirHeader(transmission.frame);
    const message = messages.get(`${header.from}:${header.id}`);
    if (message) {
      message.airtimeMs += transmission.airtimeMs;
      message.transmitted = true;
    }
  });
  /** Base radios whose station is away: what they hold for it (the firmware's to-phone queue). */
  const heldForStation = new Map<number, Array<Message | undefined>>();
  const reachStation = (message: Message | undefined, base: number): void => {
    if (!message || !message.pending.delete(base)) return;
    message.latest = clock.now();
  };
  net.onDelivery((receiver, packet) => {
    const message = messages.get(`${packet.from}:${packet.id}`);
    const held = heldForStation.get(receiver);
    if (!held) {
      reachStation(message, receiver);
      return;
    }
    if (held.length >= TO_PHONE_QUEUE_SIZE) {
      if (!EVICTING_PORTS.has(packet.decoded.portnum)) return; // dropped: the queue is full
      held.shift(); // text evicts the oldest
    }
    held.push(message);
  });

  // ---------------------------------------------------------------- traffic
  const trafficRandom = mulberry32(scenario.seed ^ 0x7aff1c);
  const nextSeq = new Map<number, number>();
  const send = (from: ScenarioNode, kind: string, text: string, recordBytes: number): void => {
    const radio = net.radio(from.num);
    let data: { portnum: number; payload: Uint8Array };
    if (format === "text") {
      data = { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(text) };
    } else {
      const seq = nextSeq.get(from.num) ?? 1;
      const encoded = options.encodeRecords?.(text, seq);
      nextSeq.set(from.num, seq + 8); // room for the records one text can hold
      data = { portnum: PortNum.PRIVATE_APP, payload: encoded ?? recordPayload(recordBytes, trafficRandom) };
    }
    const id = radio.originate(data, { to: BROADCAST_NUM, wantAck: true, hopLimit: scenario.hopLimit });
    const pending = new Set(bases.filter((b) => b.num !== from.num).map((b) => b.num));
    const message: Message = { key: `${from.num}:${id ?? 0}`, from, kind, sentAt: clock.now(), pending, latest: clock.now(), airtimeMs: 0, transmitted: false };
    if (id === undefined) message.failure = "TX queue full";
    else if (offline.has(from.id)) message.failure = "sender's radio was off";
    if (id !== undefined) messages.set(message.key, message);
    allMessages.push(message);
  };
  const trafficEnd = scenario.durationMs;
  for (const item of scenario.traffic) {
    for (const id of item.from) {
      const from = scenario.nodes.find((n) => n.id === id);
      if (!from) continue;
      if (item.atMs !== undefined) {
        if (item.atMs <= trafficEnd) clock.setTimer(item.atMs, () => send(from, item.kind, item.text, item.recordBytes));
        continue;
      }
      const mean = item.everyMs ?? 0;
      if (mean <= 0) continue;
      let t = item.startMs + exponential(trafficRandom, mean);
      const until = Math.min(item.untilMs, trafficEnd);
      while (t <= until) {
        clock.setTimer(t, () => send(from, item.kind, item.text, item.recordBytes));
        t += exponential(trafficRandom, mean);
      }
    }
  }

  // ---------------------------------------------------------------- background chatter
  const bgRandom = mulberry32(scenario.seed ^ 0xb6b6);
  let backgroundHeldBack = 0;
  /** Periodic firmware traffic: sent when its module's gates allow, else looked at again as the module would. */
  const periodic = (n: ScenarioNode, kind: PeriodicTraffic, send: () => void): void => {
    if (offline.has(n.id)) return;
    const radio = net.radio(n.num);
    if (radio.periodicAllowed(kind)) {
      send();
      return;
    }
    backgroundHeldBack++;
    const retry = PERIODIC_RETRY_MS[kind];
    if (retry !== undefined && clock.now() - start < trafficEnd) clock.setTimer(retry, () => periodic(n, kind, send));
  };
  for (const n of scenario.nodes) {
    const radio = net.radio(n.num);
    const node = simNodes.get(n.id);
    if (scenario.background.nodeInfo && node) {
      clock.setTimer(bgRandom() * 60_000, () =>
        periodic(n, "nodeinfo", () => radio.originate({ portnum: PortNum.NODEINFO_APP, payload: encodeUser(userOf(node)) }, { hopLimit: scenario.hopLimit })),
      );
    }
    const every = (interval: number, kind: PeriodicTraffic, send: () => void): void => {
      if (interval <= 0) return;
      for (let t = bgRandom() * interval; t < trafficEnd; t += interval * (0.9 + 0.2 * bgRandom())) {
        clock.setTimer(t, () => periodic(n, kind, send));
      }
    };
    every(scenario.background.positionEveryMs, "position", () => radio.originate({ portnum: PortNum.POSITION_APP, payload: new Uint8Array(24) }, { hopLimit: scenario.hopLimit }));
    every(scenario.background.telemetryEveryMs, "telemetry", () => radio.sendDeviceTelemetry());
  }

  // ---------------------------------------------------------------- movement and faults
  const movers = scenario.nodes.filter((n) => n.path.length > 0);
  const displaced = new Set<string>();
  if (movers.length > 0) {
    const step = (): void => {
      const t = clock.now() - start;
      for (const n of movers) if (!displaced.has(n.id)) net.moveTo(n.num, positionAt(n, t));
      if (t < trafficEnd) clock.setTimer(MOVE_STEP_MS, step);
    };
    clock.setTimer(0, step);
  }
  for (const fault of scenario.faults) {
    if (fault.type === "jammer") {
      clock.setTimer(fault.atMs, () => {
        const id = net.addJammer({ position: fault.position, powerDbm: fault.powerDbm });
        if (fault.forMs !== undefined) clock.setTimer(fault.forMs, () => net.removeJammer(id));
      });
      continue;
    }
    const n = scenario.nodes.find((candidate) => candidate.id === fault.node);
    if (!n) continue;
    if (fault.type === "unplugged") {
      clock.setTimer(fault.atMs, () => {
        if (!heldForStation.has(n.num)) heldForStation.set(n.num, []);
        if (fault.forMs === undefined) return;
        clock.setTimer(fault.forMs, () => {
          const held = heldForStation.get(n.num) ?? [];
          heldForStation.delete(n.num);
          for (const message of held) reachStation(message, n.num); // the backlog after the handshake
        });
      });
      continue;
    }
    clock.setTimer(fault.atMs, () => {
      if (fault.type === "offline") {
        offline.add(n.id);
        net.setOnline(n.num, false);
      } else {
        displaced.add(n.id);
        net.moveTo(n.num, { x: 1e6, y: 1e6 });
      }
      if (fault.forMs === undefined) return;
      clock.setTimer(fault.forMs, () => {
        if (fault.type === "offline") {
          offline.delete(n.id);
          net.setOnline(n.num, true);
        } else {
          displaced.delete(n.id);
          net.moveTo(n.num, positionAt(n, clock.now() - start));
        }
      });
    });
  }

  // ---------------------------------------------------------------- utilisation samples
  const routers = net.list().map((entry) => entry.router);
  const perMinute: number[] = [];
  let peak = 0;
  const sample = (): void => {
    let max = 0;
    for (const router of routers) if (router.online()) max = Math.max(max, router.channelUtilization());
    peak = Math.max(peak, max);
    const minute = Math.floor((clock.now() - start - 1) / 60_000); // the window that ends now
    perMinute[minute] = Math.max(perMinute[minute] ?? 0, max);
    if (clock.now() - start < trafficEnd + DRAIN_MS) clock.setTimer(SAMPLE_MS, sample);
  };
  clock.setTimer(SAMPLE_MS, sample);

  // ---------------------------------------------------------------- run
  const wallStart = performance.now();
  clock.runUntil(start + trafficEnd + DRAIN_MS);
  const wallSeconds = (performance.now() - wallStart) / 1000;
  net.close();

  // ---------------------------------------------------------------- measure
  const simulatedSeconds = (trafficEnd + DRAIN_MS) / 1000;
  const kinds: Record<string, KindStats> = {};
  const byKind = new Map<string, Message[]>();
  for (const message of allMessages) byKind.set(message.kind, [...(byKind.get(message.kind) ?? []), message]);
  for (const [kind, list] of byKind) kinds[kind] = stats(list);
  const overall = stats(allMessages);
  const failures: Record<string, number> = {};
  const examples: Undelivered[] = [];
  for (const message of allMessages) {
    if (message.pending.size === 0 && message.failure === undefined) continue;
    const reason =
      message.failure ??
      (!message.transmitted
        ? "never transmitted (duty-cycle limit or radio off)"
        : message.pending.size < bases.filter((b) => b.num !== message.from.num).length
          ? "reached only some base stations"
          : "lost on the air (range, collisions, jamming)");
    failures[reason] = (failures[reason] ?? 0) + 1;
    if (examples.length < 10) {
      examples.push({
        from: message.from.id,
        kind: message.kind,
        sentAtS: Math.round((message.sentAt - start) / 1000),
        reason,
        missing: [...message.pending].map((num) => byNum.get(num)?.id ?? String(num)),
      });
    }
  }
  const routerStats: RouterStats = emptyRouterStats();
  for (const router of routers) {
    for (const key of Object.keys(routerStats) as Array<keyof RouterStats>) routerStats[key] += router.stats[key];
  }
  const within = allMessages.filter((m) => m.failure === undefined && m.pending.size === 0 && m.latest - m.sentAt <= DEADLINE_MS).length;
  return {
    scenario: scenario.name,
    format,
    preset: scenario.preset,
    region: scenario.region,
    seed: scenario.seed,
    nodes: scenario.nodes.length,
    bases: bases.length,
    simulatedSeconds,
    wallSeconds,
    speedup: simulatedSeconds / Math.max(wallSeconds, 1e-6),
    sent: overall.sent,
    delivered: overall.delivered,
    deliveryRatio: overall.deliveryRatio,
    deliveredWithin2MinRatio: allMessages.length === 0 ? 0 : within / allMessages.length,
    latencyP50Ms: overall.latencyP50Ms,
    latencyP95Ms: overall.latencyP95Ms,
    airtimeMs: Math.round(airtimeMs),
    trafficAirtimeMs: Math.round(allMessages.reduce((sum, m) => sum + m.airtimeMs, 0)),
    airtimePerRecordMs: overall.airtimePerRecordMs,
    peakChannelUtilization: round2(peak),
    utilizationPerMinute: Array.from(perMinute, (v) => round2(v ?? 0)),
    kinds,
    channel: { ...net.channel.stats },
    routers: routerStats,
    failures: { counts: failures, examples },
    events: clock.eventsRun,
    backgroundHeldBack,
  };
}

function stats(list: readonly Message[]): KindStats {
  const delivered = list.filter((m) => m.failure === undefined && m.pending.size === 0);
  const latencies = delivered.map((m) => m.latest - m.sentAt).sort((a, b) => a - b);
  const airtime = list.reduce((sum, m) => sum + m.airtimeMs, 0);
  return {
    sent: list.length,
    delivered: delivered.length,
    deliveryRatio: list.length === 0 ? 0 : delivered.length / list.length,
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP95Ms: percentile(latencies, 0.95),
    airtimePerRecordMs: delivered.length === 0 ? null : Math.round(airtime / delivered.length),
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return Math.round(sorted[rank - 1]!);
}

function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

function recordPayload(bytes: number, random: () => number): Uint8Array {
  const payload = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = Math.floor(random() * 256);
  return payload;
}

function positionAt(node: ScenarioNode, t: number): Position {
  let from = { atMs: 0, position: node.position };
  for (const step of node.path) {
    if (t <= step.atMs) {
      const span = step.atMs - from.atMs;
      const f = span <= 0 ? 1 : (t - from.atMs) / span;
      return { x: from.position.x + (step.position.x - from.position.x) * f, y: from.position.y + (step.position.y - from.position.y) * f };
    }
    from = step;
  }
  return from.position;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
