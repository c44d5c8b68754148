// `meshaid start`: the composition root. The only place that builds real ports, databases,
// sockets, clocks and terminals; everything else receives them.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pino, { type Logger } from "pino";
import { checkRecordPort, connectTcpTransport, findRadioPort, openSerialTransport, RadioConnection, RadioError, type Transport } from "../radio/index.ts";
import { airtimeMs, createDemoMesh, MODEM_PRESETS, serveTcp } from "../sim/index.ts";
import { DecisionRightsError, parseDecisionRights, Station, TransmitScheduler, type RecordView } from "../station/index.ts";
import { AuditTrail, dueAt, expired, isCorruption, LevelOutbox, parseRetention, PeerLog, RecordStore, recordKey, recordsOwedToPeers, pruneForwardCopies, RosterStore, SendLog, StoreEncryptedError, WatchLog, StoreWriteError, type RecordCipher, type RecordDatabase, type RetentionLimits } from "../store/index.ts";
import { coalitionAuthKey, labelOf, parsePresetTable, presetsForRole, WireError, type Codebook, type CodebookCategory, type FieldRecord, type PresetTable, type RecordBody } from "../wire/index.ts";
import type { StartOptions } from "./main.ts";
import type { RelayState } from "../relay/index.ts";
import type { RelayStatus } from "../ui/index.ts";
import { DEFAULT_PRESETS_FILE, defaultDataDir, PACKAGE_ROOT } from "./paths.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, readCodebook, readSitePlan } from "./field-config.ts";
import { DatabaseError, markCleanStop, openDatabase } from "./database.ts";
import { KeyError, readCoalitionSecret } from "./key-files.ts";
import { askHidden, storeCipher } from "./store-key.ts";
import { ControlSocketError, listenControl } from "./control.ts";

/** Everything start built, closed in reverse order on the way out. */
type Cleanup = () => Promise<void> | void;

