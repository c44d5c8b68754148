// The serial framer fed hostile bytes: it never throws, never holds more than one frame and one
// log line, cuts the same events wherever chunk boundaries fall, and finds a frame after garbage.
import { describe, it } from "vitest";
import { fuzz, fuzzTimeout } from "./fuzz.ts";
import { streams, framerHolds } from "./framer.ts";

describe("fuzz: serial framer", () => {
  it("holds on random and mutated streams", async () => {
    await fuzz("framer", streams, framerHolds, 300);
  }, fuzzTimeout());
});
