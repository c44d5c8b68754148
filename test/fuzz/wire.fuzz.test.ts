// meshaid's decoders fed hostile bytes and text: the payload decoder (port 300), the log codec and
// the typed-text reader never throw, fail only with a typed WireError, and whatever they accept
// can be stored (re-encoded for the log) as it stands.
import { describe, it } from "vitest";
import { fuzz, fuzzTimeout } from "./fuzz.ts";
import { payloads, loggedRecords, payloadDecoderHolds, logCodecHolds, texts, textReaderHolds } from "./wire.ts";

describe("fuzz: wire decoders", () => {
  it("the payload decoder (port 300) returns a record or a WireError", async () => {
    await fuzz("payload", payloads, payloadDecoderHolds, 500);
  }, fuzzTimeout());

  it("the log codec returns a record or a WireError", async () => {
    await fuzz("logged-record", loggedRecords, logCodecHolds, 500);
  }, fuzzTimeout());

  it("the typed-text reader reads anything into storable records or none", async () => {
    await fuzz("text", texts, textReaderHolds, 300);
  }, fuzzTimeout());

  it("reads a very long line without trouble (its input is capped)", () => {
    textReaderHolds({ text: "need 10 water @ 5th & main ".repeat(5000) });
  });
});