export async function runStart(options: StartOptions): Promise<number> {
  const dataDir = resolve(options.db ?? defaultDataDir());
  const logFile = join(dataDir, "meshaid.log");
  const cleanups: Cleanup[] = [];
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const fail = (line: string): number => {
    process.stderr.write(`meshaid: ${line}\n`);
    return 1;
  };

  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    return fail(`cannot create the data folder ${dataDir}: ${(error as Error).message}`);
  }
  const unwritable = writeProblem(dataDir);
  if (unwritable) return fail(unwritable);
  // --no-ui (alias --headless): a service; the log is JSON lines on stdout, records included.
  const jsonLines = options.ui === false || options.headless === true;
  const destination = jsonLines ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: logFile, sync: false, mkdir: true });
  // A log that cannot be written (the disk filled up) must not stop the station: say so once.
  let logFailed = false;
  destination.on("error", (error: Error) => {
    if (!logFailed) process.stderr.write(`meshaid: cannot write the log ${jsonLines ? "to stdout" : logFile}: ${error.message}\n`);
    logFailed = true;
  });
  const logger = pino({ level: process.env["MESHAID_LOG_LEVEL"] ?? "info" }, destination);
  cleanups.push(() => destination.flushSync());
  if (jsonLines) logger.info({ dataDir }, `meshaid: data in ${dataDir}`);
  else say(`meshaid: data in ${dataDir} (log: ${logFile})`);

  // A database LevelDB reports damaged while the station starts or runs is not marked clean at the
  // stop: the next start reads it, and repairs it (database.ts).
  let damaged = false;
  const shutdown = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.error({ err: error }, "error while shutting down");
      }
    }
    cleanups.length = 0;
  };

  try {
    const presetsFile = options.presets ?? DEFAULT_PRESETS_FILE;
    const recordPort = options.recordPort === undefined ? undefined : checkRecordPort(options.recordPort);
    const codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
    const site = options.site === undefined ? undefined : readSitePlan(options.site);
    if (options.language !== undefined && !codebook.languages.includes(options.language)) {
      throw new StartError(`the codebook has no labels in "${options.language}"; it has: ${codebook.languages.join(", ")}`);
    }
    const presets = readPresets(presetsFile, codebook);
    const rightsFile = options.rights ?? join(PACKAGE_ROOT, "firmware-config", "decision-rights.yaml");
    const rights = parseDecisionRights(readConfig(rightsFile, "decision rights"), codebook);

    const dbPath = join(dataDir, "db");
    const cipher = await storeCipher(dataDir, { ...(options.encrypt ? { encrypt: true } : {}), ...(options.keyFile ? { keyFile: options.keyFile } : {}) }, { env: process.env, ...(process.stdin.isTTY ? { ask: askHidden(process.stdin, process.stderr) } : {}) }, existsSync(join(dbPath, "CURRENT")));
    if (cipher) say("meshaid: records are stored encrypted (AES-256-GCM; key from the passphrase)");
    const { store, db } = await openStore(dbPath, codebook, logger, say, cipher);
    cleanups.push(() => (damaged ? undefined : markCleanStop(db, dbPath)));
    cleanups.push(() => store.close());
    const retention = retentionPurges(store, options.retention ?? join(PACKAGE_ROOT, "firmware-config", "retention.yaml"), logger.child({ module: "store" }), db, () => (damaged = true));
    cleanups.push(retention.stop);

    // The radio connection reopens the port (or socket) and re-handshakes after every fault.
    const radioLog = logger.child({ module: "radio" });
    // With --encrypt every value that may name someone (roster, audit, outbox, sends) is sealed too.
    const sealed = cipher ? { cipher } : {};
    const outbox = new LevelOutbox(db, (key, reason) => radioLog.error({ key, reason }, "outbox entry kept on disk but not sent"), sealed);
    const radio = new RadioConnection({ open: await radioOpener(options, presets, logger, cleanups), logger: radioLog, outbox, ...(recordPort ? { sending: { recordPort } } : {}) });
    cleanups.push(() => radio.close());
    const roster = await RosterStore.open(db, sealed);
    radio.subscribe((event) => void roster.apply(event).catch((error: unknown) => radioLog.error({ err: error }, "roster update failed")));

    const audit = await AuditTrail.open(db, sealed);
    const scheduler = new TransmitScheduler({
      sender: radio,
      airtimeMs: (bytes) => airtimeMs(bytes + 16),
      onError: (error, item) => radioLog.error({ err: error, priority: item.priority }, "send refused by the radio link; dropped"),
    });
    cleanups.push(() => scheduler.close());
    const sends = await SendLog.open(db, sealed);
    const peers = await PeerLog.open(db);
    const watchLog = await WatchLog.open(db, sealed);
    const coalition = readCoalitionSecret(dataDir);
    const auth = coalition ? coalitionAuthKey(coalition.secret) : undefined;
    if (coalition && auth) logger.info({ file: coalition.file, key: auth.fingerprint }, "base-station records are authenticated with the coalition key");
    const station = new Station({ name: options.name, radio, store, roster, rights, audit, scheduler, sends, peers, watchLog, presets, codebook, ...(site ? { site } : {}), ...(recordPort ? { recordPort } : {}), ...(auth ? { auth } : {}), logger });
    await station.start();
    cleanups.push(() => station.stop());
    // `meshaid status`, `send` and `console` reach the station through its control socket.
    // The relay starts after the socket; `meshaid status` shows it from then on.
    let relayReport: (() => RelayState) | undefined;
    const control = await listenControl(dataDir, station, { logger, transmit: () => scheduler.state(), relay: () => relayReport?.() });
    cleanups.push(() => control.close());
    await radio.start(); // a port that cannot be opened now is reported now; later faults are retried
    retention.begin(station);
    let relayStatus: (() => RelayStatus) | undefined;
    if (options.serves !== undefined && options.relay === undefined) throw new StartError("--serves says which peers' records go on the air here: it needs --relay (embedded or a broker URL)");
    if (options.mshUplink !== undefined && options.relay === undefined) throw new StartError("--msh-uplink publishes on the relay's broker: it needs --relay (embedded or a broker URL)");
    if (options.relay !== undefined) {
      // The internet relay (issue 8): its broker, client, keys and trust list are built in cli/relay.ts.
      // Status changes for base stations here go on the air as this station's own records (Station.send).
      const stations = { codebook, send: (body: RecordBody) => station.send({ bodies: [body], stations: true, sender: "RELAY" }).then((outcome) => outcome.ok), sendAsIs: (record: FieldRecord) => station.sendAsIs(record) };
      const downlink = { scheduler, heardHere: (node: number) => roster.get(node) !== undefined, airtimeMs: (bytes: number) => airtimeMs(bytes + 16), stations };
      const relay = await (await import("./relay.ts")).startRelay({ options, dataDir, db, store, station, downlink, ...(site ? { site } : {}), radio, codebook, ...(recordPort ? { recordPort } : {}), logger, say });
      if (typeof relay === "string") throw new StartError(relay);
      cleanups.push(relay.close);
      relayStatus = () => consoleRelayStatus(relay.state());
      relayReport = relay.state;
    }

    if (jsonLines || !process.stdin.isTTY) {
      await runHeadless(station, say, jsonLines ? logger : undefined);
    } else {
      // The console (Ink, React, yoga) is the heaviest import: load it only when it is shown.
      const { renderConsole } = await import("../ui/index.ts");
      const { consoleActions } = await import("./console-actions.ts");
      await new Promise<void>((resolveQuit) => {
        // Items and incidents show as the codebook's labels, starting in --language; `l` switches.
        const first = options.language ?? "en";
        const languages = [first, ...codebook.languages.filter((code) => code !== first)];
        const labelsFor = (language: string) => (category: CodebookCategory, name: string) => labelOf(codebook, category, name, language);
        const compose = { codebook, presets: presets.presets.map(({ text, body }) => ({ text, body })), airtimeMs: (bytes: number) => airtimeMs(bytes, MODEM_PRESETS.LONG_FAST) };
        const onExport = async () => (await import("./export.ts")).writeReport(store, dataDir, { codebook, name: options.name, trail: audit, ...(site ? { site } : {}), ...(options.language ? { language: options.language } : {}) });
        const actions = consoleActions(station, { callsign: options.operator ?? "BASE", role: options.role ?? "coordinator" });
        const ui = renderConsole(station, { onQuit: () => resolveQuit(), console: { languages, labelsFor, compose, onExport, ...actions, transmit: () => scheduler.state(), ...(relayStatus ? { relay: relayStatus } : {}) } });
        cleanups.push(() => ui.unmount());
      });
    }
    await shutdown();
    return 0;
  } catch (error) {
    // (openDatabase's own errors already say what was found and done.)
    const damage = !(error instanceof DatabaseError) && isCorruption(error);
    if (damage) {
      damaged = true;
      logger.error({ err: error }, "LevelDB reports damage: the store is not marked clean, the next start checks and repairs it");
    }
    await shutdown();
    if (damage) return fail(`the database ${join(dataDir, "db")} is damaged (${(error as Error).message}): start meshaid again: it checks the database and repairs it, keeping a copy of the damaged folder`);
    if (error instanceof RadioError || error instanceof WireError || error instanceof StartError || error instanceof ConfigFileError || error instanceof DecisionRightsError || error instanceof DatabaseError || error instanceof StoreWriteError || error instanceof StoreEncryptedError || error instanceof KeyError || error instanceof ControlSocketError) return fail(error.message);
    logger.fatal({ err: error }, "start failed");
    destination.flushSync();
    return fail(`start failed: ${(error as Error).message} (details in ${logFile})`);
  }
}

