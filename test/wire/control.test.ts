// Base station to base station: held ACKs (which records a station holds, as runs) and resend
// requests. Round trips for any control, splitting over payloads, docs/protocol.md's worked
// examples, and what a bad one is refused with.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { coalitionAuthKey, decodePayload, MAX_PAYLOAD_BYTES, packControl, type Holding, type RecordId, type SeqRun, type StationControl } from "../../src/wire/index.ts";
import { codebook } from "../helpers/records.ts";

const ORIGIN = 0x2a6f1c02;
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Ascending runs with at least one seq missing between them. */
const runs: fc.Arbitrary<SeqRun[]> = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 5000 })), { minLength: 1, maxLength: 12 })
  .chain((steps) =>
    fc.integer({ min: 0, max: 0xfff00000 }).map((start) => {
      const out: SeqRun[] = [];
      let at = start;
      for (const [gap, length] of steps) {
        const from = out.length === 0 ? at : at + gap;
        out.push([from, from + length]);
        at = from + length + 1;
      }
      return out;
    }),
  );
const holding: fc.Arbitrary<Holding> = fc.record({ origin: u32, runs });
const held: fc.Arbitrary<StationControl> = fc.record({ kind: fc.constant("held" as const), latest: u32, holdings: fc.uniqueArray(holding, { selector: (h) => h.origin, maxLength: 30 }) });
const resend: fc.Arbitrary<StationControl> = fc.record({
  kind: fc.constant("resend" as const),
  latest: u32,
  wanted: fc.uniqueArray(fc.record({ origin: fc.constantFrom(1, 0x2a6f1c07, 0xffffffff), seq: u32 }), { selector: (id) => `${id.origin}:${id.seq}`, minLength: 1, maxLength: 120 }),
});

const byId = (a: RecordId, b: RecordId): number => a.origin - b.origin || a.seq - b.seq;

function decodeAll(payloads: Uint8Array[]): StationControl[] {
  return payloads.map((payload) => {
    expect(payload.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const decoded = decodePayload(payload, codebook, ORIGIN);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.value.records).toEqual([]);
    return decoded.value.control as StationControl;
  });
}

describe("station controls", () => {
  it("a held ACK survives packing into as many payloads as it needs, whole", () => {
    fc.assert(
      fc.property(held, (control) => {
        const packed = packControl(control);
        if (!packed.ok) throw packed.error;
        const parts = decodeAll(packed.value);
        for (const part of parts) expect(part).toMatchObject({ kind: "held", latest: control.latest });
        const holdings = parts.flatMap((part) => (part.kind === "held" ? part.holdings : []));
        expect(holdings).toEqual(control.kind === "held" ? control.holdings : []);
      }),
      { numRuns: 500 },
    );
  });

  it("a resend request survives packing, every wanted record once", () => {
    fc.assert(
      fc.property(resend, (control) => {
        const packed = packControl(control);
        if (!packed.ok) throw packed.error;
        const wanted = decodeAll(packed.value).flatMap((part) => (part.kind === "resend" ? part.wanted : []));
        expect(wanted.sort(byId)).toEqual(control.kind === "resend" ? [...control.wanted].sort(byId) : []);
      }),
      { numRuns: 500 },
    );
  });

  it("with the coalition key, every payload of any control is tagged, verifies whole, and fails after any one byte changes", () => {
    const key = coalitionAuthKey(Buffer.alloc(32, 9));
    fc.assert(
      fc.property(fc.oneof(held, resend), fc.nat(), fc.integer({ min: 1, max: 255 }), (control, at, flip) => {
        const packed = packControl(control, { origin: ORIGIN, auth: key });
        if (!packed.ok) throw packed.error;
        const parts = packed.value.map((payload) => {
          expect(payload.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
          const decoded = decodePayload(payload, codebook, ORIGIN, key);
          if (!decoded.ok) throw decoded.error;
          expect(decoded.value.auth).toBe("valid");
          return decoded.value.control as StationControl;
        });
        const untagged = packControl(control);
        if (!untagged.ok) throw untagged.error;
        // The same controls as without the key, only tagged (possibly split differently: the tag takes 11 bytes).
        const flat = (list: StationControl[]): unknown[] => list.flatMap((part): unknown[] => (part.kind === "held" ? part.holdings : part.wanted));
        expect(flat(parts)).toEqual(flat(decodeAll(untagged.value)));
        const payload = Uint8Array.from(packed.value[0]!);
        payload[at % payload.length]! ^= flip;
        const tampered = decodePayload(payload, codebook, ORIGIN, key);
        expect(tampered.ok && tampered.value.auth === "valid").toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses runs that overlap, touch or run backwards, and a resend of nothing", () => {
    const bad: SeqRun[][] = [[[5, 4]], [[1, 5], [6, 9]], [[1, 5], [3, 9]]];
    for (const runList of bad) {
      const packed = packControl({ kind: "held", latest: 0, holdings: [{ origin: 7, runs: runList }] });
      expect(packed.ok).toBe(false);
      if (!packed.ok) expect(packed.error.code).toBe("WIRE_INVALID_RECORD");
    }
    const nothing = packControl({ kind: "resend", latest: 0, wanted: [] });
    expect(!nothing.ok && nothing.error.code).toBe("WIRE_INVALID_RECORD");
  });

  it("decodes bad bytes to a typed error, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.constantFrom(0x16, 0x17, 0x1e, 0x1f), (tail, layout) => {
        const decoded = decodePayload(Uint8Array.from([0x7f, layout, ...tail]), codebook, ORIGIN);
        if (!decoded.ok) expect(decoded.error.code).toMatch(/^WIRE_/);
      }),
      { numRuns: 2000 },
    );
    // A held ACK packed with a record is refused: each control travels alone.
    const together = Uint8Array.from([0x7f, 0x1e, 0x01, 0x02, 0x40, 0x04, 0x04, 0x3a, 0x02, 0x01, 0x14]);
    const decoded = decodePayload(together, codebook, ORIGIN);
    expect(!decoded.ok && decoded.error.code).toBe("WIRE_MALFORMED");
  });
});

describe("docs/protocol.md's control examples", () => {
  const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
  const examples = [...doc.matchAll(/```wire-control\norigin: (0x[0-9a-f]+)\ncontrol: (.+)\nhex: ([0-9a-f ]+)\n```/g)].map((match) => ({
    origin: Number(match[1]),
    control: JSON.parse(match[2]!) as StationControl,
    hex: match[3]!.replaceAll(" ", ""),
  }));

  it("has a held ACK, an announcement, a resend request, a holding digest and a pull", () => {
    expect(examples.map((example) => example.control.kind).sort()).toEqual(["held", "held", "held", "resend", "resend"]);
    expect(examples.some((example) => example.control.kind === "held" && example.control.digest !== undefined && example.control.digest.hashes.length > 1)).toBe(true);
    expect(examples.some((example) => example.control.kind === "resend" && example.control.wanted.length === 0 && (example.control.hashes ?? []).length > 0)).toBe(true);
  });

  it.each(examples.map((example) => [example.hex, example] as const))("encodes and decodes %s as the doc says", (_hex, example) => {
    const packed = packControl(example.control);
    expect(packed.ok && packed.value.map((bytes) => Buffer.from(bytes).toString("hex"))).toEqual([example.hex]);
    expect(decodePayload(Buffer.from(example.hex, "hex"), codebook, example.origin)).toEqual({ ok: true, value: { records: [], control: example.control } });
  });
});
