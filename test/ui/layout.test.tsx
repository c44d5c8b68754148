// Every screen and overlay fits the terminal: 80x24 (a small laptop over SSH) and smaller.
import { renderToString } from "ink";
import { describe, expect, test } from "vitest";
import { initialConsoleState, initialView, newComposeForm, Screen, TABS, type ViewState } from "../../src/ui/index.ts";
import { codebook, presets } from "../helpers/records.ts";
import { at, record } from "./fixtures.ts";

const recent = Array.from({ length: 300 }, (_, i) =>
  record(
    i % 3 === 0
      ? { kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }, { item: "gauze", quantity: 5 }], priority: "urgent" }
      : i % 3 === 1
        ? { kind: "incident", incident: "tear_gas", severity: "extreme", casualties: 12, people: 300 }
        : { kind: "shift", action: "handoff", from: "MEDIC-LEAD-1", to: "MEDIC-LEAD-2", role: "medic" },
    `SENDER-${i}-LONG-NAME`,
    at(2, i % 60, 0),
  ),
).map((r) => ({ ...r, place: "A very long place name near the north gate of the park" }));
const state = initialConsoleState({ name: "A station with a very long name indeed", radio: { status: "reconnecting", reason: "handshake-timeout" }, recordCount: 300, recent });
const compose = { codebook, presets: presets.presets.map((p) => ({ text: p.text, body: p.body })), destinations: [{ callsign: "MED1", num: 0x1a2b }], airtimeMs: () => 452 };

const views: [string, ViewState][] = [
  ...TABS.map((tab): [string, ViewState] => [tab, { ...initialView(), tab, selection: { feed: 150, requests: 50, incidents: 50, shifts: 1, nodes: 100 } }]),
  ["help", { ...initialView(), overlay: { type: "help" } }],
  ["help es", { ...initialView("es"), overlay: { type: "help" } }],
  ["detail", { ...initialView(), tab: "requests", overlay: { type: "detail" } }],
  ["compose preset", { ...initialView(), overlay: { type: "compose", form: newComposeForm("preset") } }],
  ["compose request", { ...initialView(), overlay: { type: "compose", form: newComposeForm("request") } }],
  ["compose text", { ...initialView(), overlay: { type: "compose", form: { ...newComposeForm("text"), text: "x".repeat(300) } } }],
  ["quit", { ...initialView(), overlay: { type: "quit" } }],
  ["filter", { ...initialView(), filter: "eyewash", sort: "sender" }],
];

describe.each([
  [80, 24],
  [60, 16],
])("at %ix%i", (columns, rows) => {
  test.each(views)("%s fits", (_name, view) => {
    const frame = renderToString(<Screen state={state} view={view} rows={rows} columns={columns} now={at(2, 0, 0)} labels={undefined} unsent={3} compose={compose} />, { columns });
    const lines = frame.split("\n");
    expect(lines).toHaveLength(rows - 1);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns);
    expect(lines[0]).toContain("radio: reconnecting");
  });
});
