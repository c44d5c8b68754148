// Fuzzing with fast-check, bounded so `npm test` stays fast; `FUZZ_RUNS=20000 npx vitest run
// --config test/vitest.config.ts test/fuzz` runs longer. An input that fails is written to
// test/fixtures/fuzz-regressions/<target>.jsonl before the test fails, and regressions.test.ts
// replays every input in that folder on every run: once found, a failure stays a test case.
import fc from "fast-check";
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const REGRESSIONS_DIR = fileURLToPath(new URL("../fixtures/fuzz-regressions/", import.meta.url));

/** How many inputs each property tries: FUZZ_RUNS, or a number small enough for `npm test`. */
export function fuzzRuns(defaultRuns: number): number {
  const fromEnv = Number(process.env["FUZZ_RUNS"]);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultRuns;
}

/** A test's time limit: the default for `npm test`, an hour when FUZZ_RUNS asks for a long run. */
export function fuzzTimeout(): number {
  return process.env["FUZZ_RUNS"] ? 3_600_000 : 20_000;
}

/** An input a fuzz target takes: bytes (as hex in the regression file) or text. */
export type FuzzInput = { bytes: Uint8Array } | { text: string };

type Stored = { hex: string } | { text: string };

function toStored(input: FuzzInput): Stored {
  return "bytes" in input ? { hex: Buffer.from(input.bytes).toString("hex") } : { text: input.text };
}

function fromStored(stored: Stored): FuzzInput {
  return "hex" in stored ? { bytes: Uint8Array.from(Buffer.from(stored.hex, "hex")) } : { text: stored.text };
}

/**
 * Checks `property` on `runs` inputs from `inputs`. On failure, the shrunk input is kept in the
 * regression folder under `target`, then the failure is thrown as fast-check reports it.
 */
export async function fuzz(target: string, inputs: fc.Arbitrary<FuzzInput>, property: (input: FuzzInput) => void | Promise<void>, runs: number): Promise<void> {
  const details = await fc.check(fc.asyncProperty(inputs, async (input) => property(input)), { numRuns: fuzzRuns(runs) });
  if (details.failed && details.counterexample) {
    mkdirSync(REGRESSIONS_DIR, { recursive: true });
    appendFileSync(`${REGRESSIONS_DIR}${target}.jsonl`, `${JSON.stringify(toStored(details.counterexample[0]))}\n`);
  }
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? `fuzz target ${target} failed`);
}

/** Every kept regression input, by target. */
export function regressionInputs(): Array<{ target: string; input: FuzzInput }> {
  let files: string[];
  try {
    files = readdirSync(REGRESSIONS_DIR).filter((name) => name.endsWith(".jsonl"));
  } catch {
    return [];
  }
  return files.flatMap((file) =>
    readFileSync(`${REGRESSIONS_DIR}${file}`, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => ({ target: file.replace(/\.jsonl$/, ""), input: fromStored(JSON.parse(line) as Stored) })),
  );
}

/** Random bytes, and valid bytes with a few flipped, inserted, deleted or cut. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>, maxLength = 600): fc.Arbitrary<Uint8Array> {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  );
  const mutated = fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([bytes, mutations]) => {
    const out = [...bytes];
    for (const m of mutations) {
      const at = out.length === 0 ? 0 : m.at % out.length;
      if (m.kind === "flip" && out.length > 0) out[at] = (out[at] as number) ^ (1 << m.bit);
      else if (m.kind === "set" && out.length > 0) out[at] = m.value;
      else if (m.kind === "insert") out.splice(at, 0, m.value);
      else if (m.kind === "delete") out.splice(at, 1);
      else if (m.kind === "cut") out.length = at;
    }
    return Uint8Array.from(out);
  });
  return fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength }) }, { weight: 3, arbitrary: mutated });
}