class StartError extends Error {}

/** The relay's state as the console's header shows it: the link, peers heard, records not yet acknowledged. */
export function consoleRelayStatus(state: RelayState): RelayStatus {
  const lastSyncAt = Math.max(0, ...state.peers.map((peer) => peer.lastSeenAt ?? 0));
  return {
    link: state.link,
    peers: state.peers.length,
    pending: state.outboxPending,
    behind: state.peers.map((peer) => ({ station: peer.station, records: peer.behind })),
    ...(lastSyncAt > 0 ? { lastSyncAt } : {}),
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
  };
}

/** How often records past their kind's retention limit are purged while the station runs. */
const PURGE_EVERY_MS = 3_600_000;
/** The first purge waits for the radio to connect, or this long when it does not. */
const FIRST_PURGE_WITHIN_MS = 10_000;

/**
 * Purges records past their retention limits (the file is read now: a mistake in it stops the
 * start) once the station is up and every hour after; logs counts only. The first purge reads
 * every record, so it runs once the station's radio is connected (or FIRST_PURGE_WITHIN_MS after
 * `begin`), not on the way to it: start-up does not wait for it, and appends do not wait while it
 * reads. `stop` ends the timers and waits for a purge under way.
 */
function retentionPurges(store: RecordStore, file: string, log: Logger, db: RecordDatabase, onDamage: () => void): { begin: (station: Station) => void; stop: Cleanup } {
  let limits: RetentionLimits;
  try {
    limits = parseRetention(readConfig(file, "retention limits"), file);
  } catch (error) {
    throw new StartError((error as Error).message);
  }
  const purge = async (): Promise<void> => {
    // What a relay peer still lacks stays until it has it (the relay's outbox per peer).
    const owed = await recordsOwedToPeers(db);
    const now = Date.now();
    // The store reads only what it stored since the last purge while nothing it read then can have fallen due.
    const purged = await store.purge((record) => expired(limits, record, now) && !owed.has(recordKey(record.id)), { rules: JSON.stringify(limits), now, dueAt: (record) => dueAt(limits, record) });
    if (purged > 0) log.info({ purged, left: store.count }, "records past their retention limit purged");
    // Copies of peers' batches kept to forward go after the shortest limit (they mix kinds).
    const shortest = Math.min(...Object.values(limits));
    if (Number.isFinite(shortest)) {
      const copies = await pruneForwardCopies(db, Date.now() - shortest);
      if (copies > 0) log.info({ copies }, "copies of peers' batches past the shortest retention limit purged");
    }
  };
  let running: Promise<void> | undefined;
  const run = (): void => {
    running ??= purge()
      .catch((error: unknown) => {
        if (isCorruption(error)) onDamage();
        log.error({ err: error }, "retention purge failed");
      })
      .finally(() => (running = undefined));
  };
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: (() => void) | undefined;
  const begin = (station: Station): void => {
    const first = setTimeout(() => purgeFirst(), FIRST_PURGE_WITHIN_MS).unref();
    const purgeFirst = (): void => {
      unsubscribe?.();
      clearTimeout(first);
      run();
    };
    timers.push(first, setInterval(run, PURGE_EVERY_MS).unref());
    if (station.snapshot().radio.status === "connected") return purgeFirst();
    unsubscribe = station.subscribe((event) => {
      if (event.type === "radio" && event.radio.status === "connected") purgeFirst();
    });
  };
  const stop = async (): Promise<void> => {
    unsubscribe?.();
    for (const timer of timers) clearTimeout(timer);
    await running;
  };
  return { begin, stop };
}

