import { EventEmitter } from "node:events";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, test, vi } from "vitest";
import { cleanup, render } from "ink-testing-library";
import type { StationSnapshot } from "../../src/station/index.ts";
import { Console, renderConsole } from "../../src/ui/index.ts";
import { at, connected, fakeStation, record } from "./fixtures.ts";
import type { FakeStation } from "./fixtures.ts";

afterEach(() => {
  cleanup();
});

const water = record({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" }, "MED1", at(2, 10, 0));
const injury = record({ kind: "incident", incident: "injury", severity: "moderate", casualties: 1 }, "MAR2", at(2, 11, 30));

function snapshot(overrides: Partial<StationSnapshot> = {}): StationSnapshot {
  return { name: "base-north", radio: connected, recordCount: 2, recent: [injury, water], ...overrides };
}

const clock = (): Date => at(2, 13, 45);

/** 200 records, newest ("item199") first. */
function fullFeed() {
  return Array.from({ length: 200 }, (_, i) =>
    record({ kind: "supply_request", lines: [{ item: `item${199 - i}`, quantity: 1 }], priority: "normal" }, "MED1", at(1, 0, 0)),
  );
}

function lines(frame: string | undefined): string[] {
  return (frame ?? "").split("\n");
}

/** The index of the one frame line containing `text`. */
function lineOf(frame: string | undefined, text: string): number {
  const found = lines(frame).flatMap((line, i) => (line.includes(text) ? [i] : []));
  expect(found, `exactly one line with ${JSON.stringify(text)}`).toHaveLength(1);
  return found[0]!;
}

function mount(station: FakeStation, onQuit: () => void = () => {}) {
  return render(<Console station={station.view} clock={clock} onQuit={onQuit} />);
}

/** Effects have run (the subscription and the key handler are set up together). */
async function subscribed(station: FakeStation): Promise<void> {
  await vi.waitFor(() => expect(station.listenerCount()).toBe(1));
}

describe("Console", () => {
  test("the header shows the station, the radio in words, the record count and the clock", () => {
    const { lastFrame } = mount(fakeStation(snapshot()));
    const header = lines(lastFrame()).slice(0, 2).join("\n");
    expect(header).toContain("base-north");
    expect(header).toContain("radio: connected");
    expect(header).toContain("2 records");
    expect(header).toContain("02:13:45");
  });

  test("existing records show newest first, one structured line each", () => {
    const { lastFrame } = mount(fakeStation(snapshot()));
    const frame = lastFrame();
    const injuryLine = lineOf(frame, "injury, 1 casualty");
    const waterLine = lineOf(frame, "water ×1");
    expect(injuryLine).toBeLessThan(waterLine);
    expect(lines(frame)[injuryLine]).toMatch(/^[› ]02:11:30\s+✚ INCIDENT\s+injury, 1 casualty\s+MAR2\s*$/);
    expect(lines(frame)[waterLine]).toMatch(/^[› ]02:10:00\s+▲ REQUEST\s+water ×1\s+MED1\s*$/);
  });

  test("an empty feed says so", () => {
    const { lastFrame } = mount(fakeStation(snapshot({ recent: [], recordCount: 0 })));
    expect(lastFrame()).toContain("0 records");
    expect(lastFrame()).toContain("no records yet");
  });

  test("a new record appears at the top with its sender and detail, and the count follows", async () => {
    const station = fakeStation(snapshot());
    const { lastFrame } = mount(station);
    await subscribed(station);
    const eyewash = record({ kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }], priority: "urgent" }, "MED7", at(2, 13, 40));
    station.emit({ type: "record", record: eyewash, recordCount: 3 });
    await vi.waitFor(() => expect(lastFrame()).toContain("urgent: eyewash ×10"));
    const frame = lastFrame();
    const top = lineOf(frame, "urgent: eyewash ×10");
    expect(lines(frame)[top]).toMatch(/^[› ]02:13:40\s+▲ REQUEST\s+urgent: eyewash ×10\s+MED7\s*$/);
    expect(top).toBeLessThan(lineOf(frame, "injury, 1 casualty"));
    expect(lines(frame)[1]).toContain("3 records");
  });

  test("a radio status change shows in the header with its reason", async () => {
    const station = fakeStation(snapshot());
    const { lastFrame } = mount(station);
    await subscribed(station);
    station.emit({ type: "radio", radio: { status: "reconnecting", reason: "device-rebooted" } });
    await vi.waitFor(() => expect(lines(lastFrame())[0]).toContain("radio: reconnecting (device rebooted)"));
    expect(lastFrame()).not.toContain("radio: connected");
    station.emit({ type: "radio", radio: connected });
    await vi.waitFor(() => expect(lines(lastFrame())[0]).toContain("radio: connected"));
  });

  test("skipped input shows in the footer", async () => {
    const station = fakeStation(snapshot());
    const { lastFrame } = mount(station);
    await subscribed(station);
    expect(lastFrame()).not.toContain("skipped");
    station.emit({ type: "skipped", reason: "garbled frame" });
    await vi.waitFor(() => expect(lines(lastFrame()).at(-1)).toContain("skipped 1, last: garbled frame"));
    expect(lines(lastFrame()).at(-1)).toContain("q quit");
  });

  test("a record that arrives before the subscription is not lost", async () => {
    const station = fakeStation(snapshot());
    // The station moves on right after the first snapshot, before the console subscribes.
    const late = record({ kind: "shift", action: "on" }, "MED9", at(2, 12, 0));
    const first = station.view.snapshot;
    station.view.snapshot = () => {
      station.setSnapshot(snapshot({ recent: [late, injury, water], recordCount: 3 }));
      station.view.snapshot = first;
      return snapshot();
    };
    const { lastFrame } = mount(station);
    await subscribed(station);
    await vi.waitFor(() => expect(lastFrame()).toContain("on shift"));
    expect(lines(lastFrame())[lineOf(lastFrame(), "on shift")]).toContain("MED9");
    expect(lines(lastFrame())[1]).toContain("3 records");
  });

  test("the feed shows only what fits the terminal, newest first", () => {
    const { lastFrame } = mount(fakeStation(snapshot({ recent: fullFeed(), recordCount: 200 })));
    const frame = lastFrame();
    // ink-testing-library reports no height, so the console assumes 24 rows and leaves one free.
    expect(lines(frame).length).toBe(23);
    expect(frame).toContain("item199 ×1");
    expect(frame).not.toContain("item0 ×1");
    expect(lines(frame).at(-1)).toContain("q quit");
  });

  test("the feed follows a terminal resize", async () => {
    const station = fakeStation(snapshot({ recent: fullFeed(), recordCount: 200 }));
    const { lastFrame, stdout } = mount(station);
    await subscribed(station);
    Object.assign(stdout, { rows: 12 });
    stdout.emit("resize");
    await vi.waitFor(() => expect(lines(lastFrame()).length).toBe(11));
    expect(lastFrame()).toContain("item199 ×1");
    expect(lines(lastFrame()).at(-1)).toContain("q quit");
  });

  test("q calls onQuit; other keys do not", async () => {
    const station = fakeStation(snapshot());
    const onQuit = vi.fn();
    const { stdin } = mount(station, onQuit);
    await subscribed(station);
    stdin.write("x");
    stdin.write("q");
    await vi.waitFor(() => expect(onQuit).toHaveBeenCalledTimes(1));
    expect(onQuit).toHaveBeenCalledWith();
  });

  test("Ctrl-C calls onQuit", async () => {
    const station = fakeStation(snapshot());
    const onQuit = vi.fn();
    const { stdin } = mount(station, onQuit);
    await subscribed(station);
    stdin.write("\u0003");
    await vi.waitFor(() => expect(onQuit).toHaveBeenCalledTimes(1));
  });

  test("unmounting unsubscribes from the station", async () => {
    const station = fakeStation(snapshot());
    const { unmount } = mount(station);
    await subscribed(station);
    unmount();
    expect(station.listenerCount()).toBe(0);
  });
});

