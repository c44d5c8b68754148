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
const deliveries = ["queued", "sent", "heard", "confirmed", "failed", "unknown"] as const;
for (const [i, r] of recent.entries()) if (i % 2 === 0) r.delivery = { state: deliveries[i % 6]!, attempts: 3, at: r.receivedAt, reason: "MAX_RETRANSMIT after three attempts" };
const state = initialConsoleState({ name: "A station with a very long name indeed", radio: { status: "reconnecting", reason: "handshake-timeout" }, recordCount: 300, recent });
const compose = {
  codebook,
  presets: presets.presets.map((p) => ({ text: p.text, body: p.body })),
  destinations: [{ callsign: "MED1", num: 0x1a2b }],
  targets: [{ id: { origin: 1, seq: 1 }, kind: "supply_request" as const, label: "urgent: eyewash ×10, gauze ×5 @ A very long place name near the north gate SENDER-0-LONG" }],
  airtimeMs: () => 452,
};

// The busiest header: every priority queued, a relay down with a long reason, an hour of samples.
const transmit = { queued: { life_safety: 12, incident: 3, request: 40, status: 7, shift: 2, checkin: 9 }, airtimeUsedMs: 35_900, airtimeBudgetMs: 36_000, channelUtilization: 87.5 };
const relay = { link: "down" as const, peers: 12, pending: 12_345, lastSyncAt: at(1, 0, 0).getTime(), reason: "the broker at mqtt.example.org:8883 refused the connection" };
const utilization = Array.from({ length: 60 }, (_, i) => i % 30);

const views: [string, ViewState][] = [
  ...TABS.map((tab): [string, ViewState] => [tab, { ...initialView(), tab, selection: { feed: 150, requests: 50, incidents: 50, shifts: 1, nodes: 100 } }]),
  ["help", { ...initialView(), overlay: { type: "help" } }],
  ["help es", { ...initialView("es"), overlay: { type: "help" } }],
  ["detail", { ...initialView(), tab: "requests", overlay: { type: "detail" } }],
  ["compose preset", { ...initialView(), overlay: { type: "compose", form: newComposeForm("preset") } }],
  ["compose request", { ...initialView(), overlay: { type: "compose", form: newComposeForm("request") } }],
  ...(["offer", "status", "shift", "checkin", "ack"] as const).map((mode): [string, ViewState] => [`compose ${mode}`, { ...initialView("es"), overlay: { type: "compose", form: { ...newComposeForm(mode), shiftAction: 2, from: "MEDIC-LEAD", handTo: "MEDIC-TWO" } } }]),
  ["compose text", { ...initialView(), overlay: { type: "compose", form: { ...newComposeForm("text"), text: "x".repeat(300) } } }],
  ["quit", { ...initialView(), overlay: { type: "quit" } }],
  ["filter", { ...initialView(), filter: "eyewash", sort: "sender" }],
];

describe.each([
  [80, 24],
  [60, 16],
])("at %ix%i", (columns, rows) => {
  test.each(views)("%s fits", (_name, view) => {
    const frame = renderToString(<Screen state={state} view={view} rows={rows} columns={columns} now={at(2, 0, 0)} labels={undefined} unsent={3} compose={compose} transmit={transmit} relay={relay} utilization={utilization} />, { columns });
    const lines = frame.split("\n");
    expect(lines).toHaveLength(rows - 1);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns);
    expect(lines[0]).toMatch(view.language === "es" ? /radio: reconectando/ : /radio: reconnecting/);
  });
});