/**
 * Why nothing can be written in the data folder (read-only, full), or undefined. A real write,
 * not a permission check: root passes every permission check, not a read-only mount or a full disk.
 */
function writeProblem(dataDir: string): string | undefined {
  const probe = join(dataDir, `.write-check-${process.pid}`);
  try {
    writeFileSync(probe, "meshaid checks that it can write here\n", { flush: true });
    rmSync(probe);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === "EROFS" ? "it is on a read-only file system" : code === "ENOSPC" ? "the disk is full" : code === "EACCES" || code === "EPERM" ? "permission denied" : (error as Error).message;
    return `cannot write in the data folder ${dataDir} (${hint}): make it writable, free some space, or choose another folder with --db`;
  }
}

function readConfig(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new StartError(`cannot read the ${what} ${file}: ${(error as Error).message}`);
  }
}

function readPresets(file: string, codebook: Codebook): PresetTable {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new StartError(`cannot read the preset table ${file}: ${(error as Error).message}`);
  }
  return parsePresetTable(text, codebook, file);
}

/** Opens the database (checked, repaired if damaged: see database.ts) and the store on it. */
async function openStore(path: string, codebook: Codebook, logger: Logger, say: (line: string) => void, cipher: RecordCipher | undefined): Promise<{ store: RecordStore; db: RecordDatabase }> {
  const { db, notices, report, read } = await openDatabase(path, codebook, cipher ? { cipher } : {});
  const storeLog = logger.child({ module: "store" });
  storeLog.info({ records: report.records, read }, "store checked");
  for (const { key, reason } of report.quarantined) storeLog.error({ key, reason }, "stored record does not decode; moved to quarantine");
  for (const notice of notices) {
    storeLog.error({ path }, notice);
    say(`meshaid: ${notice}`);
  }
  try {
    return { store: await RecordStore.open(db, codebook, cipher ? { cipher } : {}), db };
  } catch (error) {
    await db.close();
    throw new StartError(`cannot open the store in ${path}: ${(error as Error).message}`);
  }
}

