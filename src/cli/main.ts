// meshaid's command line. Each command's module is loaded only when it runs.
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import type { CheckOptions, ProvisionOptions } from "./provision.ts";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const program = new Command()
  .name("meshaid")
  .description("Field messaging bridge: Meshtastic radios -> structured, stored records on a base-station console.")
  .version(pkg.version);

program
  .command("start")
  .description("run the base station: radio link, store and console (a simulated mesh unless --port is given)")
  .addOption(new Option("--port <port>", "the radio: a serial path (/dev/ttyUSB0), `auto`, or tcp://host:port"))
  .addOption(new Option("--sim", "use a simulated mesh (the default without --port)").conflicts("port"))
  .option("--record-port <n>", "the private port meshaid records travel on, the same at every station (258..511; default 300)")
  .option("--db <dir>", "data folder (database and log); default: a meshaid folder under your home")
  .option("--name <name>", "station name shown on the console", "Base station")
  .option("--presets <file>", "the preset table (default: firmware-config/presets.yaml)")
  .option("--codebook <file>", "the codebook (default: firmware-config/codebook.yaml)")
  .option("--site <file>", "the site plan: landmark names for typed text and on screen (e.g. firmware-config/site.yaml)")
  .option("--language <code>", "show items and incidents with the codebook's labels in this language (en, es)")
  .option("--rights <file>", "the decision rights: who may acknowledge, dispatch, cancel, close, approve (default: firmware-config/decision-rights.yaml)")
  .option("--operator <callsign>", "your callsign for actions taken at the console (audit trail)", "BASE")
  .option("--role <role>", "your role for the decision rights (a codebook role)", "coordinator")
  .option("--no-ui", "run without the console, as a service: JSON log lines on stdout, one per record and event (without a terminal on stdin, records print as text lines)")
  .addOption(new Option("--headless", "the same as --no-ui").hideHelp())
  .option("--relay <broker>", "relay the log to peers: `embedded` (run a broker here) or mqtt://host:port, mqtts://user:pass@host:port")
  .option("--relay-port <port>", "with --relay embedded: the port the broker listens on", "1883")
  .option("--coalition <name>", "the coalition: the relay's topic root (meshaid/NAME)", "default")
  .option("--relay-ca <file>", "mqtts: the CA certificate (PEM) the broker's certificate is checked against")
  .option("--relay-cert <file>", "mqtts: this station's client certificate (PEM)")
  .option("--relay-key <file>", "mqtts: the client certificate's key (PEM)")
  .option("--relay-user <user>", "broker user name (or in the URL)")
  .option("--relay-password <password>", "broker password (or in the URL; or MESHAID_RELAY_PASSWORD)")
  .option("--trust <file>", "the trust list of peer stations (default: <data folder>/trust.yaml)")
  .option("--redaction <file>", "what leaves the station (default: firmware-config/redaction.yaml)")
  .option("--serves <landmarks>", "with --relay and --site: the landmarks this station's radio serves (labels, aliases or codes, comma-separated); peers' requests and incidents placed there go on the air")
  .option("--serves-within <metres>", "with --serves: a place given as an offset or coordinates this close to a served landmark is served too", "150")
  .option("--msh-uplink <region>", "with --relay: also publish what the radio hears in Meshtastic's MQTT format (msh/REGION/2/e/CHANNEL/!node), for Meshtastic maps; off by default (privacy): only packets whose sender allows MQTT and that redaction would not change")
  .option("--msh-channel <name>", "with --msh-uplink: the primary channel's name, as in the device profiles (its key: <data folder>/keys/channel.key)", "meshaid")
  .option("--msh-decoded", "with --msh-uplink: publish packets decoded instead of encrypted with the channel key")
  .option("--retention <file>", "how long each kind of record is kept (default: firmware-config/retention.yaml)")
  .option("--encrypt", "store records encrypted with a key from a passphrase (from --key-file, MESHAID_PASSPHRASE or a prompt); required once a store is encrypted")
  .option("--key-file <file>", "with --encrypt: a file whose first line is the passphrase, for an unattended start")
  .action(async (options: StartOptions) => {
    const { runStart } = await import("./start.ts");
    process.exitCode = await runStart(options);
  });

program
  .command("parse")
  .description("read a preset or a typed line into records: the records, their wire bytes (hex) and the confidence")
  .argument("<text>", "what a handheld or phone sent, in quotes")
  .option("--site <file>", "the site plan for place names (default: firmware-config/site.yaml)")
  .option("--codebook <file>", "the codebook (default: firmware-config/codebook.yaml)")
  .option("--presets <file>", "the preset table (default: firmware-config/presets.yaml)")
  .option("--json", "one JSON object: each record with its codes and English labels, wireBytes and wireHex")
  .action(async (text: string, options: ParseOptions) => {
    const { runParse } = await import("./parse.ts");
    process.exitCode = runParse(text, options);
  });