/** A terminal of a given size, enough for Ink: it collects what is written. */
class FakeTerminal extends EventEmitter {
  isTTY = true;
  output = "";
  readonly columns: number;
  readonly rows: number;
  constructor(columns: number, rows: number) {
    super();
    this.columns = columns;
    this.rows = rows;
  }
  write = (chunk: string): boolean => {
    this.output += chunk;
    return true;
  };
  /** The lines of the last frame drawn (each frame starts with the header). */
  lastFrameLines(header: string): string[] {
    const text = stripVTControlCharacters(this.output);
    return text.slice(text.lastIndexOf(header)).trimEnd().split("\n");
  }
}

class FakeKeyboard extends EventEmitter {
  isTTY = true;
  rawMode = false;
  private pending: string[] = [];
  press(keys: string): void {
    this.pending.push(keys);
    this.emit("readable");
  }
  read = (): string | null => this.pending.shift() ?? null;
  setRawMode(mode: boolean): this {
    this.rawMode = mode;
    return this;
  }
  setEncoding(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

describe("renderConsole", () => {
  test("draws at 80x24, and q calls onQuit then unmounts and restores the keyboard", async () => {
    const station = fakeStation(snapshot());
    const stdout = new FakeTerminal(80, 24);
    const stdin = new FakeKeyboard();
    // onQuit runs while the console is still mounted (still subscribed), then it unmounts.
    const onQuit = vi.fn(() => station.listenerCount());
    const handle = renderConsole(station.view, {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      onQuit,
    });
    await subscribed(station);
    expect(stdin.rawMode).toBe(true);
    stdin.press("q");
    await handle.waitUntilExit();
    expect(onQuit).toHaveBeenCalledTimes(1);
    expect(onQuit).toHaveReturnedWith(1);
    expect(station.listenerCount()).toBe(0);
    expect(stdin.rawMode).toBe(false);
    expect(stdout.output).toContain("base-north");
    expect(stdout.output).toContain("water ×1");
  });

  test("unmount() ends it without onQuit", async () => {
    const station = fakeStation(snapshot());
    const onQuit = vi.fn();
    const handle = renderConsole(station.view, {
      stdout: new FakeTerminal(80, 24) as unknown as NodeJS.WriteStream,
      stdin: new FakeKeyboard() as unknown as NodeJS.ReadStream,
      onQuit,
    });
    await subscribed(station);
    handle.unmount();
    await handle.waitUntilExit();
    expect(onQuit).not.toHaveBeenCalled();
    expect(station.listenerCount()).toBe(0);
  });

  test("fits 80x24 with a full feed", async () => {
    const station = fakeStation(
      snapshot({ recent: fullFeed(), recordCount: 200, radio: { status: "reconnecting", reason: "handshake-timeout" } }),
    );
    const stdout = new FakeTerminal(80, 24);
    const handle = renderConsole(station.view, {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: new FakeKeyboard() as unknown as NodeJS.ReadStream,
      clock,
    });
    await subscribed(station);
    // In CI Ink writes only the final frame, on unmount; elsewhere that frame is the same.
    handle.unmount();
    await handle.waitUntilExit();
    const frame = stdout.lastFrameLines("base-north");
    expect(frame[0]).toContain("radio: reconnecting (radio did not answer)");
    expect(frame[0]).toContain("02:13:45");
    expect(frame.length).toBeLessThanOrEqual(23);
    expect(frame.length).toBeGreaterThanOrEqual(20);
    expect(frame.join("\n")).toContain("item199 ×1");
    expect(frame.at(-1)).toContain("q quit");
    for (const line of frame) expect([...line].length).toBeLessThanOrEqual(80);
  });
});
