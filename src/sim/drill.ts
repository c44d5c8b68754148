// Drills: a scenario run on a SimNet under a virtual clock, measured, and reported. What counts
// as delivered: every base station's radio decoded the record (what its station would ingest).
import { BROADCAST_NUM, DEFAULT_RECORD_PORT, PortNum, parseAirHeader } from "../radio/index.ts";
import type { ChannelStats, Position } from "./channel.ts";
import { VirtualClock, type SimTimer } from "./clock.ts";
import { decodeAirPayload } from "./air.ts";
import { SimUsbPort } from "./in-process.ts";
import { SimNet } from "./net.ts";
import { PERIODIC_RETRY_MS, type PeriodicTraffic } from "./gates.ts";
import { EVICTING_PORTS, TO_PHONE_QUEUE_SIZE } from "./phone-api.ts";
import type { SimNode } from "./node.ts";
import { mulberry32 } from "./random.ts";
import { emptyRouterStats, type RouterStats } from "./router.ts";
import type { OperatorVerb, Scenario, ScenarioNode, ScenarioOperator, TrafficFormat } from "./scenario.ts";

/** After the last traffic, the drill runs this long so what is in flight can land. */
export const DRAIN_MS = 120_000;
/** The brief's bar: urgent records reach every base station within 2 minutes. */
export const DEADLINE_MS = 120_000;
const SAMPLE_MS = 10_000;
/** An operator takes one action at a time, at least this far apart (and the radio takes one text per 2 s). */
export const OPERATOR_GAP_MS = 2_500;
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
  /** Per base: how many of the drill's other nodes its radio holds a NodeInfo for at the end (the roster its station gets). */
  rosters: Record<string, { known: number; of: number }>;
  /** NodeInfo frames on the air (broadcasts, greetings of new nodes, replies) and their airtime. */
  nodeInfo: { frames: number; airtimeMs: number };
  /**
   * Station mode: what the operators' actions put on the air (status records to the other bases,
   * replies to the handheld that asked), also per kind in `kinds`; the top-level figures are the
   * handhelds' traffic only.
   */
  downlink: KindStats & { refused: number };
  /** Station mode with the relay: how records reached base stations (record x base), and each internet outage's catch-up. */
  paths: { air: number; internet: number };
  outages: Array<{ station: string; fromS: number; forS: number | null; caughtUp: number; catchUpWallMs: number | null }>;
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

/** An operator's action for a base's station: the record it wrote, or why it was refused. */
export type DrillActOutcome = { record: { origin: number; seq: number } } | { refused: string };

export interface RunDrillOptions {
  /**
   * The meshaid payload for a line of traffic text (records numbered from `seq`), e.g. wire's
   * payloadForText with the coalition's codebook. Without it, or when it returns undefined, a
   * meshaid record is modelled as `record_bytes` random bytes on the private port.
   */
  encodeRecords?: (text: string, seq: number) => Uint8Array | undefined;
  /**
   * The seqs of the records a meshaid payload carries (none for a base station's held ACK or
   * resend request), e.g. from wire's decodePayload: a station's frames on meshaid's port are
   * matched to the operators' status records by it. Without it, they are matched in order.
   */
  recordSeqs?: (payload: Uint8Array) => number[];
}

/** A base station running on a drill's simulated radio (meshaid's real Station, composed by the cli). */
export interface DrillStation {
  /** Its radio link finished the handshake: what the radio hears reaches it. */
  readonly connected: boolean;
  /** Resolves once everything handed to it so far is on disk (or dropped). */
  settled(): Promise<void>;
  /** Stops it as kill -9 would: what is on disk stays, nothing else does. */
  kill(): Promise<void>;
  /** An operator acts on a handheld's supply request (Station.act); the station puts the status record and the reply on the air. */
  act?(verb: OperatorVerb, target: { origin: number; seq: number }, actor: { role: string; callsign: string }, etaMin: number): Promise<DrillActOutcome>;
  /** Cuts (false) or restores (true) its internet link; restoring resolves once it caught up, with how many records came and the wall time it took. */
  internet?(up: boolean): Promise<{ records: number; wallMs: number } | undefined>;
  /** Nodes in its roster (what its radio told it of the mesh). */
  rosterSize?(): number;
}

/** A station's timers on the drill's virtual clock. */
export interface DrillTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Where a record a base station stored came from: its radio, or a peer over the internet relay. */
export interface StoredDetail {
  kind: string;
  via: "air" | "internet";
}

/**
 * Starts (or, after a kill, starts again on the same database) the station of base `base` on its
 * radio's USB `port`; it calls `stored(origin, seq)` for every record it puts on disk. `timers`
 * is the drill's virtual clock: the station runs its pacing, retries, held ACKs and gap repair on
 * it (the drill waits for what a timer sets off before the clock moves on).
 */
