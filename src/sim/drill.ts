// Drills: a scenario run on a SimNet under a virtual clock, measured, and reported. What counts
// as delivered: every base station's radio decoded the record (what its station would ingest).
import { BROADCAST_NUM, DEFAULT_RECORD_PORT, PortNum, encodeUser, parseAirHeader } from "../radio/index.ts";
import type { ChannelStats, Position } from "./channel.ts";
import { VirtualClock } from "./clock.ts";
import { SimUsbPort } from "./in-process.ts";
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
  /** Where delivery was counted: stored by each base's station, or decoded by each base's radio (--radio-only). */
  deliveredAt: "station" | "radio";
  /** The traffic's transmissions per record sent: originals, the originators' retransmissions, relays. */
  transmissionsPerRecord: { originals: number; retransmissions: number; relays: number };
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

/** A base station running on a drill's simulated radio (meshaid's real Station, composed by the cli). */
export interface DrillStation {
  /** Its radio link finished the handshake: what the radio hears reaches it. */
  readonly connected: boolean;
  /** Resolves once everything handed to it so far is on disk (or dropped). */
  settled(): Promise<void>;
  /** Stops it as kill -9 would: what is on disk stays, nothing else does. */
  kill(): Promise<void>;
}

/**
 * Starts (or, after a kill, starts again on the same database) the station of base `base` on its
 * radio's USB `port`; it calls `stored(origin, seq)` for every record it puts on disk.
 */
export type DrillStationFactory = (base: { id: string; num: number }, port: SimUsbPort, stored: (origin: number, seq: number) => void) => Promise<DrillStation>;

export interface StationDrillOptions extends RunDrillOptions {
  stations: DrillStationFactory;
  /** Real time to wait for a station to reconnect after its radio is plugged back in, or to start (default 10 s). */
  connectTimeoutMs?: number;
  /** Called every `everyMs` of simulated time (at 0 too), between timers, with the stations settled: a soak samples memory here. */
  sample?: { everyMs: number; take: (simulatedMs: number) => void };
}

interface PreparedDrill {
  clock: VirtualClock;
  /** When the drill ends (virtual ms). */
  end: number;
  ports: Map<number, SimUsbPort>;
  /** Station mode: work the virtual clock must wait for (a kill, a restart), queued by timers. */
  actions: Array<() => Promise<void>>;
  /** Station mode: bumped by every write of a base radio to its station and every record stored. */
  activity: { count: number };
  /** Station mode: a base station stored a record. */
  stored(base: number, origin: number, seq: number): void;
  /** Station mode: what the fault timers do to a base's station (runStationDrill sets them). */
  control: { kill(num: number): void; restart(num: number): void };
  finish(wallSeconds: number): DrillResult;
}

/** Runs one scenario with its traffic carried as `format`, delivery counted at each base's radio. Same scenario and seed, same result (except wall time). */
export function runDrill(scenario: Scenario, format: TrafficFormat, options: RunDrillOptions = {}): DrillResult {
  const drill = prepareDrill(scenario, format, options, false);
  const wallStart = performance.now();
  drill.clock.runUntil(drill.end);
  return drill.finish((performance.now() - wallStart) / 1000);
}

/**
 * Runs one scenario with meshaid's real Station at every base (the factory composes it), each on
 * its simulated radio over an in-process USB port: "delivered" means stored by every base station.
 * The virtual clock waits while a station works (its disk writes, a handshake, a restart), so the
 * result is the same for the same seed; a reconnect after a fault takes no simulated time.
 */
export async function runStationDrill(scenario: Scenario, format: TrafficFormat, options: StationDrillOptions): Promise<DrillResult> {
  const drill = prepareDrill(scenario, format, options, true);
  const { clock, ports, activity } = drill;
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const stations = new Map<number, DrillStation>();
  const bases = scenario.nodes.filter((n) => n.base);
  const startStation = async (base: ScenarioNode): Promise<void> => {
    const port = ports.get(base.num);
    if (!port) return;
    const station = await options.stations({ id: base.id, num: base.num }, port, (origin, seq) => drill.stored(base.num, origin, seq));
    stations.set(base.num, station);
  };
  const settle = async (): Promise<void> => {
    for (let quiet = 0; quiet < 3; ) {
      const before = activity.count;
      await new Promise<void>((resolve) => setImmediate(resolve));
      await Promise.all([...stations.values()].map((station) => station.settled()));
      quiet = activity.count === before ? quiet + 1 : 0;
    }
  };
  const connected = async (): Promise<void> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const waiting = [...stations.entries()].filter(([num, station]) => ports.get(num)?.plugged === true && !station.connected);
      if (waiting.length === 0 || performance.now() > deadline) return;
      await new Promise<void>((resolve) => setTimeout(resolve, 2));
    }
  };
  drill.actions.push(async () => {
    for (const base of bases) await startStation(base);
  });
  const kill = (num: number): void => {
    drill.actions.push(async () => {
      const station = stations.get(num);
      stations.delete(num);
      await station?.kill();
    });
  };
  const restart = (num: number): void => {
    const base = bases.find((b) => b.num === num);
    if (base) drill.actions.push(() => startStation(base));
  };
  drill.control.kill = kill;
  drill.control.restart = restart;

  const wallStart = performance.now();
  let seen = -1;
  const startedAt = clock.now();
  let nextSample = 0;
  try {
    for (;;) {
      while (drill.actions.length > 0) await drill.actions.shift()?.();
      await connected();
      if (activity.count !== seen) {
        await settle();
        seen = activity.count;
      }
      // Out of band: sampling adds no timer, so the drill runs as it would without it.
      while (options.sample && clock.now() - startedAt >= nextSample) {
        options.sample.take(nextSample);
        nextSample += options.sample.everyMs;
      }
      const next = clock.nextDue();
      if (next === undefined || next > drill.end) {
        clock.runUntil(drill.end);
        break;
      }
      clock.runUntil(next);
    }
    await settle();
  } finally {
    for (const station of stations.values()) await station.kill();
    stations.clear();
  }
  return drill.finish((performance.now() - wallStart) / 1000);
}

