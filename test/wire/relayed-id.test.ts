// A peer's record put on the air by a base station keeps its own id (Record fields 32, 33): the
// receiver stores it under the original (origin, seq), the chain of the records after it is not
// moved, and an older decoder (which skips the fields) reads it as the sender's.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import protobuf from "protobufjs";
import { readFileSync } from "node:fs";
import { coalitionAuthKey, decodePayload, MAX_PAYLOAD_BYTES, packControl, packRecords, WireError, type OutgoingRecord, type RecordBody } from "../../src/wire/index.ts";
import { arbitraryBody, codebook } from "../helpers/records.ts";

const SENDER = 0x2a6f1c02;
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const key = coalitionAuthKey(Buffer.from("00112233445566778899aabbccddeeff", "hex"));

const outgoing: fc.Arbitrary<OutgoingRecord> = fc.record(
  { seq: u32, body: arbitraryBody, id: fc.option(fc.record({ origin: u32.filter((origin) => origin !== SENDER), seq: u32 }), { nil: undefined }) },
  { requiredKeys: ["seq", "body"] },
);

describe("a record with its own id", () => {
  it("round-trips under its original id among the sender's own, the chain unmoved, with and without the coalition tag", () => {
    fc.assert(
      fc.property(fc.array(outgoing, { minLength: 1, maxLength: 20 }), fc.integer({ min: 60, max: MAX_PAYLOAD_BYTES }), fc.boolean(), (records, maxBytes, tagged) => {
        const clean = records.map((record) => (record.id === undefined ? { seq: record.seq, body: record.body } : record));
        const packed = packRecords(clean, codebook, { origin: SENDER, maxBytes, ...(tagged ? { auth: key } : {}) });
        if (!packed.ok) {
          expect(packed.error.code).toBe("WIRE_TOO_LARGE");
          return;
        }
        const decoded = packed.value.flatMap((payload) => {
          expect(payload.length).toBeLessThanOrEqual(maxBytes);
          const result = decodePayload(payload, codebook, SENDER, tagged ? key : undefined);
          if (!result.ok) throw result.error;
          if (tagged) expect(result.value.auth).toBe("valid");
          return result.value.records;
        });
        expect(decoded).toEqual(clean.map((record) => ({ id: record.id ?? { origin: SENDER, seq: record.seq }, body: record.body })));
      }),
      { numRuns: 400 },
    );
  });

  it("a status about the original's origin keeps its reference (read against the record's own origin)", () => {
    const PEER = 0x4b0b;
    const body: RecordBody = { kind: "supply_status", status: "en_route", ref: { origin: PEER, seq: 3 }, etaMin: 5 };
    const packed = packRecords([{ seq: 9, body, id: { origin: PEER, seq: 4 } }], codebook, { origin: SENDER });
    expect(packed.ok && decodePayload(packed.value[0]!, codebook, SENDER)).toEqual({ ok: true, value: { records: [{ id: { origin: PEER, seq: 4 }, body }] } });
    const toSender = { ...body, ref: { origin: SENDER, seq: 3 } };
    const packedToSender = packRecords([{ seq: 9, body: toSender, id: { origin: PEER, seq: 4 } }], codebook, { origin: SENDER });
    expect(packedToSender.ok && decodePayload(packedToSender.value[0]!, codebook, SENDER)).toEqual({ ok: true, value: { records: [{ id: { origin: PEER, seq: 4 }, body: toSender }] } });
  });

  it("an older decoder (without fields 32 and 33) skips the id and reads the record as the sender's", () => {
    const proto = readFileSync(new URL("../../src/wire/field.proto", import.meta.url), "utf8").replace(/^\s*optional \w+ orig_(origin|seq) = \d+;$/gm, "");
    expect(proto).not.toMatch(/orig_\w+ =/);
    const Old = protobuf.parse(proto).root.lookupType("meshaid.field.v1.Record");
    const body: RecordBody = { kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "normal", place: { landmark: 1 } };
    const packed = packRecords([{ seq: 12, body, id: { origin: 0x4b0b, seq: 700 } }], codebook, { origin: SENDER });
    if (!packed.ok) throw packed.error;
    const payload = packed.value[0]!;
    // tag, layout, seq 12, then the record: the old schema reads the same body and no id.
    const old = Old.toObject(Old.decode(payload.subarray(3))) as Record<string, unknown>;
    expect(old).toEqual({ lines: [1, 20], landmark: 1 });
    const stripped = Uint8Array.from([...payload.subarray(0, 3), ...Old.encode(Old.fromObject(old)).finish()]);
    expect(decodePayload(stripped, codebook, SENDER)).toEqual({ ok: true, value: { records: [{ id: { origin: SENDER, seq: 12 }, body }] } });
  });

  it("is refused without the sender's origin, and read as malformed when half given, the sender's own, or on a control", () => {
    const body = { kind: "checkin", status: "ok" } as const;
    expect(packRecords([{ seq: 1, body, id: { origin: 5, seq: 1 } }], codebook).ok).toBe(false);
    expect(packRecords([{ seq: 1, body, id: { origin: SENDER, seq: 2 } }], codebook, { origin: SENDER }).ok).toBe(false);
    const own = packRecords([{ seq: 1, body, id: { origin: SENDER, seq: 1 } }], codebook, { origin: SENDER });
    expect(own.ok && Buffer.from(own.value[0]!).toString("hex")).toBe("7f1301");
    // Field 32 alone, field 33 alone, field 32 naming the sender, and an id on a held ACK (layout 0x16, state 4).
    const le = (n: number): string => Buffer.from(Uint32Array.of(n).buffer).toString("hex");
    const control = packControl({ kind: "held", latest: 1, holdings: [{ origin: 5, runs: [[1, 3]] }] });
    const held = control.ok ? Buffer.from(control.value[0]!).toString("hex") : "";
    const bad: Array<[string, RegExp]> = [
      [`7f1301 8502${le(5)}`, /both its origin and its seq/],
      ["7f1301 880205", /both its origin and its seq/],
      [`7f1301 8502${le(SENDER)} 880201`, /sender's own carries no id/],
      [`${held} 8502${le(5)} 880201`, /held ACK or a RESEND is the sender's own/],
    ];
    for (const [hex, why] of bad) {
      const decoded = decodePayload(Buffer.from(hex.replaceAll(" ", ""), "hex"), codebook, SENDER);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) {
        expect(decoded.error).toBeInstanceOf(WireError);
        expect(decoded.error.message).toMatch(why);
      }
    }
  });
});
