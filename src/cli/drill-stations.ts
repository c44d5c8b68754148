// Base stations for drills: meshaid's real Station on a throwaway LevelDB per base, connected to
// its simulated radio over an in-process USB port (`meshaid drill` without --radio-only). Loaded
// only when a drill runs the stations: LevelDB and the station are the heavy imports.
//
// Each station runs as `meshaid start` composes it (transmit scheduler with its pacing and duty-cycle
// budget, sends and peers logs, delivery retries, held ACKs and gap repair), its timers on the
// drill's virtual clock. Stations act for the scenario's operators (Station.act: the status record
// to the other bases, the reply to the handheld) through that scheduler, and with `relay: true` they
// replicate through an in-process aedes broker (the `--relay embedded` broker), each over an
// in-memory stream that a scenario's internet_lost fault cuts.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Aedes } from "aedes";
import { Level } from "level";
import { MqttClient } from "mqtt";
import pino from "pino";
import { RadioConnection } from "../radio/index.ts";
import { Relay, signingKeyPair } from "../relay/index.ts";
import { duplexPair, loraAirtimeMs, presetParams, type DrillActOutcome, type DrillStation, type DrillStationFactory } from "../sim/index.ts";
import { Station, TransmitScheduler } from "../station/index.ts";
import { AuditTrail, PeerLog, RecordStore, ReplicaStore, RosterStore, SendLog, type AppendResult } from "../store/index.ts";
import { DrillStationError, type FieldConfig } from "./drill.ts";

/** How long (real time) a station may take to catch up or settle its relay before the drill goes on without it. */
const RELAY_SETTLE_MS = 10_000;

export interface DrillStationsOptions {
  /** The stations replicate through an in-process broker. */
  relay?: boolean;
  /** The scenario's modem preset (the scheduler's time on air). */
  preset?: string;
}

/** One station's relay in the drill: its client, whether its link is cut, and its state. */
interface RelayMember {
  name: string;
  relay: Relay;
  replica: ReplicaStore;
  client: MqttClient;
  cut: boolean;
}

/**
 * Base stations for a drill: meshaid's Station on a LevelDB in a temporary folder per base (kept
 * across a restart, removed by `remove()`), its RadioConnection reconnecting quickly (the drill's
 * clock waits for it), logs discarded. The station's own timers (the scheduler's pacing, delivery
 * retries, held ACKs, gap repair) run on the drill's virtual clock.
 */
