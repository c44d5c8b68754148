// Admin messages end to end: meshaid's AdminClient/AdminSession against the simulated radio's
// AdminModule, through the real framing bytes (in process) and over a real TCP socket.
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { join } from "node:path";
import { Duplex } from "node:stream";
import { AdminError, AdminSession, RadioLink, connectTcpTransport, createStreamTransport, type Transport } from "../../src/radio/index.ts";
import { FileSettingsStore, SimRadio, connectInProcess, duplexPair, serveTcp, type SimTcpServer } from "../../src/sim/index.ts";
import { useTempDir } from "../helpers/tmp.ts";

const logger = pino({ level: "silent" });
const fastBoot = { rebootDelayMs: 20, bootMs: 50 };

function radio(options: ConstructorParameters<typeof SimRadio>[0]["admin"] = fastBoot): SimRadio {
  return new SimRadio({ node: { num: 0x1234abcd, longName: "Meshtastic abcd", shortName: "abcd", role: 0, hwModel: 7 }, admin: options });
}

const dir = useTempDir("meshaid-admin-");
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function session(sim: SimRadio): Promise<AdminSession> {
  const opened = await AdminSession.open({ open: () => Promise.resolve(connectInProcess(sim)), logger, replyTimeoutMs: 2_000, reopenEveryMs: 20, rebootTimeoutMs: 10_000 });
  cleanups.push(() => opened.close(), () => sim.close());
  return opened;
}

