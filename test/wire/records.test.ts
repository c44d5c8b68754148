import { describe, expect, it } from "vitest";
import fc from "fast-check";
import protobuf from "protobufjs";
import { decodeLoggedRecord, encodeLoggedRecord, WireError } from "../../src/wire/index.ts";
import { arbitraryRecord, codebook, presetRecord } from "../helpers/records.ts";

describe("log entries", () => {
  it("round-trip every record kind", () => {
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        const decoded = decodeLoggedRecord(encodeLoggedRecord(record, codebook), codebook);
        expect(decoded).toEqual({ ok: true, value: record });
      }),
      { numRuns: 500 },
    );
  });

  it("never throw on arbitrary bytes: a typed error or a record", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoded = decodeLoggedRecord(bytes, codebook);
        if (!decoded.ok) expect(decoded.error).toBeInstanceOf(WireError);
      }),
      { numRuns: 2000 },
    );
  });

  it("report a truncated entry as an error naming what was wrong", () => {
    const bytes = encodeLoggedRecord(presetRecord(0x2a6f1c01, 77), codebook);
    const decoded = decodeLoggedRecord(bytes.subarray(0, bytes.length - 3), codebook);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toMatch(/WIRE_(TRUNCATED|MALFORMED)/);
  });

  it("refuse to encode an item the codebook lacks", () => {
    const record = presetRecord(1, 2);
    record.body = { kind: "supply_request", lines: [{ item: "unicorn", quantity: 1 }], priority: "normal" };
    expect(() => encodeLoggedRecord(record, codebook)).toThrow(/unknown item "unicorn"/);
  });

  it("keep a stored request to a few dozen bytes", () => {
    expect(encodeLoggedRecord(presetRecord(0xffffffff, 0xffffffff), codebook).length).toBeLessThan(48);
  });

  it("still read entries written by meshaid 0.1", () => {
    // LoggedRecord v0: origin, Record{seq, supply_request{item 3 (eyewash), quantity 10, priority urgent}}, received_at, text.
    const writer = protobuf.Writer.create();
    writer.uint32(0x0d).fixed32(0x2a6f1c01);
    writer.uint32(0x12).fork().uint32(0x08).uint32(77).uint32(0x12).fork().uint32(0x08).uint32(3).uint32(0x10).uint32(10).uint32(0x18).uint32(1).ldelim().ldelim();
    writer.uint32(0x18).uint64(1_750_000_000_000);
    writer.uint32(0x22).string("NEED EYEWASH");
    expect(decodeLoggedRecord(writer.finish(), codebook)).toEqual({
      ok: true,
      value: {
        id: { origin: 0x2a6f1c01, seq: 77 },
        receivedAt: 1_750_000_000_000,
        body: { kind: "supply_request", lines: [{ item: "eyewash", quantity: 10 }], priority: "urgent" },
        text: "NEED EYEWASH",
      },
    });
  });
});
