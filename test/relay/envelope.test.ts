// The relay envelope: round trip, and any change to the bytes is refused.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openEnvelope, sealEnvelope, signingKeyPair, type Envelope } from "../../src/relay/index.ts";
import { arbitraryRecord } from "../helpers/records.ts";

const north = signingKeyPair();
const south = signingKeyPair();
const keyOf = (station: string): Uint8Array | undefined => (station === "north" ? north.publicKey : station === "south" ? south.publicKey : undefined);

const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
const seq = fc.integer({ min: 1, max: 2 ** 40 });
const log = fc.stringMatching(/^[0-9a-f]{16}$/);
const arbitraryEnvelope: fc.Arbitrary<Envelope> = fc.oneof(
  fc.record({ kind: fc.constant("batch" as const), coalition: name, station: fc.constant("north"), body: fc.record({ log, first: seq, records: fc.array(fc.option(arbitraryRecord, { nil: null, freq: 8 }), { minLength: 1, maxLength: 8 }) }) }),
  fc.record({ kind: fc.constant("vector" as const), coalition: name, station: fc.constant("north"), body: fc.record({ log, head: fc.nat(), held: fc.dictionary(name, fc.nat()) }) }),
  fc.record({ kind: fc.constant("want" as const), coalition: name, station: fc.constant("north"), body: fc.tuple(name, seq, fc.nat({ max: 10_000 }), fc.option(name, { nil: undefined })).map(([station, from, more, by]) => ({ station, from, to: from + more, ...(by === undefined ? {} : { by }) })) }),
);

/** JSON drops undefined fields: compare what JSON keeps. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe("relay envelope", () => {
  it("round-trips every kind", () => {
    fc.assert(
      fc.property(arbitraryEnvelope, (envelope) => {
        const opened = openEnvelope(sealEnvelope(envelope, north.secretKey), keyOf);
        expect(opened.ok).toBe(true);
        if (opened.ok) expect(opened.envelope).toEqual(plain(envelope));
      }),
      { numRuns: 200 },
    );
  });

  it("refuses the envelope when any one byte is changed", () => {
    fc.assert(
      fc.property(arbitraryEnvelope, fc.nat(), fc.integer({ min: 1, max: 255 }), (envelope, at, flip) => {
        const bytes = sealEnvelope(envelope, north.secretKey);
        const index = at % bytes.length;
        bytes[index] = (bytes[index] as number) ^ flip;
        expect(openEnvelope(bytes, keyOf).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a truncated or extended envelope", () => {
    fc.assert(
      fc.property(arbitraryEnvelope, fc.integer({ min: -40, max: 40 }).filter((n) => n !== 0), (envelope, delta) => {
        const bytes = sealEnvelope(envelope, north.secretKey);
        const changed = delta < 0 ? bytes.subarray(0, Math.max(0, bytes.length + delta)) : new Uint8Array([...bytes, ...new Uint8Array(delta)]);
        expect(openEnvelope(changed, keyOf).ok).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a signer outside the trust list, and a station signing as another", () => {
    const envelope: Envelope = { kind: "vector", coalition: "c", station: "east", body: { log: "0123456789abcdef", head: 1, held: {} } };
    const unknown = openEnvelope(sealEnvelope(envelope, north.secretKey), keyOf);
    expect(unknown).toEqual({ ok: false, reason: 'station "east" is not in the trust list' });
    const forged = openEnvelope(sealEnvelope({ ...envelope, station: "north" }, south.secretKey), keyOf);
    expect(forged.ok).toBe(false);
    if (!forged.ok) expect(forged.reason).toMatch(/bad signature for station "north"/);
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(openEnvelope(bytes, keyOf).ok).toBe(false);
      }),
    );
  });
});
