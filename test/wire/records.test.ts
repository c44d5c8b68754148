import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeLoggedRecord, encodeLoggedRecord, WireError } from "../../src/wire/index.ts";
import { arbitraryRecord, presetRecord } from "../helpers/records.ts";

describe("log entries", () => {
  it("round-trip every record kind", () => {
    fc.assert(
      fc.property(arbitraryRecord, (record) => {
        const decoded = decodeLoggedRecord(encodeLoggedRecord(record));
        expect(decoded).toEqual({ ok: true, value: record });
      }),
    );
  });

  it("never throw on arbitrary bytes: a typed error or a record", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoded = decodeLoggedRecord(bytes);
        if (!decoded.ok) expect(decoded.error).toBeInstanceOf(WireError);
      }),
    );
  });

  it("report a truncated entry as an error naming what was wrong", () => {
    const bytes = encodeLoggedRecord(presetRecord(0x2a6f1c01, 77));
    const decoded = decodeLoggedRecord(bytes.subarray(0, bytes.length - 3));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toMatch(/WIRE_(TRUNCATED|MALFORMED)/);
  });

  it("refuse to encode an item the code list lacks", () => {
    const record = presetRecord(1, 2);
    record.body = { kind: "supply_request", item: "unicorn", quantity: 1, priority: "normal" };
    expect(() => encodeLoggedRecord(record)).toThrow(/unknown item "unicorn"/);
  });

  it("keep a stored request to a few dozen bytes", () => {
    expect(encodeLoggedRecord(presetRecord(0xffffffff, 0xffffffff)).length).toBeLessThan(48);
  });
});
