import { describe, expect, it } from "vitest";
import fc from "fast-check";
import protobuf from "protobufjs";
import { decodeLoggedRecord, encodeLoggedRecord, shareBody, WireError, type FieldRecord } from "../../src/wire/index.ts";
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

  it("read a log where the same bodies come again and again under other ids alike (each body decoded once, shared)", () => {
    // A few bodies, each logged many times by different senders: a log of presets.
    const logged = fc.array(fc.tuple(fc.nat({ max: 4 }), fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 })), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(fc.array(arbitraryRecord, { minLength: 5, maxLength: 5 }), logged, (pool, entries) => {
        for (const [which, origin, seq] of entries) {
          const record = { ...(pool[which] as FieldRecord), id: { origin, seq } };
          // A status's reference to the sender's own record leaves out the origin: it is read as this record's.
          if (record.body.kind === "supply_status" && record.body.ref) record.body = { ...record.body, ref: { origin, seq: record.body.ref.seq } };
          const decoded = decodeLoggedRecord(encodeLoggedRecord(record, codebook), codebook);
          expect(decoded).toEqual({ ok: true, value: record });
          if (decoded.ok && decoded.value.body.kind !== "supply_status" && decoded.value.body.kind !== "message") expect(Object.isFrozen(decoded.value.body)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("read a status's reference to its sender's own record with each record's origin, though the bytes of the two bodies are the same", () => {
    const status = (origin: number): FieldRecord => ({ id: { origin, seq: 9 }, receivedAt: 1_750_000_000_000, body: { kind: "supply_status", status: "en_route", etaMin: 5, ref: { origin, seq: 3 } } });
    for (const origin of [0x1111, 0x2222, 0x1111]) expect(decodeLoggedRecord(encodeLoggedRecord(status(origin), codebook), codebook)).toEqual({ ok: true, value: status(origin) });
  });

  it("encode a record whose body is shared (a preset's, its bytes kept) to the same bytes as an unshared copy", () => {
    const auth = fc.option(fc.constantFrom<NonNullable<FieldRecord["auth"]>>("mac", "station", "handheld", "none"), { nil: undefined });
    // Now and then text in any UTF-16 (unpaired surrogates too), a time or id that is not a whole number in range.
    const text = fc.option(fc.oneof(fc.string({ unit: "binary", maxLength: 60 }), fc.string({ unit: "grapheme", minLength: 30, maxLength: 60 })), { nil: undefined });
    const odd = fc.option(fc.record({ receivedAt: fc.constantFrom(-1, 0, 0.5, 2 ** 53 + 2), seq: fc.constantFrom(0, 1.5, -3, 2 ** 32) }), { nil: undefined, freq: 4 });
    fc.assert(
      fc.property(arbitraryRecord, auth, text, odd, fc.integer({ min: 1, max: 3 }), (record, tag, otherText, oddly, times) => {
        if (tag !== undefined) record.auth = tag;
        if (otherText) record.text = otherText;
        if (oddly) {
          record.receivedAt = oddly.receivedAt;
          record.id = { ...record.id, seq: oddly.seq };
        }
        const expected = encodeLoggedRecord({ ...record, body: structuredClone(record.body) }, codebook);
        const shared = { ...record, body: shareBody(structuredClone(record.body)) };
        // The first encodes the body and keeps it; the next ones use what was kept.
        for (let i = 0; i < times; i += 1) expect(Buffer.from(encodeLoggedRecord(shared, codebook)).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
        // Under another codebook (a zero hash is left out) the kept bytes are made again, and back.
        for (const other of [{ ...codebook, hash: "00000000" }, { ...codebook, hash: "fedcba98" }, codebook]) {
          expect(Buffer.from(encodeLoggedRecord(shared, other)).toString("hex")).toBe(Buffer.from(encodeLoggedRecord({ ...record, body: structuredClone(record.body) }, other)).toString("hex"));
        }
        if (!oddly && !otherText) expect(decodeLoggedRecord(encodeLoggedRecord(shared, codebook), codebook)).toEqual({ ok: true, value: { ...record, body: record.body } });
      }),
      { numRuns: 1000 },
    );
  });

  it("freeze a shared body, and refuse one the codebook lacks as it would an unshared one", () => {
    const body = shareBody({ kind: "supply_request" as const, lines: [{ item: "unicorn", quantity: 1 }], priority: "normal" as const });
    expect(Object.isFrozen(body.lines[0])).toBe(true);
    expect(() => encodeLoggedRecord({ ...presetRecord(1, 2), body }, codebook)).toThrow(/unknown item "unicorn"/);
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
