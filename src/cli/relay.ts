// `meshaid start --relay ...`: builds what the relay needs (the embedded broker's socket server,
// the mqtt.js client, keys, the trust list, the redaction rules) and hands them to src/relay.
import { readFileSync, unwatchFile, watchFile, type Stats } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { expandChannelKey, PortNum, type RadioSource, type ReceivedPacket } from "../radio/index.ts";
import { Downlink, isTopicLevel, MshUplink, parseRedaction, Relay, RedactionError, redactor, servedArea, type DownlinkOptions, type RelayState, type ServedArea } from "../relay/index.ts";
import type { Station } from "../station/index.ts";
import { ReplicaStore, type RecordDatabase, type RecordStore } from "../store/index.ts";
import { decodePayload, MESHAID_PORTNUM, parseYamlText, type Codebook, type FieldRecord, type SitePlan } from "../wire/index.ts";
import { defaultTrustFile, KeyError, readChannelKey, readStationKeys, readTrustList } from "./keys.ts";
import type { StartOptions } from "./main.ts";
import { PACKAGE_ROOT } from "./paths.ts";

export const DEFAULT_REDACTION_FILE = join(PACKAGE_ROOT, "firmware-config", "redaction.yaml");

/** How long a broker session outlives a disconnect (MQTT 5): a week of outage. */
const SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;

export interface RelayContext {
  options: StartOptions;
  /** Where relayed replies to handhelds heard here go on the air, and who was heard here. */
  downlink?: Pick<DownlinkOptions, "scheduler" | "heardHere" | "airtimeMs" | "stations">;
  dataDir: string;
  db: RecordDatabase;
  store: RecordStore;
  station: Station;
  site?: SitePlan;
  /** What the radio hears, for the Meshtastic-format uplink (--msh-uplink). */
  radio?: RadioSource;
  codebook?: Codebook;
  recordPort?: number;
  logger: Logger;
  say: (line: string) => void;
}

export interface RunningRelay {
  relay: Relay;
  state: () => RelayState;
  close: () => Promise<void>;
}

