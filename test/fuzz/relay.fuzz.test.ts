// Relay envelopes from a hostile broker or peer: the header reader, the signature check and the
// relay's whole receive path (real station, real LevelDB) refuse with a reason and never throw.
import { describe, it } from "vitest";
import { fuzz, fuzzTimeout } from "./fuzz.ts";
import { envelopeReadersHold, relayMessages, relayReceiveHolds } from "./relay.ts";

describe("fuzz: relay envelopes", () => {
  it("readHeader and openEnvelope refuse anything but a well-formed, validly signed envelope, with a reason", async () => {
    await fuzz("relay-envelope", relayMessages, envelopeReadersHold, 1000);
  }, fuzzTimeout());

  it("the relay's receive path answers every message and stores only records an envelope carried", async () => {
    await fuzz("relay-receive", relayMessages, relayReceiveHolds, 60);
  }, fuzzTimeout());
});
