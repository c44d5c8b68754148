// Vitest's global setup: compiles meshaid once before the test files run, so the tests that start
// the `meshaid` bin (several at once) run the current sources without each compiling them.
import { compiledEntry } from "../../src/cli/build.js";

export default async function setup(): Promise<void> {
  await compiledEntry();
}
