import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Level } from "level";
import pino from "pino";
import { boardsFrom } from "../../src/station/boards/index.ts";
import { Station, type BoardsEvent } from "../../src/station/index.ts";
import { RecordStore } from "../../src/store/index.ts";
import { packRecords, MESHAID_PORTNUM, SUPPLY_STATUSES, type FieldRecord, type Place, type RecordBody, type RecordId } from "../../src/wire/index.ts";
import { ScriptedRadio } from "../helpers/radio.ts";
import { codebook, presets, site } from "../helpers/records.ts";
import { useTempDir } from "../helpers/tmp.ts";

const T0 = 1_750_000_000_000;
const ORIGINS = [0x10, 0x20, 0x30];
const CALLSIGNS = ["M1", "M2", "B1"];

const id = (origin: number, seq: number): RecordId => ({ origin, seq });
const rec = (origin: number, seq: number, at: number, body: RecordBody, sender?: string): FieldRecord => ({
  id: id(origin, seq),
  receivedAt: T0 + at,
  body,
  ...(sender ? { sender } : {}),
});

/** A log of records that refer to each other: requests and their statuses, incidents and acks, shifts and check-ins. */
const arbitraryLog: fc.Arbitrary<FieldRecord[]> = fc
  .array(
    fc.record({
      origin: fc.constantFrom(...ORIGINS),
      seq: fc.integer({ min: 1, max: 40 }),
      at: fc.integer({ min: 0, max: 5 }).map((n) => n * 60_000),
      ref: fc.record({ origin: fc.constantFrom(...ORIGINS), seq: fc.integer({ min: 1, max: 40 }) }),
      sender: fc.option(fc.constantFrom(...CALLSIGNS), { nil: undefined }),
      kind: fc.integer({ min: 0, max: 8 }),
      status: fc.constantFrom(...SUPPLY_STATUSES),
      n: fc.integer({ min: 0, max: 5 }),
      incident: fc.constantFrom("injury", "kettle"),
      callsign: fc.constantFrom(...CALLSIGNS),
    }),
    { maxLength: 60 },
  )
  .map((drafts) => {
    const byId = new Map<string, FieldRecord>();
    for (const d of drafts) {
      const bodies: RecordBody[] = [
        { kind: "supply_request", lines: [{ item: "water", quantity: d.n + 1 }], priority: "normal" },
        { kind: "supply_status", status: d.status, ref: d.ref, ...(d.status === "en_route" ? { etaMin: d.n + 1 } : {}) },
        { kind: "incident", incident: d.incident, severity: d.n > 2 ? "severe" : "moderate", casualties: d.n, ...(d.n > 0 ? { hazards: [d.n % 2 ? "gas" : "fire"] } : {}) },
        { kind: "ack", code: d.n % 2 ? "complete" : "received", refs: [d.ref] },
        { kind: "shift", action: "on", role: "medic", place: { landmark: d.n + 1 } },
        { kind: "shift", action: "off" },
        { kind: "shift", action: "handoff", from: d.callsign, to: CALLSIGNS[(CALLSIGNS.indexOf(d.callsign) + 1) % 3]! },
        { kind: "checkin", status: "ok", battery: 50 + d.n },
        // Offers match requests (a request's match must not depend on which arrived first either).
        { kind: "supply_offer", lines: [{ item: "water", ...(d.n > 0 ? { quantity: d.n } : {}) }], ...(d.n % 2 ? { place: { landmark: d.n } } : {}) },
      ];
      // A record's id says one thing: the first draft for an id wins.
      const key = `${d.origin}:${d.seq}`;
      if (!byId.has(key)) byId.set(key, rec(d.origin, d.seq, d.at, bodies[d.kind]!, d.sender));
    }
    return [...byId.values()];
  });

