// meshaid's decoders fed hostile bytes and text: the payload decoder (port 300), the log codec and
// the typed-text reader never throw, fail only with a typed WireError, and whatever they accept
// can be stored (re-encoded for the log) as it stands.
import fc from "fast-check";
import { expect } from "vitest";
import { decodeLoggedRecord, decodePayload, encodeLoggedRecord, packRecords, parseText, WireError, type FieldRecord } from "../../src/wire/index.ts";
import { corpus } from "../helpers/corpus.ts";
import { arbitraryBody, arbitraryRecord, codebook, presets, site } from "../helpers/records.ts";
import { mutatedBytes, type FuzzInput } from "./fuzz.ts";

const ORIGIN = 0x11223344;

const validPayload = fc
  .array(fc.record({ seq: fc.integer({ min: 0, max: 0xffffffff }), body: arbitraryBody }), { minLength: 1, maxLength: 4 })
  .map((records) => {
    const packed = packRecords(records, codebook);
    return packed.ok && packed.value[0] ? packed.value[0] : new Uint8Array(0);
  });

export const payloads: fc.Arbitrary<FuzzInput> = mutatedBytes(validPayload, 260).map((bytes) => ({ bytes }));
export const loggedRecords: fc.Arbitrary<FuzzInput> = mutatedBytes(
  arbitraryRecord.map((record) => encodeLoggedRecord(record, codebook)),
  400,
).map((bytes) => ({ bytes }));

function bytesOf(input: FuzzInput): Uint8Array {
  return "bytes" in input ? input.bytes : new TextEncoder().encode(input.text);
}

function storable(record: FieldRecord): void {
  const again = decodeLoggedRecord(encodeLoggedRecord(record, codebook), codebook);
  expect(again.ok).toBe(true);
}

export function payloadDecoderHolds(input: FuzzInput): void {
  const decoded = decodePayload(bytesOf(input), codebook, ORIGIN);
  if (!decoded.ok) {
    expect(decoded.error).toBeInstanceOf(WireError);
    return;
  }
  for (const { id, body } of decoded.value.records) storable({ id, receivedAt: 1, body });
}

export function logCodecHolds(input: FuzzInput): void {
  const decoded = decodeLoggedRecord(bytesOf(input), codebook);
  if (!decoded.ok) expect(decoded.error).toBeInstanceOf(WireError);
  else storable(decoded.value);
}

/** Corpus lines cut, spliced and salted with random characters, and random text. */
export const texts: fc.Arbitrary<FuzzInput> = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.tuple(fc.constantFrom(...corpus.map((line) => line.text)), fc.constantFrom(...corpus.map((line) => line.text)), fc.nat(), fc.string({ maxLength: 8 })).map(
      ([a, b, at, salt]) => `${a.slice(0, at % (a.length + 1))}${salt}${b.slice(at % (b.length + 1))}`,
    ),
    fc.array(fc.constantFrom("need", "10", "x", "@", "&", "5th", "main", "asap", "injured", "+", ",", "near", "gate", "water", "-", "#", "9999999999", "0"), { maxLength: 80 }).map((words) => words.join(" ")),
  )
  .map((text) => ({ text }));

export function textReaderHolds(input: FuzzInput): void {
  const text = "text" in input ? input.text : new TextDecoder().decode(input.bytes);
  const parsed = parseText(text, { codebook, site, presets });
  expect(parsed.confidence).toBeGreaterThanOrEqual(0);
  expect(parsed.confidence).toBeLessThanOrEqual(1);
  for (const body of parsed.records) storable({ id: { origin: ORIGIN, seq: 1 }, receivedAt: 1, body, text });
}