/**
 * How to open the radio the station talks to (again after each fault): a simulated mesh over
 * loopback TCP, a TCP radio, or a serial port (with `auto`, found again each time: a re-plugged
 * native-USB board may come back under another name).
 */
async function radioOpener(options: StartOptions, presets: PresetTable, logger: Logger, cleanups: Cleanup[]): Promise<() => Promise<Transport>> {
  const port = options.port;
  if (port === undefined) {
    const mesh = createDemoMesh({
      presetsByRole: { medic: presetsForRole(presets, "medic"), marshal: presetsForRole(presets, "marshal") },
      logger: logger.child({ module: "sim" }),
    });
    const server = await serveTcp(mesh.baseRadio);
    cleanups.push(() => server.close());
    mesh.start();
    cleanups.push(() => mesh.stop());
    logger.info({ url: server.url }, "simulated mesh listening");
    return () => connectTcpTransport({ host: server.host, port: server.port, logger: logger.child({ module: "tcp" }) });
  }
  if (port.startsWith("tcp://")) {
    const url = new URL(port);
    return () => connectTcpTransport({ host: url.hostname, port: Number(url.port || 4403), logger: logger.child({ module: "tcp" }) });
  }
  return async () => {
    const path = port === "auto" ? (await findRadioPort()).path : port;
    return openSerialTransport({ path, logger: logger.child({ module: "serial", port: path }) });
  };
}

/** Without a terminal (a service, a pipe, CI): one line per record until SIGINT or SIGTERM. */
async function runHeadless(station: Station, say: (line: string) => void, json: Logger | undefined): Promise<void> {
  const line = (record: RecordView): string => `${new Date(record.receivedAt).toISOString()} ${record.sender} ${record.body.kind} ${record.text ?? ""}`;
  const emit = (record: RecordView): void => (json ? json.info({ event: "record", record }, "record") : say(line(record)));
  for (const record of station.snapshot().recent.reverse()) emit(record);
  station.subscribe((event) => {
    if (event.type === "record") emit(event.record);
    else if (event.type === "radio" && !json) say(`radio: ${event.radio.status} (${event.radio.reason})`);
  });
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
}