/** Starts the relay; a string is a one-line error for the user (nothing was started). */
export async function startRelay(context: RelayContext): Promise<RunningRelay | string> {
  const { options, dataDir, logger, say } = context;
  const name = options.name;
  const coalition = options.coalition ?? "default";
  if (!isTopicLevel(name)) return `--name "${name}": with --relay the station's name is its name in the coalition: letters, digits, . _ - (at most 64), e.g. --name north-base`;
  if (!isTopicLevel(coalition)) return `--coalition "${coalition}": letters, digits, . _ - (at most 64)`;
  let serves: ServedArea | undefined;
  if (options.serves !== undefined) {
    if (!context.site) return "--serves names landmarks of the site plan: give it with --site (e.g. --site firmware-config/site.yaml)";
    const within = Number(options.servesWithin ?? "150");
    if (!Number.isFinite(within) || within < 0) return `--serves-within "${options.servesWithin}": a distance in metres, 0 or more (e.g. 150)`;
    const area = servedArea(context.site, options.serves.split(","), within);
    if (typeof area === "string") return area;
    serves = area;
  }
  let keys: { secretKey: Uint8Array };
  let trust: Map<string, Uint8Array>;
  const trustFile = options.trust ?? defaultTrustFile(dataDir);
  let redact: ReturnType<typeof redactor>;
  const redactionFile = options.redaction ?? DEFAULT_REDACTION_FILE;
  try {
    keys = readStationKeys(dataDir);
    trust = readTrustList(trustFile);
    let text: string;
    try {
      text = readFileSync(redactionFile, "utf8");
    } catch (error) {
      return `cannot read the redaction rules ${redactionFile}: ${(error as Error).message}`;
    }
    let data: unknown;
    try {
      data = parseYamlText(text);
    } catch (error) {
      return `the redaction rules ${redactionFile}: ${(error as Error).message}`;
    }
    redact = redactor(parseRedaction(data, redactionFile), context.site);
  } catch (error) {
    if (error instanceof KeyError || error instanceof RedactionError) return error.message;
    throw error;
  }

  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer().catch((error: unknown) => logger.error({ err: error }, "relay shutdown"));
  };
  let url: string;
  let shown: string;
  const embedded = options.relay === "embedded";
  if (embedded) {
    const port = Number(options.relayPort ?? "1883");
    if (!Number.isInteger(port) || port < 0 || port > 65535) return `--relay-port ${options.relayPort}: a port number 0..65535`;
    const broker = await Aedes.createBroker();
    if (options.relayUser !== undefined) {
      const user = options.relayUser;
      const password = options.relayPassword ?? process.env["MESHAID_RELAY_PASSWORD"] ?? "";
      broker.authenticate = (_client, username, given, done) => done(null, username === user && Buffer.from(given ?? "").toString() === password);
    }
    const server: Server = createServer(broker.handle);
    const listening = await new Promise<number | string>((resolve) => {
      server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE" ? `--relay-port ${port} is in use: choose another port (--relay-port) or stop what listens there` : `the embedded broker cannot listen on port ${port}: ${error.message}`));
      server.listen(port, () => {
        const address = server.address();
        resolve(typeof address === "object" && address ? address.port : port);
      });
    });
    if (typeof listening === "string") {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      return listening;
    }
    closers.push(async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    url = `mqtt://127.0.0.1:${listening}`;
    shown = `embedded broker on port ${listening}`;
    say(`relay: embedded MQTT broker listening on port ${listening} (other stations: --relay mqtt://<this machine>:${listening} --coalition ${coalition})`);
  } else {
    const relayUrl = options.relay ?? "";
    if (!/^mqtts?:\/\//.test(relayUrl)) return `--relay "${relayUrl}": use embedded, mqtt://host:port or mqtts://host:port`;
    url = relayUrl;
    const parsed = new URL(relayUrl);
    shown = `${parsed.protocol}//${parsed.host}`; // without credentials
  }

  const base: IClientOptions = {
    clientId: `meshaid-${coalition}-${name}`,
    clean: false,
    manualConnect: true, // the relay connects once it can store what the session delivers
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
  };
  if (options.relayUser !== undefined) base.username = options.relayUser;
  const password = options.relayPassword ?? process.env["MESHAID_RELAY_PASSWORD"];
  if (password !== undefined) base.password = password;
  for (const [flag, file, key] of [["--relay-ca", options.relayCa, "ca"], ["--relay-cert", options.relayCert, "cert"], ["--relay-key", options.relayKey, "key"]] as const) {
    if (file === undefined) continue;
    try {
      base[key] = readFileSync(file);
    } catch (error) {
      await close();
      return `${flag} ${file}: ${(error as Error).message}`;
    }
  }
  // aedes speaks MQTT 3.1.1; another broker gets MQTT 5 first, and 3.1.1 if it refuses it.
  const client = embedded ? mqtt.connect(url, { ...base, protocolVersion: 4 }) : await connectPreferring5(url, base, logger);

  const replica = await ReplicaStore.open(context.db);
  const relay = new Relay({
    client,
    broker: shown,
    coalition,
    station: name,
    secretKey: keys.secretKey,
    trust,
    store: context.store,
    replica,
    accept: (records, from) => context.station.acceptRelayed(records, from),
    logger,
    redact,
    ...(context.downlink ? { downlink: new Downlink({ ...context.downlink, store: context.store, logger, ...(serves ? { serves } : {}) }) } : {}),
  });
  await relay.start();
  closers.push(() => relay.stop());
  // `meshaid trust add|remove` (or an editor) changes the list of the running station: polled,
  // because trust add replaces the file (a rename), which a watch on the old file misses.
  const reloadTrust = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    try {
      const list = readTrustList(trustFile);
      relay.setTrust(list);
      say(`relay: trust list ${trustFile} reloaded: ${list.size} trusted peer${list.size === 1 ? "" : "s"}`);
    } catch (error) {
      // A half-edited or broken file changes nothing: the list in force stays.
      logger.warn({ err: error, file: trustFile }, "trust list not reloaded; the previous list stays in force");
      say(`relay: ${(error as Error).message} (the previous trust list stays in force)`);
    }
  };
  watchFile(trustFile, { interval: 1000, persistent: false }, reloadTrust);
  closers.push(() => Promise.resolve(unwatchFile(trustFile, reloadTrust)));
  if (trust.size === 0) say(`relay: no trusted peers in ${trustFile}: this station publishes its log but accepts none (meshaid trust add NAME PUBKEY)`);
  say(`relay: ${shown}, coalition ${coalition}, as ${name}, ${trust.size} trusted peer${trust.size === 1 ? "" : "s"}`);
  if (options.mshUplink !== undefined) {
    const started = startMshUplink(context, client, redact);
    if (typeof started === "string") {
      await close();
      return started;
    }
    closers.push(() => Promise.resolve(started()));
  }
  if (serves) say(`relay: peers' requests and incidents at ${[...serves.landmarks].map((code) => context.site?.landmarks.find((landmark) => landmark.code === code)?.label ?? code).join(", ")} (and within ${serves.withinMetres} m) go on the air`);
  return { relay, state: () => relay.state(), close };
}

