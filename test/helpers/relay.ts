// Stations with relays for the relay tests: a real LevelDB store, a real Station (radio played
// by ScriptedRadio), a real mqtt.js client and a real broker (aedes in process here; the system
// tests start Mosquitto).
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { Aedes } from "aedes";
import { Level } from "level";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import pino, { type Logger } from "pino";
import { afterEach } from "vitest";
import { generateKeys, trustAdd } from "../../src/cli/keys.ts";
import { openEnvelope, Relay, signingKeyPair, type RelayOptions, type VectorBody } from "../../src/relay/index.ts";
import { Station, type StationOptions } from "../../src/station/index.ts";
import { RecordStore, ReplicaStore } from "../../src/store/index.ts";
import type { FieldRecord } from "../../src/wire/index.ts";
import { ScriptedRadio } from "./radio.ts";
import { codebook, presets } from "./records.ts";

export interface EmbeddedBroker {
  url: string;
  port: number;
  close: () => Promise<void>;
}

/** An aedes broker on a free loopback port (MQTT 3.1.1). */
export async function startAedes(port = 0): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    port: bound,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Keys {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function keysFor(names: string[]): Map<string, Keys> {
  return new Map(names.map((name) => [name, signingKeyPair()]));
}

export interface RelayRig {
  name: string;
  station: Station;
  radio: ScriptedRadio;
  store: RecordStore;
  replica: ReplicaStore;
  relay: Relay;
  client: MqttClient;
  /** Stops the relay and the station and closes the database. */
  stop: () => Promise<void>;
}

export interface RigOptions {
  name: string;
  dir: string;
  url: string;
  keys: Map<string, Keys>;
  coalition?: string;
  /** Trust these stations (default: every one in `keys`). */
  trusted?: string[];
  protocolVersion?: 4 | 5;
  logger?: Logger;
  relay?: Partial<RelayOptions>;
  /** mqtt.js options over the defaults (keepalive, timeouts). */
  client?: Partial<IClientOptions>;
  /** Station options over the defaults (a transmit scheduler, a site plan). */
  station?: Partial<StationOptions>;
}

/** Opens (or reopens) a station with its relay on `dir`, connecting to `url`. */
export async function startRig(options: RigOptions): Promise<RelayRig> {
  const logger = options.logger ?? pino({ level: "silent" });
  const db = new Level<string, Uint8Array>(join(options.dir, options.name), { valueEncoding: "view" });
  const store = await RecordStore.open(db, codebook);
  const replica = await ReplicaStore.open(db);
  const radio = new ScriptedRadio();
  const station = new Station({ name: options.name, radio, store, presets, codebook, logger, ...options.station });
  await station.start();
  const keys = options.keys.get(options.name);
  if (!keys) throw new Error(`no keys for ${options.name}`);
  const coalition = options.coalition ?? "test";
  const client = mqtt.connect(options.url, {
    clientId: `meshaid-${coalition}-${options.name}`,
    clean: false,
    manualConnect: true,
    protocolVersion: options.protocolVersion ?? 4,
    ...(options.protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    reconnectPeriod: 100,
    connectTimeout: 5000,
    ...options.client,
  });
  const trust = new Map([...options.keys].filter(([name]) => (options.trusted ?? [...options.keys.keys()]).includes(name)).map(([name, k]) => [name, k.publicKey]));
  const relay = new Relay({
    client,
    broker: options.url,
    coalition,
    station: options.name,
    secretKey: keys.secretKey,
    trust,
    store,
    replica,
    accept: (records: FieldRecord[], from: string) => station.acceptRelayed(records, from),
    logger,
    stallMs: 300,
    ...options.relay,
  });
  await relay.start();
  return {
    name: options.name,
    station,
    radio,
    store,
    replica,
    relay,
    client,
    stop: async () => {
      await relay.stop();
      await station.stop();
      await store.close();
    },
  };
}

/** Every record id in a store, as "origin!seq" keys, with how many times each is stored. */
export async function idsIn(store: RecordStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of store.all()) for (const record of page) ids.push(`${record.id.origin}!${record.id.seq}`);
  return ids;
}

/** Stations as `meshaid start` sees them: a data folder each with its keys, every one trusting every other. */
export interface StationDirs {
  dirOf: (name: string) => string;
  /** Base64 public keys, as `meshaid keygen` prints them. */
  publicKeys: Map<string, string>;
  /** The same keys as bytes, for openEnvelope. */
  keyBytes: Map<string, Uint8Array>;
}

export function stationDirs(root: string, names: string[]): StationDirs {
  const publicKeys = new Map(names.map((name) => [name, generateKeys(join(root, name)).publicKey]));
  for (const name of names) for (const peer of names) if (peer !== name) trustAdd(join(root, name, "trust.yaml"), peer, publicKeys.get(peer) as string);
  return {
    dirOf: (name) => join(root, name),
    publicKeys,
    keyBytes: new Map([...publicKeys].map(([name, key]) => [name, new Uint8Array(Buffer.from(key, "base64"))])),
  };
}

/** The signed, retained version vectors an outside MQTT client sees: station -> what it holds of each log. */
export async function watchVectors(url: string, coalition: string, keyBytes: Map<string, Uint8Array>, options: IClientOptions = {}): Promise<{ held: Map<string, VectorBody>; close: () => Promise<void> }> {
  const held = new Map<string, VectorBody>();
  const watcher = await mqtt.connectAsync(url, { protocolVersion: 4, ...options });
  watcher.on("message", (_topic, payload) => {
    const opened = openEnvelope(payload, (station) => keyBytes.get(station));
    if (opened.ok && opened.envelope.kind === "vector") held.set(opened.envelope.station, opened.envelope.body);
  });
  await watcher.subscribeAsync(`meshaid/${coalition}/vector/+`, { qos: 1 });
  return { held, close: () => watcher.endAsync() };
}

/**
 * Brokers and stations for each test of the calling file, stopped after it (like `useTempDir`):
 * `broker()` starts an aedes broker, `rig()` a station with its relay; `track()` takes a rig
 * started otherwise. Stations stop first (in reverse order), then brokers.
 */
export function useRelayRigs(): {
  broker: (port?: number) => Promise<EmbeddedBroker>;
  rig: (options: RigOptions) => Promise<RelayRig>;
  track: (rig: RelayRig) => RelayRig;
} {
  let brokers: EmbeddedBroker[] = [];
  let rigs: RelayRig[] = [];
  afterEach(async () => {
    for (const rig of rigs.reverse()) await rig.stop().catch(() => undefined);
    rigs = [];
    for (const broker of brokers) await broker.close().catch(() => undefined);
    brokers = [];
  });
  const track = (rig: RelayRig): RelayRig => {
    // A rig stopped by the test itself (an outage) is not stopped again.
    const stop = rig.stop;
    let stopped: Promise<void> | undefined;
    rig.stop = () => (stopped ??= stop());
    rigs.push(rig);
    return rig;
  };
  return {
    broker: async (port?: number) => {
      const started = await startAedes(port);
      // A broker closed by the test itself (a restart) is not closed again.
      let closed: Promise<void> | undefined;
      const close = started.close;
      started.close = () => (closed ??= close());
      brokers.push(started);
      return started;
    },
    rig: async (options) => track(await startRig(options)),
    track,
  };
}
