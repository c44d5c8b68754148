// `meshaid provision` and `meshaid check` against simulated radios over real TCP sockets: the
// profile goes on in one edit transaction, the radio reboots (its socket drops and comes back),
// the read-back matches; drift and a wrong channel key are reported; a profile over a firmware
// limit is refused before anything is written.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { runCheck, runProvision, type Io } from "../../src/cli/provision.ts";
import { encodeAdmin } from "../../src/radio/index.ts";
import { SimRadio, serveTcp, type SimTcpServer } from "../../src/sim/index.ts";
import { useTempDir } from "../helpers/tmp.ts";

const dir = useTempDir("meshaid-provision-");
const servers: Array<{ server: SimTcpServer; radio: SimRadio }> = [];
afterEach(async () => {
  for (const { server, radio } of servers.splice(0)) {
    await server.close();
    radio.close();
  }
});

async function simRadio(num: number, options: { cannedMessageModule?: boolean } = {}): Promise<{ radio: SimRadio; url: string }> {
  const radio = new SimRadio({
    node: { num, longName: `Meshtastic ${num.toString(16).slice(-4)}`, shortName: num.toString(16).slice(-4), role: 0, hwModel: 7 },
    admin: { rebootDelayMs: 20, bootMs: 100, ...options },
  });
  const server = await serveTcp(radio);
  servers.push({ server, radio });
  return { radio, url: server.url };
}

function writeKey(key = randomBytes(32)): string {
  mkdirSync(join(dir.path, "keys"), { recursive: true });
  const file = join(dir.path, "keys", "channel.key");
  writeFileSync(file, `${key.toString("base64")}\n`, { mode: 0o600 });
  return file;
}

function capture(answers?: string[]): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  const io: Io & { lines: string[]; errors: string[] } = { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line), logger: pino({ level: "silent" }) };
  if (answers) io.ask = () => Promise.resolve(answers.shift() ?? "");
  return io;
}

