import { afterEach, describe, expect, test, vi } from "vitest";
import { cleanup, render } from "ink-testing-library";
import type { StationSnapshot } from "../../src/station/index.ts";
import { Console, type ConsoleProps } from "../../src/ui/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { at, connected, fakeStation, record } from "./fixtures.ts";
import type { FakeStation } from "./fixtures.ts";

afterEach(() => {
  cleanup();
});

const water = record({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" }, "MED1", at(2, 10, 0));
const eyewash = record({ kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }], priority: "urgent" }, "MED7", at(2, 12, 0));
const injury = record({ kind: "incident", incident: "injury", severity: "moderate", casualties: 1 }, "MAR2", at(2, 11, 30));
const handoff = record({ kind: "shift", action: "handoff", from: "M7", to: "M12" }, "M7", at(2, 13, 0));

function snapshot(overrides: Partial<StationSnapshot> = {}): StationSnapshot {
  return { name: "base-north", radio: connected, recordCount: 4, recent: [handoff, eyewash, injury, water], ...overrides };
}

const clock = (): Date => at(2, 13, 45);
const KEY = { tab: "\t", down: "\u001b[B", up: "\u001b[A", enter: "\r", escape: "\u001b" };

function lines(frame: string | undefined): string[] {
  return (frame ?? "").split("\n");
}

/** The line the selection marker is on. */
function selectedLine(frame: string | undefined): string {
  const found = lines(frame).filter((line) => line.startsWith("›"));
  expect(found).toHaveLength(1);
  return found[0]!;
}

async function mount(props: Partial<ConsoleProps> = {}, station: FakeStation = fakeStation(snapshot())) {
  const onQuit = vi.fn();
  const app = render(<Console station={station.view} clock={clock} onQuit={onQuit} {...props} />);
  await vi.waitFor(() => expect(station.listenerCount()).toBe(1));
  return { ...app, onQuit, station };
}

/** Types keys one at a time, waiting for each to show (`until`). */
async function type(app: { stdin: { write(s: string): void }; lastFrame(): string | undefined }, keys: string, until: (frame: string) => boolean) {
  app.stdin.write(keys);
  await vi.waitFor(() => expect(until(app.lastFrame() ?? ""), app.lastFrame()).toBe(true));
}

