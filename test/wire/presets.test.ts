import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import {
  cannedMessagesFor,
  CANNED_MESSAGES_MAX_BYTES,
  normalizePresetText,
  parsePresetTable,
  presetsForRole,
  readPreset,
} from "../../src/wire/index.ts";

const tableText = readFileSync(new URL("../../firmware-config/presets.yaml", import.meta.url), "utf8");

describe("the preset table in firmware-config/", () => {
  const table = parsePresetTable(tableText);

  it("reads the skeleton's presets into records", () => {
    expect(readPreset(table, "NEED WATER")).toEqual({ kind: "supply_request", item: "water", quantity: 1, priority: "normal" });
    expect(readPreset(table, "INJURED 1")).toEqual({ kind: "incident", incident: "injury", casualties: 1 });
    expect(readPreset(table, "ON SHIFT")).toEqual({ kind: "shift", action: "on" });
  });

  it("tolerates case and spacing, not other words", () => {
    expect(readPreset(table, "  need   water ")).toEqual(readPreset(table, "NEED WATER"));
    expect(readPreset(table, "NEED WATERS")).toBeUndefined();
    expect(readPreset(table, "")).toBeUndefined();
  });

  it("fits each role's canned messages in the firmware's limits", () => {
    for (const role of ["medic", "marshal"]) {
      expect(presetsForRole(table, role).length).toBeGreaterThan(3);
      expect(Buffer.byteLength(cannedMessagesFor(table, role))).toBeLessThanOrEqual(CANNED_MESSAGES_MAX_BYTES);
    }
  });
});

describe("parsePresetTable", () => {
  const entry = (text: string, record: string) => `  - text: ${text}\n    roles: [medic]\n    record: ${record}\n`;

  it("names the entry and the problem", () => {
    expect(() => parsePresetTable(`version: 1\npresets:\n${entry("NEED UNICORN", "{ kind: supply_request, item: unicorn }")}`)).toThrow(
      /presets\[0\] "NEED UNICORN": unknown item "unicorn"/,
    );
    expect(() => parsePresetTable(`version: 1\npresets:\n${entry("A|B", "{ kind: shift, action: on }")}`)).toThrow(/separator/);
    expect(() => parsePresetTable(`version: 2\npresets: []`)).toThrow(/version: expected 1/);
    expect(() => parsePresetTable(`version: 1\npresets:\n${entry("X", "{ kind: shift, action: on }")}${entry("x", "{ kind: shift, action: off }")}`)).toThrow(
      /appears twice/,
    );
    expect(() => parsePresetTable("version: [1\n")).toThrow(/not valid YAML/);
  });

  it("refuses a role whose canned messages exceed 200 bytes", () => {
    const many = Array.from({ length: 12 }, (_, i) => entry(`NEED WATER AT CHECKPOINT ${i}`, "{ kind: supply_request, item: water }")).join("");
    expect(() => parsePresetTable(`version: 1\npresets:\n${many}`)).toThrow(/role medic: canned messages take \d+ bytes/);
  });

  it("normalizes idempotently", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(normalizePresetText(normalizePresetText(text))).toBe(normalizePresetText(text));
      }),
    );
  });
});
