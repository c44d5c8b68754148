// Console (issue 7 metric frameMs): time to render one frame of each screen with 100,000 records
// in the console's state (the slowest screen is reported), against rendering the same screen with
// no records in the same run (the brief's target: under 30 ms). Frames are rendered with Ink's
// renderToString at 80x24: React, layout and text, everything but the terminal write. Also
// reported: updateMs, one new record arriving with 100,000 in state (reducer, board rows, frame).
// MESHAID_BENCH_RECORDS sets the count.
import { createElement } from "react";
import { renderToString } from "ink";
import type { RecordView, StationSnapshot } from "../../src/station/index.ts";
import { boardRows, consoleReducer, initialConsoleState, initialView, Screen, TABS, type ConsoleState, type Tab } from "../../src/ui/index.ts";
import type { RecordBody } from "../../src/wire/index.ts";
import { result, type BenchResult } from "./result.ts";

const RECORDS = Number(process.env["MESHAID_BENCH_RECORDS"] ?? 100_000);
const FRAMES = 30;
const NOW = new Date(Date.UTC(2026, 5, 14, 12, 0, 0));

function body(i: number): RecordBody {
  switch (i % 6) {
    case 0:
      return { kind: "supply_request", lines: [{ item: ["water", "gauze", "eyewash"][i % 3]!, quantity: 1 + (i % 20) }], priority: i % 7 === 0 ? "urgent" : "normal", place: { landmark: 1 + (i % 5) } };
    case 1:
      return { kind: "incident", incident: "injury", severity: "moderate", casualties: i % 3 };
    case 2:
      return { kind: "shift", action: i % 4 === 0 ? "off" : "on", role: "medic" };
    case 3:
      return { kind: "checkin", status: "ok", battery: i % 100 };
    case 4:
      return { kind: "supply_status", status: "en_route", ref: { origin: 0x10000 + ((i - 4) % 300), seq: i - 4 }, etaMin: 5 };
    default:
      return { kind: "message", text: `status ${i}` };
  }
}

function records(count: number): RecordView[] {
  const out: RecordView[] = [];
  // Newest first, as a snapshot gives them.
  for (let i = count - 1; i >= 0; i -= 1) {
    const origin = 0x10000 + (i % 300);
    out.push({ id: { origin, seq: i }, receivedAt: NOW.getTime() - (count - i) * 1000, body: body(i), sender: `M${i % 300}` });
  }
  return out;
}

function snapshot(recent: RecordView[]): StationSnapshot {
  return { name: "bench", radio: { status: "connected", reason: "handshake-complete" }, recordCount: recent.length, recent };
}

function frame(state: ConsoleState, tab: Tab): string {
  // The selection in the middle of the list: the window is not simply the first rows.
  const view = { ...initialView(), tab, selection: { feed: state.records.length >> 1, requests: 5000, incidents: 5000, shifts: 150, nodes: 150 } };
  return renderToString(createElement(Screen, { state, view, rows: 24, columns: 80, now: NOW, labels: undefined, unsent: 0, compose: undefined }), { columns: 80 });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function timeFrames(state: ConsoleState, tab: Tab): number {
  frame(state, tab); // warm up (JIT, the board rows' cache)
  const times: number[] = [];
  for (let i = 0; i < FRAMES; i += 1) {
    const started = performance.now();
    frame(state, tab);
    times.push(performance.now() - started);
  }
  return median(times);
}

export function run(): Promise<BenchResult[]> {
  const empty = initialConsoleState(snapshot([]), RECORDS);
  const full = initialConsoleState(snapshot(records(RECORDS)), RECORDS);
  if (full.records.length !== RECORDS) throw new Error(`state holds ${full.records.length} of ${RECORDS} records`);
  for (const tab of TABS) for (let i = 0; i < 5; i += 1) frame(full, tab); // JIT warm-up for every screen
  let slowest = { tab: "feed" as Tab, ms: 0, baseline: 0 };
  const perScreen: BenchResult[] = [];
  for (const tab of TABS) {
    const baseline = timeFrames(empty, tab);
    const ms = timeFrames(full, tab);
    perScreen.push(result("console", `frameMs.${tab}`, ms, "ms", baseline));
    if (ms > slowest.ms) slowest = { tab, ms, baseline };
  }
  // One record arriving: the reducer, the board rows derived again, and the frame.
  const arrivals: number[] = [];
  let state = full;
  for (let i = 0; i < 10; i += 1) {
    const started = performance.now();
    state = consoleReducer(state, { type: "record", record: { id: { origin: 0x20000, seq: i }, receivedAt: NOW.getTime(), body: body(i * 6), sender: "NEW" }, recordCount: RECORDS + i + 1 });
    boardRows(state.boards);
    frame(state, "requests");
    arrivals.push(performance.now() - started);
  }
  return Promise.resolve([
    result("console", "frameMs", slowest.ms, `ms (${slowest.tab})`, slowest.baseline),
    ...perScreen,
    result("console", "updateMs", median(arrivals), "ms", null),
  ]);
}
