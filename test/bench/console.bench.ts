// Console (issue 7 metric frameMs): time to render one frame of each screen with 100,000 records
// in the console's state (the slowest screen is reported), against rendering the same screen with
// no records in the same run (the brief's target: under 30 ms). Frames are rendered with Ink's
// renderToString at 80x24: React, layout and text, everything but the terminal write.
// updateMs: one record arriving with 100,000 given to the console, as it runs (the boards hold all
// of them, the feed the newest FEED_LIMIT): the reducer and the board rows (median CPU time), and
// updateFrameMs the same plus the frame. updateMs.feed100k: the same with all 100,000 in the feed
// too (the feed is copied for each record there). MESHAID_BENCH_RECORDS sets the count.
import { createElement } from "react";
import { renderToString } from "ink";
import type { RecordView, StationSnapshot } from "../../src/station/index.ts";
import { boardRows, consoleReducer, FEED_LIMIT, initialConsoleState, initialView, Screen, TABS, type ConsoleState, type Tab } from "../../src/ui/index.ts";
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

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * The median cost of one record arriving: a request or a status about one, in turn (the reducer
 * and the board rows, in CPU time: the machine is shared), and with `withFrame` the frame of the
 * requests screen too (wall time).
 */
function arrivals(start: ConsoleState, count: number, withFrame: boolean): number {
  const times: number[] = [];
  let state = start;
  boardRows(state.boards);
  for (let i = 0; i < count; i += 1) {
    const arriving = i % 2 === 0 ? body(i * 6) : ({ kind: "supply_status", status: "delivered", ref: { origin: 0x10000, seq: 0 } } as const);
    const started = withFrame ? performance.now() : cpuMs();
    state = consoleReducer(state, { type: "record", record: { id: { origin: 0x20000, seq: i }, receivedAt: NOW.getTime(), body: arriving, sender: "NEW" }, recordCount: RECORDS + i + 1 });
    boardRows(state.boards);
    if (withFrame) frame(state, "requests");
    times.push((withFrame ? performance.now() : cpuMs()) - started);
  }
  return median(times);
}

/** The median wall time of a frame, and its median CPU time (steadier on a shared machine). */
function timeFrames(state: ConsoleState, tab: Tab): { wall: number; cpu: number } {
  frame(state, tab); // warm up (JIT, the board rows' cache)
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < FRAMES; i += 1) {
    const started = performance.now();
    const startedCpu = cpuMs();
    frame(state, tab);
    cpu.push(cpuMs() - startedCpu);
    wall.push(performance.now() - started);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

export function run(): Promise<BenchResult[]> {
  const empty = initialConsoleState(snapshot([]), RECORDS);
  const full = initialConsoleState(snapshot(records(RECORDS)), RECORDS);
  if (full.records.length !== RECORDS) throw new Error(`state holds ${full.records.length} of ${RECORDS} records`);
  for (const tab of TABS) for (let i = 0; i < 5; i += 1) frame(full, tab); // JIT warm-up for every screen
  let slowest = { tab: "feed" as Tab, ms: 0, baseline: 0 };
  let slowestCpu = { tab: "feed" as Tab, ms: 0, baseline: 0 };
  const perScreen: BenchResult[] = [];
  for (const tab of TABS) {
    const baseline = timeFrames(empty, tab);
    const measured = timeFrames(full, tab);
    perScreen.push(result("console", `frameMs.${tab}`, measured.wall, "ms", baseline.wall));
    if (measured.wall > slowest.ms) slowest = { tab, ms: measured.wall, baseline: baseline.wall };
    if (measured.cpu > slowestCpu.ms) slowestCpu = { tab, ms: measured.cpu, baseline: baseline.cpu };
  }
  const running = initialConsoleState(snapshot(records(RECORDS)));
  if (running.records.length !== Math.min(FEED_LIMIT, RECORDS) || boardRows(running.boards).requests.length < RECORDS / 7) throw new Error("the feed is not bounded, or the boards do not hold every record");
  const update = arrivals(running, 40, false);
  const withFrame = arrivals(running, 10, true);
  const wholeFeed = arrivals(full, 40, false);
  const emptyUpdate = arrivals(initialConsoleState(snapshot([])), 40, false);
  return Promise.resolve([
    result("console", "frameMs", slowest.ms, `ms (${slowest.tab})`, slowest.baseline),
    result("console", "frameCpuMs", slowestCpu.ms, `ms cpu (${slowestCpu.tab})`, slowestCpu.baseline),
    ...perScreen,
    result("console", "updateMs", update, "ms (cpu)", emptyUpdate),
    result("console", "updateFrameMs", withFrame, "ms", null),
    result("console", "updateMs.feed100k", wholeFeed, "ms (cpu)", emptyUpdate),
  ]);
}