function prepareDrill(scenario: Scenario, format: TrafficFormat, options: RunDrillOptions, stationMode: boolean): PreparedDrill {
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
  const onAir = { originals: 0, retransmissions: 0, relays: 0 };

  net.channel.onTransmission((transmission) => {
    airtimeMs += transmission.airtimeMs;
    const header = parseAirHeader(transmission.frame);
    const message = messages.get(`${header.from}:${header.id}`);
    if (message) {
      message.airtimeMs += transmission.airtimeMs;
      if (transmission.sender !== header.from) onAir.relays++;
      else if (message.transmitted) onAir.retransmissions++;
      else onAir.originals++;
      message.transmitted = true;
    }
  });
  /** Base radios whose station is away: what they hold for it (the firmware's to-phone queue). */
  const heldForStation = new Map<number, Array<Message | undefined>>();
  const reachStation = (message: Message | undefined, base: number): void => {
    if (!message || !message.pending.delete(base)) return;
    message.latest = clock.now();
  };
  // Station mode: a record stored by a base's station; its key is (origin, seq).
  const byRecord = new Map<string, Message>();
  const activity = { count: 0 };
  const ports = new Map<number, SimUsbPort>();
  if (stationMode) {
    for (const base of bases) ports.set(base.num, new SimUsbPort(net.radio(base.num), { onDeviceWrite: () => void activity.count++ }));
  }
  if (!stationMode) net.onDelivery((receiver, packet) => {
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
    let recordKey: string | undefined; // a meshaid record's (origin, seq); a text's record takes the packet id
    if (format === "text") {
      data = { portnum: PortNum.TEXT_MESSAGE_APP, payload: new TextEncoder().encode(text) };
    } else {
      const seq = nextSeq.get(from.num) ?? 1;
      const encoded = options.encodeRecords?.(text, seq);
      nextSeq.set(from.num, seq + 8); // room for the records one text can hold
      recordKey = `${from.num}:${seq}`;
      data = { portnum: DEFAULT_RECORD_PORT, payload: encoded ?? recordPayload(recordBytes, trafficRandom) };
    }
    const id = radio.originate(data, { to: BROADCAST_NUM, wantAck: true, hopLimit: scenario.hopLimit });
    const pending = new Set(bases.filter((b) => b.num !== from.num).map((b) => b.num));
    const message: Message = { key: `${from.num}:${id ?? 0}`, from, kind, sentAt: clock.now(), pending, latest: clock.now(), airtimeMs: 0, transmitted: false };
    if (id === undefined) message.failure = "TX queue full";
    else if (offline.has(from.id)) message.failure = "sender's radio was off";
    if (id !== undefined) {
      messages.set(message.key, message);
      byRecord.set(recordKey ?? `${from.num}:${id}`, message);
    }
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
    if (stationMode && (fault.type === "unplugged" || fault.type === "station_restart")) {
      const port = ports.get(n.num);
      const restarting = fault.type === "station_restart";
      clock.setTimer(fault.atMs, () => (restarting ? control.kill(n.num) : port?.unplug()));
      if (fault.forMs !== undefined) clock.setTimer(fault.atMs + fault.forMs, () => (restarting ? control.restart(n.num) : port?.plug()));
      continue;
    }
    if (fault.type === "unplugged" || fault.type === "station_restart") {
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

  const control = { kill: (_num: number): void => undefined, restart: (_num: number): void => undefined };
  const stored = (base: number, origin: number, seq: number): void => {
    activity.count++;
    reachStation(byRecord.get(`${origin}:${seq}`), base);
  };
  return { clock, end: start + trafficEnd + DRAIN_MS, ports, actions: [], activity, stored, control, finish: (wallSeconds) => {
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
    deliveredAt: stationMode ? "station" : "radio",
    transmissionsPerRecord: {
      originals: round2(onAir.originals / Math.max(1, allMessages.length)),
      retransmissions: round2(onAir.retransmissions / Math.max(1, allMessages.length)),
      relays: round2(onAir.relays / Math.max(1, allMessages.length)),
    },
  };
  } };
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