program
  .command("decode")
  .description("decode a serial capture, a FromRadio payload or an on-air LoRa frame into one JSON object per packet")
  .argument("<capture>", "hex bytes, or @file (a binary capture, or hex text with one capture per line)")
  .option("--key <base64psk>", "the channel key as in a channel URL (default AQ==, the default key)")
  .addOption(new Option("--as <kind>", "read the bytes as this instead of guessing").choices(["serial", "from-radio", "air"]))
  .option("--codebook <file>", "the codebook for meshaid records (default: firmware-config/codebook.yaml)")
  .option("--record-port <n>", "the private port meshaid records travel on (default 300)")
  .action(async (capture: string, options: { key?: string; as?: "serial" | "from-radio" | "air"; codebook?: string; recordPort?: string }) => {
    const { runDecode } = await import("./decode.ts");
    process.exitCode = runDecode(capture, options, (line) => void process.stdout.write(`${line}\n`), (line) => void process.stderr.write(`${line}\n`));
  });

program
  .command("ports")
  .description("list serial ports and say which one `--port auto` would choose, and why")
  .action(async () => {
    const { runPorts } = await import("./ports.ts");
    process.exitCode = await runPorts();
  });

program
  .command("drill")
  .description("run a drill scenario on the simulated mesh, faster than real time, and print the after-action report")
  .argument("<scenario>", "a scenario file (see docs/drills.md; examples in firmware-config/drills/)")
  .option("--json", "print one JSON object instead of the report")
  .option("--format <format>", "carry the traffic as meshaid records, plain text, or both side by side (default: the scenario's)")
  .option("--seed <n>", "override the scenario's seed")
  .option("--codebook <file>", "the codebook meshaid's records are encoded with (default: firmware-config/codebook.yaml)")
  .option("--site <file>", "the site plan for places (default: firmware-config/site.yaml)")
  .option("--presets <file>", "the preset table the stations read handheld text with (default: firmware-config/presets.yaml)")
  .option("--radio-only", "count delivery at the base radios instead of running meshaid's station at each (faster)")
  .action(async (scenario: string, options: { json?: boolean; format?: string; seed?: string; codebook?: string; site?: string; presets?: string; radioOnly?: boolean }) => {
    const { runDrillCommand } = await import("./drill.ts");
    process.exitCode = await runDrillCommand(scenario, options);
  });

program
  .command("sim")
  .description("run N simulated radios in real time that any Meshtastic client can connect to over TCP")
  .option("--nodes <n>", "how many nodes", "4")
  .option("--listen <url>", "where the first node listens; node k on port + k - 1", "tcp://127.0.0.1:4403")
  .option("--expose <n>", "how many nodes get a TCP port (default: all)")
  .option("--preset <name>", "modem preset (default LONG_FAST)")
  .option("--every <seconds>", "seconds between check-in texts from each node (0: none)", "60")
  .option("--seed <n>", "seed for the simulated channel")
  .action(async (options: { nodes: string; listen: string; expose?: string; preset?: string; every?: string; seed?: string }) => {
    const { runSim } = await import("./sim.ts");
    process.exitCode = await runSim(options);
  });

program
  .command("export")
  .description("export the stored records, boards and audit trail: json, csv, md (situation report, shift roster, audit trail, procurement log, after-action report, ICS-309-style log), hxl (CSV with HXL hashtags)")
  .option("--db <dir>", "data folder of a stopped station (default: a meshaid folder under your home)")
  .addOption(new Option("--format <format>", "what to write to stdout").choices(["json", "csv", "md", "hxl"]).default("md"))
  .option("--codebook <file>", "the codebook (default: firmware-config/codebook.yaml)")
  .option("--site <file>", "the site plan, for place names")
  .option("--language <code>", "labels in this language (en, es)")
  .option("--name <name>", "the station's name for the report", "Base station")
  .addOption(new Option("--table <table>", "for csv and hxl: the records, the audit trail or the procurement log").choices(["records", "audit", "procurement"]).default("records"))
  .option("--key-file <file>", "an encrypted store's passphrase, the file's first line (else MESHAID_PASSPHRASE or a prompt)")
  .action(async (options: { db?: string; format: string; codebook?: string; site?: string; language?: string; name?: string; table?: string; keyFile?: string }) => {
    const { runExport } = await import("./export.ts");
    process.exitCode = await runExport(options, (text) => void process.stdout.write(text), (line) => void process.stderr.write(`${line}\n`));
  });

// ---- keys and trust (issue 8) ----
const onKeyError = async (run: () => void): Promise<void> => {
  const { KeyError } = await import("./keys.ts");
  try {
    run();
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    process.stderr.write(`meshaid: ${error.message}\n`);
    process.exitCode = 1;
  }
};
const dataDirOf = async (db?: string): Promise<string> => (await import("node:path")).resolve(db ?? (await import("./paths.ts")).defaultDataDir());
const say = (line: string): void => void process.stdout.write(`${line}\n`);