export type DrillStationFactory = (base: { id: string; num: number; now: () => number; timers: DrillTimers }, port: SimUsbPort, stored: (origin: number, seq: number, detail: StoredDetail) => void) => Promise<DrillStation>;

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
  stored(base: number, origin: number, seq: number, detail: StoredDetail): void;
  /** Station mode: what the fault timers and operators do to a base's station (runStationDrill sets them). */
  control: {
    kill(num: number): void;
    restart(num: number): void;
    act(num: number, verb: OperatorVerb, target: { origin: number; seq: number }, operator: ScenarioOperator): Promise<DrillActOutcome>;
    internet(num: number, up: boolean): Promise<{ records: number; wallMs: number } | undefined>;
  };
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
  // A station timer that fires is activity: the drill waits for what it set off before moving on.
  const timers: DrillTimers = {
    setTimeout: (callback, ms) =>
      clock.setTimer(ms, () => {
        activity.count++;
        callback();
      }),
    clearTimeout: (handle) => {
      if (handle !== undefined) clock.clearTimer(handle as SimTimer);
    },
  };
  const startStation = async (base: ScenarioNode): Promise<void> => {
    const port = ports.get(base.num);
    if (!port) return;
    const station = await options.stations({ id: base.id, num: base.num, now: () => clock.now(), timers }, port, (origin, seq, detail) => drill.stored(base.num, origin, seq, detail));
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
  const allConnected = (): boolean => {
    for (const [num, station] of stations) if (ports.get(num)?.plugged === true && !station.connected) return false;
    return true;
  };
  const connected = async (): Promise<void> => {
    const deadline = performance.now() + timeoutMs;
    while (!allConnected() && performance.now() <= deadline) await new Promise<void>((resolve) => setTimeout(resolve, 2));
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
  drill.control.act = async (num, verb, target, operator) => {
    const station = stations.get(num);
    if (!station?.act) return { refused: "the station is down" };
    const base = bases.find((b) => b.num === num);
    return station.act(verb, target, { role: operator.role, callsign: `${base?.shortName ?? "OP"}-OP` }, operator.etaMin);
  };
  drill.control.internet = async (num, up) => stations.get(num)?.internet?.(up);

  const wallStart = performance.now();
  let seen = -1;
  const startedAt = clock.now();
  let nextSample = 0;
  try {
    for (;;) {
      // Steps that gave the stations nothing to do run back to back, without yielding.
      while (drill.actions.length > 0) await drill.actions.shift()?.();
      if (!allConnected()) await connected();
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
    nodeInfoExchange: scenario.background.nodeInfoExchange,
  });
  const simNodes = new Map<string, SimNode>();
  const byNum = new Map<number, ScenarioNode>();
  for (const n of scenario.nodes) simNodes.set(n.id, { num: n.num, longName: n.id, shortName: n.shortName, role: n.role, hwModel: 9 });
  const everyone = [...simNodes.values()];
  const knownNodes = scenario.background.knownNodes === "all" ? () => everyone : () => [];
  for (const n of scenario.nodes) {
    const node = simNodes.get(n.id) as SimNode;
    byNum.set(n.num, n);
    net.addNode({
      node,
      position: n.position,
      txPowerDbm: n.txPowerDbm,
      ...(n.rebroadcastMode !== undefined ? { rebroadcastMode: n.rebroadcastMode } : {}),
      favorites: n.favorites.map((id) => scenario.nodes.find((other) => other.id === id)?.num ?? 0).filter((num) => num !== 0),
      radio: { idleTimeoutMs: 0, knownNodes },
    });
  }
  const bases = scenario.nodes.filter((n) => n.base);
  const messages = new Map<string, Message>();
  const allMessages: Message[] = [];
  const offline = new Set<string>();
  let airtimeMs = 0;
  const onAir = { originals: 0, retransmissions: 0, relays: 0 };
  const nodeInfo = { frames: 0, airtimeMs: 0 };
  /** Each packet's port, decoded once from its first frame (relays carry the same packet). */
  const portOf = new Map<string, number | undefined>();
  /** Station mode: what an operator's action put on the air, waiting for its first frame: per base, status records, and replies per handheld. */
  const awaitingAir = new Map<number, { status: Message[]; replies: Map<number, Message[]> }>();

  net.channel.onTransmission((transmission) => {
    airtimeMs += transmission.airtimeMs;
    const header = parseAirHeader(transmission.frame);
    const key = `${header.from}:${header.id}`;
    let message = messages.get(key);
    if (!portOf.has(key) && transmission.sender === header.from) {
      const data = decodeAirPayload(transmission.frame, header, [net.primary]);
      portOf.set(key, data?.portnum);
      const waiting = awaitingAir.get(header.from);
      if (!message && waiting && data) {
        if (data.portnum === DEFAULT_RECORD_PORT) message = takeStatus(waiting.status, header.from, data.payload);
        else if (data.portnum === PortNum.TEXT_MESSAGE_APP && header.to !== BROADCAST_NUM) {
          // The scheduler joins the replies waiting for one handheld into one text: this one carries them all.
          const replies = waiting.replies.get(header.to) ?? [];
          waiting.replies.delete(header.to);
          message = replies[0];
          if (replies.length > 1) joinedReplies.set(key, replies.slice(1));
        }
        if (message) messages.set(key, message);
      }
    }
    if (portOf.get(key) === PortNum.NODEINFO_APP) {
      nodeInfo.frames++;
      nodeInfo.airtimeMs += transmission.airtimeMs;
    }
    if (message) {
      message.airtimeMs += transmission.airtimeMs;
      if (transmission.sender !== header.from) onAir.relays++;
      else if (message.transmitted) onAir.retransmissions++;
      else onAir.originals++;
      message.transmitted = true;
      for (const joined of joinedReplies.get(key) ?? []) joined.transmitted = true;
    }
  });
  /** The status record a base's frame on meshaid's port carries (by its seqs when they can be read; its held ACKs and resend requests carry none). */
  const takeStatus = (waiting: Message[], from: number, payload: Uint8Array): Message | undefined => {
    if (!options.recordSeqs) return waiting.shift();
    const seqs = options.recordSeqs(payload);
    const index = waiting.findIndex((message) => seqs.some((seq) => byRecord.get(`${from}:${seq}`) === message));
    return index < 0 ? undefined : waiting.splice(index, 1)[0];
  };
  /** Station mode: replies that went in the same text as the reply its packet is counted for. */
  const joinedReplies = new Map<string, Message[]>();
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
  // Station mode: a reply reached the handheld it was for.
  if (stationMode) net.onDelivery((receiver, packet) => {
    if (packet.to !== receiver || packet.decoded.portnum !== PortNum.TEXT_MESSAGE_APP) return;
    const key = `${packet.from}:${packet.id}`;
    reachStation(messages.get(key), receiver);
    for (const joined of joinedReplies.get(key) ?? []) reachStation(joined, receiver);
  });
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
        periodic(n, "nodeinfo", () => radio.sendOwnNodeInfo(BROADCAST_NUM, false, scenario.hopLimit)),
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

  const actions: Array<() => Promise<void>> = [];
  const control: PreparedDrill["control"] = {
    kill: () => undefined,
    restart: () => undefined,
    act: () => Promise.resolve({ refused: "no station" }),
    internet: () => Promise.resolve(undefined),
  };

  // ---------------------------------------------------------------- operators (station mode)
  const baseNums = new Set(bases.map((b) => b.num));
  /** Station mode: what the operators' actions put on the air (status records, replies). */
  const downlinkMessages: Message[] = [];
  let refused = 0;
  /** Supply requests and incident reports an operator took (the first base with an operator for it to store one takes it). */
  const taken = new Set<string>();
  const incidentsTaken = new Set<string>();
  /** When each base's operator is to act (what is past is forgotten). */
  const operatorBusy = new Map<number, number[]>();
  /** The first moment from `wanted` on when a base's operator has no other action within OPERATOR_GAP_MS (a close planned for later does not hold up an acknowledgement now). */
  const operatorSlot = (base: number, wanted: number): number => {
    const busy = (operatorBusy.get(base) ?? []).filter((at) => at > clock.now() - OPERATOR_GAP_MS);
    operatorBusy.set(base, busy);
    let when = wanted;
    for (let clash = busy.find((at) => Math.abs(at - when) < OPERATOR_GAP_MS); clash !== undefined; clash = busy.find((at) => Math.abs(at - when) < OPERATOR_GAP_MS)) when = clash + OPERATOR_GAP_MS;
    busy.push(when);
    return when;
  };
  const act = async (base: ScenarioNode, operator: ScenarioOperator, verb: OperatorVerb, target: { origin: number; seq: number }): Promise<void> => {
    const sentAt = clock.now();
    const handheld = byNum.get(target.origin);
    const outcome = await control.act(base.num, verb, target, operator);
    const incident = incidentsTaken.has(`${target.origin}:${target.seq}`);
    const status: Message = { key: "", from: base, kind: `${incident ? "incident" : "status"}:${verb}`, sentAt, pending: new Set([...baseNums].filter((num) => num !== base.num)), latest: sentAt, airtimeMs: 0, transmitted: false };
    downlinkMessages.push(status);
    if ("refused" in outcome) {
      refused++;
      status.failure = `the station refused the action: ${outcome.refused}`;
      return;
    }
    byRecord.set(`${outcome.record.origin}:${outcome.record.seq}`, status);
    const waiting = awaitingAir.get(base.num) ?? { status: [], replies: new Map<number, Message[]>() };
    awaitingAir.set(base.num, waiting);
    waiting.status.push(status);
    if (!handheld || incident) return; // an incident report's acknowledgement is for the other bases: no text to the handheld
    const reply: Message = { key: "", from: base, kind: "reply", sentAt, pending: new Set([handheld.num]), latest: sentAt, airtimeMs: 0, transmitted: false };
    downlinkMessages.push(reply);
    waiting.replies.set(handheld.num, [...(waiting.replies.get(handheld.num) ?? []), reply]);
  };
  const operate = (base: number, origin: number, seq: number, detail: StoredDetail): void => {
    const incident = detail.kind === "incident";
    if ((detail.kind !== "supply_request" && !incident) || baseNums.has(origin)) return;
    const operator = scenario.operators.find((o) => o.stations.some((id) => byNum.get(base)?.id === id) && (incident ? o.incidentSteps : o.steps).length > 0);
    const key = `${origin}:${seq}`;
    const at = byNum.get(base);
    if (!operator || !at || taken.has(key)) return;
    taken.add(key);
    if (incident) incidentsTaken.add(key);
    const arrived = clock.now();
    for (const step of incident ? operator.incidentSteps : operator.steps) {
      const when = operatorSlot(base, arrived + step.afterMs);
      clock.setTimer(when - arrived, () => actions.push(() => act(at, operator, step.verb, { origin, seq })));
    }
  };

  // ---------------------------------------------------------------- the internet relay (station mode)
  const paths = { air: 0, internet: 0 };
  const outages: DrillResult["outages"] = [];
  if (stationMode) {
    for (const fault of scenario.faults) {
      if (fault.type !== "internet_lost") continue;
      const base = scenario.nodes.find((n) => n.id === fault.node);
      if (!base) continue;
      const outage = { station: base.id, fromS: Math.round(fault.atMs / 1000), forS: fault.forMs === undefined ? null : Math.round(fault.forMs / 1000), caughtUp: 0, catchUpWallMs: null as number | null };
      outages.push(outage);
      clock.setTimer(fault.atMs, () => actions.push(async () => void (await control.internet(base.num, false))));
      if (fault.forMs !== undefined) {
        clock.setTimer(fault.atMs + fault.forMs, () =>
          actions.push(async () => {
            const caught = await control.internet(base.num, true);
            if (caught) {
              outage.caughtUp = caught.records;
              outage.catchUpWallMs = Math.round(caught.wallMs);
            }
          }),
        );
      }
    }
  }

  const stored = (base: number, origin: number, seq: number, detail: StoredDetail): void => {
    activity.count++;
    const message = byRecord.get(`${origin}:${seq}`);
    if (message?.pending.has(base)) paths[detail.via]++;
    reachStation(message, base);
    operate(base, origin, seq, detail);
  };
  return { clock, end: start + trafficEnd + DRAIN_MS, ports, actions, activity, stored, control, finish: (wallSeconds) => {
  const rosters: Record<string, { known: number; of: number }> = {};
  for (const base of bases) rosters[base.id] = { known: net.radio(base.num).knownUsers(), of: scenario.nodes.length - 1 };
  net.close();

  // ---------------------------------------------------------------- measure
  const simulatedSeconds = (trafficEnd + DRAIN_MS) / 1000;
  const kinds: Record<string, KindStats> = {};
  const byKind = new Map<string, Message[]>();
  for (const message of allMessages) byKind.set(message.kind, [...(byKind.get(message.kind) ?? []), message]);
  for (const message of downlinkMessages) byKind.set(message.kind, [...(byKind.get(message.kind) ?? []), message]);
  for (const [kind, list] of byKind) kinds[kind] = stats(list);
  const overall = stats(allMessages);
  const failures: Record<string, number> = {};
  const examples: Undelivered[] = [];
  for (const message of [...allMessages, ...downlinkMessages]) {
    if (message.pending.size === 0 && message.failure === undefined) continue;
    const reply = message.kind === "reply";
    const reason =
      message.failure ??
      (!message.transmitted
        ? "never transmitted (duty-cycle limit or radio off)"
        : reply
          ? "reply lost on the air (the handheld never decoded it)"
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
    rosters,
    nodeInfo: { frames: nodeInfo.frames, airtimeMs: Math.round(nodeInfo.airtimeMs) },
    downlink: { ...stats(downlinkMessages), refused },
    paths,
    outages,
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
