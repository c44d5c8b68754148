// The delivery state of this station's own records, in honest words with a symbol, as the
// station's delivery events move them; and the header's relay line.
import { renderToString } from "ink";
import { afterEach, describe, expect, test, vi } from "vitest";
import { cleanup, render } from "ink-testing-library";
import type { RecordDelivery, StationSnapshot } from "../../src/station/index.ts";
import { Console, consoleReducer, deliveryText, initialConsoleState, initialView, Screen } from "../../src/ui/index.ts";
import { words } from "../../src/ui/i18n.ts";
import { at, connected, fakeStation, record } from "./fixtures.ts";

afterEach(() => {
  cleanup();
});

const BASE = 0xbbbb;
const ours = record({ kind: "supply_status", status: "en_route", ref: { origin: 0x1a2b, seq: 999 }, etaMin: 5 }, "BASE", at(2, 13, 0), BASE);
const heard = record({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" }, "MED1", at(2, 12, 0));
const clock = (): Date => at(2, 13, 45);

function snapshot(): StationSnapshot {
  return { name: "base-north", radio: connected, recordCount: 2, recent: [ours, heard] };
}

const delivery = (state: RecordDelivery["state"], reason?: string): RecordDelivery => ({ state, attempts: 1, at: at(2, 13, 1).getTime(), ...(reason ? { reason } : {}) });

function lineWith(frame: string | undefined, text: string): string {
  const line = (frame ?? "").split("\n").find((l) => l.includes(text));
  expect(line, `a line with ${text}`).toBeDefined();
  return line!;
}

describe("delivery state in the feed", () => {
  test("each state in words that claim no more than the radio knows, with a symbol", () => {
    const en = words("en");
    expect(deliveryText(delivery("queued"), en)).toBe("◷ queued");
    expect(deliveryText(delivery("sent"), en)).toBe("↑ sent to radio");
    expect(deliveryText(delivery("heard"), en)).toBe("◐ heard by a neighbour");
    expect(deliveryText(delivery("confirmed"), en)).toBe("✔ confirmed by recipient");
    expect(deliveryText(delivery("failed", "MAX_RETRANSMIT"), en)).toBe("✗ failed: max retransmit");
    expect(deliveryText(delivery("unknown"), en)).toBe("? unknown: no answer from the mesh");
    expect(deliveryText(delivery("unknown", "radio restarted"), en)).toBe("? unknown: radio restarted");
    // A hostile reason cannot drive the terminal.
    expect(deliveryText(delivery("failed", "\u001b[2J"), en)).toBe("✗ failed: ?[2j");
    const es = words("es");
    expect(deliveryText(delivery("heard"), es)).toBe("◐ oído por un vecino");
    expect(deliveryText(delivery("failed", "NO_ROUTE"), es)).toBe("✗ falló: no route");
    for (const state of ["queued", "sent", "heard", "confirmed", "failed", "unknown"] as const) {
      for (const w of [en, es]) expect(deliveryText(delivery(state), w)).not.toMatch(/deliver|entregad[oa] ?$/i);
    }
  });

  test("the reducer moves only the record the event names; an unknown id changes nothing", () => {
    const state = initialConsoleState(snapshot());
    const next = consoleReducer(state, { type: "delivery", id: ours.id, delivery: delivery("heard") });
    expect(next.records[0]!.delivery?.state).toBe("heard");
    expect(next.records[1]!.delivery).toBeUndefined();
    expect(consoleReducer(next, { type: "delivery", id: { origin: 1, seq: 1 }, delivery: delivery("failed") })).toBe(next);
  });

  test("the feed line follows the station's events: sent, heard, confirmed; failed with the reason", async () => {
    const station = fakeStation(snapshot());
    const app = render(<Console station={station.view} clock={clock} onQuit={() => {}} />);
    await vi.waitFor(() => expect(station.listenerCount()).toBe(1));
    // A record heard from a handheld has no delivery state.
    expect(lineWith(app.lastFrame(), "water ×1")).not.toMatch(/queued|sent|heard|confirmed|failed|unknown/);
    station.emit({ type: "delivery", id: ours.id, delivery: delivery("sent") });
    await vi.waitFor(() => expect(lineWith(app.lastFrame(), "en route")).toContain("↑ sent to radio"));
    station.emit({ type: "delivery", id: ours.id, delivery: delivery("heard") });
    await vi.waitFor(() => expect(lineWith(app.lastFrame(), "en route")).toContain("◐ heard by a neighbour"));
    station.emit({ type: "delivery", id: ours.id, delivery: delivery("confirmed") });
    await vi.waitFor(() => expect(lineWith(app.lastFrame(), "en route")).toContain("✔ confirmed by recipient"));
    station.emit({ type: "delivery", id: ours.id, delivery: { ...delivery("failed", "MAX_RETRANSMIT"), attempts: 3 } });
    await vi.waitFor(() => expect(lineWith(app.lastFrame(), "en route")).toContain("✗ failed: max retransmit"));
    expect(lineWith(app.lastFrame(), "en route")).toMatch(/BASE\s*$/);
    // The detail says it all: the state, the attempts and when.
    app.stdin.write("\r");
    await vi.waitFor(() => expect(app.lastFrame()).toContain("delivery: ✗ failed: max retransmit · 3 attempts · 02:13:01"));
  });

  test("in Spanish, and still within 80 columns with a long reason", () => {
    let state = initialConsoleState(snapshot());
    state = consoleReducer(state, { type: "delivery", id: ours.id, delivery: delivery("unknown", "no acknowledgement within 45 s after three attempts") });
    for (const language of ["en", "es"]) {
      const frame = renderToString(<Screen state={state} view={initialView(language)} rows={24} columns={80} now={clock()} labels={undefined} unsent={0} compose={undefined} />, { columns: 80 });
      for (const line of frame.split("\n")) expect([...line].length).toBeLessThanOrEqual(80);
      expect(lineWith(frame, "en route")).toContain(language === "es" ? "? desconocido: no ackno…" : "? unknown: no acknowled…");
    }
  });
});

describe("group delivery", () => {
  test("the feed shows how many base stations hold a record; the detail names the ones that do not yet", async () => {
    const station = fakeStation(snapshot());
    const app = render(<Console station={station.view} clock={clock} onQuit={() => {}} />);
    await vi.waitFor(() => expect(station.listenerCount()).toBe(1));
    station.emit({ type: "delivery", id: ours.id, delivery: { ...delivery("sent"), stations: { have: 3, of: 4, missing: ["BASE-S"] } } });
    await vi.waitFor(() => expect(lineWith(app.lastFrame(), "en route")).toContain("↑ 3/4 stations"));
    app.stdin.write("\r");
    await vi.waitFor(() => expect(app.lastFrame()).toContain("delivery: ↑ sent to radio · 3/4 stations (not yet at BASE-S) · 1 attempts"));
    app.stdin.write("\u001b");
    station.emit({ type: "delivery", id: ours.id, delivery: { ...delivery("heard"), stations: { have: 4, of: 4, missing: [] } } });
    await vi.waitFor(() => expect(lineWith(app.lastFrame(), "en route")).toContain("◐ 4/4 stations"));
  });
});

describe("relay in the header", () => {
  test("shown when the cli wires it: off until it has a state, then its link, peers and pending records", async () => {
    const relay: { status?: { link: "up" | "down"; peers: number; pending: number; reason?: string } } = {};
    const station = fakeStation(snapshot());
    const app = render(<Console station={station.view} clock={clock} onQuit={() => {}} relay={() => relay.status} />);
    await vi.waitFor(() => expect(station.listenerCount()).toBe(1));
    expect(app.lastFrame()!.split("\n")[0]).toContain("○ relay off");
    relay.status = { link: "down", peers: 0, pending: 7, reason: "broker unreachable" };
    // The header reads the relay with the clock, once a second.
    await vi.waitFor(() => expect(app.lastFrame()!.split("\n")[0]).toContain("✗ relay down (broker unreachable) · 0 peers · 7 pending"), { timeout: 3000 });

    cleanup();
    const without = render(<Console station={station.view} clock={clock} onQuit={() => {}} />);
    expect(without.lastFrame()!.split("\n")[0]).not.toContain("relay");
  });
});
