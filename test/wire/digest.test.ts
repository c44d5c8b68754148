// Holding digests between base stations (field.proto fields 34-35): the 4-byte hashes of the
// handheld records a station stored lately, on its held ACK, and the hashes a resend asks for.
// Round trips for any digest, the tag over it, what a bad one is refused with, and the hash.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { coalitionAuthKey, decodePayload, MAX_PAYLOAD_BYTES, packControl, packRecords, recordHash, type Holding, type StationControl } from "../../src/wire/index.ts";
import { codebook } from "../helpers/records.ts";

const ORIGIN = 0x2a6f1c02;
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const hashes = fc.array(u32, { maxLength: 40 });
const holding: fc.Arbitrary<Holding> = fc.record({ origin: u32, runs: fc.integer({ min: 1, max: 1_000_000 }).chain((from) => fc.integer({ min: 0, max: 500 }).map((length) => [[from, from + length]] as Holding["runs"])) });
const held: fc.Arbitrary<StationControl> = fc.record({
  kind: fc.constant("held" as const),
  latest: u32,
  holdings: fc.uniqueArray(holding, { selector: (h) => h.origin, maxLength: 12 }),
  digest: fc.record({ windowS: fc.integer({ min: 1, max: 0xffffffff }), hashes }),
});
const pull: fc.Arbitrary<StationControl> = fc.record({
  kind: fc.constant("resend" as const),
  latest: u32,
  wanted: fc.uniqueArray(fc.record({ origin: fc.constantFrom(1, 0x2a6f1c07), seq: u32 }), { selector: (id) => `${id.origin}:${id.seq}`, maxLength: 20 }),
  hashes: fc.array(u32, { minLength: 1, maxLength: 80 }),
});

function controls(payloads: Uint8Array[], key?: ReturnType<typeof coalitionAuthKey>): StationControl[] {
  return payloads.map((payload) => {
    expect(payload.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const decoded = decodePayload(payload, codebook, ORIGIN, key);
    if (!decoded.ok) throw decoded.error;
    if (key) expect(decoded.value.auth).toBe("valid");
    return decoded.value.control as StationControl;
  });
}

describe("holding digests on the wire", () => {
  it("any digest rides whole on the first payload of its held ACK; the holdings survive as before", () => {
    fc.assert(
      fc.property(held, (control) => {
        const packed = packControl(control);
        if (!packed.ok) throw packed.error;
        const parts = controls(packed.value);
        const digests = parts.map((part) => (part.kind === "held" ? part.digest : undefined));
        expect(digests[0]).toEqual(control.kind === "held" ? control.digest : undefined);
        expect(digests.slice(1).every((digest) => digest === undefined)).toBe(true);
        expect(parts.flatMap((part) => (part.kind === "held" ? part.holdings : []))).toEqual(control.kind === "held" ? control.holdings : []);
      }),
      { numRuns: 400 },
    );
  });

  it("any pull (a resend naming hashes, with or without ids) survives packing, every hash and id once", () => {
    fc.assert(
      fc.property(pull, (control) => {
        const packed = packControl(control);
        if (!packed.ok) throw packed.error;
        const parts = controls(packed.value);
        expect(parts.flatMap((part) => (part.kind === "resend" ? (part.hashes ?? []) : []))).toEqual(control.kind === "resend" ? control.hashes : []);
        const byId = (a: { origin: number; seq: number }, b: { origin: number; seq: number }): number => a.origin - b.origin || a.seq - b.seq;
        expect(parts.flatMap((part) => (part.kind === "resend" ? part.wanted : [])).sort(byId)).toEqual(control.kind === "resend" ? [...control.wanted].sort(byId) : []);
      }),
      { numRuns: 400 },
    );
  });

  it("with the coalition key a digest or a pull is tagged, verifies whole, and fails after any one byte changes", () => {
    const key = coalitionAuthKey(Buffer.alloc(32, 5));
    fc.assert(
      fc.property(fc.oneof(held, pull), fc.nat(), fc.integer({ min: 1, max: 255 }), (control, at, flip) => {
        const packed = packControl(control, { origin: ORIGIN, auth: key });
        if (!packed.ok) throw packed.error;
        const parts = controls(packed.value, key);
        const first = parts[0]!;
        if (control.kind === "held" && first.kind === "held") expect(first.digest).toEqual(control.digest);
        const payload = Uint8Array.from(packed.value[0]!);
        payload[at % payload.length]! ^= flip;
        const tampered = decodePayload(payload, codebook, ORIGIN, key);
        expect(tampered.ok && tampered.value.auth === "valid").toBe(false);
        // From another node number the same bytes fail too.
        const spoofed = decodePayload(packed.value[0]!, codebook, ORIGIN + 1, key);
        expect(spoofed.ok && spoofed.value.auth).toBe("invalid");
      }),
      { numRuns: 300 },
    );
  });

  it("says 'nothing stored lately' with a window and no hashes", () => {
    const packed = packControl({ kind: "held", latest: 4, holdings: [], digest: { windowS: 240, hashes: [] } });
    if (!packed.ok) throw packed.error;
    expect(Buffer.from(packed.value[0]!).toString("hex")).toBe("7f160440049802f001");
    expect(controls(packed.value)).toEqual([{ kind: "held", latest: 4, holdings: [], digest: { windowS: 240, hashes: [] } }]);
  });

  it("refuses a digest without its window, a window on a resend, and a digest on a record", () => {
    expect(packControl({ kind: "held", latest: 0, holdings: [], digest: { windowS: 0, hashes: [1] } }).ok).toBe(false);
    // Hashes (field 34) on a held ACK without field 35.
    const noWindow = decodePayload(Uint8Array.from([0x7f, 0x16, 0x00, 0x40, 0x04, 0x92, 0x02, 0x04, 1, 2, 3, 4]), codebook, ORIGIN);
    expect(!noWindow.ok && noWindow.error.code).toBe("WIRE_MALFORMED");
    // A window (field 35) on a resend.
    const resendWindow = decodePayload(Uint8Array.from([0x7f, 0x17, 0x00, 0x10, 0x08, 0x92, 0x02, 0x04, 1, 2, 3, 4, 0x98, 0x02, 0x3c]), codebook, ORIGIN);
    expect(!resendWindow.ok && resendWindow.error.code).toBe("WIRE_MALFORMED");
    // A supply request carrying a digest.
    const record = packRecords([{ seq: 1, body: { kind: "supply_request", lines: [{ item: "water" }], priority: "normal" } }], codebook);
    if (!record.ok) throw record.error;
    const withDigest = Uint8Array.from([...record.value[0]!, 0x98, 0x02, 0x3c]);
    const decoded = decodePayload(withDigest, codebook, ORIGIN);
    expect(!decoded.ok && decoded.error.code).toBe("WIRE_MALFORMED");
  });

  it("hashes a record id to 4 bytes: the first 4 of SHA-256 over origin and seq, big-endian", () => {
    expect(recordHash({ origin: 0x2a6f1c07, seq: 8 }).toString(16)).toBe("bee9c435");
    fc.assert(
      fc.property(u32, u32, (origin, seq) => {
        const hash = recordHash({ origin, seq });
        expect(Number.isInteger(hash) && hash >= 0 && hash <= 0xffffffff).toBe(true);
        expect(recordHash({ origin, seq })).toBe(hash);
      }),
    );
  });
});