program
  .command("keygen")
  .description("create a channel key and this station's signing key pair in <data folder>/keys (prints the public key, never a secret)")
  .option("--db <dir>", "data folder (default: a meshaid folder under your home)")
  .option("--force", "replace existing keys (peers must then trust the new public key)")
  .action(async (options: { db?: string; force?: boolean }) => {
    const keys = await import("./keys.ts");
    const dataDir = await dataDirOf(options.db);
    await onKeyError(() => keys.runKeygen(dataDir, options, say));
  });

program
  .command("rotate-key")
  .description("replace the channel key (the old one is kept as channel.key.<date>.old) and print the procedure")
  .option("--db <dir>", "data folder (default: a meshaid folder under your home)")
  .action(async (options: { db?: string }) => {
    const keys = await import("./keys.ts");
    const dataDir = await dataDirOf(options.db);
    await onKeyError(() => keys.runRotateKey(dataDir, say));
  });

program
  .command("trust")
  .description("the stations whose relayed records this station accepts: trust add NAME PUBKEY | trust remove NAME | trust list")
  .argument("<action>", "add, remove or list")
  .argument("[args...]", "add: NAME PUBKEY; remove: NAME")
  .option("--db <dir>", "data folder (default: a meshaid folder under your home)")
  .option("--file <file>", "the trust list (default: <data folder>/trust.yaml)")
  .action(async (action: string, args: string[], options: { db?: string; file?: string }) => {
    if (action !== "add" && action !== "remove" && action !== "list") {
      process.stderr.write(`meshaid: trust ${action}: use add, remove or list\n`);
      process.exitCode = 2;
      return;
    }
    const keys = await import("./keys.ts");
    const file = options.file ?? keys.defaultTrustFile(await dataDirOf(options.db));
    await onKeyError(() => keys.runTrust(action, file, args, say));
  });

program
  .command("wipe")
  .description("destroy the store, its keys, damaged copies and the log in a data folder, then check nothing is left (the station must be stopped)")
  .option("--db <dir>", "data folder (default: a meshaid folder under your home)")
  .option("--yes", "really destroy it (there is no undo)")
  .action(async (options: { db?: string; yes?: boolean }) => {
    const { runWipe } = await import("./wipe.ts");
    process.exitCode = await runWipe(options, (line) => void process.stdout.write(`${line}\n`), (line) => void process.stderr.write(`${line}\n`));
  });

// The running station, through its control socket (<data folder>/meshaid.sock).
program
  .command("status")
  .description("the running station at a glance: radio, records, boards, transmit queue and airtime, deliveries")
  .option("--db <dir>", "the running station's data folder (default: a meshaid folder under your home)")
  .option("--json", "one JSON object")
  .action(async (options: { db?: string; json?: boolean }) => {
    const { runStatus } = await import("./control.ts");
    process.exitCode = await runStatus(options, (line) => void process.stdout.write(`${line}\n`), (line) => void process.stderr.write(`${line}\n`));
  });

program
  .command("send")
  .description("have the running station log and send a preset, typed text or message: to the other base stations, or with --to as text to a handheld")
  .argument("<text>", "what to say, in quotes (read with the preset table and the typed-text reader)")
  .option("--to <callsign>", "send the text to this handheld (a callsign, a node number, or `channel` for everyone)")
  .option("--stations", "with --to: also send the records to the other base stations")
  .option("--as <callsign>", "who says it (your callsign), kept with the records")
  .option("--db <dir>", "the running station's data folder (default: a meshaid folder under your home)")
  .option("--json", "print the outcome as one JSON object")
  .action(async (text: string, options: { db?: string; to?: string; as?: string; stations?: boolean; json?: boolean }) => {
    const { runSendCommand } = await import("./control.ts");
    process.exitCode = await runSendCommand(text, options, (line) => void process.stdout.write(`${line}\n`), (line) => void process.stderr.write(`${line}\n`));
  });

program
  .command("console")
  .description("open the console of a running station (`meshaid start --no-ui`) in this terminal")
  .option("--db <dir>", "the running station's data folder (default: a meshaid folder under your home)")
  .option("--codebook <file>", "the codebook, for compose (default: firmware-config/codebook.yaml)")
  .option("--presets <file>", "the preset table, for compose (default: firmware-config/presets.yaml)")
  .option("--language <code>", "labels in this language (en, es)")
  .option("--operator <callsign>", "your callsign for actions (audit trail)", "BASE")
  .option("--role <role>", "your role for the decision rights", "coordinator")
  .action(async (options: { db?: string; codebook?: string; presets?: string; language?: string; operator: string; role: string }) => {
    const { runConsoleClient } = await import("./console-client.ts");
    process.exitCode = await runConsoleClient(options, (line) => void process.stderr.write(`${line}\n`));
  });

