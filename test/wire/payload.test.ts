import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  decodeLoggedRecord,
  decodePayload,
  encodePayload,
  MAX_PAYLOAD_BYTES,
  packRecords,
  parseCodebook,
  PROTOCOL_TAG,
  PROTOCOL_VERSION,
  WireError,
  type RecordBody,
} from "../../src/wire/index.ts";
import { arbitraryBody, codebook, configText } from "../helpers/records.ts";

const ORIGIN = 0x2a6f1c02;
const seq = fc.integer({ min: 0, max: 0xffffffff });
const water20AtGate: RecordBody = { kind: "supply_request", lines: [{ item: "water", quantity: 20 }], priority: "normal", place: { landmark: 1 } };

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

describe("radio payloads", () => {
  it("round-trip one record of every kind", () => {
    fc.assert(
      fc.property(seq, arbitraryBody, (n, body) => {
        const payload = encodePayload([{ seq: n, body }], codebook, { origin: ORIGIN });
        if (!payload.ok) {
          // Only a record too large for one payload may be refused, and it says so.
          expect(payload.error.code).toBe("WIRE_TOO_LARGE");
          return;
        }
        expect(payload.value.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
        expect(decodePayload(payload.value, codebook, ORIGIN)).toEqual({ ok: true, value: { records: [{ id: { origin: ORIGIN, seq: n }, body }] } });
      }),
      { numRuns: 1000 },
    );
  });

  it("pack many records into as few payloads as fit, in order, each within the limit", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ seq, body: arbitraryBody }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 40, max: MAX_PAYLOAD_BYTES }), (records, maxBytes) => {
        const packed = packRecords(records, codebook, { origin: ORIGIN, maxBytes });
        if (!packed.ok) {
          expect(packed.error.code).toBe("WIRE_TOO_LARGE");
          expect(packed.error.message).toMatch(/takes \d+ bytes; a payload holds \d+/);
          return;
        }
        const decoded = packed.value.flatMap((payload) => {
          expect(payload.length).toBeLessThanOrEqual(maxBytes);
          const result = decodePayload(payload, codebook, ORIGIN);
          if (!result.ok) throw result.error;
          return result.value.records;
        });
        expect(decoded).toEqual(records.map((record) => ({ id: { origin: ORIGIN, seq: record.seq }, body: record.body })));
      }),
      { numRuns: 300 },
    );
  });

  it("pack consecutive records cheaper than one a packet", () => {
    const records = Array.from({ length: 10 }, (_, i) => ({ seq: 500 + i, body: water20AtGate }));
    const packed = packRecords(records, codebook);
    expect(packed.ok && packed.value.length).toBe(1);
    const alone = encodePayload([records[0]!], codebook);
    if (!packed.ok || !alone.ok) throw new Error("encode failed");
    expect(packed.value[0]!.length).toBeLessThan(10 * alone.value.length);
  });

  it("refuse a record too large for any payload, never truncating it", () => {
    const text = "x".repeat(233);
    const result = packRecords([{ seq: 1, body: { kind: "message", text } }], codebook);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(WireError);
      expect(result.error.code).toBe("WIRE_TOO_LARGE");
      expect(result.error.message).toMatch(/record 0 \(seq 1, message\) takes 242 bytes; a payload holds 231/);
    }
  });

  it("say when records that must share one payload do not fit", () => {
    const records = Array.from({ length: 60 }, (_, i) => ({ seq: i, body: water20AtGate }));
    const result = encodePayload(records, codebook);
    expect(!result.ok && result.error.code).toBe("WIRE_TOO_LARGE");
    expect(!result.ok && result.error.message).toMatch(/60 records need 2 payloads/);
  });

  it("refuse records it cannot encode, naming the record", () => {
    const result = packRecords([{ seq: 1, body: water20AtGate }, { seq: 2, body: { kind: "supply_request", lines: [], priority: "normal" } }], codebook);
    expect(!result.ok && result.error.message).toMatch(/record 1 \(seq 2\).*at least one item/);
    expect(packRecords([{ seq: -1, body: water20AtGate }], codebook).ok).toBe(false);
    expect(packRecords([{ seq: 1, body: { ...water20AtGate, place: { landmark: 256 } } }], codebook).ok).toBe(false);
  });

  it("fit a supply request with a quantity and a landmark in 10 bytes", () => {
    const payload = encodePayload([{ seq: 137, body: water20AtGate }], codebook);
    expect(payload.ok && hex(payload.value)).toBe("7f10890118013a020114");
  });

  it("spend nothing on defaults: a normal request, a moderate incident, on shift, ok", () => {
    const size = (body: RecordBody) => {
      const payload = encodePayload([{ seq: 1, body }], codebook);
      return payload.ok ? payload.value.length : -1;
    };
    expect(size({ kind: "shift", action: "on" })).toBe(3); // tag, version and kind, seq
    expect(size({ kind: "checkin", status: "ok" })).toBe(3);
    expect(size({ kind: "incident", incident: "injury", severity: "moderate", casualties: 0 })).toBe(5);
    expect(size({ kind: "supply_request", lines: [{ item: "water", quantity: 1 }], priority: "normal" })).toBe(7);
  });

  it("never throw on arbitrary bytes, with or without meshaid's tag", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 240 }), fc.boolean(), (bytes, tagged) => {
        const payload = tagged ? Uint8Array.from([PROTOCOL_TAG, (PROTOCOL_VERSION << 4) | (bytes[0] ?? 0) % 16, ...bytes.subarray(1)]) : bytes;
        const decoded = decodePayload(payload, codebook, ORIGIN);
        if (!decoded.ok) expect(decoded.error).toBeInstanceOf(WireError);
        else expect(decoded.value.records.length).toBeGreaterThan(0);
      }),
      { numRuns: 5000 },
    );
  });

  it("reject foreign payloads and other versions cleanly", () => {
    const text = decodePayload(new TextEncoder().encode("NEED WATER"), codebook, ORIGIN);
    expect(!text.ok && text.error.code).toBe("WIRE_FOREIGN");
    expect(!text.ok && text.error.message).toMatch(/first byte 0x4e, expected tag 0x7f/);
    const protobufPayload = decodePayload(Uint8Array.from([0x08, 0x96, 0x01]), codebook, ORIGIN);
    expect(!protobufPayload.ok && protobufPayload.error.code).toBe("WIRE_FOREIGN");
    expect(decodePayload(new Uint8Array(), codebook, ORIGIN)).toMatchObject({ ok: false, error: { code: "WIRE_FOREIGN" } });
    const v2 = decodePayload(Uint8Array.from([PROTOCOL_TAG, 0x20, 1, 0x48, 1]), codebook, ORIGIN);
    expect(!v2.ok && v2.error.code).toBe("WIRE_VERSION");
    expect(!v2.ok && v2.error.message).toMatch(/version 2; this station reads version 1/);
  });

  it("report truncation and unknown codes as typed errors", () => {
    const packed = packRecords([{ seq: 1, body: water20AtGate }, { seq: 2, body: water20AtGate }], codebook);
    if (!packed.ok) throw packed.error;
    const cut = decodePayload(packed.value[0]!.subarray(0, packed.value[0]!.length - 2), codebook, ORIGIN);
    expect(!cut.ok && cut.error.code).toBe("WIRE_TRUNCATED");
    const kind99 = decodePayload(Uint8Array.from([PROTOCOL_TAG, 0x17, 1, 0x10, 99]), codebook, ORIGIN);
    expect(!kind99.ok && kind99.error.code).toBe("WIRE_UNKNOWN_CODE");
  });

  it("refuse a code no codebook can hold (above MAX_CODE, or 0 in a list): the log could not store it (fuzz regression)", () => {
    const tooHigh = decodePayload(Uint8Array.from(Buffer.from("7f10808080012080808001288180800130033a1d010080800500018080808001018080800101808080800101808080800198018080808001", "hex")), codebook, ORIGIN);
    expect(!tooHigh.ok && tooHigh.error.code).toBe("WIRE_UNKNOWN_CODE");
    const logged = decodeLoggedRecord(Uint8Array.from(Buffer.from("0d0400000018012207202020202020203080808080013a1a10043a16010080800180808080010100018080800180808001004583b2ff9a", "hex")), codebook);
    expect(!logged.ok && logged.error.code).toBe("WIRE_UNKNOWN_CODE");
  });

  it("show an item code this codebook does not know as such, and flag a different codebook", () => {
    const newer = parseCodebook(configText("codebook.yaml").replace("items:\n", "items:\n  200: { name: glitter, en: glitter }\n"));
    expect(newer.hash).not.toBe(codebook.hash);
    const payload = encodePayload([{ seq: 5, body: { kind: "supply_request", lines: [{ item: "glitter", quantity: 3 }], priority: "normal" } }], newer, { withCodebookHash: true });
    if (!payload.ok) throw payload.error;
    const decoded = decodePayload(payload.value, codebook, ORIGIN);
    expect(decoded).toEqual({
      ok: true,
      value: {
        records: [{ id: { origin: ORIGIN, seq: 5 }, body: { kind: "supply_request", lines: [{ item: "#200", quantity: 3 }], priority: "normal" } }],
        codebook: newer.hash,
        codebookMatches: false,
      },
    });
  });

  it("refer to the sender's own record without repeating its origin", () => {
    const body: RecordBody = { kind: "supply_status", status: "cancelled", ref: { origin: ORIGIN, seq: 137 } };
    const own = encodePayload([{ seq: 140, body }], codebook, { origin: ORIGIN });
    const other = encodePayload([{ seq: 140, body }], codebook, { origin: 0x1234 });
    if (!own.ok || !other.ok) throw new Error("encode failed");
    expect(other.value.length - own.value.length).toBe(6); // key (2 bytes) + fixed32
    expect(decodePayload(own.value, codebook, ORIGIN)).toMatchObject({ ok: true, value: { records: [{ body }] } });
  });
});