describe("boards (pure)", () => {
  it("show the same whatever order the records arrive in", () => {
    fc.assert(
      fc.property(arbitraryLog, fc.array(fc.nat()), fc.integer({ min: 0, max: 60 }), (log, keys, minutes) => {
        const shuffled = log.map((record, i) => ({ record, key: keys[i % Math.max(keys.length, 1)] ?? i, i })).sort((a, b) => a.key - b.key || b.i - a.i).map(({ record }) => record);
        const asOf = T0 + minutes * 60_000;
        // Heard twice (a relay, a reconnect) changes nothing either.
        // Offers are matched by distance: landmarks a number of hundreds of metres apart.
        const distance = (a: Place, b: Place): number | undefined => ("landmark" in a && "landmark" in b ? Math.abs(a.landmark - b.landmark) * 100 : undefined);
        expect(boardsFrom([...shuffled, ...log], { distance }).snapshot(asOf)).toEqual(boardsFrom(log, { distance }).snapshot(asOf));
      }),
      { numRuns: 300 },
    );
  });

  it("merge status changes from several stations: the furthest wins, and a status may arrive before its request", () => {
    const request = rec(0x10, 1, 0, { kind: "supply_request", lines: [{ item: "water" }], priority: "urgent" }, "M1");
    const ack = rec(0xb1, 1, 60_000, { kind: "supply_status", status: "acknowledged", ref: request.id }, "B1");
    const enRoute = rec(0xb2, 1, 120_000, { kind: "supply_status", status: "en_route", etaMin: 8, ref: request.id }, "B2");
    const lateAck = rec(0xb3, 1, 180_000, { kind: "supply_status", status: "acknowledged", ref: request.id }, "B3");
    for (const order of [[request, ack, enRoute, lateAck], [lateAck, enRoute, ack, request]]) {
      const [card] = boardsFrom(order).snapshot(T0).requests;
      expect(card).toMatchObject({ state: "en_route", etaMin: 8, etaAt: T0 + 120_000 + 8 * 60_000, decidedBy: { by: "B2", at: T0 + 120_000 } });
      expect(card?.history.map((step) => step.by)).toEqual(["B1", "B2", "B3"]);
    }
    const delivered = boardsFrom([request, ack, enRoute, rec(0x10, 2, 240_000, { kind: "supply_status", status: "delivered", ref: request.id }, "M1")]);
    expect(delivered.snapshot(T0).requests[0]).toMatchObject({ state: "delivered", decidedBy: { by: "M1" } });
    expect(boardsFrom([ack]).snapshot(T0).requests).toEqual([]);
  });

  it("fold incident reports into one incident; an ack acknowledges it, a later 'complete' closes it", () => {
    const first = rec(0x10, 1, 0, { kind: "incident", incident: "injury", severity: "moderate", casualties: 1, hazards: ["gas"], place: { landmark: 2 } }, "M1");
    const update = rec(0x10, 2, 60_000, { kind: "incident", incident: "injury", severity: "severe", casualties: 3, triage: { immediate: 1 }, hazards: ["fire"] }, "M1");
    const seen = rec(0xb1, 1, 90_000, { kind: "ack", code: "received", refs: [first.id] }, "B1");
    const close = rec(0xb1, 2, 120_000, { kind: "ack", code: "complete", refs: [update.id] }, "B1");
    const boards = boardsFrom([close, seen, update, first]).snapshot(T0);
    expect(boards.incidents).toEqual([
      {
        key: "00000010:injury",
        incident: "injury",
        state: "closed",
        reported: { id: first.id, by: "M1", at: T0 },
        updated: { id: update.id, by: "M1", at: T0 + 60_000 },
        severity: "severe",
        casualties: 3,
        triage: { immediate: 1 },
        hazards: ["fire", "gas"],
        responderOnScene: false,
        place: { landmark: 2 },
        reports: 2,
        acknowledged: { id: seen.id, by: "B1", at: T0 + 90_000 },
        closed: { id: close.id, by: "B1", at: T0 + 120_000 },
      },
    ]);
    const again = rec(0x10, 3, 180_000, { kind: "incident", incident: "injury", severity: "minor", casualties: 1 }, "M1");
    expect(boardsFrom([first, update, seen, close, again]).snapshot(T0).incidents[0]).toMatchObject({ state: "open", reports: 3 });
  });

  it("show who is on shift, where and since when, confirmed handoffs, and overdue check-ins", () => {
    const on = rec(0x10, 1, 0, { kind: "shift", action: "on", role: "medic", place: { landmark: 1 } }, "M1");
    const checkin = rec(0x10, 2, 20 * 60_000, { kind: "checkin", status: "ok", battery: 80 }, "M1");
    const handoff = rec(0x10, 3, 40 * 60_000, { kind: "shift", action: "handoff", from: "M1", to: "M2", role: "medic" }, "M1");
    const handoffM2 = rec(0x20, 1, 41 * 60_000, { kind: "shift", action: "handoff", from: "M1", to: "M2", role: "medic" }, "M2");
    const boards = boardsFrom([on, checkin]);
    expect(boards.snapshot(T0 + 49 * 60_000).shifts).toEqual([
      { callsign: "M1", onShift: true, role: "medic", place: { landmark: 1 }, since: { id: on.id, by: "M1", at: T0 }, lastCheckin: { id: checkin.id, by: "M1", at: T0 + 20 * 60_000, status: "ok", battery: 80 }, overdue: false },
    ]);
    expect(boards.snapshot(T0 + 51 * 60_000).shifts[0]?.overdue).toBe(true);
    const after = boardsFrom([on, checkin, handoff]).snapshot(T0 + 42 * 60_000);
    expect(after.shifts.map((card) => [card.callsign, card.onShift])).toEqual([["M2", true], ["M1", false]]);
    expect(after.handoffs).toMatchObject([{ from: "M1", to: "M2", confirmedBy: ["M1"], confirmed: false }]);
    expect(boardsFrom([on, handoffM2, handoff]).snapshot(T0).handoffs).toMatchObject([{ confirmedBy: ["M1", "M2"], confirmed: true }]);
  });
});

