import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Level } from "level";
import pino from "pino";
import { parseDecisionRights, Station, TransmitScheduler, type BoardsEvent } from "../../src/station/index.ts";
import type { RadioSender, SendRequest } from "../../src/radio/index.ts";
import { decodePayload } from "../../src/wire/index.ts";
import { AuditTrail, RecordStore } from "../../src/store/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, configText, presets, site } from "../helpers/records.ts";
import { tempDir } from "../helpers/tmp.ts";

const T0 = 1_750_000_000_000;
const BASE = 0xba5e0001;
const MEDIC = 0x2a6f1c02;
const rights = parseDecisionRights(configText("decision-rights.yaml"), codebook);
const coordinator = { callsign: "C1", role: "coordinator" };

describe("decision rights file", () => {
  it("reads the shipped file", () => {
    expect([...rights.keys()].sort()).toEqual(["acknowledge", "approve_purchase", "assign_shift", "cancel", "close", "deliver", "dispatch", "end_shift"]);
    expect(rights.get("approve_purchase")).toEqual({ roles: new Set(["coordinator"]), stations: new Set(["Base"]) });
  });

  it("refuses a role the codebook does not know, an unknown action or key, and another version, naming it", () => {
    expect(() => parseDecisionRights("version: 1\nrights:\n  dispatch: { roles: [wizard] }\n", codebook)).toThrow(/dispatch: "wizard" is not a role/);
    expect(() => parseDecisionRights("version: 1\nrights:\n  teleport: { roles: [medic] }\n", codebook)).toThrow(/unknown action "teleport"/);
    expect(() => parseDecisionRights("version: 1\nrights:\n  dispatch: { role: [medic] }\n", codebook)).toThrow(/unknown key "role"/);
    expect(() => parseDecisionRights("version: 2\nrights: {}\n", codebook)).toThrow(/version 2/);
    expect(() => parseDecisionRights("version: 1\nrights: [\n", codebook)).toThrow(/decision rights:/);
  });
});

