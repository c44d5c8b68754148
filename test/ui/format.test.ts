import { expect, test } from "vitest";
import { formatTime, radioText, recordDetail, sanitize } from "../../src/ui/index.ts";
import { at } from "./fixtures.ts";

test("times are local HH:MM:SS", () => {
  expect(formatTime(at(2, 5, 9))).toBe("02:05:09");
  expect(formatTime(at(23, 59, 58).getTime())).toBe("23:59:58");
});

test("details read as words", () => {
  expect(recordDetail({ kind: "supply_request", item: "water", quantity: 1, priority: "normal" })).toBe("water ×1");
  expect(recordDetail({ kind: "supply_request", item: "eyewash", quantity: 10, priority: "urgent" })).toBe("urgent: eyewash ×10");
  expect(recordDetail({ kind: "incident", incident: "injury", casualties: 1 })).toBe("injury, 1 casualty");
  expect(recordDetail({ kind: "incident", incident: "tear_gas", casualties: 3 })).toBe("tear gas, 3 casualties");
  expect(recordDetail({ kind: "shift", action: "on" })).toBe("on shift");
  expect(recordDetail({ kind: "shift", action: "off" })).toBe("off shift");
});

test("the radio state reads as words", () => {
  expect(radioText({ status: "connected", reason: "handshake-complete" })).toBe("radio: connected");
  expect(radioText({ status: "reconnecting", reason: "device-rebooted" })).toBe("radio: reconnecting (device rebooted)");
  expect(radioText({ status: "connecting", reason: "starting" })).toBe("radio: connecting");
});

test("text from the air cannot drive the terminal", () => {
  expect(sanitize("MED1\u001b[2J\r\n\u202e")).toBe("MED1?[2J???");
  expect(sanitize("Ünïcode ✚")).toBe("Ünïcode ✚");
});