describe("boards at a station", () => {
  const dir = useTempDir();
  const openStore = (): Promise<RecordStore> => RecordStore.open(new Level<string, Uint8Array>(dir.path, { valueEncoding: "view" }), codebook);
  const logger = pino({ level: "silent" });

  it("are kept live as records are stored, and rebuilt from the log at start equal to them", async () => {
    let now = T0;
    const radio = new ScriptedRadio();
    const store = await openStore();
    const station = new Station({ name: "Base", radio, store, presets, codebook, site, logger, now: () => now });
    const events: BoardsEvent[] = [];
    station.subscribeBoards((event) => events.push(event));
    await station.start();
    radio.hear(0x10, 0x100, "NEED WATER");
    now += 60_000;
    radio.hear(0x10, 0x200, "INJURED 1");
    radio.hear(0x20, 0x300, "ON SHIFT");
    radio.hear(0x20, 0x300, "ON SHIFT");
    const status = packRecords([{ seq: 7, body: { kind: "supply_status", status: "en_route", etaMin: 5, ref: { origin: 0x10, seq: 0x100 } } }], codebook);
    if (!status.ok) throw status.error;
    radio.hearBytes(0x30, 0x400, status.value[0]!, MESHAID_PORTNUM);
    await station.idle();
    const live = station.boards();
    expect(live.requests).toMatchObject([{ state: "en_route", etaMin: 5 }]);
    expect(live.incidents).toHaveLength(1);
    expect(live.shifts).toMatchObject([{ callsign: "!00000020", onShift: true }]);
    expect(events).toEqual([
      { type: "boards", boards: ["requests"] },
      { type: "boards", boards: ["incidents"] },
      { type: "boards", boards: ["shifts"] },
      { type: "boards", boards: ["requests"] },
    ]);
    await station.stop();
    await store.close();

    const reopened = await openStore();
    const again = new Station({ name: "Base", radio: new ScriptedRadio(), store: reopened, presets, codebook, site, logger, now: () => now });
    await again.start();
    expect(again.boards()).toEqual(live);
    await again.stop();
    await reopened.close();
  });
});
