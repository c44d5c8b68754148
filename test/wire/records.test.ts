import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fileURLToPath } from "node:url";
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

  it("read each field as protobufjs reads the schema: in any order, repeated, with fields it does not know, times up to 2^64", () => {
    const schema = protobuf.loadSync(fileURLToPath(new URL("../../src/wire/field.proto", import.meta.url)));
    const LoggedRecord = schema.lookupType("meshaid.field.v1.LoggedRecord");
    const field = fc.oneof(
      fc.record({ n: fc.constant(1), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      fc.record({ n: fc.constant(3), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      fc.record({ n: fc.constantFrom(4, 5), value: fc.string({ maxLength: 20 }) }),
      fc.record({ n: fc.constantFrom(6, 9), value: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ n: fc.constant(7), value: arbitraryRecord }),
      fc.record({ n: fc.constant(8), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      fc.record({ n: fc.constantFrom(15, 30), value: fc.uint8Array({ maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
        // Field 7 holds the Record bytes the log's encoder writes for the record.
        const parts: Uint8Array[] = fields.map(({ n, value }) => {
          const one = protobuf.Writer.create();
          if (n === 1 || n === 8) one.uint32((n << 3) | 5).fixed32(value);
          else if (n === 3) one.uint32(24).uint64(new protobuf.util.LongBits(Number((value) & 0xffffffffn), Number((value) >> 32n)).toLong(true));
          else if (n === 4 || n === 5) one.uint32((n << 3) | 2).string(value);
          else if (n === 6 || n === 9) one.uint32(n << 3).uint32(value);
          else if (n === 7) {
            const logged = LoggedRecord.decode(encodeLoggedRecord(value, codebook)) as unknown as { record: object };
            one.uint32(58).bytes(schema.lookupType("meshaid.field.v1.Record").encode(logged.record).finish());
          } else one.uint32((n << 3) | 2).bytes(value as Uint8Array);
          return one.finish();
        });
        const bytes = Buffer.concat(parts);
        const decoded = decodeLoggedRecord(bytes, codebook);
        const message = LoggedRecord.decode(bytes) as unknown as { origin: number; receivedAt: number | protobuf.Long; text: string; sender: string; seq: number; auth: number; record: object | null };
        if (!message.record) {
          expect(decoded).toMatchObject({ ok: false, error: { code: "WIRE_NO_BODY" } });
          return;
        }
        if (message.auth > 4) {
          expect(decoded).toMatchObject({ ok: false, error: { code: "WIRE_UNKNOWN_CODE" } });
          return;
        }
        if (!decoded.ok) throw decoded.error;
        const at = message.receivedAt;
        expect(decoded.value.id).toEqual({ origin: message.origin, seq: message.seq });
        expect(decoded.value.receivedAt).toBe(typeof at === "number" ? at : protobuf.util.LongBits.from(at).toNumber(true));
        expect(decoded.value.text ?? "").toBe(message.text);
        expect(decoded.value.sender ?? "").toBe(message.sender);
      }),
      { numRuns: 500 },
    );
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
