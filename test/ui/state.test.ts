import { describe, expect, test } from "vitest";
import type { StationSnapshot } from "../../src/station/index.ts";
import { FEED_LIMIT, boardRows, consoleReducer, initialConsoleState } from "../../src/ui/index.ts";
import type { ConsoleState } from "../../src/ui/index.ts";
import { at, connected, record } from "./fixtures.ts";

const water = record({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" }, "MED1", at(2, 10, 0));
const injury = record({ kind: "incident", incident: "injury", severity: "moderate", casualties: 1 }, "MAR2", at(2, 11, 0));
const onShift = record({ kind: "shift", action: "on" }, "MED3", at(2, 12, 0));

function snapshot(overrides: Partial<StationSnapshot> = {}): StationSnapshot {
  return { name: "base-1", radio: connected, recordCount: 2, recent: [injury, water], ...overrides };
}

function many(count: number): ReturnType<typeof record>[] {
  return Array.from({ length: count }, (_, i) =>
    record({ kind: "supply_request", lines: [{ item: "water", quantity: i + 1 }], priority: "normal" }, "MED1", at(1, 0, 0), 0x77),
  );
}

describe("initialConsoleState", () => {
  test("starts from the snapshot", () => {
    const state = initialConsoleState(snapshot());
    expect(state).toMatchObject({ name: "base-1", radio: connected, recordCount: 2, records: [injury, water], skipped: undefined, limit: FEED_LIMIT });
    expect([...state.boards.requests.values()]).toEqual([water]);
    expect([...state.boards.incidents.values()]).toEqual([injury]);
  });

  test("keeps at most FEED_LIMIT records, the newest", () => {
    const recent = many(FEED_LIMIT + 25);
    const state = initialConsoleState(snapshot({ recent, recordCount: recent.length }));
    expect(state.records).toHaveLength(FEED_LIMIT);
    expect(state.records[0]).toBe(recent[0]);
    expect(state.records.at(-1)).toBe(recent[FEED_LIMIT - 1]);
  });

  test("the boards hold every record given, beyond the feed's bound", () => {
    const requests = Array.from({ length: 30 }, (_, i) => record({ kind: "supply_request", lines: [{ item: "water", quantity: i + 1 }], priority: "normal" }, "MED1", at(2, i, 0)));
    const state = initialConsoleState(snapshot({ recent: [...requests].reverse(), recordCount: 30 }), 10);
    expect(state.records).toHaveLength(10);
    expect(state.records[0]).toBe(requests[29]);
    expect(boardRows(state.boards).requests).toHaveLength(30);
  });
});

describe("consoleReducer", () => {
  test("a record is prepended and the count follows the station", () => {
    const state = consoleReducer(initialConsoleState(snapshot()), { type: "record", record: onShift, recordCount: 3 });
    expect(state.records).toEqual([onShift, injury, water]);
    expect(state.recordCount).toBe(3);
  });

  test("does not mutate the previous state", () => {
    const before = initialConsoleState(snapshot());
    const records = [...before.records];
    consoleReducer(before, { type: "record", record: onShift, recordCount: 3 });
    expect(before.records).toEqual(records);
    expect(before.recordCount).toBe(2);
  });

  test("the bound holds however many records arrive", () => {
    let state: ConsoleState = initialConsoleState(snapshot({ recent: [], recordCount: 0 }));
    const incoming = many(FEED_LIMIT + 50);
    incoming.forEach((r, i) => {
      state = consoleReducer(state, { type: "record", record: r, recordCount: i + 1 });
    });
    expect(state.records).toHaveLength(FEED_LIMIT);
    expect(state.records[0]).toBe(incoming.at(-1));
    expect(state.records.at(-1)).toBe(incoming[50]);
    expect(state.recordCount).toBe(FEED_LIMIT + 50);
  });

  test("a record delivered again is shown once", () => {
    const state = consoleReducer(initialConsoleState(snapshot()), {
      type: "record",
      record: { ...water },
      recordCount: 2,
    });
    expect(state.records).toEqual([injury, water]);
  });

  test("a radio event replaces the radio state", () => {
    const radio = { status: "reconnecting", reason: "device-rebooted" } as const;
    const state = consoleReducer(initialConsoleState(snapshot()), { type: "radio", radio });
    expect(state.radio).toEqual(radio);
    expect(state.records).toEqual([injury, water]);
  });

  test("skipped input is counted with its last reason", () => {
    let state = initialConsoleState(snapshot());
    state = consoleReducer(state, { type: "skipped", reason: "garbled frame" });
    state = consoleReducer(state, { type: "skipped", reason: "unknown codebook version" });
    expect(state.skipped).toEqual({ count: 2, lastReason: "unknown codebook version" });
  });

  test("a fresh snapshot replaces the feed and keeps the skipped count", () => {
    let state = consoleReducer(initialConsoleState(snapshot()), { type: "skipped", reason: "garbled frame" });
    state = consoleReducer(state, { type: "snapshot", snapshot: snapshot({ recent: [onShift, injury, water], recordCount: 3 }) });
    expect(state.records).toEqual([onShift, injury, water]);
    expect(state.recordCount).toBe(3);
    expect(state.skipped).toEqual({ count: 1, lastReason: "garbled frame" });
  });
});
