import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodePayload, parseCodebook, parseSitePlan, payloadForText } from "../../src/wire/index.ts";

const config = (name: string): string => readFileSync(new URL(`../../firmware-config/${name}`, import.meta.url), "utf8");
const codebook = parseCodebook(config("codebook.yaml"));
const site = parseSitePlan(config("site.yaml"));

describe("payloadForText", () => {
  it("packs what a typed line reads as, numbered from seq", () => {
    const payload = payloadForText("need 10 saline eyewash + 5 gauze packs @ 5th & Main ASAP", { codebook, site }, 40);
    if (!payload.ok) throw payload.error;
    expect(payload.value.length).toBeLessThan(20);
    const decoded = decodePayload(payload.value, codebook, 0x1234);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.records).toHaveLength(1);
    expect(decoded.value.records[0]).toMatchObject({ id: { origin: 0x1234, seq: 40 }, body: { kind: "supply_request", priority: "urgent" } });
  });

  it("keeps a line it cannot read as a plain message, never a guess", () => {
    const payload = payloadForText("see you all at the meeting tonight", { codebook, site }, 7);
    if (!payload.ok) throw payload.error;
    const decoded = decodePayload(payload.value, codebook, 1);
    expect(decoded.ok && decoded.value.records).toEqual([{ id: { origin: 1, seq: 7 }, body: { kind: "message", text: "see you all at the meeting tonight" } }]);
  });

  it("returns a payload or a typed error for any text, never throws", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 0, max: 1_000_000 }), (text, seq) => {
        const payload = payloadForText(text, { codebook, site }, seq);
        if (payload.ok) expect(payload.value.length).toBeLessThanOrEqual(231);
        else expect(payload.error.code).toMatch(/^WIRE_/);
      }),
    );
  });
});