/**
 * Publishes what the radio hears in Meshtastic's MQTT format on the relay's broker (src/relay/msh-uplink.ts).
 * Returns what stops it, or a line for the user.
 */
function startMshUplink(context: RelayContext, client: MqttClient, redact: (record: FieldRecord) => FieldRecord | undefined): (() => void) | string {
  const { options, radio, codebook, store, station } = context;
  const region = options.mshUplink ?? "";
  const channel = options.mshChannel ?? "meshaid";
  if (!/^[A-Z0-9_]{2,16}$/.test(region)) return `--msh-uplink "${region}": a LoRa region as Meshtastic names it (US, EU_868, EU_433, ANZ, UK_868, ...)`;
  if (!isTopicLevel(channel)) return `--msh-channel "${channel}": the channel's name as on the radios (letters, digits, . _ -)`;
  if (!radio || !codebook) return "--msh-uplink needs the station's radio";
  let key: Uint8Array;
  try {
    key = readChannelKey(context.dataDir);
  } catch (error) {
    if (error instanceof KeyError) return `--msh-uplink: ${error.message}`;
    throw error;
  }
  const recordPort = context.recordPort ?? MESHAID_PORTNUM;
  // The records the station read from a packet, once it stored them: text is one record keyed by the packet id; a meshaid payload carries its own ids.
  const recordsOf = async (packet: ReceivedPacket): Promise<FieldRecord[]> => {
    await station.idle();
    const ids = packet.portnum === PortNum.TEXT_MESSAGE_APP ? [{ origin: packet.from, seq: packet.id }] : packet.portnum === recordPort ? (() => {
      const decoded = decodePayload(packet.payload, codebook, packet.from);
      return decoded.ok ? decoded.value.records.map((record) => record.id) : [];
    })() : [];
    const records = await Promise.all(ids.map((id) => store.get(id)));
    return records.filter((record): record is FieldRecord => record !== undefined);
  };
  const uplink = new MshUplink({
    client,
    region,
    channel: { name: channel, key: expandChannelKey(key) },
    encrypted: !options.mshDecoded,
    gateway: () => station.status().origin,
    recordsOf,
    redact,
    logger: context.logger,
  });
  const log = context.logger.child({ module: "msh-uplink" });
  context.say(`relay: also publishing what the radio hears in Meshtastic's format on msh/${region}/2/e/${channel}/!<node> (${options.mshDecoded ? "decoded" : "encrypted with the channel key"}; only packets whose sender allows MQTT and that redaction leaves whole)`);
  return radio.subscribe((event) => {
    if (event.type === "packet") uplink.offer(event.packet).catch((error: unknown) => log.warn({ err: error }, "a heard packet was not published in Meshtastic's format"));
  });
}

/**
 * The client, MQTT 5 unless the broker refuses it. The probe is a separate, clean session (its
 * own client id): connecting the station's persistent session before the relay is ready would let
 * mqtt.js acknowledge queued messages nobody stored.
 */
async function connectPreferring5(url: string, base: IClientOptions, logger: Logger): Promise<MqttClient> {
  const probe = mqtt.connect(url, { ...base, manualConnect: false, clean: true, clientId: `${base.clientId ?? "meshaid"}-probe`, reconnectPeriod: 0, protocolVersion: 5 });
  const outcome = await new Promise<"connected" | "refused" | "unknown">((resolve) => {
    const timer = setTimeout(() => resolve("unknown"), 5000);
    probe.once("connect", () => {
      clearTimeout(timer);
      resolve("connected");
    });
    probe.once("error", (error: Error & { code?: number }) => {
      clearTimeout(timer);
      // 1: unacceptable protocol version (3.1.1); 132: unsupported protocol version (5).
      resolve(error.code === 1 || error.code === 132 || /protocol/i.test(error.message) ? "refused" : "unknown");
    });
  });
  await probe.endAsync(true);
  if (outcome === "refused") {
    logger.info({ url: base.clientId }, "the broker refused MQTT 5; using MQTT 3.1.1");
    return mqtt.connect(url, { ...base, protocolVersion: 4 });
  }
  // Connected, or not reachable now (MQTT 5 is tried as the link comes back).
  return mqtt.connect(url, { ...base, protocolVersion: 5, properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS } });
}
