// `meshaid start`: the composition root. The only place that builds real ports, databases,
// sockets, clocks and terminals; everything else receives them.
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Level } from "level";
import pino, { type Logger } from "pino";
import { connectTcpTransport, findRadioPort, openSerialTransport, RadioConnection, RadioError, type Transport } from "../radio/index.ts";
import { airtimeMs, createDemoMesh, MODEM_PRESETS, serveTcp } from "../sim/index.ts";
import { DecisionRightsError, parseDecisionRights, Station, TransmitScheduler, type RecordView } from "../station/index.ts";
import { AuditTrail, LevelOutbox, RecordStore, RosterStore, SendLog, type RecordDatabase } from "../store/index.ts";
import { labelOf, parsePresetTable, presetsForRole, WireError, type Codebook, type CodebookCategory, type PresetTable } from "../wire/index.ts";
import type { StartOptions } from "./main.ts";
import { DEFAULT_PRESETS_FILE, defaultDataDir, PACKAGE_ROOT } from "./paths.ts";
import { ConfigFileError, DEFAULT_CODEBOOK_FILE, readCodebook, readSitePlan } from "./field-config.ts";
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
  // --no-ui (alias --headless): a service; the log is JSON lines on stdout, records included.
  const jsonLines = options.ui === false || options.headless === true;
  const destination = jsonLines ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: logFile, sync: false, mkdir: true });
  const logger = pino({ level: process.env["MESHAID_LOG_LEVEL"] ?? "info" }, destination);
  cleanups.push(() => destination.flushSync());
  if (jsonLines) logger.info({ dataDir }, `meshaid: data in ${dataDir}`);
  else say(`meshaid: data in ${dataDir} (log: ${logFile})`);

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
    const codebook = readCodebook(options.codebook ?? DEFAULT_CODEBOOK_FILE);
    const site = options.site === undefined ? undefined : readSitePlan(options.site);
    if (options.language !== undefined && !codebook.languages.includes(options.language)) {
      throw new StartError(`the codebook has no labels in "${options.language}"; it has: ${codebook.languages.join(", ")}`);
    }
    const presets = readPresets(presetsFile, codebook);
    const rightsFile = options.rights ?? join(PACKAGE_ROOT, "firmware-config", "decision-rights.yaml");
    const rights = parseDecisionRights(readConfig(rightsFile, "decision rights"), codebook);

    const { store, db } = await openStore(join(dataDir, "db"), codebook);
    cleanups.push(() => store.close());

    // The radio connection reopens the port (or socket) and re-handshakes after every fault.
    const radioLog = logger.child({ module: "radio" });
    const outbox = new LevelOutbox(db, (key, reason) => radioLog.error({ key, reason }, "outbox entry kept on disk but not sent"));
    const radio = new RadioConnection({ open: await radioOpener(options, presets, logger, cleanups), logger: radioLog, outbox });
    cleanups.push(() => radio.close());
    const roster = await RosterStore.open(db);
    radio.subscribe((event) => void roster.apply(event).catch((error: unknown) => radioLog.error({ err: error }, "roster update failed")));

    const audit = await AuditTrail.open(db);
    const scheduler = new TransmitScheduler({
      sender: radio,
      airtimeMs: (bytes) => airtimeMs(bytes + 16),
      onError: (error, item) => radioLog.error({ err: error, priority: item.priority }, "send refused by the radio link; dropped"),
    });
    cleanups.push(() => scheduler.close());
    const sends = await SendLog.open(db);
    const station = new Station({ name: options.name, radio, store, roster, rights, audit, scheduler, sends, presets, codebook, ...(site ? { site } : {}), logger });
    await station.start();
    cleanups.push(() => station.stop());
    // `meshaid status`, `send` and `console` reach the station through its control socket.
    const control = await listenControl(dataDir, station, { logger, transmit: () => scheduler.state() });
    cleanups.push(() => control.close());
    await radio.start(); // a port that cannot be opened now is reported now; later faults are retried

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
        const ui = renderConsole(station, { onQuit: () => resolveQuit(), console: { languages, labelsFor, compose, onExport, ...actions, transmit: () => scheduler.state() } });
        cleanups.push(() => ui.unmount());
      });
    }
    await shutdown();
    return 0;
  } catch (error) {
    await shutdown();
    if (error instanceof RadioError || error instanceof WireError || error instanceof StartError || error instanceof ConfigFileError || error instanceof DecisionRightsError || error instanceof ControlSocketError) return fail(error.message);
    logger.fatal({ err: error }, "start failed");
    destination.flushSync();
    return fail(`start failed: ${(error as Error).message} (details in ${logFile})`);
  }
}

class StartError extends Error {}

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

async function openStore(path: string, codebook: Codebook): Promise<{ store: RecordStore; db: RecordDatabase }> {
  try {
    const db = new Level<string, Uint8Array>(path, { valueEncoding: "view" });
    return { store: await RecordStore.open(db, codebook), db };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    if (/lock/i.test(cause)) throw new StartError(`the database ${path} is in use: is another meshaid running with this data folder? (${cause})`);
    throw new StartError(`cannot open the database ${path}: ${cause}`);
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
    return () => connectTcpTransport({ host: server.host, port: server.port });
  }
  if (port.startsWith("tcp://")) {
    const url = new URL(port);
    return () => connectTcpTransport({ host: url.hostname, port: Number(url.port || 4403) });
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