export function drillStations(config: FieldConfig, options: DrillStationsOptions = {}): { factory: DrillStationFactory; root: string; remove(): Promise<void> } {
  // Throwaway databases: in memory-backed /dev/shm where there is one (synced writes cost nothing there).
  const root = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "meshaid-drill-"));
  const logger = pino({ level: "silent" });
  const lora = presetParams(options.preset ?? "LONG_FAST");
  const trust = new Map<string, Uint8Array>();
  const keys = new Map<string, { secretKey: Uint8Array; publicKey: Uint8Array }>();
  const members = new Map<string, RelayMember>();
  let broker: Aedes | undefined;

  /**
   * Whether a station's relay has handed over and taken in everything its reachable peers hold:
   * read from the replicas themselves (what each relay last heard of the others can be stale
   * right after a reconnect).
   */
  const relayIdle = (member: RelayMember): boolean => {
    if (member.cut) return true;
    if (member.relay.state().link !== "up" || member.replica.acked < member.replica.head) return false;
    for (const other of members.values()) {
      if (other === member || other.cut) continue;
      if (member.replica.held(other.name) < other.replica.head || other.replica.held(member.name) < member.replica.head) return false;
    }
    return true;
  };

  const startRelay = async (name: string, db: Level<string, Uint8Array>, store: RecordStore, station: Station): Promise<RelayMember> => {
    broker ??= await Aedes.createBroker();
    const own = keys.get(name) ?? signingKeyPair();
    keys.set(name, own);
    trust.set(name, own.publicKey);
    const member: Partial<RelayMember> & { cut: boolean } = { name, cut: false };
    // An in-memory connection to the broker; while the link is cut every attempt fails at once, as a refused TCP connection would.
    const connect = () => {
      const [clientEnd, brokerEnd] = duplexPair();
      if (member.cut) {
        setImmediate(() => clientEnd.destroy(new Error("drill: internet link lost")));
        return clientEnd;
      }
      broker?.handle(brokerEnd);
      return clientEnd;
    };
    const client = new MqttClient(connect, { clientId: `meshaid-drill-${name}`, clean: false, manualConnect: true, reconnectPeriod: 20, connectTimeout: 5_000, keepalive: 0, protocolVersion: 4 });
    client.on("error", () => undefined); // the relay logs link errors itself
    const replica = await ReplicaStore.open(db);
    const relay = new Relay({
      client,
      broker: "drill broker (in process)",
      coalition: "drill",
      station: name,
      secretKey: own.secretKey,
      trust,
      store,
      replica,
      accept: (records, from) => station.acceptRelayed(records, from),
      logger,
      stallMs: 200,
    });
    Object.assign(member, { relay, client, replica });
    members.set(name, member as RelayMember);
    await relay.start();
    return member as RelayMember;
  };

  const waitFor = async (condition: () => boolean, limitMs: number): Promise<boolean> => {
    const deadline = performance.now() + limitMs;
    while (!condition()) {
      if (performance.now() > deadline) return false;
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
    return true;
  };

  const factory: DrillStationFactory = async (base, port, stored) => {
    const path = join(root, base.id);
    const db = new Level<string, Uint8Array>(path, { valueEncoding: "view" });
    let store: RecordStore;
    try {
      store = await RecordStore.open(db, config.codebook);
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new DrillStationError(`cannot open the drill database of base ${base.id} in ${path}: ${cause} (is the temporary folder full? try --radio-only)`);
    }
    // What the station handed to the store and is not on disk yet, so the drill can wait for it;
    // and which records arrived from a peer over the relay.
    const inFlight = new Set<Promise<unknown>>();
    const viaInternet = new Set<string>();
    /**
     * Every call that returns a promise is waited for too (a resend reads the log, a send is kept
     * in the sends log): the virtual clock must not move on while a station is still working on
     * what the last step set off, or the drill would depend on how fast the disk is.
     */
    const waited = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(object, property) {
          const value = Reflect.get(object, property, object) as unknown;
          if (typeof value !== "function") return value;
          return (...args: unknown[]): unknown => {
            const result = (value as (...a: unknown[]) => unknown).apply(object, args);
            if (result instanceof Promise) {
              const settled: Promise<void> = result.then(
                () => void inFlight.delete(settled),
                () => void inFlight.delete(settled),
              );
              inFlight.add(settled);
            }
            return result;
          };
        },
      });
    const reads = waited(store);
    const tracked = new Proxy(store, {
      get(target, property, receiver) {
        if (property === "appendMany") {
          // Records from a peer over the relay come in batches.
          return (...args: Parameters<RecordStore["appendMany"]>) => {
            const appended = target.appendMany(...args);
            const settled = appended.then(() => undefined, () => undefined);
            inFlight.add(settled);
            const [records, appendOptions] = args;
            const done = (results?: Array<AppendResult | Error>): void => {
              inFlight.delete(settled);
              results?.forEach((result, index) => {
                const record = records[index];
                if (record && !(result instanceof Error) && result.stored && appendOptions?.via !== undefined) viaInternet.add(`${record.id.origin}:${record.id.seq}`);
              });
            };
            appended.then(done, () => done());
            return appended;
          };
        }
        if (property === "get") return (id: Parameters<RecordStore["get"]>[0]) => reads.get(id); // a resend reads the log
        if (property !== "append") return Reflect.get(target, property, receiver) as unknown;
        return (...args: Parameters<RecordStore["append"]>) => {
          const appended = target.append(...args);
          inFlight.add(appended);
          const [record, appendOptions] = args;
          const done = (result?: AppendResult): void => {
            inFlight.delete(appended);
            if (result?.stored === true && appendOptions?.via !== undefined) viaInternet.add(`${record.id.origin}:${record.id.seq}`);
          };
          appended.then(done, () => done());
          return appended;
        };
      },
    });
    // The send queue paces texts on the drill's clock (the radio takes one per 2 s of simulated time).
    const radio = new RadioConnection({ open: () => port.open(), logger, initialBackoffMs: 5, maxBackoffMs: 50, sending: { now: base.now } });
    const roster = await RosterStore.open(db, { now: base.now });
    const unsubscribeRoster = radio.subscribe((event) => void roster.apply(event).catch(() => undefined));
    // What waits in the radio's queue for the drill's clock to move (its transmit queue full, the
    // text rate limit) is not waited for: only the clock moving empties it.
    const radioTakes = (): boolean => radio.queued > 0 && radio.status === "connected" && !radio.queueWaitsForTime;
    const audit = await AuditTrail.open(db);
    // The scheduler as `meshaid start` builds it, on the drill's clock: what waits for its pacing
    // waits for a virtual timer; what it is handing to the radio is waited for.
    const sending = new Set<Promise<string>>();
    const sender = {
      send(request: Parameters<RadioConnection["send"]>[0]): Promise<string> {
        const sent = radio.send(request);
        const settledSend = sent.finally(() => sending.delete(settledSend)).catch(() => "");
        sending.add(settledSend);
        return sent;
      },
    };
    const scheduler = new TransmitScheduler({ sender, now: base.now, timers: base.timers, airtimeMs: (bytes) => loraAirtimeMs(bytes + 16, lora) });
    const sends = waited(await SendLog.open(db));
    const peers = waited(await PeerLog.open(db));
    const station = new Station({
      name: base.id,
      radio,
      store: tracked,
      presets: config.presets,
      codebook: config.codebook,
      site: config.site,
      logger,
      origin: base.num,
      now: base.now,
      roster,
      ...(config.rights ? { rights: config.rights } : {}),
      audit,
      scheduler,
      sends,
      peers,
      timers: base.timers,
    });
    const unsubscribe = station.subscribe((event) => {
      if (event.type !== "record") return;
      const { id, body } = event.record;
      stored(id.origin, id.seq, { kind: body.kind, via: viaInternet.has(`${id.origin}:${id.seq}`) ? "internet" : "air" });
    });
    await station.start();
    await radio.start();
    const member = options.relay === true ? await startRelay(base.id, db, tracked, station) : undefined;
    let stopped = false;
    const handle: DrillStation = {
      get connected() {
        return radio.status === "connected";
      },
      async settled() {
        for (;;) {
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          await station.idle(); // shown (and so reported) in the order heard
          if (sending.size > 0 || radioTakes()) {
            await new Promise<void>((resolve) => setTimeout(resolve, 1));
            continue;
          }
          if (member) await member.replica.absorb(tracked); // what was just stored is numbered into its log
          if (member && !relayIdle(member) && (await waitFor(() => relayIdle(member) || inFlight.size > 0, RELAY_SETTLE_MS)) && inFlight.size > 0) continue;
          if (inFlight.size === 0 && sending.size === 0 && !radioTakes()) return;
        }
      },
      async act(verb, target, actor, etaMin): Promise<DrillActOutcome> {
        const outcome = await station.act({ verb, actor, target, ...(verb === "dispatch" ? { etaMin } : {}) });
        if (!outcome.ok) return { refused: outcome.reason };
        return outcome.record ? { record: outcome.record } : { refused: "the action wrote no record" };
      },
      async internet(up) {
        if (!member) return undefined;
        if (!up) {
          member.cut = true;
          member.client.stream.destroy();
          return undefined;
        }
        const before = viaInternet.size;
        const started = performance.now();
        member.cut = false;
        member.client.reconnect();
        await member.replica.absorb(tracked);
        await waitFor(() => relayIdle(member) && inFlight.size === 0, RELAY_SETTLE_MS);
        return { records: viaInternet.size - before, wallMs: performance.now() - started };
      },
      rosterSize: () => roster.list().length,
      async kill() {
        if (stopped) return;
        stopped = true;
        unsubscribe();
        unsubscribeRoster();
        if (member) {
          members.delete(base.id);
          await member.relay.stop();
        }
        scheduler.close();
        await station.stop();
        await radio.close();
        await Promise.allSettled([...inFlight]);
        await store.close();
      },
    };
    return handle;
  };
  const remove = async (): Promise<void> => {
    if (broker) await new Promise<void>((resolve) => broker?.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  };
  return { factory, root, remove };
}
