// Authentication tags on meshaid payloads: what a base station signs, every station with the
// coalition key accepts, and any change (bytes, claimed sender, key) is caught.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AUTH_TRAILER_BYTES, coalitionAuthKey, decodePayload, MAX_PAYLOAD_BYTES, packRecords } from "../../src/wire/index.ts";
import { arbitraryBody, codebook } from "../helpers/records.ts";

const key = coalitionAuthKey(Uint8Array.from({ length: 32 }, (_, i) => i * 7));
const otherKey = coalitionAuthKey(Uint8Array.from({ length: 32 }, (_, i) => 255 - i));
const origin = fc.integer({ min: 1, max: 0xffffffff });
const batch = fc.array(fc.record({ seq: fc.integer({ min: 0, max: 0xfffffff0 }), body: arbitraryBody }), { minLength: 1, maxLength: 12 });

describe("authenticated payloads", () => {
  it("round-trip with a valid tag, within the payload limit, for any records and sender", () => {
    fc.assert(
      fc.property(origin, batch, (from, records) => {
        const packed = packRecords(records, codebook, { origin: from, auth: key });
        if (!packed.ok) return expect(packed.error.code).toBe("WIRE_TOO_LARGE");
        const heard = packed.value.flatMap((payload) => {
          expect(payload.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
          const decoded = decodePayload(payload, codebook, from, key);
          expect(decoded.ok && decoded.value.auth).toBe("valid");
          return decoded.ok ? decoded.value.records.map((record) => record.body) : [];
        });
        expect(heard).toEqual(records.map((record) => record.body));
      }),
      { numRuns: 300 },
    );
  });

  it("stays within the payload limit when the tag lengthens the last record's length prefix (a random run found 232 bytes)", () => {
    // Two texts whose last record crosses 127 bytes only with the 11-byte trailer: its length prefix grows to 2 bytes.
    for (let first = 40; first <= 110; first += 1) {
      for (let last = 100; last <= 135; last += 1) {
        const records = [
          { seq: 1, body: { kind: "message" as const, text: "a".repeat(first) } },
          { seq: 2, body: { kind: "message" as const, text: "b".repeat(last) } },
        ];
        const packed = packRecords(records, codebook, { origin: 7, auth: key });
        expect(packed.ok).toBe(true);
        for (const payload of packed.ok ? packed.value : []) {
          expect(payload.length, `texts of ${first} and ${last} characters`).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
          const decoded = decodePayload(payload, codebook, 7, key);
          expect(decoded.ok && decoded.value.auth).toBe("valid");
        }
      }
    }
  });

  it("fail the check when any byte changes, the sender is another node, or the key differs", () => {
    fc.assert(
      fc.property(origin, batch, fc.nat(), fc.integer({ min: 1, max: 255 }), (from, records, at, flip) => {
        const packed = packRecords(records.slice(0, 1), codebook, { origin: from, auth: key });
        if (!packed.ok) return;
        const payload = packed.value[0]!;
        const changed = Uint8Array.from(payload);
        changed[at % payload.length]! ^= flip;
        const decoded = decodePayload(changed, codebook, from, key);
        // A changed byte either breaks the payload (a typed error) or the tag: never "valid".
        if (decoded.ok) expect(decoded.value.auth).not.toBe("valid");
        const spoofed = decodePayload(payload, codebook, (from % 0xffffffff) + 1, key);
        expect(spoofed.ok && spoofed.value.auth).toBe("invalid");
        const foreign = decodePayload(payload, codebook, from, otherKey);
        expect(foreign.ok && foreign.value.auth).toBe("invalid");
      }),
      { numRuns: 300 },
    );
  });

  it("cost 11 bytes a payload, and a tag elsewhere than the end is malformed", () => {
    const body = { kind: "supply_status", status: "delivered", ref: { origin: 9, seq: 4 } } as const;
    const plain = packRecords([{ seq: 5, body }], codebook, { origin: 3 });
    const signed = packRecords([{ seq: 5, body }], codebook, { origin: 3, auth: key });
    expect(plain.ok && signed.ok).toBe(true);
    if (!plain.ok || !signed.ok) return;
    expect(signed.value[0]!.length - plain.value[0]!.length).toBe(AUTH_TRAILER_BYTES);
    // The same tag twice: refused, not guessed.
    const tag = signed.value[0]!.subarray(plain.value[0]!.length);
    const twice = Uint8Array.from([...signed.value[0]!, ...tag]);
    const decoded = decodePayload(twice, codebook, 3, key);
    expect(decoded.ok || decoded.error.code).toBe("WIRE_MALFORMED");
  });

  it("refuse to sign without the sender's node number", () => {
    const packed = packRecords([{ seq: 1, body: { kind: "message", text: "hi" } }], codebook, { auth: key });
    expect(packed.ok || packed.error.code).toBe("WIRE_INVALID_RECORD");
  });

  it("derive a key only from a secret of 16 bytes or more, with a stable fingerprint", () => {
    expect(() => coalitionAuthKey(new Uint8Array(8))).toThrow(RangeError);
    expect(coalitionAuthKey(Uint8Array.from({ length: 32 }, (_, i) => i * 7)).fingerprint).toBe(key.fingerprint);
    expect(otherKey.fingerprint).not.toBe(key.fingerprint);
  });
});