describe("screens", () => {
  test("the tab line names every screen, the current one in brackets (not colour alone)", async () => {
    const app = await mount();
    expect(lines(app.lastFrame())[3]).toMatch(/\[1 Feed\]\s+2 Requests 2\s+3 Incidents 1\s+4 Shifts\s+5 Nodes/);
    await type(app, "2", (f) => f.includes("[2 Requests 2]"));
    // The urgent request comes first, marked "!!" and with its status in words.
    expect(selectedLine(app.lastFrame())).toMatch(/^›!! open\s+02:12:00 urgent: eyewash ×10\s+MED7$/);
    await type(app, KEY.tab, (f) => f.includes("[3 Incidents 1]"));
    expect(selectedLine(app.lastFrame())).toContain("injury, 1 casualty");
    await type(app, KEY.tab, (f) => f.includes("[4 Shifts]"));
    expect(selectedLine(app.lastFrame())).toMatch(/handoff pending.*M12: handoff M7 → M12/);
    await type(app, "5", (f) => f.includes("[5 Nodes]"));
    expect(app.lastFrame()).toContain("MED1");
  });

  test("j/k and arrows move the selection; Enter shows the detail and history; Esc goes back", async () => {
    const app = await mount();
    expect(selectedLine(app.lastFrame())).toContain("handoff M7 → M12");
    await type(app, "j", (f) => selectedLine(f).includes("eyewash"));
    await type(app, KEY.down, (f) => selectedLine(f).includes("injury"));
    await type(app, "k", (f) => selectedLine(f).includes("eyewash"));
    await type(app, KEY.enter, (f) => f.includes("history (1)"));
    expect(app.lastFrame()).toContain("▲ REQUEST urgent: eyewash ×10");
    await type(app, KEY.escape, (f) => !f.includes("history ("));
    expect(selectedLine(app.lastFrame())).toContain("eyewash");
  });

  test("keys that arrive together are each a key", async () => {
    const app = await mount({ languages: ["en", "es"] });
    await type(app, "3?", (f) => f.includes("Keys"));
    await type(app, "?l", (f) => f.includes("[3 Incidentes 1]"));
  });

  test("/ filters the rows by their words, s sorts them; Esc shows all again", async () => {
    const app = await mount();
    await type(app, "2", (f) => f.includes("[2 Requests 2]"));
    await type(app, "/wat", (f) => f.includes("filter (Enter apply, Esc cancel): /wat_"));
    await type(app, KEY.enter, (f) => f.includes("/wat") && !f.includes("eyewash"));
    expect(selectedLine(app.lastFrame())).toContain("water ×1");
    await type(app, KEY.escape, (f) => f.includes("eyewash"));
    // Board order puts the urgent request first; by sender, MED1 comes before MED7.
    expect(selectedLine(app.lastFrame())).toContain("eyewash");
    await type(app, "ss", (f) => f.includes("↕sender"));
    expect(selectedLine(app.lastFrame())).toContain("water ×1");
  });

  test("? shows the keys; ? again closes it", async () => {
    const app = await mount();
    await type(app, "?", (f) => f.includes("Keys"));
    expect(app.lastFrame()).toContain("switch screen");
    await type(app, "?", (f) => !f.includes("Keys"));
  });

  test("q with unsent records asks; n stays, y quits", async () => {
    const app = await mount({ unsentCount: () => 3 });
    expect(lines(app.lastFrame())[1]).toContain("3 unsent");
    await type(app, "q", (f) => f.includes("3 records are not sent yet. Quit anyway?"));
    expect(app.onQuit).not.toHaveBeenCalled();
    await type(app, "n", (f) => f.includes("q quit"));
    expect(app.onQuit).not.toHaveBeenCalled();
    await type(app, "q", (f) => f.includes("Quit anyway?"));
    app.stdin.write("y");
    await vi.waitFor(() => expect(app.onQuit).toHaveBeenCalledTimes(1));
  });

  test("the header shows the transmit queue, the airtime budget and the channel; queued records make q ask", async () => {
    const transmit = () => ({ queued: { life_safety: 1, request: 2 }, airtimeUsedMs: 12_400, airtimeBudgetMs: 36_000, channelUtilization: 4.2 });
    const app = await mount({ transmit });
    // The first minute's sample is the sparkline's newest (rightmost) cell.
    await vi.waitFor(() => expect(lines(app.lastFrame())[1]).toMatch(/^4 records {2}ch 4% {12}▂ {2}air 12\/36 s {2}tx 3: life 1 req 2\s*$/));
    await type(app, "q", (f) => f.includes("3 records are not sent yet"));
  });

  test("l switches the screen's words and the codebook labels to Spanish", async () => {
    const labelsFor = (language: string) => (_category: string, name: string) => (language === "es" && name === "water" ? "agua" : name);
    const app = await mount({ languages: ["en", "es"], labelsFor });
    expect(app.lastFrame()).toContain("water ×1");
    await type(app, "l", (f) => f.includes("Actividad"));
    expect(app.lastFrame()).toContain("agua ×1");
    expect(app.lastFrame()).toContain("q salir");
    expect(lines(app.lastFrame())[1]).toContain("registros");
  });

  test("actions go to onAct with the selected record; without onAct the footer says they are not sent", async () => {
    const onAct = vi.fn(() => Promise.resolve());
    const app = await mount({ onAct });
    await type(app, "2", (f) => f.includes("[2 Requests"));
    app.stdin.write("a");
    await vi.waitFor(() => expect(onAct).toHaveBeenCalledWith({ type: "acknowledge", ref: eyewash.id }));
    await vi.waitFor(() => expect(lines(app.lastFrame()).at(-1)).toContain("sent to the station"));
    await type(app, "d", (f) => f.includes("ETA in minutes"));
    app.stdin.write("5");
    await vi.waitFor(() => expect(app.lastFrame()).toContain("ETA in minutes (Enter to dispatch, Esc to cancel): 5_"));
    app.stdin.write(KEY.enter);
    await vi.waitFor(() => expect(onAct).toHaveBeenCalledWith({ type: "dispatch", ref: eyewash.id, etaMin: 5 }));

    cleanup();
    const bare = await mount();
    await type(bare, "2", (f) => f.includes("[2 Requests"));
    await type(bare, "v", (f) => f.includes("the station does not take actions yet"));
  });

  test("every board's verbs are one key away and named in its footer: confirm a handoff, close an incident", async () => {
    const onAct = vi.fn(() => Promise.resolve());
    const app = await mount({ onAct, languages: ["en", "es"] });
    await type(app, "2", (f) => lines(f).at(-1)!.includes("a ack  d dispatch+ETA  v delivered  x cancel"));
    await type(app, "3", (f) => lines(f).at(-1)!.includes("a ack  x close"));
    app.stdin.write("x");
    await vi.waitFor(() => expect(onAct).toHaveBeenCalledWith({ type: "close", ref: injury.id }));
    await vi.waitFor(() => expect(lines(app.lastFrame()).at(-1)).toContain("sent to the station"));
    await type(app, "4", (f) => lines(f).at(-1)!.includes("a confirm handoff"));
    expect(selectedLine(app.lastFrame())).toContain("handoff pending");
    app.stdin.write("a");
    await vi.waitFor(() => expect(onAct).toHaveBeenCalledWith({ type: "confirm-handoff", ref: handoff.id, callsign: "M12" }));
    // The footer says what the action did; Esc clears it and the keys come back.
    await vi.waitFor(() => expect(lines(app.lastFrame()).at(-1)).toContain("sent to the station"));
    await type(app, KEY.escape, (f) => lines(f).at(-1)!.includes("a confirm handoff"));
    await type(app, "l", (f) => lines(f).at(-1)!.includes("a confirmar relevo"));
  });

  test("e writes the report through onExport and says where it went", async () => {
    const onExport = vi.fn(() => Promise.resolve("/data/report-1.md"));
    const app = await mount({ onExport });
    await type(app, "e", (f) => f.includes("✓ /data/report-1.md"));
    expect(onExport).toHaveBeenCalledTimes(1);
  });

  test("a failed action shows why", async () => {
    const app = await mount({ onAct: () => Promise.reject(new Error("MED7 may not dispatch")) });
    await type(app, "2", (f) => f.includes("[2 Requests"));
    await type(app, "x", (f) => f.includes("✗ MED7 may not dispatch"));
  });

  test("compose shows the bytes and the time on air before sending, and sends through onSend", async () => {
    const onSend = vi.fn();
    const compose = { codebook, presets: presets.presets.map((p) => ({ text: p.text, body: p.body })), airtimeMs: () => 452 };
    const app = await mount({ compose, onSend });
    await type(app, "c", (f) => f.includes("Compose"));
    expect(app.lastFrame()).toContain(`› ${presets.presets[0]!.text}`);
    expect(app.lastFrame()).toMatch(/payload \d+ bytes, on air \d+ bytes · LONG_FAST time on air 452 ms/);
    expect(app.lastFrame()).toMatch(/7f [0-9a-f]{2}/);
    await type(app, KEY.tab, (f) => f.includes("‹ supply request › 2/9"));
    for (const [n, kind] of [[3, "supply offer"], [4, "supply status"], [5, "incident"]] as const) await type(app, KEY.tab, (f) => f.includes(`‹ ${kind} › ${n}/9`));
    expect(app.lastFrame()).toMatch(/› incident: ‹ .+ ›/);
    for (const [n, kind] of [[6, "shift"], [7, "check-in"], [8, "acknowledgement"], [9, "text to a handheld"]] as const) await type(app, KEY.tab, (f) => f.includes(`‹ ${kind} › ${n}/9`));
    await type(app, KEY.down, (f) => f.includes('› text: "_"'));
    await type(app, "ñ", (f) => f.includes("2/200 bytes (1 chars)"));
    app.stdin.write(KEY.enter);
    await vi.waitFor(() => expect(onSend).toHaveBeenCalledWith({ kind: "text", to: undefined, text: "ñ" }));
    await vi.waitFor(() => expect(app.lastFrame()).not.toContain("Compose"));
  });

  test("compose a record of every kind: each shows its fields, bytes and airtime, and goes to onSend as records; a refusal shows why", async () => {
    const onSend = vi.fn((outgoing: { kind: string; bodies?: unknown[] }) => (outgoing.kind === "records" ? Promise.reject(new Error("composed records cannot be sent yet")) : Promise.resolve()));
    const compose = { codebook, presets: presets.presets.map((p) => ({ text: p.text, body: p.body })), airtimeMs: () => 452 };
    const app = await mount({ compose, onSend });
    const kinds = ["preset", "supply request", "supply offer", "supply status", "incident", "shift", "check-in", "acknowledgement"];
    const tabTo = async (kind: string) => {
      await type(app, "c", (f) => f.includes("‹ preset › 1/9"));
      for (let n = 2; n <= kinds.indexOf(kind) + 1; n += 1) await type(app, KEY.tab, (f) => f.includes(`‹ ${kinds[n - 1]} › ${n}/9`));
      expect(app.lastFrame()).toMatch(/payload \d+ bytes, on air \d+ bytes · LONG_FAST time on air 452 ms/);
    };
    const sent = async () => {
      app.stdin.write(KEY.enter);
      await vi.waitFor(() => expect(app.lastFrame()).toContain("✗ composed records cannot be sent yet"));
      return onSend.mock.calls.at(-1)![0].bodies?.[0];
    };

    // A status about an open request: the open requests are the choices (urgent first).
    await tabTo("supply status");
    expect(app.lastFrame()).toContain("› about: ‹ urgent: eyewash ×10 MED7 ›");
    await type(app, KEY.down, (f) => f.includes("› status: ‹ acknowledged ›"));
    await type(app, "\u001b[C", (f) => f.includes("› status: ‹ en route ›"));
    await type(app, KEY.down, (f) => f.includes("› ETA (min): _"));
    await type(app, "8", (f) => f.includes("› ETA (min): 8_"));
    expect(await sent()).toEqual({ kind: "supply_status", status: "en_route", ref: eyewash.id, etaMin: 8 });

    // A handoff needs who takes over; callsigns are typed in capitals.
    await tabTo("shift");
    await type(app, "\u001b[C\u001b[C", (f) => f.includes("› shift: ‹ handoff ›"));
    expect(app.lastFrame()).toContain("✗ a handoff needs the callsign taking over");
    await type(app, KEY.down + KEY.down + KEY.down, (f) => f.includes("› to (callsign): _"));
    await type(app, "m12", (f) => f.includes("› to (callsign): M12_"));
    expect(await sent()).toEqual({ kind: "shift", action: "handoff", to: "M12" });

    await tabTo("check-in");
    await type(app, KEY.down, (f) => f.includes("› battery %: _"));
    await type(app, "180", (f) => f.includes("✗ the battery must be a whole number from 0 to 100"));
    await type(app, "\u007f", (f) => f.includes("› battery %: 18_"));
    expect(await sent()).toEqual({ kind: "checkin", status: "ok", battery: 18 });

    await tabTo("acknowledgement");
    await type(app, KEY.down + "\u001b[C", (f) => f.includes("› answer: ‹ will comply ›"));
    expect(await sent()).toEqual({ kind: "ack", code: "wilco", refs: [eyewash.id] });

    await tabTo("supply offer");
    expect(await sent()).toMatchObject({ kind: "supply_offer", lines: [{ quantity: 1 }] });
  });

  test("lists are windowed: 5,000 records render only the rows that fit", async () => {
    const recent = Array.from({ length: 5000 }, (_, i) => record({ kind: "supply_request", lines: [{ item: `item${4999 - i}` }], priority: "normal" }, "MED1", at(1, 0, 0)));
    const app = await mount({}, fakeStation(snapshot({ recent, recordCount: 5000 })));
    expect(lines(app.lastFrame())).toHaveLength(23);
    await type(app, "G", (f) => selectedLine(f).includes("item4000"));
    // The feed keeps the newest 1,000; the bottom is the oldest of them.
    expect(app.lastFrame()).not.toContain("item4999");
    // The boards hold all 5,000.
    await type(app, "2", (f) => f.includes("[2 Requests 5000]"));
    expect(lines(app.lastFrame())).toHaveLength(23);
  });
});
