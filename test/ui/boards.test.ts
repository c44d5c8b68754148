import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { RecordView } from "../../src/station/index.ts";
import { addRecord, boardRows, boardsFrom, emptyBoards } from "../../src/ui/index.ts";
import { at, record } from "./fixtures.ts";

const water = record({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" }, "MED1", at(2, 0, 0));
const eyewash = record({ kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }], priority: "urgent" }, "MED2", at(2, 1, 0));
const injury = record({ kind: "incident", incident: "injury", severity: "moderate", casualties: 1 }, "MAR2", at(2, 2, 0));

describe("boards from records", () => {
  test("requests: open first, urgent before normal, then newest", () => {
    const rows = boardRows(boardsFrom([water, eyewash]));
    expect(rows.requests.map((row) => row.record)).toEqual([eyewash, water]);
    expect(rows.requests.map((row) => row.status)).toEqual(["open", "open"]);
  });

  test("a status change about a request moves it along, with its history", () => {
    const enRoute = record({ kind: "supply_status", status: "en_route", ref: eyewash.id, etaMin: 8 }, "BASE", at(2, 3, 0));
    const delivered = record({ kind: "supply_status", status: "delivered", ref: eyewash.id }, "RUN1", at(2, 9, 0));
    let boards = boardsFrom([water, eyewash]);
    boards = addRecord(boards, enRoute);
    const moving = boardRows(boards).requests.find((row) => row.record === eyewash)!;
    expect(moving).toMatchObject({ status: "en_route", etaMin: 8 });
    boards = addRecord(boards, delivered);
    const rows = boardRows(boards).requests;
    // Delivered requests sink below open ones.
    expect(rows.map((row) => row.record)).toEqual([water, eyewash]);
    expect(rows[1]!.status).toBe("delivered");
    expect(rows[1]!.history).toEqual([eyewash, enRoute, delivered]);
  });

  test("a status heard before its request still applies", () => {
    const ack = record({ kind: "ack", code: "received", refs: [injury.id] }, "BASE", at(2, 2, 30));
    expect(boardRows(boardsFrom([ack, injury])).incidents[0]!.status).toBe("acknowledged");
    const done = record({ kind: "ack", code: "complete", refs: [injury.id] }, "BASE", at(2, 5, 0));
    expect(boardRows(boardsFrom([injury, ack, done])).incidents[0]!.status).toBe("closed");
  });

  test("shifts: a handoff waits for confirmation on the incoming side; the outgoing side is off", () => {
    const on = record({ kind: "shift", action: "on", role: "medic" }, "M7", at(1, 0, 0));
    const handoff = record({ kind: "shift", action: "handoff", from: "M7", to: "M12" }, "M7", at(3, 0, 0));
    const rows = boardRows(boardsFrom([on, handoff])).shifts;
    expect(rows.map((row) => [row.callsign, row.state])).toEqual([
      ["M12", "handoff"],
      ["M7", "off"],
    ]);
    expect(rows[1]!.history).toEqual([on, handoff]);
  });

  test("nodes: last heard, how many records, the last check-in and battery", () => {
    const checkin = record({ kind: "checkin", status: "needs_relief", battery: 40 }, "MED1", at(2, 30, 0));
    const rows = boardRows(boardsFrom([water, eyewash, checkin])).nodes;
    expect(rows.map((row) => row.sender)).toEqual(["MED1", "MED2"]);
    expect(rows[0]).toMatchObject({ records: 2, checkin: "needs_relief", battery: 40, lastHeard: at(2, 30, 0).getTime() });
  });

  test("adding a record leaves the old boards as they were", () => {
    const before = boardsFrom([water]);
    addRecord(before, eyewash);
    expect(before.requests.size).toBe(1);
    expect(emptyBoards.requests.size).toBe(0);
  });
});

describe("boards kept up to date record by record (property)", () => {
  // Records about a few ids, so statuses, acks and duplicates hit requests and incidents often.
  const idArb = fc.record({ origin: fc.constantFrom(1, 2), seq: fc.integer({ min: 1, max: 12 }) });
  const bodyArb = fc.oneof(
    fc.record({ kind: fc.constant("supply_request" as const), lines: fc.constant([{ item: "water", quantity: 1 }]).map((lines) => [...lines]), priority: fc.constantFrom("low" as const, "normal" as const, "high" as const, "urgent" as const) }),
    fc.record({ kind: fc.constant("incident" as const), incident: fc.constant("injury"), severity: fc.constant("moderate" as const), casualties: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant("supply_status" as const), status: fc.constantFrom("acknowledged" as const, "en_route" as const, "delivered" as const, "cancelled" as const, "unable" as const), ref: idArb }),
    fc.record({ kind: fc.constant("ack" as const), code: fc.constantFrom("received" as const, "wilco" as const, "unable" as const, "complete" as const), refs: fc.array(idArb, { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant("shift" as const), action: fc.constantFrom("on" as const, "off" as const) }),
  );
  // Few distinct times, so rows that tie on status, urgency and time are common.
  const recordArb = fc.record({ id: idArb, at: fc.integer({ min: 0, max: 3 }), body: bodyArb, sender: fc.constantFrom("MED1", "MED2", "RUN1") });

  test("the rows after each added record are the rows derived from all of them at once", () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 60 }), fc.integer({ min: 0, max: 60 }), (heard, start) => {
        const records: RecordView[] = heard.map((r) => ({ id: r.id, receivedAt: at(2, r.at, 0).getTime(), body: r.body, sender: r.sender }));
        // Derived once for the first records, then kept up to date one record at a time.
        let boards = boardsFrom(records.slice(0, start));
        boardRows(boards);
        for (const record of records.slice(start)) {
          boards = addRecord(boards, record);
          boardRows(boards);
        }
        expect(boardRows(boards)).toEqual(boardRows(boardsFrom(records)));
      }),
      { numRuns: 500 },
    );
  });
});
