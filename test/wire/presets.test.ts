import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  cannedMessagesFor,
  CANNED_MESSAGES_MAX_BYTES,
  CANNED_MESSAGES_MAX_ENTRIES,
  normalizePresetText,
  parsePresetTable,
  presetsForRole,
  readPreset,
  recordMessage,
} from "../../src/wire/index.ts";
import { codebook, presets as table } from "../helpers/records.ts";

describe("the preset table in firmware-config/", () => {
  it("reads presets into records with codebook names", () => {
    expect(readPreset(table, "NEED WATER")).toEqual({ kind: "supply_request", lines: [{ item: "water" }], priority: "normal" });
    expect(readPreset(table, "NEED MEDIC")).toEqual({ kind: "supply_request", lines: [{ item: "medic", quantity: 1 }], priority: "urgent" });
    expect(readPreset(table, "INJURED 1")).toEqual({ kind: "incident", incident: "injury", severity: "moderate", casualties: 1 });
    expect(readPreset(table, "GAS GAS GAS")).toEqual({ kind: "incident", incident: "chemical", severity: "severe", casualties: 0, hazards: ["tear_gas"] });
    expect(readPreset(table, "ON SHIFT")).toEqual({ kind: "shift", action: "on" });
    expect(readPreset(table, "OK")).toEqual({ kind: "checkin", status: "ok" });
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
      expect(presetsForRole(table, role).length).toBeLessThanOrEqual(CANNED_MESSAGES_MAX_ENTRIES);
    }
  });

  it("means records the wire can encode", () => {
    for (const preset of table.presets) expect(recordMessage(preset.body, codebook).ok).toBe(true);
  });

  it("keeps texts that no handheld shows readable (older handhelds)", () => {
    expect(presetsForRole(table, "medic")).not.toContain("GAS");
    expect(readPreset(table, "gas")).toEqual(readPreset(table, "GAS GAS GAS"));
  });
});

describe("parsePresetTable", () => {
  const entry = (text: string, record: string) => `  - text: ${text}\n    roles: [medic]\n    record: ${record}\n`;
  const parse = (text: string) => () => parsePresetTable(text, codebook);

  it("names the entry and the problem", () => {
    expect(parse(`version: 1\npresets:\n${entry("NEED UNICORN", "{ kind: supply_request, item: unicorn }")}`)).toThrow(/presets\[0\] "NEED UNICORN": unknown item "unicorn"/);
    expect(parse(`version: 1\npresets:\n${entry("A|B", "{ kind: shift, action: on }")}`)).toThrow(/separator/);
    expect(parse(`version: 2\npresets: []`)).toThrow(/version: expected 1/);
    expect(parse(`version: 1\npresets:\n${entry("X", "{ kind: shift, action: on }")}${entry("x", "{ kind: shift, action: off }")}`)).toThrow(/appears twice/);
    expect(parse("version: [1\n")).toThrow(/not valid YAML/);
    expect(parse(`version: 1\npresets:\n${entry("BOOM", "{ kind: incident, incident: meteor }")}`)).toThrow(/unknown incident "meteor"/);
    expect(parse(`version: 1\npresets:\n${entry("HUH", "{ kind: gossip }")}`)).toThrow(/unknown record kind "gossip"/);
    expect(parse(`version: 1\npresets:\n${entry("NEED 5 WATER", "{ kind: supply_request, item: water, quantiy: 5 }")}`)).toThrow(/unknown field "quantiy" for a supply_request record/);
    expect(parse(`version: 1\npresets:\n${entry("NEED 0", "{ kind: supply_request, item: water, quantity: 0 }")}`)).toThrow(/quantity of water must be a whole number 1\.\./);
  });

  it("refuses a role whose canned messages exceed 200 bytes", () => {
    const many = Array.from({ length: 12 }, (_, i) => entry(`NEED WATER AT CHECKPOINT ${i}`, "{ kind: supply_request, item: water }")).join("");
    expect(parse(`version: 1\npresets:\n${many}`)).toThrow(/role medic: canned messages take \d+ bytes/);
  });

  it("refuses a role with more than 50 canned messages", () => {
    const many = Array.from({ length: 51 }, (_, i) => entry(`W${i}`, "{ kind: supply_request, item: water }")).join("");
    expect(parse(`version: 1\npresets:\n${many}`)).toThrow(/role medic: (51 canned messages|canned messages take)/);
  });

  it("normalizes idempotently", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(normalizePresetText(normalizePresetText(text))).toBe(normalizePresetText(text));
      }),
    );
  });
});
