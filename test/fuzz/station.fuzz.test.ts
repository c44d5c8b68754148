// The station's ingest fed hostile packets (mutated meshaid payloads on port 300, random and
// mangled text) into a real store: nothing throws, and every text heard is kept, as records or
// as a plain message (invariant 1: what was heard is not lost because it was odd).
import { describe, it } from "vitest";
import { fuzz, fuzzTimeout } from "./fuzz.ts";
import { packetsInputs, stationHolds } from "./station.ts";

describe("fuzz: station ingest", () => {
  it("keeps every text heard and skips bad payloads with a reason, never failing to store", async () => {
    await fuzz("station", packetsInputs, stationHolds, 40);
  }, fuzzTimeout());
});
