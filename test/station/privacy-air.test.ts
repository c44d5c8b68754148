// Nothing personal on the air and in the logs, for what the radio tells the station about people:
// a handheld's long name, its callsign and its positions (including a jump that gets it flagged)
// never reach a log line at trace level; what the station puts on the air (its records to other
// bases, its replies to handhelds) carries callsigns and codes only, never a name or a position
// it was told.
import { Writable } from "node:stream";
import { Level } from "level";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { RadioSender, SendRequest } from "../../src/radio/index.ts";
import { parseDecisionRights, Station, TransmitScheduler } from "../../src/station/index.ts";
import { AuditTrail, RecordStore, RosterStore } from "../../src/store/index.ts";
import { coalitionAuthKey, decodePayload } from "../../src/wire/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, configText, presets, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const BASE = 0xba5e0001;
const MEDIC = 0x2a6f1c02;
const LONG_NAME = "Rosa Quintanilla";
const CALLSIGN = "RQ7";
const rights = parseDecisionRights(configText("decision-rights.yaml"), codebook);
const heard = { rxSnr: 5, rxRssi: -70 };

describe("people's names and positions", () => {
  const dir = useTempDir();

  it("stay out of the logs and off the air; callsigns and codes go on the air", async () => {
    let logged = "";
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logged += chunk.toString("utf8");
        callback();
      },
    });
    const logger = pino({ level: "trace" }, sink);
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const roster = await RosterStore.open(db);
    const audit = await AuditTrail.open(db);
    const sent: SendRequest[] = [];
    const sender: RadioSender = { send: (request) => Promise.resolve(String(sent.push(request))) };
    const scheduler = new TransmitScheduler({ sender, minIntervalMs: 0, dutyCycle: 1 });
    const radio = new ScriptedRadio();
    radio.subscribe((event) => void roster.apply(event));
    const station = new Station({ name: "Base", radio, store, roster, presets, codebook, site, logger, rights, audit, scheduler, auth: coalitionAuthKey(Buffer.alloc(32, 3)) });
    await station.start();
    radio.emit({ type: "my-node", num: BASE });
    radio.emit({ type: "node", node: { num: MEDIC, userId: "!2a6f1c02", longName: LONG_NAME, shortName: CALLSIGN, role: 0, hwModel: 43 } });
    radio.emit({ type: "position", from: MEDIC, position: { latitude: site.origin.lat + 0.0001234, longitude: site.origin.lon + 0.0004321, timeMs: 1, precisionBits: 32 }, heard });
    radio.emit({ type: "position", from: MEDIC, position: { latitude: site.origin.lat + 0.4321987, longitude: site.origin.lon, timeMs: 2, precisionBits: 32 }, heard });
    radio.emit({ type: "node", node: { num: MEDIC, userId: "!2a6f1c02", longName: LONG_NAME, shortName: CALLSIGN, role: 0, hwModel: 9 } });
    radio.hear(MEDIC, 0x100, "NEED WATER");
    await station.idle();
    const coordinator = { callsign: "C1", role: "coordinator" };
    expect((await station.act({ verb: "dispatch", actor: coordinator, target: { origin: MEDIC, seq: 0x100 }, etaMin: 5 })).ok).toBe(true);
    expect((await station.act({ verb: "assign_shift", actor: coordinator, shift: { callsign: CALLSIGN, role: "medic" } })).ok).toBe(true);
    // The scheduler drains on timers: wait for the reply and the records before stopping.
    await expect.poll(() => sent.length).toBeGreaterThanOrEqual(3);
    await station.stop();
    scheduler.close();
    await roster.flush();
    await store.close();

    // The flags were logged (so the log was written), by node number only.
    expect(logged).toContain("node behaves unlike its history");
    const positions = [String(site.origin.lat + 0.0001234).slice(0, 9), String(site.origin.lat + 0.4321987).slice(0, 9), "0004321", "4321987"];
    for (const secret of [LONG_NAME, "Rosa", "Quintanilla", CALLSIGN, ...positions]) expect(logged, secret).not.toContain(secret);

    // On the air: a reply text to the handheld and the records to other bases, nothing more.
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const request of sent) {
      const bytes = Buffer.from(request.record ?? new TextEncoder().encode(request.text ?? ""));
      for (const secret of [LONG_NAME, "Rosa", "Quintanilla", ...positions]) expect(bytes.includes(secret), secret).toBe(false);
      if (request.record) {
        const decoded = decodePayload(request.record, codebook, BASE);
        expect(decoded.ok).toBe(true);
        // Strings on the air are callsigns only (a shift's from/to), at most 12 bytes.
        const strings = decoded.ok ? decoded.value.records.flatMap((record) => Object.values(record.body).filter((value): value is string => typeof value === "string" && value !== record.body.kind)) : [];
        for (const text of strings) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(12);
      }
    }
    expect(sent.some((request) => request.text === "ENRT WATER ETA 5")).toBe(true);
  });
});