describe("meshaid provision", () => {
  it("applies the medic profile in one transaction, survives the reboot and reads back every setting", async () => {
    const keyFile = writeKey();
    const { radio, url } = await simRadio(0x9e3b7a42);
    const io = capture();
    const code = await runProvision({ port: url, profile: "medic", callsign: "M7", db: dir.path, region: "EU_868", rebootTimeout: "20" }, io);
    expect(io.errors).toEqual([]);
    expect(code).toBe(0);
    expect(io.lines.join("\n")).toMatch(/ok: the radio matches the medic profile \(\d+ settings checked\)/);
    const settings = radio.admin.settings();
    expect(settings.owner).toEqual({ longName: "Medic M7", shortName: "M7" });
    expect(settings.config.lora).toMatchObject({ region: "EU_868", modemPreset: "LONG_FAST" });
    expect(settings.channels[0]).toMatchObject({ role: "PRIMARY", settings: { name: "meshaid" } });
    // The canned messages come from the preset table, in table order.
    expect(settings.cannedMessages.split("|")).toEqual(expect.arrayContaining(["NEED WATER", "INJURED 1", "ON SHIFT"]));
    expect(settings.cannedMessages).not.toContain("KETTLE"); // a marshal preset
    // The key never shows, only its fingerprint.
    expect(io.lines.join("\n")).not.toContain(readFileSync(keyFile, "utf8").trim());
    expect(io.lines.join("\n")).toMatch(/key#[0-9a-f]{8}/);
  });

  it("sets a relay's rebroadcast mode to ALL although the role change makes the firmware put CORE_PORTNUMS_ONLY", async () => {
    writeKey();
    const { radio, url } = await simRadio(0x11223344);
    const io = capture();
    expect(await runProvision({ port: url, profile: "relay", callsign: "R1", db: dir.path, rebootTimeout: "20" }, io)).toBe(0);
    expect(radio.admin.settings().config.device).toMatchObject({ role: "ROUTER", rebroadcastMode: "ALL" });
    expect(radio.admin.settings().config.bluetooth).toMatchObject({ enabled: false });
  });

  it("says to run meshaid keygen when there is no channel key, before touching the radio", async () => {
    const { radio, url } = await simRadio(0x22334455);
    const io = capture();
    expect(await runProvision({ port: url, profile: "medic", callsign: "M1", db: dir.path }, io)).toBe(1);
    expect(io.errors.join("\n")).toMatch(/no channel key at .*keys\/channel\.key: run `meshaid keygen`/);
    expect(radio.attached).toBe(false);
  });

  it("refuses a channel key file that is not 32 bytes of base64, naming it", async () => {
    const keyFile = join(dir.path, "short.key");
    writeFileSync(keyFile, `${randomBytes(16).toString("base64")}\n`);
    const io = capture();
    expect(await runProvision({ port: "tcp://127.0.0.1:9", profile: "medic", callsign: "M1", channelKey: keyFile }, io)).toBe(1);
    expect(io.errors).toEqual([`meshaid provision: ${keyFile} is not a channel key (base64 of 32 bytes); make a new one with \`meshaid keygen\``]);
  });

  it("prints the filled-in profile for meshtastic --configure without touching a radio", async () => {
    writeKey();
    const io = capture();
    expect(await runProvision({ profile: "marshal", callsign: "K2", db: dir.path, printYaml: true }, io)).toBe(0);
    const text = io.lines.join("\n");
    expect(text).toMatch(/^# start of Meshtastic configure yaml/);
    expect(text).toMatch(/\nowner: Marshal K2\nowner_short: K2\nchannel_url: https:\/\/meshtastic\.org\/e\/#[A-Za-z0-9_-]+\n/);
    expect(text).toContain("canned_messages: NEED WATER|");
    expect(text).not.toMatch(/\{(callsign|channel_key|presets:\w+)\}/);
  });

  it("refuses a profile over a firmware limit with the reason, writing nothing", async () => {
    writeKey();
    const { radio, url } = await simRadio(0x33445566);
    const profile = join(dir.path, "big.yaml");
    writeFileSync(profile, `owner: "{callsign} ${"X".repeat(40)}"\nowner_short: "{callsign}"\nchannels:\n  - name: meshaid\n    psk: "{channel_key}"\n`);
    const io = capture();
    expect(await runProvision({ port: url, profile, callsign: "M1", db: dir.path }, io)).toBe(1);
    expect(io.errors.join("\n")).toMatch(/big\.yaml: owner: ".*" is 43 bytes; a radio holds 39/);
    expect(radio.attached).toBe(false);
    expect(radio.admin.settings().owner.shortName).toBe("5566");
  });

  it("provisions a box of radios from a roster, printing a label line for each", async () => {
    writeKey();
    const first = await simRadio(0x44556677);
    const second = await simRadio(0x55667788);
    const roster = join(dir.path, "volunteers.csv");
    writeFileSync(roster, `callsign,profile,port,label\nM3,medic,${first.url},box 1\nK4,marshal,${second.url},box 2\n`);
    const io = capture();
    expect(await runProvision({ roster, db: dir.path, rebootTimeout: "20" }, io)).toBe(0);
    const labels = io.lines.filter((line) => line.startsWith("LABEL"));
    expect(labels).toEqual([expect.stringMatching(/^LABEL \| M3 \| medic \| !44556677 \| Medic M3 \| key#[0-9a-f]{8} \| \d{4}-\d\d-\d\d \| box 1$/), expect.stringMatching(/^LABEL \| K4 \| marshal \| !55667788 \| Marshal K4 \|/)]);
    expect(io.lines.at(-1)).toMatch(/done: 2 of 2 radios match their profile/);
    expect(second.radio.admin.settings().cannedMessages).toContain("KETTLE");
  });

  it("checks the whole roster before writing any radio", async () => {
    writeKey();
    const first = await simRadio(0x66778899);
    const roster = join(dir.path, "volunteers.csv");
    writeFileSync(roster, `callsign,profile,port\nM5,medic,${first.url}\nTOOLONG,medic,${first.url}\n`);
    const io = capture();
    expect(await runProvision({ roster, db: dir.path }, io)).toBe(1);
    expect(io.errors.join("\n")).toMatch(/line 3 \(TOOLONG\).*--callsign: "TOOLONG" must be 1 to 4 letters or digits/);
    expect(first.radio.attached).toBe(false);
  });
});

describe("meshaid check", () => {
  it("passes a freshly provisioned radio and reports drift and a wrong channel key as fingerprints", async () => {
    const keyFile = writeKey();
    const { radio, url } = await simRadio(0x778899aa);
    expect(await runProvision({ port: url, profile: "marshal", callsign: "K9", db: dir.path, rebootTimeout: "20" }, capture())).toBe(0);

    const clean = capture();
    // The profile is the one whose name pattern fits the radio ("Marshal K9").
    expect(await runCheck({ port: url, db: dir.path }, clean)).toBe(0);
    expect(clean.lines.join("\n")).toMatch(/"Marshal K9" \(K9\) against the marshal profile:\n {2}ok/);

    // Someone changed the preset at the event and the net rotated its key since.
    radio.admin.handle(encodeAdmin({ setConfig: { lora: { ...radio.admin.settings().config.lora, modemPreset: "SHORT_FAST" } } }));
    writeFileSync(keyFile, `${randomBytes(32).toString("base64")}\n`);
    const drifted = capture();
    expect(await runCheck({ port: url, profile: "marshal", channelKey: keyFile }, drifted)).toBe(1);
    const report = drifted.lines.join("\n");
    expect(report).toMatch(/DIFFERS config\.lora\.modemPreset: profile LONG_FAST, radio SHORT_FAST/);
    expect(report).toMatch(/DIFFERS channels\[0\]\.psk: profile key#[0-9a-f]{8}, radio key#[0-9a-f]{8} \(a different channel key/);
  });

  it("asks for --profile when the radio's name fits none", async () => {
    writeKey();
    const { url } = await simRadio(0x99aabbcc);
    const io = capture();
    expect(await runCheck({ port: url, db: dir.path }, io)).toBe(1);
    expect(io.errors.join("\n")).toMatch(/the radio's name "Meshtastic bbcc" fits no profile \(base, marshal, medic, relay\): say which it should have with --profile/);
  });

  it("reports a radio with no canned-message module (no screen) instead of pretending", async () => {
    writeKey();
    const { url } = await simRadio(0x8899aabb, { cannedMessageModule: false });
    const io = capture();
    expect(await runProvision({ port: url, profile: "medic", callsign: "M2", db: dir.path, rebootTimeout: "20" }, io)).toBe(1);
    expect(io.lines.join("\n")).toMatch(/DIFFERS canned_messages: .*no canned-message module/);
  });
});

