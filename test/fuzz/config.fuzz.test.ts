// Every configuration reader (codebook, preset table, site plan, decision rights) fed damaged
// and hostile YAML: it returns a value or throws its own typed error, never anything else.
import { describe, expect, it } from "vitest";
import { fuzz, fuzzTimeout } from "./fuzz.ts";
import { configHolds, configInputs, FILES, read, type ConfigKind } from "./config.ts";

describe("fuzz: configuration readers", () => {
  for (const kind of Object.keys(FILES) as ConfigKind[]) {
    it(`the ${kind} reader returns or throws its typed error`, async () => {
      await fuzz(kind, configInputs(kind), (input) => configHolds(kind, input), kind === "codebook" ? 60 : 200);
    }, fuzzTimeout());
  }

  it("refuses a YAML alias bomb with its typed error (the yaml library caps aliases)", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    for (const kind of Object.keys(FILES) as ConfigKind[]) expect(() => read(kind, bomb)).toThrow();
    for (const kind of Object.keys(FILES) as ConfigKind[]) configHolds(kind, { text: bomb });
  });
});
