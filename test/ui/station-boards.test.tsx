import { afterEach, describe, expect, test, vi } from "vitest";
import { cleanup, render } from "ink-testing-library";
import type { BoardsEvent, BoardsSnapshot, StationBoardsView, StationSnapshot } from "../../src/station/index.ts";
import { Console, consoleReducer, initialConsoleState } from "../../src/ui/index.ts";
import { at, connected, fakeStation, record } from "./fixtures.ts";

afterEach(() => {
  cleanup();
});

const water = record({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" }, "MED1", at(2, 10, 0));
const snap: StationSnapshot = { name: "base", radio: connected, recordCount: 1, recent: [{ ...water, place: "North Gate" }] };
const act = (by: string, h: number, m: number, seq = 900) => ({ id: { origin: 0x99, seq }, by, at: at(h, m, 0).getTime() });

function boards(overrides: Partial<BoardsSnapshot> = {}): BoardsSnapshot {
  return {
    requests: [
      {
        id: water.id,
        key: "k",
        requested: { id: water.id, by: "MED1", at: water.receivedAt },
        lines: [{ item: "water", quantity: 1 }],
        priority: "normal",
        place: { landmark: 3 },
        state: "en_route",
        etaMin: 7,
        history: [{ ...act("BASE", 2, 11), status: "en_route", etaMin: 7 }],
      },
    ],
    incidents: [],
    shifts: [{ callsign: "M7", onShift: true, role: "medic", since: act("M7", 1, 0, 901), overdue: true }],
    handoffs: [{ key: "h", from: "M3", to: "M4", at: act("M3", 2, 0, 902), confirmedBy: ["M3"], confirmed: false }],
    roster: [{ num: 0x1a2b, callsign: "MED1", batteryLevel: 77, lastHeardMs: at(2, 12, 0).getTime() }],
    asOf: at(2, 13, 0).getTime(),
    ...overrides,
  };
}

function boardsStation(initial: BoardsSnapshot) {
  const base = fakeStation(snap);
  let current = initial;
  const listeners = new Set<(event: BoardsEvent) => void>();
  const view: StationBoardsView = {
    ...base.view,
    boards: () => current,
    subscribeBoards(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return {
    base,
    view,
    set(next: BoardsSnapshot) {
      current = next;
      for (const listener of listeners) listener({ type: "boards", boards: ["requests"] });
    },
    emit: (event: BoardsEvent) => listeners.forEach((listener) => listener(event)),
    listenerCount: () => listeners.size,
  };
}

describe("the station's boards", () => {
  test("the reducer puts the station's cards on screen in place of the derived rows", () => {
    const state = consoleReducer(initialConsoleState(snap), { type: "boards", boards: boards() });
    const request = state.station!.requests[0]!;
    expect(request).toMatchObject({ status: "en_route", etaMin: 7 });
    // The place in words as the station wrote it on the record the console has.
    expect(request.record.place).toBe("North Gate");
    expect(request.history).toHaveLength(2);
    expect(state.station!.shifts.map((row) => [row.callsign, row.state])).toEqual([
      ["M7", "overdue"],
      ["M4", "handoff"],
    ]);
    expect(state.station!.nodes[0]).toMatchObject({ sender: "MED1", battery: 77, records: 1 });
  });

  test("the console shows them, follows their changes and says how an action went", async () => {
    const station = boardsStation(boards());
    const app = render(<Console station={station.view} clock={() => at(2, 13, 45)} onQuit={() => {}} />);
    await vi.waitFor(() => expect(station.listenerCount()).toBe(1));
    app.stdin.write("2");
    await vi.waitFor(() => expect(app.lastFrame()).toMatch(/› +en route +02:10:00 water ×1 @ North Gate +ETA 7 min +MED1/));
    station.set(boards({ requests: [{ ...boards().requests[0]!, state: "delivered", etaMin: undefined }] }));
    await vi.waitFor(() => expect(app.lastFrame()).toMatch(/delivered +02:10:00 water ×1/));
    app.stdin.write("4");
    await vi.waitFor(() => expect(app.lastFrame()).toMatch(/!! overdue .*M7 \(medic\)/));
    station.emit({ type: "action", outcome: { ok: false, action: { verb: "dispatch", actor: { callsign: "B1", role: "coordinator" } }, reason: "B1 may not dispatch" } });
    await vi.waitFor(() => expect(app.lastFrame()).toContain("✗ dispatch: B1 may not dispatch"));
    app.unmount();
    expect(station.listenerCount()).toBe(0);
  });

  test("an open request shows the offer the board suggests beside it, and the detail says all of it", async () => {
    const open = { ...boards().requests[0]!, state: "open" as const, etaMin: undefined, history: [] };
    const match = { offer: { id: { origin: 0x77, seq: 5 }, by: "DEPOT", at: at(2, 9, 0).getTime() }, item: "water", quantity: 30, place: { landmark: 1 }, distanceM: 240 };
    const station = boardsStation(boards({ requests: [{ ...open, match }] }));
    const app = render(<Console station={station.view} clock={() => at(2, 13, 45)} onQuit={() => {}} />);
    await vi.waitFor(() => expect(station.listenerCount()).toBe(1));
    app.stdin.write("2");
    await vi.waitFor(() => expect(app.lastFrame()).toMatch(/open +02:10:00 water ×1 @ North G.* ⇄ offer water x30 @ landmark 1, 240 m/));
    for (const line of app.lastFrame()!.split("\n")) expect([...line].length).toBeLessThanOrEqual(100);
    app.stdin.write("\r");
    await vi.waitFor(() => expect(app.lastFrame()).toMatch(/⇄ suggested offer: water x30 @ .*, 240 m away · DEPOT 02:09:00/));
    // Once it is on its way the suggestion is gone from the line (the station stops suggesting it).
    app.stdin.write("\u001b");
    station.set(boards({ requests: [{ ...open, state: "en_route", etaMin: 7 }] }));
    await vi.waitFor(() => expect(app.lastFrame()).toMatch(/en route +02:10:00 water ×1 @ North Gate +ETA 7 min/));
    expect(app.lastFrame()).not.toContain("⇄");
  });

  test("the reducer carries the match into the request row with the offer's place in words", () => {
    const match = { offer: { id: { origin: 0x77, seq: 5 }, by: "DEPOT", at: at(2, 9, 0).getTime() }, item: "water", quantity: 30, place: { landmark: 1 }, distanceM: 240 };
    const state = consoleReducer(initialConsoleState(snap), { type: "boards", boards: boards({ requests: [{ ...boards().requests[0]!, state: "open", match }] }) });
    expect(state.station!.requests[0]!.match).toMatchObject({ item: "water", quantity: 30, by: "DEPOT", distanceM: 240 });
    expect(state.station!.requests[0]!.match!.place).toBeDefined();
  });
});