// Field setup (issue 9): device profiles onto radios, the check-in table, the udev rule.
program
  .command("provision")
  .description("set a radio up from a device profile (firmware-config/profiles/) in one edit transaction, wait for its reboot and read it back; or a box of radios from a roster")
  .option("--port <port>", "the radio: a serial path, `auto` (waits for each radio of a roster to be plugged in), or tcp://host:port")
  .option("--profile <name>", "base, medic, marshal, relay, or a profile file")
  .option("--callsign <callsign>", "the volunteer's callsign (1-4 letters or digits; the radio's short name)")
  .option("--roster <file>", "a CSV with columns callsign,profile (optional: port, label): provision one radio after another")
  .option("--channel-key <file>", "the channel key (default: <data dir>/keys/channel.key from `meshaid keygen`)")
  .option("--db <dir>", "data folder whose keys/channel.key to use (default: a meshaid folder under your home)")
  .option("--region <code>", "LoRa region for every profile (US, EU_868, UK_868, ANZ, ...)")
  .option("--presets <file>", "the preset table the canned messages come from (default: firmware-config/presets.yaml)")
  .option("--codebook <file>", "the codebook (default: firmware-config/codebook.yaml)")
  .option("--reboot-timeout <seconds>", "how long the radio gets to come back after saving", "90")
  .option("--print-yaml", "print the filled-in profile for `meshtastic --configure` (contains the channel key) instead of writing a radio")
  .action(async (options: ProvisionOptions) => {
    const { runProvision } = await import("./provision.ts");
    process.exitCode = await runProvision(options);
  });

program
  .command("check")
  .description("at the check-in table: read a radio and report every setting that drifted from its profile, a wrong channel key included (shown as a fingerprint)")
  .requiredOption("--port <port>", "the radio: a serial path, `auto`, or tcp://host:port")
  .option("--profile <name>", "the profile it should have: base, medic, marshal, relay, or a file (default: the one its name fits, e.g. \"Medic M7\")")
  .option("--callsign <callsign>", "its callsign (default: the radio's short name)")
  .option("--channel-key <file>", "the channel key (default: <data dir>/keys/channel.key)")
  .option("--db <dir>", "data folder whose keys/channel.key to use")
  .option("--region <code>", "the LoRa region the net uses, if not the profile's")
  .option("--presets <file>", "the preset table (default: firmware-config/presets.yaml)")
  .option("--codebook <file>", "the codebook (default: firmware-config/codebook.yaml)")
  .action(async (options: CheckOptions) => {
    const { runCheck } = await import("./provision.ts");
    process.exitCode = await runCheck(options);
  });

program
  .command("udev")
  .description("print a udev rule for the radios in hardware/boards.json (dialout group, no ModemManager, a stable /dev/meshaid-radio name)")
  .option("--boards <file>", "the boards file (default: hardware/boards.json)")
  .option("--group <group>", "the group that may open the radios", "dialout")
  .action(async (options: { boards?: string; group?: string }) => {
    const { runUdev } = await import("./udev.ts");
    process.exitCode = runUdev(options, (text) => void process.stdout.write(text), (line) => void process.stderr.write(`${line}\n`));
  });

export interface ParseOptions {
  site?: string;
  codebook?: string;
  presets?: string;
  json?: boolean;
}

export interface StartOptions {
  port?: string;
  /** The private port for meshaid records (--record-port). */
  recordPort?: string;
  sim?: boolean;
  db?: string;
  name: string;
  presets?: string;
  codebook?: string;
  site?: string;
  language?: string;
  /** The decision-rights file. */
  rights?: string;
  /** false with --no-ui. */
  ui?: boolean;
  /** Who acts at the console. */
  operator?: string;
  role?: string;
  /** The old name of --no-ui. */
  headless?: boolean;
  /** The internet relay (issue 8): `embedded` or a broker URL, and its settings. */
  relay?: string;
  relayPort?: string;
  coalition?: string;
  relayCa?: string;
  relayCert?: string;
  relayKey?: string;
  relayUser?: string;
  relayPassword?: string;
  trust?: string;
  redaction?: string;
  /** The landmarks this station's radio serves (--serves), and the distance around them (--serves-within). */
  serves?: string;
  servesWithin?: string;
  /** Meshtastic-format uplink (--msh-uplink REGION, --msh-channel, --msh-decoded). */
  mshUplink?: string;
  mshChannel?: string;
  mshDecoded?: boolean;
  /** Retention limits per record kind. */
  retention?: string;
  /** Records encrypted at rest. */
  encrypt?: boolean;
  keyFile?: string;
}

await program.parseAsync(process.argv);
