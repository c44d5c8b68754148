// Every input a fuzz target ever failed on (test/fixtures/fuzz-regressions/<target>.jsonl),
// replayed against that target's property on every run.
import { describe, expect, it } from "vitest";
import { regressionInputs, type FuzzInput } from "./fuzz.ts";
import { framerHolds } from "./framer.ts";
import { logCodecHolds, payloadDecoderHolds, textReaderHolds } from "./wire.ts";
import { configHolds } from "./config.ts";
import { linkHolds } from "./link.ts";
import { stationHolds } from "./station.ts";
import { envelopeReadersHold, relayReceiveHolds } from "./relay.ts";

const TARGETS: Record<string, (input: FuzzInput) => void | Promise<void>> = {
  framer: framerHolds,
  payload: payloadDecoderHolds,
  "logged-record": logCodecHolds,
  text: textReaderHolds,
  codebook: (input) => configHolds("codebook", input),
  presets: (input) => configHolds("presets", input),
  site: (input) => configHolds("site", input),
  rights: (input) => configHolds("rights", input),
  retention: (input) => configHolds("retention", input),
  link: linkHolds,
  station: stationHolds,
  "relay-envelope": envelopeReadersHold,
  "relay-receive": relayReceiveHolds,
};

describe("fuzz regressions", () => {
  const cases = regressionInputs();

  it("has a property for every kept input", () => {
    expect(cases.length).toBeGreaterThan(0);
    expect(cases.filter(({ target }) => !(target in TARGETS)).map(({ target }) => target)).toEqual([]);
  });

  it.each(cases.map((entry, index) => [index, entry.target, entry.input] as const))("case %i (%s) holds", async (_index, target, input) => {
    await TARGETS[target]!(input);
  });
});