describe("admin messages to the simulated radio", () => {
  it("reads the owner, a config section, a channel and the canned messages", async () => {
    const sim = radio();
    const { admin } = await session(sim);
    expect(await admin.getOwner()).toMatchObject({ longName: "Meshtastic abcd", shortName: "abcd", id: "!1234abcd" });
    expect(await admin.getConfig("lora")).toMatchObject({ region: "US", modemPreset: "LONG_FAST", hopLimit: 3 });
    expect(await admin.getChannel(0)).toMatchObject({ index: 0, role: "PRIMARY", settings: { psk: "AQ==" } });
    expect(await admin.getChannel(3)).toMatchObject({ index: 3, role: "DISABLED" });
    expect(await admin.getCannedMessages()).toBe("Hi|Bye|Yes|No|Ok");
  });

  it("keeps a transaction in RAM until the commit, which saves it and reboots the radio", async () => {
    const sim = radio();
    const opened = await session(sim);
    await opened.admin.beginEdit();
    await opened.admin.setOwner({ longName: "Medic M7", shortName: "M7" });
    await opened.admin.setConfig("lora", { region: "EU_868", modemPreset: "MEDIUM_FAST", usePreset: true, hopLimit: 3, txEnabled: true });
    expect(sim.admin.inTransaction).toBe(true);
    const connectionsBefore = sim.attached;
    await opened.commitAndWaitForReboot();
    expect(connectionsBefore).toBe(true);
    // The reboot dropped the in-process stream; the session reopened it and read the saved settings.
    expect(await opened.admin.getOwner()).toMatchObject({ longName: "Medic M7", shortName: "M7" });
    expect(await opened.admin.getConfig("lora")).toMatchObject({ region: "EU_868", modemPreset: "MEDIUM_FAST" });
    expect(sim.node.shortName).toBe("M7");
  });

  it("loses an uncommitted transaction when the radio reboots", async () => {
    const sim = radio();
    const { admin } = await session(sim);
    await admin.beginEdit();
    await admin.setOwner({ longName: "Never saved", shortName: "NS" });
    sim.admin.boot();
    expect(sim.admin.settings().owner).toEqual({ longName: "Meshtastic abcd", shortName: "abcd" });
  });

  it("refuses what the firmware refuses: blank names with BAD_REQUEST, an over-long canned list with silence", async () => {
    const sim = radio();
    const { admin } = await session(sim);
    await expect(admin.setOwner({ longName: "   ", shortName: "M7" })).rejects.toThrow(/set_owner: the radio refused it \(BAD_REQUEST\)/);
    await expect(admin.setChannel({ index: 9, role: "SECONDARY" })).rejects.toBeInstanceOf(AdminError);
    await expect(admin.setCannedMessages("X".repeat(201))).rejects.toMatchObject({ code: "ADMIN_NO_REPLY" });
    expect(await admin.getCannedMessages()).toBe("Hi|Bye|Yes|No|Ok");
  });

  it("has no canned messages on a board without the module (a bare ACK)", async () => {
    const sim = radio({ ...fastBoot, cannedMessageModule: false });
    const { admin } = await session(sim);
    expect(await admin.getCannedMessages()).toBeUndefined();
    expect(await admin.getMetadata()).toMatchObject({ excludedModules: 0x0040 });
  });

  it("rides out the reboot over TCP: the socket drops, the radio boots, the session reconnects", async () => {
    const sim = radio({ rebootDelayMs: 20, bootMs: 200 });
    const server: SimTcpServer = await serveTcp(sim);
    cleanups.push(() => server.close(), () => sim.close());
    const opened = await AdminSession.open({ open: () => connectTcpTransport({ host: server.host, port: server.port }), logger, replyTimeoutMs: 2_000, reopenEveryMs: 25, rebootTimeoutMs: 10_000 });
    cleanups.push(() => opened.close());
    await opened.admin.beginEdit();
    await opened.admin.setConfig("device", { role: "ROUTER", rebroadcastMode: "ALL" });
    // The role change installs the router defaults after the new config: CORE_PORTNUMS_ONLY.
    expect(await opened.admin.getConfig("device")).toMatchObject({ role: "ROUTER", rebroadcastMode: "CORE_PORTNUMS_ONLY" });
    // The same role again keeps what is set; a router cannot be set to NONE (the firmware makes it ALL).
    await opened.admin.setConfig("device", { role: "ROUTER", rebroadcastMode: "NONE" });
    await opened.commitAndWaitForReboot();
    expect(await opened.admin.getConfig("device")).toMatchObject({ role: "ROUTER", rebroadcastMode: "ALL" });
    expect(opened.nodeNum).toBe(0x1234abcd);
  });

  it("reports the saved settings in the next handshake, and keeps them in its settings file across a restart of the simulator", async () => {
    const file = join(dir.path, "radio.json");
    const first = radio({ ...fastBoot, store: new FileSettingsStore(file) });
    const opened = await session(first);
    await opened.admin.beginEdit();
    await opened.admin.setConfig("lora", { ...(await opened.admin.getConfig("lora")), hopLimit: 5 });
    await opened.commitAndWaitForReboot();
    await opened.close();
    first.close();

    const second = radio({ ...fastBoot, store: new FileSettingsStore(file) });
    cleanups.push(() => second.close());
    const link = new RadioLink({ transport: connectInProcess(second), logger });
    cleanups.push(() => link.close());
    await link.start();
    expect(link.hopLimit).toBe(5); // from the handshake's LoRa config
  });

  it("opens the radio again when it reboots quietly (no `rebooted`, the port stays)", async () => {
    const sim = radio({ rebootDelayMs: 20 });
    cleanups.push(() => sim.close());
    // The radio's stream stays across the reboot, and the host never sees FromRadio.rebooted (94 c3 00 02 40 01).
    const open = (): Promise<Transport> => {
      const [device, host] = duplexPair();
      sim.attach(device, { dropOnReboot: false });
      const REBOOTED = Buffer.from("94c300024001", "hex");
      const filtered = new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, done) {
          host.write(chunk, done);
        },
        final(done) {
          host.end(done);
        },
        destroy(error, done) {
          host.destroy();
          done(error);
        },
      });
      host.on("data", (chunk: Buffer) => {
        const at = chunk.indexOf(REBOOTED);
        filtered.push(at < 0 ? chunk : Buffer.concat([chunk.subarray(0, at), chunk.subarray(at + REBOOTED.length)]));
      });
      host.on("end", () => filtered.push(null));
      return Promise.resolve(createStreamTransport(filtered));
    };
    const opened = await AdminSession.open({ open, logger, replyTimeoutMs: 2_000, reopenEveryMs: 20, rebootTimeoutMs: 10_000, quietRebootAfterMs: 300 });
    cleanups.push(() => opened.close());
    await opened.admin.beginEdit();
    await opened.admin.setOwner({ longName: "Quiet reboot", shortName: "QR" });
    await opened.commitAndWaitForReboot();
    expect(await opened.admin.getOwner()).toMatchObject({ longName: "Quiet reboot", shortName: "QR" });
  });
});
