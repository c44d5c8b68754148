// One way to read the YAML (and JSON) texts meshaid is configured with. The yaml library only
// warns (on stderr) about things such as an unknown `!tag`; in a configuration file those are
// mistakes, so they fail like syntax errors, with the line and column the library gives.
import { parseDocument } from "yaml";

/** Parses YAML text to plain data; throws an Error naming the first error or warning. */
export function parseYamlText(text: string): unknown {
  const document = parseDocument(text, { logLevel: "silent" });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw new Error(problem.message);
  return document.toJS() as unknown;
}
