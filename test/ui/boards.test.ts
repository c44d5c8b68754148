import { describe, expect, test } from "vitest";
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