describe("Station.act", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const logger = pino({ level: "silent" });
  let now = T0;

  const sent: SendRequest[] = [];
  const sender: RadioSender = { send: (request) => Promise.resolve(String(sent.push(request))) };

  async function open(name = "Base"): Promise<{ station: Station; store: RecordStore; audit: AuditTrail; radio: ScriptedRadio; events: BoardsEvent[]; close: () => Promise<void> }> {
    const db = new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" });
    const store = await RecordStore.open(db, codebook);
    const audit = await AuditTrail.open(db);
    const radio = new ScriptedRadio();
    const scheduler = new TransmitScheduler({ sender, minIntervalMs: 0, dutyCycle: 1 });
    const station = new Station({ name, radio, store, presets, codebook, site, logger, now: () => now, rights, audit, scheduler });
    const events: BoardsEvent[] = [];
    station.subscribeBoards((event) => events.push(event));
    await station.start();
    radio.emit({ type: "my-node", num: BASE });
    return { station, store, audit, radio, events, close: async () => { scheduler.close(); await station.stop(); await store.close(); } };
  }

  beforeEach(async () => {
    dir = await tempDir();
    now = T0;
    sent.length = 0;
  });
  afterEach(async () => {
    await dir.remove();
  });

  it("refuses an action without the right, with the reason, and keeps it in the audit trail as refused", async () => {
    const { station, radio, audit, events, store, close } = await open();
    radio.hear(MEDIC, 0x100, "NEED WATER");
    await station.idle();
    const target = { origin: MEDIC, seq: 0x100 };
    const outcome = await station.act({ verb: "dispatch", actor: { callsign: "M9", role: "medic" }, target, etaMin: 8 });
    expect(outcome).toMatchObject({ ok: false, reason: "medic may not dispatch (allowed: coordinator, dispatcher, medic_lead)" });
    expect(events.at(-1)).toEqual({ type: "action", outcome });
    expect(store.count).toBe(1);
    expect(station.boards().requests[0]?.state).toBe("open");
    expect(await audit.list()).toEqual([{ n: 0, at: T0, station: "Base", actor: { callsign: "M9", role: "medic" }, action: "dispatch", outcome: "refused", reason: outcome.ok ? "" : outcome.reason, target, detail: { etaMin: 8 } }]);
    await close();
  });

  it("refuses a right reserved to other stations, and an action on a record the boards do not know", async () => {
    const { station, close } = await open("North");
    const purchase = await station.act({ verb: "approve_purchase", actor: coordinator, purchase: { item: "water", quantity: 10, cost: 25 } });
    expect(purchase).toMatchObject({ ok: false, reason: "approve purchase is not allowed from station North (only from Base)" });
    const unknown = await station.act({ verb: "dispatch", actor: coordinator, target: { origin: 1, seq: 2 } });
    expect(unknown).toMatchObject({ ok: false, reason: "no supply request 00000001!00000002 on the board" });
    await close();
  });

  it("writes a status record from this station with its own sequence numbers, updates the boards, and audits it", async () => {
    const first = await open();
    let { station, close } = first;
    first.radio.hear(MEDIC, 0x100, "NEED WATER");
    first.radio.hear(MEDIC, 0x200, "INJURED 1");
    await station.idle();
    const request = { origin: MEDIC, seq: 0x100 };
    now += 60_000;
    const dispatched = await station.act({ verb: "dispatch", actor: coordinator, target: request, etaMin: 8 });
    expect(dispatched).toMatchObject({ ok: true, record: { origin: BASE, seq: 1 }, audit: 0 });
    expect(station.boards().requests[0]).toMatchObject({ state: "en_route", etaMin: 8, etaAt: T0 + 60_000 + 8 * 60_000, decidedBy: { by: "C1", id: { origin: BASE, seq: 1 } } });
    expect(station.snapshot().recent[0]).toMatchObject({ id: { origin: BASE, seq: 1 }, body: { kind: "supply_status", status: "en_route", etaMin: 8, ref: request } });
    // On the air: the record for other base stations, and a reply the medic's handheld can show.
    await expect.poll(() => sent.length).toBe(2);
    expect(sent[1]).toEqual({ text: "ENRT WATER ETA 8", to: MEDIC });
    const decoded = decodePayload(sent[0]!.record!, codebook, BASE);
    expect(decoded.ok && decoded.value.records).toEqual([{ id: { origin: BASE, seq: 1 }, body: { kind: "supply_status", status: "en_route", etaMin: 8, ref: request } }]);
    const closed = await station.act({ verb: "close", actor: coordinator, target: { origin: MEDIC, seq: 0x200 } });
    expect(closed).toMatchObject({ ok: true, record: { origin: BASE, seq: 2 } });
    expect(station.boards().incidents[0]).toMatchObject({ state: "closed", closed: { by: "C1" } });
    const bought = await station.act({ verb: "approve_purchase", actor: coordinator, purchase: { item: "water", quantity: 24, cost: 18.5, currency: "EUR" } });
    expect(bought).toMatchObject({ ok: true, audit: 2 });
    expect(bought).not.toHaveProperty("record");
    await close();

    // After a restart the station goes on numbering its own records where it left off.
    const second = await open();
    ({ station, close } = second);
    const delivered = await station.act({ verb: "deliver", actor: { callsign: "M1", role: "medic" }, target: request });
    expect(delivered).toMatchObject({ ok: true, record: { origin: BASE, seq: 3 }, audit: 3 });
    expect(station.boards().requests[0]).toMatchObject({ state: "delivered" });
    expect((await second.audit.list()).map((entry) => [entry.action, entry.outcome, entry.record?.seq, entry.purchase?.cost])).toEqual([
      ["dispatch", "done", 1, undefined],
      ["close", "done", 2, undefined],
      ["approve_purchase", "done", undefined, 18.5],
      ["deliver", "done", 3, undefined],
    ]);
    await close();
  });

  it("assigns and ends shifts", async () => {
    const { station, close } = await open();
    expect(await station.act({ verb: "assign_shift", actor: coordinator, shift: { callsign: "M2", role: "medic", place: { landmark: 1 } } })).toMatchObject({ ok: true });
    expect(station.boards().shifts).toMatchObject([{ callsign: "M2", onShift: true, role: "medic", place: { landmark: 1 } }]);
    now += 1000;
    expect(await station.act({ verb: "end_shift", actor: coordinator, shift: { callsign: "M2" } })).toMatchObject({ ok: true });
    expect(station.boards().shifts).toMatchObject([{ callsign: "M2", onShift: false }]);
    expect(station.boards().handoffs).toEqual([]);
    await close();
  });
});
