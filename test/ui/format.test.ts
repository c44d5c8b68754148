import { expect, test } from "vitest";
import { formatTime, kindLabel, radioText, recordDetail, sanitize } from "../../src/ui/index.ts";
import type { RecordBody } from "../../src/wire/index.ts";
import { at } from "./fixtures.ts";
import { words } from "../../src/ui/i18n.ts";

test("times are local HH:MM:SS", () => {
  expect(formatTime(at(2, 5, 9))).toBe("02:05:09");
  expect(formatTime(at(23, 59, 58).getTime())).toBe("23:59:58");
});

test("details read as words", () => {
  expect(recordDetail({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" })).toBe("water ×1");
  expect(recordDetail({ kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }], priority: "urgent" })).toBe("urgent: eyewash ×10");
  expect(recordDetail({ kind: "incident", incident: "injury", severity: "moderate", casualties: 1 })).toBe("injury, 1 casualty");
  expect(recordDetail({ kind: "incident", incident: "tear_gas", severity: "moderate", casualties: 3 })).toBe("tear gas, 3 casualties");
  expect(recordDetail({ kind: "shift", action: "on" })).toBe("on shift");
  expect(recordDetail({ kind: "shift", action: "off" })).toBe("off shift");
});

test("the radio state reads as words", () => {
  expect(radioText({ status: "connected", reason: "handshake-complete" })).toBe("radio: connected");
  expect(radioText({ status: "reconnecting", reason: "device-rebooted" })).toBe("radio: reconnecting (device rebooted)");
  expect(radioText({ status: "connecting", reason: "starting" })).toBe("radio: connecting");
  expect(radioText({ status: "reconnecting", reason: "unplugged" }, words("es"))).toBe("radio: reconectando (radio desconectada)");
  expect(radioText({ status: "connected", reason: "handshake-complete" }, words("es"))).toBe("radio: conectada");
});

test("text from the air cannot drive the terminal", () => {
  expect(sanitize("MED1\u001b[2J\r\n\u202e")).toBe("MED1?[2J???");
  expect(sanitize("Ünïcode ✚")).toBe("Ünïcode ✚");
});

test("every record kind renders with a symbol and a word", () => {
  const bodies: RecordBody[] = [
    { kind: "supply_request", lines: [{ item: "water" }], priority: "normal" },
    { kind: "incident", incident: "kettle", severity: "severe", casualties: 0 },
    { kind: "shift", action: "handoff", from: "M7", to: "M12" },
    { kind: "checkin", status: "ok" },
    { kind: "supply_offer", lines: [{ item: "water", quantity: 200 }] },
    { kind: "supply_status", status: "en_route", etaMin: 8 },
    { kind: "ack", code: "received", refs: [{ origin: 1, seq: 2 }] },
    { kind: "message", text: "hello" },
  ];
  expect(bodies.map((body) => kindLabel(body).text)).toEqual(["▲ REQUEST", "✚ INCIDENT", "● SHIFT", "✓ CHECK-IN", "△ OFFER", "➜ SUPPLY", "✔ ACK", "✉ MESSAGE"]);
});

test("new kinds' details read as words, with the place", () => {
  expect(recordDetail({ kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }, { item: "gauze", quantity: 5 }], priority: "urgent" }, "5th & Main")).toBe(
    "urgent: eyewash ×10, gauze ×5 @ 5th & Main",
  );
  expect(recordDetail({ kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "high" }, "North Gate")).toBe("high: water ×20 @ North Gate");
  expect(recordDetail({ kind: "incident", incident: "vehicle", severity: "extreme", casualties: 8, people: 40 })).toBe("extreme: vehicle, 8 casualties, 40 people");
  expect(recordDetail({ kind: "shift", action: "handoff", role: "marshal_lead", from: "M7", to: "M12" })).toBe("handoff M7 → M12 (marshal lead)");
  expect(recordDetail({ kind: "checkin", status: "needs_relief", battery: 40 })).toBe("needs relief, battery 40%");
  expect(recordDetail({ kind: "supply_offer", lines: [{ item: "water", quantity: 200 }, { item: "snack", quantity: 50 }] }, "Supply van")).toBe("water ×200, snack ×50 @ Supply van");
  expect(recordDetail({ kind: "supply_status", status: "en_route", lines: [{ item: "water", quantity: 20 }], etaMin: 8 })).toBe("en route: water ×20, ETA 8 min");
  expect(recordDetail({ kind: "ack", code: "wilco", refs: [{ origin: 1, seq: 2 }, { origin: 1, seq: 3 }] })).toBe("wilco: 2 records");
  expect(recordDetail({ kind: "message", text: "hi\u001b[2J" })).toBe('"hi?[2J"');
});

test("details use the codebook's labels when the console has them, never raw control characters", () => {
  const labels = (category: string, name: string) => (category === "items" ? { water: "agua potable", gauze: "gasas\u001b[2J" }[name] ?? name : `[${name}]`);
  expect(recordDetail({ kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "urgent" }, "Fuente", labels)).toBe("urgent: agua potable ×20 @ Fuente");
  expect(recordDetail({ kind: "supply_offer", lines: [{ item: "gauze" }] }, undefined, labels)).toBe("gasas?[2J");
  expect(recordDetail({ kind: "incident", incident: "kettle", severity: "moderate", casualties: 0 }, undefined, labels)).toBe("[kettle], 0 casualties");
});
