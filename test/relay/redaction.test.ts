// Redaction before upload: per record kind and field, places coarsened to a landmark.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRedaction, RedactionError, redactor } from "../../src/relay/index.ts";
import { parseYamlText, type FieldRecord } from "../../src/wire/index.ts";
import { arbitraryRecord, configText, site } from "../helpers/records.ts";

const shipped = parseRedaction(parseYamlText(configText("redaction.yaml")), "redaction.yaml");

const incident: FieldRecord = {
  id: { origin: 0x10, seq: 7 },
  receivedAt: 1_750_000_000_000,
  text: "INJURED 2 immediate near the fountain",
  sender: "M1",
  body: { kind: "incident", incident: "injury", severity: "severe", casualties: 2, triage: { immediate: 1, delayed: 1 }, place: { east: 250, north: 20 } },
};

describe("redaction", () => {
  it("the shipped default drops triage detail and incident text, and coarsens places to a landmark", () => {
    const out = redactor(shipped, site)(incident);
    expect(out).toBeDefined();
    expect(out!.text).toBeUndefined();
    expect(out!.sender).toBe("M1");
    expect(out!.body).toMatchObject({ kind: "incident", incident: "injury", casualties: 2 });
    expect("triage" in out!.body).toBe(false);
    expect(out!.body.kind === "incident" && out!.body.place && "landmark" in out!.body.place).toBe(true);
    expect(incident.body.kind === "incident" && incident.body.triage).toEqual({ immediate: 1, delayed: 1 }); // the station keeps the whole record
  });

  it("without a site plan an exact place is dropped rather than sent", () => {
    const out = redactor(shipped)(incident);
    expect(out!.body.kind === "incident" && out!.body.place).toBeUndefined();
  });

  it("upload: false keeps a kind home; a kind without rules goes whole", () => {
    const rules = parseRedaction({ kinds: { checkin: { upload: false } } }, "test.yaml");
    const redact = redactor(rules, site);
    expect(redact({ id: { origin: 1, seq: 1 }, receivedAt: 1, body: { kind: "checkin", status: "ok" } })).toBeUndefined();
    expect(redact(incident)).toEqual(incident);
  });

  it("never changes a record's id or kind, and never leaves an exact place under the default", () => {
    const redact = redactor(shipped, site);
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        const out = redact(record);
        if (!out) return;
        expect(out.id).toEqual(record.id);
        expect(out.body.kind).toBe(record.body.kind);
        const place = "place" in out.body ? out.body.place : undefined;
        if (place && record.body.kind !== "message" && record.body.kind !== "ack") expect("landmark" in place).toBe(true);
      }),
    );
  });

  it("refuses rules it cannot follow, naming the file and the kind", () => {
    expect(() => parseRedaction({ kinds: { rumour: {} } }, "r.yaml")).toThrow(RedactionError);
    expect(() => parseRedaction({ kinds: { incident: { place: "blur" } } }, "r.yaml")).toThrow(/r\.yaml: incident\.place must be one of keep, landmark, drop/);
    expect(() => parseRedaction({ kinds: { incident: { drop: ["id"] } } }, "r.yaml")).toThrow(/cannot remove id/);
  });
});
