// RadioLink fed hostile serial streams: mutated real FromRadio frames (packets, node infos,
// positions, telemetry, captured payloads from test/fixtures) and random bytes. The link never
// throws to its listeners, never closes because of content, and still hears a good packet after.
import { describe, it } from "vitest";
import { fuzz, fuzzTimeout } from "./fuzz.ts";
import { linkStreams, linkHolds } from "./link.ts";

describe("fuzz: RadioLink's FromRadio handling", () => {
  it("keeps the link up and hearing through mutated frames and garbage", async () => {
    await fuzz("link", linkStreams, linkHolds, 60);
  }, fuzzTimeout());
});
